//! The static shape of the world: providers > regions > zones > nodes, services with their
//! dependency DAG, and the initial placement of replicas on nodes. Flat `Vec` storage indexed by
//! typed ids. Placement is deterministic (round-robin over failure domains, then the node with the
//! most free CPU, ties to the lowest id), so it needs no random stream.

use serde::Serialize;

use crate::scenario::schema::{ScenarioSpec, Spread};
use crate::scenario::validate::Issue;
use crate::time::SimDuration;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub struct $name(pub u32);
        impl $name {
            /// The index into the topology's vector.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// Index of a provider in [`Topology::providers`].
    ProviderId
);
id_type!(
    /// Index of a region in [`Topology::regions`].
    RegionId
);
id_type!(
    /// Index of a zone in [`Topology::zones`].
    ZoneId
);
id_type!(
    /// Index of a node in [`Topology::nodes`].
    NodeId
);
id_type!(
    /// Index of a service in [`Topology::services`].
    ServiceId
);
id_type!(
    /// Index of a replica in [`Topology::replicas`] (stable: removed replicas keep their slot).
    ReplicaId
);

/// A cloud provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Name from the scenario.
    pub name: String,
    /// Time to provision a node.
    pub provisioning_delay: SimDuration,
}

/// A region of one provider.
#[derive(Debug, Clone)]
pub struct Region {
    /// Name from the scenario.
    pub name: String,
    /// Owning provider.
    pub provider: ProviderId,
    /// Zones of the region.
    pub zones: Vec<ZoneId>,
}

/// An availability zone.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Name from the scenario.
    pub name: String,
    /// Owning region.
    pub region: RegionId,
    /// Owning provider.
    pub provider: ProviderId,
    /// Nodes in the zone.
    pub nodes: Vec<NodeId>,
}

/// A machine.
#[derive(Debug, Clone)]
pub struct Node {
    /// `<zone>-n<index within zone>`.
    pub name: String,
    /// Zone of the node.
    pub zone: ZoneId,
    /// Region of the node.
    pub region: RegionId,
    /// Provider of the node.
    pub provider: ProviderId,
    /// CPU cores.
    pub cpu_cores: f64,
    /// Memory, bytes.
    pub memory_bytes: f64,
    /// Disk, bytes.
    pub disk_bytes: f64,
    /// Instance price, USD per hour.
    pub price_usd_per_hour: f64,
}

/// A service (static properties; dynamic state lives in the world).
#[derive(Debug, Clone)]
pub struct Service {
    /// Name from the scenario.
    pub name: String,
    /// Services called per request.
    pub depends_on: Vec<ServiceId>,
    /// Calls to each dependency per request.
    pub calls_per_request: f64,
    /// Requests per second per replica at full utilisation.
    pub capacity_rps: f64,
    /// Mean service time on an idle replica, seconds.
    pub base_latency_seconds: f64,
    /// Client timeout, seconds.
    pub timeout_seconds: f64,
    /// CPU cores reserved per replica.
    pub cpu_cores: f64,
    /// Resident memory per replica, bytes.
    pub memory_bytes: f64,
    /// OOM limit per replica, bytes.
    pub memory_limit_bytes: f64,
    /// Upper bound on replicas.
    pub max_replicas: u32,
    /// Spread over failure domains.
    pub spread: Spread,
    /// Zones the service may be placed in, in scenario order.
    pub allowed_zones: Vec<ZoneId>,
    /// Standby region, write ratio and base lag of a stateful service.
    pub replication: Option<Replication>,
    /// p99 latency objective, seconds.
    pub slo_latency_p99_seconds: f64,
    /// Error-ratio objective.
    pub slo_error_ratio: f64,
    /// External mean rate if this is an entry service.
    pub entry_base_rps: Option<f64>,
}

/// Replication settings of a stateful service.
#[derive(Debug, Clone)]
pub struct Replication {
    /// Region of the standby copy.
    pub standby_region: RegionId,
    /// Share of requests that write.
    pub write_ratio: f64,
    /// Lag when healthy and idle, seconds.
    pub base_lag_seconds: f64,
}

/// A replica slot.
#[derive(Debug, Clone)]
pub struct Replica {
    /// `<service>-<index>`.
    pub name: String,
    /// Its service.
    pub service: ServiceId,
    /// Node it runs on.
    pub node: NodeId,
}

/// The whole topology.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Providers in scenario order.
    pub providers: Vec<Provider>,
    /// Regions in scenario order.
    pub regions: Vec<Region>,
    /// Zones in scenario order.
    pub zones: Vec<Zone>,
    /// Nodes: node pools in scenario order, `count` each.
    pub nodes: Vec<Node>,
    /// Services in scenario order.
    pub services: Vec<Service>,
    /// Replica slots: initial replicas first, later ones appended by scale-out.
    pub replicas: Vec<Replica>,
    /// Services ordered callers before callees (a topological order of the DAG).
    pub topo_order: Vec<ServiceId>,
    /// Entry services in `[traffic.entries]` order.
    pub entries: Vec<ServiceId>,
}

/// Whether `name` is the name of a node the scenario creates.
pub fn node_name_exists(spec: &ScenarioSpec, name: &str) -> bool {
    spec.regions
        .iter()
        .flat_map(|r| r.zones.iter())
        .any(|zone| {
            let count: u32 = spec
                .node_pools
                .iter()
                .filter(|p| &p.zone == zone)
                .map(|p| p.count)
                .sum();
            name.strip_prefix(zone.as_str())
                .and_then(|rest| rest.strip_prefix("-n"))
                .and_then(|i| i.parse::<u32>().ok())
                .is_some_and(|i| i < count)
        })
}

fn find<T>(items: &[T], name: &str, key: impl Fn(&T) -> &str) -> u32 {
    // Only called on validated names.
    items.iter().position(|x| key(x) == name).unwrap_or(0) as u32
}

impl Topology {
    /// Builds the topology and places the initial replicas. Fails (with the field to fix) only if
    /// the nodes cannot hold the replicas; the other references were checked before.
    pub fn build(spec: &ScenarioSpec) -> Result<Topology, Issue> {
        let providers: Vec<Provider> = spec
            .providers
            .iter()
            .map(|p| Provider {
                name: p.name.clone(),
                provisioning_delay: p.provisioning_delay,
            })
            .collect();
        let mut regions = Vec::new();
        let mut zones: Vec<Zone> = Vec::new();
        for (ri, r) in spec.regions.iter().enumerate() {
            let provider = ProviderId(find(&spec.providers, &r.provider, |p| &p.name));
            let mut zone_ids = Vec::new();
            for z in &r.zones {
                zone_ids.push(ZoneId(zones.len() as u32));
                zones.push(Zone {
                    name: z.clone(),
                    region: RegionId(ri as u32),
                    provider,
                    nodes: Vec::new(),
                });
            }
            regions.push(Region {
                name: r.name.clone(),
                provider,
                zones: zone_ids,
            });
        }
        let mut nodes: Vec<Node> = Vec::new();
        for pool in &spec.node_pools {
            let zi = find(&zones, &pool.zone, |z| &z.name) as usize;
            for _ in 0..pool.count {
                let id = NodeId(nodes.len() as u32);
                let name = format!("{}-n{}", zones[zi].name, zones[zi].nodes.len());
                zones[zi].nodes.push(id);
                nodes.push(Node {
                    name,
                    zone: ZoneId(zi as u32),
                    region: zones[zi].region,
                    provider: zones[zi].provider,
                    cpu_cores: pool.cpu_cores,
                    memory_bytes: pool.memory_bytes as f64,
                    disk_bytes: pool.disk_bytes as f64,
                    price_usd_per_hour: pool.price_usd_per_hour,
                });
            }
        }
        let service_id = |name: &str| ServiceId(find(&spec.services, name, |s| &s.name));
        let mut services = Vec::new();
        for s in &spec.services {
            let allowed_regions: Vec<usize> = if s.regions.is_empty() {
                (0..regions.len()).collect()
            } else {
                s.regions
                    .iter()
                    .map(|r| find(&regions, r, |x| &x.name) as usize)
                    .collect()
            };
            let allowed_zones = allowed_regions
                .iter()
                .flat_map(|&r| regions[r].zones.iter().copied())
                .collect();
            services.push(Service {
                name: s.name.clone(),
                depends_on: s.depends_on.iter().map(|d| service_id(d)).collect(),
                calls_per_request: s.calls_per_request,
                capacity_rps: s.capacity_rps,
                base_latency_seconds: s.base_latency_seconds,
                timeout_seconds: s.timeout_seconds,
                cpu_cores: s.cpu_cores,
                memory_bytes: s.memory_bytes as f64,
                memory_limit_bytes: s.memory_limit_bytes.unwrap_or(2 * s.memory_bytes) as f64,
                max_replicas: s.max_replicas.unwrap_or(3 * s.replicas),
                spread: s.spread,
                allowed_zones,
                replication: s.replication.as_ref().map(|r| Replication {
                    standby_region: RegionId(find(&regions, &r.standby_region, |x| &x.name)),
                    write_ratio: r.write_ratio,
                    base_lag_seconds: r.base_lag_seconds,
                }),
                slo_latency_p99_seconds: s.slo.latency_p99_seconds,
                slo_error_ratio: s.slo.error_ratio,
                entry_base_rps: spec
                    .traffic
                    .entries
                    .iter()
                    .find(|e| e.service == s.name)
                    .map(|e| e.base_rps),
            });
        }
        let entries = spec
            .traffic
            .entries
            .iter()
            .map(|e| service_id(&e.service))
            .collect();
        let topo_order = topological_order(&services);
        let mut topology = Topology {
            providers,
            regions,
            zones,
            nodes,
            services,
            replicas: Vec::new(),
            topo_order,
            entries,
        };
        let mut free_cpu: Vec<f64> = topology.nodes.iter().map(|n| n.cpu_cores).collect();
        let mut free_mem: Vec<f64> = topology.nodes.iter().map(|n| n.memory_bytes).collect();
        for (si, s) in spec.services.iter().enumerate() {
            let sid = ServiceId(si as u32);
            for k in 0..s.replicas {
                let zones = topology.placement_order(sid, k as usize);
                let node = zones.iter().find_map(|&z| {
                    topology.best_node(
                        z,
                        topology.services[si].cpu_cores,
                        topology.services[si].memory_bytes,
                        &free_cpu,
                        &free_mem,
                    )
                });
                let Some(node) = node else {
                    return Err(Issue::new(
                        format!("services[{si}].replicas"),
                        format!(
                            "replica {k} of `{}` does not fit: no node in its zones has {} free CPU cores and {} free bytes",
                            s.name, s.cpu_cores, s.memory_bytes
                        ),
                        "node pools with enough CPU and memory for every initial replica",
                    ));
                };
                free_cpu[node.index()] -= topology.services[si].cpu_cores;
                free_mem[node.index()] -= topology.services[si].memory_bytes;
                topology.replicas.push(Replica {
                    name: format!("{}-{k}", s.name),
                    service: sid,
                    node,
                });
            }
        }
        Ok(topology)
    }

    /// A topology with nothing in it (the renewal model has no cluster).
    pub fn empty() -> Topology {
        Topology {
            providers: Vec::new(),
            regions: Vec::new(),
            zones: Vec::new(),
            nodes: Vec::new(),
            services: Vec::new(),
            replicas: Vec::new(),
            topo_order: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// The zones to try, in order, for the `k`th replica of a service under its spread rule.
    pub fn placement_order(&self, service: ServiceId, k: usize) -> Vec<ZoneId> {
        let s = &self.services[service.index()];
        let zones = &s.allowed_zones;
        let n = zones.len().max(1);
        let first = match s.spread {
            Spread::Zone => k % n,
            Spread::Region | Spread::Provider => {
                // Group the allowed zones by region (or provider), rotate the group first.
                let key = |z: ZoneId| match s.spread {
                    Spread::Provider => self.zones[z.index()].provider.0,
                    _ => self.zones[z.index()].region.0,
                };
                let mut groups: Vec<u32> = zones.iter().map(|&z| key(z)).collect();
                groups.dedup();
                groups.sort_unstable();
                groups.dedup();
                let g = groups[k % groups.len()];
                let members: Vec<usize> =
                    (0..zones.len()).filter(|&i| key(zones[i]) == g).collect();
                members[(k / groups.len()) % members.len()]
            }
        };
        (0..zones.len()).map(|i| zones[(first + i) % n]).collect()
    }

    /// The node in `zone` with the most free CPU that fits the request (ties: lowest id).
    pub fn best_node(
        &self,
        zone: ZoneId,
        cpu: f64,
        mem: f64,
        free_cpu: &[f64],
        free_mem: &[f64],
    ) -> Option<NodeId> {
        let mut best: Option<NodeId> = None;
        for &n in &self.zones[zone.index()].nodes {
            if free_cpu[n.index()] + 1e-9 >= cpu
                && free_mem[n.index()] >= mem
                && best.is_none_or(|b| free_cpu[n.index()] > free_cpu[b.index()])
            {
                best = Some(n);
            }
        }
        best
    }

    /// Region of a replica's node.
    pub fn replica_region(&self, r: ReplicaId) -> RegionId {
        self.nodes[self.replicas[r.index()].node.index()].region
    }

    /// Looks up an entity id by kind and name (used by scripted faults and trace replay).
    pub fn find_target(
        &self,
        kind: crate::scenario::schema::TargetKind,
        name: &str,
    ) -> Option<u32> {
        use crate::scenario::schema::TargetKind as K;
        let pos = match kind {
            K::Provider => self.providers.iter().position(|x| x.name == name),
            K::Region => self.regions.iter().position(|x| x.name == name),
            K::Zone => self.zones.iter().position(|x| x.name == name),
            K::Node => self.nodes.iter().position(|x| x.name == name),
            K::Service => self.services.iter().position(|x| x.name == name),
            K::Replica => self.replicas.iter().position(|x| x.name == name),
        };
        pos.map(|p| p as u32)
    }

    /// Name of an entity by kind and index.
    pub fn target_name(&self, kind: crate::scenario::schema::TargetKind, index: u32) -> &str {
        use crate::scenario::schema::TargetKind as K;
        let i = index as usize;
        match kind {
            K::Provider => &self.providers[i].name,
            K::Region => &self.regions[i].name,
            K::Zone => &self.zones[i].name,
            K::Node => &self.nodes[i].name,
            K::Service => &self.services[i].name,
            K::Replica => &self.replicas[i].name,
        }
    }

    /// Number of entities of a kind in the initial topology.
    pub fn count(&self, kind: crate::scenario::schema::TargetKind) -> usize {
        use crate::scenario::schema::TargetKind as K;
        match kind {
            K::Provider => self.providers.len(),
            K::Region => self.regions.len(),
            K::Zone => self.zones.len(),
            K::Node => self.nodes.len(),
            K::Service => self.services.len(),
            K::Replica => self.replicas.len(),
        }
    }

    /// Provider of an entity, for provider-filtered fault processes (`None` for services, which
    /// may span providers).
    pub fn provider_of(
        &self,
        kind: crate::scenario::schema::TargetKind,
        index: u32,
    ) -> Option<ProviderId> {
        use crate::scenario::schema::TargetKind as K;
        let i = index as usize;
        match kind {
            K::Provider => Some(ProviderId(index)),
            K::Region => Some(self.regions[i].provider),
            K::Zone => Some(self.zones[i].provider),
            K::Node => Some(self.nodes[i].provider),
            K::Replica => Some(self.nodes[self.replicas[i].node.index()].provider),
            K::Service => None,
        }
    }
}

/// Kahn's algorithm over `depends_on` edges (caller -> callee), ties by service index, so the
/// order is deterministic. The graph is acyclic (validated).
fn topological_order(services: &[Service]) -> Vec<ServiceId> {
    let n = services.len();
    let mut indegree = vec![0usize; n];
    for s in services {
        for d in &s.depends_on {
            indegree[d.index()] += 1;
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(ServiceId(i as u32));
        for d in &services[i].depends_on {
            indegree[d.index()] -= 1;
            if indegree[d.index()] == 0 {
                ready.insert(d.index());
            }
        }
    }
    order
}
