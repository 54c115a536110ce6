//! Precursor (trend) features of the window-based prediction studies (`mend detect sim
//! --study precursors`, issue 5, item 5): incidents the simulator produces are often announced by
//! a slow build-up (a memory leak growing to OOM, a latency or error-rate creep before an SLO
//! breach), which a short window of raw feature rows shows poorly. For each watched service
//! column, over the last `trend_window` scrapes:
//! - `delta`: last value minus first value;
//! - `slope`: the ordinary least-squares slope, times `trend_window - 1` (the fitted change over
//!   the window, in the column's units, so it is comparable with `delta` but robust to noise at
//!   the two ends).
//!
//! The watched columns and their a-priori bounds are the monitor's
//! (`mend_monitor::features::risk::trend`, re-exported here). The failure predictor the runner
//! trains for agents (`runner::predictor`) takes its trends from the monitor's `RiskInputs`
//! instead: by timestamp over `trend_seconds`, so the same model fits the simulator's 15 s scrapes,
//! the env's 30 s decisions and the executor's loop. This module keeps the scrape-count windows
//! the published study figures were measured with.

use mend_monitor::features::FeatureSchema;
use mend_monitor::features::risk::least_squares_slope;
pub use mend_monitor::features::risk::{TREND_COLUMNS, TREND_INPUTS, trend_bounds};

/// Indices of [`TREND_COLUMNS`] in `schema` (a column missing from the schema reads as 0).
pub fn trend_column_indices(schema: &FeatureSchema) -> Vec<Option<usize>> {
    TREND_COLUMNS
        .iter()
        .map(|(name, _)| schema.column_index(name))
        .collect()
}

/// Ordinary least-squares slope of `ys` against `0, 1, ..., n - 1`; 0 for fewer than 2 points
/// (the monitor's [`least_squares_slope`] with the sample index as time).
pub fn ols_slope(ys: &[f32]) -> f32 {
    least_squares_slope(
        ys.iter()
            .enumerate()
            .map(|(i, &y)| (i as f64, f64::from(y))),
    ) as f32
}

/// Appends the trend inputs of one service to `out`: `rows` are its feature rows over the trend
/// window, oldest first; `columns` from [`trend_column_indices`].
pub fn push_trends(rows: &[&[f32]], columns: &[Option<usize>], out: &mut Vec<f32>) {
    let mut series = Vec::with_capacity(rows.len());
    for column in columns {
        series.clear();
        series.extend(rows.iter().map(|r| column.map_or(0.0, |c| r[c])));
        let delta = match (series.first(), series.last()) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        let span = series.len().saturating_sub(1) as f32;
        out.push(delta);
        out.push(ols_slope(&series) * span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_and_delta_match_hand_worked_values() {
        // y = 2x + 1 exactly: slope 2, fitted change over 4 points 6, delta 6.
        assert!((ols_slope(&[1.0, 3.0, 5.0, 7.0]) - 2.0).abs() < 1e-6);
        assert_eq!(ols_slope(&[4.0]), 0.0);
        // Two columns: the first rises 0.1 per row, the second is flat with a spike at the end.
        let rows: Vec<[f32; 2]> = vec![[0.0, 1.0], [0.1, 1.0], [0.2, 1.0], [0.3, 2.0]];
        let refs: Vec<&[f32]> = rows.iter().map(|r| &r[..]).collect();
        let mut out = Vec::new();
        push_trends(&refs, &[Some(0), Some(1), None, None], &mut out);
        assert_eq!(out.len(), TREND_INPUTS);
        assert!((out[0] - 0.3).abs() < 1e-6 && (out[1] - 0.3).abs() < 1e-6);
        // Spike: delta 1, but the least-squares change is 0.3 x 3 = 0.9 (slope 0.3).
        assert!((out[2] - 1.0).abs() < 1e-6 && (out[3] - 0.9).abs() < 1e-5);
        assert_eq!(&out[4..], &[0.0; 4]);
        assert_eq!(trend_bounds().len(), TREND_INPUTS);
        let schema = FeatureSchema::builtin();
        assert!(trend_column_indices(&schema).iter().all(Option::is_some));
    }
}
