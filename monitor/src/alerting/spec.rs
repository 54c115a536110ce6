//! Parametrised alerting detectors: an adaptive z-score detector family with its threshold `z`,
//! its `for` duration and the direction of change that counts, written as one spec string
//! (`median_mad(z=8, for_s=60)`, `ewma(z=4, for_s=120, dir=up)`) that experiment files, the
//! runner, re-simulated timelines and `mend detect sim` all share.
//!
//! `dir=up` scores only rises of each watched metric against its expectation
//! ([`Direction::Up`]); a two-sided detector also alerts when a metric falls back after a fault
//! ends. `dir=auto` sets the direction per metric by what the metric means
//! ([`metric_direction`](crate::detectors::metric_direction)): error ratio and p99 latency are strictly one-sided (a fall is a
//! recovery, never a symptom), while CPU, memory and disk utilisation may move either way in a
//! fault (a crashed or hung process stops using CPU; a restart drops memory), so they stay
//! two-sided.
//!
//! A parametrised detector watches the static baseline's metrics
//! ([`RuleSet::static_baseline`]) with `up` kept on its static rule (a 0/1 signal has no
//! distribution to adapt to), every other metric watched by the family's detector with `z` as
//! its threshold and an a priori absolute floor on its scale ([`metric_floor`]), the alert held
//! `for_s` seconds before it fires (Prometheus' `for` clause:
//! prometheus.io/docs/prometheus/latest/configuration/alerting_rules/). These are the rules the
//! budgeted tuning of `mend detect sim --study tune` searches, so a setting chosen there runs
//! unchanged in an experiment.
//!
//! ```text
//!  "median_mad(z=8, for_s=60)" ─ TunedDetector::parse ─► TunedDetector ─ rules() ─► RuleSet
//!                                    ◄─ Display ───────┘
//! ```

use std::fmt;

use thiserror::Error;

use super::rules::RuleSet;
use crate::detectors::{
    DetectorConfig, DetectorError, Direction, EwmaConfig, HoltWintersConfig, MedianMadConfig,
    MetricDirections, PersistConfig,
};
use crate::telemetry::EntityKind;

/// Detector families that take parameters in a spec: the adaptive z-score detectors.
pub const TUNABLE_FAMILIES: [&str; 3] = ["ewma", "median_mad", "holt_winters"];

/// The parameters a spec may give, with what each must be.
pub const SPEC_PARAMETERS: [(&str, &str); 4] = [
    (
        "z",
        "a finite number > 0: the z-score at which a sample alerts (required)",
    ),
    (
        "for_s",
        "a finite number >= 0: seconds the alert must hold before it fires (default 0)",
    ),
    (
        "dir",
        "up, down, both or auto: the changes that count, rises only, falls only, both, or per metric (auto: rises for error ratio and latency, both ways for utilisations; default both)",
    ),
    (
        "gate",
        "a finite utilisation in (0, 1], ewma only: replica CPU alerts only at or above it (the saturation gate; 0.8 a priori; default none)",
    ),
];

/// Smallest change worth a page per metric, a priori (not tuned): the absolute floor on an
/// adaptive detector's scale. Two points of utilisation, half a point of error ratio, 100 ms of
/// p99 latency. Without it a metric that sits at 0 (error ratio) turns its first blip into an
/// infinite z-score.
///
/// The latency floor is the resolution of a p99 read from a Prometheus histogram: with the
/// client libraries' default buckets (5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s;
/// client_golang `prometheus.DefBuckets`) `histogram_quantile` interpolates linearly inside a
/// bucket, and around typical p99s (0.1-0.5 s) the buckets are 150-250 ms wide, so a change of
/// less than about 100 ms is within one bucket's interpolation. (It was 20 ms until session 6:
/// held out, p99 latency then gave most of the adaptive detectors' false alerts, e.g. replica
/// latency 77.5 per day against the static rule's 7.5 on eval-mid-network; see
/// `mend_experiments::detection::false_alerts_by_metric`.)
pub fn metric_floor(metric: &str) -> f64 {
    match metric {
        "error_ratio" => 0.005,
        "latency_p99_seconds" => LATENCY_FLOOR_SECONDS,
        _ => 0.02,
    }
}

/// [`metric_floor`] of p99 latency, seconds.
const LATENCY_FLOOR_SECONDS: f64 = 0.1;

/// The baseline's metrics, `up` kept on its static rule, every other metric watched by
/// `make(floor)` (floor from [`metric_floor`]) held for `for_seconds` (0: no hold).
pub fn hybrid_rules(make: impl Fn(f64) -> DetectorConfig, for_seconds: f64) -> RuleSet {
    rules_by_metric(|metric| make(metric_floor(metric)), for_seconds)
}

/// The baseline's metrics, `up` kept on its static rule, every other metric watched by
/// `make(metric)` held for `for_seconds` (0: no hold).
fn rules_by_metric(make: impl Fn(&str) -> DetectorConfig, for_seconds: f64) -> RuleSet {
    let mut rules = RuleSet::static_baseline();
    for rule in &mut rules.rules {
        if rule.metric != "up" {
            let inner = make(&rule.metric);
            rule.detector = if for_seconds > 0.0 {
                DetectorConfig::Persist(PersistConfig {
                    inner: Box::new(inner),
                    for_seconds,
                })
            } else {
                inner
            };
        }
    }
    rules
}

/// `rules` with replica CPU's EWMA detector (held or not) gated at `level`: it alerts only when
/// the replica's CPU utilisation is at or above `level` ([`EwmaConfig::alert_level`]; a priori
/// [`crate::detectors::SATURATION_LEVEL`]). Why replica CPU (session 7, false alerts by metric on
/// the held-out `eval-regional`): when a region fails, its load moves to the surviving replicas
/// of every service, whose CPU steps 3-5x (e.g. 0.14 -> 0.63) without reaching saturation; each
/// surviving replica paged once on the way up and often once on the way down, none of them
/// faulty. Node CPU is left ungated: gating it too removed node CPU's false alerts but lost its
/// detections (noisy neighbours on nodes). Other rules are unchanged.
pub fn gate_replica_cpu(rules: &RuleSet, level: f64) -> RuleSet {
    let mut out = rules.clone();
    for rule in &mut out.rules {
        if rule.kind != EntityKind::Replica || rule.metric != "cpu_utilization" {
            continue;
        }
        let inner = match &mut rule.detector {
            DetectorConfig::Persist(p) => p.inner.as_mut(),
            other => other,
        };
        if let DetectorConfig::Ewma(e) = inner {
            e.alert_level = Some(level);
        }
    }
    out
}

/// Why a detector spec was rejected; each message names the parameter and what it must be.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum AlertSpecError {
    /// The text is not `FAMILY(key=value, ...)`.
    #[error(
        "detector spec {text:?}: expected FAMILY(z=NUMBER, for_s=NUMBER), e.g. median_mad(z=8, for_s=60)"
    )]
    Syntax {
        /// The spec given.
        text: String,
    },
    /// Parameters were given to a family that takes none.
    #[error("detector `{family}` takes no parameters: expected one of {}", TUNABLE_FAMILIES.join(", "))]
    NotTunable {
        /// The family named.
        family: String,
    },
    /// A parameter this module does not know.
    #[error("detector `{family}`: unknown parameter `{parameter}`: expected z, for_s, dir or gate")]
    UnknownParameter {
        /// The family.
        family: String,
        /// The parameter given.
        parameter: String,
    },
    /// A parameter given twice.
    #[error("detector `{family}`: parameter `{parameter}` given twice")]
    Duplicate {
        /// The family.
        family: String,
        /// The parameter.
        parameter: &'static str,
    },
    /// A required parameter is missing.
    #[error("detector `{family}`: parameter `{parameter}` is missing: expected {expected}")]
    Missing {
        /// The family.
        family: String,
        /// The parameter.
        parameter: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A parameter's value is out of range or not a number.
    #[error("detector `{family}`: parameter `{parameter}` = {value}: expected {expected}")]
    Invalid {
        /// The family.
        family: String,
        /// The parameter.
        parameter: &'static str,
        /// The value given, as text.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
}

impl AlertSpecError {
    /// The parameter in question, if the error is about one (for field paths such as
    /// `agents[5].detector.z`).
    pub fn parameter(&self) -> Option<&str> {
        match self {
            AlertSpecError::UnknownParameter { parameter, .. } => Some(parameter),
            AlertSpecError::Duplicate { parameter, .. }
            | AlertSpecError::Missing { parameter, .. }
            | AlertSpecError::Invalid { parameter, .. } => Some(parameter),
            AlertSpecError::Syntax { .. } | AlertSpecError::NotTunable { .. } => None,
        }
    }
}

impl From<AlertSpecError> for DetectorError {
    fn from(e: AlertSpecError) -> Self {
        match e {
            AlertSpecError::NotTunable { family } => DetectorError::UnknownDetector {
                name: family,
                expected: format!(
                    "{} (the families that take z and for_s)",
                    TUNABLE_FAMILIES.join(", ")
                ),
            },
            other => DetectorError::InvalidConfig {
                detector: "alerting spec",
                field: "parameters",
                value: other.to_string(),
                expected: "FAMILY(z=NUMBER > 0, for_s=NUMBER >= 0), e.g. median_mad(z=8, for_s=60)",
            },
        }
    }
}

/// An adaptive detector family with its threshold and `for` duration (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct TunedDetector {
    /// One of [`TUNABLE_FAMILIES`].
    pub family: &'static str,
    /// Alert threshold on the family's z-score.
    pub z: f64,
    /// Seconds the alert must hold (0: fires on the first alerting sample).
    pub for_seconds: f64,
    /// The changes that count (both ways on every metric unless the spec says `dir=up`,
    /// `dir=down` or `dir=auto`).
    pub direction: MetricDirections,
    /// Replica CPU's saturation gate (`gate=LEVEL`, EWMA only; see [`gate_replica_cpu`]).
    pub replica_cpu_gate: Option<f64>,
}

fn expected_of(parameter: &str) -> &'static str {
    SPEC_PARAMETERS
        .iter()
        .find(|(p, _)| *p == parameter)
        .map_or("", |(_, e)| e)
}

impl TunedDetector {
    /// A checked setting: `family` one of [`TUNABLE_FAMILIES`], `z` finite and > 0,
    /// `for_seconds` finite and >= 0.
    pub fn new(family: &str, z: f64, for_seconds: f64) -> Result<Self, AlertSpecError> {
        let Some(&family) = TUNABLE_FAMILIES.iter().find(|f| **f == family) else {
            return Err(AlertSpecError::NotTunable {
                family: family.to_owned(),
            });
        };
        if !(z.is_finite() && z > 0.0) {
            return Err(AlertSpecError::Invalid {
                family: family.to_owned(),
                parameter: "z",
                value: z.to_string(),
                expected: expected_of("z"),
            });
        }
        if !(for_seconds.is_finite() && for_seconds >= 0.0) {
            return Err(AlertSpecError::Invalid {
                family: family.to_owned(),
                parameter: "for_s",
                value: for_seconds.to_string(),
                expected: expected_of("for_s"),
            });
        }
        Ok(TunedDetector {
            family,
            z,
            for_seconds,
            direction: MetricDirections::default(),
            replica_cpu_gate: None,
        })
    }

    /// The same setting with replica CPU's alerts gated at utilisation `level` ([`gate_replica_cpu`]);
    /// only the EWMA family has the gate, and `level` must lie in (0, 1].
    pub fn with_replica_cpu_gate(self, level: f64) -> Result<Self, AlertSpecError> {
        if self.family != "ewma" || !(level.is_finite() && level > 0.0 && level <= 1.0) {
            return Err(AlertSpecError::Invalid {
                family: self.family.to_owned(),
                parameter: "gate",
                value: level.to_string(),
                expected: expected_of("gate"),
            });
        }
        Ok(TunedDetector {
            replica_cpu_gate: Some(level),
            ..self
        })
    }

    /// The same setting scoring only the changes in `direction`, on every metric.
    pub fn with_direction(self, direction: Direction) -> Self {
        self.with_directions(MetricDirections::Uniform(direction))
    }

    /// The same setting with `directions` (uniform or per metric).
    pub fn with_directions(self, directions: MetricDirections) -> Self {
        TunedDetector {
            direction: directions,
            ..self
        }
    }

    /// Parses `FAMILY(z=NUMBER, for_s=NUMBER, dir=up|down|both|auto)` (spaces allowed, parameters
    /// in any order, `for_s` and `dir` optional); `Ok(None)` for a plain name without parentheses (a registry name,
    /// left to the registry).
    pub fn parse(text: &str) -> Result<Option<Self>, AlertSpecError> {
        let text = text.trim();
        let Some(open) = text.find('(') else {
            return Ok(None);
        };
        let syntax = || AlertSpecError::Syntax {
            text: text.to_owned(),
        };
        let body = text[open + 1..].strip_suffix(')').ok_or_else(syntax)?;
        let family = text[..open].trim();
        if family.is_empty() {
            return Err(syntax());
        }
        if !TUNABLE_FAMILIES.contains(&family) {
            return Err(AlertSpecError::NotTunable {
                family: family.to_owned(),
            });
        }
        let (mut z, mut for_s, mut direction, mut gate) = (None, None, None, None);
        for item in body.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(syntax)?;
            let (key, value) = (key.trim(), value.trim());
            if key == "dir" {
                if direction.is_some() {
                    return Err(AlertSpecError::Duplicate {
                        family: family.to_owned(),
                        parameter: "dir",
                    });
                }
                direction = Some(MetricDirections::from_name(value).ok_or_else(|| {
                    AlertSpecError::Invalid {
                        family: family.to_owned(),
                        parameter: "dir",
                        value: value.to_owned(),
                        expected: expected_of("dir"),
                    }
                })?);
                continue;
            }
            let slot = match key {
                "z" => &mut z,
                "for_s" => &mut for_s,
                "gate" => &mut gate,
                _ => {
                    return Err(AlertSpecError::UnknownParameter {
                        family: family.to_owned(),
                        parameter: key.to_owned(),
                    });
                }
            };
            let parameter: &'static str = match key {
                "z" => "z",
                "gate" => "gate",
                _ => "for_s",
            };
            if slot.is_some() {
                return Err(AlertSpecError::Duplicate {
                    family: family.to_owned(),
                    parameter,
                });
            }
            let number: f64 = value.parse().map_err(|_| AlertSpecError::Invalid {
                family: family.to_owned(),
                parameter,
                value: value.to_owned(),
                expected: expected_of(parameter),
            })?;
            *slot = Some(number);
        }
        let z = z.ok_or_else(|| AlertSpecError::Missing {
            family: family.to_owned(),
            parameter: "z",
            expected: expected_of("z"),
        })?;
        let spec = Self::new(family, z, for_s.unwrap_or(0.0))?
            .with_directions(direction.unwrap_or_default());
        match gate {
            Some(level) => spec.with_replica_cpu_gate(level).map(Some),
            None => Ok(Some(spec)),
        }
    }

    /// The family's detector at threshold `z` with absolute scale floor `floor`, other
    /// settings at the family's defaults, scoring the changes of a metric without its own
    /// direction (the uniform direction, or both ways under `dir=auto`: see
    /// [`TunedDetector::metric_config`]).
    pub fn inner_config(&self, floor: f64) -> DetectorConfig {
        self.config_with(floor, self.direction.on(""))
    }

    /// The family's detector for `metric`: its floor ([`metric_floor`]) and its direction.
    pub fn metric_config(&self, metric: &str) -> DetectorConfig {
        self.config_with(metric_floor(metric), self.direction.on(metric))
    }

    fn config_with(&self, floor: f64, direction: Direction) -> DetectorConfig {
        match self.family {
            "ewma" => DetectorConfig::Ewma(EwmaConfig {
                z_threshold: self.z,
                min_std_absolute: floor,
                direction,
                ..Default::default()
            }),
            "median_mad" => DetectorConfig::MedianMad(MedianMadConfig {
                z_threshold: self.z,
                min_std_absolute: floor,
                direction,
                ..Default::default()
            }),
            _ => DetectorConfig::HoltWinters(HoltWintersConfig {
                z_threshold: self.z,
                min_std_absolute: floor,
                direction,
                ..Default::default()
            }),
        }
    }

    /// The alert rules of this setting (see the module docs).
    pub fn rules(&self) -> RuleSet {
        let rules = rules_by_metric(|metric| self.metric_config(metric), self.for_seconds);
        match self.replica_cpu_gate {
            Some(level) => gate_replica_cpu(&rules, level),
            None => rules,
        }
    }

    /// The setting as an experiment file's `detector` takes it: an inline TOML table,
    /// `{ name = "median_mad", z = 8.0, for_s = 60.0 }`, or, for a one-sided setting (the table
    /// form holds numbers only), the quoted spec text `"ewma(z=4, for_s=120, dir=up)"`.
    pub fn toml_inline(&self) -> String {
        if self.direction != MetricDirections::default() || self.replica_cpu_gate.is_some() {
            return format!("{:?}", self.to_string());
        }
        format!(
            "{{ name = \"{}\", z = {:?}, for_s = {:?} }}",
            self.family, self.z, self.for_seconds
        )
    }
}

/// The canonical spec text, which [`TunedDetector::parse`] reads back to the same value.
impl fmt::Display for TunedDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}(z={}, for_s={}",
            self.family, self.z, self.for_seconds
        )?;
        if self.direction != MetricDirections::default() {
            write!(f, ", dir={}", self.direction.name())?;
        }
        if let Some(level) = self.replica_cpu_gate {
            write!(f, ", gate={level}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_round_trips_through_parse() {
        for (family, z, for_s) in [
            ("median_mad", 8.0, 60.0),
            ("ewma", 4.5, 0.0),
            ("holt_winters", 12.0, 30.0),
        ] {
            let t = TunedDetector::new(family, z, for_s).unwrap();
            assert_eq!(TunedDetector::parse(&t.to_string()).unwrap(), Some(t));
        }
        let up = TunedDetector::new("ewma", 4.0, 120.0)
            .unwrap()
            .with_direction(Direction::Up);
        assert_eq!(up.to_string(), "ewma(z=4, for_s=120, dir=up)");
        assert_eq!(TunedDetector::parse(&up.to_string()).unwrap(), Some(up));
        // `dir=both` is the default and is not written back.
        let both = TunedDetector::parse("ewma(dir=both, z=4)")
            .unwrap()
            .unwrap();
        assert_eq!(both.to_string(), "ewma(z=4, for_s=0)");
        let spaced = TunedDetector::parse("  ewma( for_s = 30 , z=6 ) ")
            .unwrap()
            .unwrap();
        assert_eq!((spaced.z, spaced.for_seconds), (6.0, 30.0));
        assert_eq!(TunedDetector::parse("median_mad").unwrap(), None);
    }

    #[test]
    fn the_replica_cpu_gate_round_trips_and_gates_only_replica_cpu() {
        let text = "ewma(z=4, for_s=120, dir=auto, gate=0.8)";
        let gated = TunedDetector::parse(text).unwrap().unwrap();
        assert_eq!(gated.replica_cpu_gate, Some(0.8));
        assert_eq!(gated.to_string(), text);
        assert_eq!(
            TunedDetector::parse(&gated.to_string()).unwrap(),
            Some(gated.clone())
        );
        assert_eq!(gated.toml_inline(), format!("{text:?}"));
        let plain = TunedDetector::parse("ewma(z=4, for_s=120, dir=auto)")
            .unwrap()
            .unwrap();
        let (g, p) = (gated.rules(), plain.rules());
        assert_eq!(g.rules.len(), p.rules.len());
        let mut changed = 0;
        for (a, b) in g.rules.iter().zip(&p.rules) {
            if a == b {
                continue;
            }
            changed += 1;
            assert_eq!(
                (a.kind, a.metric.as_str()),
                (EntityKind::Replica, "cpu_utilization")
            );
            let DetectorConfig::Persist(held) = &a.detector else {
                panic!("the gated rule keeps its for hold: {:?}", a.detector)
            };
            let DetectorConfig::Ewma(e) = held.inner.as_ref() else {
                panic!("the gated rule is an EWMA: {:?}", held.inner)
            };
            assert_eq!(e.alert_level, Some(0.8));
        }
        assert_eq!(changed, 1, "exactly the replica CPU rule is gated");
        // Only EWMA has the gate, and the level is a utilisation.
        for bad in [
            "median_mad(z=8, gate=0.8)",
            "ewma(z=4, gate=0)",
            "ewma(z=4, gate=1.5)",
        ] {
            let e = TunedDetector::parse(bad).unwrap_err();
            assert_eq!(e.parameter(), Some("gate"), "{bad}: {e}");
        }
    }

    #[test]
    fn errors_name_the_parameter() {
        let cases = [
            ("median_mad(z=-1)", Some("z")),
            ("median_mad(z=nan)", Some("z")),
            ("median_mad(z=abc)", Some("z")),
            ("median_mad(z=4, for_s=-5)", Some("for_s")),
            ("median_mad(for_s=60)", Some("z")),
            ("median_mad(z=4, z=5)", Some("z")),
            ("median_mad(k=4)", Some("k")),
            ("ewma(z=4, dir=sideways)", Some("dir")),
            ("ewma(z=4, dir=up, dir=down)", Some("dir")),
            ("median_mad(z=4", None),
            ("(z=4)", None),
            ("shift(z=4)", None),
        ];
        for (text, parameter) in cases {
            let err = TunedDetector::parse(text).unwrap_err();
            assert_eq!(err.parameter(), parameter, "{text}: {err}");
            if let Some(p) = parameter {
                assert!(err.to_string().contains(p), "{text}: {err}");
            }
        }
    }

    #[test]
    fn rules_keep_up_static_and_hold_the_rest() {
        let rules = TunedDetector::new("median_mad", 8.0, 60.0).unwrap().rules();
        let baseline = RuleSet::static_baseline();
        assert_eq!(rules.rules.len(), baseline.rules.len());
        for (r, b) in rules.rules.iter().zip(&baseline.rules) {
            assert_eq!((r.kind, &r.metric), (b.kind, &b.metric));
            if r.metric == "up" {
                assert_eq!(r.detector, b.detector);
            } else {
                let DetectorConfig::Persist(p) = &r.detector else {
                    panic!("{}: not held", r.metric);
                };
                assert_eq!(p.for_seconds, 60.0);
                let DetectorConfig::MedianMad(m) = p.inner.as_ref() else {
                    panic!("{}: not median_mad", r.metric);
                };
                assert_eq!(m.z_threshold, 8.0);
                assert_eq!(m.min_std_absolute, metric_floor(&r.metric));
            }
        }
        rules.validate().unwrap();
        // `dir=up` reaches every adaptive detector.
        let up = TunedDetector::parse("median_mad(z=8, dir=up)")
            .unwrap()
            .unwrap()
            .rules();
        for r in up.rules.iter().filter(|r| r.metric != "up") {
            let DetectorConfig::MedianMad(m) = &r.detector else {
                panic!("{}: not median_mad", r.metric);
            };
            assert_eq!(m.direction, Direction::Up, "{}", r.metric);
        }
        // `dir=auto`: rises only on error ratio and latency, both ways on utilisations.
        let auto = TunedDetector::parse("ewma(z=4, for_s=60, dir=auto)")
            .unwrap()
            .unwrap();
        assert_eq!(auto.to_string(), "ewma(z=4, for_s=60, dir=auto)");
        assert_eq!(
            TunedDetector::parse(&auto.to_string()).unwrap(),
            Some(auto.clone())
        );
        assert_eq!(auto.toml_inline(), "\"ewma(z=4, for_s=60, dir=auto)\"");
        let mut seen = [false; 2];
        for r in auto.rules().rules.iter().filter(|r| r.metric != "up") {
            let DetectorConfig::Persist(p) = &r.detector else {
                panic!("{}: not held", r.metric);
            };
            let DetectorConfig::Ewma(e) = p.inner.as_ref() else {
                panic!("{}: not ewma", r.metric);
            };
            let expected = if r.metric.starts_with("error") || r.metric.starts_with("latency") {
                seen[0] = true;
                Direction::Up
            } else {
                seen[1] = true;
                Direction::Both
            };
            assert_eq!(e.direction, expected, "{}", r.metric);
            assert_eq!(e.min_std_absolute, metric_floor(&r.metric), "{}", r.metric);
        }
        assert_eq!(seen, [true, true]);
        // No hold: the bare detector.
        let bare = TunedDetector::new("ewma", 6.0, 0.0).unwrap().rules();
        assert!(
            bare.rules
                .iter()
                .all(|r| !matches!(r.detector, DetectorConfig::Persist(_)))
        );
    }
}
