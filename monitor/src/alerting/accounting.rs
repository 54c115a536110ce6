//! Time to detect and false alerts, given alerts and fault intervals as plain data (BRIEF §9):
//! TTD is fault onset -> first alert on an affected entity; an alert on an entity with no active
//! fault is false, and false alerts on one entity closer together than `episode_gap_seconds` are
//! one episode (one page), as Alertmanager groups a firing alert until it resolves
//! (prometheus.io/docs/alerting/latest/alertmanager/#grouping).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::telemetry::EntityRef;

/// One entity alerting at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// Seconds.
    pub timestamp: f64,
    /// The entity.
    pub entity: EntityRef,
}

/// A time interval during which some entities are faulty (or otherwise truly unhealthy).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Start, seconds (fault onset).
    pub start: f64,
    /// End, seconds (fault end, or the end of the run).
    pub end: f64,
    /// Entities affected.
    pub entities: Vec<EntityRef>,
}

impl Window {
    fn covers(&self, t: f64, grace: f64, entity: &EntityRef) -> bool {
        t >= self.start && t <= self.end + grace && self.entities.contains(entity)
    }
}

/// Accounting parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AccountingConfig {
    /// Alerts this long after a fault's end still count as about it (recovery tail, detector
    /// lag). Default 300 s.
    pub grace_seconds: f64,
    /// False alerts on one entity closer together than this are one episode. Default 300 s.
    pub episode_gap_seconds: f64,
}

impl Default for AccountingConfig {
    fn default() -> Self {
        AccountingConfig {
            grace_seconds: 300.0,
            episode_gap_seconds: 300.0,
        }
    }
}

/// What one run's alerts amount to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionOutcome {
    /// Per fault (in the order given): seconds from onset to the first alert on an affected
    /// entity, or `None` if it was missed.
    pub delays: Vec<Option<f64>>,
    /// False-alert episodes.
    pub false_episodes: usize,
    /// Length of the observed run, seconds.
    pub observed_seconds: f64,
}

impl DetectionOutcome {
    /// Mean time to detect over detected faults (NaN when none was detected).
    pub fn mean_ttd(&self) -> f64 {
        let d: Vec<f64> = self.delays.iter().flatten().copied().collect();
        if d.is_empty() {
            f64::NAN
        } else {
            d.iter().sum::<f64>() / d.len() as f64
        }
    }

    /// Share of faults detected (NaN when there were none).
    pub fn detection_rate(&self) -> f64 {
        if self.delays.is_empty() {
            return f64::NAN;
        }
        self.delays.iter().filter(|d| d.is_some()).count() as f64 / self.delays.len() as f64
    }

    /// False-alert episodes per simulated day (NaN for an empty run).
    pub fn false_alerts_per_day(&self) -> f64 {
        if self.observed_seconds > 0.0 {
            self.false_episodes as f64 * 86_400.0 / self.observed_seconds
        } else {
            f64::NAN
        }
    }
}

/// Accounts `alerts` (in time order) against `faults` (their delays are reported) and
/// `excused` (further true-problem windows, e.g. SLO incidents, whose alerts are not false
/// but whose detection is not scored).
pub fn account(
    alerts: &[AlertEvent],
    faults: &[Window],
    excused: &[Window],
    observed_seconds: f64,
    config: AccountingConfig,
) -> DetectionOutcome {
    let mut delays: Vec<Option<f64>> = vec![None; faults.len()];
    let mut last_false: BTreeMap<&EntityRef, f64> = BTreeMap::new();
    let mut false_episodes = 0;
    let grace = config.grace_seconds;
    for alert in alerts {
        let t = alert.timestamp;
        let mut explained = false;
        for (i, fault) in faults.iter().enumerate() {
            if fault.covers(t, grace, &alert.entity) {
                explained = true;
                if delays[i].is_none() {
                    delays[i] = Some(t - fault.start);
                }
            }
        }
        explained |= excused.iter().any(|w| w.covers(t, grace, &alert.entity));
        if !explained {
            let new_episode = match last_false.get(&alert.entity) {
                Some(&prev) => t - prev > config.episode_gap_seconds,
                None => true,
            };
            if new_episode {
                false_episodes += 1;
            }
            last_false.insert(&alert.entity, t);
        }
    }
    DetectionOutcome {
        delays,
        false_episodes,
        observed_seconds,
    }
}
