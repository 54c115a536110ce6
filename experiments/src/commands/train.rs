//! `mend train [EXPERIMENT]`: the training phase of an experiment on its own (issue 6).
//! Being built this session; until then it reports that it is not available.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

/// `mend train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Experiment file (default: the embedded experiments/default.toml).
    pub experiment: Option<PathBuf>,
}

/// Runs the command.
pub fn run(_args: &TrainArgs) -> Result<ExitCode> {
    bail!("`mend train` is not available in this build yet")
}
