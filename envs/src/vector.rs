//! Vector envs (Gymnasium 1.1+ `gymnasium/vector/`): many copies of one env stepped together, with an
//! explicit [`AutoresetMode`]. [`SyncVectorEnv`] steps sub-envs in order; [`ParallelVectorEnv`] steps
//! them on rayon threads or on persistent worker threads of its own ([`worker`]). Both share the per-sub-env logic in [`slot`], so their results are
//! identical whatever the thread count.

mod parallel;
mod slot;
mod stats;
mod sync;
mod worker;

pub use parallel::ParallelVectorEnv;
pub use stats::{CrewStats, ThreadStats};
pub use sync::SyncVectorEnv;

use crate::env::{Action, Info, Observation};
use crate::error::EnvError;
use crate::spaces::Space;

/// What a vector env does when a sub-env's episode ends (Gymnasium 1.1 `AutoresetMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AutoresetMode {
    /// The step *after* a done resets that sub-env: it returns the reset observation, reward 0,
    /// terminated = truncated = false, and the reset info; the action passed for it is ignored.
    /// Gymnasium's default.
    #[default]
    NextStep,
    /// The sub-env resets in the step that ends it: the returned observation is the reset one, the
    /// final observation is in `info["final_obs"]` and the final step's info in `info["final_info"]`.
    SameStep,
    /// No automatic reset: the caller resets finished sub-envs with `reset_where`; stepping a finished
    /// sub-env is an error.
    Disabled,
}

/// The result of one [`VectorEnv::step`]: one entry per sub-env, in sub-env order.
#[derive(Clone, Debug)]
pub struct VecStep {
    /// Observations.
    pub obs: Vec<Observation>,
    /// Rewards.
    pub rewards: Vec<f64>,
    /// Terminated flags.
    pub terminated: Vec<bool>,
    /// Truncated flags.
    pub truncated: Vec<bool>,
    /// Infos.
    pub infos: Vec<Info>,
}

/// Several copies of one env, stepped together.
pub trait VectorEnv: Send {
    /// Number of sub-envs.
    fn num_envs(&self) -> usize;

    /// Resets every sub-env; with `Some(seed)` sub-env `i` gets `seed + i` (Gymnasium), with `None`
    /// each keeps its generator.
    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<Observation>, Vec<Info>), EnvError>;

    /// Resets only the sub-envs where `mask[i]` is true (Gymnasium's `options={"reset_mask": ..}`),
    /// sub-env `i` with `seed + i` when a seed is given. Observations and infos of the others are
    /// returned as empty `Vector`s / empty infos. Needed with [`AutoresetMode::Disabled`].
    fn reset_where(
        &mut self,
        mask: &[bool],
        seed: Option<u64>,
    ) -> Result<(Vec<Observation>, Vec<Info>), EnvError>;

    /// Steps every sub-env with its action (one per sub-env).
    fn step(&mut self, actions: &[Action]) -> Result<VecStep, EnvError>;

    /// Each sub-env's action mask now.
    fn action_masks(&self) -> Vec<Option<Vec<bool>>>;

    /// Observation space of one sub-env.
    fn single_observation_space(&self) -> Space;

    /// Action space of one sub-env.
    fn single_action_space(&self) -> Space;

    /// The autoreset mode.
    fn autoreset_mode(&self) -> AutoresetMode;
}
