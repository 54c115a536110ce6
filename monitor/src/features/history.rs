//! The controller's own recent actions, as named per-entity values a caller writes into a
//! [`Snapshot`] before feature extraction (feature schema v2, see `features`).
//!
//! A real controller knows what it did: Kubernetes reports each pod's `restartCount` and
//! `lastState` (<https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-states>),
//! and a runbook escalates on "I restarted this 60 s ago and it still fails". Without these values
//! two states that look the same need different actions (engineer P, session 4: a policy cloned
//! from the runbook matched only 26 % of its acting decisions). The monitor crate stays on metric
//! *names*: whoever acts (the cluster env in simulation, the executor live) keeps an
//! [`EntityActions`] per service and node and writes [`ActionValues`] under the metric names below.
//!
//! Attribution: an action on a replica counts for its service; a node action for its node.
//! "Never acted" (or longer ago than [`ACTION_AGE_NEVER_S`]) is the age [`ACTION_AGE_NEVER_S`].

use std::collections::VecDeque;

use crate::telemetry::{EntityKind, Snapshot};

/// Seconds since this controller last started an action on the entity, capped at
/// [`ACTION_AGE_NEVER_S`] ("never" is the cap).
pub const ACTION_AGE_METRIC: &str = "mend_action_age_seconds";
/// 1 while an action this controller started on the entity has not finished (simulation: the
/// simulator's action is still running; live: its verification is pending), else 0.
pub const ACTION_IN_FLIGHT_METRIC: &str = "mend_action_in_flight";
/// Number of actions this controller started on the entity in the last [`RECENT_WINDOW_S`].
pub const ACTIONS_RECENT_METRIC: &str = "mend_actions_recent";
/// The three action-history metric names, in the order of [`ActionValues::metrics`].
pub const ACTION_HISTORY_METRICS: [&str; 3] = [
    ACTION_AGE_METRIC,
    ACTION_IN_FLIGHT_METRIC,
    ACTIONS_RECENT_METRIC,
];

/// The age written for an entity never acted on (one hour: past every wait of the shipped
/// runbook, whose longest escalation wait is 300 s, and the reactive controller's 300 s
/// scale-down stabilisation window).
pub const ACTION_AGE_NEVER_S: f64 = 3600.0;
/// The window of [`ACTIONS_RECENT_METRIC`], seconds (ten minutes: a runbook's whole escalation
/// ladder, e.g. restart_replica, wait 60 s, restart_service, wait 180 s, fits in it).
pub const RECENT_WINDOW_S: f64 = 600.0;

/// The action-history values of one entity at one time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActionValues {
    /// Seconds since the last action started, in `[0, ACTION_AGE_NEVER_S]`.
    pub age_s: f64,
    /// Whether an action is still running.
    pub in_flight: bool,
    /// Actions started in the last [`RECENT_WINDOW_S`].
    pub recent: u32,
}

impl ActionValues {
    /// An entity this controller never acted on (what shadow mode always reports).
    pub const NEVER: Self = Self {
        age_s: ACTION_AGE_NEVER_S,
        in_flight: false,
        recent: 0,
    };

    /// `(metric name, value)` in [`ACTION_HISTORY_METRICS`] order.
    pub fn metrics(self) -> [(&'static str, f64); 3] {
        [
            (ACTION_AGE_METRIC, self.age_s),
            (ACTION_IN_FLIGHT_METRIC, f64::from(u8::from(self.in_flight))),
            (ACTIONS_RECENT_METRIC, f64::from(self.recent)),
        ]
    }

    /// Writes the three metrics of entity `kind`/`name` into `snapshot`.
    pub fn set_into(self, snapshot: &mut Snapshot, kind: EntityKind, name: &str) {
        for (metric, value) in self.metrics() {
            snapshot.set(kind, name, metric, value);
        }
    }
}

/// The action starts of one entity (times in seconds on the caller's clock: simulated time, or
/// Unix time live). Keeps only what the values need: the last start and the starts inside the
/// recent window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntityActions {
    /// Start times inside the window of the latest start, oldest first.
    starts: VecDeque<f64>,
    /// The latest start.
    last: Option<f64>,
}

impl EntityActions {
    /// Records an action started at `time_s` (times must not decrease).
    pub fn record_start(&mut self, time_s: f64) {
        while self
            .starts
            .front()
            .is_some_and(|&t| t <= time_s - RECENT_WINDOW_S)
        {
            self.starts.pop_front();
        }
        self.starts.push_back(time_s);
        self.last = Some(time_s);
    }

    /// Forgets every action (an episode reset).
    pub fn clear(&mut self) {
        self.starts.clear();
        self.last = None;
    }

    /// The values at `now_s`, with `in_flight` from whoever knows whether the action finished.
    /// A start in the future of `now_s` counts as age 0.
    pub fn values(&self, now_s: f64, in_flight: bool) -> ActionValues {
        let age_s = self.last.map_or(ACTION_AGE_NEVER_S, |t| {
            (now_s - t).clamp(0.0, ACTION_AGE_NEVER_S)
        });
        let recent = self
            .starts
            .iter()
            .filter(|&&t| t > now_s - RECENT_WINDOW_S)
            .count() as u32;
        ActionValues {
            age_s,
            in_flight,
            recent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_acted_is_the_cap_and_ages_grow_with_time() {
        let mut e = EntityActions::default();
        assert_eq!(e.values(100.0, false), ActionValues::NEVER);
        e.record_start(100.0);
        assert_eq!(
            e.values(130.0, true),
            ActionValues {
                age_s: 30.0,
                in_flight: true,
                recent: 1
            }
        );
        e.record_start(190.0);
        let v = e.values(250.0, false);
        assert_eq!((v.age_s, v.recent), (60.0, 2));
        // 600 s after the first start it leaves the window; the second stays.
        assert_eq!(e.values(700.0, false).recent, 1);
        assert_eq!(e.values(789.0, false).recent, 1);
        assert_eq!(e.values(790.0, false).recent, 0);
        assert_eq!(e.values(1e6, false).age_s, ACTION_AGE_NEVER_S);
        e.clear();
        assert_eq!(e.values(250.0, false), ActionValues::NEVER);
    }

    #[test]
    fn old_starts_are_pruned_but_counted_while_in_the_window() {
        let mut e = EntityActions::default();
        for i in 0..100 {
            e.record_start(f64::from(i) * 30.0);
        }
        assert!(e.starts.len() <= 21, "{}", e.starts.len());
        // Starts at 2370..=2970 s: those after 2970 - 600 = 2370 count at t = 2970.
        assert_eq!(e.values(2970.0, false).recent, 20);
    }

    #[test]
    fn values_land_under_their_names() {
        let mut s = Snapshot::new(0.0);
        ActionValues {
            age_s: 42.0,
            in_flight: true,
            recent: 3,
        }
        .set_into(&mut s, EntityKind::Service, "api");
        assert_eq!(
            s.get(EntityKind::Service, "api", ACTION_AGE_METRIC),
            Some(42.0)
        );
        assert_eq!(
            s.get(EntityKind::Service, "api", ACTION_IN_FLIGHT_METRIC),
            Some(1.0)
        );
        assert_eq!(
            s.get(EntityKind::Service, "api", ACTIONS_RECENT_METRIC),
            Some(3.0)
        );
    }
}
