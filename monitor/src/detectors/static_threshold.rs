//! The static threshold with a `for` duration: the Prometheus alert-rule baseline
//! (`expr: value > upper`, `for: 5m`). An alert fires once the condition has held at every
//! sample for at least `for_seconds`, as Prometheus' rule manager does: the alert is pending from
//! the first sample that breaches and fires when `now - active_at >= for`
//! (prometheus.io/docs/prometheus/latest/configuration/alerting_rules/).
//!
//! Score: below the threshold `0.5 * value / upper` clamped to [0, 0.5) (for a lower bound,
//! the mirror); while pending, 0.5 rising linearly to 1 over the `for` duration; firing, 1.

use serde::{Deserialize, Serialize};

use super::channels::{Channels, Univariate};
use super::{Detection, DetectorError, check};

/// Configuration of [`StaticThreshold`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaticThresholdConfig {
    /// Breach when `value > upper`. Default 0.9 (90 % utilisation, the usual CPU rule).
    pub upper: Option<f64>,
    /// Breach when `value < lower`. Default none.
    pub lower: Option<f64>,
    /// How long (seconds) the breach must hold before the alert fires. Default 300 (`for: 5m`).
    pub for_seconds: f64,
}

impl Default for StaticThresholdConfig {
    fn default() -> Self {
        StaticThresholdConfig {
            upper: Some(0.9),
            lower: None,
            for_seconds: 300.0,
        }
    }
}

impl StaticThresholdConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = StaticThresholdState::NAME;
        check(
            self.for_seconds >= 0.0 && self.for_seconds.is_finite(),
            n,
            "for_seconds",
            self.for_seconds,
            "a duration >= 0",
        )?;
        check(
            self.upper.is_some() || self.lower.is_some(),
            n,
            "upper",
            f64::NAN,
            "at least one of `upper` and `lower`",
        )?;
        if let Some(u) = self.upper {
            check(u.is_finite(), n, "upper", u, "a finite number")?;
        }
        if let Some(l) = self.lower {
            check(l.is_finite(), n, "lower", l, "a finite number")?;
        }
        Ok(())
    }
}

/// One channel of the static-threshold rule.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticThresholdState {
    config: StaticThresholdConfig,
    active_at: Option<f64>,
}

impl StaticThresholdState {
    /// A channel with no pending alert.
    pub fn new(config: StaticThresholdConfig) -> Self {
        StaticThresholdState {
            config,
            active_at: None,
        }
    }

    /// How close `x` is to breaching, in [0, 0.5), or `None` when it breaches.
    fn proximity(&self, x: f64) -> Option<f64> {
        let ratio = |num: f64, den: f64| {
            if den.abs() > 0.0 {
                (num / den).clamp(0.0, 0.999_999)
            } else {
                0.0
            }
        };
        let mut near: f64 = 0.0;
        if let Some(u) = self.config.upper {
            if x > u {
                return None;
            }
            near = near.max(if u > 0.0 { ratio(x, u) } else { 0.0 });
        }
        if let Some(l) = self.config.lower {
            if x < l {
                return None;
            }
            near = near.max(if l > 0.0 && x > 0.0 { ratio(l, x) } else { 0.0 });
        }
        Some(0.5 * near)
    }
}

impl Univariate for StaticThresholdState {
    const NAME: &'static str = "static_threshold";

    #[inline]
    fn step(&mut self, timestamp: f64, x: f64) -> Detection {
        match self.proximity(x) {
            Some(score) => {
                self.active_at = None;
                Detection {
                    score,
                    alert: false,
                }
            }
            None => {
                let since = *self.active_at.get_or_insert(timestamp);
                let held = timestamp - since;
                let f = self.config.for_seconds;
                if held >= f {
                    Detection {
                        score: 1.0,
                        alert: true,
                    }
                } else {
                    Detection {
                        score: 0.5 + 0.5 * (held / f).clamp(0.0, 1.0),
                        alert: false,
                    }
                }
            }
        }
    }
}

/// The static-threshold detector (one [`StaticThresholdState`] per channel).
pub type StaticThreshold = Channels<StaticThresholdState>;

impl StaticThreshold {
    /// Builds a detector after validating the configuration.
    pub fn from_config(config: StaticThresholdConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Channels::new(StaticThresholdState::new(config)))
    }
}
