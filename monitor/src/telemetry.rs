//! Telemetry as monitoring systems see it, independent of where it comes from: named metric samples
//! about named entities, gathered into a [`Snapshot`] per scrape. The simulator's adapter (in `envs`)
//! and the live executor's Prometheus source both produce these, so the feature extraction in
//! [`crate::features`] runs on the same input in simulation and live. No simulator types here.
//!
//! Metric names follow Prometheus conventions (`up`, `cpu_utilization`, `error_ratio`,
//! `latency_p99_seconds`, ...; <https://prometheus.io/docs/practices/naming/>).

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

/// All metrics of one entity in a snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntityMetrics {
    /// For replicas, the service they belong to.
    pub service: Option<String>,
    /// `(metric name, value)`, sorted by name.
    values: Vec<(String, f64)>,
}

impl EntityMetrics {
    /// The value of `metric`, if present.
    pub fn get(&self, metric: &str) -> Option<f64> {
        self.values
            .binary_search_by(|(m, _)| m.as_str().cmp(metric))
            .ok()
            .map(|i| self.values[i].1)
    }

    /// `(metric, value)` pairs sorted by metric name.
    pub fn values(&self) -> impl Iterator<Item = (&str, f64)> {
        self.values.iter().map(|(m, v)| (m.as_str(), *v))
    }

    /// Number of metrics.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// No metrics?
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Sets a metric; true if the name was new.
    fn set(&mut self, metric: &str, value: f64) -> bool {
        match self
            .values
            .binary_search_by(|(m, _)| m.as_str().cmp(metric))
        {
            Ok(i) => {
                self.values[i].1 = value;
                false
            }
            Err(i) => {
                self.values.insert(i, (metric.to_owned(), value));
                true
            }
        }
    }
}

/// One scrape: every entity's metrics at (about) one time. Entities are kept sorted by kind then
/// name, metrics by name, so iteration order, and everything computed from it, is deterministic.
/// Refilling a snapshot scrape after scrape allocates nothing once its entities and metrics exist,
/// and producers that emit entities in a fixed order hit a one-entry cursor instead of searching.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Time of the scrape, seconds.
    pub timestamp: f64,
    /// `(kind, name, metrics)`, sorted by kind then name.
    entities: Vec<(EntityKind, String, EntityMetrics)>,
    /// Index of the entity touched last (a hint for the next `set`).
    cursor: usize,
    /// Bumped whenever an entity or a metric name is added or removed (invalidates [`SlotId`]s).
    generation: u64,
}

/// A handle to one (entity, metric) value of a [`Snapshot`], for producers that refill the same
/// snapshot scrape after scrape: valid while the snapshot's structure (its entities and metric
/// names) is unchanged, i.e. while [`Snapshot::generation`] is the one it was made at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotId {
    entity: u32,
    metric: u32,
    generation: u64,
}

/// Equal when timestamps and contents are equal (the lookup cursor is not compared).
impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.timestamp == other.timestamp && self.entities == other.entities
    }
}

impl Snapshot {
    /// An empty snapshot taken at `timestamp`.
    pub fn new(timestamp: f64) -> Self {
        Self {
            timestamp,
            entities: Vec::new(),
            cursor: 0,
            generation: 0,
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

    fn find(&self, kind: EntityKind, name: &str) -> Result<usize, usize> {
        if let Some((k, n, _)) = self.entities.get(self.cursor)
            && *k == kind
            && n == name
        {
            return Ok(self.cursor);
        }
        self.entities
            .binary_search_by(|(k, n, _)| (*k, n.as_str()).cmp(&(kind, name)))
    }

    fn entity_mut(&mut self, kind: EntityKind, name: &str) -> &mut EntityMetrics {
        let i = match self.find(kind, name) {
            Ok(i) => i,
            Err(i) => {
                self.entities
                    .insert(i, (kind, name.to_owned(), EntityMetrics::default()));
                i
            }
        };
        // Producers usually emit an entity's metrics together, then the next entity.
        self.cursor = i;
        &mut self.entities[i].2
    }

    /// Adds (or replaces) one sample. The snapshot's timestamp is left as is.
    pub fn push(&mut self, sample: MetricSample) {
        let e = self.entity_mut(sample.entity.kind, &sample.entity.name);
        if sample.service.is_some() {
            e.service = sample.service;
        }
        if e.set(&sample.metric, sample.value) {
            self.generation += 1;
        }
    }

    /// Sets `metric` of the entity `kind`/`name` to `value` (the entity and metric are created if
    /// new; no allocation otherwise).
    pub fn set(&mut self, kind: EntityKind, name: &str, metric: &str, value: f64) {
        if self.entity_mut(kind, name).set(metric, value) {
            self.generation += 1;
        }
    }

    /// The structure generation: changes whenever an entity or metric name is added or removed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A handle to `metric` of `kind`/`name`, if present (see [`SlotId`]).
    pub fn slot(&self, kind: EntityKind, name: &str, metric: &str) -> Option<SlotId> {
        let entity = self.find(kind, name).ok()?;
        let m = &self.entities[entity].2.values;
        let metric = m.binary_search_by(|(n, _)| n.as_str().cmp(metric)).ok()?;
        Some(SlotId {
            entity: entity as u32,
            metric: metric as u32,
            generation: self.generation,
        })
    }

    /// Sets the value behind `slot`; false (and nothing changed) if the slot is stale.
    pub fn set_slot(&mut self, slot: SlotId, value: f64) -> bool {
        if slot.generation != self.generation {
            return false;
        }
        match self
            .entities
            .get_mut(slot.entity as usize)
            .and_then(|e| e.2.values.get_mut(slot.metric as usize))
        {
            Some(v) => {
                v.1 = value;
                true
            }
            None => false,
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
        match self.find(kind, name) {
            Ok(i) => {
                self.entities.remove(i);
                self.cursor = 0;
                self.generation += 1;
                true
            }
            Err(_) => false,
        }
    }

    /// The value of `metric` for the entity `kind`/`name`, if present.
    pub fn get(&self, kind: EntityKind, name: &str, metric: &str) -> Option<f64> {
        let i = self.find(kind, name).ok()?;
        self.entities[i].2.get(metric)
    }

    /// Position of `kind`/`name` among the entities of its kind (sorted by name), if present.
    pub fn position(&self, kind: EntityKind, name: &str) -> Option<usize> {
        let start = self.entities.partition_point(|(k, _, _)| *k < kind);
        self.find(kind, name).ok().map(|i| i - start)
    }

    /// Every entity with its metrics, sorted by kind then name.
    pub fn entities(&self) -> impl Iterator<Item = (EntityKind, &str, &EntityMetrics)> {
        self.entities.iter().map(|(k, n, m)| (*k, n.as_str(), m))
    }

    /// The entities of one kind with their metrics, sorted by name.
    pub fn entities_of(&self, kind: EntityKind) -> impl Iterator<Item = (&str, &EntityMetrics)> {
        let start = self.entities.partition_point(|(k, _, _)| *k < kind);
        self.entities[start..]
            .iter()
            .take_while(move |(k, _, _)| *k == kind)
            .map(|(_, n, m)| (n.as_str(), m))
    }

    /// Names of the entities of one kind, sorted.
    pub fn names(&self, kind: EntityKind) -> impl Iterator<Item = &str> {
        self.entities_of(kind).map(|(n, _)| n)
    }

    /// Number of entities of one kind.
    pub fn count(&self, kind: EntityKind) -> usize {
        self.entities_of(kind).count()
    }

    /// Every sample in the snapshot (entity order, then metric name order), stamped with the
    /// snapshot's timestamp.
    pub fn samples(&self) -> impl Iterator<Item = MetricSample> + '_ {
        self.entities().flat_map(move |(kind, name, m)| {
            m.values().map(move |(metric, value)| MetricSample {
                metric: metric.to_owned(),
                entity: EntityRef::new(kind, name),
                service: m.service.clone(),
                value,
                timestamp: self.timestamp,
            })
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.entities.iter().map(|(_, _, e)| e.len()).sum()
    }

    /// No samples?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_update_in_place_until_the_structure_changes() {
        let mut s = Snapshot::new(0.0);
        s.set(EntityKind::Node, "n1", "up", 1.0);
        s.set(EntityKind::Service, "api", "error_ratio", 0.1);
        let slot = s.slot(EntityKind::Node, "n1", "up").unwrap();
        assert!(s.set_slot(slot, 0.0));
        assert_eq!(s.get(EntityKind::Node, "n1", "up"), Some(0.0));
        let generation = s.generation();
        s.set(EntityKind::Node, "n1", "up", 1.0);
        assert_eq!(
            s.generation(),
            generation,
            "updating a value keeps the structure"
        );
        s.set(EntityKind::Node, "n0", "up", 1.0);
        assert_ne!(
            s.generation(),
            generation,
            "a new entity changes the structure"
        );
        assert!(!s.set_slot(slot, 5.0), "a stale slot is refused");
        assert_eq!(s.get(EntityKind::Node, "n1", "up"), Some(1.0));
        assert_eq!(s.position(EntityKind::Node, "n1"), Some(1));
        assert_eq!(s.names(EntityKind::Node).collect::<Vec<_>>(), ["n0", "n1"]);
        assert!(s.remove(EntityKind::Node, "n0") && !s.remove(EntityKind::Node, "n0"));
        assert_eq!(s.slot(EntityKind::Node, "n1", "missing"), None);
    }
}
