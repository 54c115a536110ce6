//! [`TimeLimit`]: truncates an episode after a fixed number of steps (Gymnasium
//! `wrappers/common.py`, `TimeLimit`: `truncated = elapsed_steps >= max_episode_steps`).

use crate::env::{Action, Env, Info, Observation, Step};
use crate::error::EnvError;
use crate::spaces::Space;

/// Sets `truncated` once `max_episode_steps` steps have been taken since the last reset.
#[derive(Debug, Clone)]
pub struct TimeLimit<E> {
    env: E,
    max_episode_steps: u64,
    elapsed_steps: Option<u64>,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `env`; `max_episode_steps` must be at least 1.
    pub fn new(env: E, max_episode_steps: u64) -> Result<Self, EnvError> {
        if max_episode_steps == 0 {
            return Err(EnvError::InvalidConfig {
                env: format!("TimeLimit({})", env.id()),
                field: "max_episode_steps".into(),
                expected: "at least 1".into(),
            });
        }
        Ok(Self {
            env,
            max_episode_steps,
            elapsed_steps: None,
        })
    }

    /// Steps taken since the last reset (`None` before the first reset).
    pub fn elapsed_steps(&self) -> Option<u64> {
        self.elapsed_steps
    }

    /// The step limit.
    pub fn max_episode_steps(&self) -> u64 {
        self.max_episode_steps
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.env
    }
}

impl<E: Env> Env for TimeLimit<E> {
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        let out = self.env.reset(seed, options)?;
        self.elapsed_steps = Some(0);
        Ok(out)
    }

    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        let elapsed = self.elapsed_steps.ok_or_else(|| EnvError::NotReset {
            env: self.env.id().to_owned(),
        })?;
        if elapsed >= self.max_episode_steps {
            return Err(EnvError::EpisodeOver {
                env: self.env.id().to_owned(),
            });
        }
        let mut step = self.env.step(action)?;
        self.elapsed_steps = Some(elapsed + 1);
        if elapsed + 1 >= self.max_episode_steps {
            step.truncated = true;
        }
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
