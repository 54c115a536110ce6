//! Where the loop's proposals come from: an exported policy file (loaded by `mend_agents`' loader,
//! which checks format, feature schema and weights), or the built-in fallback rule
//! ([`crate::fallback`]).
//!
//! # A policy file on a live cluster
//! Observation: the monitor's features of the live snapshot (one row per service, sorted by name;
//! live clusters export no node metrics, so there are no node rows), flattened for an MLP as every
//! row in order, then the global features. [`flat_feature_names`] names each entry
//! (`service/<name>.<column>`, then `global.<name>`); the policy file's feature schema must hold
//! exactly these names, or loading fails (BRIEF invariant 5).
//!
//! Actions: the cluster env's flat layout, `0 = no-op, 1 + entity * K + kind`, with the `K` kind
//! names of the manifest's `action_kinds` (the simulator's kinds, e.g. `restart_replica`). Kinds
//! with a live meaning on local processes: `restart_replica` (the replica that looks worst: lowest
//! `up`, then highest `memory_utilization`, then lowest index, as the env resolves it),
//! `restart_service`, `scale_out`/`scale_in` (one replica more or less), `failover` (to the
//! service's `failover_to`). Any other kind is recorded and not carried out.
//! # Which action (deterministic)
//! A policy that outputs probabilities decides in two stages ([`mend_agents::noop_first_decision`]):
//! act iff the probability of acting at all, `1 - p[no-op]`, exceeds `p[no-op]`, and then take the
//! likeliest action. A plain argmax would never act on a cluster policy, whose acting probability
//! is spread over many (target, kind) actions. The confidence gate reads the first stage's
//! probability (`stage_confidence`); the audit record keeps `act_probability` (`1 - p[no-op]`) and
//! `choice_probability` (the chosen action's share of it). A Q-value policy keeps the argmax, and
//! its softmax weight feeds the gate.

use std::path::{Path, PathBuf};

use mend_agents::baselines::{
    BaselineError, Controller, ReactiveConfig, ReactiveController, Runbook,
};
use mend_agents::{
    ActionScores, FeatureSchema as PolicySchema, Monitoring, NetworkSpec, Policy, PolicyFile,
    PolicyFileError, noop_first_decision,
};
use mend_envs::Observation;
use mend_monitor::features::alert_age::AlertClock;
use mend_monitor::features::{FeatureSchema, Features};

use crate::cluster::ClusterFile;
use crate::decision::{Action, ActionKind};
use crate::mask::{apply_mask, live_mask};
use crate::observe::Readings;

/// The simulator's action kind names, in `mend_sim::ActionKind::ALL` order (tested against it).
pub const SIM_ACTION_KINDS: [&str; 9] = [
    "restart_replica",
    "restart_service",
    "scale_out",
    "scale_in",
    "reallocate",
    "failover",
    "rollback",
    "replace_node",
    "shed_load",
];

/// A policy file that cannot drive this cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecideError {
    /// The agents loader refused the file (corrupt, foreign, wrong version or feature schema...).
    #[error(transparent)]
    PolicyFile(#[from] PolicyFileError),
    /// The manifest's actions do not fit the cluster.
    #[error("policy file {path}: field `{field}`: {message}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// Manifest field.
        field: String,
        /// What was expected.
        message: String,
    },
    /// A baseline of the agents crate cannot be built or run.
    #[error("baseline `{name}`: {source}")]
    Baseline {
        /// Baseline name.
        name: String,
        /// The agents crate's error.
        source: BaselineError,
    },
    /// Inference failed.
    #[error("policy file {path}: inference: {message}")]
    Inference {
        /// The file.
        path: PathBuf,
        /// The agents crate's error.
        message: String,
    },
}

/// What a decision source proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposed {
    /// The action.
    pub action: Action,
    /// The confidence the gate reads: for a probability policy, the probability of its first-stage
    /// choice (act or not, see the module doc); for a Q-value policy, the action's softmax weight;
    /// 1 for the rule and the baselines.
    pub probability: f64,
    /// Every action's probability (empty for the rule).
    pub probabilities: Vec<f64>,
    /// Probability of acting at all, `1 - p[no-op]` (a policy file only).
    pub act_probability: Option<f64>,
    /// Probability of the chosen action given the first stage (`p[a] / P(act)`, 1 for the no-op;
    /// a probability policy file only).
    pub choice_probability: Option<f64>,
    /// Why, in words (rule) or the flat action index and kind (policy).
    pub reason: String,
    /// The live action mask the choice was made under ([`crate::mask::live_mask`], flat layout);
    /// empty for the rule, which has no flat actions.
    pub mask: Vec<bool>,
}

/// Names of the flattened live observation for `services` (sorted as the monitor sorts them).
pub fn flat_feature_names(services: &[String]) -> Vec<String> {
    let schema = FeatureSchema::builtin();
    let mut names = Vec::new();
    for s in services {
        for c in &schema.columns {
            names.push(format!("service/{s}.{}", c.name));
        }
    }
    for g in &schema.global {
        names.push(format!("global.{g}"));
    }
    names
}

/// The flattened observation: every row, then the globals.
pub fn flat_observation(features: &Features) -> Vec<f32> {
    let mut v = Vec::with_capacity(features.rows.len() + features.global.len());
    v.extend_from_slice(&features.rows);
    v.extend_from_slice(&features.global);
    v
}

pub use mend_envs::cluster::entity_observation;

/// A loaded policy file, checked against the cluster.
#[derive(Debug)]
pub struct LivePolicy {
    path: PathBuf,
    file: PolicyFile,
    services: Vec<String>,
    /// An entity network (reads [`entity_observation`], any number of services), not a flat MLP.
    entity: bool,
}

impl LivePolicy {
    /// Loads `path` for `cluster`: feature schema, action count and kind names must fit. A flat
    /// (MLP) policy must have been trained on exactly this cluster's services (its schema names
    /// each `service/S.column`); an entity policy reads the entity schema (row columns, then
    /// global features, of `FeatureSchema::builtin()`) and drives any number of services.
    pub fn load(path: &Path, cluster: &ClusterFile) -> Result<Self, DecideError> {
        let services = cluster.service_names();
        let entity = matches!(PolicyFile::inspect(path)?.network, NetworkSpec::Entity(_));
        let expected = if entity {
            PolicySchema::builtin_entities()
        } else {
            PolicySchema::new(&flat_feature_names(&services))
        };
        let file = PolicyFile::load(path, Some(&expected))?;
        let bad = |field: &str, message: String| DecideError::Manifest {
            path: path.to_owned(),
            field: field.into(),
            message,
        };
        let kinds = &file.manifest.action_kinds;
        if let Some(k) = kinds
            .iter()
            .find(|k| !SIM_ACTION_KINDS.contains(&k.as_str()))
        {
            return Err(bad(
                "action_kinds",
                format!(
                    "unknown kind `{k}`: expected names among {}",
                    SIM_ACTION_KINDS.join(", ")
                ),
            ));
        }
        // The alert detector behind the alert-age columns must build here, as it did in training.
        let spec = file.manifest.monitoring.alert_detector_spec();
        if let Err(e) = AlertClock::new(spec) {
            return Err(bad(
                "monitoring.alert_detector",
                format!(
                    "`{spec}` does not build: {e}; expected a detector spec as in experiment files"
                ),
            ));
        }
        let want = 1 + services.len() * kinds.len();
        // An entity network scores `1 + rows x kinds` actions for whatever rows it is given.
        if !entity && (file.manifest.action_count != want || file.policy.n_actions() != want) {
            return Err(bad(
                "action_count",
                format!(
                    "expected {want} (1 no-op + {} services x {} kinds), found {}",
                    services.len(),
                    kinds.len(),
                    file.manifest.action_count
                ),
            ));
        }
        Ok(LivePolicy {
            path: path.to_owned(),
            file,
            services,
            entity,
        })
    }

    /// The policy file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The monitoring the policy was trained behind (its manifest's `monitoring`), which the
    /// pipeline rebuilds live.
    pub fn monitoring(&self) -> &Monitoring {
        &self.file.manifest.monitoring
    }

    /// The policy's proposal for `features` (of the live snapshot) given `readings`.
    pub fn decide(
        &self,
        features: &Features,
        readings: &Readings,
        cluster: &ClusterFile,
    ) -> Result<Proposed, DecideError> {
        let obs = if self.entity {
            entity_observation(features)
        } else {
            Observation::Vector(flat_observation(features))
        };
        let kinds = &self.file.manifest.action_kinds;
        let mask = live_mask(kinds, &self.services, readings, cluster);
        let choice = masked_decision(&self.file.policy, &obs, &mask).map_err(|e| {
            DecideError::Inference {
                path: self.path.clone(),
                message: e.to_string(),
            }
        })?;
        let (best, p) = (choice.action, choice.confidence);
        let probabilities = choice.probabilities;
        let with_stages = |action: Action, reason: String| Proposed {
            action,
            probability: p,
            probabilities: probabilities.clone(),
            act_probability: choice.act_probability,
            choice_probability: choice.choice_probability,
            reason,
            mask: mask.clone(),
        };
        let first = self.services.first().cloned().unwrap_or_default();
        if best == 0 {
            return Ok(with_stages(
                Action::noop(&cluster.namespace, &first),
                "policy: action 0 (no-op)".into(),
            ));
        }
        let (entity, kind) = ((best - 1) / kinds.len(), &kinds[(best - 1) % kinds.len()]);
        let Some(service) = self.services.get(entity) else {
            return Err(DecideError::Inference {
                path: self.path.clone(),
                message: format!(
                    "action {best} targets entity {entity}, but there are {} services",
                    self.services.len()
                ),
            });
        };
        let (action, why) = match live_action(kind, service, readings, cluster) {
            Some(kind) => (
                Action {
                    namespace: cluster.namespace.clone(),
                    service: service.clone(),
                    kind,
                },
                String::new(),
            ),
            None => (
                Action::noop(&cluster.namespace, service),
                " has no live equivalent here: not carried out".to_owned(),
            ),
        };
        Ok(with_stages(
            action,
            format!("policy: action {best} = {kind} on {service}{why}"),
        ))
    }
}

/// The agents crate's stateful baselines, run live (their timers advance one loop interval per
/// decision).
#[derive(Debug, Clone)]
pub enum LiveBaseline {
    /// The Kubernetes-style reactive controller (`mend_agents::baselines::reactive`).
    Reactive(Box<ReactiveController>),
    /// The expert runbook (`mend_agents::baselines::runbook`).
    Runbook(Box<Runbook>),
}

/// A baseline reading the live entity observation (one row per service) by feature name.
#[derive(Debug, Clone)]
pub struct BaselinePolicy {
    name: String,
    controller: LiveBaseline,
    services: Vec<String>,
    /// The simulator's kind names ([`SIM_ACTION_KINDS`]), the baselines' action layout.
    kinds: Vec<String>,
}

impl BaselinePolicy {
    /// `reactive` (settings from the cluster file's `[reactive]` table, its
    /// `decision_interval_s` set to the loop interval) or `runbook` (the cluster file's `runbook`
    /// file; its timers advance by that file's `decision_interval_s` per decision, so set it to
    /// the loop interval for live use).
    pub fn new(name: &str, cluster: &ClusterFile) -> Result<Self, DecideError> {
        let kinds: Vec<String> = SIM_ACTION_KINDS.iter().map(|k| (*k).to_owned()).collect();
        let schema = FeatureSchema::builtin();
        let err = |source| DecideError::Baseline {
            name: name.to_owned(),
            source,
        };
        let controller = match name {
            "reactive" => {
                let mut config: ReactiveConfig = cluster.reactive.clone().unwrap_or_default();
                config.decision_interval_s = cluster.interval_ms as f64 / 1000.0;
                LiveBaseline::Reactive(Box::new(
                    ReactiveController::new(config, schema, kinds.clone()).map_err(err)?,
                ))
            }
            "runbook" => {
                let path = cluster.runbook_path().ok_or_else(|| DecideError::Manifest {
                    path: PathBuf::from("cluster file"),
                    field: "runbook".into(),
                    message: "expected the path of a runbook file (e.g. agents/runbooks/default.toml)"
                        .into(),
                })?;
                LiveBaseline::Runbook(Box::new(
                    Runbook::from_file(&path, schema, kinds.clone()).map_err(err)?,
                ))
            }
            other => {
                return Err(DecideError::Manifest {
                    path: PathBuf::from("--baseline"),
                    field: "name".into(),
                    message: format!("unknown baseline `{other}`: expected reactive or runbook"),
                });
            }
        };
        Ok(BaselinePolicy {
            name: name.to_owned(),
            controller,
            services: cluster.service_names(),
            kinds,
        })
    }

    /// The baseline's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The baseline's proposal for `features`; advances its timers by one interval.
    pub fn decide(
        &mut self,
        features: &Features,
        readings: &Readings,
        cluster: &ClusterFile,
    ) -> Result<Proposed, DecideError> {
        let obs = entity_observation(features);
        let mask = live_mask(&self.kinds, &self.services, readings, cluster);
        let action = match &mut self.controller {
            LiveBaseline::Reactive(c) => c.decide(&obs, Some(&mask)),
            LiveBaseline::Runbook(c) => c.decide(&obs, Some(&mask)),
        }
        .map_err(|source| DecideError::Baseline {
            name: self.name.clone(),
            source,
        })?;
        let first = self.services.first().cloned().unwrap_or_default();
        if action == 0 {
            return Ok(Proposed {
                action: Action::noop(&cluster.namespace, &first),
                probability: 1.0,
                probabilities: Vec::new(),
                act_probability: None,
                choice_probability: None,
                reason: format!("{}: no-op", self.name),
                mask,
            });
        }
        let k = SIM_ACTION_KINDS.len();
        let (entity, kind) = ((action - 1) / k, SIM_ACTION_KINDS[(action - 1) % k]);
        let Some(service) = self.services.get(entity) else {
            return Ok(Proposed {
                action: Action::noop(&cluster.namespace, &first),
                probability: 1.0,
                probabilities: Vec::new(),
                act_probability: None,
                choice_probability: None,
                reason: format!(
                    "{}: action {action} on entity row {entity}, which is not a service: not carried out",
                    self.name
                ),
                mask,
            });
        };
        let (action, why) = match live_action(kind, service, readings, cluster) {
            Some(kind) => (
                Action {
                    namespace: cluster.namespace.clone(),
                    service: service.clone(),
                    kind,
                },
                String::new(),
            ),
            None => (
                Action::noop(&cluster.namespace, service),
                " has no live equivalent here: not carried out".to_owned(),
            ),
        };
        Ok(Proposed {
            action,
            probability: 1.0,
            probabilities: Vec::new(),
            act_probability: None,
            choice_probability: None,
            reason: format!("{}: {kind} on {service}{why}", self.name),
            mask,
        })
    }
}

/// A policy's deterministic choice from its scores, with the figures the gate and the audit read.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreDecision {
    /// Flat action index (0 = no-op).
    pub action: usize,
    /// What the confidence gate reads (see [`Proposed::probability`]).
    pub confidence: f64,
    /// Every action's probability (softmax weights for Q-values), non-finite values set to 0.
    pub probabilities: Vec<f64>,
    /// `1 - p[no-op]` (probability outputs only).
    pub act_probability: Option<f64>,
    /// The chosen action's share of the first stage (probability outputs only).
    pub choice_probability: Option<f64>,
}

/// Probabilities decide no-op first ([`mend_agents::noop_first_decision`]: act iff acting is
/// likelier in total than the no-op, then the likeliest action), confidence = the first stage's
/// probability; a non-finite probability makes the whole output untrustworthy: no-op, confidence 0
/// (the gate then uses the fallback). Q-values take the argmax (first maximum wins ties), confidence = its softmax weight.
pub fn decide_from_scores(scores: ActionScores) -> ScoreDecision {
    match scores {
        ActionScores::Probabilities(p) => {
            let clean: Vec<f32> = p
                .iter()
                .map(|&x| if x.is_finite() { x } else { 0.0 })
                .collect();
            if p.iter().any(|x| !x.is_finite()) {
                // A corrupt output steers nothing: the no-op with no confidence, so the gate
                // hands the decision to the fallback rule.
                return ScoreDecision {
                    action: 0,
                    confidence: 0.0,
                    probabilities: clean.into_iter().map(f64::from).collect(),
                    act_probability: None,
                    choice_probability: None,
                };
            }
            let d = noop_first_decision(&clean);
            ScoreDecision {
                action: d.action,
                confidence: f64::from(d.stage_confidence()),
                probabilities: clean.into_iter().map(f64::from).collect(),
                act_probability: Some(f64::from(d.act_probability)),
                choice_probability: Some(f64::from(d.choice_probability)),
            }
        }
        ActionScores::QValues(q) => {
            let probabilities = softmax(&q);
            let (action, confidence) = probabilities.iter().copied().enumerate().fold(
                (0, f64::NEG_INFINITY),
                |acc, (i, p)| if p > acc.1 { (i, p) } else { acc },
            );
            ScoreDecision {
                action,
                confidence,
                probabilities,
                act_probability: None,
                choice_probability: None,
            }
        }
    }
}

/// The policy's choice for `obs` under the live `mask`: the policy scores with the mask (as the
/// env's training did), then every masked action is removed again from its scores
/// ([`crate::mask::apply_mask`]) so that no policy, whatever it does with a mask, can choose a
/// masked action; then [`decide_from_scores`].
pub fn masked_decision<P: Policy + ?Sized>(
    policy: &P,
    obs: &Observation,
    mask: &[bool],
) -> Result<ScoreDecision, Box<mend_agents::AgentError>> {
    let scores = policy.action_scores(obs, Some(mask)).map_err(Box::new)?;
    Ok(decide_from_scores(apply_mask(scores, mask)))
}

/// The live action for a simulator kind on `service`, if it has one here.
pub fn live_action(
    kind: &str,
    service: &str,
    readings: &Readings,
    cluster: &ClusterFile,
) -> Option<ActionKind> {
    let n = readings.replicas.get(service).copied().unwrap_or(0);
    match kind {
        "restart_replica" => {
            worst_replica(service, n, readings).map(|r| ActionKind::Restart { replica: Some(r) })
        }
        "restart_service" => Some(ActionKind::Restart { replica: None }),
        "scale_out" => Some(ActionKind::ScaleTo { replicas: n + 1 }),
        "scale_in" if n > 1 => Some(ActionKind::ScaleTo { replicas: n - 1 }),
        "failover" => cluster
            .service(service)
            .and_then(|s| s.failover_to.clone())
            .map(|to| ActionKind::FailOver { to }),
        _ => None,
    }
}

/// The replica that looks worst: lowest `up`, then highest `memory_utilization`, then lowest index.
fn worst_replica(service: &str, n: usize, readings: &Readings) -> Option<usize> {
    (0..n)
        .map(|r| {
            let up = readings.replica_value(service, r, "up").unwrap_or(0.0);
            let mem = readings
                .replica_value(service, r, "memory_utilization")
                .unwrap_or(0.0);
            (up, -mem, r)
        })
        .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(_, _, r)| r)
}

/// Softmax of Q-values (masked `-inf` entries get 0), computed stably.
fn softmax(q: &[f32]) -> Vec<f64> {
    let max = q
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = q
        .iter()
        .map(|&x| {
            if x.is_finite() {
                f64::from(x - max).exp()
            } else {
                0.0
            }
        })
        .collect();
    let sum: f64 = e.iter().sum();
    e.into_iter()
        .map(|x| if sum > 0.0 { x / sum } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_flattened_features() {
        let mut r = Readings::default();
        r.replicas.insert("api".into(), 1);
        r.replicas.insert("web".into(), 2);
        r.replica.insert(("web".into(), 1, "up".into()), 0.0);
        let f = mend_monitor::features::FeatureExtractor::builtin().extract(&r.to_snapshot(0));
        let names = flat_feature_names(&["api".into(), "web".into()]);
        assert_eq!(names.len(), flat_observation(&f).len());
        assert_eq!(names[0], "service/api.is_service");
        assert!(names.last().unwrap().starts_with("global."));
    }

    #[test]
    fn worst_replica_is_the_down_one_then_the_fullest() {
        let mut r = Readings::default();
        r.replicas.insert("web".into(), 3);
        for (i, (up, mem)) in [(1.0, 0.2), (1.0, 0.7), (1.0, 0.1)].into_iter().enumerate() {
            r.replica.insert(("web".into(), i, "up".into()), up);
            r.replica
                .insert(("web".into(), i, "memory_utilization".into()), mem);
        }
        assert_eq!(worst_replica("web", 3, &r), Some(1));
        r.replica.insert(("web".into(), 2, "up".into()), 0.0);
        assert_eq!(worst_replica("web", 3, &r), Some(2));
    }

    #[test]
    fn probabilities_act_first_then_choose_and_gate_on_the_first_stage() {
        // The no-op is the argmax (0.3), but acting holds 0.7: act, on the likeliest action.
        let d = decide_from_scores(ActionScores::Probabilities(vec![0.3, 0.1, 0.25, 0.2, 0.15]));
        assert_eq!(d.action, 2);
        assert!((d.confidence - 0.7).abs() < 1e-6);
        assert!((d.act_probability.unwrap() - 0.7).abs() < 1e-6);
        assert!((d.choice_probability.unwrap() - 0.25 / 0.7).abs() < 1e-6);
        // The no-op holding half or more stays put, with its own probability as confidence.
        let d = decide_from_scores(ActionScores::Probabilities(vec![0.6, 0.3, 0.1]));
        assert_eq!(d.action, 0);
        assert!((d.confidence - 0.6).abs() < 1e-6);
        assert_eq!(d.choice_probability, Some(1.0));
    }

    #[test]
    fn a_nan_probability_makes_a_no_op_with_no_confidence() {
        for p in [
            vec![0.1, f32::NAN, 0.9],
            vec![f32::NAN, 0.2],
            vec![0.1, f32::INFINITY],
        ] {
            let d = decide_from_scores(ActionScores::Probabilities(p.clone()));
            assert_eq!((d.action, d.confidence), (0, 0.0), "{p:?}");
            assert!(d.probabilities.iter().all(|x| x.is_finite()), "{p:?}");
            assert_eq!(d.act_probability, None);
        }
    }

    #[test]
    fn q_values_keep_the_argmax() {
        // Many actions just below the no-op's value: the argmax (no-op) stands, no act-first.
        let d = decide_from_scores(ActionScores::QValues(vec![1.0, 0.9, 0.9, 0.9, 0.9]));
        assert_eq!(d.action, 0);
        assert_eq!((d.act_probability, d.choice_probability), (None, None));
        let d = decide_from_scores(ActionScores::QValues(vec![0.0, f32::NEG_INFINITY, 2.0]));
        assert_eq!(d.action, 2);
        assert!((d.confidence - softmax(&[0.0, f32::NEG_INFINITY, 2.0])[2]).abs() < 1e-12);
    }

    #[test]
    fn softmax_sums_to_one_and_ignores_masked() {
        let p = softmax(&[1.0, f32::NEG_INFINITY, 1.0]);
        assert_eq!(p[1], 0.0);
        assert!((p[0] - 0.5).abs() < 1e-12 && (p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
