//! `mend run [EXPERIMENT]`: train the experiment's learned agents, evaluate every agent on its
//! held-out scenarios over paired seeds, then write `results/<experiment>/<run-id>/` (config,
//! policies, learning curves, per-episode CSV, summaries, plots). Re-running resumes training from
//! the last checkpoints and skips the jobs whose rows are already on disk.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::experiment::{self, Experiment};
use crate::runner::{self, Phases, RunOptions, RunReport, Shard};

/// Flags shared by the commands that run an experiment.
#[derive(Debug, Args, Clone)]
pub struct ExperimentArgs {
    /// Experiment file (TOML; schema in experiments/README.md). Default: the embedded
    /// experiments/default.toml.
    pub experiment: Option<PathBuf>,
    /// Master seed, overriding `experiment.seed` (the run id is `<name>-seed<seed>`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Results root: the run goes to OUT/<experiment>/<run-id>/.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// No progress bars (they are also off when standard error is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,
    /// Stop every training job after N checkpoints, as if the run were killed (for tests of
    /// resumption).
    #[arg(long, hide = true)]
    pub stop_after_checkpoints: Option<u64>,
}

impl ExperimentArgs {
    /// Loads and validates the experiment, applying `--seed`.
    pub fn load(&self) -> Result<Experiment> {
        let mut experiment = experiment::load(self.experiment.as_deref())?.0;
        if let Some(seed) = self.seed {
            experiment.experiment.seed = seed;
        }
        Ok(experiment)
    }

    /// Run options for these flags (all phases; commands change `phases`).
    pub fn options(&self, shard: Option<Shard>) -> RunOptions {
        RunOptions {
            out: self.out.clone(),
            threads: self.threads,
            quiet: self.quiet,
            shard,
            record: false,
            phases: Phases::All,
            max_train_chunks: self.stop_after_checkpoints,
        }
    }
}

/// `mend run`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mend run                                  the embedded default experiment
  mend run experiments/paper.toml --threads 2
  mend run my.toml --seed 3 --out /tmp/results")]
pub struct RunArgs {
    /// The experiment and common flags.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
}

/// Runs the command.
pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let experiment = args.experiment.load()?;
    let report = runner::run(&experiment, &args.experiment.options(None))?;
    print_report(&report, args.experiment.quiet);
    Ok(ExitCode::SUCCESS)
}

/// Prints where the results went and the runner's time split; with results, the summary table.
pub fn print_report(report: &RunReport, quiet: bool) {
    if report.predictor_seconds > 0.0 {
        eprintln!(
            "failure predictor: {:.2} s wall ({})",
            report.predictor_seconds,
            report.dir.join(runner::files::PREDICTOR).display()
        );
    }
    if report.train_jobs_total > 0 {
        eprintln!(
            "{} training jobs ({} run, {} already done{}); training {:.2} s wall",
            report.train_jobs_total,
            report.train_jobs_total - report.train_jobs_skipped,
            report.train_jobs_skipped,
            if report.train_jobs_stopped > 0 {
                format!(", {} stopped at a checkpoint", report.train_jobs_stopped)
            } else {
                String::new()
            },
            report.train_seconds,
        );
    }
    if report.evaluated {
        let ran = report.jobs_total - report.jobs_skipped;
        eprintln!(
            "{} evaluation jobs ({} run, {} already done); {:.2} s wall in total: evaluation {:.2} s wall \
             ({:.2} s summed inside jobs: simulation, policy and detectors), results and plots {:.2} s",
            report.jobs_total,
            ran,
            report.jobs_skipped,
            report.wall_seconds,
            report.eval_seconds,
            report.job_seconds,
            report.finish_seconds,
        );
    }
    if report.finished {
        let md = report.dir.join(runner::files::SUMMARY_MD);
        if !quiet && let Ok(text) = std::fs::read_to_string(&md) {
            println!("{text}");
        }
        eprintln!("results: {}", report.dir.display());
    } else if report.train_jobs_stopped > 0 {
        eprintln!(
            "stopped: {} (run the same command again to resume)",
            report.dir.display()
        );
    } else if report.evaluated {
        eprintln!(
            "shard rows: {} (join the shards with `mend merge`)",
            report.dir.display()
        );
    } else {
        eprintln!("policies and learning curves: {}", report.dir.display());
    }
}
