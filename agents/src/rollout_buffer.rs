//! SB3's `RolloutBuffer`: one PPO rollout of `num_steps` steps of `num_envs` envs, stored step-major
//! (`index = step * num_envs + env`), as CleanRL's `(num_steps, num_envs)` tensors. Vector observations
//! go to `obs`; entity observations (the cluster env, any number of rows) to `entity_obs`.

use mend_envs::EntityObs;

/// On-policy storage for one rollout.
#[derive(Clone, Debug, Default)]
pub struct RolloutBuffer {
    /// Steps per env per rollout.
    pub num_steps: usize,
    /// Parallel envs.
    pub num_envs: usize,
    /// Observation length.
    pub obs_dim: usize,
    /// Action count.
    pub n_actions: usize,
    /// Observations acted on, `(T*N) x obs_dim`.
    pub obs: Vec<f32>,
    /// Entity observations acted on (entity-network agents; empty otherwise).
    pub entity_obs: Vec<EntityObs>,
    /// Actions taken.
    pub actions: Vec<usize>,
    /// Log-probabilities of the actions under the rollout policy.
    pub logprobs: Vec<f32>,
    /// Value estimates of the observations.
    pub values: Vec<f32>,
    /// Rewards received.
    pub rewards: Vec<f32>,
    /// Terminated flags.
    pub terminated: Vec<bool>,
    /// Truncated flags.
    pub truncated: Vec<bool>,
    /// `V(final_obs)` on truncated steps, else 0.
    pub final_values: Vec<f32>,
    /// Valid-action masks, `(T*N) x n_actions` (all true where the env gave none).
    pub masks: Vec<bool>,
    /// Whether any step had a mask with an invalid action (so the update must apply masks).
    pub any_masked: bool,
}

impl RolloutBuffer {
    /// An empty buffer with room for one rollout.
    pub fn new(num_steps: usize, num_envs: usize, obs_dim: usize, n_actions: usize) -> Self {
        let n = num_steps * num_envs;
        Self {
            num_steps,
            num_envs,
            obs_dim,
            n_actions,
            obs: Vec::with_capacity(n * obs_dim),
            entity_obs: Vec::new(),
            actions: Vec::with_capacity(n),
            logprobs: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
            rewards: Vec::with_capacity(n),
            terminated: Vec::with_capacity(n),
            truncated: Vec::with_capacity(n),
            final_values: Vec::with_capacity(n),
            masks: Vec::with_capacity(n * n_actions),
            any_masked: false,
        }
    }

    /// Empties the buffer, keeping its allocations.
    pub fn clear(&mut self) {
        self.obs.clear();
        self.entity_obs.clear();
        self.actions.clear();
        self.logprobs.clear();
        self.values.clear();
        self.rewards.clear();
        self.terminated.clear();
        self.truncated.clear();
        self.final_values.clear();
        self.masks.clear();
        self.any_masked = false;
    }

    /// Number of transitions stored.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}
