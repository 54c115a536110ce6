//! Alert deduplication as a detector wrapper: the wrapped detector's score passes only when it
//! exceeds every score the detector gave in the previous `hold_seconds`, otherwise it is 0; the
//! alert likewise. A sustained anomaly therefore yields one detection at its onset (and again
//! only if it grows), as an operator's pager does: Alertmanager does not re-notify a firing
//! alert before `repeat_interval`, 4 h by default
//! (prometheus.io/docs/alerting/latest/configuration/#route). The sliding-window maximum is a
//! monotone deque: O(1) amortised per sample.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::registry::DetectorConfig;
use super::{Detection, Detector, DetectorError, check};

/// Configuration of [`Onset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnsetConfig {
    /// The wrapped detector. Default: the default [`ensemble`](super::Ensemble).
    pub inner: Box<DetectorConfig>,
    /// How long (seconds) a score suppresses lower or equal ones. Default 14,400 (4 h,
    /// Alertmanager's default `repeat_interval`).
    pub hold_seconds: f64,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        OnsetConfig {
            inner: Box::new(DetectorConfig::Ensemble(Default::default())),
            hold_seconds: 14_400.0,
        }
    }
}

impl OnsetConfig {
    /// Checks the hold and the wrapped configuration.
    pub fn validate(&self) -> Result<(), DetectorError> {
        check(
            self.hold_seconds >= 0.0 && self.hold_seconds.is_finite(),
            "onset",
            "hold_seconds",
            self.hold_seconds,
            "a duration >= 0",
        )?;
        self.inner.validate()
    }
}

/// A detector whose repeated detections are suppressed (see the module docs).
#[derive(Debug)]
pub struct Onset {
    inner: Box<dyn Detector>,
    hold_seconds: f64,
    /// (timestamp, score), scores strictly decreasing from front to back.
    recent: VecDeque<(f64, f64)>,
}

impl Onset {
    /// Builds the wrapped detector after validating the configuration.
    pub fn from_config(config: &OnsetConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Onset {
            inner: config.inner.build()?,
            hold_seconds: config.hold_seconds,
            recent: VecDeque::new(),
        })
    }

    fn filter(&mut self, timestamp: f64, d: Detection) -> Detection {
        while self
            .recent
            .front()
            .is_some_and(|&(t, _)| t <= timestamp - self.hold_seconds)
        {
            self.recent.pop_front();
        }
        let previous_max = self.recent.front().map_or(0.0, |&(_, s)| s);
        while self.recent.back().is_some_and(|&(_, s)| s <= d.score) {
            self.recent.pop_back();
        }
        self.recent.push_back((timestamp, d.score));
        if d.score > previous_max {
            d
        } else {
            Detection::default()
        }
    }
}

impl Detector for Onset {
    fn name(&self) -> &'static str {
        "onset"
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
        self.recent.clear();
    }
}
