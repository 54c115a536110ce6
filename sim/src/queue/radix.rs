//! A radix heap over unique 128-bit keys, kept "settled" so that the minimum is always known.
//!
//! Radix heaps (Ahuja, Mehlhorn, Orlin & Tarjan, "Faster algorithms for the shortest path
//! problem", J. ACM 37(2), 1990) exploit monotone keys: every key pushed is at least the last
//! key popped, which is true of simulated time. Here the key is (time << 64 | insertion
//! sequence), unique per event, so equal times pop in insertion order.
//!
//! Layout: `front` holds the minimum entry and `last` its key. Keys are read as digits of
//! [`DIGIT_BITS`] bits (the multi-level form from the same paper, section 4). An entry whose
//! highest digit differing from `last` is digit `level`, where it has value `digit`, lives in
//! bucket `level * RADIX + digit`; bucket order is key order, so the lowest non-empty bucket
//! holds the next minimum. Popping takes `front`, then settles: the minimum of the lowest
//! non-empty bucket becomes `front` and `last`, and the rest of that bucket moves to lower
//! levels. An entry only moves down, at most once per level. With 1-bit digits an event a month
//! ahead (about 2^31 ms) moves through up to about 18 levels before it pops; with 4-bit digits
//! through at most 5. On the renewal model that cut CPU time per run by about 14 %, and the hold
//! benchmark at 10^5 pending events went from about 8.6 to about 12 million steps/s (provisional
//! figures from a loaded machine; `benches/benches/event_queue.rs` re-measures).
//!
//! Keeping the heap settled lets [`RadixHeap::peek_key`] take `&self`. The price: after a
//! settle, `last` is the pending minimum rather than the last popped key, so a push may be
//! smaller than `last` (an event scheduled between "now" and the next pending event). Such a
//! push becomes the new front; the lower levels are merged into one bucket, which restores the
//! invariant (see [`RadixHeap::lower_last`]).

/// Bits per digit.
const DIGIT_BITS: u32 = 4;
/// Values per digit.
const RADIX: usize = 1 << DIGIT_BITS;
/// Digits in a 128-bit key.
const LEVELS: usize = 128usize.div_ceil(DIGIT_BITS as usize);
/// Number of buckets (some, where `digit` would not exceed `last`'s digit, stay unused).
const BUCKETS: usize = LEVELS * RADIX;
/// Words of the non-empty bitmap.
const MASK_WORDS: usize = BUCKETS.div_ceil(64);

/// The level (highest differing digit) of `key` relative to `last`; `key != last` is required.
#[inline]
fn level_of(key: u128, last: u128) -> usize {
    (127 - (key ^ last).leading_zeros()) as usize / DIGIT_BITS as usize
}

/// The bucket of `key` relative to `last`; `key > last` is required.
#[inline]
fn bucket_of(key: u128, last: u128) -> usize {
    let level = level_of(key, last);
    let digit = (key >> (level as u32 * DIGIT_BITS)) as usize & (RADIX - 1);
    level * RADIX + digit
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
    nonempty: [u64; MASK_WORDS],
    len: usize,
}

impl<T> RadixHeap<T> {
    /// An empty heap. `capacity` is a hint only: buckets grow as needed.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        let _ = capacity;
        RadixHeap {
            front: None,
            last: 0,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            nonempty: [0; MASK_WORDS],
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
        self.put(bucket_of(key, self.last), Entry::new(key, value));
    }

    /// Removes and returns the smallest entry.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<(u128, T)> {
        let popped = self.front.take()?;
        self.len -= 1;
        self.settle();
        Some((popped.key(), popped.value))
    }

    #[inline]
    fn put(&mut self, bucket: usize, entry: Entry<T>) {
        self.buckets[bucket].push(entry);
        self.nonempty[bucket / 64] |= 1 << (bucket % 64);
    }

    /// The lowest non-empty bucket.
    #[inline]
    fn first_nonempty(&self) -> Option<usize> {
        self.nonempty
            .iter()
            .position(|&word| word != 0)
            .map(|word| word * 64 + self.nonempty[word].trailing_zeros() as usize)
    }

    /// Moves the minimum of the lowest non-empty bucket to `front`, redistributing the rest.
    fn settle(&mut self) {
        let Some(bucket_index) = self.first_nonempty() else {
            return;
        };
        let mut bucket = std::mem::take(&mut self.buckets[bucket_index]);
        self.nonempty[bucket_index / 64] &= !(1 << (bucket_index % 64));
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
            // Every entry of the bucket shares the digits of the new `last` from this bucket's
            // level up, so it lands at a strictly lower level.
            self.put(bucket_of(entry.key(), min_key), entry);
        }
        // Give the emptied vector back so its capacity is reused.
        self.buckets[bucket_index] = bucket;
        self.front = Some(min);
    }

    /// Makes `key` (< `last`) the new front. With `h` the highest digit where `key` and `last`
    /// differ (`last`'s digit there is larger): entries at levels above `h`, and at level `h`,
    /// keep their bucket relative to `key`; entries at levels below `h`, and the old front,
    /// share every digit from `h` up with the old `last`, so relative to `key` they all belong
    /// to bucket (`h`, `last`'s digit `h`).
    fn lower_last(&mut self, key: u128, value: T) {
        let h = level_of(key, self.last);
        let target = h * RADIX + (self.last >> (h as u32 * DIGIT_BITS)) as usize % RADIX;
        // Buckets below level h are exactly the buckets numbered below h * RADIX.
        let end = h * RADIX;
        let mut moved = Vec::new();
        for word_index in 0..end.div_ceil(64) {
            let word_end = (word_index * 64 + 64).min(end);
            let mut word = self.nonempty[word_index];
            if word_end < word_index * 64 + 64 {
                word &= (1u64 << (word_end - word_index * 64)) - 1;
            }
            while word != 0 {
                let b = word_index * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                std::mem::swap(&mut moved, &mut self.buckets[b]);
                self.buckets[target].append(&mut moved);
                std::mem::swap(&mut moved, &mut self.buckets[b]);
                self.nonempty[b / 64] &= !(1 << (b % 64));
            }
        }
        if let Some(old_front) = self.front.replace(Entry::new(key, value)) {
            self.buckets[target].push(old_front);
        }
        self.nonempty[target / 64] |= 1 << (target % 64);
        self.last = key;
    }
}
