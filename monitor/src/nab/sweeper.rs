//! NAB's per-row scoring and its threshold sweep, ported line for line from numenta/NAB
//! `nab/sweeper.py` (commit ea702d75): `calcSweepScore` is [`sweep_file`], `calcScoreByThreshold`
//! is [`score_by_threshold`] and `scoreDataSet`'s threshold lookup is [`row_at_threshold`].
//! The order of floating-point sums follows the Python code, so ties in the threshold
//! optimisation break the same way.

use super::loader::{CostMatrix, WindowSpan};

/// NAB's default share of each file that is never scored (`probationaryPercent`, NAB `runner.py`).
pub const PROBATIONARY_PERCENT: f64 = 0.15;

/// Which part of the score a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointLabel {
    /// In the probationary period: never scored.
    Probationary,
    /// Outside every window: a detection here is a false positive.
    Outside,
    /// Inside the window with this corpus-wide id: a detection here is a true positive.
    Window(u32),
}

/// One row after [`sweep_file`] (NAB's `AnomalyPoint`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyPoint {
    /// The detector's anomaly score for the row.
    pub anomaly_score: f64,
    /// What a detection at this row would score (NAB `S(t)` column).
    pub sweep_score: f64,
    /// Where the row lies.
    pub label: PointLabel,
}

/// Score and confusion counts of one threshold (NAB's `ThresholdScore`). Counts are of rows
/// outside the probationary period.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ThresholdScore {
    /// A row is a detection when its anomaly score is `>=` this.
    pub threshold: f64,
    /// NAB raw score.
    pub score: f64,
    /// Detected rows inside windows.
    pub tp: u64,
    /// Undetected rows outside windows.
    pub tn: u64,
    /// Detected rows outside windows.
    pub fp: u64,
    /// Undetected rows inside windows.
    pub fn_: u64,
    /// `tp + tn + fp + fn_`.
    pub total: u64,
}

/// `1 / (1 + e^-x)`.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// NAB's scaled sigmoid of a relative position (`scaledSigmoid`): `2*sigmoid(-5x) - 1`, and
/// `-1` beyond 3 (a false positive far behind any window).
pub fn scaled_sigmoid(relative_position: f64) -> f64 {
    if relative_position > 3.0 {
        -1.0
    } else {
        2.0 * sigmoid(-5.0 * relative_position) - 1.0
    }
}

/// Rows of the probationary period: `min(floor(p * n), p * 5000)` (NAB `_getProbationaryLength`).
pub fn probationary_length(rows: usize, probation_percent: f64) -> f64 {
    (probation_percent * rows as f64)
        .floor()
        .min(probation_percent * 5000.0)
}

/// Scores every row of one file as if it were a detection (NAB `calcSweepScore`).
/// `windows` must be ordered and disjoint (the loader checks); they get ids
/// `first_window_id, first_window_id + 1, ...`.
pub fn sweep_file(
    anomaly_scores: &[f64],
    windows: &[WindowSpan],
    cost: &CostMatrix,
    probation_percent: f64,
    first_window_id: u32,
) -> Vec<AnomalyPoint> {
    let max_tp = scaled_sigmoid(-1.0);
    let probation = probationary_length(anomaly_scores.len(), probation_percent);
    let mut next_window = 0usize;
    let mut current: Option<(u32, WindowSpan)> = None;
    let mut previous: Option<WindowSpan> = None;
    let mut out = Vec::with_capacity(anomaly_scores.len());
    for (i, &anomaly_score) in anomaly_scores.iter().enumerate() {
        if current.is_none() && next_window < windows.len() && windows[next_window].start == i {
            current = Some((first_window_id + next_window as u32, windows[next_window]));
            next_window += 1;
        }
        let (label, sweep_score) = match current {
            Some((id, w)) => {
                let width = w.width() as f64;
                let position = -((w.end as f64) - (i as f64) + 1.0) / width;
                let unweighted = scaled_sigmoid(position);
                (PointLabel::Window(id), unweighted * cost.tp_weight / max_tp)
            }
            None => {
                let unweighted = match previous {
                    None => -1.0,
                    Some(p) => {
                        let numerator = (i as f64 - p.end as f64).abs();
                        // Python divides by zero for a one-row window; infinity scores -1 here.
                        let denominator = p.width() as f64 - 1.0;
                        scaled_sigmoid(numerator / denominator)
                    }
                };
                (PointLabel::Outside, unweighted * cost.fp_weight)
            }
        };
        let label = if (i as f64) >= probation {
            label
        } else {
            PointLabel::Probationary
        };
        out.push(AnomalyPoint {
            anomaly_score,
            sweep_score,
            label,
        });
        if let Some((_, w)) = current
            && w.end == i
        {
            previous = Some(w);
            current = None;
        }
    }
    out
}

/// The NAB score and counts at every distinct threshold, from `1.1` (no detection) down to the
/// lowest anomaly score (NAB `calcScoreByThreshold`). `points` may hold several files.
pub fn score_by_threshold(points: &[AnomalyPoint], cost: &CostMatrix) -> Vec<ThresholdScore> {
    // prepAnomalyListForScoring: drop probation, stable sort by score, highest first.
    let mut scorable: Vec<&AnomalyPoint> = points
        .iter()
        .filter(|p| p.label != PointLabel::Probationary)
        .collect();
    scorable.sort_by(|a, b| b.anomaly_score.total_cmp(&a.anomaly_score));

    // _prepareScoreByThresholdParts: {"fp": 0, window: -fnWeight, ...} in first-seen order.
    let max_id = scorable
        .iter()
        .filter_map(|p| match p.label {
            PointLabel::Window(id) => Some(id as usize + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut part_of_window: Vec<Option<usize>> = vec![None; max_id];
    let mut parts: Vec<f64> = vec![0.0];
    for p in &scorable {
        if let PointLabel::Window(id) = p.label
            && part_of_window[id as usize].is_none()
        {
            part_of_window[id as usize] = Some(parts.len());
            parts.push(-cost.fn_weight);
        }
    }

    let mut tn = scorable
        .iter()
        .filter(|p| p.label == PointLabel::Outside)
        .count() as u64;
    let mut fn_ = scorable.len() as u64 - tn;
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut threshold = 1.1;
    let mut out = Vec::new();
    let total_of = |parts: &[f64]| parts.iter().fold(0.0, |acc, v| acc + v);
    for p in &scorable {
        if p.anomaly_score != threshold {
            out.push(ThresholdScore {
                threshold,
                score: total_of(&parts),
                tp,
                tn,
                fp,
                fn_,
                total: tp + tn + fp + fn_,
            });
            threshold = p.anomaly_score;
        }
        match p.label {
            PointLabel::Window(id) => {
                tp += 1;
                fn_ -= 1;
                let k = part_of_window[id as usize].unwrap_or(0);
                parts[k] = parts[k].max(p.sweep_score);
            }
            _ => {
                fp += 1;
                tn -= 1;
                parts[0] += p.sweep_score;
            }
        }
    }
    out.push(ThresholdScore {
        threshold,
        score: total_of(&parts),
        tp,
        tn,
        fp,
        fn_,
        total: tp + tn + fp + fn_,
    });
    out
}

/// The row of [`score_by_threshold`]'s output that applies at `threshold` (NAB
/// `scoreDataSet`): the row with exactly that threshold, else the last row above it. Where
/// Python would fail (threshold above 1.1, or below every anomaly score) this returns the
/// no-detection row, respectively the all-detections row.
pub fn row_at_threshold(rows: &[ThresholdScore], threshold: f64) -> ThresholdScore {
    let mut prev: Option<&ThresholdScore> = None;
    for row in rows {
        if row.threshold == threshold {
            return *row;
        }
        if row.threshold < threshold {
            return *prev.unwrap_or(row);
        }
        prev = Some(row);
    }
    // `rows` is never empty: score_by_threshold always pushes the final row.
    rows.last().copied().unwrap_or(ThresholdScore {
        threshold,
        score: 0.0,
        tp: 0,
        tn: 0,
        fp: 0,
        fn_: 0,
        total: 0,
    })
}

/// The best row of a sweep (NAB `optimizeThreshold`): highest score; among equal scores the
/// first, i.e. the highest threshold (Python's stable sort keeps sweep order).
pub fn best_row(rows: &[ThresholdScore]) -> Option<ThresholdScore> {
    let mut best: Option<ThresholdScore> = None;
    for row in rows {
        if best.is_none_or(|b| row.score > b.score) {
            best = Some(*row);
        }
    }
    best
}
