//! Environment throughput (issue 3): CartPole-v1 steps per second on one core (target >= 5 M/s),
//! the cluster env on `tiny` and `default` with no-op actions (target >= 20,000 steps/s on one core
//! for `default` at its 30 s decision interval), and SyncVectorEnv vs ParallelVectorEnv on 2 threads
//! (target speed-up >= 1.8x). CartPole is too light for threads to pay (a step is a few ns, less
//! than rayon's per-task overhead), so the speed-up is measured on the cluster env, and CartPole's
//! is shown for honesty. Criterion's "elements/s" is env steps per second (one vector step of N
//! sub-envs counts N).
//!
//! `envs/cluster/default/noop_step_risk` is `default/noop_step` with a failure predictor behind the
//! schema v4 risk column (`ClusterConfig::risk_model`: an untrained model of the experiments'
//! default size, 32 tanh units; training changes the weights, not the work): its ratio to
//! `default/noop_step` is the predictor's cost per env step. Only this pair:
//! `cargo bench -p mend-benches --bench envs -- 'default/noop_step'`.
//!
//! Run: `cargo bench -p mend-benches --bench envs` (add `-- --quick` for a short run). Figures
//! taken while other builds run on the machine are provisional.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mend_envs::cluster::{ClusterConfig, ClusterEnv};
use mend_envs::{AutoresetMode, CartPole, Env, ParallelVectorEnv, SyncVectorEnv, VectorEnv};
use mend_monitor::features::FeatureSchema;
use mend_monitor::features::risk::{DEFAULT_TREND_SECONDS, RiskModel};

/// Steps per measured iteration for single envs.
const BATCH: u64 = 1000;

/// Steps `env` `BATCH` times with `action(t)`, resetting when an episode ends.
fn run_batch(env: &mut dyn Env, action: impl Fn(u64) -> usize) {
    for t in 0..BATCH {
        let step = env.step(action(t)).expect("valid action");
        if step.terminated || step.truncated {
            env.reset(None, None).expect("reset");
        }
        black_box(step.reward);
    }
}

fn cartpole(c: &mut Criterion) {
    let mut g = c.benchmark_group("envs/cartpole");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("step", |b| {
        let mut env = CartPole::new();
        env.reset(Some(0), None).unwrap();
        b.iter(|| run_batch(&mut env, |t| (t / 3 % 2) as usize));
    });
    g.bench_function("step_time_limit_500", |b| {
        let mut env = mend_envs::make("CartPole-v1").unwrap();
        env.reset(Some(0), None).unwrap();
        b.iter(|| run_batch(&mut *env, |t| (t / 3 % 2) as usize));
    });
    g.finish();
}

/// Hidden units of the risk model in `default/noop_step_risk` (the experiments' default,
/// `FailurePrediction::default_hidden` in experiments/src/experiment/schema.rs).
const RISK_HIDDEN: usize = 32;

fn cluster(c: &mut Criterion) {
    let mut g = c.benchmark_group("envs/cluster");
    g.throughput(Throughput::Elements(100));
    let risk = ClusterConfig {
        risk_model: Some(Arc::new(RiskModel::init(
            &FeatureSchema::builtin(),
            RISK_HIDDEN,
            DEFAULT_TREND_SECONDS,
            900.0,
            0,
        ))),
        ..ClusterConfig::default()
    };
    let cases = [
        ("tiny/noop_step", "tiny", ClusterConfig::default()),
        ("default/noop_step", "default", ClusterConfig::default()),
        ("default/noop_step_risk", "default", risk),
    ];
    for (label, scenario, config) in cases {
        g.bench_function(label, |b| {
            let mut env = ClusterEnv::builtin(scenario, config.clone()).unwrap();
            env.reset(Some(1), None).unwrap();
            b.iter(|| {
                for _ in 0..100 {
                    let step = env.step(0).unwrap();
                    if step.truncated {
                        env.reset(None, None).unwrap();
                    }
                    black_box(step.reward);
                }
            });
        });
    }
    g.finish();
}

/// Sync vs parallel (2 threads of its own) on `n` copies of an env.
fn vector_pair(
    c: &mut Criterion,
    name: &str,
    n: usize,
    make: impl Fn() -> Box<dyn Env>,
    steps: u64,
) {
    let mut g = c.benchmark_group(format!("envs/vector/{name}x{n}"));
    g.throughput(Throughput::Elements(steps * n as u64));
    let envs = || (0..n).map(|_| make()).collect::<Vec<_>>();
    let mut run = |label: &str, mut venv: Box<dyn VectorEnv>| {
        venv.reset(Some(0)).unwrap();
        let actions = vec![0; n];
        g.bench_function(label, |b| {
            b.iter(|| {
                for _ in 0..steps {
                    black_box(venv.step(&actions).unwrap().rewards[0]);
                }
            })
        });
    };
    run(
        "sync",
        Box::new(SyncVectorEnv::new(envs(), AutoresetMode::NextStep).unwrap()),
    );
    run(
        "parallel_2_threads",
        Box::new(ParallelVectorEnv::with_threads(envs(), AutoresetMode::NextStep, 2).unwrap()),
    );
    g.finish();
}

fn vector(c: &mut Criterion) {
    // The issue-3 set (as `envs/examples/vector_speedup` measures it): default x4, tiny x4, large x2.
    for (scenario, n, steps) in [("default", 4, 20), ("tiny", 4, 100), ("large", 2, 4)] {
        vector_pair(
            c,
            &format!("cluster_{scenario}"),
            n,
            || Box::new(ClusterEnv::builtin(scenario, ClusterConfig::default()).unwrap()),
            steps,
        );
    }
    vector_pair(
        c,
        "cartpole",
        8,
        || mend_envs::make("CartPole-v1").unwrap(),
        1000,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(10);
    targets = cartpole, cluster, vector
}
criterion_main!(benches);
