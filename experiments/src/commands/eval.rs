//! `mend eval [EXPERIMENT] [--record]`: the evaluation phase of an experiment (every agent on the
//! held-out scenarios over paired seeds), optionally recording each episode's trace for `mend replay`.
//! Results go to the same run folder as `mend run`'s; finished jobs are skipped. Learned agents are
//! evaluated from the policy files `mend train` exported (an error names a missing one).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::commands::run::{ExperimentArgs, print_report};
use crate::runner::{self, Phases};

/// `mend eval`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mend eval --record                        the default experiment, with traces under traces/
  mend replay results/default/default-seed0/traces/default/no-op/seed-1000-ep0.jsonl --agent random")]
pub struct EvalArgs {
    /// The experiment and common flags.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Write every episode's trace (JSON Lines) to `<run>/traces/<scenario>/<agent>/seed-<s>-ep<k>.jsonl`.
    #[arg(long)]
    pub record: bool,
}

/// Runs the command.
pub fn run(args: &EvalArgs) -> Result<ExitCode> {
    let experiment = args.experiment.load()?;
    let mut options = args.experiment.options(None);
    options.record = args.record;
    options.phases = Phases::EvalOnly;
    let report = runner::run(&experiment, &options)?;
    print_report(&report, args.experiment.quiet);
    Ok(ExitCode::SUCCESS)
}
