//! Time to detect per agent as Tukey box plots (`ttd_box`): the box spans the first to the third
//! quartile with a line at the median, whiskers reach the most extreme values within 1.5 IQR of the
//! box, and values beyond them are drawn as points (J. W. Tukey, "Exploratory Data Analysis", 1977).
//! Episodes without a detection (`ttd_s` NaN) are left out; with none at all the plot says so.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::charts::colour;
use crate::results::EpisodeMetrics;

/// TTD box plots, one per agent.
#[derive(Debug)]
pub(crate) struct TtdBoxes<'a> {
    /// Agents in axis order.
    pub agents: &'a [&'a str],
    /// Every episode.
    pub rows: &'a [EpisodeMetrics],
}

/// The five numbers of a box plot and the points beyond the whiskers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoxStats {
    /// Lower whisker: the smallest value >= Q1 - 1.5 IQR.
    pub low: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Upper whisker: the largest value <= Q3 + 1.5 IQR.
    pub high: f64,
    /// Values outside the whiskers.
    pub outliers: Vec<f64>,
    /// Number of values.
    pub n: usize,
}

/// Quantile `p` of sorted values by linear interpolation between order statistics (Hyndman & Fan
/// 1996, definition 7; numpy's and R's default).
pub(crate) fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Box-plot statistics of the finite values; `None` when there are none.
pub(crate) fn box_stats(values: &[f64]) -> Option<BoxStats> {
    let mut xs: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let (q1, median, q3) = (quantile(&xs, 0.25), quantile(&xs, 0.5), quantile(&xs, 0.75));
    let fence = 1.5 * (q3 - q1);
    let inside = |v: &&f64| **v >= q1 - fence && **v <= q3 + fence;
    let low = xs.iter().find(inside).copied().unwrap_or(q1);
    let high = xs.iter().rev().find(inside).copied().unwrap_or(q3);
    let outliers = xs.iter().copied().filter(|v| !inside(&v)).collect();
    Some(BoxStats {
        low,
        q1,
        median,
        q3,
        high,
        outliers,
        n: xs.len(),
    })
}

impl super::Draw for TtdBoxes<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let err = |e: &dyn std::fmt::Display| anyhow!("TTD box plot: {e}");
        area.fill(&WHITE).map_err(|e| err(&e))?;
        let stats: Vec<Option<BoxStats>> = self
            .agents
            .iter()
            .map(|agent| {
                let xs: Vec<f64> = self
                    .rows
                    .iter()
                    .filter(|r| r.agent == *agent)
                    .map(|r| r.ttd_s)
                    .collect();
                box_stats(&xs)
            })
            .collect();
        let top = stats
            .iter()
            .flatten()
            .flat_map(|s| s.outliers.iter().copied().chain([s.high]))
            .fold(0.0f64, f64::max);
        let top = if top > 0.0 { top * 1.1 } else { 60.0 };
        let n = self.agents.len().max(1);
        let mut chart = ChartBuilder::on(area)
            .caption(
                "Time to detect per episode (fault onset to first alert)",
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0.0..top)
            .map_err(|e| err(&e))?;
        let labels: Vec<String> = self
            .agents
            .iter()
            .zip(&stats)
            .map(|(a, s)| format!("{a} (n={})", s.as_ref().map_or(0, |s| s.n)))
            .collect();
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("agent (episodes with a detection)")
            .y_desc("time to detect (seconds)")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 16))
            .disable_x_mesh()
            .draw()
            .map_err(|e| err(&e))?;
        if stats.iter().all(Option::is_none) {
            let (w, h) = area.dim_in_pixel();
            area.draw(&Text::new(
                "no detections (TTD is NaN in every episode)",
                (w as i32 / 2 - 200, h as i32 / 2),
                ("sans-serif", 22).into_font().color(&BLACK.mix(0.7)),
            ))
            .map_err(|e| err(&e))?;
            return Ok(());
        }
        for (i, s) in stats.iter().enumerate() {
            let Some(s) = s else { continue };
            let x = i as f64;
            let c = colour(i);
            let w = 0.25;
            chart
                .draw_series([
                    Rectangle::new([(x - w, s.q1), (x + w, s.q3)], c.mix(0.3).filled()),
                    Rectangle::new([(x - w, s.q1), (x + w, s.q3)], c.stroke_width(2)),
                ])
                .map_err(|e| err(&e))?;
            chart
                .draw_series([
                    PathElement::new(
                        vec![(x - w, s.median), (x + w, s.median)],
                        c.stroke_width(4),
                    ),
                    PathElement::new(vec![(x, s.q3), (x, s.high)], c.stroke_width(2)),
                    PathElement::new(vec![(x, s.q1), (x, s.low)], c.stroke_width(2)),
                    PathElement::new(
                        vec![(x - w / 2.0, s.high), (x + w / 2.0, s.high)],
                        c.stroke_width(2),
                    ),
                    PathElement::new(
                        vec![(x - w / 2.0, s.low), (x + w / 2.0, s.low)],
                        c.stroke_width(2),
                    ),
                ])
                .map_err(|e| err(&e))?;
            chart
                .draw_series(
                    s.outliers
                        .iter()
                        .map(|v| Circle::new((x, *v), 4, c.stroke_width(2))),
                )
                .map_err(|e| err(&e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) = [1.75, 2.5, 3.25].
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&xs, 0.25), 1.75);
        assert_eq!(quantile(&xs, 0.5), 2.5);
        assert_eq!(quantile(&xs, 0.75), 3.25);
    }

    #[test]
    fn box_stats_skip_nan_and_flag_outliers() {
        let xs = [f64::NAN, 10.0, 11.0, 12.0, 13.0, 100.0];
        let s = box_stats(&xs).unwrap();
        assert_eq!(s.n, 5);
        assert_eq!(s.median, 12.0);
        assert_eq!(s.outliers, vec![100.0]);
        assert_eq!(s.high, 13.0);
        assert_eq!(s.low, 10.0);
        assert!(box_stats(&[f64::NAN]).is_none());
    }

    fn row(agent: &str, ttd_s: f64) -> EpisodeMetrics {
        let text = format!(
            "scenario,agent,seed,train_seed,episode,sim_seed,availability,uptime,incidents,faults,ttd_s,false_alerts,mttr_s,cost_usd,data_lost_writes,actions_taken,reward\n\
             s,{agent},1,,0,1,1,1,0,1,{ttd_s},0,60,1,0,0,-1\n"
        );
        crate::results::parse_episodes_csv(text.as_bytes(), "fixture")
            .unwrap()
            .remove(0)
    }

    fn svg(boxes: &TtdBoxes<'_>) -> String {
        super::super::draw_svg(boxes, (640, 400), std::path::Path::new("ttd.svg")).unwrap()
    }

    #[test]
    fn an_empty_plot_says_no_detections() {
        let rows = vec![row("a", f64::NAN), row("b", f64::NAN)];
        let text = svg(&TtdBoxes {
            agents: &["a", "b"],
            rows: &rows,
        });
        assert!(text.contains("no detections"), "{text}");
        let rows = vec![row("a", 30.0), row("b", f64::NAN)];
        let text = svg(&TtdBoxes {
            agents: &["a", "b"],
            rows: &rows,
        });
        assert!(
            !text.contains("no detections") && text.contains("a (n=1)") && text.contains("b (n=0)")
        );
    }
}
