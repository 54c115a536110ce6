//! Plots of a run and of recorded episodes (plotters, each as PNG and SVG): availability per agent
//! with its 95 % interval, the MTTR distribution per agent as an empirical CDF, time to detect as box
//! plots, learning curves with seed bands, and episode timelines (faults, actions, alerts and SLO
//! state per service over time). Text uses the bundled DejaVu Sans (`experiments/assets/`,
//! Bitstream Vera licence in `DejaVuSans-LICENSE.txt`), registered once, because plotters is built
//! without system fonts (../shared/CRATES.md).
//!
//! ```text
//!   episodes.csv ──▶ charts (availability, MTTR CDF) ─┐
//!                └─▶ ttd (box plots)                  ├─▶ render ─▶ plots/<name>.{png,svg}
//!   learning_curves.csv ──▶ learning (seed bands) ────┘
//!   trace.jsonl ──▶ resimulate (SLO state) ──▶ timeline ──▶ render_file ─▶ FILE.{png,svg}
//! ```

mod charts;
pub mod learning;
pub mod resimulate;
pub mod timeline;
mod ttd;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

use charts::Chart;

use crate::output::write_atomic;
use crate::results::{EpisodeMetrics, Summary};

pub use learning::{CurvePoint, parse_learning_curves};
pub use resimulate::{Resimulated, resimulate};
pub use timeline::Timeline;

/// The bundled font.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// Pixel size of every run plot.
pub const SIZE: (u32, u32) = (960, 600);

/// File stems of the plots [`write_all`] draws (each as `.png` and `.svg`).
pub const RUN_PLOTS: [&str; 4] = ["availability", "mttr_cdf", "ttd_box", "learning_curves"];

/// Something that draws itself on any plotters backend (PNG and SVG draw the same thing).
pub(crate) trait Draw {
    /// Draws on `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Registers the bundled font as `sans-serif` (once per process).
pub fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "the bundled font experiments/assets/DejaVuSans.ttf is not a valid font"
        ))
    }
}

/// Writes every plot of a run into `dir` (the run's `plots/` folder): `availability`, `mttr_cdf`,
/// `ttd_box` and `learning_curves`, each as `.png` and `.svg`. The learning curves come from
/// `learning_curves.csv` in `dir`'s parent (the run folder); without that file, or with no rows,
/// the plot says there are none.
pub fn write_all(dir: &Path, summary: &Summary, rows: &[EpisodeMetrics]) -> Result<()> {
    register_font()?;
    render(dir, "availability", &Chart::Availability(summary), SIZE)?;
    let agents: Vec<&str> = summary.agents.iter().map(|a| a.agent.as_str()).collect();
    render(
        dir,
        "mttr_cdf",
        &Chart::MttrCdf {
            agents: &agents,
            rows,
        },
        SIZE,
    )?;
    render(
        dir,
        "ttd_box",
        &ttd::TtdBoxes {
            agents: &agents,
            rows,
        },
        SIZE,
    )?;
    let csv = dir
        .parent()
        .map(|run| run.join(crate::runner::files::LEARNING_CURVES));
    let points = match csv {
        Some(csv) if csv.is_file() => {
            let bytes =
                std::fs::read(&csv).with_context(|| format!("cannot read {}", csv.display()))?;
            parse_learning_curves(&bytes, &csv.display().to_string())?
        }
        _ => Vec::new(),
    };
    write_learning_curves(dir, &points)
}

/// Writes `learning_curves.{png,svg}` into `dir`: one panel per metric, one line per agent (mean
/// over training seeds) with a band from the lowest to the highest seed.
pub fn write_learning_curves(dir: &Path, points: &[CurvePoint]) -> Result<()> {
    register_font()?;
    let curves = learning::LearningCurves::new(points);
    let height = (SIZE.1 as usize).max(80 + 300 * curves.metric_count()) as u32;
    render(dir, "learning_curves", &curves, (SIZE.0, height))
}

/// Redraws every plot of a run folder (`mend plot RUN_DIR`) from its `config.toml`, `episodes.csv`
/// and `learning_curves.csv`; returns the files written.
pub fn redraw_run(run_dir: &Path) -> Result<Vec<PathBuf>> {
    use crate::runner::files;
    let config = run_dir.join(files::CONFIG);
    if !config.is_file() {
        bail!(
            "{}: not a run folder ({} is missing; expected results/<experiment>/<run-id>/ as `mend run` writes it)",
            run_dir.display(),
            files::CONFIG
        );
    }
    let experiment = crate::experiment::load(Some(&config))?.0;
    let episodes = run_dir.join(files::EPISODES);
    let bytes = std::fs::read(&episodes).with_context(|| {
        format!(
            "cannot read {} (run `mend report {}` to rebuild it from the job files)",
            episodes.display(),
            run_dir.display()
        )
    })?;
    let rows = crate::results::parse_episodes_csv(&bytes, &episodes.display().to_string())?;
    let agents = experiment.agent_names();
    let summary = crate::results::summarise(
        &experiment.experiment.name,
        &experiment.run_id(),
        &experiment.baseline(),
        &agents,
        &rows,
    );
    let dir = run_dir.join(files::PLOTS_DIR);
    write_all(&dir, &summary, &rows)?;
    Ok(RUN_PLOTS
        .iter()
        .flat_map(|name| ["png", "svg"].map(|ext| dir.join(format!("{name}.{ext}"))))
        .collect())
}

/// Writes episode timelines to `out` (PNG or SVG by its extension; anything else is an error):
/// one timeline, or several stacked with a shared time axis (a recorded run and its replay).
pub fn write_timelines(out: &Path, timelines: &[(String, &Timeline)]) -> Result<()> {
    register_font()?;
    let chart = timeline::TimelineChart::new(timelines);
    let size = (1200, chart.height());
    match out.extension().and_then(|e| e.to_str()) {
        Some("svg") => {
            let svg = draw_svg(&chart, size, out)?;
            write_atomic(out, svg.as_bytes())
        }
        Some("png") => draw_png(&chart, size, out),
        _ => bail!(
            "{}: unknown plot format; expected a file name ending in .png or .svg",
            out.display()
        ),
    }
}

/// Draws one chart as `<dir>/<name>.svg` and `<dir>/<name>.png`, each written whole or not at all.
fn render(dir: &Path, name: &str, chart: &impl Draw, size: (u32, u32)) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let svg_path = dir.join(format!("{name}.svg"));
    let svg = draw_svg(chart, size, &svg_path)?;
    write_atomic(&svg_path, svg.as_bytes())?;
    draw_png(chart, size, &dir.join(format!("{name}.png")))
}

/// The chart as SVG text (`path` names the file in errors).
fn draw_svg(chart: &impl Draw, size: (u32, u32), path: &Path) -> Result<String> {
    register_font()?;
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, size);
        let area = backend.into_drawing_area();
        chart.draw(&area)?;
        area.present()
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    Ok(svg)
}

/// Draws the chart into a temporary PNG next to `path`, then renames it over `path`.
fn draw_png(chart: &impl Draw, size: (u32, u32), path: &Path) -> Result<()> {
    register_font()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = parent.join(format!(".{stem}.tmp-{}.png", std::process::id()));
    let drawn = (|| -> Result<()> {
        let backend = BitMapBackend::new(&temp, size);
        let area = backend.into_drawing_area();
        chart.draw(&area)?;
        area.present()
            .map_err(|e| anyhow!("{}: {e}", path.display()))
    })();
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    std::fs::rename(&temp, path)
        .with_context(|| format!("cannot move {} to {}", temp.display(), path.display()))
}
