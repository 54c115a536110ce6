//! Telemetry: what a monitoring system would scrape from the simulated cluster at each scrape
//! interval, with measurement noise from the Telemetry stream. Values live in flat `f64` arrays
//! indexed by entity and metric enum (no allocation per sample); [`TelemetrySnapshot::samples`]
//! gives (Prometheus-style metric name, labels, value) for consumers that want names.

use crate::time::SimTime;
use crate::topology::Topology;

/// Metrics exported per replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplicaMetric {
    /// 1 if the replica's process answers, else 0.
    Up,
    /// Share of the replica's CPU reservation in use, [0, 1].
    CpuUtilization,
    /// Resident memory, bytes.
    MemoryBytes,
    /// Memory over the replica's limit, [0, 1+].
    MemoryUtilization,
    /// Requests per second routed to the replica.
    RequestRate,
    /// Share of its requests that failed.
    ErrorRatio,
    /// 99th-percentile latency of its requests (own work plus dependencies), seconds.
    LatencyP99Seconds,
}

impl ReplicaMetric {
    /// Every replica metric in storage order.
    pub const ALL: [ReplicaMetric; 7] = [
        ReplicaMetric::Up,
        ReplicaMetric::CpuUtilization,
        ReplicaMetric::MemoryBytes,
        ReplicaMetric::MemoryUtilization,
        ReplicaMetric::RequestRate,
        ReplicaMetric::ErrorRatio,
        ReplicaMetric::LatencyP99Seconds,
    ];
    /// Prometheus-style name.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaMetric::Up => "up",
            ReplicaMetric::CpuUtilization => "cpu_utilization",
            ReplicaMetric::MemoryBytes => "memory_bytes",
            ReplicaMetric::MemoryUtilization => "memory_utilization",
            ReplicaMetric::RequestRate => "request_rate",
            ReplicaMetric::ErrorRatio => "error_ratio",
            ReplicaMetric::LatencyP99Seconds => "latency_p99_seconds",
        }
    }
}

/// Metrics exported per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeMetric {
    /// 1 if the node is reachable and running, else 0.
    Up,
    /// CPU demand over cores (may exceed 1 under contention).
    CpuUtilization,
    /// Reserved plus leaked memory over node memory.
    MemoryUtilization,
    /// Disk use over disk size, [0, 1].
    DiskUtilization,
}

impl NodeMetric {
    /// Every node metric in storage order.
    pub const ALL: [NodeMetric; 4] = [
        NodeMetric::Up,
        NodeMetric::CpuUtilization,
        NodeMetric::MemoryUtilization,
        NodeMetric::DiskUtilization,
    ];
    /// Prometheus-style name.
    pub fn name(self) -> &'static str {
        match self {
            NodeMetric::Up => "up",
            NodeMetric::CpuUtilization => "cpu_utilization",
            NodeMetric::MemoryUtilization => "memory_utilization",
            NodeMetric::DiskUtilization => "disk_utilization",
        }
    }
}

/// Metrics exported per service, as seen at the load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceMetric {
    /// Attempts per second reaching the service (including retries).
    RequestRate,
    /// Share of attempts that failed (including dependency failures and timeouts).
    ErrorRatio,
    /// 99th-percentile end-to-end latency, seconds.
    LatencyP99Seconds,
    /// Replication lag to the standby (0 for stateless services), seconds.
    ReplicationLagSeconds,
    /// Replicas in the load balancer's rotation.
    ReplicasInRotation,
}

impl ServiceMetric {
    /// Every service metric in storage order.
    pub const ALL: [ServiceMetric; 5] = [
        ServiceMetric::RequestRate,
        ServiceMetric::ErrorRatio,
        ServiceMetric::LatencyP99Seconds,
        ServiceMetric::ReplicationLagSeconds,
        ServiceMetric::ReplicasInRotation,
    ];
    /// Prometheus-style name.
    pub fn name(self) -> &'static str {
        match self {
            ServiceMetric::RequestRate => "request_rate",
            ServiceMetric::ErrorRatio => "error_ratio",
            ServiceMetric::LatencyP99Seconds => "latency_p99_seconds",
            ServiceMetric::ReplicationLagSeconds => "replication_lag_seconds",
            ServiceMetric::ReplicasInRotation => "replicas_in_rotation",
        }
    }
}

const NR: usize = ReplicaMetric::ALL.len();
const NN: usize = NodeMetric::ALL.len();
const NS: usize = ServiceMetric::ALL.len();

/// The last scrape: flat arrays of noisy metric values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetrySnapshot {
    /// Time of the scrape.
    pub time: SimTime,
    replica: Vec<f64>,
    node: Vec<f64>,
    service: Vec<f64>,
    /// Whether a replica slot exists (removed replicas export nothing).
    replica_present: Vec<bool>,
}

impl TelemetrySnapshot {
    /// An all-zero snapshot sized for the given entity counts.
    pub fn new(replicas: usize, nodes: usize, services: usize) -> Self {
        Self {
            time: SimTime::ZERO,
            replica: vec![0.0; replicas * NR],
            node: vec![0.0; nodes * NN],
            service: vec![0.0; services * NS],
            replica_present: vec![false; replicas],
        }
    }

    /// Grows the replica arrays (after a scale-out).
    pub(crate) fn ensure_replicas(&mut self, replicas: usize) {
        if self.replica_present.len() < replicas {
            self.replica.resize(replicas * NR, 0.0);
            self.replica_present.resize(replicas, false);
        }
    }

    /// A replica metric (0 for removed replicas).
    pub fn replica(&self, replica: usize, m: ReplicaMetric) -> f64 {
        self.replica[replica * NR + m as usize]
    }
    /// A node metric.
    pub fn node(&self, node: usize, m: NodeMetric) -> f64 {
        self.node[node * NN + m as usize]
    }
    /// A service metric.
    pub fn service(&self, service: usize, m: ServiceMetric) -> f64 {
        self.service[service * NS + m as usize]
    }
    /// Whether the replica slot currently exists.
    pub fn replica_present(&self, replica: usize) -> bool {
        self.replica_present.get(replica).copied().unwrap_or(false)
    }
    /// Number of replica slots.
    pub fn replica_count(&self) -> usize {
        self.replica_present.len()
    }

    pub(crate) fn set_replica(&mut self, replica: usize, present: bool, values: [f64; NR]) {
        self.replica_present[replica] = present;
        self.replica[replica * NR..(replica + 1) * NR].copy_from_slice(&values);
    }
    pub(crate) fn set_node(&mut self, node: usize, values: [f64; NN]) {
        self.node[node * NN..(node + 1) * NN].copy_from_slice(&values);
    }
    pub(crate) fn set_service(&mut self, service: usize, values: [f64; NS]) {
        self.service[service * NS..(service + 1) * NS].copy_from_slice(&values);
    }

    /// Every sample with its metric name and labels, replicas first, then nodes, then services.
    pub fn samples<'a>(&'a self, topology: &'a Topology) -> impl Iterator<Item = Sample<'a>> + 'a {
        let replicas = (0..self.replica_present.len())
            .filter(|&r| self.replica_present[r])
            .flat_map(move |r| {
                let rep = &topology.replicas[r];
                let node = &topology.nodes[rep.node.index()];
                ReplicaMetric::ALL.iter().map(move |&m| Sample {
                    metric: m.name(),
                    labels: Labels {
                        entity: EntityKind::Replica,
                        name: &rep.name,
                        service: Some(&topology.services[rep.service.index()].name),
                        node: Some(&node.name),
                        zone: &topology.zones[node.zone.index()].name,
                    },
                    value: self.replica(r, m),
                })
            });
        let nodes = topology
            .nodes
            .iter()
            .enumerate()
            .flat_map(move |(n, node)| {
                NodeMetric::ALL.iter().map(move |&m| Sample {
                    metric: m.name(),
                    labels: Labels {
                        entity: EntityKind::Node,
                        name: &node.name,
                        service: None,
                        node: Some(&node.name),
                        zone: &topology.zones[node.zone.index()].name,
                    },
                    value: self.node(n, m),
                })
            });
        let services = topology
            .services
            .iter()
            .enumerate()
            .flat_map(move |(s, svc)| {
                ServiceMetric::ALL.iter().map(move |&m| Sample {
                    metric: m.name(),
                    labels: Labels {
                        entity: EntityKind::Service,
                        name: &svc.name,
                        service: Some(&svc.name),
                        node: None,
                        zone: "",
                    },
                    value: self.service(s, m),
                })
            });
        replicas.chain(nodes).chain(services)
    }
}

/// Which kind of entity a sample describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    /// A replica (pod).
    Replica,
    /// A node (machine).
    Node,
    /// A service (at the load balancer).
    Service,
}

/// Labels of a sample, borrowed from the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels<'a> {
    /// Entity kind.
    pub entity: EntityKind,
    /// Entity name (`instance` in Prometheus terms).
    pub name: &'a str,
    /// Service, for replicas and services.
    pub service: Option<&'a str>,
    /// Node, for replicas and nodes.
    pub node: Option<&'a str>,
    /// Zone, for replicas and nodes (empty for services).
    pub zone: &'a str,
}

/// One named sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a> {
    /// Prometheus-style metric name.
    pub metric: &'static str,
    /// Entity labels.
    pub labels: Labels<'a>,
    /// Value (with measurement noise).
    pub value: f64,
}
