//! The event queue: pending events ordered by (time, insertion sequence), with cancellation.
//!
//! Events at equal times pop in the order they were scheduled (FIFO), so runs are deterministic.
//! Cancellation is lazy: a cancelled event stays stored until it reaches the front, where it is
//! dropped; the set of cancelled ids therefore never holds more than the pending events.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use crate::time::{SimDuration, SimTime};

/// Identifies a scheduled event, for [`EventQueue::cancel`]. Ids order like their events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(Key);

/// The ordering key: time, then insertion sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    time: u64,
    seq: u64,
}

#[derive(Debug)]
struct Entry<E> {
    key: Key,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// A priority queue of events of type `E` in simulated time.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    cancelled: BTreeSet<u64>,
    next_seq: u64,
    now: SimTime,
    last_popped: Option<Key>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `n` pending events.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            cancelled: BTreeSet::new(),
            next_seq: 0,
            now: SimTime::ZERO,
            last_popped: None,
        }
    }

    /// The time of the last popped event (zero before the first pop).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at`. Scheduling in the past is a logic error: it panics in debug
    /// builds and is clamped to [`EventQueue::now`] in release builds.
    pub fn schedule(&mut self, at: SimTime, event: E) -> EventId {
        debug_assert!(at >= self.now, "event scheduled at {at} before now {}", self.now);
        let key = Key {
            time: at.max(self.now).millis(),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.heap.push(Reverse(Entry { key, event }));
        EventId(key)
    }

    /// Schedules `event` at `now() + delay`.
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        self.schedule(self.now + delay, event)
    }

    /// Cancels a pending event; returns whether it was pending. A cancelled event never fires.
    pub fn cancel(&mut self, id: EventId) -> bool {
        if !self.is_pending(id.0) {
            return false;
        }
        self.cancelled.insert(id.0.seq);
        self.drop_cancelled_front();
        true
    }

    /// Removes and returns the next event, advancing [`EventQueue::now`] to its time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let Reverse(entry) = self.heap.pop()?;
        self.last_popped = Some(entry.key);
        self.now = SimTime(entry.key.time);
        self.drop_cancelled_front();
        Some((self.now, entry.event))
    }

    /// Like [`EventQueue::pop`], but only if the next event's time is `<= limit`.
    pub fn pop_until(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        if self.peek_time()? > limit {
            return None;
        }
        self.pop()
    }

    /// The time of the next live event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(entry)| SimTime(entry.key.time))
    }

    /// Number of live (scheduled, not cancelled, not popped) events.
    pub fn len(&self) -> usize {
        self.heap.len() - self.cancelled.len()
    }

    /// Whether no live event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the event with `key` is still waiting: scheduled, not popped, not cancelled.
    fn is_pending(&self, key: Key) -> bool {
        let scheduled = key.seq < self.next_seq;
        let not_popped = self.last_popped.is_none_or(|last| key > last);
        scheduled && not_popped && !self.cancelled.contains(&key.seq)
    }

    /// Keeps the invariant that the front of the heap is a live event.
    fn drop_cancelled_front(&mut self) {
        while !self.cancelled.is_empty() {
            let Some(Reverse(front)) = self.heap.peek() else {
                return;
            };
            if !self.cancelled.remove(&front.key.seq) {
                return;
            }
            self.heap.pop();
        }
    }
}
