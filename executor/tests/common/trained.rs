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
        FeatureSchema::entities_v1(),
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
