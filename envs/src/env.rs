//! The Env contract (Gymnasium 1.x): observations, steps, infos and the [`Env`] trait itself.
//!
//! Source of the semantics: Gymnasium's `gymnasium/core.py` (`Env.reset(*, seed, options)`,
//! `Env.step(action) -> (obs, reward, terminated, truncated, info)`).

use crate::error::EnvError;
use crate::spaces::Space;

/// Extra per-step or per-reset data. serde_json's default `Map` is a `BTreeMap`: keys iterate sorted,
/// so serialised infos are deterministic.
pub type Info = serde_json::Map<String, serde_json::Value>;

/// An action: an index into a Discrete action space.
pub type Action = usize;

/// What an env shows the agent.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// A flat feature vector (CartPole, flat cluster encodings).
    Vector(Vec<f32>),
    /// A variable-size set of entity rows plus global features (the cluster env).
    Entities(EntityObs),
}

/// A set of entities, each a row of `width` features, plus global features.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityObs {
    /// Features of the whole system.
    pub global: Vec<f32>,
    /// Number of features per entity row.
    pub width: usize,
    /// `n_entities x width` features, row-major.
    pub rows: Vec<f32>,
}

impl EntityObs {
    /// Number of entity rows (`rows.len() / width`; 0 when `width` is 0).
    pub fn n_entities(&self) -> usize {
        self.rows.len().checked_div(self.width).unwrap_or(0)
    }

    /// Row `i` (panics if `i >= n_entities()`, as slice indexing does).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * self.width..(i + 1) * self.width]
    }
}

impl Observation {
    /// The flat vector, if this is a `Vector` observation.
    pub fn as_vector(&self) -> Option<&[f32]> {
        match self {
            Observation::Vector(v) => Some(v),
            Observation::Entities(_) => None,
        }
    }

    /// The entity set, if this is an `Entities` observation.
    pub fn as_entities(&self) -> Option<&EntityObs> {
        match self {
            Observation::Entities(e) => Some(e),
            Observation::Vector(_) => None,
        }
    }

    /// The observation as JSON (`[..]` for a vector; `{"global", "width", "rows"}` for entities), as
    /// vector envs store it in `info["final_obs"]`. Non-finite values become `null` (JSON has no NaN).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Observation::Vector(v) => serde_json::json!(v),
            Observation::Entities(e) => serde_json::json!({
                "global": e.global,
                "width": e.width,
                "rows": e.rows,
            }),
        }
    }
}

/// The result of one [`Env::step`].
#[derive(Clone, Debug)]
pub struct Step {
    /// Observation after the action.
    pub obs: Observation,
    /// Reward for the transition.
    pub reward: f64,
    /// A true end state was reached (no bootstrapping).
    pub terminated: bool,
    /// The episode was cut short (time limit): trainers bootstrap.
    pub truncated: bool,
    /// Extra data (diagnostics, ground truth, episode statistics).
    pub info: Info,
}

/// A Gymnasium-style environment.
pub trait Env: Send {
    /// Starts an episode. Gymnasium: `Some(seed)` re-seeds the env's generator; `None` keeps the
    /// current generator (a fresh env with no seed uses a documented default seed).
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError>;

    /// Applies one action.
    fn step(&mut self, action: Action) -> Result<Step, EnvError>;

    /// The space every observation lies in.
    fn observation_space(&self) -> Space;

    /// The action space, `Space::Discrete(n)`.
    fn action_space(&self) -> Space;

    /// Valid actions now (len = n); `None` = all valid.
    fn action_mask(&self) -> Option<Vec<bool>>;

    /// The env id, e.g. "CartPole-v1" or "mend/Cluster-v0".
    fn id(&self) -> &str;

    /// Would `step(action)` be accepted now (in range and not masked)? Same answer as
    /// `action_mask()`; envs whose full mask is costly override it to check one action.
    fn action_allowed(&self, action: Action) -> bool {
        let n = self.action_space().n().unwrap_or(0);
        action < n
            && self
                .action_mask()
                .is_none_or(|m| m.get(action).copied().unwrap_or(false))
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        (**self).reset(seed, options)
    }
    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        (**self).step(action)
    }
    fn observation_space(&self) -> Space {
        (**self).observation_space()
    }
    fn action_space(&self) -> Space {
        (**self).action_space()
    }
    fn action_mask(&self) -> Option<Vec<bool>> {
        (**self).action_mask()
    }
    fn id(&self) -> &str {
        (**self).id()
    }
    fn action_allowed(&self, action: Action) -> bool {
        (**self).action_allowed(action)
    }
}

/// Checks `action` against an action space of size `n` and an optional mask: the shared guard every
/// env calls at the top of `step`.
pub fn validate_action(
    env: &str,
    action: Action,
    n: usize,
    mask: Option<&[bool]>,
) -> Result<(), EnvError> {
    if action >= n {
        return Err(EnvError::InvalidAction {
            env: env.to_owned(),
            action,
            n,
        });
    }
    if let Some(mask) = mask
        && !mask.get(action).copied().unwrap_or(false)
    {
        return Err(EnvError::MaskedAction {
            env: env.to_owned(),
            action,
        });
    }
    Ok(())
}
