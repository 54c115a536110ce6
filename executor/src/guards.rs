//! Safety guards: pure checks of a proposed action against the executor's state.
//!
//! Each guard lives in its own module and is a plain struct with a `check` method that returns a
//! [`Verdict`]; time comes in as a parameter (`now_ms`), so tests are exact. [`Guards`] runs them
//! all in a fixed order and records every verdict for the audit log:
//!
//! ```text
//! kill switch -> fresh metrics -> confidence gate (may replace the action by the fallback)
//!             -> allowlist -> cooldown / rate limit -> replica share -> shadow mode
//! ```
//!
//! The action is carried out only if no guard denies it. Defaults are the safe ones: shadow mode
//! on, an empty allowlist (nothing may be touched).

mod allowlist;
mod confidence;
mod fresh_metrics;
mod kill_switch;
mod rate_limit;
mod replica_share;
mod shadow;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::decision::{Action, GuardVerdict, Verdict};

pub use allowlist::Allowlist;
pub use confidence::ConfidenceGate;
pub use fresh_metrics::FreshMetrics;
pub use kill_switch::KillSwitch;
pub use rate_limit::RateLimit;
pub use replica_share::{ReplicaShare, replicas_touched};
pub use shadow::ShadowMode;

/// An action that was carried out, as the guards remember it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutedAction {
    /// When, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// What.
    pub action: Action,
    /// How many replicas it disrupted (see [`replicas_touched`]).
    pub replicas_touched: usize,
}

/// What the policy proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The policy's action.
    pub action: Action,
    /// The policy's probability of that action.
    pub probability: f64,
    /// The fallback decision (the runbook's) for the confidence gate.
    pub fallback: Action,
}

/// The state the guards judge a proposal against.
#[derive(Debug, Clone, Copy)]
pub struct GuardState<'a> {
    /// Now, milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// Actions carried out so far (any order).
    pub history: &'a [ExecutedAction],
    /// Current replica count of each service, by service name (one actuator serves one namespace).
    pub replicas: &'a BTreeMap<String, usize>,
    /// Newest sample time of each required feature; `None` when it has no sample.
    pub metric_times: &'a BTreeMap<String, Option<u64>>,
    /// Whether the kill switch is engaged ([`Guards::kill_switch_engaged`]).
    pub kill_switch_engaged: bool,
}

/// Guard settings, as written in the cluster file's `[guards]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// Never act (default true).
    pub shadow: bool,
    /// `namespace/service` or `namespace/*` entries (default: none, so nothing may be touched).
    pub allowlist: Vec<String>,
    /// Cooldown per action kind, milliseconds.
    pub cooldown_ms: BTreeMap<String, u64>,
    /// Cooldown of other kinds, milliseconds (default 5 min).
    pub default_cooldown_ms: u64,
    /// Most actions per window (default 5).
    pub max_actions: usize,
    /// Rate-limit window, milliseconds (default 1 h).
    pub window_ms: u64,
    /// Largest share of a service's replicas touched at once (default 0.5).
    pub max_replica_share: f64,
    /// How long touched replicas count as settling, milliseconds (default 2 min).
    pub settle_ms: u64,
    /// Largest accepted metric age, milliseconds (default 60 s).
    pub max_metric_age_ms: u64,
    /// Confidence threshold of the policy's action (default 0.6).
    pub confidence_threshold: f64,
    /// Kill-switch file (default none).
    pub kill_switch: Option<PathBuf>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            shadow: true,
            allowlist: Vec::new(),
            cooldown_ms: BTreeMap::new(),
            default_cooldown_ms: 300_000,
            max_actions: 5,
            window_ms: 3_600_000,
            max_replica_share: 0.5,
            settle_ms: 120_000,
            max_metric_age_ms: 60_000,
            confidence_threshold: 0.6,
            kill_switch: None,
        }
    }
}

/// An invalid guard setting.
#[derive(Debug, thiserror::Error)]
#[error("guards: field `{field}`: {message}")]
pub struct GuardConfigError {
    /// Field at fault (e.g. `allowlist[2]`).
    pub field: String,
    /// What was expected.
    pub message: String,
}

/// The result of running every guard.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The action after any replacement (the fallback, if the confidence gate used it).
    pub action: Action,
    /// Every guard's verdict, in evaluation order.
    pub verdicts: Vec<GuardVerdict>,
    /// True when no guard denied: the action may be carried out.
    pub allowed: bool,
}

/// Every guard, configured.
#[derive(Debug, Clone)]
pub struct Guards {
    /// Kill switch.
    pub kill_switch: KillSwitch,
    /// Stale/missing metrics refusal.
    pub fresh_metrics: FreshMetrics,
    /// Confidence gate.
    pub confidence: ConfidenceGate,
    /// Allowlist.
    pub allowlist: Allowlist,
    /// Cooldowns and rate limit.
    pub rate_limit: RateLimit,
    /// Replica share limit.
    pub replica_share: ReplicaShare,
    /// Shadow mode.
    pub shadow: ShadowMode,
}

const KINDS: [&str; 8] = [
    "noop",
    "restart",
    "stop",
    "start",
    "scale_to",
    "fail_over",
    "cordon",
    "drain",
];

impl Guards {
    /// Validates `config`; errors name the field.
    pub fn new(config: &GuardConfig) -> Result<Self, GuardConfigError> {
        let bad = |field: String, message: String| GuardConfigError { field, message };
        let allowlist = Allowlist::parse(&config.allowlist)
            .map_err(|(i, m)| bad(format!("allowlist[{i}]"), m))?;
        if let Some(kind) = config
            .cooldown_ms
            .keys()
            .find(|k| !KINDS.contains(&k.as_str()))
        {
            return Err(bad(
                format!("cooldown_ms.{kind}"),
                format!("expected one of {}", KINDS.join(", ")),
            ));
        }
        if !(config.max_replica_share > 0.0 && config.max_replica_share <= 1.0) {
            let m = format!(
                "expected a number in (0, 1], found {}",
                config.max_replica_share
            );
            return Err(bad("max_replica_share".into(), m));
        }
        if !(0.0..=1.0).contains(&config.confidence_threshold) {
            let m = format!(
                "expected a number in [0, 1], found {}",
                config.confidence_threshold
            );
            return Err(bad("confidence_threshold".into(), m));
        }
        if config.window_ms == 0 {
            return Err(bad(
                "window_ms".into(),
                "expected a positive number of milliseconds".into(),
            ));
        }
        Ok(Guards {
            kill_switch: KillSwitch {
                path: config.kill_switch.clone(),
            },
            fresh_metrics: FreshMetrics {
                max_age_ms: config.max_metric_age_ms,
            },
            confidence: ConfidenceGate {
                threshold: config.confidence_threshold,
            },
            allowlist,
            rate_limit: RateLimit {
                cooldown_ms: config.cooldown_ms.clone(),
                default_cooldown_ms: config.default_cooldown_ms,
                max_actions: config.max_actions,
                window_ms: config.window_ms,
            },
            replica_share: ReplicaShare {
                max_share: config.max_replica_share,
                settle_ms: config.settle_ms,
            },
            shadow: ShadowMode {
                enabled: config.shadow,
            },
        })
    }

    /// Checks the kill-switch file (the only guard input that needs I/O).
    pub fn kill_switch_engaged(&self) -> bool {
        self.kill_switch.is_engaged()
    }

    /// Runs every guard on `proposal`; pure given `state`.
    pub fn evaluate(&self, proposal: &Proposal, state: &GuardState<'_>) -> Evaluation {
        let mut verdicts = Vec::with_capacity(7);
        let mut record = |guard: &str, verdict: Verdict| {
            verdicts.push(GuardVerdict {
                guard: guard.into(),
                verdict,
            })
        };
        record(
            "kill_switch",
            self.kill_switch.check(state.kill_switch_engaged),
        );
        record(
            "fresh_metrics",
            self.fresh_metrics.check(state.metric_times, state.now_ms),
        );
        let gate =
            self.confidence
                .check(&proposal.action, proposal.probability, &proposal.fallback);
        let action = match &gate {
            Verdict::Replace { by, .. } => by.clone(),
            _ => proposal.action.clone(),
        };
        record("confidence", gate);
        record("allowlist", self.allowlist.check(&action));
        record(
            "rate_limit",
            self.rate_limit.check(&action, state.history, state.now_ms),
        );
        let share = match state.replicas.get(&action.service) {
            Some(&n) => self
                .replica_share
                .check(&action, n, state.history, state.now_ms),
            None if action.is_noop() => Verdict::Allow,
            None => Verdict::Deny {
                reason: format!(
                    "replica count of {}/{} unknown",
                    action.namespace, action.service
                ),
            },
        };
        record("replica_share", share);
        record("shadow", self.shadow.check(&action));
        let allowed = !verdicts
            .iter()
            .any(|v| matches!(v.verdict, Verdict::Deny { .. }));
        Evaluation {
            action,
            verdicts,
            allowed,
        }
    }
}
