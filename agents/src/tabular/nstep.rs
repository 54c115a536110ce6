//! n-step Q-learning targets for [`TabularQ`] (Sutton & Barto 2018, §7.1 and §7.3 without importance
//! sampling, as Rainbow's multi-step DQN does: Hessel et al. 2018). Each sub-env keeps a queue of its
//! last `n_step` decisions; when the queue is full, the oldest decision's entry moves towards
//! `sum_{i<n} gamma^i * reward_scale * r_{t+i} + gamma^n * max_a Q(s_{t+n}, a)`. When the episode ends,
//! every queued decision is updated with the rewards left (bootstrapping from the final observation
//! on truncation, not on termination). With `n_step = 1` this is Watkins' one-step rule.

use std::collections::VecDeque;

use mend_envs::{Action, Observation};

use super::TabularQ;
use crate::error::AgentError;

/// One decision waiting for its n-step target.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    /// Global (no-op) bucket of the state.
    pub(crate) global: usize,
    /// Table entry of every entity action in the state.
    pub(crate) entries: Vec<usize>,
    /// The action taken.
    pub(crate) action: Action,
    /// The reward it received (unscaled).
    pub(crate) reward: f64,
}

/// Pending decisions of one sub-env, oldest first.
pub(crate) type Queue = VecDeque<Pending>;

impl TabularQ {
    /// Records `decision` (whose step led to `next`: the next observation and mask, or `None` on
    /// termination) and applies every update that is now due; `episode_end` flushes the queue.
    pub(crate) fn observe(
        &mut self,
        queue: &mut Queue,
        decision: Pending,
        next: Option<(&Observation, Option<&[bool]>)>,
        episode_end: bool,
    ) -> Result<(), AgentError> {
        queue.push_back(decision);
        if !episode_end && queue.len() < self.config.n_step {
            return Ok(());
        }
        self.settle(queue, next, episode_end)
    }

    /// Updates the oldest queued decision (all of them when `all`) with the queued rewards and a
    /// bootstrap from `next`. Called with `all` when training stops mid-episode, so that no
    /// experience is dropped.
    pub(crate) fn settle(
        &mut self,
        queue: &mut Queue,
        next: Option<(&Observation, Option<&[bool]>)>,
        all: bool,
    ) -> Result<(), AgentError> {
        let episode_end = all;
        let value = self.bootstrap(next)?;
        let (gamma, scale) = (self.config.gamma, self.config.reward_scale);
        loop {
            // Target of the oldest queued decision: its discounted rewards, then the bootstrap.
            let mut target = 0.0;
            let mut discount = 1.0;
            for p in queue.iter() {
                target += discount * scale * p.reward;
                discount *= gamma;
            }
            target += discount * value;
            let Some(oldest) = queue.pop_front() else {
                break;
            };
            self.update_entry(oldest.global, &oldest.entries, oldest.action, target)?;
            if !episode_end || queue.is_empty() {
                break;
            }
        }
        Ok(())
    }
}
