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
  mend plot trace.jsonl --scenario scenarios/eval/eval-mid-network.toml --out timeline.svg
  mend plot trace.jsonl --detector median_mad               alerts of another detector (`none`: no alerts)")]
pub struct PlotArgs {
    /// A run folder (`results/<experiment>/<run-id>`) or a trace file (JSON Lines).
    pub input: PathBuf,
    /// For a trace: the image to write, `.png` or `.svg` (default: the trace's name with `.png`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// For a trace: its scenario (file or built-in) when the header's name is not a built-in.
    #[arg(long)]
    pub scenario: Option<String>,
    /// For a trace: the detector whose alerts are drawn (a `mend_monitor` registry name, or `none`).
    /// Default: the recorded agent's detector when the trace lies in a run folder
    /// (`<run>/traces/<scenario>/<agent>/...`), else `static_threshold`.
    #[arg(long)]
    pub detector: Option<String>,
}

/// Runs the command.
pub fn run(args: &PlotArgs) -> Result<ExitCode> {
    if args.input.is_dir() {
        if args.out.is_some() || args.scenario.is_some() || args.detector.is_some() {
            bail!(
                "{}: a run folder's plots go to its plots/ folder; --out, --scenario and --detector are for a trace file",
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
    let detector = trace_detector(&args.input, args.detector.as_deref());
    plot_trace(
        &args.input,
        args.scenario.as_deref(),
        detector.as_deref(),
        &out,
    )?;
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// The detector whose alerts a trace's timeline shows: `flag` (`none`: no alerts), else the
/// recorded agent's detector from the run folder's `config.toml` when the trace lies at
/// `<run>/traces/<scenario>/<agent>/<file>`, else `static_threshold` (the default alert rules).
pub fn trace_detector(trace: &Path, flag: Option<&str>) -> Option<String> {
    match flag {
        Some("none") => return None,
        Some(name) => return Some(name.to_string()),
        None => {}
    }
    let from_run = || -> Option<String> {
        let agent_dir = trace.parent()?;
        let run = agent_dir.parent()?.parent()?.parent()?;
        if run.file_name()? == crate::runner::files::TRACES_DIR {
            return None;
        }
        let experiment = crate::experiment::load(Some(&run.join(crate::runner::files::CONFIG)))
            .ok()?
            .0;
        let agent = agent_dir.file_name()?.to_str()?;
        let index = experiment
            .agents
            .iter()
            .position(|a| crate::runner::jobs::slug(a.display_name()) == agent)?;
        Some(experiment.detector_of(index).to_string())
    };
    Some(from_run().unwrap_or_else(|| "static_threshold".to_string()))
}

/// Draws the timeline of the trace at `trace` into `out`, with the alerts of `detector`; warns on
/// stderr when the re-simulation departs from the recording (the SLO state is then approximate).
pub fn plot_trace(
    trace: &Path,
    scenario: Option<&str>,
    detector: Option<&str>,
    out: &Path,
) -> Result<()> {
    let origin = trace.display().to_string();
    let records = traces::read(trace)?;
    let (_, scenario) = traces::scenario_of(&records, scenario, &origin)?;
    let re = plots::resimulate(&scenario, &records, &origin, detector)?;
    if let Some(d) = &re.divergence {
        eprintln!("warning: SLO state is approximate: {d}");
    }
    plots::write_timelines(out, &[("recorded episode".to_string(), &re.timeline)])
}
