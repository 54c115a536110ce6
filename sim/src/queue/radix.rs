//! A radix heap over unique 128-bit keys, kept "settled" so that the minimum is always known.
//!
//! Radix heaps (Ahuja, Mehlhorn, Orlin & Tarjan, "Faster algorithms for the shortest path
//! problem", J. ACM 37(2), 1990) exploit monotone keys: every key pushed is at least the last
//! key popped, which is true of simulated time. Here the key is (time << 64 | insertion
//! sequence), unique per event, so equal times pop in insertion order.
//!
//! Layout: `front` holds the minimum entry and `last` its key. Bucket `b` (0..128) holds the
//! entries whose highest bit differing from `last` is bit `b`; `nonempty` has bit `b` set when
//! bucket `b` is not empty. Popping takes `front`, then settles: the lowest non-empty bucket
//! holds the next minimum; it becomes `last` and the rest of that bucket moves to lower buckets.
//! Each entry only moves down, so it moves at most 128 times, in practice a handful.
//!
//! Keeping the heap settled lets [`RadixHeap::peek_key`] take `&self`. The price: after a
//! settle, `last` is the pending minimum rather than the last popped key, so a push may be
//! smaller than `last` (an event scheduled between "now" and the next pending event). Such a
//! push becomes the new front; the buckets below its highest differing bit are merged into that
//! bucket, which restores the invariant (see [`RadixHeap::lower_last`]).

/// Number of buckets: one per bit of the 128-bit key.
const BUCKETS: usize = 128;

/// Highest bit where `a` and `b` differ; `a != b` is required.
#[inline]
fn highest_differing_bit(a: u128, b: u128) -> usize {
    127 - (a ^ b).leading_zeros() as usize
}

/// One stored entry. The key is kept as two `u64` halves rather than a `u128` so that the entry
/// is 8-byte aligned: 24 bytes with a `u32` or `u64` payload instead of 32.
#[derive(Debug)]
struct Entry<T> {
    high: u64,
    low: u64,
    value: T,
}

impl<T> Entry<T> {
    #[inline]
    fn new(key: u128, value: T) -> Self {
        Entry {
            high: (key >> 64) as u64,
            low: key as u64,
            value,
        }
    }

    #[inline]
    fn key(&self) -> u128 {
        (u128::from(self.high) << 64) | u128::from(self.low)
    }
}

/// A min-heap of `(key, value)` pairs with unique keys, for monotone workloads.
#[derive(Debug)]
pub(super) struct RadixHeap<T> {
    front: Option<Entry<T>>,
    last: u128,
    buckets: Vec<Vec<Entry<T>>>,
    nonempty: u128,
    len: usize,
}

impl<T> RadixHeap<T> {
    /// An empty heap; `capacity` pre-sizes the highest buckets, where pushes land first.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        let mut buckets: Vec<Vec<Entry<T>>> = (0..BUCKETS).map(|_| Vec::new()).collect();
        // Events ahead of now differ from it in the time half (bits 64..128); most land in the
        // top buckets.
        for bucket in buckets.iter_mut().skip(64 + 16) {
            bucket.reserve(capacity / 16);
        }
        RadixHeap {
            front: None,
            last: 0,
            buckets,
            nonempty: 0,
            len: 0,
        }
    }

    /// Number of entries.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The smallest key.
    #[inline]
    pub(super) fn peek_key(&self) -> Option<u128> {
        self.front.as_ref().map(Entry::key)
    }

    /// Adds an entry. `key` must differ from every key in the heap.
    #[inline]
    pub(super) fn push(&mut self, key: u128, value: T) {
        self.len += 1;
        if self.front.is_none() {
            self.front = Some(Entry::new(key, value));
            self.last = key;
            return;
        }
        if key < self.last {
            self.lower_last(key, value);
            return;
        }
        debug_assert_ne!(key, self.last, "radix heap keys must be unique");
        let bucket = highest_differing_bit(key, self.last);
        self.buckets[bucket].push(Entry::new(key, value));
        self.nonempty |= 1 << bucket;
    }

    /// Removes and returns the smallest entry.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<(u128, T)> {
        let popped = self.front.take()?;
        self.len -= 1;
        self.settle();
        Some((popped.key(), popped.value))
    }

    /// Moves the minimum of the lowest non-empty bucket to `front`, redistributing the rest.
    fn settle(&mut self) {
        if self.nonempty == 0 {
            return;
        }
        let bucket_index = self.nonempty.trailing_zeros() as usize;
        let mut bucket = std::mem::take(&mut self.buckets[bucket_index]);
        self.nonempty &= !(1 << bucket_index);
        let min_position = bucket
            .iter()
            .enumerate()
            .min_by_key(|(_, entry)| entry.key())
            .map(|(position, _)| position)
            .unwrap_or(0);
        let min = bucket.swap_remove(min_position);
        let min_key = min.key();
        self.last = min_key;
        for entry in bucket.drain(..) {
            // Every entry of the bucket agrees with the new `last` above `bucket_index`, so it
            // lands strictly lower.
            let lower = highest_differing_bit(entry.key(), min_key);
            self.buckets[lower].push(entry);
            self.nonempty |= 1 << lower;
        }
        // Give the emptied vector back so its capacity is reused.
        self.buckets[bucket_index] = bucket;
        self.front = Some(min);
    }

    /// Makes `key` (< `last`) the new front. With `h` the highest bit where `key` and `last`
    /// differ (`last` has 1 there, `key` 0): an entry in bucket `b > h` still differs from `key`
    /// first at bit `b`, but entries in buckets `b < h`, and the old front, now differ first at
    /// bit `h`, so they move into bucket `h`.
    fn lower_last(&mut self, key: u128, value: T) {
        let h = highest_differing_bit(key, self.last);
        let below_h = self.nonempty & ((1u128 << h) - 1);
        let mut remaining = below_h;
        while remaining != 0 {
            let b = remaining.trailing_zeros() as usize;
            remaining &= remaining - 1;
            let mut moved = std::mem::take(&mut self.buckets[b]);
            self.buckets[h].append(&mut moved);
            self.buckets[b] = moved;
        }
        self.nonempty &= !below_h;
        if let Some(old_front) = self.front.replace(Entry::new(key, value)) {
            self.buckets[h].push(old_front);
        }
        self.nonempty |= 1 << h;
        self.last = key;
    }
}
