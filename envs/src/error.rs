//! The crate's one error type, [`EnvError`]: every way an environment, a wrapper, a vector env or
//! the env factory can refuse a call. Messages name the env, the field and what was expected.

use crate::env::Action;

/// Everything an environment call can refuse. Bad input is an `Err`, never a panic.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    /// `step` got an action outside the action space `Discrete(n)`.
    #[error("{env}: action {action} is out of range: expected an index in 0..{n}")]
    InvalidAction {
        /// Env id, e.g. "CartPole-v1".
        env: String,
        /// The action that was passed.
        action: Action,
        /// Size of the Discrete action space.
        n: usize,
    },
    /// `step` got an action that the current action mask forbids.
    #[error(
        "{env}: action {action} is masked out (not valid in the current state): expected an action whose mask entry is true"
    )]
    MaskedAction {
        /// Env id.
        env: String,
        /// The action that was passed.
        action: Action,
    },
    /// `step` was called before the first `reset`.
    #[error("{env}: step called before reset: call reset first")]
    NotReset {
        /// Env id.
        env: String,
    },
    /// `step` was called after the episode ended (terminated or truncated) without a `reset`.
    #[error("{env}: step called after the episode ended: call reset first")]
    EpisodeOver {
        /// Env id.
        env: String,
    },
    /// A `reset` option has the wrong key, type or value.
    #[error("{env}: reset option \"{key}\" is invalid: expected {expected}")]
    InvalidOption {
        /// Env id.
        env: String,
        /// The option key.
        key: String,
        /// What the env expected for it.
        expected: String,
    },
    /// A vector env got a wrong number of actions (or mask entries).
    #[error("vector env: got {got} actions, expected one per sub-env ({expected})")]
    WrongActionCount {
        /// Number of sub-envs.
        expected: usize,
        /// Number of actions passed.
        got: usize,
    },
    /// A vector env was built with no sub-envs, or with sub-envs whose spaces differ.
    #[error("vector env: {reason}")]
    InvalidVector {
        /// What is wrong with the set of sub-envs.
        reason: String,
    },
    /// A sub-env of a vector env failed; `index` says which.
    #[error("vector env: sub-env {index} failed: {source}")]
    SubEnv {
        /// Index of the sub-env.
        index: usize,
        /// Its error.
        #[source]
        source: Box<EnvError>,
    },
    /// `make` got an id no registered env has.
    #[error("unknown env id \"{id}\": expected one of {known}")]
    UnknownEnv {
        /// The id passed.
        id: String,
        /// The known ids, comma separated.
        known: String,
    },
    /// A wrapper or env was configured with an invalid parameter.
    #[error("{env}: parameter \"{field}\" is invalid: expected {expected}")]
    InvalidConfig {
        /// Env or wrapper name.
        env: String,
        /// The parameter name.
        field: String,
        /// What was expected.
        expected: String,
    },
    /// The simulator underneath an env failed (cluster env).
    #[error("{env}: simulator error: {message}")]
    Sim {
        /// Env id.
        env: String,
        /// The simulator's message.
        message: String,
    },
}
