//! The candidate grid of the nested leave-one-file-out (session 9, issue 5): every setting that
//! sessions 4-8 chose by looking at NAB scores on the realAWSCloudwatch subset, as axes of one
//! grid, so that [`nested_leave_one_file_out`](super::nested_leave_one_file_out) can re-make all
//! of those choices inside each fold, on the 16 files that are not scored.
//!
//! **This grid was fixed and committed before any nested score was seen.** Axes, and the past
//! choice each covers (values: the subset-chosen one first, then the a-priori one of session 7,
//! [`ShiftConfig::a_priori`]; both configurations are therefore points of the grid):
//! - `shift`'s settings, hand-chosen on the subset in session 4 (its current defaults, see
//!   `detectors/shift.rs`) against their published-default values (session 7):
//!   `warmup` 100 | 388, `short` 6 | 10, `long` 2,016 | 8,640, `quantile` 0.01 | 0.00135,
//!   `spread_floor` 0.02 | 0.05, `range_scale` 0.2 | 0.05, `alert_score` 0.3 | 0.5,
//!   `rest_samples` 288 | 120. `shift_scale` and `dispersion_weight` are 1 in both and stay
//!   fixed (session 4's values for them are not recorded as chosen; the log only shows 1).
//! - how CAD OSE joins `shift`: alone (no CAD); session 5's weighted maximum
//!   `max(shift, w x cad_ose)` with `w` in 0.25, 0.3, 0.35, 0.4 (the list the registered
//!   [`SHIFT_CAD_WEIGHT`](crate::detectors::SHIFT_CAD_WEIGHT) 0.35 was chosen from,
//!   `shift_cad`); session 6's calibrated fusion ([`Fusion`](crate::detectors::Fusion), CAD OSE
//!   at its own alert score 0.75) with joint rest 0, 120 or 288 samples (the three rests scored
//!   before 120 was kept, `shift_cad_calibrated`).
//! - the threshold: NAB's optimiser on the training files, for every candidate.
//!
//! Sessions 7 and 8 chose nothing on the subset (a-priori values; a synthetic tuning corpus), so
//! they add no axis; CAD OSE's own settings are its reference defaults throughout. 2^8 = 256
//! `shift` settings x 8 joins = 2,048 candidates. Each `shift` setting is run once over the
//! corpus and CAD OSE once; the joins are replayed offline from the members' scores
//! ([`fuse_scores`](super::fuse_scores), and the weighted maximum that
//! [`Ensemble`](crate::detectors::Ensemble) computes with `Combine::Max`).

use serde::Serialize;

use crate::detectors::{
    CAD_OSE_REST_SAMPLES, CadOseConfig, Combine, DetectorConfig, EnsembleConfig, FusionConfig,
    SHEWHART_TAIL, ShiftConfig, member_alert_score,
};

/// Values tried per `shift` field: the full product is enumerated (no coordinate search).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NestedShiftAxes {
    /// `warmup` values.
    pub warmup: Vec<usize>,
    /// `short` values.
    pub short: Vec<usize>,
    /// `long` values.
    pub long: Vec<usize>,
    /// `quantile` values.
    pub quantile: Vec<f64>,
    /// `spread_floor` values.
    pub spread_floor: Vec<f64>,
    /// `range_scale` values.
    pub range_scale: Vec<f64>,
    /// `alert_score` values.
    pub alert_score: Vec<f64>,
    /// `rest_samples` values.
    pub rest_samples: Vec<usize>,
}

/// How CAD OSE joins `shift` in a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Join {
    /// `shift` alone.
    ShiftAlone,
    /// `max(shift, weight x cad_ose)` ([`Ensemble`](crate::detectors::Ensemble), `Combine::Max`).
    WeightedMax {
        /// CAD OSE's weight.
        weight: f64,
    },
    /// [`Fusion`](crate::detectors::Fusion) of `shift` and CAD OSE, each calibrated by its own
    /// alert score, with this joint rest.
    Calibrated {
        /// Joint rest in samples.
        rest_samples: usize,
    },
}

/// The whole candidate grid (see the module docs for what each axis covers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NestedGrid {
    /// `shift` settings (product of the axes).
    pub shift: NestedShiftAxes,
    /// Joins with CAD OSE, tried for every `shift` setting.
    pub joins: Vec<Join>,
}

impl Default for NestedGrid {
    /// The grid fixed before any nested score was seen (module docs).
    fn default() -> Self {
        let subset = ShiftConfig::default();
        let apriori = ShiftConfig::a_priori();
        NestedGrid {
            shift: NestedShiftAxes {
                warmup: vec![subset.warmup, apriori.warmup],
                short: vec![subset.short, apriori.short],
                long: vec![subset.long, apriori.long],
                quantile: vec![subset.quantile, SHEWHART_TAIL],
                spread_floor: vec![subset.spread_floor, apriori.spread_floor],
                range_scale: vec![subset.range_scale, apriori.range_scale],
                alert_score: vec![subset.alert_score, apriori.alert_score],
                rest_samples: vec![subset.rest_samples, CAD_OSE_REST_SAMPLES],
            },
            joins: vec![
                Join::ShiftAlone,
                Join::WeightedMax { weight: 0.25 },
                Join::WeightedMax { weight: 0.3 },
                Join::WeightedMax { weight: 0.35 },
                Join::WeightedMax { weight: 0.4 },
                Join::Calibrated { rest_samples: 0 },
                Join::Calibrated { rest_samples: 120 },
                Join::Calibrated { rest_samples: 288 },
            ],
        }
    }
}

impl NestedGrid {
    /// Every `shift` setting of the product, the first axis varying slowest.
    pub fn shift_settings(&self) -> Vec<ShiftConfig> {
        let a = &self.shift;
        let mut out = Vec::new();
        for &warmup in &a.warmup {
            for &short in &a.short {
                for &long in &a.long {
                    for &quantile in &a.quantile {
                        for &spread_floor in &a.spread_floor {
                            for &range_scale in &a.range_scale {
                                for &alert_score in &a.alert_score {
                                    for &rest_samples in &a.rest_samples {
                                        out.push(ShiftConfig {
                                            warmup,
                                            short,
                                            long,
                                            quantile,
                                            spread_floor,
                                            range_scale,
                                            alert_score,
                                            rest_samples,
                                            ..ShiftConfig::default()
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Number of candidates: `shift` settings x joins.
    pub fn len(&self) -> usize {
        self.shift_settings().len() * self.joins.len()
    }

    /// Whether the grid has no candidate.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Candidate `index` as a runnable detector configuration (`shift` setting
    /// `index / joins`, join `index % joins`), or `None` past the end.
    pub fn candidate(&self, index: usize) -> Option<DetectorConfig> {
        let joins = self.joins.len();
        if joins == 0 {
            return None;
        }
        let shift = *self.shift_settings().get(index / joins)?;
        Some(candidate_config(shift, self.joins[index % joins]))
    }
}

/// The detector configuration of `shift` joined with CAD OSE (reference defaults) by `join`.
pub fn candidate_config(shift: ShiftConfig, join: Join) -> DetectorConfig {
    let shift_member = DetectorConfig::Shift(shift);
    let cad_member = DetectorConfig::CadOse(CadOseConfig::default());
    match join {
        Join::ShiftAlone => shift_member,
        Join::WeightedMax { weight } => DetectorConfig::Ensemble(EnsembleConfig {
            members: vec![shift_member, cad_member],
            combine: Combine::Max,
            min_votes: 1,
            weights: vec![1.0, weight],
        }),
        Join::Calibrated { rest_samples } => {
            let alert_scores = vec![
                member_alert_score(&shift_member),
                member_alert_score(&cad_member),
            ];
            DetectorConfig::Fusion(FusionConfig {
                members: vec![shift_member, cad_member],
                alert_scores,
                rest_samples,
            })
        }
    }
}

/// Per-file scores of `join` replayed from the members' per-file scores (the arithmetic of the
/// detector [`candidate_config`] builds).
pub fn join_scores(
    shift: &ShiftConfig,
    join: Join,
    shift_scores: &[Vec<f64>],
    cad_scores: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    match join {
        Join::ShiftAlone => shift_scores.to_vec(),
        Join::WeightedMax { weight } => shift_scores
            .iter()
            .zip(cad_scores)
            .map(|(s, c)| s.iter().zip(c).map(|(p, q)| p.max(weight * q)).collect())
            .collect(),
        Join::Calibrated { rest_samples } => {
            let alert = [
                shift.alert_score,
                member_alert_score(&DetectorConfig::CadOse(CadOseConfig::default())),
            ];
            shift_scores
                .iter()
                .zip(cad_scores)
                .map(|(s, c)| super::fuse_scores(&[s, c], &alert, rest_samples))
                .collect()
        }
    }
}
