//! Which metrics of which entities are watched, and with which detector. The static-threshold
//! baseline is a rule set in the style of the community Prometheus rules
//! (samber/awesome-prometheus-alerts: `up == 0` for 1m, host CPU / memory / disk above 90 % for
//! 5m, error ratio above 5 % for 2m); every adaptive detector watches the same metrics with its
//! own default configuration, so the comparison is like for like.

use crate::detectors::{DetectorConfig, DetectorError, StaticThresholdConfig};
use crate::telemetry::EntityKind;

/// One watched metric: entity kind, metric name and the detector configuration per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRule {
    /// Entities of this kind are watched.
    pub kind: EntityKind,
    /// Prometheus-style metric name.
    pub metric: String,
    /// Detector built (cold) for every entity of `kind` that exports `metric`.
    pub detector: DetectorConfig,
}

/// The watched metrics, in a fixed order.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Rules, checked in order; at most one per (kind, metric).
    pub rules: Vec<MetricRule>,
}

/// A watched metric and its static rule: (kind, metric, upper, lower, `for` seconds).
type Watched = (EntityKind, &'static str, Option<f64>, Option<f64>, f64);

/// Health metrics watched by every rule set.
const WATCHED: [Watched; 11] = [
    (EntityKind::Service, "error_ratio", Some(0.05), None, 120.0),
    (
        EntityKind::Service,
        "latency_p99_seconds",
        Some(1.0),
        None,
        300.0,
    ),
    (EntityKind::Node, "up", None, Some(0.5), 60.0),
    (EntityKind::Node, "cpu_utilization", Some(0.9), None, 300.0),
    (
        EntityKind::Node,
        "memory_utilization",
        Some(0.9),
        None,
        300.0,
    ),
    (EntityKind::Node, "disk_utilization", Some(0.9), None, 300.0),
    (EntityKind::Replica, "up", None, Some(0.5), 60.0),
    (
        EntityKind::Replica,
        "cpu_utilization",
        Some(0.9),
        None,
        300.0,
    ),
    (
        EntityKind::Replica,
        "memory_utilization",
        Some(0.9),
        None,
        300.0,
    ),
    (EntityKind::Replica, "error_ratio", Some(0.05), None, 120.0),
    (
        EntityKind::Replica,
        "latency_p99_seconds",
        Some(1.0),
        None,
        300.0,
    ),
];

impl RuleSet {
    /// The Prometheus-style static-threshold baseline (see the module docs).
    pub fn static_baseline() -> Self {
        RuleSet {
            rules: WATCHED
                .iter()
                .map(|&(kind, metric, upper, lower, for_seconds)| MetricRule {
                    kind,
                    metric: metric.to_owned(),
                    detector: DetectorConfig::StaticThreshold(StaticThresholdConfig {
                        upper,
                        lower,
                        for_seconds,
                    }),
                })
                .collect(),
        }
    }

    /// The named detector (any registry name, e.g. `ewma`, `onset:median_mad`) with its default
    /// configuration on every watched metric; `static_threshold` gives [`RuleSet::static_baseline`];
    /// a parametrised spec such as `median_mad(z=8, for_s=60)` gives that setting's rules
    /// ([`TunedDetector::rules`](super::TunedDetector::rules)).
    pub fn for_detector(name: &str) -> Result<Self, DetectorError> {
        if let Some(tuned) = super::TunedDetector::parse(name)? {
            return Ok(tuned.rules());
        }
        if name == "static_threshold" {
            return Ok(Self::static_baseline());
        }
        let detector = DetectorConfig::default_for(name)?;
        Ok(Self::uniform(detector))
    }

    /// One configuration on every watched metric.
    pub fn uniform(detector: DetectorConfig) -> Self {
        RuleSet {
            rules: WATCHED
                .iter()
                .map(|&(kind, metric, ..)| MetricRule {
                    kind,
                    metric: metric.to_owned(),
                    detector: detector.clone(),
                })
                .collect(),
        }
    }

    /// Checks every rule's detector configuration.
    pub fn validate(&self) -> Result<(), DetectorError> {
        self.rules.iter().try_for_each(|r| r.detector.validate())
    }

    /// The rule for `(kind, metric)`, if watched.
    pub fn rule(&self, kind: EntityKind, metric: &str) -> Option<&MetricRule> {
        self.rules
            .iter()
            .find(|r| r.kind == kind && r.metric == metric)
    }
}
