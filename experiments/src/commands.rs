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

/// The message `mend` prints for a failed command: the error and its causes joined by ": ", as
/// anyhow's `{:#}` does, but leaving out a cause whose text the message so far already ends with
/// (an error declared `#[error("detector: {0}")]` over a `#[from]` source shows that source in its
/// own message, and the chain would print it twice).
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.ends_with(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[derive(Debug, thiserror::Error)]
    #[error("unknown detector `foo`")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("detector: {0}")]
    struct Outer(#[from] Inner);

    #[test]
    fn a_cause_its_parent_already_shows_is_printed_once() {
        let error = anyhow::Error::from(Outer(Inner)).context("cannot run the detectors");
        assert_eq!(
            error_message(&error),
            "cannot run the detectors: detector: unknown detector `foo`"
        );
        assert_eq!(
            format!("{error:#}"),
            "cannot run the detectors: detector: unknown detector `foo`: unknown detector `foo`"
        );
        let plain = anyhow::anyhow!("bad flag").context("parsing");
        assert_eq!(error_message(&plain), "parsing: bad flag");
    }
}
