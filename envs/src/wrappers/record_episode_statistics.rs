//! [`RecordEpisodeStatistics`]: at the end of each episode puts `info["episode"] = {"r": return,
//! "l": length}` and keeps the last returns and lengths (Gymnasium `wrappers/common.py`,
//! `RecordEpisodeStatistics`, `buffer_length=100`). Gymnasium's `"t"` (wall-clock seconds) is left
//! out on purpose: envs read no wall clock, so infos stay deterministic.

use std::collections::VecDeque;

use crate::env::{Action, Env, Info, Observation, Step};
use crate::error::EnvError;
use crate::spaces::Space;

/// Gymnasium's default number of episodes kept in the queues.
pub const DEFAULT_BUFFER_LENGTH: usize = 100;

/// Records each episode's return and length.
#[derive(Debug, Clone)]
pub struct RecordEpisodeStatistics<E> {
    env: E,
    episode_return: f64,
    episode_length: u64,
    episode_count: u64,
    buffer_length: usize,
    return_queue: VecDeque<f64>,
    length_queue: VecDeque<u64>,
}

impl<E: Env> RecordEpisodeStatistics<E> {
    /// Wraps `env`, keeping the last [`DEFAULT_BUFFER_LENGTH`] episodes.
    pub fn new(env: E) -> Self {
        Self::with_buffer_length(env, DEFAULT_BUFFER_LENGTH)
    }

    /// Wraps `env`, keeping the last `buffer_length` episodes.
    pub fn with_buffer_length(env: E, buffer_length: usize) -> Self {
        Self {
            env,
            episode_return: 0.0,
            episode_length: 0,
            episode_count: 0,
            buffer_length,
            return_queue: VecDeque::with_capacity(buffer_length),
            length_queue: VecDeque::with_capacity(buffer_length),
        }
    }

    /// Episodes finished so far.
    pub fn episode_count(&self) -> u64 {
        self.episode_count
    }

    /// Returns of the last finished episodes, oldest first.
    pub fn return_queue(&self) -> &VecDeque<f64> {
        &self.return_queue
    }

    /// Lengths of the last finished episodes, oldest first.
    pub fn length_queue(&self) -> &VecDeque<u64> {
        &self.length_queue
    }
}

impl<E: Env> Env for RecordEpisodeStatistics<E> {
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        let out = self.env.reset(seed, options)?;
        self.episode_return = 0.0;
        self.episode_length = 0;
        Ok(out)
    }

    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        self.episode_return += step.reward;
        self.episode_length += 1;
        if step.terminated || step.truncated {
            step.info.insert(
                "episode".into(),
                serde_json::json!({"r": self.episode_return, "l": self.episode_length}),
            );
            if self.buffer_length > 0 {
                if self.return_queue.len() == self.buffer_length {
                    self.return_queue.pop_front();
                    self.length_queue.pop_front();
                }
                self.return_queue.push_back(self.episode_return);
                self.length_queue.push_back(self.episode_length);
            }
            self.episode_count += 1;
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
