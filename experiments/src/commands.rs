//! One module per `mend` command; [`dispatch`] routes the parsed command line to it.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::{Cli, Command};

/// Runs the command the user asked for and returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Simulate(_) | Command::Scenario(_) | Command::Bench(_) | Command::Detect(_) | Command::Audit(_) => {
            bail!("this command is not built yet")
        }
    }
}
