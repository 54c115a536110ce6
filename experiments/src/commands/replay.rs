//! `mend replay TRACE --agent KIND`: run another agent against the exogenous events (fault onsets)
//! of a recorded episode, with the same master seed (so the same traffic), and report the difference
//! against a reference agent (`--against`, default `no-op`) facing the same events.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use mend_envs::ClusterConfig;
use mend_sim::trace::TraceRecord;

use crate::agents_registry;
use crate::experiment::AgentEntry;
use crate::results::{EpisodeMetrics, METRICS};
use crate::runner::episode::{EpisodeJob, run_job};
use crate::{scenarios, traces};

/// `mend replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A trace recorded by `mend eval --record` or `mend simulate --trace`.
    pub trace: PathBuf,
    /// Agent kind to run against the trace's events (see experiments/README.md for kinds).
    #[arg(long)]
    pub agent: String,
    /// Reference agent kind facing the same events.
    #[arg(long, default_value = "no-op")]
    pub against: String,
    /// Scenario (file or built-in) when the trace's scenario name is not a built-in.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Print the two rows and the differences as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: &ReplayArgs) -> Result<ExitCode> {
    let records = traces::read(&args.trace)?;
    let (name, seed) = match records.first() {
        Some(TraceRecord::Header { scenario, seed, .. }) => (scenario.clone(), *seed),
        _ => bail!("{}: no header record", args.trace.display()),
    };
    let scenario_arg = args.scenario.clone().unwrap_or(name);
    let scenario = Arc::new(scenarios::load(&scenario_arg).with_context(|| {
        format!(
            "{}: cannot find the trace's scenario; pass it with --scenario",
            args.trace.display()
        )
    })?);
    let config = ClusterConfig {
        replay: Some(Arc::new(records)),
        ..ClusterConfig::default()
    };
    let replay_one = |kind: &str| -> Result<EpisodeMetrics> {
        let entry = AgentEntry {
            name: None,
            kind: kind.to_string(),
            params: toml::Table::new(),
        };
        let factory = agents_registry::build(&entry, 0, "the command line")?;
        let job = EpisodeJob {
            scenario_name: &scenario_arg,
            agent: kind,
            seed,
            episodes: 1,
        };
        let mut output = run_job(&scenario, &config, factory.as_ref(), job, false)?;
        output
            .rows
            .pop()
            .context("the replayed episode produced no metrics")
    };
    let reference = replay_one(&args.against)?;
    let candidate = replay_one(&args.agent)?;
    if args.json {
        let diff: serde_json::Map<String, serde_json::Value> = METRICS
            .iter()
            .map(|m| {
                (
                    m.key.to_string(),
                    serde_json::json!((m.get)(&candidate) - (m.get)(&reference)),
                )
            })
            .collect();
        let report = serde_json::json!({
            "trace": args.trace.display().to_string(),
            "reference": reference,
            "candidate": candidate,
            "difference": diff,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", difference_table(&reference, &candidate));
    }
    Ok(ExitCode::SUCCESS)
}

/// A table: metric, reference, candidate, candidate minus reference.
pub fn difference_table(reference: &EpisodeMetrics, candidate: &EpisodeMetrics) -> String {
    let mut out = format!(
        "replay of {} seed {}: {} vs {}\n{:<22} {:>14} {:>14} {:>14}\n",
        reference.scenario,
        reference.seed,
        candidate.agent,
        reference.agent,
        "metric",
        reference.agent,
        candidate.agent,
        "difference"
    );
    for m in METRICS {
        let (a, b) = ((m.get)(reference), (m.get)(candidate));
        let d = m.decimals;
        out.push_str(&format!(
            "{:<22} {a:>14.d$} {b:>14.d$} {:>+14.d$}\n",
            m.label,
            b - a
        ));
    }
    out
}
