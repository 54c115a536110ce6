//! The drill's steady live readings of `web` per fault, as measured by `examples/policy_probe.rs`
//! (30 requests/s through the drill's health-checking balancer, 500 ms client timeout), and what a
//! policy proposes on them without Prometheus: the record behind `POLICY_HEALS` in
//! `e2e_policy_heals.rs` and `policy_probe --offline`.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use mend_executor::cluster::ClusterFile;
use mend_executor::decide::LivePolicy;
use mend_executor::decision::ActionKind;
use mend_executor::fault_drill::Fault;
use mend_executor::observe::Readings;
use mend_executor::run_loop::now_ms;
use mend_monitor::features::alert_age::ALERT_AGE_METRIC;
use mend_monitor::features::history::ActionValues;
use mend_monitor::features::{FeatureExtractor, FeatureSchema};
use mend_monitor::telemetry::EntityKind;

/// The leaking replica's `memory_utilization` at the drill's first reading above 0.9 (measured
/// with `examples/policy_probe.rs`).
pub const LEAK_FIRST_READING: f64 = 0.95;

/// Seconds the service's alert has been active on a steady kill -9 or hang row (feature schema v3,
/// the pipeline's alert clock): the row a few seconds after the balancer ejected the replica.
/// Measured with `policy_probe` (session 6): the alert opens about 1.5 s after the injection, the
/// balancer's ejection ends the errors about 5 s later.
pub const STEADY_ALERT_AGE_S: f64 = 10.0;

/// Seconds the leaking service's alert has been active at [`LEAK_FIRST_READING`]: the memory
/// channel turns anomalous as soon as it climbs (about 1.5 s after the switch), the first reading
/// above 0.9 comes about 6 s later (session 6, `policy_probe`).
pub const LEAK_ALERT_AGE_S: f64 = 6.0;

/// The alert age of `fault`'s row (0 on a healthy cluster: no alert) under the default alert
/// detector (`DEFAULT_ALERT_DETECTOR`, adaptive).
pub fn alert_age_s(fault: Option<Fault>) -> f64 {
    match fault {
        None => 0.0,
        Some(Fault::Leak) => LEAK_ALERT_AGE_S,
        Some(_) => STEADY_ALERT_AGE_S,
    }
}

/// The alert age of `fault`'s row under the alert detector `policy` was trained behind (its
/// manifest's `monitoring.alert_detector`, which the executor runs live): as [`alert_age_s`],
/// except the leak under `static_threshold`, whose replica memory rule is the 0.9 threshold
/// itself (`mend_monitor::alerting::RuleSet::static_baseline`), so the leak's first reading above
/// 0.9 is its alert's first anomalous evaluation: age 0 (the adaptive detector flags the climb
/// about 6 s earlier).
pub fn alert_age_for(policy: &LivePolicy, fault: Option<Fault>) -> f64 {
    let static_rules = policy.monitoring().alert_detector_spec() == "static_threshold";
    match fault {
        Some(Fault::Leak) if static_rules => 0.0,
        other => alert_age_s(other),
    }
}

/// The drill's live readings of `web` (3 replicas, memory as a share of the limit, the load
/// generator's service metrics) with `fault` on replica 0 (`None`: healthy): the steady values
/// measured a few seconds after the injection. A killed or hung replica fails its third of the
/// requests (fast when killed: refused; at the timeout when hung) only until two failed 1 s checks
/// take it out of the load's rotation; then its `up` is 0, the other two serve everything, and the
/// service row looks as in the simulator once its balancer has noticed. The leak is read at the
/// first reading above the drill's 0.9 threshold, when the loop must decide (8 MiB/s against the
/// 64 MiB limit: `fault_drill::LEAK_MIB_PER_S`).
pub fn live_readings(fault: Option<Fault>) -> Readings {
    let mut r = Readings::default();
    r.replicas.insert("web".into(), 3);
    for i in 0..3 {
        let hit = i == 0 && fault.is_some();
        let up = if hit && fault != Some(Fault::Leak) {
            0.0
        } else {
            1.0
        };
        let memory = if hit && fault == Some(Fault::Leak) {
            LEAK_FIRST_READING
        } else {
            0.045
        };
        r.replica.insert(("web".into(), i, "up".into()), up);
        if up > 0.5 {
            r.replica
                .insert(("web".into(), i, "memory_utilization".into()), memory);
        }
    }
    // (requests/s, error ratio, p99 latency s), steady: the balancer has taken a dead or hung
    // replica out of the rotation, so the load sees neither errors nor timeouts.
    for (metric, value) in [
        ("request_rate", 30.0),
        ("error_ratio", 0.0),
        ("latency_p99_seconds", 0.006),
    ] {
        r.service.insert(("web".into(), metric.into()), value);
    }
    r
}

/// What a policy proposes on one fault's live row.
#[derive(Debug, Clone)]
pub struct LiveDecision {
    /// The fault (`None`: healthy).
    pub fault: Option<Fault>,
    /// `1 - p[no-op]`.
    pub act_probability: f64,
    /// Whether it proposes the no-op.
    pub is_noop: bool,
    /// Whether it restarts replica 0 (the faulty one).
    pub restarts_the_faulty_replica: bool,
    /// The decision's reason (the proposal).
    pub reason: String,
    /// The row's non-zero features, `name=value`.
    pub row: String,
}

/// `policy` on the live rows of the healthy cluster and of each drill fault, each with its
/// [`alert_age_for`].
pub fn decide_on_live_rows(policy: &LivePolicy, cluster: &ClusterFile) -> Vec<LiveDecision> {
    [None]
        .into_iter()
        .chain(Fault::ALL.map(Some))
        .map(|fault| decide_on_live_row(policy, cluster, fault, alert_age_for(policy, fault)))
        .collect()
}

/// `policy` on `fault`'s live row with the service's alert active for `alert_age_s` seconds, the
/// service never acted on (as in shadow mode, or before the drill's first action).
pub fn decide_on_live_row(
    policy: &LivePolicy,
    cluster: &ClusterFile,
    fault: Option<Fault>,
    alert_age_s: f64,
) -> LiveDecision {
    decide_on_live_row_after(policy, cluster, fault, alert_age_s, ActionValues::NEVER)
}

/// [`decide_on_live_row`] with the service's action history `history` (the drill's second and
/// third faults come seconds after the loop restarted a replica for the previous one: e.g. age
/// 10 s, not in flight, one recent action).
pub fn decide_on_live_row_after(
    policy: &LivePolicy,
    cluster: &ClusterFile,
    fault: Option<Fault>,
    alert_age_s: f64,
    history: ActionValues,
) -> LiveDecision {
    let schema = FeatureSchema::builtin();
    let readings = live_readings(fault);
    let mut snapshot = readings.to_snapshot(now_ms());
    snapshot.set(EntityKind::Service, "web", ALERT_AGE_METRIC, alert_age_s);
    for (metric, value) in history.metrics() {
        snapshot.set(EntityKind::Service, "web", metric, value);
    }
    let features = FeatureExtractor::builtin().extract(&snapshot);
    let proposed = policy
        .decide(&features, &readings, cluster)
        .expect("a decision on a live row");
    let row: Vec<String> = schema
        .columns
        .iter()
        .zip(&features.rows)
        .filter(|(_, v)| **v != 0.0)
        .map(|(c, v)| format!("{}={v:.3}", c.name))
        .collect();
    LiveDecision {
        fault,
        act_probability: proposed.act_probability.unwrap_or(0.0),
        is_noop: proposed.action.is_noop(),
        restarts_the_faulty_replica: proposed.action.kind
            == ActionKind::Restart { replica: Some(0) },
        reason: proposed.reason,
        row: row.join(" "),
    }
}
