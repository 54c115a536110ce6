//! EWMA mean/variance z-score: the adaptive-threshold detector. The threshold follows the
//! signal: a sample alerts when it lies more than `z_threshold` exponentially weighted standard
//! deviations from the exponentially weighted mean of the samples before it.
//! Updates (exponentially weighted moving average and variance, as in T. Finch, "Incremental
//! calculation of weighted mean and variance", 2009, §9, but with a slower weight for the
//! variance so that a drift raises z before it inflates the variance):
//! `d = x - m; m += a d; v += b (d^2 - v)`. During warm-up `a = max(alpha, 1/n)` and
//! `b = max(variance_alpha, 1/n)`: the first estimates are the plain running mean and mean
//! square (no cold-start bias). After warm-up the deviation entering the variance is clipped at
//! `z_threshold` standard deviations (Huber-type robust scale, P. J. Huber, "Robust
//! Statistics", 1981), so a spike does not blind the detector to the next one.
//!
//! Optional saturation gate (`alert_level`, session 7): a sample alerts only when its value is at
//! or above the level. It exists for utilisations, where a large change far from saturation is
//! not a symptom (held out, a region's load moving to the surviving replicas paged every one of
//! them: `mend_experiments::detection::Candidate::with_replica_cpu_gate`).

use serde::{Deserialize, Serialize};

use super::channels::{Channels, Univariate};
use super::score::{Direction, check_z_settings, score_from_z};
use super::{Detection, DetectorError, check};

/// Configuration of [`Ewma`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EwmaConfig {
    /// Smoothing factor of the mean and variance, in (0, 1]. Default 0.05 (weights halve every
    /// 13.5 samples: about an hour at a 5-minute scrape).
    pub alpha: f64,
    /// Smoothing factor of the variance, in (0, 1]. Default 0.01 (a window of about 200
    /// samples, which keeps the false-alarm rate near its nominal value).
    pub variance_alpha: f64,
    /// Alert when `|z| >= z_threshold`; the score is 0.5 there. Default 4.0: on Gaussian noise
    /// with a known variance, a per-sample false-alarm rate of 6.3e-5.
    pub z_threshold: f64,
    /// Samples observed before the first score (cold start). Default 30.
    pub warmup: u32,
    /// Floor on the standard deviation, relative to `|mean|`, so that a flat signal does not
    /// turn its first wiggle into an infinite z. Default 0.01.
    pub min_std_relative: f64,
    /// Absolute floor on the standard deviation. Default 1e-6.
    pub min_std_absolute: f64,
    /// Which deviations count: both (default), only rises (`up`) or only falls (`down`).
    pub direction: Direction,
    /// Saturation gate: when set, a sample alerts only if its value is at or above this level
    /// (its score is capped just below 0.5 otherwise), whatever the direction. For a
    /// utilisation, a change is a symptom only near saturation (see [`SATURATION_LEVEL`]); a
    /// load shifted onto a replica by a failover elsewhere moves it far in z but not to
    /// saturation. Default none.
    pub alert_level: Option<f64>,
}

/// Utilisation from which a rise is worth a page: 0.8. In an M/M/1 queue the mean time in
/// system is `S / (1 - rho)` (L. Kleinrock, *Queueing Systems*, vol. 1, 1975, §3.2): 5x the
/// service time at 0.8, 10x at 0.9 (the static rules' threshold), so 0.8 is where queueing
/// delay starts to climb steeply; chosen a priori, not tuned.
pub const SATURATION_LEVEL: f64 = 0.8;

impl Default for EwmaConfig {
    fn default() -> Self {
        EwmaConfig {
            alpha: 0.05,
            variance_alpha: 0.01,
            z_threshold: 4.0,
            warmup: 30,
            min_std_relative: 0.01,
            min_std_absolute: 1e-6,
            direction: Direction::Both,
            alert_level: None,
        }
    }
}

impl EwmaConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = EwmaState::NAME;
        check(
            self.alpha > 0.0 && self.alpha <= 1.0,
            n,
            "alpha",
            self.alpha,
            "0 < alpha <= 1",
        )?;
        check(
            self.variance_alpha > 0.0 && self.variance_alpha <= 1.0,
            n,
            "variance_alpha",
            self.variance_alpha,
            "0 < variance_alpha <= 1",
        )?;
        if let Some(level) = self.alert_level {
            check(
                level.is_finite(),
                n,
                "alert_level",
                level,
                "a finite level (or none)",
            )?;
        }
        check_z_settings(
            n,
            self.z_threshold,
            self.min_std_relative,
            self.min_std_absolute,
        )
    }
}

/// Largest score of a gated sample: just below the 0.5 that marks an alert.
const BELOW_ALERT: f64 = 0.5 - 1e-9;

/// One channel of the EWMA detector.
#[derive(Debug, Clone, PartialEq)]
pub struct EwmaState {
    config: EwmaConfig,
    seen: u64,
    mean: f64,
    var: f64,
}

impl EwmaState {
    /// A cold channel.
    pub fn new(config: EwmaConfig) -> Self {
        EwmaState {
            config,
            seen: 0,
            mean: 0.0,
            var: 0.0,
        }
    }

    /// Current mean estimate.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Current standard-deviation estimate (before flooring).
    pub fn std(&self) -> f64 {
        self.var.sqrt()
    }
}

impl Univariate for EwmaState {
    const NAME: &'static str = "ewma";

    #[inline]
    fn step(&mut self, _timestamp: f64, x: f64) -> Detection {
        let c = &self.config;
        let d = x - self.mean;
        let warm = self.seen >= u64::from(c.warmup);
        let floor = (c.min_std_relative * self.mean.abs()).max(c.min_std_absolute);
        let std = self.var.sqrt().max(floor);
        let out = if warm {
            let z = c.direction.deviation(d / std);
            let score = score_from_z(z, c.z_threshold);
            if c.alert_level.is_some_and(|level| x < level) {
                Detection {
                    score: score.min(BELOW_ALERT),
                    alert: false,
                }
            } else {
                Detection {
                    score,
                    alert: z.abs() >= c.z_threshold,
                }
            }
        } else {
            Detection::default()
        };
        self.seen += 1;
        let first = 1.0 / self.seen as f64;
        self.mean += c.alpha.max(first) * d;
        // Huber-type robust variance: after warm-up the deviation is clipped at z_threshold.
        let dv = if warm {
            d.clamp(-c.z_threshold * std, c.z_threshold * std)
        } else {
            d
        };
        self.var += c.variance_alpha.max(first) * (dv * dv - self.var);
        out
    }
}

/// The EWMA z-score detector (one [`EwmaState`] per channel).
pub type Ewma = Channels<EwmaState>;

impl Ewma {
    /// Builds a cold detector after validating the configuration.
    pub fn from_config(config: EwmaConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Channels::new(EwmaState::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::Detector;

    /// A flat series at `level` with small alternating noise, then a step to `after`.
    fn step_alerts(config: EwmaConfig, level: f64, after: f64) -> (bool, bool) {
        let mut d = Ewma::from_config(config).unwrap();
        let mut before = false;
        for i in 0..200 {
            let noise = if i % 2 == 0 { 0.005 } else { -0.005 };
            before |= d.update(i as f64, level + noise).alert;
        }
        let step = d.update(200.0, after);
        assert!(step.score >= 0.0 && step.score <= 1.0);
        (before, step.alert)
    }

    #[test]
    fn the_saturation_gate_silences_steps_that_stay_below_its_level() {
        let gated = EwmaConfig {
            alert_level: Some(SATURATION_LEVEL),
            min_std_absolute: 0.02,
            ..Default::default()
        };
        let open = EwmaConfig {
            alert_level: None,
            ..gated
        };
        // A load shift 0.14 -> 0.6: far in z, short of saturation.
        assert_eq!(step_alerts(open, 0.14, 0.6), (false, true));
        assert_eq!(step_alerts(gated, 0.14, 0.6), (false, false));
        // The same jump into saturation still alerts.
        assert_eq!(step_alerts(gated, 0.14, 0.95), (false, true));
        // A gated sample scores below the alert mark, an open one at or above it.
        let mut d = Ewma::from_config(gated).unwrap();
        for i in 0..200 {
            d.update(i as f64, 0.14);
        }
        assert!(d.update(200.0, 0.6).score < 0.5);
    }

    #[test]
    fn a_non_finite_alert_level_is_rejected_by_field() {
        let bad = EwmaConfig {
            alert_level: Some(f64::NAN),
            ..Default::default()
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("alert_level"), "{e}");
    }
}
