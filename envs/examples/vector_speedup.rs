//! Sync vs parallel vector env on copies of the cluster env: steps per second of each and the
//! speed-up, best of many short rounds (best-of filters out other processes on a shared machine),
//! with the machine's load average before and after so a reader can judge the figures.
//!
//! ```text
//! cargo run --release -p mend-envs --example vector_speedup              # the issue-3 set
//! cargo run --release -p mend-envs --example vector_speedup -- default 4 2   # scenario, sub-envs, threads
//! cargo run --release -p mend-envs --example vector_speedup -- default 4 2 parallel   # profiling
//! ```
//! The issue-3 set is `default` x4 and x8, `tiny` x4 and `large` x2, all on 2 threads (target
//! speed-up >= 1.8x on `default`). `parallel` skips the sync env (for `perf record`). The criterion
//! figures live in `benches/benches/envs.rs`.
//!
//! The parallel figure needs the second core: on a machine busy with other sessions (Linux
//! autogroups share the CPU per session, so `nice` alone does not help) it falls to about the
//! sync figure. For a few seconds' run, root can give the calling session priority instead (the
//! setting belongs to the session, so put it back afterwards):
//! `sh -c 'echo -19 > /proc/self/autogroup; target/release/examples/vector_speedup; echo 0 > /proc/self/autogroup'`.

use std::time::Instant;

use mend_envs::cluster::{ClusterConfig, ClusterEnv};
use mend_envs::{AutoresetMode, Env, ParallelVectorEnv, SyncVectorEnv, VectorEnv};

/// Vector steps per round and rounds per env (interleaved in `PASSES` passes).
const STEPS: usize = 100;
const ROUNDS: usize = 30;
const PASSES: usize = 5;

fn envs(scenario: &str, n: usize) -> Result<Vec<Box<dyn Env>>, mend_envs::EnvError> {
    (0..n)
        .map(|_| {
            ClusterEnv::builtin(scenario, ClusterConfig::default())
                .map(|e| Box::new(e) as Box<dyn Env>)
        })
        .collect()
}

/// Best env steps/s over `rounds` rounds of `STEPS` vector steps (no-op actions).
fn rate(venv: &mut dyn VectorEnv, rounds: usize) -> Result<f64, mend_envs::EnvError> {
    let actions = vec![0; venv.num_envs()];
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..STEPS {
            std::hint::black_box(venv.step(&actions)?.rewards[0]);
        }
        best = best.max((STEPS * venv.num_envs()) as f64 / start.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Measures one configuration and prints one line.
fn measure(
    scenario: &str,
    n: usize,
    threads: usize,
    parallel_only: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut sync = SyncVectorEnv::new(envs(scenario, n)?, AutoresetMode::NextStep)?;
    let mut parallel =
        ParallelVectorEnv::with_threads(envs(scenario, n)?, AutoresetMode::NextStep, threads)?;
    sync.reset(Some(0))?;
    parallel.reset(Some(0))?;
    let (mut s, mut p) = (f64::NAN, 0.0f64);
    // Interleave so both see the same machine load.
    for _ in 0..PASSES {
        if !parallel_only {
            s = s.max(rate(&mut sync, ROUNDS / PASSES)?);
        }
        p = p.max(rate(&mut parallel, ROUNDS / PASSES)?);
    }
    println!(
        "{scenario} x{n}: sync {s:.0} steps/s, parallel ({threads} threads) {p:.0} steps/s, speed-up {:.2}x",
        p / s
    );
    Ok(())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("load average before: {} ({cores} cores)", load());
    if args.is_empty() {
        for (scenario, n) in [("default", 4), ("default", 8), ("tiny", 4), ("large", 2)] {
            measure(scenario, n, 2, false)?;
        }
    } else {
        let scenario = &args[0];
        let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(4);
        let threads: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2);
        let parallel_only = args.get(3).is_some_and(|a| a == "parallel");
        measure(scenario, n, threads, parallel_only)?;
    }
    println!("load average after: {}", load());
    Ok(())
}
