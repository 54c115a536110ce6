//! `mend sweep EXPERIMENT --shard i/n`: run one deterministic share of an experiment's jobs (job
//! index modulo n), for sweeps across machines (deploy/k8s, deploy/slurm). Shards write only job
//! rows; `mend merge` joins them and writes the results, byte-identical to a single-machine run.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::commands::run::{ExperimentArgs, print_report};
use crate::runner::{self, Shard};

/// `mend sweep`.
#[derive(Debug, Args)]
#[command(after_help = "Example (four machines, then join):
  mend sweep experiments/paper.toml --shard 0/4 --out /shared/results
  ...
  mend merge /shared/results/paper/paper-seed0")]
pub struct SweepArgs {
    /// The experiment and common flags.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// This machine's share, `i/n` (0-based), e.g. 0/4.
    #[arg(long)]
    pub shard: Shard,
}

/// Runs the command.
pub fn run(args: &SweepArgs) -> Result<ExitCode> {
    let experiment = args.experiment.load()?;
    let report = runner::run(&experiment, &args.experiment.options(Some(args.shard)))?;
    print_report(&report, args.experiment.quiet);
    Ok(ExitCode::SUCCESS)
}
