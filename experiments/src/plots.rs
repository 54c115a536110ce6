//! Plots of a run (plotters, each as PNG and SVG): availability per agent with its 95 % interval,
//! and the MTTR distribution per agent as an empirical CDF. Text uses the bundled DejaVu Sans
//! (`experiments/assets/`, Bitstream Vera licence in `DejaVuSans-LICENSE.txt`), registered once,
//! because plotters is built without system fonts (../shared/CRATES.md).

mod charts;

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use charts::Chart;

use crate::output::write_atomic;
use crate::results::{EpisodeMetrics, Summary};

/// The bundled font.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// Pixel size of every plot.
pub const SIZE: (u32, u32) = (960, 600);

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

/// Writes every plot of a run into `dir`: `availability.{png,svg}`, `mttr_cdf.{png,svg}`.
pub fn write_all(dir: &Path, summary: &Summary, rows: &[EpisodeMetrics]) -> Result<()> {
    register_font()?;
    render(dir, "availability", &Chart::Availability(summary))?;
    let agents: Vec<&str> = summary.agents.iter().map(|a| a.agent.as_str()).collect();
    render(
        dir,
        "mttr_cdf",
        &Chart::MttrCdf {
            agents: &agents,
            rows,
        },
    )?;
    Ok(())
}

/// Draws one chart as `<dir>/<name>.svg` and `<dir>/<name>.png`, each written whole or not at all.
fn render(dir: &Path, name: &str, chart: &Chart<'_>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, SIZE);
        let area = backend.into_drawing_area();
        chart.draw(&area)?;
        area.present().map_err(|e| anyhow!("{name}.svg: {e}"))?;
    }
    write_atomic(&dir.join(format!("{name}.svg")), svg.as_bytes())?;

    let png = dir.join(format!("{name}.png"));
    let temp = dir.join(format!(".{name}.png.tmp-{}.png", std::process::id()));
    {
        let backend = BitMapBackend::new(&temp, SIZE);
        let area = backend.into_drawing_area();
        chart.draw(&area)?;
        area.present().map_err(|e| anyhow!("{name}.png: {e}"))?;
    }
    std::fs::rename(&temp, &png)
        .with_context(|| format!("cannot move {} to {}", temp.display(), png.display()))
}
