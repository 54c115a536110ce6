//! `mend train [EXPERIMENT]`: the training phase of an experiment on its own: every learned agent
//! on `scenarios.train` for each training seed, checkpointed in the run folder (a killed run resumes
//! from the last checkpoint; finished jobs are skipped), exporting
//! `policies/<agent>-train<seed>.safetensors` and `learning_curves.csv`. `mend run` does this first.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::commands::run::{ExperimentArgs, print_report};
use crate::runner::{self, Phases};

/// `mend train`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mend train                                the embedded default experiment's learned agents
  mend train experiments/paper.toml --threads 2
  mend eval experiments/paper.toml          then evaluate them from their policy files")]
pub struct TrainArgs {
    /// The experiment and common flags.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
}

/// Runs the command.
pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    let experiment = args.experiment.load()?;
    let mut options = args.experiment.options(None);
    options.phases = Phases::TrainOnly;
    let report = runner::run(&experiment, &options)?;
    print_report(&report, args.experiment.quiet);
    Ok(ExitCode::SUCCESS)
}
