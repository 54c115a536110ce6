//! Training never meets an evaluation episode: [`TrainingSeeds`] wraps a training vector env and
//! maps every reset seed the agent asks for into its own range (top bit set, mixed with the run's
//! training seed), while evaluation seeds must lie below 2^63 (checked when an experiment loads).
//!
//! Agents reset their env with `agent seed + steps so far` (`mend_agents::Agent::learn`), which
//! for a training seed of 0 would reach evaluation seed 1000 after 1000 steps; the wrapper makes the
//! two sets disjoint whatever the numbers.

use mend_envs::{Action, AutoresetMode, EnvError, Info, Observation, Space, VecStep, VectorEnv};

use super::episode::fnv1a;

/// Bit set in every training episode's seed and clear in every evaluation seed.
pub const TRAINING_SEED_BIT: u64 = 1 << 63;

/// The env seed of training seed `train_seed`'s reset request `requested`.
pub fn training_env_seed(train_seed: u64, requested: u64) -> u64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&train_seed.to_le_bytes());
    bytes[8..].copy_from_slice(&requested.to_le_bytes());
    // Sub-env `i` of a vector env resets with `seed + i`: keep room below the top so adding a
    // sub-env index never wraps around into the evaluation range.
    TRAINING_SEED_BIT | (fnv1a(&bytes) >> 2)
}

/// The seeds of the failure predictor's simulated runs (`runner::predictor`): `count` seeds in the
/// training range (top bit set, so never an evaluation seed), derived from the experiment's master
/// seed alone, so every agent, shard and resumed run gets the same runs.
pub fn predictor_seeds(experiment_seed: u64, count: u64) -> Vec<u64> {
    (0..count)
        .map(|k| training_env_seed(experiment_seed ^ PREDICTOR_STREAM, k))
        .collect()
}

/// The seed of the predictor's weight initialisation and minibatch shuffle, from the experiment's
/// master seed.
pub fn predictor_train_seed(experiment_seed: u64) -> u64 {
    training_env_seed(experiment_seed ^ PREDICTOR_STREAM, u64::MAX) & !TRAINING_SEED_BIT
}

/// Mixed into the master seed for the predictor's seeds, so they differ from the training
/// episodes' seeds of a training seed equal to the master seed (`b"predict!"` as a number).
const PREDICTOR_STREAM: u64 = u64::from_le_bytes(*b"predict!");

/// A vector env whose reset seeds are mapped by [`training_env_seed`].
pub struct TrainingSeeds<V> {
    inner: V,
    train_seed: u64,
}

impl<V> std::fmt::Debug for TrainingSeeds<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingSeeds")
            .field("train_seed", &self.train_seed)
            .finish()
    }
}

impl<V: VectorEnv> TrainingSeeds<V> {
    /// Wraps `inner` for the run of training seed `train_seed`.
    pub fn new(inner: V, train_seed: u64) -> Self {
        Self { inner, train_seed }
    }

    fn map(&self, seed: Option<u64>) -> Option<u64> {
        seed.map(|s| training_env_seed(self.train_seed, s))
    }
}

impl<V: VectorEnv> VectorEnv for TrainingSeeds<V> {
    fn num_envs(&self) -> usize {
        self.inner.num_envs()
    }
    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        let seed = self.map(seed);
        self.inner.reset(seed)
    }
    fn reset_where(
        &mut self,
        mask: &[bool],
        seed: Option<u64>,
    ) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        let seed = self.map(seed);
        self.inner.reset_where(mask, seed)
    }
    fn step(&mut self, actions: &[Action]) -> Result<VecStep, EnvError> {
        self.inner.step(actions)
    }
    fn action_masks(&self) -> Vec<Option<Vec<bool>>> {
        self.inner.action_masks()
    }
    fn single_observation_space(&self) -> Space {
        self.inner.single_observation_space()
    }
    fn single_action_space(&self) -> Space {
        self.inner.single_action_space()
    }
    fn autoreset_mode(&self) -> AutoresetMode {
        self.inner.autoreset_mode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_seeds_never_reach_evaluation_seeds() {
        for train in 0..4 {
            for requested in [0, 1, 999, 1000, 10_000, u64::MAX] {
                let s = training_env_seed(train, requested);
                assert!(s >= TRAINING_SEED_BIT, "{s}");
                // Room for 2^62 sub-envs before wrapping.
                assert!(s.checked_add(1 << 20).is_some());
            }
        }
        assert_ne!(training_env_seed(0, 5), training_env_seed(1, 5));
        let predictor = predictor_seeds(0, 4);
        assert!(
            predictor.iter().all(|&s| s >= TRAINING_SEED_BIT),
            "{predictor:?}"
        );
        assert_eq!(predictor, predictor_seeds(0, 4));
        assert_ne!(predictor, predictor_seeds(1, 4));
        assert!(!predictor.contains(&training_env_seed(0, 0)));
        assert_ne!(training_env_seed(0, 5), training_env_seed(0, 6));
    }
}
