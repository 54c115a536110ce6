//! The executor's built-in fallback rule: a minimal liveness-and-memory runbook that works on
//! replica readings. It stands in for the agents crate's reactive controller and runbook
//! baselines, which had not landed when the live loop was written (issue 7); it is also the
//! confidence gate's fallback.
//!
//! Rules, checked service by service (by name), replica by replica (by index); the first match wins:
//! 1. liveness: a replica seen with `up` < 0.5 for `down_for` consecutive observations is
//!    restarted, as a Kubernetes liveness probe restarts a container after `failureThreshold`
//!    consecutive failures (<https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/>);
//! 2. memory: a replica whose `memory_utilization` exceeds `memory_threshold` is restarted before
//!    the kernel's OOM killer ends it (a leak grows until OOM, BRIEF §4).
//!
//! Otherwise: no-op. The rule is deterministic and keeps its counters from the observations only.

use std::collections::BTreeMap;

use crate::cluster::FallbackSettings;
use crate::decision::{Action, ActionKind};
use crate::observe::Readings;

/// The fallback rule and its per-replica counters.
#[derive(Debug, Clone)]
pub struct FallbackRule {
    settings: FallbackSettings,
    namespace: String,
    /// `(service, replica)` -> consecutive observations with `up` < 0.5.
    down_streak: BTreeMap<(String, usize), u32>,
}

impl FallbackRule {
    /// A rule for `namespace` with `settings`.
    pub fn new(namespace: &str, settings: FallbackSettings) -> Self {
        FallbackRule {
            settings,
            namespace: namespace.to_owned(),
            down_streak: BTreeMap::new(),
        }
    }

    /// Updates the counters with `readings` (call once per observation).
    pub fn observe(&mut self, readings: &Readings) {
        let mut next = BTreeMap::new();
        for (service, &n) in &readings.replicas {
            for r in 0..n {
                let key = (service.clone(), r);
                let down = readings
                    .replica_value(service, r, "up")
                    .is_some_and(|v| v < 0.5);
                if down {
                    let streak = self.down_streak.get(&key).copied().unwrap_or(0) + 1;
                    next.insert(key, streak);
                }
            }
        }
        self.down_streak = next;
    }

    /// The rule's action for the last observed `readings`, and why (empty for a no-op).
    pub fn decide(&self, readings: &Readings) -> (Action, String) {
        for (service, &n) in &readings.replicas {
            for r in 0..n {
                let streak = self
                    .down_streak
                    .get(&(service.clone(), r))
                    .copied()
                    .unwrap_or(0);
                let restart = |why: String| {
                    (
                        Action {
                            namespace: self.namespace.clone(),
                            service: service.clone(),
                            kind: ActionKind::Restart { replica: Some(r) },
                        },
                        why,
                    )
                };
                if streak >= self.settings.down_for {
                    return restart(format!(
                        "liveness: {service}-{r} down for {streak} observations"
                    ));
                }
                if let Some(m) = readings.replica_value(service, r, "memory_utilization")
                    && m > self.settings.memory_threshold
                {
                    return restart(format!(
                        "memory: {service}-{r} at {m:.3} > {}",
                        self.settings.memory_threshold
                    ));
                }
            }
        }
        let first = readings.replicas.keys().next().cloned().unwrap_or_default();
        (Action::noop(&self.namespace, &first), String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings(up: [f64; 3], mem: [f64; 3]) -> Readings {
        let mut r = Readings::default();
        r.replicas.insert("web".into(), 3);
        for i in 0..3 {
            r.replica.insert(("web".into(), i, "up".into()), up[i]);
            r.replica
                .insert(("web".into(), i, "memory_utilization".into()), mem[i]);
        }
        r
    }

    #[test]
    fn restarts_after_down_for_observations_and_on_memory() {
        let mut rule = FallbackRule::new("demo", FallbackSettings::default());
        let healthy = readings([1.0; 3], [0.1; 3]);
        rule.observe(&healthy);
        assert!(rule.decide(&healthy).0.is_noop());
        let one_down = readings([1.0, 0.0, 1.0], [0.1; 3]);
        rule.observe(&one_down);
        assert!(
            rule.decide(&one_down).0.is_noop(),
            "one observation is not enough"
        );
        rule.observe(&one_down);
        let (action, why) = rule.decide(&one_down);
        assert_eq!(action.kind, ActionKind::Restart { replica: Some(1) });
        assert!(why.contains("web-1"), "{why}");
        rule.observe(&healthy);
        rule.observe(&one_down);
        assert!(
            rule.decide(&one_down).0.is_noop(),
            "a recovery resets the streak"
        );

        let leaking = readings([1.0; 3], [0.1, 0.1, 0.95]);
        rule.observe(&leaking);
        assert_eq!(
            rule.decide(&leaking).0.kind,
            ActionKind::Restart { replica: Some(2) }
        );
    }
}
