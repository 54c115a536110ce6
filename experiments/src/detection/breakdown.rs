//! Where a rule set's false alerts come from: each watched (entity kind, metric) run alone over
//! the same simulated runs, with the same accounting, so the per-metric false alerts per day
//! show which signals an adaptive detector pages on without a fault. Episodes are per entity, so
//! the per-metric figures add up to at least the whole rule set's (an entity paged by two
//! metrics at once is one episode for the set, one per metric here).

use mend_monitor::alerting::RuleSet;
use serde::Serialize;

use super::SimulatedRun;
use super::tuned::{mean_of, measure};

/// One watched metric's share of the false alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricFalseAlerts {
    /// Entity kind and metric, e.g. `node cpu_utilization`.
    pub metric: String,
    /// Mean false alerts per simulated day over the runs, this metric's rule alone.
    pub false_alerts_per_day: f64,
    /// Mean capped TTD over the runs of this metric's rule alone, seconds.
    pub capped_ttd_seconds: f64,
}

/// Each rule of `rules` alone on `runs` (in rule order).
pub fn false_alerts_by_metric(
    runs: &[SimulatedRun],
    rules: &RuleSet,
) -> Result<Vec<MetricFalseAlerts>, mend_monitor::detectors::DetectorError> {
    rules
        .rules
        .iter()
        .map(|rule| {
            let alone = RuleSet {
                rules: vec![rule.clone()],
            };
            let m = measure(runs, &alone)?;
            Ok(MetricFalseAlerts {
                metric: format!("{} {}", rule.kind.as_str(), rule.metric),
                false_alerts_per_day: mean_of(&m, 3),
                capped_ttd_seconds: mean_of(&m, 0),
            })
        })
        .collect()
}
