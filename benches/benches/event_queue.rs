//! Event queue "hold" benchmark: pop the earliest event and schedule one a random increment
//! later, with 10^3 .. 10^6 events pending, for `mend_sim::queue::EventQueue` (radix heap) and
//! a `std::collections::BinaryHeap` baseline. Throughput is hold steps (one pop + one push).
//!
//! Run: `cargo bench -p mend-benches --bench event_queue`. Kept brief (10 samples, 2 s each) so
//! it can be re-run often; pass `-- --measurement-time 10` for steadier figures.
//!
//! Provisional figures (2026-11-26, 2-core machine shared with other builds, so low), million
//! hold steps per second, radix `EventQueue` / `BinaryHeap`: 10^3 pending 12.6 / 13.6;
//! 10^4 13.0 / 8.7; 10^5 10.4 / 3.4; 10^6 8.2 / 0.67.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mend_benches::event_queue::{BinaryHeapQueue, HoldQueue, fill, hold};
use mend_sim::queue::EventQueue;
use std::hint::black_box;
use std::time::Duration;

/// Hold steps per timed iteration.
const STEPS: u64 = 10_000;

fn bench_queue<Q: HoldQueue>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    pending: usize,
    mut queue: Q,
) {
    let mut rng = fill(&mut queue, pending, 1);
    group.bench_function(BenchmarkId::new(name, pending), |b| {
        b.iter(|| black_box(hold(&mut queue, STEPS, &mut rng)));
    });
}

fn hold_model(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_queue_hold");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(STEPS));
    for pending in [1_000, 10_000, 100_000, 1_000_000] {
        bench_queue(
            &mut group,
            "radix_event_queue",
            pending,
            EventQueue::with_capacity(pending),
        );
        bench_queue(
            &mut group,
            "std_binary_heap",
            pending,
            BinaryHeapQueue::with_capacity(pending),
        );
    }
    group.finish();
}

criterion_group!(benches, hold_model);
criterion_main!(benches);
