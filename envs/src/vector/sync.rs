//! [`SyncVectorEnv`]: sub-envs stepped one after another on the calling thread
//! (Gymnasium `vector/sync_vector_env.py`).

use super::slot::{self, Slot};
use super::{AutoresetMode, VecStep, VectorEnv};
use crate::env::{Action, Env, Info, Observation};
use crate::error::EnvError;
use crate::spaces::Space;

/// Sub-envs stepped in order on one thread.
pub struct SyncVectorEnv {
    slots: Vec<Slot>,
    mode: AutoresetMode,
}

impl std::fmt::Debug for SyncVectorEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncVectorEnv")
            .field("num_envs", &self.slots.len())
            .field("mode", &self.mode)
            .finish()
    }
}

impl SyncVectorEnv {
    /// Wraps `envs` (at least one, all with the same spaces) with the given autoreset mode.
    pub fn new(envs: Vec<Box<dyn Env>>, mode: AutoresetMode) -> Result<Self, EnvError> {
        slot::check_envs(&envs)?;
        Ok(Self {
            slots: envs.into_iter().map(Slot::new).collect(),
            mode,
        })
    }
}

impl VectorEnv for SyncVectorEnv {
    fn num_envs(&self) -> usize {
        self.slots.len()
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        let results = self
            .slots
            .iter_mut()
            .enumerate()
            .map(|(i, s)| s.reset(slot::sub_seed(seed, i)))
            .collect();
        slot::gather_resets(results)
    }

    fn reset_where(
        &mut self,
        mask: &[bool],
        seed: Option<u64>,
    ) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        slot::check_count(self.slots.len(), mask.len())?;
        let results = self
            .slots
            .iter_mut()
            .zip(mask)
            .enumerate()
            .map(|(i, (s, &m))| {
                if m {
                    s.reset(slot::sub_seed(seed, i))
                } else {
                    slot::untouched()
                }
            })
            .collect();
        slot::gather_resets(results)
    }

    fn step(&mut self, actions: &[Action]) -> Result<VecStep, EnvError> {
        let mode = self.mode;
        slot::precheck_all(&self.slots, actions, mode)?;
        let results = self
            .slots
            .iter_mut()
            .zip(actions)
            .map(|(s, &a)| s.step(a, mode))
            .collect();
        slot::gather(results)
    }

    fn action_masks(&self) -> Vec<Option<Vec<bool>>> {
        self.slots.iter().map(|s| s.env.action_mask()).collect()
    }

    fn single_observation_space(&self) -> Space {
        self.slots[0].env.observation_space()
    }

    fn single_action_space(&self) -> Space {
        self.slots[0].env.action_space()
    }

    fn autoreset_mode(&self) -> AutoresetMode {
        self.mode
    }
}
