//! [`ParallelVectorEnv`]: sub-envs stepped on several threads, either on the rayon pool current
//! where `step` is called (`new`: `ThreadPool::install` or `RAYON_NUM_THREADS` choose) or on
//! threads of its own (`with_threads`). Each sub-env owns its generator and results are gathered in
//! sub-env order, so outputs equal [`super::SyncVectorEnv`]'s byte for byte whatever the thread
//! count.
//!
//! With threads of its own, the calling thread steps the first contiguous block of sub-envs itself
//! while `threads - 1` pool workers step the other blocks (one rayon task per block, through
//! `ThreadPool::in_place_scope`). The caller would otherwise sleep while the workers run, and a
//! vector step would pay two thread hand-offs; with blocks it pays at most one wake-up, overlapped
//! with the caller's own work, and one task per thread rather than one per sub-env.

use rayon::prelude::*;

use super::slot::{self, Slot};
use super::{AutoresetMode, VecStep, VectorEnv};
use crate::env::{Action, Env, Info, Observation};
use crate::error::EnvError;
use crate::spaces::Space;

/// Where sub-envs are stepped.
enum Threads {
    /// On the rayon pool current at the call.
    Current,
    /// On the calling thread plus `pool`'s workers (`None`: the calling thread alone).
    Own {
        pool: Option<rayon::ThreadPool>,
        threads: usize,
    },
}

/// Sub-envs stepped in parallel; results identical to `SyncVectorEnv`.
pub struct ParallelVectorEnv {
    slots: Vec<Slot>,
    mode: AutoresetMode,
    threads: Threads,
}

impl std::fmt::Debug for ParallelVectorEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let own = match &self.threads {
            Threads::Current => None,
            Threads::Own { threads, .. } => Some(*threads),
        };
        f.debug_struct("ParallelVectorEnv")
            .field("num_envs", &self.slots.len())
            .field("mode", &self.mode)
            .field("own_threads", &own)
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
            threads: Threads::Current,
        })
    }

    /// Like [`Self::new`], but steps run on `threads` threads (at least 1): the calling thread and
    /// a pool of `threads - 1` workers owned by this env.
    pub fn with_threads(
        envs: Vec<Box<dyn Env>>,
        mode: AutoresetMode,
        threads: usize,
    ) -> Result<Self, EnvError> {
        let bad = |why: String| EnvError::InvalidConfig {
            env: "ParallelVectorEnv".into(),
            field: "threads".into(),
            expected: why,
        };
        if threads == 0 {
            return Err(bad("at least 1 (the calling thread counts as one)".into()));
        }
        let mut env = Self::new(envs, mode)?;
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads - 1)
                    .build()
                    .map_err(|e| bad(format!("a thread count rayon can start ({e})")))?,
            )
        } else {
            None
        };
        env.threads = Threads::Own { pool, threads };
        Ok(env)
    }

    /// `f(i, slot)` for every sub-env, results in sub-env order, on this env's threads.
    fn map_slots<T: Send>(
        &mut self,
        f: impl Fn(usize, &mut Slot) -> Result<T, EnvError> + Sync,
    ) -> Vec<Result<T, EnvError>> {
        let (pool, threads) = match &self.threads {
            Threads::Current => {
                return self
                    .slots
                    .par_iter_mut()
                    .enumerate()
                    .map(|(i, s)| f(i, s))
                    .collect();
            }
            Threads::Own { pool, threads } => (pool, *threads),
        };
        let n = self.slots.len();
        let block = n.div_ceil(threads).max(1);
        let mut results: Vec<Option<Result<T, EnvError>>> = (0..n).map(|_| None).collect();
        let run_block =
            |first: usize, slots: &mut [Slot], out: &mut [Option<Result<T, EnvError>>]| {
                for (k, (s, r)) in slots.iter_mut().zip(out).enumerate() {
                    *r = Some(f(first + k, s));
                }
            };
        let mut blocks = self
            .slots
            .chunks_mut(block)
            .zip(results.chunks_mut(block))
            .enumerate();
        match pool {
            Some(pool) => pool.in_place_scope(|scope| {
                let mine = blocks.next();
                for (b, (slots, out)) in blocks {
                    let run_block = &run_block;
                    scope.spawn(move |_| run_block(b * block, slots, out));
                }
                if let Some((_, (slots, out))) = mine {
                    run_block(0, slots, out);
                }
            }),
            None => {
                for (b, (slots, out)) in blocks {
                    run_block(b * block, slots, out);
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(EnvError::InvalidVector {
                        reason: "a sub-env produced no result (internal error)".into(),
                    })
                })
            })
            .collect()
    }
}

impl VectorEnv for ParallelVectorEnv {
    fn num_envs(&self) -> usize {
        self.slots.len()
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        let results = self.map_slots(|i, s| s.reset(slot::sub_seed(seed, i)));
        slot::gather_resets(results)
    }

    fn reset_where(
        &mut self,
        mask: &[bool],
        seed: Option<u64>,
    ) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        slot::check_count(self.slots.len(), mask.len())?;
        let results = self.map_slots(|i, s| {
            if mask[i] {
                s.reset(slot::sub_seed(seed, i))
            } else {
                slot::untouched()
            }
        });
        slot::gather_resets(results)
    }

    fn step(&mut self, actions: &[Action]) -> Result<VecStep, EnvError> {
        let mode = self.mode;
        slot::precheck_all(&self.slots, actions, mode)?;
        let results = self.map_slots(|i, s| s.step(actions[i], mode));
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
