//! SB3's `ReplayBuffer`: a circular store of transitions for off-policy learning, sampled uniformly with
//! replacement from the caller's seeded RNG (as SB3's `np.random.randint(0, upper_bound, batch_size)`).
//! [`entity`] holds the same for entity-set observations, whose sizes vary.

pub mod entity;

use rand::Rng;

/// One transition.
#[derive(Clone, Copy, Debug)]
pub struct Transition<'a> {
    /// Observation acted on.
    pub obs: &'a [f32],
    /// Observation after the action (the final observation when the episode ended).
    pub next_obs: &'a [f32],
    /// Action taken.
    pub action: usize,
    /// Reward received.
    pub reward: f32,
    /// True end of episode (no bootstrap). A truncation is not a termination.
    pub terminated: bool,
    /// Valid actions in `next_obs` (`None` = all).
    pub next_mask: Option<&'a [bool]>,
}

/// A sampled minibatch, row-major.
#[derive(Clone, Debug, Default)]
pub struct ReplayBatch {
    /// `batch x obs_dim`.
    pub obs: Vec<f32>,
    /// `batch x obs_dim`.
    pub next_obs: Vec<f32>,
    /// `batch`.
    pub actions: Vec<usize>,
    /// `batch`.
    pub rewards: Vec<f32>,
    /// `batch`.
    pub terminated: Vec<bool>,
    /// `batch x n_actions`.
    pub next_masks: Vec<bool>,
}

/// Fixed-capacity circular transition store.
#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    capacity: usize,
    obs_dim: usize,
    n_actions: usize,
    pos: usize,
    len: usize,
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    actions: Vec<usize>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    next_masks: Vec<bool>,
}

impl ReplayBuffer {
    /// An empty buffer for `capacity` transitions (capacity must be positive).
    pub fn new(capacity: usize, obs_dim: usize, n_actions: usize) -> Self {
        Self {
            capacity,
            obs_dim,
            n_actions,
            pos: 0,
            len: 0,
            obs: vec![0.0; capacity * obs_dim],
            next_obs: vec![0.0; capacity * obs_dim],
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            terminated: vec![false; capacity],
            next_masks: vec![true; capacity * n_actions],
        }
    }

    /// Transitions stored (at most the capacity).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `t`, overwriting the oldest transition when full.
    pub fn add(&mut self, t: Transition<'_>) {
        let (d, p) = (self.obs_dim, self.pos);
        self.obs[p * d..(p + 1) * d].copy_from_slice(t.obs);
        self.next_obs[p * d..(p + 1) * d].copy_from_slice(t.next_obs);
        self.actions[p] = t.action;
        self.rewards[p] = t.reward;
        self.terminated[p] = t.terminated;
        let masks = &mut self.next_masks[p * self.n_actions..(p + 1) * self.n_actions];
        match t.next_mask {
            Some(m) => masks.copy_from_slice(m),
            None => masks.fill(true),
        }
        self.pos = (self.pos + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// The transition stored at slot `i` (insertion order until the buffer wraps): `(obs, next_obs,
    /// terminated)`, for tests that check what the training loop stores.
    #[cfg(test)]
    pub(crate) fn stored(&self, i: usize) -> (&[f32], &[f32], bool) {
        let d = self.obs_dim;
        (
            &self.obs[i * d..(i + 1) * d],
            &self.next_obs[i * d..(i + 1) * d],
            self.terminated[i],
        )
    }

    /// `batch_size` transitions drawn uniformly with replacement. The buffer must not be empty.
    pub fn sample(&self, batch_size: usize, rng: &mut impl Rng) -> ReplayBatch {
        let indices: Vec<usize> = (0..batch_size)
            .map(|_| rng.random_range(0..self.len))
            .collect();
        self.batch_at(&indices)
    }

    /// The transitions at slots `indices`, in that order (SB3's `_get_samples(batch_inds)`; the
    /// lock-step test replays SB3's own indices through it). Every index must be below [`Self::len`].
    ///
    /// # Panics
    /// If an index is not below the number of stored transitions.
    pub fn batch_at(&self, indices: &[usize]) -> ReplayBatch {
        let (d, na) = (self.obs_dim, self.n_actions);
        let mut b = ReplayBatch::default();
        for &i in indices {
            assert!(i < self.len, "replay index {i} >= {} stored", self.len);
            b.obs.extend_from_slice(&self.obs[i * d..(i + 1) * d]);
            b.next_obs
                .extend_from_slice(&self.next_obs[i * d..(i + 1) * d]);
            b.actions.push(self.actions[i]);
            b.rewards.push(self.rewards[i]);
            b.terminated.push(self.terminated[i]);
            b.next_masks
                .extend_from_slice(&self.next_masks[i * na..(i + 1) * na]);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn circular_buffer_overwrites_oldest_and_samples_only_stored() {
        let mut buf = ReplayBuffer::new(3, 1, 2);
        for k in 0..5 {
            let o = [k as f32];
            buf.add(Transition {
                obs: &o,
                next_obs: &o,
                action: k % 2,
                reward: k as f32,
                terminated: false,
                next_mask: None,
            });
        }
        assert_eq!(buf.len(), 3);
        let batch = buf.sample(200, &mut ChaCha8Rng::seed_from_u64(1));
        let mut seen: Vec<f32> = batch.rewards.clone();
        seen.sort_by(f32::total_cmp);
        seen.dedup();
        assert_eq!(seen, vec![2.0, 3.0, 4.0]);
        assert!(batch.obs.iter().zip(&batch.rewards).all(|(o, r)| o == r));
    }
}
