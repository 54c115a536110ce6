//! [`ParallelVectorEnv`]: sub-envs stepped on rayon threads, either on the pool current where
//! `step` is called (`new`: `ThreadPool::install` or `RAYON_NUM_THREADS` choose) or on a pool of its
//! own (`with_threads`). Each sub-env owns its generator and results are gathered in sub-env order,
//! so outputs equal [`super::SyncVectorEnv`]'s byte for byte whatever the thread count.

use rayon::prelude::*;

use super::slot::{self, Slot};
use super::{AutoresetMode, VecStep, VectorEnv};
use crate::env::{Action, Env, Info, Observation};
use crate::error::EnvError;
use crate::spaces::Space;

/// Sub-envs stepped in parallel with rayon; results identical to `SyncVectorEnv`.
pub struct ParallelVectorEnv {
    slots: Vec<Slot>,
    mode: AutoresetMode,
    /// A pool of its own (`with_threads`), else the caller's current pool.
    pool: Option<rayon::ThreadPool>,
}

impl std::fmt::Debug for ParallelVectorEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelVectorEnv")
            .field("num_envs", &self.slots.len())
            .field("mode", &self.mode)
            .field(
                "own_threads",
                &self
                    .pool
                    .as_ref()
                    .map(rayon::ThreadPool::current_num_threads),
            )
            .finish()
    }
}

impl ParallelVectorEnv {
    /// Wraps `envs` (at least one, all with the same spaces) with the given autoreset mode; steps
    /// run on the rayon pool current at the call.
    pub fn new(envs: Vec<Box<dyn Env>>, mode: AutoresetMode) -> Result<Self, EnvError> {
        slot::check_envs(&envs)?;
        Ok(Self {
            slots: envs.into_iter().map(Slot::new).collect(),
            mode,
            pool: None,
        })
    }

    /// Like [`Self::new`], but steps run on a pool of `threads` threads owned by this env.
    pub fn with_threads(
        envs: Vec<Box<dyn Env>>,
        mode: AutoresetMode,
        threads: usize,
    ) -> Result<Self, EnvError> {
        let mut env = Self::new(envs, mode)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| EnvError::InvalidConfig {
                env: "ParallelVectorEnv".into(),
                field: "threads".into(),
                expected: format!("a thread count rayon can start ({e})"),
            })?;
        env.pool = Some(pool);
        Ok(env)
    }

    /// Runs `f` over the sub-envs on this env's pool (or the current one).
    fn on_pool<R: Send>(&mut self, f: impl FnOnce(&mut [Slot]) -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(|| f(&mut self.slots)),
            None => f(&mut self.slots),
        }
    }
}

impl VectorEnv for ParallelVectorEnv {
    fn num_envs(&self) -> usize {
        self.slots.len()
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        let results = self.on_pool(|slots| {
            slots
                .par_iter_mut()
                .enumerate()
                .map(|(i, s)| s.reset(slot::sub_seed(seed, i)))
                .collect()
        });
        slot::gather_resets(results)
    }

    fn reset_where(
        &mut self,
        mask: &[bool],
        seed: Option<u64>,
    ) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        slot::check_count(self.slots.len(), mask.len())?;
        let results = self.on_pool(|slots| {
            slots
                .par_iter_mut()
                .zip(mask)
                .enumerate()
                .map(|(i, (s, &m))| {
                    if m {
                        s.reset(slot::sub_seed(seed, i))
                    } else {
                        slot::untouched()
                    }
                })
                .collect()
        });
        slot::gather_resets(results)
    }

    fn step(&mut self, actions: &[Action]) -> Result<VecStep, EnvError> {
        let mode = self.mode;
        slot::precheck_all(&self.slots, actions, mode)?;
        let results = self.on_pool(|slots| {
            slots
                .par_iter_mut()
                .zip(actions)
                .map(|(s, &a)| s.step(a, mode))
                .collect()
        });
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
