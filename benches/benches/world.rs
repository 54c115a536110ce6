//! Speed of the cluster world: simulated seconds per wall second on the built-in `default`
//! (6 h, 20 services) and `large` (1,000 nodes, 200 services) scenarios, with no agent.
//! Criterion reports the throughput as "elements/s" where one element is one simulated second.
//! Targets (issues 2 and 3): `large` at least 20,000x real time within 1 GiB; `default` at
//! least 500,000 simulated s per wall second. Before the benchmarks it prints one full run of
//! each scenario with its wall time and the process's peak resident memory (VmHWM).
//!
//! Run: `cargo bench -p mend-benches --bench world` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mend_sim::time::SimTime;
use mend_sim::{Scenario, Simulation};

/// Peak resident set size of this process in kB, from /proc (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn report_full_runs() {
    for name in ["default", "large"] {
        let scenario = Scenario::builtin(name).expect("built-in scenario");
        let start = Instant::now();
        let mut sim = Simulation::new(&scenario, 1);
        sim.run_to_end();
        let wall = start.elapsed().as_secs_f64();
        let simulated = sim.now().as_secs_f64();
        eprintln!(
            "world/{name}: {simulated:.0} simulated s in {wall:.3} s wall = {:.0}x real time; peak RSS {} MiB",
            simulated / wall,
            peak_rss_kib().map_or("?".to_string(), |k| (k / 1024).to_string()),
        );
    }
}

fn world(c: &mut Criterion) {
    report_full_runs();
    let mut group = c.benchmark_group("world");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    let default = Scenario::builtin("default").expect("default");
    group.throughput(Throughput::Elements(default.horizon().millis() / 1000));
    group.bench_function("default_6h", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(&default, black_box(1));
            sim.run_to_end();
            black_box(sim.summary().availability)
        })
    });

    let large = Scenario::builtin("large").expect("large");
    group.throughput(Throughput::Elements(3600));
    group.bench_function("large_1h", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(&large, black_box(1));
            sim.run_until(SimTime::from_secs(3600));
            black_box(sim.summary().availability)
        })
    });
    group.finish();
}

criterion_group!(benches, world);
criterion_main!(benches);
