//! The decision pipeline, without I/O: readings -> telemetry snapshot -> the monitor's features
//! -> the policy (or the fallback rule) -> every guard. What it returns is what the loop carries
//! out (or not) and records. Separate from the loop so that its latency ("metrics received to
//! action issued, excluding the actuator") can be measured alone (benches/benches/executor.rs).
//!
//! Action history (feature schema v2): the pipeline remembers, per service, when this executor
//! started an action on it ([`Pipeline::record_executed`]) and whether its verification is still
//! pending (until [`Pipeline::record_finished`]), and writes them into the snapshot under the
//! monitor's metric names before extraction (`mend_monitor::features::history`), so a policy sees
//! the same `svc_action_age`, `svc_action_in_flight` and `svc_actions_recent` columns live as in
//! simulation. An action on a replica, or a node action taken on behalf of a service, counts for
//! that service. In shadow mode nothing is executed, so every service reads "never acted" (age
//! [`mend_monitor::features::history::ACTION_AGE_NEVER_S`]): a policy shadowed live sees what
//! a policy that never acts would see, not the history its own proposals would have made.
//!
//! Alert timers (feature schema v3): the pipeline runs its own detector bank on every snapshot
//! before extraction (`mend_monitor::features::alert_age::AlertClock`, the same code and
//! semantics as the cluster env's: pending-or-firing seconds per service from the first anomalous
//! evaluation, Prometheus' `activeAt`), with the framework arm's detector
//! ([`DEFAULT_ALERT_DETECTOR`]) unless [`Pipeline::set_alert_detector`] chose another. It runs in
//! every mode: what it measures is the cluster, not this executor's actions.
//!
//! Failure risk (feature schema v4): with a failure predictor ([`Pipeline::set_risk_model`]) the
//! pipeline scores every service after extraction (`mend_monitor::features::risk::RiskTracker`,
//! the cluster env's code: the current row without the alert ages, plus trends over the model's
//! window by snapshot time, so the 0.5-15 s live cadence reads the same trends as the env's 30 s)
//! and writes `svc_failure_risk`; without one the column is 0, as in an env without a model.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mend_monitor::detectors::DetectorError;
use mend_monitor::features::alert_age::{AlertClock, DEFAULT_ALERT_DETECTOR};
use mend_monitor::features::history::EntityActions;
use mend_monitor::features::risk::{RiskError, RiskModel, RiskTracker};
use mend_monitor::features::{FeatureExtractor, Features};
use mend_monitor::telemetry::{EntityKind, Snapshot};

use crate::cluster::ClusterFile;
use crate::decide::{BaselinePolicy, DecideError, LivePolicy, Proposed};
use crate::decision::observation_digest;
use crate::fallback::FallbackRule;
use crate::guards::{Evaluation, ExecutedAction, GuardConfigError, GuardState, Guards, Proposal};
use crate::observe::Readings;

/// How the executor may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Decide and record, never act (the default).
    #[default]
    Shadow,
    /// Ask an operator before each action.
    Confirm,
    /// Act on every action the guards allow.
    Auto,
}

impl Mode {
    /// `"shadow"`, `"confirm"` or `"auto"`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Shadow => "shadow",
            Mode::Confirm => "confirm",
            Mode::Auto => "auto",
        }
    }
}

/// Where proposals come from.
#[derive(Debug)]
pub enum Proposer {
    /// The executor's built-in liveness/memory rule ([`crate::fallback`]).
    Rule,
    /// A policy file.
    Policy(Box<LivePolicy>),
    /// One of the agents crate's baselines (reactive controller, runbook).
    Baseline(BaselinePolicy),
}

impl From<Option<LivePolicy>> for Proposer {
    fn from(p: Option<LivePolicy>) -> Self {
        p.map_or(Proposer::Rule, |p| Proposer::Policy(Box::new(p)))
    }
}

/// One judged decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// What the policy (or rule) proposed.
    pub proposed: Proposed,
    /// What the rule would do (the confidence gate's fallback).
    pub fallback_reason: String,
    /// The guards' evaluation (final action and verdicts).
    pub evaluation: Evaluation,
    /// SHA-256 of the observation the policy saw.
    pub obs_digest: String,
    /// Metrics the features wanted and did not get.
    pub missing: Vec<String>,
}

/// The pipeline's state: extractor, policy, rule counters, guards and the action history.
#[derive(Debug)]
pub struct Pipeline {
    extractor: FeatureExtractor,
    features: Features,
    proposer: Proposer,
    rule: FallbackRule,
    guards: Guards,
    history: Vec<ExecutedAction>,
    /// Per service: the starts of the actions carried out on it (times in Unix seconds).
    action_starts: BTreeMap<String, EntityActions>,
    /// Services with an action whose verification has not finished.
    pending: BTreeSet<String>,
    /// The detector bank and alert timers behind the alert-age columns.
    alerts: AlertClock,
    /// The spec `alerts` runs.
    alert_detector: String,
    /// The failure predictor behind the risk column (`None`: column 0).
    risk: Option<RiskTracker>,
}

impl Pipeline {
    /// A pipeline for `cluster` in `mode`, proposing with `proposer`.
    pub fn new(
        cluster: &ClusterFile,
        mode: Mode,
        proposer: Proposer,
    ) -> Result<Self, GuardConfigError> {
        let mut config = cluster.guards.clone();
        config.shadow = mode == Mode::Shadow;
        // A policy reads alert ages from the detector it was trained behind (its manifest's
        // `monitoring`); rules and baselines keep the default. `LivePolicy::load` refused a
        // spec that does not build, so the fallback to the default below is never taken.
        let alert_detector = match &proposer {
            Proposer::Policy(p) => p.monitoring().alert_detector_spec(),
            Proposer::Rule | Proposer::Baseline(_) => DEFAULT_ALERT_DETECTOR,
        }
        .to_owned();
        let alerts = AlertClock::new(&alert_detector).unwrap_or_else(|_| default_alert_clock());
        let extractor = FeatureExtractor::builtin();
        // Likewise its failure predictor (the policy file's load checked it against this schema).
        let risk = match &proposer {
            Proposer::Policy(p) => p.monitoring().failure_risk.as_ref().and_then(|model| {
                RiskTracker::new(Arc::new(model.clone()), extractor.schema()).ok()
            }),
            Proposer::Rule | Proposer::Baseline(_) => None,
        };
        Ok(Pipeline {
            extractor,
            features: Features::default(),
            proposer,
            rule: FallbackRule::new(&cluster.namespace, cluster.fallback.clone()),
            guards: Guards::new(&config)?,
            history: Vec::new(),
            action_starts: BTreeMap::new(),
            pending: BTreeSet::new(),
            alerts,
            alert_detector,
            risk,
        })
    }

    /// Runs `spec` (a detector name or spec text, as `--detector` and experiment files take it)
    /// behind the alert-age columns from now on, cold; the policy should have been trained with
    /// the same detector in its env (`ClusterConfig::alert_detector`).
    pub fn set_alert_detector(&mut self, spec: &str) -> Result<(), DetectorError> {
        self.alerts = AlertClock::new(spec)?;
        spec.clone_into(&mut self.alert_detector);
        Ok(())
    }

    /// The detector spec behind the alert-age columns (the policy's own, see [`Pipeline::new`]).
    pub fn alert_detector(&self) -> &str {
        &self.alert_detector
    }

    /// Runs `model` behind the `svc_failure_risk` column from now on, cold (no trend history);
    /// the policy should have been trained with the same model in its env
    /// (`ClusterConfig::risk_model`). Refuses a model of another feature schema, naming the field.
    pub fn set_risk_model(&mut self, model: Arc<RiskModel>) -> Result<(), RiskError> {
        self.risk = Some(RiskTracker::new(model, self.extractor.schema())?);
        Ok(())
    }

    /// The failure predictor behind the risk column, if any.
    pub fn risk_model(&self) -> Option<&Arc<RiskModel>> {
        self.risk.as_ref().map(RiskTracker::model)
    }

    /// `"policy <path>"`, `"baseline <name>"` or `"rule"`: where proposals come from.
    pub fn source(&self) -> String {
        match &self.proposer {
            Proposer::Policy(p) => format!("policy {}", p.path().display()),
            Proposer::Baseline(b) => format!("baseline {}", b.name()),
            Proposer::Rule => "rule".into(),
        }
    }

    /// The guards (e.g. to read the kill switch).
    pub fn guards(&self) -> &Guards {
        &self.guards
    }

    /// The features of the last decision (what the policy saw).
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// Actions carried out so far.
    pub fn history(&self) -> &[ExecutedAction] {
        &self.history
    }

    /// Remembers an action carried out at `time_ms` (for cooldowns, rate and share limits, and
    /// the action-history features); its service reads "in flight" until
    /// [`Self::record_finished`].
    pub fn record_executed(&mut self, executed: ExecutedAction) {
        let service = executed.action.service.clone();
        self.action_starts
            .entry(service.clone())
            .or_default()
            .record_start(executed.time_ms as f64 / 1000.0);
        self.pending.insert(service);
        self.history.push(executed);
    }

    /// The action on `service` finished (verified, failed verification, or failed to apply).
    pub fn record_finished(&mut self, service: &str) {
        self.pending.remove(service);
    }

    /// Writes every service's action history at `now_ms` into `snapshot` (see the module doc).
    pub fn fill_action_history(&self, snapshot: &mut Snapshot, readings: &Readings, now_ms: u64) {
        let now_s = now_ms as f64 / 1000.0;
        for service in readings.replicas.keys() {
            if let Some(starts) = self.action_starts.get(service) {
                starts
                    .values(now_s, self.pending.contains(service))
                    .set_into(snapshot, EntityKind::Service, service);
            }
        }
    }

    /// Judges one observation at `now_ms`; `kill_switch` is whether the kill switch is engaged.
    pub fn decide(
        &mut self,
        cluster: &ClusterFile,
        readings: &Readings,
        now_ms: u64,
        kill_switch: bool,
    ) -> Result<Judged, DecideError> {
        let mut snapshot = readings.to_snapshot(now_ms);
        self.fill_action_history(&mut snapshot, readings, now_ms);
        self.alerts.observe_snapshot(&mut snapshot);
        self.extractor.extract_into(&snapshot, &mut self.features);
        if let Some(risk) = &mut self.risk {
            risk.fill_features(snapshot.timestamp, &mut self.features);
        }
        let mut digest_input: Vec<f64> = self.features.rows.iter().map(|&x| f64::from(x)).collect();
        digest_input.extend(self.features.global.iter().map(|&x| f64::from(x)));
        self.rule.observe(readings);
        let (rule_action, rule_reason) = self.rule.decide(readings);
        let proposed = match &mut self.proposer {
            Proposer::Policy(p) => p.decide(&self.features, readings, cluster)?,
            Proposer::Baseline(b) => b.decide(&self.features, readings, cluster)?,
            Proposer::Rule => Proposed {
                action: rule_action.clone(),
                probability: 1.0,
                probabilities: Vec::new(),
                act_probability: None,
                choice_probability: None,
                reason: if rule_reason.is_empty() {
                    "rule: nothing to do".into()
                } else {
                    format!("rule: {rule_reason}")
                },
                mask: Vec::new(),
            },
        };
        let proposal = Proposal {
            action: proposed.action.clone(),
            probability: proposed.probability,
            fallback: rule_action,
        };
        let state = GuardState {
            now_ms,
            history: &self.history,
            replicas: &readings.replicas,
            metric_times: &readings.metric_times,
            kill_switch_engaged: kill_switch,
        };
        let evaluation = self.guards.evaluate(&proposal, &state);
        Ok(Judged {
            proposed,
            fallback_reason: rule_reason,
            evaluation,
            obs_digest: observation_digest(&digest_input),
            missing: self.features.missing.clone(),
        })
    }
}

/// The clock of [`DEFAULT_ALERT_DETECTOR`].
fn default_alert_clock() -> AlertClock {
    // The default spec is a constant that monitor's own tests build (`alert_age` tests).
    AlertClock::new(DEFAULT_ALERT_DETECTOR).expect("the default alert detector builds")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use mend_monitor::features::alert_age::ALERT_AGE_METRIC;
    use mend_monitor::features::history::ACTION_AGE_NEVER_S;

    use super::*;
    use crate::decision::{Action, ActionKind};

    const CLUSTER: &str = r#"
namespace = "t"
[[services]]
name = "web"
process = { command = "x", replicas = 2 }
replica_metrics = { up = { scrape = "up" } }
[[services]]
name = "api"
process = { command = "x", replicas = 1 }
replica_metrics = { up = { scrape = "up" } }
"#;

    fn readings() -> Readings {
        let mut r = Readings::default();
        for (service, n) in [("api", 1), ("web", 2)] {
            r.replicas.insert(service.into(), n);
            for i in 0..n {
                r.replica.insert((service.into(), i, "up".into()), 1.0);
            }
        }
        r
    }

    /// `(age, in flight, recent)` columns of service row `row` after a decision at `now_ms`.
    fn history_columns(
        p: &mut Pipeline,
        cluster: &ClusterFile,
        now_ms: u64,
        row: usize,
    ) -> [f32; 3] {
        p.decide(cluster, &readings(), now_ms, false).unwrap();
        let f = p.features();
        assert_eq!(f.entities[row].kind, EntityKind::Service);
        let schema = FeatureExtractor::builtin().schema().clone();
        [
            "svc_action_age",
            "svc_action_in_flight",
            "svc_actions_recent",
        ]
        .map(|c| f.row(row)[schema.column_index(c).unwrap()])
    }

    #[test]
    fn live_alert_ages_follow_activeat_and_equal_the_simulator_path() {
        let cluster = ClusterFile::parse(Path::new("c.toml"), CLUSTER, Path::new(".")).unwrap();
        let mut p = Pipeline::new(&cluster, Mode::Shadow, Proposer::Rule).unwrap();
        p.set_alert_detector("static_threshold").unwrap();
        // The cluster env's path: plan once, then feed flat values (envs/src/cluster/observe.rs).
        let mut sim_path = AlertClock::new("static_threshold").unwrap();
        let column = FeatureExtractor::builtin()
            .schema()
            .column_index("svc_alert_age")
            .unwrap();
        let t0 = 1_700_000_000_000u64;
        let mut live = Vec::new();
        let mut values = Vec::new();
        for step in 0..7u64 {
            let mut r = readings();
            // web's second replica is down at decisions 2, 3 and 4.
            if (2..5).contains(&step) {
                r.replica.insert(("web".into(), 1, "up".into()), 0.0);
            }
            let now_ms = t0 + step * 30_000;
            p.decide(&cluster, &r, now_ms, false).unwrap();
            live.push(f64::from(p.features().row(1)[column]).exp_m1().round());
            let mut snapshot = r.to_snapshot(now_ms);
            if step == 0 {
                sim_path.plan(&snapshot);
            }
            mend_monitor::features::flat_values(&snapshot, &mut values);
            sim_path.observe_values(snapshot.timestamp, &values);
            sim_path.set_into(&mut snapshot);
            assert_eq!(
                snapshot.get(EntityKind::Service, "web", ALERT_AGE_METRIC),
                Some(sim_path.seconds_active(EntityKind::Service, "web"))
            );
            assert_eq!(
                live[step as usize],
                sim_path.seconds_active(EntityKind::Service, "web").round(),
                "step {step}"
            );
        }
        // Pending from the first down reading (activeAt), cleared by the first up one.
        assert_eq!(live, [0.0, 0.0, 0.0, 30.0, 60.0, 0.0, 0.0]);
        assert!(
            !p.features().missing.iter().any(|m| m.contains("alert")),
            "{:?}",
            p.features().missing
        );
        assert!(p.set_alert_detector("no_such_detector").is_err());
    }

    #[test]
    fn live_risk_equals_the_env_path_on_the_same_rows_whatever_the_alert_ages() {
        use mend_monitor::features::risk::RISK_COLUMN;
        let cluster = ClusterFile::parse(Path::new("c.toml"), CLUSTER, Path::new(".")).unwrap();
        let mut p = Pipeline::new(&cluster, Mode::Shadow, Proposer::Rule).unwrap();
        assert!(p.risk_model().is_none());
        let schema = FeatureExtractor::builtin().schema().clone();
        let model = Arc::new(RiskModel::init(&schema, 16, 600.0, 900.0, 4));
        p.set_risk_model(Arc::clone(&model)).unwrap();
        p.set_alert_detector("static_threshold").unwrap();
        // The env's path: extraction without an alert clock, then the tracker on the rows.
        let mut env_path = RiskTracker::new(model, &schema).unwrap();
        let extractor = FeatureExtractor::builtin();
        let column = schema.column_index(RISK_COLUMN).unwrap();
        let alert = schema.column_index("svc_alert_age").unwrap();
        let t0 = 1_700_000_000_000u64;
        let (mut risks, mut alerting) = (Vec::new(), 0);
        // Irregular live cadence (0.5 s to 15 s); web's memory leaks, its replica 1 is down for a while.
        let mut now_ms = t0;
        for (step, dt_ms) in [0u64, 500, 500, 15_000, 2_000, 7_500, 500, 15_000, 1_000]
            .into_iter()
            .enumerate()
        {
            now_ms += dt_ms;
            let mut r = readings();
            let leak = 0.3 + (now_ms - t0) as f64 / 100_000.0;
            for i in 0..2 {
                r.replica
                    .insert(("web".into(), i, "memory_utilization".into()), leak);
            }
            if (2..6).contains(&step) {
                r.replica.insert(("web".into(), 1, "up".into()), 0.0);
            }
            p.decide(&cluster, &r, now_ms, false).unwrap();
            let live = p.features().clone();
            let mut env = extractor.extract(&r.to_snapshot(now_ms));
            env_path.fill_features(now_ms as f64 / 1000.0, &mut env);
            assert_eq!(live.entities, env.entities);
            for row in 0..live.entities.len() {
                assert_eq!(
                    live.row(row)[column],
                    env.row(row)[column],
                    "step {step}, row {row}"
                );
            }
            alerting += usize::from(live.row(1)[alert] > 0.0);
            risks.push(live.row(1)[column]);
        }
        assert!(
            alerting > 0,
            "the live alert ages differed from the env path's zeros"
        );
        assert!(risks.windows(2).any(|w| w[0] != w[1]), "{risks:?}");
        let mut other = RiskModel::init(&schema, 4, 600.0, 900.0, 0);
        other.schema_id = "v3-0000000000000000".into();
        let err = p.set_risk_model(Arc::new(other)).unwrap_err();
        assert!(err.to_string().contains("schema_id"), "{err}");
    }

    #[test]
    fn pipeline_fills_the_action_history_it_executed() {
        let cluster = ClusterFile::parse(Path::new("c.toml"), CLUSTER, Path::new(".")).unwrap();
        let mut p = Pipeline::new(&cluster, Mode::Auto, Proposer::Rule).unwrap();
        let never = ACTION_AGE_NEVER_S.ln_1p() as f32;
        let t0 = 1_700_000_000_000;
        // Rows: api (0), web (1).
        assert_eq!(history_columns(&mut p, &cluster, t0, 1), [never, 0.0, 0.0]);
        p.record_executed(ExecutedAction {
            time_ms: t0,
            action: Action {
                namespace: "t".into(),
                service: "web".into(),
                kind: ActionKind::Restart { replica: Some(1) },
            },
            replicas_touched: 1,
        });
        let age = |s: f64| s.ln_1p() as f32;
        assert_eq!(
            history_columns(&mut p, &cluster, t0 + 45_000, 1),
            [age(45.0), 1.0, 1.0],
            "verification pending"
        );
        p.record_finished("web");
        assert_eq!(
            history_columns(&mut p, &cluster, t0 + 60_000, 1),
            [age(60.0), 0.0, 1.0]
        );
        assert_eq!(
            history_columns(&mut p, &cluster, t0 + 60_000, 0),
            [never, 0.0, 0.0],
            "api untouched"
        );
        assert_eq!(
            history_columns(&mut p, &cluster, t0 + 700_000, 1),
            [age(700.0), 0.0, 0.0],
            "out of the ten-minute window"
        );
        assert_eq!(
            history_columns(&mut p, &cluster, t0 + 4_000_000, 1),
            [never, 0.0, 0.0],
            "an hour later: never"
        );
        assert!(
            !p.features()
                .missing
                .iter()
                .any(|m| m.contains("mend_action")),
            "{:?}",
            p.features().missing
        );
    }
}
