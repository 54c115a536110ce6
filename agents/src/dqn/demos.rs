//! Demonstrations for DQfD: the teacher's recorded transitions ([`crate::teacher::TeacherData`])
//! turned into replayable entity transitions with their one-step and n-step bootstraps, kept apart
//! from the agent's replay buffer so they are never overwritten (Hester et al. 2018, "Deep
//! Q-learning from Demonstrations", AAAI, §3: "the demonstration data is kept permanently in the
//! replay buffer").
//!
//! Owns [`n_step_bootstrap`] (the discounted return of up to `n` steps of one episode of a step-major
//! rollout and where it bootstraps: nowhere after a termination, the final observation after a
//! truncation, else the observation `n` steps on), [`Demos`] (the store, uniform sampling with the
//! caller's RNG) and [`DemoBatch`].

use std::collections::BTreeMap;
use std::sync::Arc;

use mend_envs::{EntityObs, Observation};
use rand::Rng;

use crate::error::AgentError;
use crate::nn::entity_candle::EntityBatch;
use crate::ppo::nets::as_entities;
use crate::teacher::TeacherData;

/// Where a multi-step return continues, for transition `i` of a step-major rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextState {
    /// The episode terminated within the window: no bootstrap.
    None,
    /// The episode was truncated at this index: bootstrap from its final observation.
    Final(usize),
    /// Bootstrap from the observation recorded at this index.
    Obs(usize),
    /// The window runs past the recording: bootstrap from this env's last observation.
    Last(usize),
}

/// `(R, next, discount)` for transition `i` of a step-major rollout (`index = step * num_envs +
/// env`): `R = sum_{k<m} gamma^k r_{i + k num_envs}` over the `m <= n` steps until the window ends or
/// the episode does, and the target is `R + discount * Q(next)` with `discount = gamma^m` (0 after
/// a termination). DQfD's n-step return (Hester et al. 2018, eq. 2 with n = 10) with truncation
/// bootstrapped as SB3 does (`handle_timeout_termination`).
pub fn n_step_bootstrap(
    rewards: &[f32],
    terminated: &[bool],
    truncated: &[bool],
    num_envs: usize,
    i: usize,
    n: usize,
    gamma: f32,
) -> (f32, NextState, f32) {
    let mut ret = 0.0f32;
    let mut discount = 1.0f32;
    let mut j = i;
    for _ in 0..n.max(1) {
        ret += discount * rewards[j];
        discount *= gamma;
        if terminated[j] {
            return (ret, NextState::None, 0.0);
        }
        if truncated[j] {
            return (ret, NextState::Final(j), discount);
        }
        if j + num_envs >= rewards.len() {
            return (ret, NextState::Last(i % num_envs), discount);
        }
        j += num_envs;
    }
    (ret, NextState::Obs(j), discount)
}

/// An observation to bootstrap from and its valid actions (`None`: all).
pub type NextObs = (Arc<EntityObs>, Option<Arc<[bool]>>);

/// A return and where it bootstraps.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    /// Discounted reward sum over the window (scaled rewards).
    pub ret: f32,
    /// Observation to bootstrap from and its valid actions (`None`: all), or nothing after a
    /// termination.
    pub next: Option<NextObs>,
    /// `gamma^m` for a window of `m` steps (0 after a termination).
    pub discount: f32,
}

/// One demonstration.
#[derive(Clone, Debug)]
pub struct DemoTransition {
    /// Observation the teacher acted on.
    pub obs: Arc<EntityObs>,
    /// Valid actions there (`None`: all).
    pub mask: Option<Arc<[bool]>>,
    /// The teacher's action.
    pub action: usize,
    /// One-step target data.
    pub one_step: Bootstrap,
    /// n-step target data.
    pub n_step: Bootstrap,
}

/// A sampled minibatch of demonstrations.
#[derive(Clone, Debug)]
pub struct DemoBatch {
    /// The sampled transitions, in draw order.
    pub items: Vec<DemoTransition>,
}

impl DemoBatch {
    /// The observations as one entity minibatch.
    pub fn obs(&self, row_width: usize, global_width: usize) -> EntityBatch {
        let mut b = EntityBatch::new(row_width, global_width);
        for t in &self.items {
            b.push(&t.obs);
        }
        b
    }
}

/// The teacher's transitions, never overwritten.
#[derive(Clone, Debug, Default)]
pub struct Demos {
    items: Vec<DemoTransition>,
    act_share: f64,
}

impl Demos {
    /// Demonstrations from a recorded teacher rollout (consumed: the observations move into shared
    /// storage), with n-step windows of `n_step` and discount `gamma`.
    pub fn from_teacher(data: TeacherData, n_step: usize, gamma: f32) -> Result<Self, AgentError> {
        let len = data.len();
        let num_envs = data.num_envs.max(1);
        let n_actions = data.masks.len() / len.max(1);
        let act_share = data.act_share();
        let arc = |o: &Observation| -> Result<Arc<EntityObs>, AgentError> {
            Ok(Arc::new(as_entities(o)?.clone()))
        };
        let obs: Vec<Arc<EntityObs>> = data.obs.iter().map(arc).collect::<Result<_, _>>()?;
        let finals: BTreeMap<usize, Arc<EntityObs>> = data
            .final_obs
            .iter()
            .map(|(i, o)| Ok((*i, arc(o)?)))
            .collect::<Result<_, AgentError>>()?;
        let last: Vec<Arc<EntityObs>> = data.last_obs.iter().map(arc).collect::<Result<_, _>>()?;
        let masks: Vec<Option<Arc<[bool]>>> = (0..len)
            .map(|i| {
                data.any_masked
                    .then(|| Arc::from(&data.masks[i * n_actions..(i + 1) * n_actions]))
            })
            .collect();
        let resolve =
            |(ret, next, discount): (f32, NextState, f32)| -> Result<Bootstrap, AgentError> {
                let next = match next {
                    NextState::None => None,
                    NextState::Final(j) => Some((
                        finals
                            .get(&j)
                            .cloned()
                            .ok_or_else(|| AgentError::ObservationMismatch {
                                expected: "a final observation at every truncated step".into(),
                                got: format!("none at transition {j}"),
                            })?,
                        None,
                    )),
                    NextState::Obs(j) => Some((Arc::clone(&obs[j]), masks[j].clone())),
                    NextState::Last(e) => Some((Arc::clone(&last[e]), None)),
                };
                Ok(Bootstrap {
                    ret,
                    next,
                    discount,
                })
            };
        let (r, term, trunc) = (&data.rewards, &data.terminated, &data.truncated);
        let items = (0..len)
            .map(|i| {
                Ok(DemoTransition {
                    obs: Arc::clone(&obs[i]),
                    mask: masks[i].clone(),
                    action: data.actions[i],
                    one_step: resolve(n_step_bootstrap(r, term, trunc, num_envs, i, 1, gamma))?,
                    n_step: resolve(n_step_bootstrap(r, term, trunc, num_envs, i, n_step, gamma))?,
                })
            })
            .collect::<Result<_, AgentError>>()?;
        Ok(Self { items, act_share })
    }

    /// Number of demonstrations.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Share of demonstrations where the teacher acted.
    pub fn act_share(&self) -> f64 {
        self.act_share
    }

    /// Every demonstration, in recording order.
    pub fn items(&self) -> &[DemoTransition] {
        &self.items
    }

    /// `count` demonstrations drawn uniformly with replacement (none if the store is empty).
    pub fn sample(&self, count: usize, rng: &mut impl Rng) -> DemoBatch {
        let items = if self.items.is_empty() {
            Vec::new()
        } else {
            (0..count)
                .map(|_| self.items[rng.random_range(0..self.items.len())].clone())
                .collect()
        };
        DemoBatch { items }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_step_returns_stop_at_episode_ends_and_bootstrap_as_worked_out_by_hand() {
        // 2 envs, 4 steps, step-major: env 0 at indices 0, 2, 4, 6; env 1 at 1, 3, 5, 7.
        // env 0: rewards 1, 2, 3, 4, terminated at step 2 (index 4).
        // env 1: rewards 10, 20, 30, 40, truncated at step 1 (index 3).
        let rewards = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
        let mut terminated = [false; 8];
        let mut truncated = [false; 8];
        terminated[4] = true;
        truncated[3] = true;
        let g = 0.5f32;
        let nsb = |i, n| n_step_bootstrap(&rewards, &terminated, &truncated, 2, i, n, g);
        // env 0 from step 0, n = 2: 1 + 0.5 * 2 = 2, bootstrap from index 4 with 0.25.
        assert_eq!(nsb(0, 2), (2.0, NextState::Obs(4), 0.25));
        // n = 3 reaches the termination: 1 + 1 + 0.75 = 2.75, no bootstrap.
        assert_eq!(nsb(0, 3), (2.75, NextState::None, 0.0));
        // env 1 from step 0, n = 10: 10 + 0.5 * 20 = 20, truncated at index 3 -> its final obs.
        assert_eq!(nsb(1, 10), (20.0, NextState::Final(3), 0.25));
        // env 1 from step 2 (index 5), n = 10: 30 + 0.5 * 40 = 50, runs past the recording.
        assert_eq!(nsb(5, 10), (50.0, NextState::Last(1), 0.25));
        // one step: r + gamma Q(next obs).
        assert_eq!(nsb(2, 1), (2.0, NextState::Obs(4), 0.5));
    }
}
