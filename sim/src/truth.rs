//! Ground truth recorded as the run goes: faults with the entities they affect, SLO-violation
//! incidents, request-weighted availability and time-weighted uptime at entry services, cost, data
//! lost on failover, and the cumulative reward components an env differences per step (BRIEF §9).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::scenario::schema::{FaultKind, RewardSpec};
use crate::time::{SimDuration, SimTime};
use crate::trace::{EndCause, FaultOrigin};

/// Incidents are SLO-violation episodes longer than this (BRIEF §9).
pub const INCIDENT_MIN: SimDuration = SimDuration(60_000);

/// One fault as it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRecord {
    /// Fault id (onset order).
    pub id: u32,
    /// Kind.
    pub kind: FaultKind,
    /// Target entity name.
    pub target: String,
    /// Where it came from.
    pub origin: FaultOrigin,
    /// Onset.
    pub onset: SimTime,
    /// Onset plus nominal duration.
    pub nominal_end: SimTime,
    /// Actual end, if it ended within the run.
    pub end: Option<SimTime>,
    /// How it ended.
    pub cause: Option<EndCause>,
    /// Services with at least one replica (or the service itself) affected at onset.
    pub affected_services: Vec<u32>,
    /// Replicas affected at onset.
    pub affected_replicas: Vec<u32>,
    /// Nodes affected at onset.
    pub affected_nodes: Vec<u32>,
}

/// An SLO-violation episode longer than [`INCIDENT_MIN`] on one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Service index.
    pub service: u32,
    /// First tick in violation.
    pub start: SimTime,
    /// First tick back within SLO (or the end of the run).
    pub end: SimTime,
}

/// Cumulative reward components; an env takes per-step differences.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RewardComponents {
    /// Requests at entry services not served within SLO (failed, too slow or shed).
    pub slo_violating_requests: f64,
    /// Instance cost, USD.
    pub infra_cost_usd: f64,
    /// Action cost, USD.
    pub action_cost_usd: f64,
    /// Writes lost on failover.
    pub data_lost_writes: f64,
}

impl RewardComponents {
    /// The reward these components give under the scenario's weights: minus the weighted sum.
    pub fn reward(&self, w: &RewardSpec) -> f64 {
        -(self.slo_violating_requests * w.slo_violation_usd_per_request
            + self.infra_cost_usd * w.infra_cost_weight
            + self.action_cost_usd * w.action_cost_weight
            + self.data_lost_writes * w.data_loss_usd_per_write)
    }

    /// Component-wise difference `self - earlier`.
    pub fn since(&self, earlier: &RewardComponents) -> RewardComponents {
        RewardComponents {
            slo_violating_requests: self.slo_violating_requests - earlier.slo_violating_requests,
            infra_cost_usd: self.infra_cost_usd - earlier.infra_cost_usd,
            action_cost_usd: self.action_cost_usd - earlier.action_cost_usd,
            data_lost_writes: self.data_lost_writes - earlier.data_lost_writes,
        }
    }
}

/// Everything recorded so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroundTruth {
    /// Faults in onset order.
    pub faults: Vec<FaultRecord>,
    /// Closed incidents (open ones are closed by [`GroundTruth::summary`]'s view).
    pub incidents: Vec<Incident>,
    /// Start of the current violation episode per service.
    pub violating_since: Vec<Option<SimTime>>,
    /// Requests arriving at entry services.
    pub requests_total: f64,
    /// Of those, served successfully within SLO.
    pub requests_good: f64,
    /// Entry-service time accounted, ms, summed over entry services.
    pub time_total_ms: u64,
    /// Of that, entry-service time within SLO, ms (summed over entry services).
    pub time_up_ms: u64,
    /// Reward components.
    pub reward: RewardComponents,
    /// Actions applied.
    pub actions_applied: u64,
    /// Actions that succeeded.
    pub actions_succeeded: u64,
}

impl GroundTruth {
    pub(crate) fn new(services: usize) -> Self {
        Self {
            violating_since: vec![None; services],
            ..Self::default()
        }
    }

    /// Updates a service's violation state at `now`; closes an incident when an episode longer
    /// than [`INCIDENT_MIN`] ends.
    pub(crate) fn set_violating(&mut self, service: usize, violating: bool, now: SimTime) {
        match (self.violating_since[service], violating) {
            (None, true) => self.violating_since[service] = Some(now),
            (Some(start), false) => {
                self.violating_since[service] = None;
                if now.saturating_sub(start) > INCIDENT_MIN {
                    self.incidents.push(Incident {
                        service: service as u32,
                        start,
                        end: now,
                    });
                }
            }
            _ => {}
        }
    }

    /// Incidents including episodes still open at `now` that are already long enough.
    pub fn incidents_at(&self, now: SimTime) -> Vec<Incident> {
        let mut all = self.incidents.clone();
        for (s, since) in self.violating_since.iter().enumerate() {
            if let Some(start) = since
                && now.saturating_sub(*start) > INCIDENT_MIN
            {
                all.push(Incident {
                    service: s as u32,
                    start: *start,
                    end: now,
                });
            }
        }
        all
    }

    /// Request-weighted availability: good requests over all, at entry services (1 if none).
    pub fn availability(&self) -> f64 {
        if self.requests_total > 0.0 {
            self.requests_good / self.requests_total
        } else {
            1.0
        }
    }

    /// Time-weighted uptime: share of entry-service time within SLO, averaged over the entry
    /// services (1 if no time). A service counts as up while its p99 latency and error ratio meet
    /// its SLO.
    pub fn uptime(&self) -> f64 {
        if self.time_total_ms > 0 {
            self.time_up_ms as f64 / self.time_total_ms as f64
        } else {
            1.0
        }
    }
}

/// The serialisable end-of-run summary `mend simulate` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruthSummary {
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Simulated time so far, seconds.
    pub simulated_seconds: f64,
    /// Faults started, by kind.
    pub faults_by_kind: BTreeMap<String, u64>,
    /// SLO-violation incidents (episodes > 1 min).
    pub incidents: u64,
    /// Request-weighted availability at entry services.
    pub availability: f64,
    /// Time-weighted uptime.
    pub uptime: f64,
    /// Requests at entry services.
    pub requests_total: f64,
    /// Actions applied and succeeded.
    pub actions_applied: u64,
    /// Actions that succeeded.
    pub actions_succeeded: u64,
    /// Cumulative reward components.
    pub reward_components: RewardComponents,
    /// Reward under the scenario's weights.
    pub reward: f64,
}
