//! How long the alert on each service and node has been active, as a named per-entity value a
//! caller writes into a [`Snapshot`] before feature extraction (feature schema v3, see
//! `features`): the symptom timers a runbook keeps ("error ratio above 5 % for 2 m") put into the
//! observation, from the agent's *own* detector bank, so adaptive monitoring is inside the policy.
//!
//! Semantics are Prometheus' (<https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/>):
//! an alert is *active* (pending, then firing once it has held for the rule's `for`) from the
//! first evaluation at which its expression holds, its `activeAt`, until an evaluation at which it
//! no longer holds; `ALERTS_FOR_STATE` exposes `activeAt` live. Here the expression is the
//! detector *without* its `for` hold ([`pending_rules`]: a `persist` wrapper's inner detector, a
//! static threshold with `for_seconds = 0`), so the value is "seconds since `activeAt`" and the
//! alert fires exactly when it reaches the rule's `for` (the `persist` detector's own logic).
//! An entity is active while any watched channel of it is anomalous; a replica's channels count
//! for its service (the `service` label), as the feature rows fold replicas in. The value is 0
//! when not active (and at the first anomalous evaluation, as `time() - activeAt` is in
//! Prometheus), capped at [`ALERT_AGE_CAP_S`].
//!
//! Evaluation: once per new snapshot timestamp (a repeated or older timestamp changes nothing, as
//! [`crate::alerting::EntityDetectors`] users elsewhere feed each telemetry time once). Both
//! users run the same path: the cluster env plans once per telemetry structure and feeds flat
//! values ([`AlertClock::plan`], [`AlertClock::observe_values`], [`AlertClock::write_ages`]);
//! the live executor calls [`AlertClock::observe_snapshot`], which plans every time and does the
//! same three steps.

use std::collections::BTreeMap;

use crate::alerting::{EntityDetectors, MetricRule, RuleSet};
use crate::detectors::{DetectorConfig, DetectorError, StaticThresholdConfig};
use crate::features::flat_values;
use crate::telemetry::{EntityKind, EntityRef, Snapshot};

/// Seconds the alert on the entity has been active (pending or firing), 0 when not active,
/// capped at [`ALERT_AGE_CAP_S`].
pub const ALERT_AGE_METRIC: &str = "mend_alert_active_seconds";

/// The cap of [`ALERT_AGE_METRIC`] (one hour, as the action age's
/// [`super::history::ACTION_AGE_NEVER_S`]: past every `for` of the shipped runbook, 30-180 s, and
/// of the static rules, at most 300 s).
pub const ALERT_AGE_CAP_S: f64 = 3600.0;

/// The detector spec the alert clock runs unless told otherwise: the framework arm's adaptive
/// detector in `experiments/paper.toml` (`{ name = "ewma", z = 4.0, for_s = 120.0 }`, chosen
/// there within a false-alert budget on the training scenario).
pub const DEFAULT_ALERT_DETECTOR: &str = "ewma(z=4, for_s=120)";

/// `rules` with every detector's `for` hold removed: what decides "pending" (see the module doc).
pub fn pending_rules(rules: &RuleSet) -> RuleSet {
    RuleSet {
        rules: rules
            .rules
            .iter()
            .map(|r| MetricRule {
                detector: without_hold(&r.detector),
                ..r.clone()
            })
            .collect(),
    }
}

fn without_hold(config: &DetectorConfig) -> DetectorConfig {
    match config {
        DetectorConfig::Persist(p) => (*p.inner).clone(),
        DetectorConfig::StaticThreshold(s) => {
            DetectorConfig::StaticThreshold(StaticThresholdConfig {
                for_seconds: 0.0,
                ..*s
            })
        }
        other => other.clone(),
    }
}

/// One entity's alert state: its `activeAt`, if active.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AlertTimer {
    active_at: Option<f64>,
}

impl AlertTimer {
    /// One evaluation at `time_s`: active from the first anomalous one, cleared by a normal one.
    pub fn update(&mut self, time_s: f64, anomalous: bool) {
        if anomalous {
            self.active_at.get_or_insert(time_s);
        } else {
            self.active_at = None;
        }
    }

    /// Seconds active at `now_s`, in `[0, ALERT_AGE_CAP_S]` (0 when not active).
    pub fn seconds_active(&self, now_s: f64) -> f64 {
        self.active_at
            .map_or(0.0, |a| (now_s - a).clamp(0.0, ALERT_AGE_CAP_S))
    }
}

/// Which flat values feed which channel and row, for one snapshot structure.
#[derive(Clone, Debug, Default)]
struct Plan {
    /// `(flat position, channel, row id)` of every watched value.
    watched: Vec<(usize, usize, usize)>,
    /// `(row id, flat position of its alert-age value if present)` of every service and node.
    rows: Vec<(usize, Option<usize>)>,
}

/// A detector bank beside the observation and the alert timer of every service and node.
#[derive(Debug)]
pub struct AlertClock {
    /// The pending rules the bank runs.
    rules: RuleSet,
    bank: EntityDetectors,
    /// Row id of each service and node seen (kept across re-plans, so timers survive them).
    row_ids: BTreeMap<EntityRef, usize>,
    timers: Vec<AlertTimer>,
    /// Scratch: whether each row id had an anomalous channel at this evaluation.
    anomalous: Vec<bool>,
    plan: Plan,
    /// Time of the last evaluation.
    now_s: f64,
}

impl AlertClock {
    /// A cold clock running `spec` (any [`RuleSet::for_detector`] name or spec text, e.g.
    /// [`DEFAULT_ALERT_DETECTOR`]) without its `for` holds.
    pub fn new(spec: &str) -> Result<Self, DetectorError> {
        Self::from_rules(&RuleSet::for_detector(spec)?)
    }

    /// A cold clock running `rules` without their `for` holds.
    pub fn from_rules(rules: &RuleSet) -> Result<Self, DetectorError> {
        let rules = pending_rules(rules);
        Ok(Self {
            bank: EntityDetectors::new(rules.clone())?,
            rules,
            row_ids: BTreeMap::new(),
            timers: Vec::new(),
            anomalous: Vec::new(),
            plan: Plan::default(),
            now_s: f64::NEG_INFINITY,
        })
    }

    /// Cold again: every detector and timer forgotten (an episode reset); plan again after it.
    pub fn reset(&mut self) {
        // The rules were validated when the clock was built, so this cannot fail.
        if let Ok(bank) = EntityDetectors::new(self.rules.clone()) {
            self.bank = bank;
        }
        self.row_ids.clear();
        self.timers.clear();
        self.plan = Plan::default();
        self.now_s = f64::NEG_INFINITY;
    }

    /// Plans for `snapshot`'s structure: later [`Self::observe_values`] calls read values in its
    /// flat order (`features::flat_values`). Detectors and timers are kept.
    pub fn plan(&mut self, snapshot: &Snapshot) {
        let channels = self.bank.channels_of(snapshot);
        let mut plan = Plan::default();
        let mut pos = 0;
        for (kind, name, metrics) in snapshot.entities() {
            let row = match (kind, metrics.service.as_deref()) {
                (EntityKind::Service | EntityKind::Node, _) => Some(EntityRef::new(kind, name)),
                (EntityKind::Replica, Some(service)) => {
                    Some(EntityRef::new(EntityKind::Service, service))
                }
                (EntityKind::Replica, None) => None,
            };
            let row = row.map(|r| self.row_id(r));
            if let Some(id) = row
                && kind != EntityKind::Replica
            {
                let age = metrics
                    .values()
                    .position(|(m, _)| m == ALERT_AGE_METRIC)
                    .map(|i| pos + i);
                plan.rows.push((id, age));
            }
            for (i, _) in metrics.values().enumerate() {
                if let (Some(Some(channel)), Some(id)) = (channels.get(pos + i), row) {
                    plan.watched.push((pos + i, *channel, id));
                }
            }
            pos += metrics.len();
        }
        self.plan = plan;
    }

    fn row_id(&mut self, row: EntityRef) -> usize {
        let next = self.row_ids.len();
        let id = *self.row_ids.entry(row).or_insert(next);
        if id == next {
            self.timers.push(AlertTimer::default());
            self.anomalous.push(false);
        }
        id
    }

    /// One evaluation at `time_s` over `values` (the planned snapshot's flat values); nothing
    /// happens unless `time_s` is later than the last evaluation. Positions past `values` count
    /// as missing (not anomalous).
    pub fn observe_values(&mut self, time_s: f64, values: &[f64]) {
        if time_s <= self.now_s || time_s.is_nan() {
            return;
        }
        self.now_s = time_s;
        self.anomalous.fill(false);
        for &(pos, channel, row) in &self.plan.watched {
            if let Some(&v) = values.get(pos)
                && self.bank.update_channel(channel, time_s, v)
            {
                self.anomalous[row] = true;
            }
        }
        for &(row, _) in &self.plan.rows {
            self.timers[row].update(time_s, self.anomalous[row]);
        }
    }

    /// Writes every planned row's seconds active into its alert-age position of `values`.
    pub fn write_ages(&self, values: &mut [f64]) {
        for &(row, pos) in &self.plan.rows {
            if let Some(slot) = pos.and_then(|p| values.get_mut(p)) {
                *slot = self.timers[row].seconds_active(self.now_s);
            }
        }
    }

    /// Seconds the alert on `kind`/`name` has been active at the last evaluation (0 if unknown).
    pub fn seconds_active(&self, kind: EntityKind, name: &str) -> f64 {
        self.row_ids
            .get(&EntityRef::new(kind, name))
            .map_or(0.0, |&id| self.timers[id].seconds_active(self.now_s))
    }

    /// Writes [`ALERT_AGE_METRIC`] of every service and node of `snapshot` from the timers (0 for
    /// entities not seen yet), without evaluating.
    pub fn set_into(&self, snapshot: &mut Snapshot) {
        let rows: Vec<(EntityKind, String)> = snapshot
            .entities()
            .filter(|(k, ..)| *k != EntityKind::Replica)
            .map(|(k, n, _)| (k, n.to_owned()))
            .collect();
        for (kind, name) in rows {
            let age = self.seconds_active(kind, &name);
            snapshot.set(kind, &name, ALERT_AGE_METRIC, age);
        }
    }

    /// The live path: evaluates `snapshot` at its timestamp (planning for its structure first)
    /// and writes every service's and node's seconds active into it.
    pub fn observe_snapshot(&mut self, snapshot: &mut Snapshot) {
        self.set_into(snapshot);
        self.plan(snapshot);
        let mut values = Vec::with_capacity(snapshot.len());
        flat_values(snapshot, &mut values);
        self.observe_values(snapshot.timestamp, &values);
        self.set_into(snapshot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::PersistConfig;

    #[test]
    fn a_timer_counts_from_the_first_anomalous_evaluation_and_clears_on_a_normal_one() {
        let mut t = AlertTimer::default();
        assert_eq!(t.seconds_active(10.0), 0.0);
        t.update(30.0, true);
        assert_eq!(t.seconds_active(30.0), 0.0, "activeAt is this evaluation");
        t.update(60.0, true);
        assert_eq!(t.seconds_active(60.0), 30.0);
        t.update(90.0, true);
        assert_eq!(t.seconds_active(90.0), 60.0);
        t.update(120.0, false);
        assert_eq!(t.seconds_active(120.0), 0.0);
        t.update(150.0, true);
        assert_eq!(
            t.seconds_active(210.0),
            60.0,
            "a new run starts a new activeAt"
        );
        assert_eq!(t.seconds_active(1e9), ALERT_AGE_CAP_S);
    }

    #[test]
    fn pending_rules_drop_every_for_hold() {
        let tuned = RuleSet::for_detector(DEFAULT_ALERT_DETECTOR).unwrap();
        assert!(
            tuned
                .rules
                .iter()
                .any(|r| matches!(r.detector, DetectorConfig::Persist(PersistConfig { .. })))
        );
        for rules in [tuned, RuleSet::static_baseline()] {
            let pending = pending_rules(&rules);
            assert_eq!(pending.rules.len(), rules.rules.len());
            for r in &pending.rules {
                match &r.detector {
                    DetectorConfig::Persist(_) => panic!("{} kept its hold", r.metric),
                    DetectorConfig::StaticThreshold(s) => assert_eq!(s.for_seconds, 0.0),
                    _ => {}
                }
            }
        }
    }

    /// api (two replicas) and n1; replica api-1 goes down at t = 60 s for three scrapes.
    fn scrape(t: f64, api_1_up: f64) -> Snapshot {
        let mut s = Snapshot::new(t);
        for (name, up) in [("api-0", 1.0), ("api-1", api_1_up)] {
            s.set_replica_service(name, "api");
            s.set(EntityKind::Replica, name, "up", up);
        }
        s.set(EntityKind::Service, "api", "error_ratio", 0.0);
        s.set(EntityKind::Node, "n1", "up", 1.0);
        s
    }

    fn flat_position(s: &Snapshot, kind: EntityKind, name: &str, metric: &str) -> usize {
        let mut pos = 0;
        for (k, n, m) in s.entities() {
            if k == kind && n == name {
                return pos + m.values().position(|(x, _)| x == metric).unwrap();
            }
            pos += m.len();
        }
        panic!("{name}:{metric} not in the snapshot")
    }

    #[test]
    fn a_replica_alert_counts_for_its_service_and_the_live_path_equals_the_planned_one() {
        let mut live = AlertClock::new("static_threshold").unwrap();
        let mut planned = AlertClock::new("static_threshold").unwrap();
        let mut first = scrape(0.0, 1.0);
        planned.set_into(&mut first);
        planned.plan(&first);
        let mut values = Vec::new();
        let mut seen = Vec::new();
        for step in 0..8 {
            let t = f64::from(step) * 30.0;
            let up = if (2..5).contains(&step) { 0.0 } else { 1.0 };
            let mut s = scrape(t, up);
            live.observe_snapshot(&mut s);
            let live_age = s.get(EntityKind::Service, "api", ALERT_AGE_METRIC).unwrap();
            let mut p = scrape(t, up);
            planned.set_into(&mut p);
            flat_values(&p, &mut values);
            planned.observe_values(t, &values);
            planned.write_ages(&mut values);
            let pos = flat_position(&p, EntityKind::Service, "api", ALERT_AGE_METRIC);
            assert_eq!(values[pos], live_age, "step {step}");
            assert_eq!(planned.seconds_active(EntityKind::Service, "api"), live_age);
            assert_eq!(
                s.get(EntityKind::Node, "n1", ALERT_AGE_METRIC),
                Some(0.0),
                "the node never alerts"
            );
            seen.push(live_age);
        }
        // Down from t = 60 to 120 s (pending from 60 s); up again at 150 s.
        assert_eq!(seen, [0.0, 0.0, 0.0, 30.0, 60.0, 0.0, 0.0, 0.0]);
        // A repeated timestamp evaluates nothing.
        let mut again = scrape(210.0, 0.0);
        live.observe_snapshot(&mut again);
        assert_eq!(live.seconds_active(EntityKind::Service, "api"), 0.0);
        live.reset();
        assert_eq!(live.seconds_active(EntityKind::Service, "api"), 0.0);
    }
}
