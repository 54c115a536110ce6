//! `mend report DIR`: rewrite a run folder's results (episodes.csv, summaries, plots) from its job
//! rows and print summary.md, e.g. after editing the summary code or copying rows in by hand.
//! `--paper` prints the paper table instead (the framework arm against the baseline on the seed
//! paper's four claims, per held-out scenario: [`crate::paper`]) and writes it to `paper.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::output::write_atomic;
use crate::runner::{self, files};

/// `mend report`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mend report results/default/default-seed0              rewrite the results, print summary.md
  mend report results/paper/paper-seed0 --paper          print the paper table (paper.md)
  mend report results/default/default-seed0 --paper --framework tabular")]
pub struct ReportArgs {
    /// Run folder (`results/<experiment>/<run-id>`).
    pub dir: PathBuf,
    /// Print the paper table (framework arm vs the baseline on the seed paper's four claims, per
    /// held-out scenario, with 95 % intervals) and write it to `paper.md` in the run folder.
    #[arg(long)]
    pub paper: bool,
    /// With --paper: the agent standing for the framework (default: `[experiment] framework`).
    #[arg(long, requires = "paper")]
    pub framework: Option<String>,
}

/// Runs the command.
pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    runner::finish(&args.dir)?;
    if args.paper {
        let text = paper_markdown(args)?;
        write_atomic(&args.dir.join(files::PAPER_MD), text.as_bytes())?;
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let md = args.dir.join(files::SUMMARY_MD);
    print!(
        "{}",
        std::fs::read_to_string(&md).with_context(|| format!("cannot read {}", md.display()))?
    );
    Ok(ExitCode::SUCCESS)
}

/// The paper table of the run folder, for the framework agent the flags or the experiment name.
fn paper_markdown(args: &ReportArgs) -> Result<String> {
    let config = args.dir.join(files::CONFIG);
    let experiment = crate::experiment::load(Some(&config))?.0;
    let framework = match args
        .framework
        .clone()
        .or_else(|| experiment.experiment.framework.clone())
    {
        Some(f) => f,
        None => anyhow::bail!(
            "{}: which agent is the framework arm? Give --framework NAME or set `framework` in \
             [experiment] (agents: {})",
            config.display(),
            experiment
                .agents
                .iter()
                .map(|a| a.display_name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let episodes = args.dir.join(files::EPISODES);
    let bytes =
        std::fs::read(&episodes).with_context(|| format!("cannot read {}", episodes.display()))?;
    let rows = crate::results::parse_episodes_csv(&bytes, &episodes.display().to_string())?;
    let table = crate::paper::paper_table(&experiment, &rows, &framework)?;
    Ok(crate::paper::markdown(&table))
}
