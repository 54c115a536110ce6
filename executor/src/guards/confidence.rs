//! The confidence gate: when the policy is unsure, use the fallback decision (the runbook's).

use crate::decision::{Action, Verdict};

/// Replaces the policy's action by the fallback when its probability is below `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceGate {
    /// Lowest probability at which the policy's own action is used, in [0, 1].
    pub threshold: f64,
}

impl ConfidenceGate {
    /// The verdict on the policy's `action` chosen with `probability`; NaN counts as unsure.
    pub fn check(&self, action: &Action, probability: f64, fallback: &Action) -> Verdict {
        if probability >= self.threshold || action == fallback {
            Verdict::Allow
        } else {
            Verdict::Replace {
                reason: format!(
                    "policy probability {probability} below {}: fallback used",
                    self.threshold
                ),
                by: fallback.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::ActionKind;

    #[test]
    fn unsure_policies_fall_back() {
        let gate = ConfidenceGate { threshold: 0.7 };
        let policy = Action {
            namespace: "n".into(),
            service: "s".into(),
            kind: ActionKind::ScaleTo { replicas: 9 },
        };
        let runbook = Action {
            kind: ActionKind::Restart { replica: Some(0) },
            ..policy.clone()
        };
        assert_eq!(gate.check(&policy, 0.7, &runbook), Verdict::Allow);
        assert!(
            matches!(gate.check(&policy, 0.69, &runbook), Verdict::Replace { by, .. } if by == runbook)
        );
        assert!(matches!(
            gate.check(&policy, f64::NAN, &runbook),
            Verdict::Replace { .. }
        ));
        assert_eq!(
            gate.check(&runbook, 0.1, &runbook),
            Verdict::Allow,
            "already the fallback"
        );
    }
}
