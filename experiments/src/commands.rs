//! One module per `mend` command; [`dispatch`] routes the parsed command line to it.

pub mod scenario;
pub mod simulate;

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::{Cli, Command};

/// Runs the command the user asked for and returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Scenario(command) => scenario::run(command),
        Command::Bench(_) | Command::Detect(_) | Command::Audit(_) => {
            bail!("this command is not built yet")
        }
    }
}
