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
/// iteration order, and everything computed from it, is deterministic. Updating a metric that is
/// already present allocates nothing, so a producer can refill one snapshot scrape after scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Time of the scrape, seconds.
    pub timestamp: f64,
    /// Entities by kind, then by name.
    entities: BTreeMap<EntityKind, BTreeMap<String, EntityMetrics>>,
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

    fn entity_mut(&mut self, kind: EntityKind, name: &str) -> &mut EntityMetrics {
        let by_name = self.entities.entry(kind).or_default();
        if !by_name.contains_key(name) {
            by_name.insert(name.to_owned(), EntityMetrics::default());
        }
        by_name.get_mut(name).expect("inserted above")
    }

    /// Adds (or replaces) one sample. The snapshot's timestamp is left as is.
    pub fn push(&mut self, sample: MetricSample) {
        let e = self.entity_mut(sample.entity.kind, &sample.entity.name);
        if sample.service.is_some() {
            e.service = sample.service;
        }
        e.values.insert(sample.metric, sample.value);
    }

    /// Sets `metric` of the entity `kind`/`name` to `value` (the entity and metric are created if
    /// new; no allocation otherwise).
    pub fn set(&mut self, kind: EntityKind, name: &str, metric: &str, value: f64) {
        let e = self.entity_mut(kind, name);
        match e.values.get_mut(metric) {
            Some(v) => *v = value,
            None => {
                e.values.insert(metric.to_owned(), value);
            }
        }
    }

    /// Records that replica `name` belongs to `service`.
    pub fn set_replica_service(&mut self, name: &str, service: &str) {
        let e = self.entity_mut(EntityKind::Replica, name);
        if e.service.as_deref() != Some(service) {
            e.service = Some(service.to_owned());
        }
    }

    /// Removes an entity (e.g. a replica that no longer exists); true if it was there.
    pub fn remove(&mut self, kind: EntityKind, name: &str) -> bool {
        self.entities
            .get_mut(&kind)
            .is_some_and(|m| m.remove(name).is_some())
    }

    /// The value of `metric` for the entity `kind`/`name`, if present.
    pub fn get(&self, kind: EntityKind, name: &str, metric: &str) -> Option<f64> {
        self.entities
            .get(&kind)?
            .get(name)?
            .values
            .get(metric)
            .copied()
    }

    /// Every entity with its metrics, sorted by kind then name.
    pub fn entities(&self) -> impl Iterator<Item = (EntityKind, &str, &EntityMetrics)> {
        self.entities
            .iter()
            .flat_map(|(&kind, m)| m.iter().map(move |(name, e)| (kind, name.as_str(), e)))
    }

    /// The entities of one kind with their metrics, sorted by name.
    pub fn entities_of(&self, kind: EntityKind) -> impl Iterator<Item = (&str, &EntityMetrics)> {
        self.entities
            .get(&kind)
            .into_iter()
            .flat_map(|m| m.iter().map(|(n, e)| (n.as_str(), e)))
    }

    /// Names of the entities of one kind, sorted.
    pub fn names(&self, kind: EntityKind) -> impl Iterator<Item = &str> {
        self.entities_of(kind).map(|(n, _)| n)
    }

    /// Number of entities of one kind.
    pub fn count(&self, kind: EntityKind) -> usize {
        self.entities.get(&kind).map_or(0, BTreeMap::len)
    }

    /// Every sample in the snapshot (entity order, then metric name order), stamped with the
    /// snapshot's timestamp.
    pub fn samples(&self) -> impl Iterator<Item = MetricSample> + '_ {
        self.entities().flat_map(move |(kind, name, m)| {
            m.values.iter().map(move |(metric, &value)| MetricSample {
                metric: metric.clone(),
                entity: EntityRef::new(kind, name),
                service: m.service.clone(),
                value,
                timestamp: self.timestamp,
            })
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.entities().map(|(_, _, e)| e.values.len()).sum()
    }

    /// No samples?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
