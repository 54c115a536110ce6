//! The decision record: what the live loop proposed, what the guards said and what happened.
//!
//! One [`Decision`] is written to the audit log per loop iteration. The types here are plain
//! data (serde), shared by the guards (which judge an [`Action`]), the actuators (which carry it
//! out) and the audit log (which records all of it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What an action does, with the parameters its kind needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionKind {
    /// Do nothing (the policy's explicit no-op).
    Noop,
    /// Restart one replica (`Some(index)`) or every replica (`None`) of the service.
    Restart {
        /// Replica index, or `None` for the whole service.
        replica: Option<usize>,
    },
    /// Stop one replica or the whole service.
    Stop {
        /// Replica index, or `None` for the whole service.
        replica: Option<usize>,
    },
    /// Start one stopped replica or every stopped replica.
    Start {
        /// Replica index, or `None` for the whole service.
        replica: Option<usize>,
    },
    /// Scale the service to exactly `replicas` running instances.
    ScaleTo {
        /// Target number of replicas.
        replicas: usize,
    },
    /// Send the service's traffic to another target (region, provider or standby instance set).
    FailOver {
        /// Name of the target to fail over to.
        to: String,
    },
    /// Mark a node unschedulable (on behalf of the action's service); Kubernetes only.
    Cordon {
        /// Node name.
        node: String,
    },
    /// Cordon a node and evict its pods, honouring PodDisruptionBudgets; Kubernetes only.
    Drain {
        /// Node name.
        node: String,
    },
}

impl ActionKind {
    /// A short stable name for the kind (`"restart"`, `"scale_to"`, ...), used by cooldowns and
    /// rate limits as a key.
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Noop => "noop",
            ActionKind::Restart { .. } => "restart",
            ActionKind::Stop { .. } => "stop",
            ActionKind::Start { .. } => "start",
            ActionKind::ScaleTo { .. } => "scale_to",
            ActionKind::FailOver { .. } => "fail_over",
            ActionKind::Cordon { .. } => "cordon",
            ActionKind::Drain { .. } => "drain",
        }
    }
}

/// A proposed or executed action on one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// Namespace (Kubernetes namespace, or a group name for local processes).
    pub namespace: String,
    /// Service the action targets.
    pub service: String,
    /// What to do.
    #[serde(flatten)]
    pub kind: ActionKind,
}

impl Action {
    /// The no-op action on a service.
    pub fn noop(namespace: &str, service: &str) -> Self {
        Action {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            kind: ActionKind::Noop,
        }
    }

    /// True for the no-op.
    pub fn is_noop(&self) -> bool {
        self.kind == ActionKind::Noop
    }
}

/// One guard's verdict on a proposed action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case", deny_unknown_fields)]
pub enum Verdict {
    /// The guard lets the action through.
    Allow,
    /// The guard refuses the action; nothing is done.
    Deny {
        /// Why, in words an operator reads.
        reason: String,
    },
    /// The guard replaces the action by another one (the confidence gate's fallback).
    Replace {
        /// Why the replacement happened.
        reason: String,
        /// The action used instead.
        by: Action,
    },
}

/// A guard's name and its verdict, as recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardVerdict {
    /// Guard name (`"shadow"`, `"allowlist"`, `"cooldown"`, ...).
    pub guard: String,
    /// Its verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// What became of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// Not acted on (shadow mode, a guard's refusal, or a no-op).
    NotActed {
        /// Why.
        reason: String,
    },
    /// The dry-run actuator recorded the action without doing it.
    DryRun,
    /// The actuator carried the action out; verification is pending or not configured.
    Applied,
    /// The action was carried out and its effect verified.
    Verified,
    /// The actuator or the verification failed.
    Failed {
        /// The error, as text.
        error: String,
    },
}

/// One decision of the live loop: the unit the audit log records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// SHA-256 (hex) of the observation the policy saw; see [`observation_digest`].
    pub obs_digest: String,
    /// The action finally chosen (after any replacement by a guard).
    pub action: Action,
    /// The policy's action probabilities (finite values only).
    pub probabilities: Vec<f64>,
    /// Every guard's verdict, in evaluation order.
    pub verdicts: Vec<GuardVerdict>,
    /// What happened.
    pub outcome: Outcome,
    /// Free-form fields (policy file hash, mode, timings...). A `BTreeMap`, so serialised in key order.
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// SHA-256 (lower-case hex) of an observation vector's little-endian `f64` bytes.
///
/// Bit-exact: `0.0` and `-0.0` digest differently, as do NaN payloads.
pub fn observation_digest(values: &[f64]) -> String {
    let mut hasher = Sha256::new();
    for v in values {
        hasher.update(v.to_le_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_json_is_flat_and_round_trips() {
        let a = Action {
            namespace: "shop".into(),
            service: "api".into(),
            kind: ActionKind::ScaleTo { replicas: 4 },
        };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"namespace":"shop","service":"api","kind":"scale_to","replicas":4}"#
        );
        assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), a);
    }

    #[test]
    fn observation_digest_is_bit_exact() {
        assert_ne!(observation_digest(&[0.0]), observation_digest(&[-0.0]));
        assert_eq!(
            observation_digest(&[1.5, 2.0]),
            observation_digest(&[1.5, 2.0])
        );
        assert_eq!(observation_digest(&[]).len(), 64);
    }
}
