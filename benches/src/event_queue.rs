//! The "hold" workload for event queues, and a `std::collections::BinaryHeap` baseline queue.
//!
//! Hold model (J. O. Vaucher and P. Duval, "A comparison of simulation event list algorithms",
//! CACM 18(4), 1975): fill the queue with `pending` events, then repeat "pop the earliest event,
//! schedule one at its time plus a random increment", so the queue size stays constant. The
//! increments come from a seeded ChaCha8 stream, the same for every queue compared.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use mend_sim::queue::EventQueue;
use mend_sim::rng::{RngStreams, SimRng, Stream};
use mend_sim::time::{SimDuration, SimTime};
use rand::Rng;
use serde::Serialize;

/// Largest random increment in the hold model, in ms (about 17 minutes).
const MAX_INCREMENT_MS: u64 = 1 << 20;

/// The operations a queue needs for the hold model.
pub trait HoldQueue {
    /// Schedules payload `event` at `at`.
    fn hold_schedule(&mut self, at: SimTime, event: u32);
    /// Pops the earliest event.
    fn hold_pop(&mut self) -> Option<(SimTime, u32)>;
}

impl HoldQueue for EventQueue<u32> {
    #[inline]
    fn hold_schedule(&mut self, at: SimTime, event: u32) {
        self.schedule(at, event);
    }
    #[inline]
    fn hold_pop(&mut self) -> Option<(SimTime, u32)> {
        self.pop()
    }
}

/// The baseline: a binary heap on (time, insertion sequence), FIFO among equal times, no
/// cancellation. What a hand-written simulator loop would use.
#[derive(Debug)]
pub struct BinaryHeapQueue<E = u32> {
    heap: BinaryHeap<Reverse<(u64, u64, E)>>,
    next_seq: u64,
}

impl<E: Ord> BinaryHeapQueue<E> {
    /// An empty queue with room for `n` events.
    pub fn with_capacity(n: usize) -> Self {
        BinaryHeapQueue {
            heap: BinaryHeap::with_capacity(n),
            next_seq: 0,
        }
    }

    /// Schedules `event` at `at`.
    #[inline]
    pub fn schedule(&mut self, at: SimTime, event: E) {
        self.heap.push(Reverse((at.millis(), self.next_seq, event)));
        self.next_seq += 1;
    }

    /// Pops the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap
            .pop()
            .map(|Reverse((time, _, event))| (SimTime(time), event))
    }
}

impl HoldQueue for BinaryHeapQueue<u32> {
    #[inline]
    fn hold_schedule(&mut self, at: SimTime, event: u32) {
        self.schedule(at, event);
    }
    #[inline]
    fn hold_pop(&mut self) -> Option<(SimTime, u32)> {
        self.pop()
    }
}

/// A random increment for the hold model.
#[inline]
fn increment(rng: &mut SimRng) -> SimDuration {
    SimDuration(rng.random_range(0..MAX_INCREMENT_MS))
}

/// Fills `queue` with `pending` events at random times and returns the generator to continue
/// with.
pub fn fill<Q: HoldQueue>(queue: &mut Q, pending: usize, seed: u64) -> SimRng {
    let mut rng = RngStreams::new(seed).stream(Stream::Faults);
    for index in 0..pending {
        queue.hold_schedule(SimTime::ZERO + increment(&mut rng), index as u32);
    }
    rng
}

/// Runs `operations` hold steps (one pop and one schedule each) on a filled queue; returns a
/// checksum of the popped times so the work cannot be optimised away.
#[inline]
pub fn hold<Q: HoldQueue>(queue: &mut Q, operations: u64, rng: &mut SimRng) -> u64 {
    let mut checksum = 0u64;
    for _ in 0..operations {
        let Some((now, event)) = queue.hold_pop() else {
            break;
        };
        checksum = checksum.wrapping_add(now.millis());
        queue.hold_schedule(now + increment(rng), event);
    }
    checksum
}

/// What one timed hold run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HoldFigures {
    /// Which queue: `"event_queue"` or `"binary_heap"`.
    pub queue: &'static str,
    /// Events pending throughout.
    pub pending: usize,
    /// Hold steps timed (each one pop and one schedule).
    pub operations: u64,
    /// Wall-clock seconds for the hold steps (the fill is not timed).
    pub wall_seconds: f64,
    /// `operations / wall_seconds`.
    pub operations_per_second: f64,
}

/// Times `operations` hold steps on [`EventQueue`] and on [`BinaryHeapQueue`] with `pending`
/// events, in that order.
pub fn hold_figures(pending: usize, operations: u64) -> [HoldFigures; 2] {
    [
        time_hold(
            "event_queue",
            EventQueue::with_capacity(pending),
            pending,
            operations,
        ),
        time_hold(
            "binary_heap",
            BinaryHeapQueue::with_capacity(pending),
            pending,
            operations,
        ),
    ]
}

fn time_hold<Q: HoldQueue>(
    name: &'static str,
    mut queue: Q,
    pending: usize,
    operations: u64,
) -> HoldFigures {
    let mut rng = fill(&mut queue, pending, 1);
    let started = Instant::now();
    std::hint::black_box(hold(&mut queue, operations, &mut rng));
    let wall_seconds = started.elapsed().as_secs_f64();
    HoldFigures {
        queue: name,
        pending,
        operations,
        wall_seconds,
        operations_per_second: operations as f64 / wall_seconds.max(1e-9),
    }
}
