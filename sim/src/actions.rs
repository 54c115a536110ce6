//! Recovery actions (BRIEF §4): what they are, their default duration, cost and success
//! probability, their preconditions ([`Simulation::check`]), how they start
//! ([`Simulation::apply`]) and how they complete (an event, drawn from the Actions stream when
//! applied). No action is instant. Defaults are overridable per kind in `[actions]`.

use serde::{Deserialize, Serialize};

use crate::faults::RepairScope;
use crate::scenario::schema::{ActionOverride, ActionsSpec};
use crate::time::{SimDuration, SimTime};
use crate::topology::{NodeId, RegionId, ReplicaId, ServiceId, ZoneId};
use crate::trace::TraceRecord;
use crate::world::{Event, RepStatus, Simulation};

/// A recovery action on one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Restart one replica: it is down while restarting; on success its process and memory faults end.
    RestartReplica {
        /// The replica.
        replica: ReplicaId,
    },
    /// Rolling restart of every replica of a service: on success their replica faults end.
    RestartService {
        /// The service.
        service: ServiceId,
    },
    /// Add one replica (placed like the initial ones).
    ScaleOut {
        /// The service.
        service: ServiceId,
    },
    /// Remove the service's newest replica.
    ScaleIn {
        /// The service.
        service: ServiceId,
    },
    /// Move a replica to a node in another zone; it keeps serving until the move completes.
    Reallocate {
        /// The replica.
        replica: ReplicaId,
        /// Destination zone (one the service may use).
        zone: ZoneId,
    },
    /// Move every replica of a service to another region; a stateful service loses the writes
    /// not yet replicated (lag x write rate).
    Failover {
        /// The service.
        service: ServiceId,
        /// Destination region.
        region: RegionId,
    },
    /// Roll back the service's last deploy: on success its bad-deploy faults end.
    Rollback {
        /// The service.
        service: ServiceId,
    },
    /// Drain a node and replace it with a fresh one (needs its provider's control plane): its
    /// replicas are down meanwhile; on success its node faults end.
    ReplaceNode {
        /// The node.
        node: NodeId,
    },
    /// Shed part of an entry service's external load for [`SHED_SPAN`].
    ShedLoad {
        /// The entry service.
        service: ServiceId,
    },
}

/// How long load shedding lasts once in effect.
pub const SHED_SPAN: SimDuration = SimDuration(600_000);

/// Restart delay of an OOM-killed replica (kubelet's first CrashLoopBackOff step is 10 s;
/// plus start-up).
pub const OOM_RESTART: SimDuration = SimDuration(30_000);

/// The kinds of [`Action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// [`Action::RestartReplica`].
    RestartReplica,
    /// [`Action::RestartService`].
    RestartService,
    /// [`Action::ScaleOut`].
    ScaleOut,
    /// [`Action::ScaleIn`].
    ScaleIn,
    /// [`Action::Reallocate`].
    Reallocate,
    /// [`Action::Failover`].
    Failover,
    /// [`Action::Rollback`].
    Rollback,
    /// [`Action::ReplaceNode`].
    ReplaceNode,
    /// [`Action::ShedLoad`].
    ShedLoad,
}

impl ActionKind {
    /// Every kind.
    pub const ALL: [ActionKind; 9] = [
        ActionKind::RestartReplica,
        ActionKind::RestartService,
        ActionKind::ScaleOut,
        ActionKind::ScaleIn,
        ActionKind::Reallocate,
        ActionKind::Failover,
        ActionKind::Rollback,
        ActionKind::ReplaceNode,
        ActionKind::ShedLoad,
    ];

    /// Default (duration, cost in USD, success probability). Durations are typical of Kubernetes
    /// operations (pod restart ~30 s, rollout ~2-3 min, cross-region failover ~5 min); costs are
    /// nominal operational costs chosen so that actions are not free. Replacing a node adds the
    /// provider's provisioning delay to its duration.
    pub fn defaults(self) -> ActionParams {
        let (secs, cost_usd, success_probability) = match self {
            ActionKind::RestartReplica => (30, 0.01, 0.95),
            ActionKind::RestartService => (120, 0.05, 0.95),
            ActionKind::ScaleOut => (60, 0.02, 0.97),
            ActionKind::ScaleIn => (30, 0.0, 1.0),
            ActionKind::Reallocate => (90, 0.02, 0.95),
            ActionKind::Failover => (300, 1.0, 0.9),
            ActionKind::Rollback => (180, 0.1, 0.98),
            ActionKind::ReplaceNode => (60, 0.5, 0.97),
            ActionKind::ShedLoad => (10, 0.0, 1.0),
        };
        ActionParams {
            duration: SimDuration::from_secs(secs),
            cost_usd,
            success_probability,
        }
    }

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::RestartReplica => "restart_replica",
            ActionKind::RestartService => "restart_service",
            ActionKind::ScaleOut => "scale_out",
            ActionKind::ScaleIn => "scale_in",
            ActionKind::Reallocate => "reallocate",
            ActionKind::Failover => "failover",
            ActionKind::Rollback => "rollback",
            ActionKind::ReplaceNode => "replace_node",
            ActionKind::ShedLoad => "shed_load",
        }
    }
}

/// Writes the snake_case name (as in traces and scenario files).
impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Action {
    /// The action's kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::RestartReplica { .. } => ActionKind::RestartReplica,
            Action::RestartService { .. } => ActionKind::RestartService,
            Action::ScaleOut { .. } => ActionKind::ScaleOut,
            Action::ScaleIn { .. } => ActionKind::ScaleIn,
            Action::Reallocate { .. } => ActionKind::Reallocate,
            Action::Failover { .. } => ActionKind::Failover,
            Action::Rollback { .. } => ActionKind::Rollback,
            Action::ReplaceNode { .. } => ActionKind::ReplaceNode,
            Action::ShedLoad { .. } => ActionKind::ShedLoad,
        }
    }
}

/// Duration, cost and success probability of an action kind after scenario overrides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionParams {
    /// Time from apply to outcome.
    pub duration: SimDuration,
    /// Cost charged at apply, USD.
    pub cost_usd: f64,
    /// Probability of success.
    pub success_probability: f64,
}

/// Resolves every kind's parameters (indexed by `ActionKind as usize`).
pub(crate) fn resolve_params(spec: &ActionsSpec) -> [ActionParams; 9] {
    let over = |k: ActionKind| -> &ActionOverride {
        match k {
            ActionKind::RestartReplica => &spec.restart_replica,
            ActionKind::RestartService => &spec.restart_service,
            ActionKind::ScaleOut => &spec.scale_out,
            ActionKind::ScaleIn => &spec.scale_in,
            ActionKind::Reallocate => &spec.reallocate,
            ActionKind::Failover => &spec.failover,
            ActionKind::Rollback => &spec.rollback,
            ActionKind::ReplaceNode => &spec.replace_node,
            ActionKind::ShedLoad => &spec.shed_load,
        }
    };
    ActionKind::ALL.map(|k| {
        let d = k.defaults();
        let o = over(k);
        ActionParams {
            duration: o.duration.unwrap_or(d.duration),
            cost_usd: o.cost_usd.unwrap_or(d.cost_usd),
            success_probability: o.success_probability.unwrap_or(d.success_probability),
        }
    })
}

/// Identifier of an applied action (apply order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ActionId(pub u32);

/// Why an action was rejected. Targets are named as in the scenario (`api-2`, `node-eu-1a-0`);
/// only an index that names nothing is reported as an index.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// The target index does not exist.
    #[error("{kind}: no {entity} with index {index}")]
    UnknownTarget {
        /// Action kind.
        kind: ActionKind,
        /// Entity kind of the target.
        entity: &'static str,
        /// Index given.
        index: u32,
    },
    /// The replica exists but is not serving (still starting after a scale-out, or removed).
    #[error("{kind}: replica {replica} is not active (starting or removed)")]
    InactiveReplica {
        /// Action kind.
        kind: ActionKind,
        /// Replica name.
        replica: String,
    },
    /// The simulation reached its horizon.
    #[error("{kind}: the simulation has reached its horizon")]
    Finished {
        /// Action kind.
        kind: ActionKind,
    },
    /// Another action on the same service or node is still in flight.
    #[error("{kind}: another action on {entity} {name} is in flight")]
    Busy {
        /// Action kind.
        kind: ActionKind,
        /// `service` or `node`.
        entity: &'static str,
        /// Its name.
        name: String,
    },
    /// The provider whose control plane is needed is in an outage.
    #[error("{kind}: provider {provider} control plane is down (no provisioning)")]
    ControlPlaneDown {
        /// Action kind.
        kind: ActionKind,
        /// Provider name.
        provider: String,
    },
    /// No node in the allowed place has room for the replica(s).
    #[error("{kind}: no node with enough free CPU and memory for service {service}")]
    NoCapacity {
        /// Action kind.
        kind: ActionKind,
        /// Service name.
        service: String,
    },
    /// Another precondition does not hold.
    #[error("{kind} on {entity} {name}: {reason}")]
    Precondition {
        /// Action kind.
        kind: ActionKind,
        /// Entity kind of the target.
        entity: &'static str,
        /// Its name.
        name: String,
        /// What does not hold.
        reason: &'static str,
    },
}

/// An action in flight (or done).
#[derive(Debug, Clone)]
pub(crate) struct ActionRecord {
    pub(crate) action: Action,
    pub(crate) success: bool,
    /// Nodes reserved at apply: the new replica (scale-out), destination (reallocate) or
    /// destinations in replica order (failover).
    pub(crate) nodes: Vec<NodeId>,
    /// Replica created (scale-out) or removed (scale-in).
    pub(crate) replica: Option<ReplicaId>,
}

impl Simulation {
    /// Checks an action's preconditions without applying it (cheap: for action masks).
    pub fn check(&self, action: &Action) -> Result<(), ActionError> {
        self.plan(action).map(|_| ())
    }

    /// Applies an action: charges its cost, draws its outcome from the Actions stream and
    /// schedules the outcome after its duration. Rejects invalid actions without changing state.
    pub fn apply(&mut self, action: Action) -> Result<ActionId, ActionError> {
        let nodes = self.plan(&action)?;
        let kind = action.kind();
        let params = self.action_params[kind as usize];
        let mut duration = params.duration;
        if let Action::ReplaceNode { node } = action {
            let provider = self.topo.nodes[node.index()].provider;
            duration += self.topo.providers[provider.index()].provisioning_delay;
        }
        let u: f64 = rand::Rng::random(&mut self.action_rng);
        let success = u < params.success_probability;
        let id = ActionId(self.actions.len() as u32);
        let mut record = ActionRecord {
            action,
            success,
            nodes,
            replica: None,
        };
        let now = self.now;
        // Start effects.
        match action {
            Action::RestartReplica { replica } => {
                let r = &mut self.rep[replica.index()];
                r.down_until = now + duration;
                r.busy = true;
                self.svc[self.topo.replicas[replica.index()].service.index()].busy = true;
            }
            Action::ReplaceNode { node } => {
                self.node[node.index()].replacing = true;
            }
            Action::ScaleOut { service } => {
                let node = record.nodes[0];
                let r = self.add_replica(service, node);
                self.rep[r.index()].status = RepStatus::Pending;
                record.replica = Some(r);
                self.svc[service.index()].busy = true;
            }
            Action::ScaleIn { service } => {
                let newest = self.svc[service.index()]
                    .replicas
                    .iter()
                    .rev()
                    .copied()
                    .find(|r| self.rep[r.index()].status == RepStatus::Active);
                record.replica = newest;
                self.svc[service.index()].busy = true;
            }
            Action::Reallocate { replica, .. } => {
                self.reserve(record.nodes[0], self.topo.replicas[replica.index()].service);
                self.svc[self.topo.replicas[replica.index()].service.index()].busy = true;
            }
            Action::Failover { service, .. } => {
                for &n in &record.nodes {
                    self.reserve(n, service);
                }
                self.svc[service.index()].busy = true;
            }
            Action::RestartService { service }
            | Action::Rollback { service }
            | Action::ShedLoad { service } => {
                self.svc[service.index()].busy = true;
            }
        }
        if let Action::ReplaceNode { node } = action {
            self.node[node.index()].busy = true;
        }
        self.truth.reward.action_cost_usd += params.cost_usd;
        self.truth.actions_applied += 1;
        self.trace.push(TraceRecord::ActionApplied {
            at_ms: now.millis(),
            action: id.0,
            kind,
            target: self.action_target_name(&action),
            cost_usd: params.cost_usd,
        });
        self.actions.push(record);
        self.queue
            .schedule(now + duration, Event::ActionDone { action: id.0 });
        Ok(id)
    }

    fn action_target_name(&self, action: &Action) -> String {
        let t = &self.topo;
        match *action {
            Action::RestartReplica { replica } => t.replicas[replica.index()].name.clone(),
            Action::Reallocate { replica, zone } => {
                format!(
                    "{}->{}",
                    t.replicas[replica.index()].name,
                    t.zones[zone.index()].name
                )
            }
            Action::Failover { service, region } => {
                format!(
                    "{}->{}",
                    t.services[service.index()].name,
                    t.regions[region.index()].name
                )
            }
            Action::ReplaceNode { node } => t.nodes[node.index()].name.clone(),
            Action::RestartService { service }
            | Action::ScaleOut { service }
            | Action::ScaleIn { service }
            | Action::Rollback { service }
            | Action::ShedLoad { service } => t.services[service.index()].name.clone(),
        }
    }

    /// Preconditions; returns the nodes the action would reserve.
    fn plan(&self, action: &Action) -> Result<Vec<NodeId>, ActionError> {
        let kind = action.kind();
        if self.now >= self.horizon {
            return Err(ActionError::Finished { kind });
        }
        let t = &self.topo;
        let service_ok = |s: ServiceId| -> Result<(), ActionError> {
            if s.index() >= t.services.len() {
                return Err(ActionError::UnknownTarget {
                    kind,
                    entity: "service",
                    index: s.0,
                });
            }
            if self.svc[s.index()].busy {
                return Err(ActionError::Busy {
                    kind,
                    entity: "service",
                    name: t.services[s.index()].name.clone(),
                });
            }
            Ok(())
        };
        let replica_ok = |r: ReplicaId| -> Result<ServiceId, ActionError> {
            if r.index() >= t.replicas.len() {
                return Err(ActionError::UnknownTarget {
                    kind,
                    entity: "replica",
                    index: r.0,
                });
            }
            if self.rep[r.index()].status != RepStatus::Active {
                return Err(ActionError::InactiveReplica {
                    kind,
                    replica: t.replicas[r.index()].name.clone(),
                });
            }
            let s = t.replicas[r.index()].service;
            service_ok(s)?;
            Ok(s)
        };
        match *action {
            Action::RestartReplica { replica } => {
                replica_ok(replica)?;
                Ok(Vec::new())
            }
            Action::RestartService { service } | Action::Rollback { service } => {
                service_ok(service)?;
                Ok(Vec::new())
            }
            Action::ShedLoad { service } => {
                service_ok(service)?;
                if t.services[service.index()].entry_base_rps.is_none() {
                    return Err(ActionError::Precondition {
                        kind,
                        entity: "service",
                        name: t.services[service.index()].name.clone(),
                        reason: "not an entry service",
                    });
                }
                if self.svc[service.index()].shed_until > self.now {
                    return Err(ActionError::Precondition {
                        kind,
                        entity: "service",
                        name: t.services[service.index()].name.clone(),
                        reason: "already shedding load",
                    });
                }
                Ok(Vec::new())
            }
            Action::ScaleOut { service } => {
                service_ok(service)?;
                let active = self.active_replicas(service);
                if active >= t.services[service.index()].max_replicas as usize {
                    return Err(ActionError::Precondition {
                        kind,
                        entity: "service",
                        name: t.services[service.index()].name.clone(),
                        reason: "already at max_replicas",
                    });
                }
                let node = self.find_node(service, active, None).ok_or_else(|| {
                    ActionError::NoCapacity {
                        kind,
                        service: t.services[service.index()].name.clone(),
                    }
                })?;
                let provider = t.nodes[node.index()].provider;
                if self.provider_cp_down[provider.index()] > 0 {
                    return Err(ActionError::ControlPlaneDown {
                        kind,
                        provider: t.providers[provider.index()].name.clone(),
                    });
                }
                Ok(vec![node])
            }
            Action::ScaleIn { service } => {
                service_ok(service)?;
                if self.active_replicas(service) <= 1 {
                    return Err(ActionError::Precondition {
                        kind,
                        entity: "service",
                        name: t.services[service.index()].name.clone(),
                        reason: "would remove the last replica",
                    });
                }
                Ok(Vec::new())
            }
            Action::Reallocate { replica, zone } => {
                let service = replica_ok(replica)?;
                if zone.index() >= t.zones.len() {
                    return Err(ActionError::UnknownTarget {
                        kind,
                        entity: "zone",
                        index: zone.0,
                    });
                }
                if !t.services[service.index()].allowed_zones.contains(&zone) {
                    return Err(ActionError::Precondition {
                        kind,
                        entity: "zone",
                        name: t.zones[zone.index()].name.clone(),
                        reason: "the service may not run in this zone",
                    });
                }
                if t.nodes[t.replicas[replica.index()].node.index()].zone == zone {
                    return Err(ActionError::Precondition {
                        kind,
                        entity: "zone",
                        name: t.zones[zone.index()].name.clone(),
                        reason: "the replica is already in this zone",
                    });
                }
                let provider = t.zones[zone.index()].provider;
                if self.provider_cp_down[provider.index()] > 0 {
                    return Err(ActionError::ControlPlaneDown {
                        kind,
                        provider: t.providers[provider.index()].name.clone(),
                    });
                }
                let node = self.find_node(service, 0, Some(&[zone])).ok_or_else(|| {
                    ActionError::NoCapacity {
                        kind,
                        service: t.services[service.index()].name.clone(),
                    }
                })?;
                Ok(vec![node])
            }
            Action::Failover { service, region } => {
                service_ok(service)?;
                if region.index() >= t.regions.len() {
                    return Err(ActionError::UnknownTarget {
                        kind,
                        entity: "region",
                        index: region.0,
                    });
                }
                let replicas: Vec<ReplicaId> = self.svc[service.index()]
                    .replicas
                    .iter()
                    .copied()
                    .filter(|r| self.rep[r.index()].status == RepStatus::Active)
                    .collect();
                if replicas.iter().all(|&r| t.replica_region(r) == region) {
                    return Err(ActionError::Precondition {
                        kind,
                        entity: "region",
                        name: t.regions[region.index()].name.clone(),
                        reason: "the service already runs only in this region",
                    });
                }
                let provider = t.regions[region.index()].provider;
                if self.provider_cp_down[provider.index()] > 0 {
                    return Err(ActionError::ControlPlaneDown {
                        kind,
                        provider: t.providers[provider.index()].name.clone(),
                    });
                }
                let zones = &t.regions[region.index()].zones;
                let mut cpu = self.free_cpu.clone();
                let mut mem = self.free_mem.clone();
                let svc = &t.services[service.index()];
                let mut nodes = Vec::with_capacity(replicas.len());
                for k in 0..replicas.len() {
                    let z = zones[k % zones.len()];
                    let order: Vec<ZoneId> = (0..zones.len())
                        .map(|i| zones[(k + i) % zones.len()])
                        .collect();
                    let found = order.iter().find_map(|&zz| {
                        self.usable_node(zz, svc.cpu_cores, svc.memory_bytes, &cpu, &mem)
                    });
                    let _ = z;
                    let n = found.ok_or_else(|| ActionError::NoCapacity {
                        kind,
                        service: t.services[service.index()].name.clone(),
                    })?;
                    cpu[n.index()] -= svc.cpu_cores;
                    mem[n.index()] -= svc.memory_bytes;
                    nodes.push(n);
                }
                Ok(nodes)
            }
            Action::ReplaceNode { node } => {
                if node.index() >= t.nodes.len() {
                    return Err(ActionError::UnknownTarget {
                        kind,
                        entity: "node",
                        index: node.0,
                    });
                }
                if self.node[node.index()].busy {
                    return Err(ActionError::Busy {
                        kind,
                        entity: "node",
                        name: t.nodes[node.index()].name.clone(),
                    });
                }
                let provider = t.nodes[node.index()].provider;
                if self.provider_cp_down[provider.index()] > 0 {
                    return Err(ActionError::ControlPlaneDown {
                        kind,
                        provider: t.providers[provider.index()].name.clone(),
                    });
                }
                Ok(Vec::new())
            }
        }
    }

    /// Completes an action at `now` (called from the event loop).
    pub(crate) fn complete_action(&mut self, id: u32, now: SimTime) {
        let record = self.actions[id as usize].clone();
        let success = record.success;
        match record.action {
            Action::RestartReplica { replica } => {
                let r = &mut self.rep[replica.index()];
                r.busy = false;
                r.down_until = now;
                r.leaked_bytes = 0.0;
                self.svc[self.topo.replicas[replica.index()].service.index()].busy = false;
                if success {
                    self.repair_faults(RepairScope::Replica(replica), now);
                }
            }
            Action::RestartService { service } => {
                self.svc[service.index()].busy = false;
                if success {
                    let reps = self.svc[service.index()].replicas.clone();
                    for r in reps {
                        self.rep[r.index()].leaked_bytes = 0.0;
                        self.repair_faults(RepairScope::Replica(r), now);
                    }
                }
            }
            Action::Rollback { service } => {
                self.svc[service.index()].busy = false;
                if success {
                    self.repair_faults(RepairScope::BadDeploy(service), now);
                }
            }
            Action::ShedLoad { service } => {
                self.svc[service.index()].busy = false;
                if success {
                    self.svc[service.index()].shed_until = now + SHED_SPAN;
                }
            }
            Action::ScaleOut { service } => {
                self.svc[service.index()].busy = false;
                if let Some(r) = record.replica {
                    if success {
                        let rs = &mut self.rep[r.index()];
                        rs.status = RepStatus::Active;
                        rs.in_rotation = false;
                        rs.failed_checks = 0;
                    } else {
                        self.remove_replica(r);
                    }
                }
            }
            Action::ScaleIn { service } => {
                self.svc[service.index()].busy = false;
                if let Some(r) = record.replica
                    && self.rep[r.index()].status == RepStatus::Active
                    && self.active_replicas(service) > 1
                {
                    self.remove_replica(r);
                }
            }
            Action::Reallocate { replica, .. } => {
                let service = self.topo.replicas[replica.index()].service;
                self.svc[service.index()].busy = false;
                let dest = record.nodes[0];
                if success && self.rep[replica.index()].status == RepStatus::Active {
                    self.move_replica(replica, dest);
                    self.rep[replica.index()].leaked_bytes = 0.0;
                    self.repair_faults(RepairScope::Replica(replica), now);
                } else {
                    self.release(dest, service);
                }
            }
            Action::Failover { service, .. } => {
                self.svc[service.index()].busy = false;
                let reps: Vec<ReplicaId> = self.svc[service.index()]
                    .replicas
                    .iter()
                    .copied()
                    .filter(|r| self.rep[r.index()].status == RepStatus::Active)
                    .collect();
                if success {
                    // Writes not yet replicated are lost (lag x write rate).
                    let s = &self.svc[service.index()];
                    if let Some(rep) = &self.topo.services[service.index()].replication {
                        self.truth.reward.data_lost_writes +=
                            s.lag_seconds * s.attempts * rep.write_ratio;
                    }
                    // Failing over to the standby's region makes the old primary region the
                    // standby.
                    if let Action::Failover { region, .. } = record.action
                        && self.svc[service.index()].standby == Some(region)
                        && let Some(&first) = reps.first()
                    {
                        self.svc[service.index()].standby = Some(self.topo.replica_region(first));
                    }
                    for (k, &n) in record.nodes.iter().enumerate() {
                        if let Some(&r) = reps.get(k) {
                            self.move_replica(r, n);
                        } else {
                            self.release(n, service);
                        }
                    }
                } else {
                    for &n in &record.nodes {
                        self.release(n, service);
                    }
                }
            }
            Action::ReplaceNode { node } => {
                let n = &mut self.node[node.index()];
                n.busy = false;
                n.replacing = false;
                if success {
                    self.repair_faults(RepairScope::Node(node), now);
                }
            }
        }
        if success {
            self.truth.actions_succeeded += 1;
        }
        self.trace.push(TraceRecord::ActionOutcome {
            at_ms: now.millis(),
            action: id,
            success,
        });
    }
}
