//! Spaces (Gymnasium `gymnasium/spaces/`): the sets observations and actions live in, one file per
//! space type, each with `sample` and `contains`, and the [`Space`] enum that envs return.

mod boxed;
mod discrete;
mod entity_set;
mod multi_discrete;

pub use boxed::BoxSpace;
pub use discrete::Discrete;
pub use entity_set::{DEFAULT_SAMPLE_MAX_ENTITIES, EntitySet};
pub use multi_discrete::MultiDiscrete;

use crate::env::{Action, Observation};

/// A space as an env declares it.
#[derive(Clone, Debug, PartialEq)]
pub enum Space {
    /// `{start, .., start + n - 1}`.
    Discrete(Discrete),
    /// A box of `f32` vectors with per-dimension bounds.
    Box(BoxSpace),
    /// A vector of independent discrete choices.
    MultiDiscrete(MultiDiscrete),
    /// A variable number of entity rows plus global features.
    EntitySet(EntitySet),
}

impl Space {
    /// Does the observation lie in this space? (`Box` takes `Vector` observations, `EntitySet` takes
    /// `Entities`; Discrete and MultiDiscrete spaces hold no `Observation`.)
    pub fn contains_obs(&self, obs: &Observation) -> bool {
        match (self, obs) {
            (Space::Box(b), Observation::Vector(v)) => b.contains(v),
            (Space::EntitySet(s), Observation::Entities(e)) => s.contains(e),
            _ => false,
        }
    }

    /// Is the action in this space? Only a Discrete space holds an [`Action`].
    pub fn contains_action(&self, action: Action) -> bool {
        match self {
            Space::Discrete(d) => d.contains(action),
            _ => false,
        }
    }

    /// A random observation from this space (`None` for spaces that hold no `Observation`).
    pub fn sample_obs<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Option<Observation> {
        match self {
            Space::Box(b) => Some(Observation::Vector(b.sample(rng))),
            Space::EntitySet(s) => Some(Observation::Entities(s.sample(rng))),
            _ => None,
        }
    }

    /// A random action from this space (`None` unless Discrete).
    pub fn sample_action<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Option<Action> {
        match self {
            Space::Discrete(d) => Some(d.sample(rng)),
            _ => None,
        }
    }

    /// Number of actions, if this is a Discrete space.
    pub fn n(&self) -> Option<usize> {
        match self {
            Space::Discrete(d) => Some(d.n),
            _ => None,
        }
    }

    /// Checks the space is well formed (non-empty, bounds ordered, lengths consistent); the reason
    /// if not. Used by `check_env`.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Space::Discrete(d) => d.validate(),
            Space::Box(b) => b.validate(),
            Space::MultiDiscrete(m) => m.validate(),
            Space::EntitySet(s) => s.validate(),
        }
    }
}
