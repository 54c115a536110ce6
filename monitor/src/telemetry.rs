//! Telemetry as monitoring systems see it, independent of where it comes from: named metric samples
//! about named entities, gathered into a [`Snapshot`] per scrape. The simulator's adapter (in `envs`)
//! and the live executor's Prometheus source both produce these, so the feature extraction in
//! [`crate::features`] runs on the same input in simulation and live. No simulator types here.
//!
//! Metric names follow Prometheus conventions (`up`, `cpu_utilization`, `error_ratio`,
//! `latency_p99_seconds`, ...; <https://prometheus.io/docs/practices/naming/>).

use std::collections::BTreeMap;

/// What an entity is. The order (services, nodes, replicas) is the order entities are listed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityKind {
    /// A service as seen at its load balancer.
    Service,
    /// A machine.
    Node,
    /// One replica (pod, process) of a service.
    Replica,
}

impl EntityKind {
    /// Lower-case name, as in a Prometheus label value.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Service => "service",
            EntityKind::Node => "node",
            EntityKind::Replica => "replica",
        }
    }
}

/// An entity: its kind and its name (unique within its kind).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityRef {
    /// Kind.
    pub kind: EntityKind,
    /// Name (Prometheus `instance`, Kubernetes object name, ...).
    pub name: String,
}

impl EntityRef {
    /// An entity of `kind` named `name`.
    pub fn new(kind: EntityKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

/// One metric value about one entity at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSample {
    /// Prometheus-style metric name.
    pub metric: String,
    /// The entity it describes.
    pub entity: EntityRef,
    /// For replicas, the service they belong to (the `service` label); else `None`.
    pub service: Option<String>,
    /// The value.
    pub value: f64,
    /// Seconds (simulated time, or Unix time live).
    pub timestamp: f64,
}

/// All metrics of one entity in a snapshot, by metric name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntityMetrics {
    /// For replicas, the service they belong to.
    pub service: Option<String>,
    /// Metric values by name (sorted).
    pub values: BTreeMap<String, f64>,
}

/// One scrape: every entity's metrics at (about) one time. Entities and metrics are kept sorted, so
/// iteration order, and everything computed from it, is deterministic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Time of the scrape, seconds.
    pub timestamp: f64,
    entities: BTreeMap<EntityRef, EntityMetrics>,
}

impl Snapshot {
    /// An empty snapshot taken at `timestamp`.
    pub fn new(timestamp: f64) -> Self {
        Self {
            timestamp,
            entities: BTreeMap::new(),
        }
    }

    /// Builds a snapshot from samples; its timestamp is the latest sample's (0 if none). A later
    /// sample of the same entity and metric replaces an earlier one.
    pub fn from_samples(samples: impl IntoIterator<Item = MetricSample>) -> Self {
        let mut s = Self::new(0.0);
        for sample in samples {
            s.timestamp = s.timestamp.max(sample.timestamp);
            s.push(sample);
        }
        s
    }

    /// Adds (or replaces) one sample. The snapshot's timestamp is left as is.
    pub fn push(&mut self, sample: MetricSample) {
        let e = self.entities.entry(sample.entity).or_default();
        if sample.service.is_some() {
            e.service = sample.service;
        }
        e.values.insert(sample.metric, sample.value);
    }

    /// Sets `metric` of the entity `kind`/`name` to `value` (the entity is created if new).
    pub fn set(&mut self, kind: EntityKind, name: &str, metric: &str, value: f64) {
        let e = self.entities.entry(EntityRef::new(kind, name)).or_default();
        e.values.insert(metric.to_owned(), value);
    }

    /// Records that replica `name` belongs to `service`.
    pub fn set_replica_service(&mut self, name: &str, service: &str) {
        self.entities
            .entry(EntityRef::new(EntityKind::Replica, name))
            .or_default()
            .service = Some(service.to_owned());
    }

    /// The value of `metric` for the entity `kind`/`name`, if present.
    pub fn get(&self, kind: EntityKind, name: &str, metric: &str) -> Option<f64> {
        // BTreeMap lookups need an owned key; entity names are short.
        self.entities
            .get(&EntityRef::new(kind, name))
            .and_then(|e| e.values.get(metric).copied())
    }

    /// Every entity with its metrics, sorted by kind then name.
    pub fn entities(&self) -> impl Iterator<Item = (&EntityRef, &EntityMetrics)> {
        self.entities.iter()
    }

    /// Names of the entities of one kind, sorted.
    pub fn names(&self, kind: EntityKind) -> impl Iterator<Item = &str> {
        self.entities
            .keys()
            .filter(move |e| e.kind == kind)
            .map(|e| e.name.as_str())
    }

    /// Number of entities of one kind.
    pub fn count(&self, kind: EntityKind) -> usize {
        self.names(kind).count()
    }

    /// Every sample in the snapshot (entity order, then metric name order), stamped with the
    /// snapshot's timestamp.
    pub fn samples(&self) -> impl Iterator<Item = MetricSample> + '_ {
        self.entities.iter().flat_map(move |(entity, m)| {
            m.values.iter().map(move |(metric, &value)| MetricSample {
                metric: metric.clone(),
                entity: entity.clone(),
                service: m.service.clone(),
                value,
                timestamp: self.timestamp,
            })
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.entities.values().map(|e| e.values.len()).sum()
    }

    /// No samples?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
