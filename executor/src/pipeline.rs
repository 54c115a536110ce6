//! The decision pipeline, without I/O: readings -> telemetry snapshot -> the monitor's features
//! -> the policy (or the fallback rule) -> every guard. What it returns is what the loop carries
//! out (or not) and records. Separate from the loop so that its latency ("metrics received to
//! action issued, excluding the actuator") can be measured alone (benches/benches/executor.rs).

use mend_monitor::features::{FeatureExtractor, Features};

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
        Ok(Pipeline {
            extractor: FeatureExtractor::v1(),
            features: Features::default(),
            proposer,
            rule: FallbackRule::new(&cluster.namespace, cluster.fallback.clone()),
            guards: Guards::new(&config)?,
            history: Vec::new(),
        })
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

    /// Actions carried out so far.
    pub fn history(&self) -> &[ExecutedAction] {
        &self.history
    }

    /// Remembers an action carried out at `time_ms` (for cooldowns, rate and share limits).
    pub fn record_executed(&mut self, executed: ExecutedAction) {
        self.history.push(executed);
    }

    /// Judges one observation at `now_ms`; `kill_switch` is whether the kill switch is engaged.
    pub fn decide(
        &mut self,
        cluster: &ClusterFile,
        readings: &Readings,
        now_ms: u64,
        kill_switch: bool,
    ) -> Result<Judged, DecideError> {
        let snapshot = readings.to_snapshot(now_ms);
        self.extractor.extract_into(&snapshot, &mut self.features);
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
