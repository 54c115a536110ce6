//! Hand-written baselines for the cluster env (BRIEF §6): [`NoOpPolicy`], [`RandomPolicy`] (masked,
//! seeded), the Kubernetes-style [`reactive::ReactiveController`] and the expert
//! [`runbook::Runbook`]. They read observations by feature NAME ([`view::FeatureView`]) and emit actions
//! by kind NAME ([`view::ActionKinds`]), so the executor can run them on Prometheus-derived features.
//!
//! The stateful ones keep their own timers, advanced by one decision interval per observation they are
//! asked to act on: each is a [`Controller`] (`decide(&mut self)`) wrapped in [`Stateful`], which
//! implements [`Policy`] with the state behind a mutex and offers [`Stateful::reset`] for a new
//! episode. Call `predict` exactly once per decision; `action_scores` peeks without advancing timers.

pub mod reactive;
pub mod runbook;
pub mod view;

use std::sync::Mutex;

use mend_envs::{Action, Observation};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::distribution::check_mask;
use crate::error::AgentError;
use crate::policy::{ActionScores, Policy, random_valid_action};

pub use reactive::{ReactiveConfig, ReactiveController};
pub use runbook::{Runbook, RunbookSpec};
pub use view::{ActionKinds, FeatureView};

/// Errors from building or running a baseline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaselineError {
    /// The feature schema lacks a column the baseline reads.
    #[error("feature schema has no column `{name}`, which this baseline reads")]
    MissingFeature {
        /// The column name.
        name: String,
    },
    /// The action kinds lack one the baseline uses.
    #[error("action kinds have no `{name}` (known: {known:?})")]
    MissingKind {
        /// The kind name.
        name: String,
        /// The kinds given.
        known: Vec<String>,
    },
    /// The observation is not entity rows of the schema's width.
    #[error("observation: {detail}")]
    Observation {
        /// What was found and expected.
        detail: String,
    },
    /// A runbook file could not be read.
    #[error("{file}: I/O error: {source}")]
    Io {
        /// The file.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A runbook file is not valid: `field` is the TOML path (line where known in `found`).
    #[error("{file}: field `{field}`: expected {expected}, found {found}")]
    Runbook {
        /// The file.
        file: String,
        /// TOML path of the field.
        field: String,
        /// What the field must be.
        expected: String,
        /// What was there.
        found: String,
    },
    /// A configuration value is out of range.
    #[error("config field `{field}`: expected {expected}, found {found}")]
    Config {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What was given.
        found: String,
    },
}

impl From<BaselineError> for AgentError {
    fn from(e: BaselineError) -> Self {
        AgentError::ObservationMismatch {
            expected: "an observation a baseline can read".into(),
            got: e.to_string(),
        }
    }
}

/// A stateful decision rule: one call per decision interval.
pub trait Controller: Clone + Send + std::fmt::Debug {
    /// The algorithm name written in results (`"reactive"`, `"runbook"`).
    const NAME: &'static str;
    /// The action for this decision; timers advance by one decision interval. Never a masked action.
    fn decide(&mut self, obs: &Observation, mask: Option<&[bool]>)
    -> Result<Action, BaselineError>;
    /// Forgets all timers (a new episode).
    fn reset(&mut self);
}

/// A [`Controller`] as a [`Policy`]: the state sits behind a mutex (policies are shared `&self`).
#[derive(Debug)]
pub struct Stateful<C: Controller> {
    n_actions: usize,
    state: Mutex<C>,
}

impl<C: Controller> Stateful<C> {
    /// Wraps `controller` for an env with `n_actions` actions.
    pub fn new(controller: C, n_actions: usize) -> Self {
        Self {
            n_actions,
            state: Mutex::new(controller),
        }
    }

    /// Forgets all timers (call between episodes).
    pub fn reset(&self) {
        self.lock().reset();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, C> {
        // A poisoned lock only means another thread panicked mid-decision; the timers are still valid.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<C: Controller + Sync> Policy for Stateful<C> {
    fn algorithm(&self) -> &str {
        C::NAME
    }

    fn n_actions(&self) -> usize {
        self.n_actions
    }

    fn action_scores(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        check_mask(mask, self.n_actions)?;
        let mut peek = self.lock().clone();
        let a = peek.decide(obs, mask)?;
        Ok(one_hot(self.n_actions, a))
    }

    fn predict(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
        _deterministic: bool,
        _rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        check_mask(mask, self.n_actions)?;
        Ok(self.lock().decide(obs, mask)?)
    }
}

fn one_hot(n: usize, a: Action) -> ActionScores {
    let mut p = vec![0.0; n];
    p[a] = 1.0;
    ActionScores::Probabilities(p)
}

/// Never acts: the faults run their course (the floor every agent must beat).
#[derive(Clone, Copy, Debug)]
pub struct NoOpPolicy {
    /// Number of actions of the env.
    pub n_actions: usize,
}

impl Policy for NoOpPolicy {
    fn algorithm(&self) -> &str {
        "no-op"
    }
    fn n_actions(&self) -> usize {
        self.n_actions
    }
    fn action_scores(
        &self,
        _obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        check_mask(mask, self.n_actions)?;
        Ok(one_hot(self.n_actions, 0))
    }
    fn predict(
        &self,
        _obs: &Observation,
        mask: Option<&[bool]>,
        _deterministic: bool,
        _rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        check_mask(mask, self.n_actions)?;
        Ok(0)
    }
}

/// A uniformly random valid action each decision, from its own ChaCha8 stream (so it ignores the
/// caller's generator and the `deterministic` flag: same seed, same actions).
#[derive(Debug)]
pub struct RandomPolicy {
    n_actions: usize,
    seed: u64,
    rng: Mutex<ChaCha8Rng>,
}

impl RandomPolicy {
    /// A random policy over `n_actions` actions seeded with `seed`.
    pub fn new(n_actions: usize, seed: u64) -> Self {
        Self {
            n_actions,
            seed,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// Restarts the stream from `seed` (a new episode).
    pub fn reset(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = ChaCha8Rng::seed_from_u64(seed);
    }

    /// The construction seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Policy for RandomPolicy {
    fn algorithm(&self) -> &str {
        "random"
    }
    fn n_actions(&self) -> usize {
        self.n_actions
    }
    fn action_scores(
        &self,
        _obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        check_mask(mask, self.n_actions)?;
        let valid = (0..self.n_actions)
            .filter(|&a| view::allowed(mask, a))
            .count();
        Ok(ActionScores::Probabilities(
            (0..self.n_actions)
                .map(|a| {
                    if view::allowed(mask, a) {
                        1.0 / valid as f32
                    } else {
                        0.0
                    }
                })
                .collect(),
        ))
    }
    fn predict(
        &self,
        _obs: &Observation,
        mask: Option<&[bool]>,
        _deterministic: bool,
        _rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        check_mask(mask, self.n_actions)?;
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        Ok(random_valid_action(self.n_actions, mask, &mut *rng))
    }
}
