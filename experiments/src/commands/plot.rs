//! `mend plot RUN_DIR` redraws every plot of a run folder (availability, MTTR CDF, TTD box plots,
//! learning curves) from its CSV files; `mend plot TRACE [--out FILE]` draws the timeline of a
//! recorded episode (faults, actions, alerts, SLO state per service), re-simulating the episode for
//! the SLO state.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use crate::{plots, traces};

/// `mend plot`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mend plot results/default/default-seed0                   redraw results/.../plots/*.{png,svg}
  mend plot results/default/default-seed0/traces/default/no-op/seed-1000-ep0.jsonl --out timeline.png
  mend plot trace.jsonl --scenario scenarios/eval/eval-mid-network.toml --out timeline.svg")]
pub struct PlotArgs {
    /// A run folder (`results/<experiment>/<run-id>`) or a trace file (JSON Lines).
    pub input: PathBuf,
    /// For a trace: the image to write, `.png` or `.svg` (default: the trace's name with `.png`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// For a trace: its scenario (file or built-in) when the header's name is not a built-in.
    #[arg(long)]
    pub scenario: Option<String>,
}

/// Runs the command.
pub fn run(args: &PlotArgs) -> Result<ExitCode> {
    if args.input.is_dir() {
        if args.out.is_some() || args.scenario.is_some() {
            bail!(
                "{}: a run folder's plots go to its plots/ folder; --out and --scenario are for a trace file",
                args.input.display()
            );
        }
        for file in plots::redraw_run(&args.input)? {
            println!("{}", file.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.input.exists() {
        bail!(
            "{}: no such file or folder; expected a run folder or a trace file",
            args.input.display()
        );
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.input.with_extension("png"));
    plot_trace(&args.input, args.scenario.as_deref(), &out)?;
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Draws the timeline of the trace at `trace` into `out`; warns on stderr when the re-simulation
/// departs from the recording (the SLO state is then approximate).
pub fn plot_trace(trace: &Path, scenario: Option<&str>, out: &Path) -> Result<()> {
    let origin = trace.display().to_string();
    let records = traces::read(trace)?;
    let (_, scenario) = traces::scenario_of(&records, scenario, &origin)?;
    let re = plots::resimulate(&scenario, &records, &origin)?;
    if let Some(d) = &re.divergence {
        eprintln!("warning: SLO state is approximate: {d}");
    }
    plots::write_timelines(out, &[("recorded episode".to_string(), &re.timeline)])
}
