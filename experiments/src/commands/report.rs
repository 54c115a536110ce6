//! `mend report DIR`: rewrite a run folder's results (episodes.csv, summaries, plots) from its job
//! rows and print summary.md, e.g. after editing the summary code or copying rows in by hand.
//! `--paper` prints the paper table instead (the framework arm against the baseline on the seed
//! paper's four claims, per held-out scenario: [`crate::paper`]) and writes it to `paper.md`.
//! `--baseline AGENT` (and `--scenario NAME`) prints the summary with paired differences against
//! another listed agent (on one evaluation scenario) and writes it beside summary.md, leaving
//! summary.md and summary.json as the experiment defines them.

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
  mend report results/default/default-seed0 --paper --framework tabular
  mend report results/agents/agents-seed0 --baseline random --scenario default
                                  paired differences against `random` on `default` alone
                                  (written to summary-vs-random-default.md)")]
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
    /// Take the paired differences against this listed agent instead of `[experiment] baseline`
    /// (written to `summary-vs-AGENT[-SCENARIO].md`; summary.md and summary.json are unchanged).
    #[arg(long, conflicts_with = "paper")]
    pub baseline: Option<String>,
    /// Summarise the episodes of this evaluation scenario only (as written in the experiment, or
    /// its file stem: `eval-regional` for `scenarios/eval/eval-regional.toml`).
    #[arg(long, conflicts_with = "paper")]
    pub scenario: Option<String>,
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
    if args.baseline.is_some() || args.scenario.is_some() {
        let (name, text) = summary_against(args)?;
        write_atomic(&args.dir.join(name), text.as_bytes())?;
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

/// The summary of the run folder against `--baseline` on `--scenario`: (file name, markdown).
fn summary_against(args: &ReportArgs) -> Result<(String, String)> {
    let config = args.dir.join(files::CONFIG);
    let experiment = crate::experiment::load(Some(&config))?.0;
    let agents = experiment.agent_names();
    let baseline = args
        .baseline
        .clone()
        .unwrap_or_else(|| experiment.baseline());
    if !agents.contains(&baseline) {
        anyhow::bail!(
            "--baseline {baseline}: not an agent of {} (agents: {})",
            config.display(),
            agents.join(", ")
        );
    }
    let rows = read_episodes(&args.dir)?;
    let (rows, scenario_suffix) = match &args.scenario {
        None => (rows, String::new()),
        Some(scenario) => {
            let kept: Vec<_> = rows
                .into_iter()
                .filter(|r| &r.scenario == scenario || file_stem_of(&r.scenario) == *scenario)
                .collect();
            if kept.is_empty() {
                anyhow::bail!(
                    "--scenario {scenario}: no episode of {} ran on it (evaluation scenarios: {})",
                    args.dir.join(files::EPISODES).display(),
                    experiment.scenarios.eval.join(", ")
                );
            }
            (kept, format!("-{}", file_stem_of(scenario)))
        }
    };
    let mut run_id = experiment.run_id();
    if let Some(scenario) = &args.scenario {
        run_id.push_str(&format!(", scenario {scenario}"));
    }
    let summary = crate::results::summarise(
        &experiment.experiment.name,
        &run_id,
        &baseline,
        &agents,
        &rows,
    );
    Ok((
        format!("summary-vs-{baseline}{scenario_suffix}.md"),
        crate::results::summary_markdown(&summary),
    ))
}

/// A scenario name or path as a file-name part (`scenarios/eval/x.toml` -> `x`).
fn file_stem_of(scenario: &str) -> String {
    std::path::Path::new(scenario).file_stem().map_or_else(
        || scenario.to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Every episode row of the run folder (`episodes.csv`).
fn read_episodes(dir: &std::path::Path) -> Result<Vec<crate::results::EpisodeMetrics>> {
    let episodes = dir.join(files::EPISODES);
    let bytes =
        std::fs::read(&episodes).with_context(|| format!("cannot read {}", episodes.display()))?;
    crate::results::parse_episodes_csv(&bytes, &episodes.display().to_string())
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
            experiment.agent_names().join(", ")
        ),
    };
    let rows = read_episodes(&args.dir)?;
    let table = crate::paper::paper_table(&experiment, &rows, &framework)?;
    Ok(crate::paper::markdown(&table))
}
