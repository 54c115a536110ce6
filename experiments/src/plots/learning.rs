//! Learning curves (`learning_curves`) from `learning_curves.csv` (columns exactly
//! `agent,train_seed,global_step,metric,value`, one row per logged value, written by the runner):
//! one panel per metric, one line per agent: the mean over training seeds on a common step grid,
//! with a band from the lowest to the highest seed. Each seed's curve is put on the grid by
//! averaging its values in each grid cell and carrying the last value through empty cells.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

use super::charts::colour;

/// The header `learning_curves.csv` must have.
pub const COLUMNS: [&str; 5] = ["agent", "train_seed", "global_step", "metric", "value"];

/// Bookkeeping rows that are not curves (the runner's cumulative gradient-step counter).
pub const HIDDEN_METRICS: [&str; 1] = ["charts/gradient_steps"];

/// Number of grid cells along the step axis.
const GRID: usize = 60;

/// One row of `learning_curves.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CurvePoint {
    /// Agent name.
    pub agent: String,
    /// Training seed.
    pub train_seed: u64,
    /// Environment steps so far.
    pub global_step: u64,
    /// What was logged (`episodic_return`, `loss`, ...).
    pub metric: String,
    /// The value.
    pub value: f64,
}

/// Parses `learning_curves.csv` text; errors name `origin`, the row and the column.
pub fn parse_learning_curves(bytes: &[u8], origin: &str) -> Result<Vec<CurvePoint>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| anyhow!("{origin}: row 1: cannot read the header: {e}"))?
        .clone();
    let found: Vec<&str> = header.iter().collect();
    if found != COLUMNS {
        bail!(
            "{origin}: row 1: columns are {found:?}; expected exactly {:?}",
            COLUMNS
        );
    }
    let mut points = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| anyhow!("{origin}: row {row}: {e}"))?;
        let point: CurvePoint = record.deserialize(Some(&header)).map_err(|e| {
            let column = match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => err
                    .field()
                    .and_then(|f| COLUMNS.get(f as usize))
                    .map_or(String::new(), |c| format!(" column `{c}`:")),
                _ => String::new(),
            };
            anyhow!("{origin}: row {row}:{column} {e} (expected agent: text, train_seed and global_step: unsigned integers, metric: text, value: a number)")
        })?;
        points.push(point);
    }
    Ok(points)
}

/// One agent's curve for one metric on the grid: mean, lowest and highest seed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Band {
    /// Agent name.
    pub agent: String,
    /// Number of seeds.
    pub seeds: usize,
    /// (step, mean, min, max) at grid cells where some seed has a value.
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// Learning curves grouped by metric.
#[derive(Debug)]
pub(crate) struct LearningCurves {
    /// Per metric (sorted), the bands per agent (in order of first appearance).
    metrics: Vec<(String, Vec<Band>)>,
    /// Agents in order of first appearance (colour order).
    agents: Vec<String>,
}

impl LearningCurves {
    /// Groups and grids the points.
    pub(crate) fn new(points: &[CurvePoint]) -> Self {
        let mut agents: Vec<String> = Vec::new();
        for p in points {
            if !agents.contains(&p.agent) {
                agents.push(p.agent.clone());
            }
        }
        let mut by_metric: BTreeMap<&str, Vec<&CurvePoint>> = BTreeMap::new();
        for p in points
            .iter()
            .filter(|p| p.value.is_finite() && !HIDDEN_METRICS.contains(&p.metric.as_str()))
        {
            by_metric.entry(&p.metric).or_default().push(p);
        }
        let metrics = by_metric
            .into_iter()
            .map(|(metric, pts)| {
                let bands = agents
                    .iter()
                    .filter_map(|agent| {
                        let mine: Vec<&CurvePoint> =
                            pts.iter().copied().filter(|p| &p.agent == agent).collect();
                        (!mine.is_empty()).then(|| band(agent, &mine))
                    })
                    .collect();
                (metric.to_string(), bands)
            })
            .collect();
        Self { metrics, agents }
    }

    /// Number of panels.
    pub(crate) fn metric_count(&self) -> usize {
        self.metrics.len().max(1)
    }
}

/// Grids one agent's points of one metric.
fn band(agent: &str, points: &[&CurvePoint]) -> Band {
    let max_step = points
        .iter()
        .map(|p| p.global_step)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let cell = |step: u64| ((step as f64 / max_step * GRID as f64) as usize).min(GRID - 1);
    let mut per_seed: BTreeMap<u64, Vec<(f64, usize)>> = BTreeMap::new();
    for p in points {
        let cells = per_seed
            .entry(p.train_seed)
            .or_insert_with(|| vec![(0.0, 0); GRID]);
        let c = &mut cells[cell(p.global_step)];
        c.0 += p.value;
        c.1 += 1;
    }
    // Each seed: the cell mean where it logged, the last value carried forward elsewhere (nothing
    // before its first value).
    let seeds: Vec<Vec<Option<f64>>> = per_seed
        .values()
        .map(|cells| {
            let mut last = None;
            cells
                .iter()
                .map(|(sum, n)| {
                    if *n > 0 {
                        last = Some(sum / *n as f64);
                    }
                    last
                })
                .collect()
        })
        .collect();
    let points = (0..GRID)
        .filter_map(|g| {
            let vals: Vec<f64> = seeds.iter().filter_map(|s| s[g]).collect();
            if vals.is_empty() {
                return None;
            }
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Some(((g as f64 + 1.0) / GRID as f64 * max_step, mean, lo, hi))
        })
        .collect();
    Band {
        agent: agent.to_string(),
        seeds: seeds.len(),
        points,
    }
}

impl super::Draw for LearningCurves {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let err = |e: &dyn std::fmt::Display| anyhow!("learning curves: {e}");
        area.fill(&WHITE).map_err(|e| err(&e))?;
        if self.metrics.is_empty() {
            let area = area
                .titled("Learning curves", ("sans-serif", 24))
                .map_err(|e| err(&e))?;
            let (w, h) = area.dim_in_pixel();
            area.draw(&Text::new(
                "no learning curves (no learned agent was trained in this run)",
                (w as i32 / 2 - 290, h as i32 / 2),
                ("sans-serif", 22).into_font().color(&BLACK.mix(0.7)),
            ))
            .map_err(|e| err(&e))?;
            return Ok(());
        }
        let (w, _) = area.dim_in_pixel();
        let (plots, legend) = area.split_horizontally(w.saturating_sub(LEGEND_PX));
        self.draw_legend(&legend)?;
        let panels = plots.split_evenly((self.metrics.len(), 1));
        for ((metric, bands), panel) in self.metrics.iter().zip(&panels) {
            let steps = bands
                .iter()
                .flat_map(|b| b.points.iter().map(|p| p.0))
                .fold(1.0f64, f64::max);
            let lo = bands
                .iter()
                .flat_map(|b| b.points.iter().map(|p| p.2))
                .fold(f64::INFINITY, f64::min);
            let hi = bands
                .iter()
                .flat_map(|b| b.points.iter().map(|p| p.3))
                .fold(f64::NEG_INFINITY, f64::max);
            let (y0, y1) = y_axis(lo, hi);
            let mut chart = ChartBuilder::on(panel)
                .caption(
                    format!("{metric}: mean over training seeds, band from lowest to highest seed"),
                    ("sans-serif", 18),
                )
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d(0.0..steps, y0..y1)
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_desc("environment steps")
                .y_desc(metric.as_str())
                .x_label_formatter(&|x| format_steps(*x))
                .y_label_formatter(&|y| format_value(*y, y0, y1))
                .label_style(("sans-serif", 15))
                .draw()
                .map_err(|e| err(&e))?;
            for band in bands {
                let i = self
                    .agents
                    .iter()
                    .position(|a| *a == band.agent)
                    .unwrap_or(0);
                let c = colour(i);
                let mut outline: Vec<(f64, f64)> = band.points.iter().map(|p| (p.0, p.3)).collect();
                outline.extend(band.points.iter().rev().map(|p| (p.0, p.2)));
                chart
                    .draw_series([Polygon::new(outline, c.mix(0.2).filled())])
                    .map_err(|e| err(&e))?;
                chart
                    .draw_series([PathElement::new(
                        band.points.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
                        c.stroke_width(3),
                    )])
                    .map_err(|e| err(&e))?;
            }
        }
        Ok(())
    }
}

impl LearningCurves {
    /// The legend column: one line per agent, with its seed count.
    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let err = |e: &dyn std::fmt::Display| anyhow!("learning curves: {e}");
        let font = ("sans-serif", 15).into_font();
        area.draw(&Text::new(
            "agents",
            (8, 40),
            ("sans-serif", 16).into_font(),
        ))
        .map_err(|e| err(&e))?;
        for (i, agent) in self.agents.iter().enumerate() {
            let y = 66 + 22 * i as i32;
            let seeds = self
                .metrics
                .iter()
                .flat_map(|(_, bands)| bands.iter())
                .filter(|b| &b.agent == agent)
                .map(|b| b.seeds)
                .max()
                .unwrap_or(0);
            area.draw(&PathElement::new(
                vec![(8, y + 7), (34, y + 7)],
                colour(i).stroke_width(3),
            ))
            .map_err(|e| err(&e))?;
            area.draw(&Text::new(
                format!("{agent} ({seeds} seeds)"),
                (40, y),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
        }
        Ok(())
    }
}

/// Width of the legend column.
const LEGEND_PX: u32 = 170;

/// The y range of a panel whose values span `lo..=hi`: 8 % padding on each side; a constant or
/// near-constant series (a spread below a millionth of its magnitude, e.g. a loss stuck at its
/// initial value, or rounding noise) gets a window of ±5 % of its magnitude (±1 around zero), so
/// the ticks are far enough apart to print as different numbers.
fn y_axis(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let magnitude = lo.abs().max(hi.abs());
    let span = hi - lo;
    if span <= magnitude * 1e-6 || span == 0.0 {
        let mid = (lo + hi) / 2.0;
        let half = if magnitude == 0.0 {
            1.0
        } else {
            magnitude * 0.05
        };
        return (mid - half, mid + half);
    }
    let pad = span * 0.08;
    (lo - pad, hi + pad)
}

/// A tick label on the axis `y0..y1` with as many digits as ticks a tenth of it apart need
/// (plotters draws about ten): fixed-point, or scientific for very small or very large values.
fn format_value(y: f64, y0: f64, y1: f64) -> String {
    let step = ((y1 - y0) / 10.0).max(f64::MIN_POSITIVE);
    // Avoid "-0.00" for a tick at zero.
    let y = if y.abs() < step * 1e-3 { 0.0 } else { y };
    let magnitude = y0.abs().max(y1.abs());
    if step < 1e-4 || magnitude >= 1e6 {
        let exponent = magnitude.log10().floor();
        let decimals = ((-(step / 10f64.powf(exponent)).log10()).ceil() as i64).clamp(0, 8);
        return format!("{y:.prec$e}", prec = decimals as usize);
    }
    let decimals = ((-step.log10()).ceil() as i64).clamp(0, 8) as usize;
    format!("{y:.decimals$}")
}

/// `12000` -> `12k`, `1500000` -> `1.5M`.
fn format_steps(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "agent,train_seed,global_step,metric,value\n\
        ppo,0,100,episodic_return,-10\nppo,0,200,episodic_return,-5\n\
        ppo,1,100,episodic_return,-20\nppo,1,200,episodic_return,-1\n";

    #[test]
    fn parses_and_bands_span_the_seeds() {
        let points = parse_learning_curves(CSV.as_bytes(), "lc.csv").unwrap();
        assert_eq!(points.len(), 4);
        let curves = LearningCurves::new(&points);
        let (metric, bands) = &curves.metrics[0];
        assert_eq!(metric, "episodic_return");
        assert_eq!(bands[0].seeds, 2);
        let last = bands[0].points.last().unwrap();
        assert_eq!((last.1, last.2, last.3), (-3.0, -5.0, -1.0));
        let first = bands[0].points[0];
        assert_eq!((first.1, first.2, first.3), (-15.0, -20.0, -10.0));
    }

    /// Tick labels at ten even steps over the axis of a series spanning `lo..=hi`.
    fn tick_labels(lo: f64, hi: f64) -> Vec<String> {
        let (y0, y1) = y_axis(lo, hi);
        (0..=10)
            .map(|i| format_value(y0 + (y1 - y0) * i as f64 / 10.0, y0, y1))
            .collect()
    }

    #[test]
    fn constant_and_near_constant_series_get_readable_distinct_ticks() {
        for (lo, hi) in [
            (-5.0, -5.0),
            (0.0, 0.0),
            (0.1, 0.1 + 1e-12),
            (1234.5, 1234.5),
            (-637.25, -637.25 + 1e-9),
            (2e-7, 2e-7),
        ] {
            let labels = tick_labels(lo, hi);
            let mut distinct = labels.clone();
            distinct.dedup();
            assert_eq!(distinct.len(), labels.len(), "{lo}..{hi}: {labels:?}");
            assert!(labels.iter().all(|l| l.len() <= 12), "{labels:?}");
            let (y0, y1) = y_axis(lo, hi);
            assert!(y0 < lo && hi < y1, "the value stays inside the axis");
        }
        // A varying series keeps its own range (8 % padding) and whole-number ticks when wide.
        assert_eq!(y_axis(0.0, 100.0), (-8.0, 108.0));
        assert_eq!(format_value(50.0, -8.0, 108.0), "50");
        assert_eq!(format_value(0.5, 0.0, 1.0), "0.5");
        assert_eq!(format_value(2.5e-7, 1e-7, 3e-7), "2.5e-7");
    }

    #[test]
    fn errors_name_row_and_column() {
        let bad = CSV.replace("ppo,1,200,", "ppo,1,two hundred,");
        let e = format!(
            "{:#}",
            parse_learning_curves(bad.as_bytes(), "lc.csv").unwrap_err()
        );
        assert!(
            e.contains("lc.csv: row 5") && e.contains("global_step"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            parse_learning_curves(b"agent,seed,step,value\n", "lc.csv").unwrap_err()
        );
        assert!(e.contains("row 1") && e.contains("expected exactly"), "{e}");
    }
}
