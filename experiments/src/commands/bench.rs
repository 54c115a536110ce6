//! `mend bench`: time the simulator's workloads once against the wall clock and print the figures
//! (the criterion benchmarks in `benches/` measure the same workloads statistically).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use mend_benches::event_queue::hold_figures;
use mend_benches::renewal::renewal_figures;
use mend_sim::Simulation;
use mend_sim::scenario::ModelKind;
use mend_sim::time::SimDuration;

use crate::cli::{BenchArgs, BenchWhat};
use crate::scenarios;

/// Runs the command.
pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    match &args.what {
        BenchWhat::Renewal { components } => renewal(components),
        BenchWhat::Queue { pending } => queue(pending),
        BenchWhat::Scenario { scenarios } => scenario(scenarios)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn renewal(components: &[u64]) {
    println!(
        "renewal model, one simulated year, one thread (Weibull(0.7, mean 30 d) up, lognormal(median 1 h, sigma 1) down)"
    );
    println!(
        "{:>10} {:>12} {:>9} {:>14} {:>12} {:>10}",
        "components", "events", "wall s", "events/s", "availability", "analytic"
    );
    for &n in components {
        let f = renewal_figures(n, SimDuration::from_days(365));
        println!(
            "{:>10} {:>12} {:>9.3} {:>14.0} {:>12.6} {:>10.6}",
            f.components,
            f.events,
            f.wall_seconds,
            f.events_per_second,
            f.availability,
            f.analytic_availability
        );
    }
}

fn queue(pending: &[u64]) {
    println!("event queue, hold model (one pop and one push per operation), one thread");
    println!(
        "{:>10} {:>14} {:>14} {:>8}",
        "pending", "ours ops/s", "BinaryHeap", "ratio"
    );
    for &n in pending {
        let operations = 2_000_000u64.max(n * 2);
        let [ours, heap] = hold_figures(n as usize, operations);
        println!(
            "{:>10} {:>14.0} {:>14.0} {:>7.2}x",
            n,
            ours.operations_per_second,
            heap.operations_per_second,
            ours.operations_per_second / heap.operations_per_second
        );
    }
}

fn scenario(names: &[String]) -> Result<()> {
    println!("whole scenarios with no agent, seed 0, one thread");
    println!(
        "{:>10} {:>12} {:>9} {:>16} {:>12}",
        "scenario", "simulated s", "wall s", "x real time", "peak RSS MiB"
    );
    for name in names {
        let scenario = scenarios::load(name)?;
        if scenario.model() != ModelKind::Cluster {
            println!("{name:>10} (not a cluster scenario: use `mend bench renewal`)");
            continue;
        }
        let started = Instant::now();
        let mut sim = Simulation::new(&scenario, 0);
        sim.run_to_end();
        let wall = started.elapsed().as_secs_f64();
        let simulated = sim.now().as_secs_f64();
        println!(
            "{:>10} {:>12.0} {:>9.3} {:>16.0} {:>12}",
            scenario.name(),
            simulated,
            wall,
            simulated / wall,
            peak_rss_mib().map_or("?".to_string(), |m| format!("{m:.0}"))
        );
    }
    println!("(peak RSS is the process's high-water mark so far, from /proc/self/status)");
    Ok(())
}

/// The process's peak resident set size (VmHWM), in MiB, where Linux reports it.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
