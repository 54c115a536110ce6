//! [`make`]: builds a registered env by id with the wrappers its registration implies, as Gymnasium's
//! `gymnasium.make` does (`gymnasium/envs/__init__.py` registers CartPole-v1 with
//! `max_episode_steps=500`).

use crate::cartpole::{CARTPOLE_ID, CartPole};
use crate::cluster::{CLUSTER_ID, ClusterConfig, ClusterEnv};
use crate::env::Env;
use crate::error::EnvError;
use crate::wrappers::TimeLimit;

/// CartPole-v1's registered step limit (Gymnasium: `max_episode_steps=500`).
pub const CARTPOLE_MAX_EPISODE_STEPS: u64 = 500;

/// Built-in scenario `make("mend/Cluster-v0")` uses (others: [`ClusterEnv::builtin`]).
pub const CLUSTER_DEFAULT_SCENARIO: &str = "default";

/// Ids [`make`] knows.
pub const REGISTERED_IDS: &[&str] = &[CARTPOLE_ID, CLUSTER_ID];

/// Builds the env registered under `id`: "CartPole-v1" (wrapped in `TimeLimit(500)`) or
/// "mend/Cluster-v0" (the `default` scenario, default config; its horizon truncates episodes).
pub fn make(id: &str) -> Result<Box<dyn Env>, EnvError> {
    match id {
        CARTPOLE_ID => Ok(Box::new(TimeLimit::new(
            CartPole::new(),
            CARTPOLE_MAX_EPISODE_STEPS,
        )?)),
        CLUSTER_ID => Ok(Box::new(ClusterEnv::builtin(
            CLUSTER_DEFAULT_SCENARIO,
            ClusterConfig::default(),
        )?)),
        _ => Err(EnvError::UnknownEnv {
            id: id.to_owned(),
            known: REGISTERED_IDS.join(", "),
        }),
    }
}
