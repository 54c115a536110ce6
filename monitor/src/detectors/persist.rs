//! A `for` duration around any detector, as a Prometheus alerting rule has
//! (prometheus.io/docs/prometheus/latest/configuration/alerting_rules/: "alerts are considered
//! firing once they have been returned for this long"): the wrapped detector's alert is passed on
//! only once it has held on every sample for `for_seconds`. A lone noisy sample no longer pages;
//! a real change costs `for_seconds` of extra delay. Scores pass through unchanged.

use serde::{Deserialize, Serialize};

use super::registry::DetectorConfig;
use super::{Detection, Detector, DetectorError, check};

/// Configuration of [`Persist`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistConfig {
    /// The wrapped detector. Default: [`ewma`](super::Ewma) with its defaults.
    pub inner: Box<DetectorConfig>,
    /// Seconds the inner alert must hold. Default 60 (the shortest `for` of the baseline rules).
    pub for_seconds: f64,
}

impl Default for PersistConfig {
    fn default() -> Self {
        PersistConfig {
            inner: Box::new(DetectorConfig::Ewma(Default::default())),
            for_seconds: 60.0,
        }
    }
}

impl PersistConfig {
    /// Checks the duration and the wrapped configuration.
    pub fn validate(&self) -> Result<(), DetectorError> {
        check(
            self.for_seconds >= 0.0 && self.for_seconds.is_finite(),
            "persist",
            "for_seconds",
            self.for_seconds,
            "a duration >= 0",
        )?;
        self.inner.validate()
    }
}

/// A detector whose alerts must persist (see the module docs).
#[derive(Debug)]
pub struct Persist {
    inner: Box<dyn Detector>,
    for_seconds: f64,
    /// When the current unbroken run of inner alerts started.
    since: Option<f64>,
}

impl Persist {
    /// Builds the wrapped detector after validating the configuration.
    pub fn from_config(config: &PersistConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Persist {
            inner: config.inner.build()?,
            for_seconds: config.for_seconds,
            since: None,
        })
    }

    fn filter(&mut self, timestamp: f64, d: Detection) -> Detection {
        if d.alert {
            let start = *self.since.get_or_insert(timestamp);
            Detection {
                score: d.score,
                alert: timestamp - start >= self.for_seconds,
            }
        } else {
            self.since = None;
            d
        }
    }
}

impl Detector for Persist {
    fn name(&self) -> &'static str {
        "persist"
    }

    fn update(&mut self, timestamp: f64, value: f64) -> Detection {
        if !value.is_finite() {
            return Detection::default();
        }
        let d = self.inner.update(timestamp, value);
        self.filter(timestamp, d)
    }

    fn update_vector(
        &mut self,
        timestamp: f64,
        values: &[f64],
    ) -> Result<Detection, DetectorError> {
        let d = self.inner.update_vector(timestamp, values)?;
        Ok(self.filter(timestamp, d))
    }

    fn reset(&mut self) {
        self.inner.reset();
        self.since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::StaticThresholdConfig;

    fn instant_static() -> Box<DetectorConfig> {
        Box::new(DetectorConfig::StaticThreshold(StaticThresholdConfig {
            upper: Some(1.0),
            lower: None,
            for_seconds: 0.0,
        }))
    }

    #[test]
    fn alert_waits_for_the_duration_and_a_gap_restarts_it() {
        let mut d = Persist::from_config(&PersistConfig {
            inner: instant_static(),
            for_seconds: 30.0,
        })
        .unwrap();
        let alerts: Vec<bool> = [
            (0.0, 2.0),
            (15.0, 2.0),
            (30.0, 2.0),
            (45.0, 0.0),
            (60.0, 2.0),
        ]
        .iter()
        .map(|&(t, v)| d.update(t, v).alert)
        .collect();
        assert_eq!(alerts, [false, false, true, false, false]);
    }

    #[test]
    fn zero_duration_passes_alerts_through() {
        let mut d = Persist::from_config(&PersistConfig {
            inner: instant_static(),
            for_seconds: 0.0,
        })
        .unwrap();
        assert!(d.update(0.0, 2.0).alert);
        assert!(!d.update(15.0, 0.5).alert);
    }
}
