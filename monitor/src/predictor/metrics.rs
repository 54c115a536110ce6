//! Quality of a risk score: precision and recall at a threshold, PR-AUC as average precision
//! (the step-wise area, as scikit-learn's `average_precision_score`:
//! AP = Σ_k (R_k − R_{k−1}) P_k over thresholds at each distinct score), and lead times.

use serde::Serialize;

/// Precision and recall at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrQuality {
    /// Threshold: a score `>=` it is an alarm.
    pub threshold: f32,
    /// TP / (TP + FP); NaN without alarms.
    pub precision: f64,
    /// TP / (TP + FN); NaN without positives.
    pub recall: f64,
    /// Alarms raised.
    pub alarms: usize,
}

/// Precision and recall of `scores >= threshold` against `labels` (> 0.5 is positive).
pub fn pr_at_threshold(scores: &[f32], labels: &[f32], threshold: f32) -> PrQuality {
    let (mut tp, mut fp, mut pos) = (0usize, 0usize, 0usize);
    for (&s, &y) in scores.iter().zip(labels) {
        let positive = y > 0.5;
        pos += usize::from(positive);
        if s >= threshold {
            if positive {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    let ratio = |a: usize, b: usize| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    PrQuality {
        threshold,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, pos),
        alarms: tp + fp,
    }
}

/// Average precision (area under the precision-recall curve, step-wise); NaN without positives.
/// Ties in score are one threshold. Deterministic: a stable sort on the scores.
pub fn average_precision(scores: &[f32], labels: &[f32]) -> f64 {
    let pos = labels.iter().filter(|&&y| y > 0.5).count();
    if pos == 0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut seen, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut k = 0;
    while k < order.len() {
        let s = scores[order[k]];
        while k < order.len() && scores[order[k]] == s {
            tp += usize::from(labels[order[k]] > 0.5);
            seen += 1;
            k += 1;
        }
        let recall = tp as f64 / pos as f64;
        ap += (recall - last_recall) * (tp as f64 / seen as f64);
        last_recall = recall;
    }
    ap
}

/// For each incident start in `incident_starts`, the lead time of the earliest alarm in the
/// `horizon` seconds before it: `start - t` for the first `(t, alarm)` of `series` (time-ordered,
/// one entity) with `alarm` and `start - horizon <= t < start`; `None` when no alarm preceded it.
pub fn lead_times(
    series: &[(f64, bool)],
    incident_starts: &[f64],
    horizon: f64,
) -> Vec<Option<f64>> {
    incident_starts
        .iter()
        .map(|&start| {
            series
                .iter()
                .find(|&&(t, alarm)| alarm && t >= start - horizon && t < start)
                .map(|&(t, _)| start - t)
        })
        .collect()
}
