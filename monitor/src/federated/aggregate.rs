//! Aggregation rules over client updates: FedAvg (sample-weighted mean, McMahan et al. 2017),
//! coordinate-wise median and coordinate-wise β-trimmed mean (Yin et al., ICML 2018), the two
//! Byzantine-robust rules.

use serde::Serialize;

use super::client::ModelUpdate;

/// How the server combines updates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Aggregator {
    /// Sample-weighted mean.
    FedAvg,
    /// Coordinate-wise median (mean of the two middle values for an even count).
    Median,
    /// Coordinate-wise mean after dropping the `trim` largest and `trim` smallest values.
    TrimmedMean {
        /// Values dropped at each end (must leave at least one).
        trim: usize,
    },
}

impl Aggregator {
    /// Combines `updates` (all of one length) into one delta; empty input gives an empty delta.
    pub fn combine(&self, updates: &[ModelUpdate]) -> Vec<f32> {
        let Some(first) = updates.first() else {
            return Vec::new();
        };
        let dim = first.delta.len();
        match *self {
            Aggregator::FedAvg => {
                let total: usize = updates.iter().map(|u| u.samples).sum();
                let mut out = vec![0.0f64; dim];
                for u in updates {
                    let w = if total > 0 {
                        u.samples as f64 / total as f64
                    } else {
                        1.0 / updates.len() as f64
                    };
                    for (o, d) in out.iter_mut().zip(&u.delta) {
                        *o += w * f64::from(*d);
                    }
                }
                out.into_iter().map(|x| x as f32).collect()
            }
            Aggregator::Median | Aggregator::TrimmedMean { .. } => {
                let n = updates.len();
                let trim = match *self {
                    Aggregator::TrimmedMean { trim } => trim.min((n - 1) / 2),
                    _ => 0,
                };
                let mut column = vec![0.0f32; n];
                (0..dim)
                    .map(|j| {
                        for (c, u) in column.iter_mut().zip(updates) {
                            *c = u.delta[j];
                        }
                        column.sort_by(f32::total_cmp);
                        if matches!(self, Aggregator::Median) {
                            if n % 2 == 1 {
                                column[n / 2]
                            } else {
                                0.5 * (column[n / 2 - 1] + column[n / 2])
                            }
                        } else {
                            let kept = &column[trim..n - trim];
                            kept.iter().sum::<f32>() / kept.len() as f32
                        }
                    })
                    .collect()
            }
        }
    }
}
