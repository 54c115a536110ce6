//! The run charts over the summary and episode rows: availability with intervals and the MTTR CDF,
//! generic over the plotters backend (PNG and SVG draw the same thing); the shared agent palette.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::results::{EpisodeMetrics, Summary};

/// A chart of a run.
#[derive(Debug)]
pub(crate) enum Chart<'a> {
    /// Mean availability per agent with its 95 % interval.
    Availability(&'a Summary),
    /// Empirical CDF of per-episode MTTR, one line per agent.
    MttrCdf {
        /// Agents in legend order.
        agents: &'a [&'a str],
        /// Every episode.
        rows: &'a [EpisodeMetrics],
    },
}

/// Line colours per agent (Okabe-Ito palette, readable by colour-blind readers: Okabe & Ito 2008,
/// "Color Universal Design").
const COLOURS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// Colour of agent `i`.
pub(crate) fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

impl super::Draw for Chart<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        area.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        match self {
            Chart::Availability(summary) => availability(area, summary),
            Chart::MttrCdf { agents, rows } => mttr_cdf(area, agents, rows),
        }
    }
}

fn availability<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: &Summary) -> Result<()> {
    let e = |m: &str| -> Vec<(f64, f64, f64)> {
        s.agents
            .iter()
            .map(|a| {
                let est = a.metrics[m];
                let hw = if est.half_width.is_finite() {
                    est.half_width
                } else {
                    0.0
                };
                (est.mean, est.mean - hw, est.mean + hw)
            })
            .collect()
    };
    let points = e("availability");
    let finite: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.1, p.2])
        .filter(|v| v.is_finite())
        .collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        let pad = (hi - lo) * 0.15;
        (lo - pad, (hi + pad).min(1.0 + pad))
    } else if lo.is_finite() {
        (lo - 0.001, hi + 0.001)
    } else {
        (0.0, 1.0)
    };
    let n = s.agents.len();
    // Enough decimals to tell the ticks apart: about two digits below the visible range's magnitude.
    let decimals = ((-(hi - lo).log10()).ceil() as i64 + 2).clamp(2, 7) as usize;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "Availability (request-weighted), mean and 95 % CI: {}",
                s.run_id
            ),
            ("sans-serif", 24),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(100)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..hi)
        .map_err(|e| anyhow!("{e}"))?;
    let names: Vec<String> = s.agents.iter().map(|a| a.agent.clone()).collect();
    chart
        .configure_mesh()
        .x_labels(n.max(1))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .y_desc("share of requests within SLO")
        .x_desc("agent")
        .label_style(("sans-serif", 16))
        .disable_x_mesh()
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (i, (mean, low, high)) in points.iter().enumerate() {
        if !mean.is_finite() {
            continue;
        }
        let x = i as f64;
        let c = colour(i);
        chart
            .draw_series([
                PathElement::new(vec![(x, *low), (x, *high)], c.stroke_width(3)),
                PathElement::new(vec![(x - 0.08, *low), (x + 0.08, *low)], c.stroke_width(3)),
                PathElement::new(
                    vec![(x - 0.08, *high), (x + 0.08, *high)],
                    c.stroke_width(3),
                ),
            ])
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series([Circle::new((x, *mean), 7, c.filled())])
            .map_err(|e| anyhow!("{e}"))?;
    }
    Ok(())
}

fn mttr_cdf<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    agents: &[&str],
    rows: &[EpisodeMetrics],
) -> Result<()> {
    let samples: Vec<Vec<f64>> = agents
        .iter()
        .map(|agent| {
            let mut xs: Vec<f64> = rows
                .iter()
                .filter(|r| r.agent == *agent && r.mttr_s.is_finite())
                .map(|r| r.mttr_s / 60.0)
                .collect();
            xs.sort_by(f64::total_cmp);
            xs
        })
        .collect();
    let max = samples
        .iter()
        .flatten()
        .copied()
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.05;
    let mut chart = ChartBuilder::on(area)
        .caption("MTTR per episode: empirical CDF", ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max, 0.0..1.02)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("mean time to recovery in the episode (minutes)")
        .y_desc("share of episodes")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (i, (agent, xs)) in agents.iter().zip(&samples).enumerate() {
        if xs.is_empty() {
            continue;
        }
        let c = colour(i);
        let n = xs.len() as f64;
        // A step function: at each sorted value the CDF jumps by 1/n.
        let mut path = vec![(0.0, 0.0)];
        for (k, x) in xs.iter().enumerate() {
            path.push((*x, k as f64 / n));
            path.push((*x, (k + 1) as f64 / n));
        }
        path.push((max, 1.0));
        chart
            .draw_series([PathElement::new(path, c.stroke_width(3))])
            .map_err(|e| anyhow!("{e}"))?
            .label(format!("{agent} (n={})", xs.len()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
