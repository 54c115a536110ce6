//! Agents benchmarks (issue 4 "Speed"): PPO training throughput on CartPole-v1 with the
//! rl-baselines3-zoo settings (env steps per second; Stable-Baselines3 2.9.2 runs 826 steps/s on the
//! project machine, the target is 16,000), DQN training throughput with its zoo settings, and the
//! inference cost of one CartPole decision, and of one decision on a 100-service cluster (entity
//! network, tabular Q, reactive controller, runbook; target <= 50 us per decision), and PPO training
//! throughput with the entity network on the `default` cluster (`PpoConfig::cluster_default`: one
//! iteration of 8 x 128 steps and 16 minibatch updates; update-bound).
//!
//! Run: `cargo bench -p mend-benches --bench agents` (RAYON_NUM_THREADS comes from .cargo/config.toml;
//! candle is about 20x slower without it, see CRATES.md). Criterion prints throughput in elements/s,
//! where one element is one env step.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mend_agents::{Agent, Dqn, DqnConfig, NullSink, Policy, Ppo, PpoConfig};
use mend_envs::{AutoresetMode, Observation, SyncVectorEnv};
use rand::RngCore;

fn cartpole(n: usize) -> SyncVectorEnv {
    let envs = (0..n)
        .map(|_| mend_envs::make("CartPole-v1").expect("CartPole-v1 is registered"))
        .collect();
    SyncVectorEnv::new(envs, AutoresetMode::SameStep).expect("valid vector env")
}

/// PPO with the zoo settings: each iteration trains 8 rollouts (2,048 env steps, 160 gradient steps).
fn ppo_training(c: &mut Criterion) {
    let steps = 2_048u64;
    let mut group = c.benchmark_group("ppo_cartpole_zoo");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(steps));
    group.bench_function("train_2048_steps", |b| {
        b.iter(|| {
            let config = PpoConfig::cartpole_zoo(1);
            let mut env = cartpole(config.num_envs);
            let mut agent = Ppo::for_env(config, &env).expect("valid config");
            black_box(
                agent
                    .learn(&mut env, steps, &mut NullSink)
                    .expect("training runs"),
            )
        })
    });
    group.finish();
}

/// PPO with the entity network on `default` (68 entities, 613 actions): one iteration of
/// `cluster_default` (1,024 env steps, 4 epochs x 4 minibatches of 256). Training speed is
/// sensitive to the allocator and candle's thread pool; see agents/examples/cluster.rs.
fn ppo_cluster_training(c: &mut Criterion) {
    let mut group = c.benchmark_group("ppo_cluster_default");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    let config = PpoConfig::cluster_default(1);
    let steps = config.batch_size() as u64;
    group.throughput(Throughput::Elements(steps));
    group.bench_function("train_1024_steps", |b| {
        b.iter(|| {
            let envs = (0..config.num_envs)
                .map(|_| {
                    Box::new(
                        mend_envs::ClusterEnv::builtin(
                            "default",
                            mend_envs::ClusterConfig::default(),
                        )
                        .expect("built-in scenario"),
                    ) as Box<dyn mend_envs::Env>
                })
                .collect();
            let mut env =
                SyncVectorEnv::new(envs, AutoresetMode::SameStep).expect("valid vector env");
            let mut agent = Ppo::for_env(
                PpoConfig {
                    total_timesteps: steps,
                    ..config.clone()
                },
                &env,
            )
            .expect("valid config");
            black_box(
                agent
                    .learn(&mut env, steps, &mut NullSink)
                    .expect("training runs"),
            )
        })
    });
    group.finish();
}

/// DQN with the zoo settings from learning_starts: 2,048 env steps after the 1,000 random ones, i.e.
/// 8 gradient phases of 128 steps on batches of 64 with a [256, 256] network.
fn dqn_training(c: &mut Criterion) {
    let steps = 3_048u64;
    let mut group = c.benchmark_group("dqn_cartpole_zoo");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(steps));
    group.bench_function("train_3048_steps", |b| {
        b.iter(|| {
            let config = DqnConfig::cartpole_zoo(1);
            let mut env = cartpole(config.num_envs);
            let mut agent = Dqn::for_env(config, &env).expect("valid config");
            black_box(
                agent
                    .learn(&mut env, steps, &mut NullSink)
                    .expect("training runs"),
            )
        })
    });
    group.finish();
}

/// One deterministic decision of a CartPole MLP policy (PPO actor 4-64-64-2, DQN 4-256-256-2).
fn inference(c: &mut Criterion) {
    let ppo = Ppo::new(PpoConfig::cartpole_zoo(1), 4, 2)
        .expect("valid config")
        .mlp_policy()
        .expect("an MLP agent");
    let dqn = Dqn::new(DqnConfig::cartpole_zoo(1), 4, 2)
        .expect("valid config")
        .mlp_policy();
    let obs = Observation::Vector(vec![0.01, -0.2, 0.03, 0.1]);
    let mut rng = UnusedRng;
    let mut group = c.benchmark_group("policy_predict");
    group.bench_function("ppo_64x64", |b| {
        b.iter(|| {
            ppo.predict(black_box(&obs), None, true, &mut rng)
                .expect("acts")
        })
    });
    group.bench_function("dqn_256x256", |b| {
        b.iter(|| {
            dqn.predict(black_box(&obs), None, true, &mut rng)
                .expect("acts")
        })
    });
    group.finish();
}

/// Deterministic prediction draws no random numbers; this generator only satisfies the signature.
struct UnusedRng;

impl RngCore for UnusedRng {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(0);
    }
}

/// A cluster observation of 100 services and 40 nodes (schema v1 rows with values in their ranges).
fn cluster_obs() -> Observation {
    use rand::{Rng, SeedableRng};
    let schema = mend_monitor::features::FeatureSchema::builtin();
    let w = schema.columns.len();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut rows = vec![0.0f32; 140 * w];
    for (i, row) in rows.chunks_exact_mut(w).enumerate() {
        for v in row.iter_mut() {
            *v = rng.random::<f32>();
        }
        row[0] = f32::from(u8::from(i < 100));
        row[1] = f32::from(u8::from(i >= 100));
    }
    Observation::Entities(mend_envs::EntityObs {
        global: vec![0.5; schema.global.len()],
        width: w,
        rows,
    })
}

/// One deterministic decision on a 100-service, 40-node cluster (1,261 actions). The entity network
/// runs on the widest instruction set of the CPU, chosen at run time (AVX-512, AVX2 or the baseline
/// target: `EntityParams::forward` in agents/src/nn/entity.rs), with bit-identical results on each,
/// so the figure depends on the CPU while the decisions do not. Issue 7 target: <= 50 us at h64.
fn cluster_inference(c: &mut Criterion) {
    use mend_agents::baselines::reactive::{ReactiveConfig, ReactiveController};
    use mend_agents::baselines::runbook::Runbook;
    use mend_agents::baselines::{Controller, Stateful};
    use mend_agents::nn::Activation;
    use mend_agents::nn::entity::{EntityParams, EntityPolicy, EntitySpec};
    use mend_agents::policy::OutputKind;
    use mend_agents::tabular::{TabularConfig, TabularPolicy};
    use rand::SeedableRng;

    let schema = mend_monitor::features::FeatureSchema::builtin();
    let kinds: Vec<String> = mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect();
    let n_kinds = kinds.len();
    let obs = cluster_obs();
    let n_actions = 1 + 140 * n_kinds;
    let mut rng = UnusedRng;
    let mut group = c.benchmark_group("cluster_predict_100_services");
    for hidden in [32, 64] {
        let spec = EntitySpec {
            row_width: schema.columns.len(),
            global_width: schema.global.len(),
            hidden,
            n_kinds,
            activation: Activation::Tanh,
        };
        let policy = EntityPolicy {
            algorithm: "ppo".into(),
            output: OutputKind::Logits,
            params: EntityParams::init(spec, &mut rand::rngs::StdRng::seed_from_u64(1)),
            exploration_eps: 0.0,
            n_actions,
        };
        group.bench_function(format!("entity_net_h{hidden}"), |b| {
            b.iter(|| {
                policy
                    .predict(black_box(&obs), None, true, &mut rng)
                    .expect("acts")
            })
        });
    }
    let tabular = TabularPolicy::zeros(
        schema.clone(),
        TabularConfig::default().edges,
        n_kinds,
        n_actions,
    )
    .expect("v1 has the columns");
    group.bench_function("tabular_q", |b| {
        b.iter(|| {
            tabular
                .predict(black_box(&obs), None, true, &mut rng)
                .expect("acts")
        })
    });
    let mut reactive =
        ReactiveController::new(ReactiveConfig::tuned(), schema.clone(), kinds.clone())
            .expect("v1 has the columns");
    group.bench_function("reactive", |b| {
        b.iter(|| reactive.decide(black_box(&obs), None).expect("acts"))
    });
    let runbook = Stateful::new(
        Runbook::default_runbook(schema, kinds).expect("shipped runbook is valid"),
        n_actions,
    );
    group.bench_function("runbook", |b| {
        b.iter(|| {
            runbook
                .predict(black_box(&obs), None, true, &mut rng)
                .expect("acts")
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    ppo_training,
    ppo_cluster_training,
    dqn_training,
    inference,
    cluster_inference
);
criterion_main!(benches);
