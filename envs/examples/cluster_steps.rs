//! Steps the cluster env with no-op actions and prints steps per second: a quick, profiler-friendly
//! workload (`perf record target/release/examples/cluster_steps default 20000`). The criterion
//! figures live in `benches/benches/envs.rs`.

use std::time::Instant;

use mend_envs::Env;
use mend_envs::cluster::{ClusterConfig, ClusterEnv};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "default".into());
    let steps: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let mut env = ClusterEnv::builtin(&scenario, ClusterConfig::default())?;
    env.reset(Some(1), None)?;
    let start = Instant::now();
    let mut total = 0.0;
    for _ in 0..steps {
        let step = env.step(0)?;
        total += step.reward;
        if step.truncated {
            env.reset(None, None)?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{scenario}: {steps} steps in {secs:.3} s = {:.0} steps/s (reward sum {total:.3})",
        steps as f64 / secs
    );
    Ok(())
}
