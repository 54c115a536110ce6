//! Renewal model benchmark (issue 2's speed reference against SimPy): N components with
//! Weibull(0.7, mean 30 d) up times and lognormal(median 1 h, sigma 1) down times over one
//! simulated year, N = 10^3 .. 10^6. Throughput is events (failures + repairs) per second.
//!
//! `event_queue` is `mend_sim::renewal::run_renewal`; `std_binary_heap_loop` is the same model
//! as a hand-written loop over a `std` binary heap (same events, same result).
//! Run: `cargo bench -p mend-benches --bench renewal` (about four minutes, most of it N = 10^6);
//! `-- renewal/event_queue/100000` or another filter runs one case.
//! Target (one core, release): at least 6 million events/s at N = 100,000.
//!
//! Provisional figures (2026-11-26, 2-core machine shared with other builds), million events/s:
//! N = 10^3 7.3, 10^4 7.4, 10^5 6.4, 10^6 6.6 (perf stat puts N = 10^5 at about 10 M events per
//! CPU-second: the process got about 60 % of a core). SimPy 4.1.2 peer
//! (`benches/peers/renewal_simpy.py`, fresh start): 0.30 M events/s at N = 10^4, 0.16 M at 10^5.
//! In a later, busier run: event queue 5.1 / binary-heap loop 4.4 M events/s at N = 10^4, and
//! 4.6 / 1.5 at N = 10^5 (the ratio is the reliable part: about 3x at 10^5).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mend_benches::renewal::{ONE_YEAR, reference_config, renewal_binary_heap_baseline};
use mend_sim::renewal::run_renewal;
use std::hint::black_box;
use std::time::Duration;

fn renewal(c: &mut Criterion) {
    let mut group = c.benchmark_group("renewal");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for components in [1_000u64, 10_000, 100_000, 1_000_000] {
        let config = reference_config(components);
        // The event count is deterministic for a seed: one untimed run gives the throughput.
        let events = run_renewal(&config, ONE_YEAR, 1).events;
        group.throughput(Throughput::Elements(events));
        group.bench_function(BenchmarkId::new("event_queue", components), |b| {
            b.iter(|| black_box(run_renewal(&config, ONE_YEAR, 1)));
        });
        group.bench_function(BenchmarkId::new("std_binary_heap_loop", components), |b| {
            b.iter(|| black_box(renewal_binary_heap_baseline(&config, ONE_YEAR, 1)));
        });
    }
    group.finish();
}

criterion_group!(benches, renewal);
criterion_main!(benches);
