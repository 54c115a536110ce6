//! A limit on the share of a service's replicas that actions touch at once.
//!
//! Allowed replicas = ceil(max_share × replicas), rounding up as Kubernetes does for a
//! PodDisruptionBudget given in percent (kubernetes.io, "Specifying a Disruption Budget for your
//! Application"). Replicas touched by actions on the same service within `settle_ms` still count
//! (they may not be back yet).

use super::ExecutedAction;
use crate::decision::{Action, ActionKind, Verdict};

/// Share limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaShare {
    /// Largest share of replicas touched at once, in (0, 1].
    pub max_share: f64,
    /// How long touched replicas keep counting, milliseconds.
    pub settle_ms: u64,
}

/// How many of a service's `replicas` an action disrupts (stops, restarts, removes or moves).
pub fn replicas_touched(kind: &ActionKind, replicas: usize) -> usize {
    match kind {
        // A cordon stops no pod; it only keeps new ones off the node.
        ActionKind::Noop | ActionKind::Start { .. } | ActionKind::Cordon { .. } => 0,
        ActionKind::Restart { replica: Some(_) } | ActionKind::Stop { replica: Some(_) } => {
            1.min(replicas)
        }
        ActionKind::Restart { replica: None }
        | ActionKind::Stop { replica: None }
        | ActionKind::FailOver { .. }
        // A drain may evict every replica that runs on the node: counted as all (conservative).
        | ActionKind::Drain { .. } => replicas,
        ActionKind::ScaleTo { replicas: target } => replicas.saturating_sub(*target),
    }
}

impl ReplicaShare {
    /// Replicas that may be touched at once out of `replicas`.
    pub fn allowed(&self, replicas: usize) -> usize {
        (self.max_share * replicas as f64).ceil() as usize
    }

    /// The verdict on `action` for a service with `replicas` replicas at `now_ms`.
    pub fn check(
        &self,
        action: &Action,
        replicas: usize,
        history: &[ExecutedAction],
        now_ms: u64,
    ) -> Verdict {
        let touched = replicas_touched(&action.kind, replicas);
        if touched == 0 {
            return Verdict::Allow;
        }
        let in_flight: usize = history
            .iter()
            .filter(|h| {
                h.action.namespace == action.namespace
                    && h.action.service == action.service
                    && h.time_ms > now_ms.saturating_sub(self.settle_ms)
            })
            .map(|h| h.replicas_touched)
            .sum();
        let allowed = self.allowed(replicas);
        if touched + in_flight > allowed {
            Verdict::Deny {
                reason: format!(
                    "replica share: would touch {touched} + {in_flight} settling of {replicas} replicas of {}/{}, at most {allowed} ({} %)",
                    action.namespace,
                    action.service,
                    self.max_share * 100.0
                ),
            }
        } else {
            Verdict::Allow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(kind: ActionKind) -> Action {
        Action {
            namespace: "n".into(),
            service: "api".into(),
            kind,
        }
    }

    #[test]
    fn share_counts_the_action_and_settling_replicas() {
        let g = ReplicaShare {
            max_share: 0.5,
            settle_ms: 30_000,
        };
        assert_eq!((g.allowed(4), g.allowed(3), g.allowed(1)), (2, 2, 1));
        let one = act(ActionKind::Restart { replica: Some(0) });
        assert_eq!(g.check(&one, 4, &[], 0), Verdict::Allow);
        assert!(matches!(
            g.check(&act(ActionKind::Restart { replica: None }), 4, &[], 0),
            Verdict::Deny { .. }
        ));
        let history = [ExecutedAction {
            time_ms: 10_000,
            action: one.clone(),
            replicas_touched: 2,
        }];
        assert!(
            matches!(g.check(&one, 4, &history, 39_999), Verdict::Deny { reason } if reason.contains("2 settling"))
        );
        assert_eq!(
            g.check(&one, 4, &history, 40_000),
            Verdict::Allow,
            "settled"
        );
    }

    #[test]
    fn scale_in_touches_the_removed_replicas_and_start_touches_none() {
        let g = ReplicaShare {
            max_share: 0.25,
            settle_ms: 0,
        };
        assert_eq!(
            g.check(&act(ActionKind::ScaleTo { replicas: 6 }), 8, &[], 0),
            Verdict::Allow
        );
        assert!(matches!(
            g.check(&act(ActionKind::ScaleTo { replicas: 5 }), 8, &[], 0),
            Verdict::Deny { .. }
        ));
        assert_eq!(
            g.check(&act(ActionKind::ScaleTo { replicas: 20 }), 8, &[], 0),
            Verdict::Allow
        );
        assert_eq!(
            g.check(&act(ActionKind::Start { replica: None }), 8, &[], 0),
            Verdict::Allow
        );
    }
}
