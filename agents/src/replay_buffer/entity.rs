//! Replay storage for entity-set observations (the cluster env), whose number of rows, and so of
//! actions, varies from step to step. Each observation is kept once behind an [`Arc`]: the `next_obs`
//! of one transition is the `obs` of the next one from the same env, which halves the memory of a
//! buffer of whole entity sets. Sampling is SB3's (uniform with replacement, from the caller's RNG).

use std::sync::Arc;

use mend_envs::EntityObs;
use rand::Rng;

use crate::nn::entity_candle::EntityBatch;

/// One stored transition.
#[derive(Clone, Debug)]
pub struct EntityTransition {
    /// Observation acted on.
    pub obs: Arc<EntityObs>,
    /// Observation after the action (the final observation when the episode ended).
    pub next_obs: Arc<EntityObs>,
    /// Flat action taken (`0` = no-op, `1 + entity * n_kinds + kind`).
    pub action: usize,
    /// Reward received (already scaled).
    pub reward: f32,
    /// True end of episode (no bootstrap). A truncation is not a termination.
    pub terminated: bool,
    /// Valid actions in `next_obs` (`None` = all of its `1 + rows * n_kinds`).
    pub next_mask: Option<Arc<[bool]>>,
}

/// A sampled minibatch.
#[derive(Clone, Debug)]
pub struct EntityReplayBatch {
    /// Observations acted on.
    pub obs: EntityBatch,
    /// Next observations.
    pub next_obs: EntityBatch,
    /// Actions, `batch`.
    pub actions: Vec<usize>,
    /// Rewards, `batch`.
    pub rewards: Vec<f32>,
    /// Terminated flags, `batch`.
    pub terminated: Vec<bool>,
    /// Valid actions of each next observation.
    pub next_masks: Vec<Option<Arc<[bool]>>>,
}

/// Fixed-capacity circular store of entity transitions.
#[derive(Clone, Debug)]
pub struct EntityReplayBuffer {
    capacity: usize,
    row_width: usize,
    global_width: usize,
    pos: usize,
    items: Vec<EntityTransition>,
}

impl EntityReplayBuffer {
    /// An empty buffer for `capacity` transitions (positive) of observations with the given widths.
    pub fn new(capacity: usize, row_width: usize, global_width: usize) -> Self {
        Self {
            capacity,
            row_width,
            global_width,
            pos: 0,
            items: Vec::new(),
        }
    }

    /// Transitions stored (at most the capacity).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Stores `t`, overwriting the oldest transition when full.
    pub fn add(&mut self, t: EntityTransition) {
        if self.items.len() < self.capacity {
            self.items.push(t);
        } else {
            self.items[self.pos] = t;
        }
        self.pos = (self.pos + 1) % self.capacity;
    }

    /// `batch_size` transitions drawn uniformly with replacement. The buffer must not be empty.
    pub fn sample(&self, batch_size: usize, rng: &mut impl Rng) -> EntityReplayBatch {
        let mut b = EntityReplayBatch {
            obs: EntityBatch::new(self.row_width, self.global_width),
            next_obs: EntityBatch::new(self.row_width, self.global_width),
            actions: Vec::with_capacity(batch_size),
            rewards: Vec::with_capacity(batch_size),
            terminated: Vec::with_capacity(batch_size),
            next_masks: Vec::with_capacity(batch_size),
        };
        for _ in 0..batch_size {
            let t = &self.items[rng.random_range(0..self.items.len())];
            b.obs.push(&t.obs);
            b.next_obs.push(&t.next_obs);
            b.actions.push(t.action);
            b.rewards.push(t.reward);
            b.terminated.push(t.terminated);
            b.next_masks.push(t.next_mask.clone());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn obs(n_rows: usize, value: f32) -> Arc<EntityObs> {
        Arc::new(EntityObs {
            global: vec![value],
            width: 2,
            rows: vec![value; 2 * n_rows],
        })
    }

    #[test]
    fn stores_sets_of_any_size_overwrites_the_oldest_and_batches_rows_in_order() {
        let mut buf = EntityReplayBuffer::new(3, 2, 1);
        for k in 0..5usize {
            buf.add(EntityTransition {
                obs: obs(k + 1, k as f32),
                next_obs: obs(k + 2, k as f32 + 0.5),
                action: k,
                reward: k as f32,
                terminated: k == 4,
                next_mask: None,
            });
        }
        assert_eq!(buf.len(), 3);
        let batch = buf.sample(100, &mut ChaCha8Rng::seed_from_u64(1));
        let mut seen = batch.actions.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, vec![2, 3, 4], "only the three newest remain");
        // Each observation's rows sit where its count says, with the values it was stored with.
        let mut first = 0;
        for (i, &n) in batch.obs.counts.iter().enumerate() {
            let k = batch.actions[i];
            assert_eq!(n, k + 1);
            assert_eq!(batch.next_obs.counts[i], k + 2);
            assert!(
                batch.obs.rows[first * 2..(first + n) * 2]
                    .iter()
                    .all(|&x| x == k as f32)
            );
            assert_eq!(batch.obs.global[i], k as f32);
            assert_eq!(batch.terminated[i], k == 4);
            first += n;
        }
    }
}
