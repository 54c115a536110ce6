//! Shadow mode: the loop decides and records, but never acts. The default.

use crate::decision::{Action, Verdict};

/// Denies every action while enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShadowMode {
    /// True: never act.
    pub enabled: bool,
}

impl ShadowMode {
    /// The verdict on `action`.
    pub fn check(&self, action: &Action) -> Verdict {
        if self.enabled && !action.is_noop() {
            Verdict::Deny {
                reason: "shadow mode: decisions are recorded, never carried out".into(),
            }
        } else {
            Verdict::Allow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::ActionKind;

    #[test]
    fn shadow_denies_every_action_and_off_allows() {
        let a = Action {
            namespace: "n".into(),
            service: "s".into(),
            kind: ActionKind::Restart { replica: None },
        };
        assert!(matches!(
            ShadowMode { enabled: true }.check(&a),
            Verdict::Deny { .. }
        ));
        assert_eq!(ShadowMode { enabled: false }.check(&a), Verdict::Allow);
        assert_eq!(
            ShadowMode { enabled: true }.check(&Action::noop("n", "s")),
            Verdict::Allow
        );
    }
}
