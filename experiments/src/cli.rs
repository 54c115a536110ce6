//! Flag definitions for every `mend` command (clap derive). Parsing only: commands validate their
//! arguments into typed settings before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// mend: a research simulator for self-healing multi-cloud systems.
#[derive(Debug, Parser)]
#[command(name = "mend", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  mend simulate                          run the built-in `default` scenario with no agent
  mend simulate tiny --seed 7 --trace t.jsonl
  mend scenario validate scenarios/*.toml
  mend scenario show default
  mend bench renewal --components 100000
  mend detect nab --data ../shared/data/nab --reference ../shared/data/nab/reference/numenta
  mend audit verify audit.jsonl
  mend run                               run the embedded default experiment (results/default/...)
  mend run experiments/paper.toml --threads 2
  mend train experiments/paper.toml && mend eval experiments/paper.toml
  mend eval --record && mend replay TRACE --agent runbook
  mend sweep experiments/paper.toml --shard 0/4 && mend merge DIR...";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario with no agent (the no-op policy) and print the ground-truth summary.
    Simulate(SimulateArgs),
    /// Check or print scenario files.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Time the simulator's workloads and print the figures.
    Bench(BenchArgs),
    /// Run streaming anomaly detectors on benchmark data.
    #[command(subcommand)]
    Detect(DetectCommand),
    /// Work with hash-chained audit logs.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run an experiment (default: the embedded experiments/default.toml): train its learned agents,
    /// evaluate every agent on the held-out scenarios over paired seeds; write results, summary and plots.
    Run(crate::commands::run::RunArgs),
    /// Train an experiment's learned agents on its training scenarios (checkpointed, resumable) and
    /// export their policy files and learning curves.
    Train(crate::commands::train::TrainArgs),
    /// Draw plots from a run folder or a recorded episode trace.
    Plot(crate::commands::plot::PlotArgs),
    /// Evaluate an experiment's agents (no training); `--record` keeps every episode's trace.
    Eval(crate::commands::eval::EvalArgs),
    /// Run another agent against a recorded episode's faults and report the difference.
    Replay(crate::commands::replay::ReplayArgs),
    /// Run one shard of an experiment's jobs (`--shard i/n`); join shards with `mend merge`.
    Sweep(crate::commands::sweep::SweepArgs),
    /// Join sweep shards into one run folder and write its results.
    Merge(crate::commands::merge::MergeArgs),
    /// Rewrite a run folder's summaries and plots from its job files and print summary.md.
    Report(crate::commands::report::ReportArgs),
    /// Work with policy files.
    #[command(subcommand)]
    Policy(crate::commands::policy::PolicyCommand),
    /// Run the live executor on a cluster file's services (shadow mode unless --mode says otherwise).
    Execute(crate::commands::execute::ExecuteArgs),
    /// Start three demo services, Prometheus (if installed) and the executor, and watch it heal them.
    Demo(crate::commands::demo::DemoArgs),
}

/// Flags common to commands that do long work.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// Master seed: one seed gives byte-identical results.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `mend simulate`.
#[derive(Debug, Args)]
#[command(
    after_help = "SCENARIO is a file path or the name of a built-in scenario: tiny, tiny-faults, default, large, renewal, eval-mid-network, eval-large-zones, eval-regional."
)]
pub struct SimulateArgs {
    /// Scenario file or built-in name.
    #[arg(default_value = "default")]
    pub scenario: String,
    /// Write every exogenous event and action as JSON Lines to this file.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Replay the exogenous events of this trace instead of drawing them.
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Common flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `mend scenario ...`.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Validate scenario files; prints every error with its file, field and line.
    Validate {
        /// Files (or built-in names) to check.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Print a scenario (file or built-in) as resolved TOML text.
    Show {
        /// File or built-in name.
        scenario: String,
    },
    /// List the built-in scenarios.
    List,
}

/// `mend bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which workload.
    #[command(subcommand)]
    pub what: BenchWhat,
}

/// Workloads `mend bench` can time.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// The renewal model (N components, one simulated year): events per second.
    Renewal {
        /// Component counts to run.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
        components: Vec<u64>,
    },
    /// The event queue in a hold model: push/pop pairs per second at several queue sizes.
    Queue {
        /// Pending-event counts.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "1000,10000,100000,1000000"
        )]
        pending: Vec<u64>,
    },
    /// Whole scenarios: simulated seconds per wall second.
    Scenario {
        /// Scenarios (files or built-in names).
        #[arg(default_values_t = vec!["default".to_string(), "large".to_string()])]
        scenarios: Vec<String>,
    },
}

/// `mend detect ...`.
#[derive(Debug, Subcommand)]
pub enum DetectCommand {
    /// Score detectors on a NAB-layout folder with NAB's own rules; print the three profile scores.
    Nab(NabArgs),
    /// Tune detectors on training seeds of a simulated scenario and compare them with the static alert
    /// rules on held-out seeds (time to detect, false alerts per day, paired, 95 % intervals).
    Sim(crate::commands::detect::SimArgs),
}

/// `mend detect nab`.
#[derive(Debug, Args)]
pub struct NabArgs {
    /// NAB folder: one sub-folder per category of CSV files (`timestamp,value`).
    #[arg(long)]
    pub data: PathBuf,
    /// Anomaly windows JSON (NAB's combined_windows.json). Default: DATA/combined_windows.json.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Detector name; repeat or omit for all. `artime_nab` is ARTime fed as NAB's runner feeds it
    /// (the file's range and length before the first row: look-ahead, for NAB scoring only).
    #[arg(long = "detector")]
    pub detectors: Vec<String>,
    /// Also run the nested leave-one-file-out of the shift + CAD OSE selection procedure (every
    /// setting and the threshold chosen on the other files; 2,048 candidates, minutes in release)
    /// and write `nested_lofo.json`.
    #[arg(long)]
    pub nested: bool,
    /// Also score a detector's published result files with our scorer (NAB `results/` layout:
    /// `DIR/<category>/<name>_<file>.csv` with an `anomaly_score` column), e.g. Numenta HTM's.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Detector name of the reference results (the file-name prefix).
    #[arg(long, default_value = "numenta")]
    pub reference_name: String,
    /// Folder for per-file results (CSV) and the summary (JSON).
    #[arg(long, default_value = "results/nab")]
    pub out: PathBuf,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `mend audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check a hash-chained audit log; exits non-zero naming the first bad record.
    Verify {
        /// The audit log (JSON Lines).
        file: PathBuf,
    },
}
