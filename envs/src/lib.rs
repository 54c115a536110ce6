//! Gymnasium-style environments for `mend`: the [`Env`] contract, [`spaces`], wrappers, vector envs,
//! the env checker, the cluster environment and CartPole-v1.
//!
//! ```text
//!   agents ──> Env / VectorEnv (this crate's contract) ──> CartPole, cluster env (over sim + monitor)
//!                      │
//!                      └── wrappers (TimeLimit, RecordEpisodeStatistics, Normalize*) wrap any Env
//! ```
//! Semantics follow Gymnasium 1.x (`gymnasium/core.py`, `gymnasium/vector/`, `gymnasium/spaces/`).

pub mod cartpole;
pub mod checker;
pub mod cluster;
pub mod env;
pub mod error;
pub mod registry;
pub mod spaces;
pub mod vector;
pub mod wrappers;

pub use cartpole::CartPole;
pub use checker::{CheckConfig, CheckError, CheckReport, check_env, check_env_with};
pub use cluster::{ClusterAction, ClusterConfig, ClusterEnv, MaskedActionPolicy};
pub use env::{Action, EntityObs, Env, Info, Observation, Step};
pub use error::EnvError;
pub use registry::make;
pub use spaces::{BoxSpace, Discrete, EntitySet, MultiDiscrete, Space};
pub use vector::{
    AutoresetMode, CrewStats, ParallelVectorEnv, SyncVectorEnv, ThreadStats, VecStep, VectorEnv,
};
