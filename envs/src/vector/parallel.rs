//! [`ParallelVectorEnv`]: sub-envs stepped on several threads, either on the rayon pool current
//! where `step` is called (`new`: `ThreadPool::install` or `RAYON_NUM_THREADS` choose) or on
//! threads of its own (`with_threads`). Each sub-env owns its generator and results are gathered in
//! sub-env order, so outputs equal [`super::SyncVectorEnv`]'s byte for byte whatever the thread
//! count.
//!
//! With threads of its own, a [`Crew`] of `threads - 1` persistent worker threads shares each
//! vector step with the calling thread, one sub-env at a time; the workers stay awake between steps
//! (spin, then park: see [`super::worker`]). A vector step then costs an atomic hand-off instead
//! of a rayon wake-up and join (about 17 µs a step on `default`, issue 3).

use rayon::prelude::*;

use super::slot::{self, Slot};
use super::stats::CrewStats;
use super::worker::{Crew, Input, Outcome};
use super::{AutoresetMode, VecStep, VectorEnv};
use crate::env::{Action, Env, Info, Observation};
use crate::error::EnvError;
use crate::spaces::Space;

/// Where sub-envs live and are stepped.
enum Backend {
    /// Stepped on the rayon pool current at the call.
    Rayon(Vec<Slot>),
    /// Stepped by the calling thread and the crew's workers.
    Own(Crew),
}

/// Sub-envs stepped in parallel; results identical to `SyncVectorEnv`.
pub struct ParallelVectorEnv {
    backend: Backend,
    num_envs: usize,
    mode: AutoresetMode,
    /// Threads of its own (`with_threads`), `None` on the current rayon pool.
    own_threads: Option<usize>,
}

impl std::fmt::Debug for ParallelVectorEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelVectorEnv")
            .field("num_envs", &self.num_envs)
            .field("mode", &self.mode)
            .field("own_threads", &self.own_threads)
            .finish()
    }
}

impl ParallelVectorEnv {
    /// Wraps `envs` (at least one, all with the same spaces) with the given autoreset mode; steps
    /// run on the rayon pool current at the call.
    pub fn new(envs: Vec<Box<dyn Env>>, mode: AutoresetMode) -> Result<Self, EnvError> {
        slot::check_envs(&envs)?;
        Ok(Self {
            num_envs: envs.len(),
            backend: Backend::Rayon(envs.into_iter().map(Slot::new).collect()),
            mode,
            own_threads: None,
        })
    }

    /// Like [`Self::new`], but steps run on `threads` threads (at least 1): the calling thread and
    /// `min(threads, num_envs) - 1` persistent worker threads owned by this env, joined when it is
    /// dropped.
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
        slot::check_envs(&envs)?;
        let num_envs = envs.len();
        let workers = threads.min(num_envs) - 1;
        let crew = Crew::start(envs.into_iter().map(Slot::new).collect(), workers)
            .map_err(|e| bad(format!("a thread count the OS can start ({e})")))?;
        Ok(Self {
            backend: Backend::Own(crew),
            num_envs,
            mode,
            own_threads: Some(threads),
        })
    }

    /// The worker crew's hand-off counters since the env was built ([`Self::with_threads`] only;
    /// `None` on the rayon pool): who stepped how many sub-envs and how waits ended. Take two
    /// snapshots and [`CrewStats::since`] for an interval. Diagnostics only: they never change
    /// results.
    pub fn crew_stats(&self) -> Option<CrewStats> {
        match &self.backend {
            Backend::Own(crew) => Some(crew.stats()),
            Backend::Rayon(_) => None,
        }
    }

    /// `f(i, slot)` for every sub-env in order, read-only; stops at the first error.
    fn try_each(
        &self,
        mut f: impl FnMut(usize, &Slot) -> Result<(), EnvError>,
    ) -> Result<(), EnvError> {
        match &self.backend {
            Backend::Rayon(slots) => slots.iter().enumerate().try_for_each(|(i, s)| f(i, s)),
            Backend::Own(crew) => (0..crew.len()).try_for_each(|i| crew.with_slot(i, |s| f(i, s))),
        }
    }

    /// Sub-env 0's answer to `f`.
    fn first_slot<T>(&self, f: impl FnOnce(&Slot) -> T) -> T {
        match &self.backend {
            Backend::Rayon(slots) => f(&slots[0]),
            Backend::Own(crew) => crew.with_slot(0, f),
        }
    }

    /// Resets the sub-envs with `Some(seed)` in `seeds` (one entry per sub-env), leaves the rest.
    fn reset_some(
        &mut self,
        seeds: Vec<Option<Option<u64>>>,
    ) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        let results = match &mut self.backend {
            Backend::Rayon(slots) => slots
                .par_iter_mut()
                .zip(seeds)
                .map(|(s, seed)| match seed {
                    Some(seed) => s.reset(seed),
                    None => slot::untouched(),
                })
                .collect(),
            Backend::Own(crew) => {
                let inputs = seeds
                    .into_iter()
                    .map(|s| s.map_or(Input::Skip, Input::Reset));
                crew.run(inputs, self.mode)?
                    .into_iter()
                    .map(|o| match o {
                        Outcome::Reset(r) => r,
                        Outcome::Step(_) => Err(mismatched_outcome()),
                    })
                    .collect()
            }
        };
        slot::gather_resets(results)
    }
}

/// A crew returned a step outcome for a reset or the reverse (cannot happen).
fn mismatched_outcome() -> EnvError {
    EnvError::InvalidVector {
        reason: "a sub-env answered a different request (internal error)".into(),
    }
}

impl VectorEnv for ParallelVectorEnv {
    fn num_envs(&self) -> usize {
        self.num_envs
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        let seeds = (0..self.num_envs)
            .map(|i| Some(slot::sub_seed(seed, i)))
            .collect();
        self.reset_some(seeds)
    }

    fn reset_where(
        &mut self,
        mask: &[bool],
        seed: Option<u64>,
    ) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
        slot::check_count(self.num_envs, mask.len())?;
        let seeds = mask
            .iter()
            .enumerate()
            .map(|(i, &m)| m.then(|| slot::sub_seed(seed, i)))
            .collect();
        self.reset_some(seeds)
    }

    fn step(&mut self, actions: &[Action]) -> Result<VecStep, EnvError> {
        let mode = self.mode;
        slot::check_count(self.num_envs, actions.len())?;
        self.try_each(|i, s| {
            s.precheck(actions[i], mode).map_err(|e| EnvError::SubEnv {
                index: i,
                source: Box::new(e),
            })
        })?;
        let results = match &mut self.backend {
            Backend::Rayon(slots) => slots
                .par_iter_mut()
                .zip(actions)
                .map(|(s, &a)| s.step(a, mode))
                .collect(),
            Backend::Own(crew) => crew
                .run(actions.iter().map(|&a| Input::Step(a)), mode)?
                .into_iter()
                .map(|o| match o {
                    Outcome::Step(r) => r,
                    Outcome::Reset(_) => Err(mismatched_outcome()),
                })
                .collect(),
        };
        slot::gather(results)
    }

    fn action_masks(&self) -> Vec<Option<Vec<bool>>> {
        let mut masks = Vec::with_capacity(self.num_envs);
        let _ = self.try_each(|_, s| {
            masks.push(s.env.action_mask());
            Ok(())
        });
        masks
    }

    fn single_observation_space(&self) -> Space {
        self.first_slot(|s| s.env.observation_space())
    }

    fn single_action_space(&self) -> Space {
        self.first_slot(|s| s.env.action_space())
    }

    fn autoreset_mode(&self) -> AutoresetMode {
        self.mode
    }
}
