//! The crate's error type: everything that can go wrong while acting, learning, checkpointing or loading
//! a policy file. Each variant says what was expected, and file errors name the file.

use std::path::PathBuf;

/// Errors from policies, agents, checkpoints and policy files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// An agent configuration field is out of range; `field` is the CleanRL/SB3 name of the field.
    #[error("invalid config: field `{field}` {expected}, got {got}")]
    InvalidConfig {
        /// Name of the configuration field.
        field: &'static str,
        /// What the field must be.
        expected: &'static str,
        /// The value that was given, formatted.
        got: String,
    },
    /// The observation is not of the kind the network reads (for example an entity observation given
    /// to a plain MLP), or has the wrong length.
    #[error("observation mismatch: expected {expected}, got {got}")]
    ObservationMismatch {
        /// What the network reads.
        expected: String,
        /// What it was given.
        got: String,
    },
    /// The space of the environment is not one this agent supports.
    #[error("unsupported space for {what}: expected {expected}, got {got}")]
    UnsupportedSpace {
        /// "observation" or "action".
        what: &'static str,
        /// The supported kinds.
        expected: &'static str,
        /// The space that was given, formatted.
        got: String,
    },
    /// The vector environment uses an autoreset mode the trainer cannot learn from correctly.
    #[error(
        "unsupported autoreset mode {got}: expected SameStep (final observation in info[\"final_obs\"])"
    )]
    UnsupportedAutoreset {
        /// The mode that was given, formatted.
        got: String,
    },
    /// A truncated step lacks `info["final_obs"]`, which the trainer needs to bootstrap the value.
    #[error(
        "env {env_index}: truncated step without a readable info[\"final_obs\"] vector ({detail})"
    )]
    MissingFinalObs {
        /// Index of the sub-environment.
        env_index: usize,
        /// Why it could not be read.
        detail: String,
    },
    /// A mask was given whose length differs from the number of actions, or which allows no action.
    #[error("invalid action mask: {detail}")]
    InvalidMask {
        /// What is wrong with it.
        detail: String,
    },
    /// Numbers became NaN or infinite during training (a diverged run).
    #[error("non-finite value in {what} at update {update}")]
    NonFinite {
        /// Which quantity.
        what: &'static str,
        /// The update number at which it was seen.
        update: u64,
    },
    /// The environment returned an error.
    #[error("environment error: {0}")]
    Env(#[from] mend_envs::EnvError),
    /// candle reported an error (shape mismatch and the like: a bug, never bad input).
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A policy file or checkpoint could not be read or written.
    #[error(transparent)]
    PolicyFile(#[from] PolicyFileError),
}

/// Errors from reading or writing a policy file or checkpoint (BRIEF §7, invariant 5).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyFileError {
    /// Reading or writing the file failed.
    #[error("{path}: I/O error: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file ends before its header says it should: a partial copy or an interrupted download.
    #[error("{path}: truncated file: {detail}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What the safetensors reader reported.
        detail: String,
    },
    /// The file is not a safetensors file at all.
    #[error("{path}: not a safetensors file: {detail}")]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// What the safetensors reader reported.
        detail: String,
    },
    /// A valid safetensors file without a `mend` manifest in its metadata (some other program's model).
    #[error(
        "{path}: foreign file: safetensors metadata has no `{key}` key, so it is not a mend policy file"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// The metadata key that was expected.
        key: &'static str,
    },
    /// The manifest JSON does not parse or lacks a field.
    #[error("{path}: manifest: {detail}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// The parse error, which names the field and the position.
        detail: String,
    },
    /// The file was written by an incompatible version of the format.
    #[error("{path}: manifest field `format_version` is {found}, expected {expected}")]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// The policy reads different features than the caller provides.
    #[error(
        "{path}: manifest field `feature_schema` has hash {found} ({found_names:?}), expected {expected} ({expected_names:?})"
    )]
    SchemaMismatch {
        /// The file.
        path: PathBuf,
        /// Schema hash in the file.
        found: String,
        /// Feature names in the file.
        found_names: Vec<String>,
        /// Schema hash the caller expects.
        expected: String,
        /// Feature names the caller expects.
        expected_names: Vec<String>,
    },
    /// A weight is NaN or infinite.
    #[error("{path}: tensor `{tensor}` element {index} is {value}, expected a finite number")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
        /// Flat index of the first bad element.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A tensor the manifest implies is absent, or has the wrong shape or dtype.
    #[error("{path}: tensor `{tensor}`: {detail}")]
    Tensor {
        /// The file.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
        /// What was expected.
        detail: String,
    },
}
