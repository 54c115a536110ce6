//! Sync vs rayon-parallel vector env on copies of the cluster env: steps per second of each and the
//! speed-up, best of several rounds (best-of filters out other processes on a shared machine).
//! `cargo run --release -p mend-envs --example vector_speedup -- default 4 2` (scenario, sub-envs,
//! threads). The criterion figures live in `benches/benches/envs.rs`.

use std::time::Instant;

use mend_envs::cluster::{ClusterConfig, ClusterEnv};
use mend_envs::{AutoresetMode, Env, ParallelVectorEnv, SyncVectorEnv, VectorEnv};

fn envs(scenario: &str, n: usize) -> Result<Vec<Box<dyn Env>>, mend_envs::EnvError> {
    (0..n)
        .map(|_| {
            ClusterEnv::builtin(scenario, ClusterConfig::default())
                .map(|e| Box::new(e) as Box<dyn Env>)
        })
        .collect()
}

/// Best steps/s over `rounds` rounds of `steps` vector steps.
fn rate(venv: &mut dyn VectorEnv, steps: usize, rounds: usize) -> Result<f64, mend_envs::EnvError> {
    venv.reset(Some(0))?;
    let actions = vec![0; venv.num_envs()];
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..steps {
            std::hint::black_box(venv.step(&actions)?.rewards[0]);
        }
        best = best.max((steps * venv.num_envs()) as f64 / start.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "default".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(4);
    let threads: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2);
    let (steps, rounds) = (200, 15);
    let mut sync = SyncVectorEnv::new(envs(&scenario, n)?, AutoresetMode::NextStep)?;
    let mut parallel =
        ParallelVectorEnv::with_threads(envs(&scenario, n)?, AutoresetMode::NextStep, threads)?;
    let (mut s, mut p) = (0.0f64, 0.0f64);
    // Interleave so both see the same machine load.
    for _ in 0..3 {
        s = s.max(rate(&mut sync, steps, rounds / 3)?);
        p = p.max(rate(&mut parallel, steps, rounds / 3)?);
    }
    println!(
        "{scenario} x{n}: sync {s:.0} steps/s, parallel ({threads} threads) {p:.0} steps/s, speed-up {:.2}x",
        p / s
    );
    Ok(())
}
