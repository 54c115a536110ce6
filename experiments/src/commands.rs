//! One module per `mend` command; [`dispatch`] routes the parsed command line to it.

pub mod audit;
pub mod bench;
pub mod demo;
pub mod detect;
pub mod eval;
pub mod execute;
pub mod merge;
pub mod plot;
pub mod policy;
pub mod replay;
pub mod report;
pub mod run;
pub mod scenario;
pub mod simulate;
pub mod sweep;
pub mod train;

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
        Command::Run(args) => run::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Report(args) => report::run(args),
        Command::Policy(command) => policy::run(command),
        Command::Execute(args) => execute::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Train(args) => train::run(args),
        Command::Plot(args) => plot::run(args),
    }
}
