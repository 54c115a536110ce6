//! [`NormalizeReward`]: rewards divided by the running standard deviation of a discounted return
//! (Gymnasium `wrappers/stateful_reward.py`, `NormalizeReward`: `G = G * gamma * (1 - terminated) + r`,
//! the statistic is updated with `G`, and `r / sqrt(var + epsilon)` is returned; the mean is not
//! subtracted, after openai/baselines#538). `G` is not reset by `reset`, as in Gymnasium.

use super::running_mean_std::RunningMeanStd;
use crate::env::{Action, Env, Info, Observation, Step};
use crate::error::EnvError;
use crate::spaces::Space;

/// Gymnasium's defaults: `gamma = 0.99`, `epsilon = 1e-8`.
pub const DEFAULT_GAMMA: f64 = 0.99;
/// Gymnasium's default epsilon for NormalizeReward.
pub const DEFAULT_EPSILON: f64 = 1e-8;

/// Scales rewards by the running std of the discounted return.
#[derive(Debug, Clone)]
pub struct NormalizeReward<E> {
    env: E,
    return_rms: RunningMeanStd,
    discounted_reward: f64,
    gamma: f64,
    epsilon: f64,
    update_running_mean: bool,
}

impl<E: Env> NormalizeReward<E> {
    /// Wraps `env` with `gamma` in `[0, 1]` and `epsilon > 0` (Gymnasium's bounds).
    pub fn new(env: E, gamma: f64, epsilon: f64) -> Result<Self, EnvError> {
        let bad = |field: &str, expected: &str| EnvError::InvalidConfig {
            env: format!("NormalizeReward({})", env.id()),
            field: field.into(),
            expected: expected.into(),
        };
        if !(0.0..=1.0).contains(&gamma) {
            return Err(bad("gamma", "a number in [0, 1]"));
        }
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(bad("epsilon", "a finite number > 0"));
        }
        Ok(Self {
            env,
            return_rms: RunningMeanStd::new(1),
            discounted_reward: 0.0,
            gamma,
            epsilon,
            update_running_mean: true,
        })
    }

    /// Freezes (`false`) or resumes (`true`) the statistic.
    pub fn set_update_running_mean(&mut self, update: bool) {
        self.update_running_mean = update;
    }

    /// The return statistic as `[count, mean, var]`.
    pub fn export_stats(&self) -> Vec<f64> {
        self.return_rms.to_vec()
    }

    /// Loads `[count, mean, var]` written by [`Self::export_stats`].
    pub fn import_stats(&mut self, stats: &[f64]) -> Result<(), EnvError> {
        self.return_rms =
            RunningMeanStd::from_slice(1, stats).map_err(|e| EnvError::InvalidConfig {
                env: format!("NormalizeReward({})", self.env.id()),
                field: "stats".into(),
                expected: e,
            })?;
        Ok(())
    }

    /// The current discounted return `G`.
    pub fn discounted_reward(&self) -> f64 {
        self.discounted_reward
    }
}

impl<E: Env> Env for NormalizeReward<E> {
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        self.env.reset(seed, options)
    }

    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        let not_done = if step.terminated { 0.0 } else { 1.0 };
        self.discounted_reward = self.discounted_reward * self.gamma * not_done + step.reward;
        if self.update_running_mean {
            self.return_rms
                .update_from_moments(&[self.discounted_reward], &[0.0], 1.0);
        }
        step.reward /= (self.return_rms.var[0] + self.epsilon).sqrt();
        Ok(step)
    }

    fn observation_space(&self) -> Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> Space {
        self.env.action_space()
    }
    fn action_mask(&self) -> Option<Vec<bool>> {
        self.env.action_mask()
    }
    fn id(&self) -> &str {
        self.env.id()
    }
    fn action_allowed(&self, action: Action) -> bool {
        self.env.action_allowed(action)
    }
}
