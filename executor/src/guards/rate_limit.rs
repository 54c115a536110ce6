//! Per-action cooldown and a global rate limit (at most N actions per sliding window).

use std::collections::BTreeMap;

use super::ExecutedAction;
use crate::decision::{Action, Verdict};

/// Cooldowns per action kind and a sliding-window rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Cooldown per action kind name (`"restart"`, `"scale_to"`, ...), milliseconds.
    pub cooldown_ms: BTreeMap<String, u64>,
    /// Cooldown of kinds not in `cooldown_ms`, milliseconds.
    pub default_cooldown_ms: u64,
    /// Most actions carried out within any window of `window_ms` (all services together).
    pub max_actions: usize,
    /// The window, milliseconds.
    pub window_ms: u64,
}

impl RateLimit {
    /// Cooldown of `kind`.
    pub fn cooldown_of(&self, kind: &str) -> u64 {
        self.cooldown_ms
            .get(kind)
            .copied()
            .unwrap_or(self.default_cooldown_ms)
    }

    /// The verdict on `action` at `now_ms`, given the actions already carried out.
    ///
    /// Cooldown: the same kind on the same service less than its cooldown ago. Rate: `max_actions`
    /// actions in `(now - window, now]` already. Actions stamped after `now` count as recent.
    pub fn check(&self, action: &Action, history: &[ExecutedAction], now_ms: u64) -> Verdict {
        if action.is_noop() {
            return Verdict::Allow;
        }
        let kind = action.kind.name();
        let cooldown = self.cooldown_of(kind);
        let last_same = history
            .iter()
            .filter(|h| {
                h.action.namespace == action.namespace
                    && h.action.service == action.service
                    && h.action.kind.name() == kind
            })
            .map(|h| h.time_ms)
            .max();
        if let Some(t) = last_same {
            let ago = now_ms.saturating_sub(t);
            if t > now_ms || ago < cooldown {
                return Verdict::Deny {
                    reason: format!(
                        "cooldown: {kind} on {}/{} {ago} ms ago, cooldown {cooldown} ms",
                        action.namespace, action.service
                    ),
                };
            }
        }
        let recent = history
            .iter()
            .filter(|h| h.time_ms > now_ms.saturating_sub(self.window_ms))
            .count();
        if recent >= self.max_actions {
            return Verdict::Deny {
                reason: format!(
                    "rate limit: {recent} actions in the last {} ms, at most {}",
                    self.window_ms, self.max_actions
                ),
            };
        }
        Verdict::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::ActionKind;

    fn act(svc: &str, kind: ActionKind) -> Action {
        Action {
            namespace: "n".into(),
            service: svc.into(),
            kind,
        }
    }

    fn done(t: u64, a: Action) -> ExecutedAction {
        ExecutedAction {
            time_ms: t,
            action: a,
            replicas_touched: 1,
        }
    }

    fn limit() -> RateLimit {
        RateLimit {
            cooldown_ms: [("restart".to_owned(), 60_000)].into(),
            default_cooldown_ms: 10_000,
            max_actions: 3,
            window_ms: 100_000,
        }
    }

    #[test]
    fn cooldown_is_per_service_and_kind_and_ends_exactly() {
        let restart = act("api", ActionKind::Restart { replica: None });
        let history = [done(1_000, restart.clone())];
        let l = limit();
        assert!(
            matches!(l.check(&restart, &history, 60_999), Verdict::Deny { reason } if reason.contains("cooldown"))
        );
        assert_eq!(l.check(&restart, &history, 61_000), Verdict::Allow);
        assert_eq!(
            l.check(
                &act("db", ActionKind::Restart { replica: None }),
                &history,
                2_000
            ),
            Verdict::Allow
        );
        let scale = act("api", ActionKind::ScaleTo { replicas: 2 });
        assert_eq!(
            l.check(&scale, &history, 11_000),
            Verdict::Allow,
            "default cooldown of another kind"
        );
        assert!(matches!(
            l.check(&scale, &[done(5_000, scale.clone())], 14_999),
            Verdict::Deny { .. }
        ));
    }

    #[test]
    fn at_most_n_actions_per_sliding_window() {
        let l = limit();
        let history: Vec<_> = ["a", "b", "c"]
            .iter()
            .zip([10_000, 20_000, 30_000])
            .map(|(s, t)| done(t, act(s, ActionKind::Stop { replica: None })))
            .collect();
        let next = act("d", ActionKind::Stop { replica: None });
        assert!(
            matches!(l.check(&next, &history, 109_999), Verdict::Deny { reason } if reason.contains("rate limit"))
        );
        assert_eq!(
            l.check(&next, &history, 110_000),
            Verdict::Allow,
            "the first action left the window"
        );
    }
}
