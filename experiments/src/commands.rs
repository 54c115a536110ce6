//! One module per `mend` command; [`dispatch`] routes the parsed command line to it.

pub mod audit;
pub mod bench;
pub mod detect;
pub mod scenario;
pub mod simulate;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the command the user asked for and returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Scenario(command) => scenario::run(command),
        Command::Bench(args) => bench::run(args),
        Command::Detect(command) => detect::run(command),
        Command::Audit(command) => audit::run(command),
    }
}
