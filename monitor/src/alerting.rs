//! Alerting over whole snapshots and its accounting against known fault intervals: the pure half
//! of "detection on simulated faults" (issue 5, item 4). The simulator-driving half lives in
//! `experiments::detection`, because `monitor` does not depend on `sim` (BRIEF §2).
//!
//! ```text
//!  Snapshot ─► EntityDetectors (one cold detector per (entity, metric)) ─► AlertEvent*
//!  AlertEvent* + fault Windows (plain data) ─► account() ─► DetectionOutcome
//!                                                (time to detect per fault, false-alert episodes)
//! ```
//! A rule set is named by a registry name (`median_mad`: defaults on every watched metric) or a
//! parametrised spec (`median_mad(z=8, for_s=60)`, see [`TunedDetector`]); [`RuleSet::for_detector`]
//! takes both.

mod accounting;
mod bank;
mod rules;
mod spec;

pub use accounting::{AccountingConfig, AlertEvent, DetectionOutcome, Window, account};
pub use bank::EntityDetectors;
pub use rules::{MetricRule, RuleSet};
pub use spec::{
    AlertSpecError, SPEC_PARAMETERS, TUNABLE_FAMILIES, TunedDetector, gate_replica_cpu,
    hybrid_rules, metric_floor,
};
