//! Policies and agents for `mend`: the [`Policy`] and [`Agent`] traits, PPO ([`ppo`]) and DQN ([`dqn`])
//! on candle-nn, and versioned policy files ([`policy_file`]).
//!
//! ```text
//!   VectorEnv (mend-envs contract) ──obs, masks, rewards──▶ Agent::learn (ppo.rs / dqn.rs)
//!        ▲                                                   │  rollouts: nn::plain forward
//!        │ actions                                           │  updates:  nn::candle_mlp + optim::Adam
//!        └──────────── Policy::predict ◀── MlpPolicy ◀───────┘
//!                                            │ ▲
//!                                  policy_file (safetensors + JSON manifest)
//! ```
//!
//! Determinism: all randomness comes from ChaCha8 streams seeded by the run's seed; no clock is read;
//! only ordered collections are iterated. Same seed, same build: byte-identical policy files whatever the
//! thread count.
//!
//! Reproduce the issue-4 proof runs (rl-baselines3-zoo settings, 5 seeds, 100 evaluation episodes):
//! `cargo run --release -p mend-agents --example cartpole`; training speed:
//! `cargo bench -p mend-benches --bench agents`. Binaries must set `RAYON_NUM_THREADS` (or
//! `CANDLE_NUM_THREADS`) before candle runs: candle 0.11 otherwise re-reads /proc/cpuinfo on every
//! matmul (CRATES.md). `.cargo/config.toml` sets it for cargo-run processes; this crate cannot set it
//! itself (`std::env::set_var` is `unsafe` in edition 2024 and the workspace forbids unsafe code).
//!
//! Cluster-env baselines ([`baselines`]): no-op, random, the Kubernetes-style reactive controller and the
//! expert runbook (agents/runbooks/default.toml); they read observations by feature name.
//!
//! PPO can start from the expert runbook ([`ppo::warm_start`], `PpoConfig::warm_start`): behaviour
//! cloning of its decisions (logits and value head), then PPO with a fading imitation term on its own
//! rollout states (kickstarting); [`teacher_agreement`] measures how often a policy takes the
//! teacher's decision on held-out teacher states.
//!
//! Tabular Q-learning on a discretised, size-independent cluster state: [`tabular`].
//!
//! Entity networks for cluster observations of any size: [`nn::entity`] (fast forward path and
//! `Policy`) and [`nn::entity_candle`] (minibatch forward for gradients). PPO trains one when the env's
//! observations are entity sets (`Ppo::for_env`, `PpoConfig::cluster_default`); `Ppo::export` writes
//! either network to a policy file ([`PolicyNet`]). DQN on entity networks: [`EntityDqn`] (Q-values = the
//! no-op score and the per-(entity, kind) scores; exported as Q-value entity policy files).
//!
//! Cluster comparison (baselines, tabular Q; paired seeds, 95 % CIs):
//! `cargo run --release -p mend-agents --example cluster`.

pub mod agent;
pub mod baselines;
pub mod checkpoint;
pub mod config_check;
pub mod distribution;
pub mod dqn;
pub mod error;
pub mod eval;
pub mod gae;
pub mod nn;
pub mod noop_first;
pub mod obs;
pub mod optim;
pub mod policy;
pub mod policy_file;
pub mod ppo;
pub mod replay_buffer;
pub mod rollout_buffer;
pub mod schedule;
pub mod store;
pub mod tabular;
pub mod teacher;

pub use agent::{Agent, MetricSink, NullSink, TrainSummary, VecSink};
pub use dqn::{Dqn, DqnConfig, EntityDqn};
pub use error::{AgentError, PolicyFileError};
pub use nn::entity::{EntityParams, EntityPolicy, EntitySpec};
pub use noop_first::{NoopFirstDecision, noop_first_decision};
pub use policy::{ActionScores, MlpPolicy, Policy, PolicyNet};
pub use policy_file::{FeatureSchema, Manifest, Monitoring, NetworkSpec, PolicyFile};
pub use ppo::warm_start::{
    Agreement, Teacher, WarmStartConfig, WarmStartReport, teacher_agreement,
};
pub use ppo::{Ppo, PpoConfig};
