//! The cluster env's action layout: which entity each row is (services, then nodes, each sorted by
//! name, the same order as `mend_monitor::features`), the flat Discrete encoding
//! `0 = no-op, 1 + entity * N_KINDS + kind` (kind in `ActionKind::ALL` order), the structured form
//! [`ClusterAction`], and how an (entity, kind) pair becomes a concrete simulator action.

use mend_sim::telemetry::ReplicaMetric;
use mend_sim::topology::{NodeId, ReplicaId, ServiceId};
use mend_sim::{ActionKind, Simulation};

use crate::env::Action;

/// Number of action kinds per entity in the flat layout (`ActionKind::ALL.len()`).
pub const N_KINDS: usize = ActionKind::ALL.len();

/// A cluster env action in structured form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterAction {
    /// Do nothing this decision.
    NoOp,
    /// Apply `kind` to entity row `entity`.
    Act {
        /// Entity row index (as in the observation).
        entity: usize,
        /// Action kind.
        kind: ActionKind,
    },
}

/// What an entity row stands for in the simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A service.
    Service(ServiceId),
    /// A node.
    Node(NodeId),
}

/// Entity rows and the flat encoding.
#[derive(Clone, Debug)]
pub struct ActionLayout {
    targets: Vec<Target>,
    names: Vec<String>,
}

impl ActionLayout {
    /// Rows for `sim`'s topology: services then nodes, each sorted by name.
    pub fn new(sim: &Simulation) -> Self {
        let topo = sim.topology();
        let mut services: Vec<(String, Target)> = topo
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), Target::Service(ServiceId(i as u32))))
            .collect();
        let mut nodes: Vec<(String, Target)> = topo
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), Target::Node(NodeId(i as u32))))
            .collect();
        services.sort_by(|a, b| a.0.cmp(&b.0));
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        let (names, targets) = services.into_iter().chain(nodes).unzip();
        Self { targets, names }
    }

    /// Number of entity rows.
    pub fn n_entities(&self) -> usize {
        self.targets.len()
    }

    /// Size of the flat action space.
    pub fn n_actions(&self) -> usize {
        1 + self.targets.len() * N_KINDS
    }

    /// Entity names in row order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Entity targets in row order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Flat index of a structured action (`None` if the entity is out of range).
    pub fn encode(&self, action: ClusterAction) -> Option<Action> {
        match action {
            ClusterAction::NoOp => Some(0),
            ClusterAction::Act { entity, kind } if entity < self.targets.len() => {
                Some(1 + entity * N_KINDS + kind as usize)
            }
            ClusterAction::Act { .. } => None,
        }
    }

    /// Structured form of a flat index (`None` if out of range).
    pub fn decode(&self, action: Action) -> Option<ClusterAction> {
        if action == 0 {
            return Some(ClusterAction::NoOp);
        }
        let (entity, kind) = ((action - 1) / N_KINDS, (action - 1) % N_KINDS);
        (entity < self.targets.len()).then(|| ClusterAction::Act {
            entity,
            kind: ActionKind::ALL[kind],
        })
    }

    /// The simulator action for (`entity`, `kind`) now, if one exists and its preconditions hold
    /// (`Simulation::check`). Service-level kinds that need a replica pick the service's worst
    /// replica by telemetry (lowest `up`, then highest `memory_utilization`, then lowest index);
    /// moves pick the first destination, in topology order, that the simulator accepts.
    pub fn resolve(
        &self,
        sim: &Simulation,
        entity: usize,
        kind: ActionKind,
    ) -> Option<mend_sim::Action> {
        use mend_sim::Action as A;
        let candidate = match (self.targets[entity], kind) {
            (Target::Node(node), ActionKind::ReplaceNode) => A::ReplaceNode { node },
            (Target::Node(_), _) | (Target::Service(_), ActionKind::ReplaceNode) => return None,
            (Target::Service(service), ActionKind::RestartService) => A::RestartService { service },
            (Target::Service(service), ActionKind::ScaleOut) => A::ScaleOut { service },
            (Target::Service(service), ActionKind::ScaleIn) => A::ScaleIn { service },
            (Target::Service(service), ActionKind::Rollback) => A::Rollback { service },
            (Target::Service(service), ActionKind::ShedLoad) => A::ShedLoad { service },
            (Target::Service(service), ActionKind::RestartReplica) => A::RestartReplica {
                replica: worst_replica(sim, service)?,
            },
            (Target::Service(service), ActionKind::Reallocate) => {
                let replica = worst_replica(sim, service)?;
                let topo = sim.topology();
                let here = topo.nodes[topo.replicas[replica.index()].node.index()].zone;
                return topo.services[service.index()]
                    .allowed_zones
                    .iter()
                    .filter(|&&z| z != here)
                    .map(|&zone| A::Reallocate { replica, zone })
                    .find(|a| sim.check(a).is_ok());
            }
            (Target::Service(service), ActionKind::Failover) => {
                let regions = sim.topology().regions.len();
                return (0..regions)
                    .map(|r| A::Failover {
                        service,
                        region: mend_sim::topology::RegionId(r as u32),
                    })
                    .find(|a| sim.check(a).is_ok());
            }
        };
        sim.check(&candidate).is_ok().then_some(candidate)
    }
}

/// The active replica of `service` that looks worst in telemetry.
fn worst_replica(sim: &Simulation, service: ServiceId) -> Option<ReplicaId> {
    let t = sim.telemetry();
    sim.topology()
        .replicas
        .iter()
        .enumerate()
        .filter(|(i, r)| r.service == service && sim.replica_active(ReplicaId(*i as u32)))
        .map(|(i, _)| {
            let up = t.replica(i, ReplicaMetric::Up);
            let mem = t.replica(i, ReplicaMetric::MemoryUtilization);
            (up, -mem, i)
        })
        .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(_, _, i)| ReplicaId(i as u32))
}
