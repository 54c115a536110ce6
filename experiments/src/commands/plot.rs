//! `mend plot`: plots from a run folder or a recorded trace (issue 6).
//! Being built this session; until then it reports that it is not available.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

/// `mend plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Run folder or trace file.
    pub input: PathBuf,
}

/// Runs the command.
pub fn run(_args: &PlotArgs) -> Result<ExitCode> {
    bail!("`mend plot` is not available in this build yet")
}
