//! A small entity PPO policy trained on the `tiny` scenario through the agents crate's API and
//! exported as a real policy file, for the end-to-end test with a trained policy and the
//! per-fault figures (`executor/examples/fault_figures.rs`). Small budget: the policy need not be
//! good, the pipeline must run with a real exported file. Training uses the simulator (through
//! the cluster env), which the executor library never does: this lives in tests and examples only.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::path::Path;

use mend_agents::policy_file::TrainingInfo;
use mend_agents::{Agent, FeatureSchema, NullSink, PolicyFile, Ppo, PpoConfig};
use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, SyncVectorEnv};
use mend_executor::decide::SIM_ACTION_KINDS;

/// Trains entity PPO on `tiny` for `steps` environment steps (4 envs x 64 steps per rollout,
/// hidden width 32, the agents crate's cluster defaults otherwise) with `seed`, and saves the
/// exported policy file to `path`.
pub fn train_tiny_policy(path: &Path, seed: u64, steps: u64) -> PolicyFile {
    let envs = (0..4)
        .map(|_| {
            Box::new(ClusterEnv::builtin("tiny", ClusterConfig::default()).expect("tiny scenario"))
                as Box<dyn Env>
        })
        .collect();
    let mut env = SyncVectorEnv::new(envs, AutoresetMode::SameStep).expect("vector env");
    let config = PpoConfig {
        total_timesteps: steps,
        num_envs: 4,
        num_steps: 64,
        num_minibatches: 4,
        update_epochs: 2,
        hidden: vec![32],
        ..PpoConfig::cluster_default(seed)
    };
    let mut agent = Ppo::for_env(config, &env).expect("entity PPO for the cluster env");
    let summary = agent
        .learn(&mut env, steps, &mut NullSink)
        .expect("training");
    let file = agent.export(
        FeatureSchema::builtin_entities(),
        SIM_ACTION_KINDS.iter().map(|k| (*k).to_owned()).collect(),
        TrainingInfo {
            env_id: "mend/Cluster-v0".into(),
            scenario_family: Some("tiny".into()),
            seed,
            summary,
            config: serde_json::to_value(agent.config()).expect("config as JSON"),
        },
    );
    file.save(path).expect("save the policy file");
    file
}

/// The drill-shaped training scenario of the fixture policy (`tests/fixtures/policy/`).
pub const DRILL_LIKE: &str = include_str!("../fixtures/policy/drill-like.toml");

/// The warm start's teacher of the fixture policy since session 7: a runbook on the drill-like
/// world's time scale, acting on the first observation (`fixtures/policy/drill-runbook.toml`).
pub const DRILL_RUNBOOK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/policy/drill-runbook.toml"
);

/// How the fixture policy is trained ([`train_drill_like_policy`]).
#[derive(Debug, Clone)]
pub struct DrillTraining {
    /// Training seed.
    pub seed: u64,
    /// PPO environment steps after the warm start.
    pub ppo_steps: u64,
    /// Teacher (runbook) transitions of the warm start.
    pub teacher_steps: u64,
    /// The warm start's weight of an acting transition relative to a no-op (`act_weight`).
    pub act_weight: f64,
    /// The warm start's teacher (`WarmStartConfig::teacher`): `"runbook"` (the shipped file, the
    /// teacher until session 7) or a runbook file's path ([`DRILL_RUNBOOK`] by default).
    pub teacher: String,
}

impl Default for DrillTraining {
    /// Seed 0, 16,384 PPO steps after 11,520 teacher steps, `act_weight` 6 (as the paper study's,
    /// `experiments/paper.toml`), the teacher [`DRILL_RUNBOOK`], the warm start of the README's
    /// `default` command otherwise (12 epochs at 2e-3, `bc_coef` 0.5 fading over 16,384 steps; PPO learning
    /// rate 1e-3, initial act probability 0.05).
    fn default() -> Self {
        DrillTraining {
            seed: 0,
            ppo_steps: 16_384,
            teacher_steps: 11_520,
            act_weight: 6.0,
            teacher: DRILL_RUNBOOK.to_owned(),
        }
    }
}

/// Trains entity PPO, warm-started from `t.teacher`, on [`DRILL_LIKE`] (8 envs) and saves the
/// exported policy file (scenario family `drill-like`) to `path`.
pub fn train_drill_like_policy(path: &Path, t: &DrillTraining) -> PolicyFile {
    use mend_agents::ppo::WarmStartConfig;
    let scenario = std::sync::Arc::new(
        mend_sim::Scenario::from_toml_str(DRILL_LIKE, "tests/fixtures/policy/drill-like.toml")
            .expect("the drill-like scenario validates"),
    );
    let envs = (0..8)
        .map(|_| {
            Box::new(ClusterEnv::new(scenario.clone(), ClusterConfig::default()).expect("env"))
                as Box<dyn Env>
        })
        .collect();
    let mut env = SyncVectorEnv::new(envs, AutoresetMode::SameStep).expect("vector env");
    let config = PpoConfig {
        total_timesteps: t.ppo_steps,
        learning_rate: 1e-3,
        init_act_prob: Some(0.05),
        warm_start: Some(WarmStartConfig {
            steps: t.teacher_steps,
            epochs: 12,
            learning_rate: 2e-3,
            act_weight: t.act_weight,
            bc_coef: 0.5,
            bc_decay_steps: 16_384,
            teacher: t.teacher.clone(),
            ..WarmStartConfig::default()
        }),
        ..PpoConfig::cluster_default(t.seed)
    };
    let mut agent = Ppo::for_env(config, &env).expect("entity PPO for the cluster env");
    let summary = agent
        .learn(&mut env, t.ppo_steps, &mut NullSink)
        .expect("training");
    let file = agent.export(
        FeatureSchema::builtin_entities(),
        SIM_ACTION_KINDS.iter().map(|k| (*k).to_owned()).collect(),
        TrainingInfo {
            env_id: "mend/Cluster-v0".into(),
            scenario_family: Some("drill-like".into()),
            seed: t.seed,
            summary,
            config: serde_json::to_value(agent.config()).expect("config as JSON"),
        },
    );
    file.save(path).expect("save the policy file");
    file
}
