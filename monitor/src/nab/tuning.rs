//! Choosing a detector's settings by NAB score on a tuning corpus (session 8): coordinate
//! search over `shift`'s settings, then the weight and joint rest of its fusion with CAD OSE.
//! Every candidate is scored exactly as NAB scores a detector: its threshold optimised for the
//! profile over the whole tuning corpus ([`optimize_threshold`]), the raw score normalised
//! between the null and the perfect detector. The corpus is meant to be one that the detector
//! will *not* be scored on (e.g. [`generate`](super::synthetic::generate)'s), so that the
//! chosen settings say nothing about the scored corpus.
//!
//! Protocol ([`tune_shift_cad`]):
//! 1. start from [`ShiftConfig::a_priori`]; for each field in [`ShiftGrid`]'s order, try every
//!    listed value with the others held, keep the best (ties keep the current value, so a
//!    change must strictly improve); repeat the whole pass `passes` times;
//! 2. with the chosen `shift`, fuse with CAD OSE (reference defaults) as
//!    [`Fusion`](crate::detectors::Fusion) does, trying every CAD alert score (its calibration,
//!    i.e. its weight) and joint rest in [`FusionGrid`]; the fusion is kept only if it beats
//!    `shift` alone.
//!
//! CAD OSE's scores do not depend on any tuned setting, so they are computed once; the fusion is
//! replayed offline by [`fuse_scores`], which equals the detector's arithmetic (tested).

use serde::Serialize;

use crate::detectors::{CadOseConfig, DetectorConfig, FusionConfig, SHEWHART_TAIL, ShiftConfig};

use super::error::NabError;
use super::loader::{NabCorpus, Profile};
use super::runner::detector_scores_for;
use super::scoring::{null_score, optimize_threshold};

/// Values tried per `shift` field (coordinate search, in this order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShiftGrid {
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
    /// `shift_scale` values.
    pub shift_scale: Vec<f64>,
    /// `dispersion_weight` values.
    pub dispersion_weight: Vec<f64>,
    /// `alert_score` values.
    pub alert_score: Vec<f64>,
    /// `rest_samples` values.
    pub rest_samples: Vec<usize>,
}

impl Default for ShiftGrid {
    /// Around the a-priori values: half to double (or more) of each scale, reference windows
    /// from 6 hours to the published 30 days at 5 min, tails from Shewhart's 0.135 % to 10 %
    /// (the edges were widened once, after a first search on the tuning corpus chose the then
    /// shortest windows and widest tail; nothing of NAB's scored data was looked at).
    fn default() -> Self {
        ShiftGrid {
            warmup: vec![100, 388],
            short: vec![2, 3, 4, 6, 10, 20],
            long: vec![72, 144, 288, 1_008, 2_016, 8_640],
            quantile: vec![SHEWHART_TAIL, 0.005, 0.01, 0.02, 0.05, 0.1],
            spread_floor: vec![0.02, 0.05, 0.1],
            range_scale: vec![0.025, 0.05, 0.1, 0.2, 0.4],
            shift_scale: vec![0.5, 1.0, 2.0],
            dispersion_weight: vec![0.0, 0.5, 1.0],
            alert_score: vec![0.3, 0.5, 0.7],
            rest_samples: vec![60, 120, 288],
        }
    }
}

impl ShiftGrid {
    /// Every single-field variant of `base`, field by field: (field name, candidates).
    fn fields(&self, base: &ShiftConfig) -> Vec<(&'static str, Vec<ShiftConfig>)> {
        macro_rules! vary {
            ($field:ident) => {
                (
                    stringify!($field),
                    self.$field
                        .iter()
                        .map(|&v| ShiftConfig { $field: v, ..*base })
                        .collect(),
                )
            };
        }
        vec![
            vary!(warmup),
            vary!(short),
            vary!(long),
            vary!(quantile),
            vary!(spread_floor),
            vary!(range_scale),
            vary!(shift_scale),
            vary!(dispersion_weight),
            vary!(alert_score),
            vary!(rest_samples),
        ]
    }
}

/// Values tried for the fusion with CAD OSE.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FusionGrid {
    /// CAD OSE's alert score `a` in the calibration: a higher value weighs CAD less (its score
    /// `s` counts as `s^(ln 0.5 / ln a)`). `shift` alone is always a candidate too.
    pub cad_alert_score: Vec<f64>,
    /// Joint rest in samples.
    pub rest_samples: Vec<usize>,
}

impl Default for FusionGrid {
    /// CAD OSE at its own threshold 0.75 (no weight), down-weighted to 0.85, 0.95 and 0.99; no
    /// joint rest, CAD OSE's 120 samples, a day.
    fn default() -> Self {
        FusionGrid {
            cad_alert_score: vec![0.75, 0.85, 0.95, 0.99],
            rest_samples: vec![0, 120, 288],
        }
    }
}

/// One evaluated candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuningStep {
    /// Search stage: `shift:<field>` or `fusion`.
    pub stage: String,
    /// The candidate, as a detector configuration.
    pub config: DetectorConfig,
    /// Its normalised NAB score on the tuning corpus (the profile's optimised threshold).
    pub score: f64,
}

/// What [`tune_shift_cad`] chose, and every candidate it scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuningReport {
    /// The profile the choice was made on.
    pub profile: String,
    /// Files and windows of the tuning corpus.
    pub files: usize,
    /// Windows of the tuning corpus.
    pub windows: usize,
    /// The a-priori starting point's score.
    pub start_score: f64,
    /// The chosen `shift`.
    pub shift: ShiftConfig,
    /// Its score.
    pub shift_score: f64,
    /// The best fusion of the chosen `shift` with CAD OSE (at its defaults).
    pub fusion: FusionConfig,
    /// Its score.
    pub fusion_score: f64,
    /// Coordinate-search passes run (the search stops after a pass that changes nothing).
    pub passes_run: usize,
    /// Every candidate in the order scored.
    pub steps: Vec<TuningStep>,
}

impl TuningReport {
    /// The chosen detector: the fusion if it scores strictly above `shift` alone, else `shift`.
    pub fn chosen(&self) -> DetectorConfig {
        if self.fusion_score > self.shift_score {
            DetectorConfig::Fusion(self.fusion.clone())
        } else {
            DetectorConfig::Shift(self.shift)
        }
    }

    /// The chosen detector's score on the tuning corpus.
    pub fn best_score(&self) -> f64 {
        self.fusion_score.max(self.shift_score)
    }
}

/// The normalised NAB score of `scores` on `corpus` for `profile` (threshold optimised over the
/// corpus, as NAB does).
pub fn normalized_score(
    corpus: &NabCorpus,
    scores: &[Vec<f64>],
    profile: &Profile,
    probation_percent: f64,
) -> f64 {
    let best = optimize_threshold(corpus, scores, profile, probation_percent);
    let null = null_score(corpus, profile, probation_percent);
    let perfect = corpus.window_count() as f64 * profile.cost.tp_weight;
    if perfect == null {
        return 0.0;
    }
    100.0 * (best.score - null) / (perfect - null)
}

/// [`Fusion`](crate::detectors::Fusion)'s arithmetic over precomputed member scores of one file:
/// each member's score `s` clamped to [0, 1] and raised to `ln 0.5 / ln a` (its alert score
/// `a`), the maximum kept; a fused score >= 0.5 within `rest_samples` of the last alert reads 0.
pub fn fuse_scores(members: &[&[f64]], alert_scores: &[f64], rest_samples: usize) -> Vec<f64> {
    let exponents: Vec<f64> = alert_scores
        .iter()
        .map(|a| 0.5f64.ln() / a.clamp(1e-9, 1.0 - 1e-9).ln())
        .collect();
    let rows = members.iter().map(|m| m.len()).min().unwrap_or(0);
    let mut last_alert: Option<usize> = None;
    (0..rows)
        .map(|i| {
            let fused = members
                .iter()
                .zip(&exponents)
                .map(|(m, k)| m[i].clamp(0.0, 1.0).powf(*k))
                .fold(0.0f64, f64::max);
            if fused < 0.5 {
                fused
            } else if last_alert.is_some_and(|last| i - last < rest_samples) {
                0.0
            } else {
                last_alert = Some(i);
                fused
            }
        })
        .collect()
}

/// The search's settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuningConfig {
    /// `shift` values per field.
    pub shift: ShiftGrid,
    /// Fusion values.
    pub fusion: FusionGrid,
    /// At most this many coordinate-search passes over the `shift` fields. Default 3.
    pub passes: usize,
}

impl Default for TuningConfig {
    fn default() -> Self {
        TuningConfig {
            shift: ShiftGrid::default(),
            fusion: FusionGrid::default(),
            passes: 3,
        }
    }
}

/// Chooses `shift`'s settings, then its fusion with CAD OSE, by normalised NAB score for
/// `profile` on `corpus` (see the module docs). `progress` is called after each candidate.
pub fn tune_shift_cad(
    corpus: &NabCorpus,
    config: &TuningConfig,
    profile: &Profile,
    probation_percent: f64,
    mut progress: impl FnMut(&TuningStep),
) -> Result<TuningReport, NabError> {
    let mut steps = Vec::new();
    let mut evaluate = |stage: String, c: DetectorConfig, scores: &[Vec<f64>]| {
        let step = TuningStep {
            stage,
            config: c,
            score: normalized_score(corpus, scores, profile, probation_percent),
        };
        progress(&step);
        let s = step.score;
        steps.push(step);
        s
    };

    // ---- 1. coordinate search over shift
    let mut shift = ShiftConfig::a_priori();
    let mut shift_scores = detector_scores_for(corpus, &DetectorConfig::Shift(shift))?;
    let start_score = evaluate("start".into(), DetectorConfig::Shift(shift), &shift_scores);
    let mut shift_score = start_score;
    let mut passes_run = 0;
    for _ in 0..config.passes {
        passes_run += 1;
        let before = shift;
        let fields = config.shift.fields(&shift).len();
        for k in 0..fields {
            // Each field is varied from the current best, so its candidates are built now.
            let (field, candidates) = config.shift.fields(&shift).swap_remove(k);
            for candidate in candidates {
                if candidate == shift {
                    continue;
                }
                let c = DetectorConfig::Shift(candidate);
                let scores = detector_scores_for(corpus, &c)?;
                let s = evaluate(format!("shift:{field}"), c, &scores);
                if s > shift_score {
                    shift = candidate;
                    shift_score = s;
                    shift_scores = scores;
                }
            }
        }
        if shift == before {
            break;
        }
    }

    // ---- 2. fusion with CAD OSE
    let cad = detector_scores_for(corpus, &DetectorConfig::CadOse(CadOseConfig::default()))?;
    let mut best: Option<(FusionConfig, f64)> = None;
    for &cad_alert in &config.fusion.cad_alert_score {
        for &rest in &config.fusion.rest_samples {
            let candidate = FusionConfig {
                members: vec![
                    DetectorConfig::Shift(shift),
                    DetectorConfig::CadOse(CadOseConfig::default()),
                ],
                alert_scores: vec![shift.alert_score, cad_alert],
                rest_samples: rest,
            };
            let fused: Vec<Vec<f64>> = shift_scores
                .iter()
                .zip(&cad)
                .map(|(s, c)| fuse_scores(&[s, c], &candidate.alert_scores, rest))
                .collect();
            let s = evaluate(
                "fusion".into(),
                DetectorConfig::Fusion(candidate.clone()),
                &fused,
            );
            if best.as_ref().is_none_or(|(_, b)| s > *b) {
                best = Some((candidate, s));
            }
        }
    }
    let (fusion, fusion_score) = best.unwrap_or_else(|| {
        // An empty fusion grid: CAD OSE at its own alert score, no joint rest.
        let f = FusionConfig {
            members: vec![
                DetectorConfig::Shift(shift),
                DetectorConfig::CadOse(CadOseConfig::default()),
            ],
            alert_scores: Vec::new(),
            rest_samples: 0,
        };
        (f, f64::NEG_INFINITY)
    });
    Ok(TuningReport {
        profile: profile.name.clone(),
        files: corpus.files.len(),
        windows: corpus.window_count(),
        start_score,
        shift,
        shift_score,
        fusion,
        fusion_score,
        passes_run,
        steps,
    })
}
