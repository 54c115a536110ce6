//! Feature extraction: a telemetry [`Snapshot`] becomes per-entity feature rows plus global
//! features, under a fixed, versioned [`FeatureSchema`]. It works on metric *names* only, so the
//! cluster env (simulated telemetry) and the live executor (Prometheus samples) call this same code
//! and a policy sees the same features in both. A policy file records [`FeatureSchema::hash`].
//!
//! # Schema v4
//! Entities: every service, then every node, each sorted by name (replicas are folded into their
//! service through the `service` label). One row per entity, width 26; a row's columns for the other
//! kind are 0. Columns (`name`: source, transform):
//!
//! | # | name | source | transform |
//! |---|------|--------|-----------|
//! | 0 | `is_service` | entity kind | 1 or 0 |
//! | 1 | `is_node` | entity kind | 1 or 0 |
//! | 2 | `svc_request_rate` | service `request_rate` | ln(1 + x) |
//! | 3 | `svc_error_ratio` | service `error_ratio` | clamp [0, 1] |
//! | 4 | `svc_latency_p99` | service `latency_p99_seconds` | ln(1 + x) |
//! | 5 | `svc_replicas_in_rotation` | service `replicas_in_rotation` | ln(1 + x) |
//! | 6 | `svc_replication_lag` | service `replication_lag_seconds` | ln(1 + x) |
//! | 7 | `svc_replicas_up_ratio` | mean of its replicas' `up` | clamp [0, 1] |
//! | 8 | `svc_replica_cpu_mean` | mean of its replicas' `cpu_utilization` | clamp [0, 10] |
//! | 9 | `svc_replica_cpu_max` | max of its replicas' `cpu_utilization` | clamp [0, 10] |
//! | 10 | `svc_replica_memory_max` | max of its replicas' `memory_utilization` | clamp [0, 10] |
//! | 11 | `svc_replica_error_max` | max of its replicas' `error_ratio` | clamp [0, 1] |
//! | 12 | `svc_replica_count` | number of its replicas | ln(1 + x) |
//! | 13 | `node_up` | node `up` | clamp [0, 1] |
//! | 14 | `node_cpu_utilization` | node `cpu_utilization` | clamp [0, 10] |
//! | 15 | `node_memory_utilization` | node `memory_utilization` | clamp [0, 10] |
//! | 16 | `node_disk_utilization` | node `disk_utilization` | clamp [0, 1] |
//! | 17 | `svc_action_age` | service `mend_action_age_seconds` | ln(1 + x) |
//! | 18 | `svc_action_in_flight` | service `mend_action_in_flight` | clamp [0, 1] |
//! | 19 | `svc_actions_recent` | service `mend_actions_recent` | clamp [0, 10] |
//! | 20 | `node_action_age` | node `mend_action_age_seconds` | ln(1 + x) |
//! | 21 | `node_action_in_flight` | node `mend_action_in_flight` | clamp [0, 1] |
//! | 22 | `node_actions_recent` | node `mend_actions_recent` | clamp [0, 10] |
//! | 23 | `svc_alert_age` | service `mend_alert_active_seconds` | ln(1 + x) |
//! | 24 | `node_alert_age` | node `mend_alert_active_seconds` | ln(1 + x) |
//! | 25 | `svc_failure_risk` | written after extraction ([`risk::RiskTracker`]) | clamp [0, 1] |
//!
//! Columns 17-22 (new in v2) are the controller's own action history ([`history`]): not scraped
//! but written into the snapshot, under those metric names, by whoever acts (the cluster env, the
//! live executor); "never acted" is an age of [`history::ACTION_AGE_NEVER_S`] (ln(1 + 3600) ≈ 8.19).
//! Columns 23-24 (new in v3) are the symptom timers ([`alert_age`]): seconds the alert on the
//! entity has been active (pending or firing, Prometheus' `activeAt`), from the agent's own
//! detector bank run beside the observation, 0 when not active, capped at
//! [`alert_age::ALERT_AGE_CAP_S`]; written into the snapshot by the cluster env and the executor.
//! Column 25 (new in v4) is the failure predictor's risk that an incident on the service starts
//! within its horizon ([`risk`]): not a metric but written into the service rows after extraction
//! by whoever runs a [`risk::RiskModel`] (the cluster env with `ClusterConfig::risk_model`, the
//! executor's pipeline with `Pipeline::set_risk_model`), 0 on node rows and without a model.
//! Schema v1 was columns 0-16 alone, v2 columns 0-22, v3 columns 0-24; policy files recorded
//! under any of them no longer load.
//!
//! Global features (11): `n_services` and `n_nodes` (ln(1 + count)); `svc_error_ratio_mean`,
//! `svc_error_ratio_max`, `svc_latency_p99_max`, `svc_replicas_up_ratio_min`, `node_up_ratio`
//! (mean of `node_up`), `svc_request_rate_total` (ln(1 + sum of raw service request rates)),
//! `node_cpu_max`, `node_memory_max`, `node_disk_max` (maxima of the row features; 0 when there are
//! no entities of the kind).
//!
//! A metric that is absent or not finite counts as 0 and is listed in [`Features::missing`] (the
//! executor refuses to act on stale or missing metrics). Every feature lies in its column's bounds.
//!
//! ln(1 + x) columns represent raw values up to [`LOG1P_MAX_RAW`] (larger values are clamped to
//! it), so their bound is the finite `ln(1 + LOG1P_MAX_RAW)` ≈ 13.82 and a model that scales its
//! inputs by the observation space sees them (with an `f32::MAX` bound it saw them as 0).

pub mod alert_age;
pub mod history;
mod plan;
pub mod risk;

pub use plan::{FeaturePlan, flat_values};

use crate::telemetry::{EntityKind, EntityRef, Snapshot};

/// Version of the built-in schema; bump it whenever a column, its order or its transform changes.
pub const SCHEMA_VERSION: u32 = 4;

/// Largest raw value an ln(1 + x) feature represents; larger values are clamped to it. 1e6 is
/// orders of magnitude above every quantity the log1p features carry: request rates (requests
/// per second: Google search serves about 1e5 queries/s worldwide, per Internet Live Stats),
/// p99 latencies and replication lags in seconds (1e6 s is 11.6 days), replica and entity
/// counts. Clamping only there leaves every realistic feature value, and so the schema hash and
/// already-exported policies, unchanged.
pub const LOG1P_MAX_RAW: f64 = 1e6;

/// How a raw value becomes a feature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Transform {
    /// `ln(1 + min(max(x, 0), LOG1P_MAX_RAW))`: rates, counts and durations spanning orders of
    /// magnitude ([`LOG1P_MAX_RAW`]).
    Log1p,
    /// `x` clamped to `[0, hi]`.
    Clamp(f64),
}

impl Transform {
    /// Applies the transform; the result is finite and within [`Transform::bounds`].
    pub fn apply(self, x: f64) -> f32 {
        let y = match self {
            // NaN counts as 0 (`clamp` would keep it).
            Transform::Log1p if x.is_nan() => 0.0,
            Transform::Log1p => x.clamp(0.0, LOG1P_MAX_RAW).ln_1p(),
            Transform::Clamp(hi) => x.clamp(0.0, hi),
        };
        (y as f32).min(f32::MAX)
    }

    /// Bounds of the transformed value.
    pub fn bounds(self) -> (f32, f32) {
        match self {
            Transform::Log1p => (0.0, LOG1P_MAX_RAW.ln_1p() as f32),
            Transform::Clamp(hi) => (0.0, hi as f32),
        }
    }

    /// The transform in the schema's canonical text. `log1p` is unchanged by its cap
    /// ([`LOG1P_MAX_RAW`]), which changes no realistic value, so policy files exported before
    /// the cap still load.
    fn describe(self) -> String {
        match self {
            Transform::Log1p => "log1p".into(),
            Transform::Clamp(hi) => format!("clamp0:{hi}"),
        }
    }
}

/// Where a row column's raw value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// 1 if the entity is of this kind, else 0.
    IsKind(EntityKind),
    /// A metric of the entity itself (only for entities of `kind`).
    Metric {
        /// Entity kind the column applies to.
        kind: EntityKind,
        /// Metric name.
        metric: String,
    },
    /// An aggregate over a service's replicas of a replica metric.
    Replicas {
        /// Aggregation.
        agg: Agg,
        /// Replica metric name.
        metric: String,
    },
    /// The number of a service's replicas.
    ReplicaCount,
    /// Not read from the snapshot: extraction leaves 0, and the column's owner writes rows of
    /// `kind` afterwards (schema v4's `svc_failure_risk`: [`risk::RiskTracker`]). Never missing.
    Written {
        /// Entity kind the column applies to.
        kind: EntityKind,
    },
}

/// An aggregation over a set of values (0 when the set is empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agg {
    /// Mean.
    Mean,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
}

/// One column of an entity row.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Column name (stable; baselines look columns up by name).
    pub name: String,
    /// Raw value source.
    pub source: Source,
    /// Transform into the feature.
    pub transform: Transform,
}

/// The feature schema: row columns, global feature names, version and hash.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureSchema {
    /// Schema version ([`SCHEMA_VERSION`] for the built-in one).
    pub version: u32,
    /// Entity row columns, in order.
    pub columns: Vec<Column>,
    /// Global feature names, in order (computed as documented in the module doc).
    pub global: Vec<String>,
}

const GLOBAL_V1: [&str; 11] = [
    "n_services",
    "n_nodes",
    "svc_error_ratio_mean",
    "svc_error_ratio_max",
    "svc_latency_p99_max",
    "svc_replicas_up_ratio_min",
    "node_up_ratio",
    "svc_request_rate_total",
    "node_cpu_max",
    "node_memory_max",
    "node_disk_max",
];

impl FeatureSchema {
    /// The built-in schema, version [`SCHEMA_VERSION`] (see the module documentation).
    pub fn builtin() -> Self {
        use EntityKind::{Node, Service};
        let metric = |name: &str, kind, m: &str, t| Column {
            name: name.into(),
            source: Source::Metric {
                kind,
                metric: m.into(),
            },
            transform: t,
        };
        let replicas = |name: &str, agg, m: &str, t| Column {
            name: name.into(),
            source: Source::Replicas {
                agg,
                metric: m.into(),
            },
            transform: t,
        };
        let clamp1 = Transform::Clamp(1.0);
        let clamp10 = Transform::Clamp(10.0);
        let mut columns = vec![
            Column {
                name: "is_service".into(),
                source: Source::IsKind(Service),
                transform: clamp1,
            },
            Column {
                name: "is_node".into(),
                source: Source::IsKind(Node),
                transform: clamp1,
            },
            metric(
                "svc_request_rate",
                Service,
                "request_rate",
                Transform::Log1p,
            ),
            metric("svc_error_ratio", Service, "error_ratio", clamp1),
            metric(
                "svc_latency_p99",
                Service,
                "latency_p99_seconds",
                Transform::Log1p,
            ),
            metric(
                "svc_replicas_in_rotation",
                Service,
                "replicas_in_rotation",
                Transform::Log1p,
            ),
            metric(
                "svc_replication_lag",
                Service,
                "replication_lag_seconds",
                Transform::Log1p,
            ),
            replicas("svc_replicas_up_ratio", Agg::Mean, "up", clamp1),
            replicas(
                "svc_replica_cpu_mean",
                Agg::Mean,
                "cpu_utilization",
                clamp10,
            ),
            replicas("svc_replica_cpu_max", Agg::Max, "cpu_utilization", clamp10),
            replicas(
                "svc_replica_memory_max",
                Agg::Max,
                "memory_utilization",
                clamp10,
            ),
            replicas("svc_replica_error_max", Agg::Max, "error_ratio", clamp1),
            Column {
                name: "svc_replica_count".into(),
                source: Source::ReplicaCount,
                transform: Transform::Log1p,
            },
            metric("node_up", Node, "up", clamp1),
            metric("node_cpu_utilization", Node, "cpu_utilization", clamp10),
            metric(
                "node_memory_utilization",
                Node,
                "memory_utilization",
                clamp10,
            ),
            metric("node_disk_utilization", Node, "disk_utilization", clamp1),
        ];
        for (kind, prefix) in [(Service, "svc"), (Node, "node")] {
            columns.extend([
                metric(
                    &format!("{prefix}_action_age"),
                    kind,
                    history::ACTION_AGE_METRIC,
                    Transform::Log1p,
                ),
                metric(
                    &format!("{prefix}_action_in_flight"),
                    kind,
                    history::ACTION_IN_FLIGHT_METRIC,
                    clamp1,
                ),
                metric(
                    &format!("{prefix}_actions_recent"),
                    kind,
                    history::ACTIONS_RECENT_METRIC,
                    clamp10,
                ),
            ]);
        }
        for (kind, prefix) in [(Service, "svc"), (Node, "node")] {
            columns.push(metric(
                &format!("{prefix}_alert_age"),
                kind,
                alert_age::ALERT_AGE_METRIC,
                Transform::Log1p,
            ));
        }
        columns.push(Column {
            name: risk::RISK_COLUMN.into(),
            source: Source::Written { kind: Service },
            transform: clamp1,
        });
        Self {
            version: SCHEMA_VERSION,
            columns,
            global: GLOBAL_V1.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Row width.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Index of the row column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Index of the global feature called `name`.
    pub fn global_index(&self, name: &str) -> Option<usize> {
        self.global.iter().position(|c| c == name)
    }

    /// Bounds of each row column, `(low, high)`.
    pub fn row_bounds(&self) -> Vec<(f32, f32)> {
        self.columns.iter().map(|c| c.transform.bounds()).collect()
    }

    /// Bounds of each global feature (all are >= 0; counts, rates and latencies are unbounded above).
    pub fn global_bounds(&self) -> Vec<(f32, f32)> {
        vec![(0.0, f32::MAX); self.global.len()]
    }

    /// The canonical text the hash is computed over: version, then each column and global name.
    pub fn canonical(&self) -> String {
        let mut s = format!("mend-features v{}\n", self.version);
        for c in &self.columns {
            s += &format!("row {} {:?} {}\n", c.name, c.source, c.transform.describe());
        }
        for g in &self.global {
            s += &format!("global {g}\n");
        }
        s
    }

    /// A stable identifier of the schema: `v<version>-<16 hex digits>`, the FNV-1a 64-bit hash of
    /// [`Self::canonical`] (FNV parameters from <http://www.isthe.com/chongo/tech/comp/fnv/>).
    pub fn hash(&self) -> String {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let h = self
            .canonical()
            .bytes()
            .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
        format!("v{}-{h:016x}", self.version)
    }
}

/// The features of one snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Features {
    /// The entities, in row order (services, then nodes, each by name).
    pub entities: Vec<EntityRef>,
    /// Row width.
    pub width: usize,
    /// `entities.len() x width` features, row-major.
    pub rows: Vec<f32>,
    /// Global features, in schema order.
    pub global: Vec<f32>,
    /// `kind/name:metric` of each metric the schema wanted but the snapshot lacked (or had non-finite).
    pub missing: Vec<String>,
}

impl Features {
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * self.width..(i + 1) * self.width]
    }
}

/// Turns snapshots into [`Features`] under one schema.
#[derive(Clone, Debug)]
pub struct FeatureExtractor {
    schema: FeatureSchema,
    /// How each global feature is computed, in schema order.
    globals: Vec<GlobalRule>,
}

/// Running aggregates of one replica metric for one service.
#[derive(Clone, Copy, Debug, Default)]
struct Acc {
    sum: f64,
    n: usize,
    min: f64,
    max: f64,
}

impl Acc {
    fn add(&mut self, x: f64) {
        if self.n == 0 {
            (self.min, self.max) = (x, x);
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.sum += x;
        self.n += 1;
    }
    fn get(&self, agg: Agg) -> f64 {
        match (self.n, agg) {
            (0, _) => 0.0,
            (n, Agg::Mean) => self.sum / n as f64,
            (_, Agg::Max) => self.max,
            (_, Agg::Min) => self.min,
        }
    }
}

/// A schema the extractor cannot compute.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureSchemaError {
    /// A global feature name is not one the extractor knows.
    #[error(
        "feature schema v{version}: global feature \"{name}\" is unknown: expected one of {known}"
    )]
    UnknownGlobal {
        /// Schema version.
        version: u32,
        /// The unknown name.
        name: String,
        /// Known names, comma separated.
        known: String,
    },
    /// A clamp bound is not a finite positive number.
    #[error(
        "feature schema v{version}: column \"{column}\" has clamp bound {hi}: expected a finite number > 0"
    )]
    BadClamp {
        /// Schema version.
        version: u32,
        /// Column name.
        column: String,
        /// The bound.
        hi: f64,
    },
}

impl FeatureExtractor {
    /// An extractor for `schema`; refuses global names it cannot compute and bad clamp bounds.
    pub fn new(schema: FeatureSchema) -> Result<Self, FeatureSchemaError> {
        if let Some(name) = schema
            .global
            .iter()
            .find(|g| !GLOBAL_V1.contains(&g.as_str()))
        {
            return Err(FeatureSchemaError::UnknownGlobal {
                version: schema.version,
                name: name.clone(),
                known: GLOBAL_V1.join(", "),
            });
        }
        for c in &schema.columns {
            if let Transform::Clamp(hi) = c.transform
                && !(hi.is_finite() && hi > 0.0)
            {
                return Err(FeatureSchemaError::BadClamp {
                    version: schema.version,
                    column: c.name.clone(),
                    hi,
                });
            }
        }
        Ok(Self::with_rules(schema))
    }

    /// An extractor for the built-in schema ([`FeatureSchema::builtin`]).
    pub fn builtin() -> Self {
        Self::with_rules(FeatureSchema::builtin())
    }

    fn with_rules(schema: FeatureSchema) -> Self {
        let globals = schema
            .global
            .iter()
            .map(|g| GlobalRule::of(&schema, g))
            .collect();
        Self { schema, globals }
    }

    /// The schema.
    pub fn schema(&self) -> &FeatureSchema {
        &self.schema
    }

    /// Extracts the features of `snapshot`.
    pub fn extract(&self, snapshot: &Snapshot) -> Features {
        let mut out = Features::default();
        self.extract_into(snapshot, &mut out);
        out
    }

    /// Extracts into `out`, reusing its buffers. Builds a [`FeaturePlan`] for the snapshot each
    /// call; producers that refill one snapshot structure scrape after scrape keep the plan and
    /// call [`Self::extract_planned`] instead.
    pub fn extract_into(&self, snapshot: &Snapshot, out: &mut Features) {
        let mut plan = self.plan(snapshot);
        let mut values = Vec::with_capacity(plan.n_values());
        flat_values(snapshot, &mut values);
        self.extract_planned(&mut plan, &values, out);
    }
}

/// How one global feature is computed (resolved from its name when the extractor is built).
#[derive(Clone, Copy, Debug, PartialEq)]
enum GlobalRule {
    /// `ln(1 + number of entities of the kind)`.
    Count(EntityKind),
    /// `ln(1 + sum of the raw service request rates)`.
    RequestTotal,
    /// Mean of a row column over the entities of a kind (0 if none, or no such column).
    Mean(EntityKind, Option<usize>),
    /// Maximum (floored at 0) of a row column over the entities of a kind.
    Max(EntityKind, Option<usize>),
    /// Minimum of a row column over the entities of a kind (0 if none).
    Min(EntityKind, Option<usize>),
    /// A name `FeatureExtractor::new` refuses; kept so `globals` lines up with the schema.
    Unknown,
}

impl GlobalRule {
    /// The rule for global feature `name` of `schema` (the built-in list; see the module doc).
    fn of(schema: &FeatureSchema, name: &str) -> Self {
        use EntityKind::{Node, Service};
        let col = |c: &str| schema.column_index(c);
        match name {
            "n_services" => Self::Count(Service),
            "n_nodes" => Self::Count(Node),
            "svc_error_ratio_mean" => Self::Mean(Service, col("svc_error_ratio")),
            "svc_error_ratio_max" => Self::Max(Service, col("svc_error_ratio")),
            "svc_latency_p99_max" => Self::Max(Service, col("svc_latency_p99")),
            "svc_replicas_up_ratio_min" => Self::Min(Service, col("svc_replicas_up_ratio")),
            "node_up_ratio" => Self::Mean(Node, col("node_up")),
            "svc_request_rate_total" => Self::RequestTotal,
            "node_cpu_max" => Self::Max(Node, col("node_cpu_utilization")),
            "node_memory_max" => Self::Max(Node, col("node_memory_utilization")),
            "node_disk_max" => Self::Max(Node, col("node_disk_utilization")),
            _ => Self::Unknown,
        }
    }
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::MetricSample;
    use proptest::prelude::*;

    fn sample(
        kind: EntityKind,
        name: &str,
        service: Option<&str>,
        metric: &str,
        value: f64,
    ) -> MetricSample {
        MetricSample {
            metric: metric.into(),
            entity: EntityRef::new(kind, name),
            service: service.map(str::to_owned),
            value,
            timestamp: 30.0,
        }
    }

    /// Two services (api with two replicas, db with one), two nodes; db lacks `error_ratio`.
    fn samples() -> Vec<MetricSample> {
        use EntityKind::*;
        let mut v = vec![
            sample(Service, "api", None, "request_rate", 120.0),
            sample(Service, "api", None, "error_ratio", 0.25),
            sample(Service, "api", None, "latency_p99_seconds", 0.8),
            sample(Service, "api", None, "replicas_in_rotation", 1.0),
            sample(Service, "api", None, "replication_lag_seconds", 0.0),
            sample(Service, "db", None, "request_rate", 40.0),
            sample(Service, "db", None, "latency_p99_seconds", 0.05),
            sample(Service, "db", None, "replicas_in_rotation", 1.0),
            sample(Service, "db", None, "replication_lag_seconds", 2.0),
            sample(Node, "n2", None, "up", 1.0),
            sample(Node, "n2", None, "cpu_utilization", 0.5),
            sample(Node, "n2", None, "memory_utilization", 0.4),
            sample(Node, "n2", None, "disk_utilization", 0.9),
            sample(Node, "n1", None, "up", 0.0),
            sample(Node, "n1", None, "cpu_utilization", 0.0),
            sample(Node, "n1", None, "memory_utilization", 0.0),
            sample(Node, "n1", None, "disk_utilization", 0.1),
        ];
        // Action history (schema v2): api and n1 were acted on, db and n2 never.
        for (kind, name, (age, in_flight, recent)) in [
            (Service, "api", (45.0, 1.0, 2.0)),
            (Service, "db", (history::ACTION_AGE_NEVER_S, 0.0, 0.0)),
            (Node, "n1", (300.0, 0.0, 1.0)),
            (Node, "n2", (history::ACTION_AGE_NEVER_S, 0.0, 0.0)),
        ] {
            for (m, x) in history::ACTION_HISTORY_METRICS
                .into_iter()
                .zip([age, in_flight, recent])
            {
                v.push(sample(kind, name, None, m, x));
            }
        }
        // Alert timers (schema v3): api's alert active for 90 s, n1's for 600 s; db absent.
        for (kind, name, age) in [
            (Service, "api", 90.0),
            (Node, "n1", 600.0),
            (Node, "n2", 0.0),
        ] {
            v.push(sample(kind, name, None, alert_age::ALERT_AGE_METRIC, age));
        }
        for (name, svc, up, cpu, mem, err) in [
            ("api-0", "api", 1.0, 0.9, 0.5, 0.1),
            ("api-1", "api", 0.0, 0.3, 0.7, 0.6),
            ("db-0", "db", 1.0, 0.2, 0.3, 0.0),
        ] {
            for (m, x) in [
                ("up", up),
                ("cpu_utilization", cpu),
                ("memory_utilization", mem),
                ("error_ratio", err),
            ] {
                v.push(sample(Replica, name, Some(svc), m, x));
            }
        }
        v
    }

    fn col(f: &Features, row: usize, name: &str) -> f32 {
        f.row(row)[FeatureSchema::builtin().column_index(name).unwrap()]
    }

    #[test]
    fn rows_follow_the_documented_schema() {
        let f = FeatureExtractor::builtin().extract(&Snapshot::from_samples(samples()));
        let names: Vec<String> = f
            .entities
            .iter()
            .map(|e| format!("{}/{}", e.kind.as_str(), e.name))
            .collect();
        assert_eq!(names, ["service/api", "service/db", "node/n1", "node/n2"]);
        assert_eq!((f.width, f.rows.len(), f.global.len()), (26, 4 * 26, 11));
        assert_eq!(
            (
                col(&f, 0, "is_service"),
                col(&f, 0, "is_node"),
                col(&f, 2, "is_node")
            ),
            (1.0, 0.0, 1.0)
        );
        assert_eq!(col(&f, 0, "svc_request_rate"), 120f64.ln_1p() as f32);
        assert_eq!(col(&f, 0, "svc_error_ratio"), 0.25);
        assert_eq!(
            col(&f, 0, "svc_replicas_up_ratio"),
            0.5,
            "mean of api's replicas' up"
        );
        assert_eq!(col(&f, 0, "svc_replica_cpu_mean"), 0.6);
        assert_eq!(col(&f, 0, "svc_replica_cpu_max"), 0.9);
        assert_eq!(col(&f, 0, "svc_replica_memory_max"), 0.7);
        assert_eq!(col(&f, 0, "svc_replica_error_max"), 0.6);
        assert_eq!(col(&f, 0, "svc_replica_count"), 2f64.ln_1p() as f32);
        assert_eq!(col(&f, 1, "svc_replication_lag"), 2f64.ln_1p() as f32);
        assert_eq!(col(&f, 1, "svc_replica_count"), 1f64.ln_1p() as f32);
        assert_eq!(col(&f, 1, "svc_replica_cpu_max"), 0.2, "db's own replica");
        assert_eq!(col(&f, 3, "node_disk_utilization"), 0.9);
        assert_eq!(
            col(&f, 2, "svc_request_rate"),
            0.0,
            "service columns are 0 on node rows"
        );
        assert_eq!(
            col(&f, 0, "node_up"),
            0.0,
            "node columns are 0 on service rows"
        );
        assert_eq!(col(&f, 0, "svc_action_age"), 45f64.ln_1p() as f32);
        assert_eq!(col(&f, 0, "svc_action_in_flight"), 1.0);
        assert_eq!(col(&f, 0, "svc_actions_recent"), 2.0);
        assert_eq!(col(&f, 1, "svc_action_age"), 3600f64.ln_1p() as f32);
        assert_eq!(col(&f, 1, "svc_actions_recent"), 0.0);
        assert_eq!(col(&f, 2, "node_action_age"), 300f64.ln_1p() as f32);
        assert_eq!(col(&f, 2, "node_actions_recent"), 1.0);
        assert_eq!(col(&f, 3, "node_action_age"), 3600f64.ln_1p() as f32);
        assert_eq!(
            col(&f, 2, "svc_action_age"),
            0.0,
            "service history columns are 0 on node rows"
        );
        assert_eq!(col(&f, 0, "svc_alert_age"), 90f64.ln_1p() as f32);
        assert_eq!(
            (
                col(&f, 0, "svc_failure_risk"),
                col(&f, 2, "svc_failure_risk")
            ),
            (0.0, 0.0),
            "written after extraction: 0 from the extractor, and never missing"
        );
        assert_eq!(col(&f, 2, "node_alert_age"), 600f64.ln_1p() as f32);
        assert_eq!(col(&f, 3, "node_alert_age"), 0.0);
        assert_eq!(
            col(&f, 0, "node_alert_age"),
            0.0,
            "node column on a service row"
        );
        assert_eq!(
            f.missing,
            [
                "service/db:error_ratio",
                "service/db:mend_alert_active_seconds"
            ]
        );
        let g = |name: &str| f.global[FeatureSchema::builtin().global_index(name).unwrap()];
        assert_eq!(g("n_services"), 2f64.ln_1p() as f32);
        assert_eq!(g("svc_error_ratio_max"), 0.25);
        assert_eq!(g("svc_error_ratio_mean"), 0.125);
        assert_eq!(g("node_up_ratio"), 0.5);
        assert_eq!(g("svc_replicas_up_ratio_min"), 0.5);
        assert_eq!(g("svc_request_rate_total"), 160f64.ln_1p() as f32);
        assert_eq!(g("node_disk_max"), 0.9);
    }

    #[test]
    fn features_do_not_depend_on_sample_order_and_buffers_are_reusable() {
        let forward = FeatureExtractor::builtin().extract(&Snapshot::from_samples(samples()));
        let mut reversed = samples();
        reversed.reverse();
        let snapshot = Snapshot::from_samples(reversed);
        let mut reused = FeatureExtractor::builtin().extract(&Snapshot::new(0.0));
        FeatureExtractor::builtin().extract_into(&snapshot, &mut reused);
        assert_eq!(forward, reused);
        assert_eq!(
            Snapshot::from_samples(snapshot.samples()),
            snapshot,
            "samples() round-trips"
        );
        assert_eq!(snapshot.len(), samples().len());
    }

    #[test]
    fn log1p_columns_have_finite_bounds_that_keep_realistic_values() {
        let schema = FeatureSchema::builtin();
        let hi = LOG1P_MAX_RAW.ln_1p() as f32;
        let mut log1p = 0;
        for (c, (lo, h)) in schema.columns.iter().zip(schema.row_bounds()) {
            assert!(
                lo.is_finite() && h.is_finite() && h > lo,
                "{}: [{lo}, {h}]",
                c.name
            );
            if c.transform == Transform::Log1p {
                log1p += 1;
                assert_eq!(h, hi, "{}", c.name);
            }
        }
        assert_eq!(
            log1p, 9,
            "request rate, latency, replicas in rotation, lag, replica count, two action ages, two alert ages"
        );
        // Realistic values are exactly ln(1 + x); the cap and anything above map to the bound.
        for x in [0.0, 0.25, 42.0, 1e4, 9.99e5] {
            assert_eq!(Transform::Log1p.apply(x), x.ln_1p() as f32);
        }
        for x in [LOG1P_MAX_RAW, 1e7, 1e300, f64::INFINITY] {
            assert_eq!(Transform::Log1p.apply(x), hi);
        }
        assert_eq!(Transform::Log1p.apply(f64::NAN), 0.0);
        // The hash a policy file records does not move with the cap.
        assert!(
            schema.canonical().contains("svc_request_rate")
                && schema.canonical().contains(" log1p\n")
        );
    }

    #[test]
    fn hostile_values_stay_within_column_bounds() {
        let schema = FeatureSchema::builtin();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -5.0, 1e300] {
            let hostile: Vec<MetricSample> = samples()
                .into_iter()
                .map(|mut s| {
                    s.value = bad;
                    s
                })
                .collect();
            let f = FeatureExtractor::builtin().extract(&Snapshot::from_samples(hostile));
            for (i, &x) in f.rows.iter().enumerate() {
                let (lo, hi) = schema.row_bounds()[i % f.width];
                assert!(
                    x.is_finite() && x >= lo && x <= hi,
                    "value {bad}: column {} = {x}",
                    schema.columns[i % f.width].name
                );
            }
            assert!(
                f.global.iter().all(|x| x.is_finite() && *x >= 0.0),
                "value {bad}: {:?}",
                f.global
            );
            if !bad.is_finite() {
                assert!(
                    f.missing.len() > 10,
                    "non-finite values are reported missing"
                );
            }
        }
    }

    #[test]
    fn schema_hash_is_stable_and_changes_with_the_schema() {
        let a = FeatureSchema::builtin();
        assert_eq!(a.hash(), FeatureSchema::builtin().hash());
        assert!(a.hash().starts_with("v4-") && a.hash().len() == 19);
        assert_eq!(a.version, SCHEMA_VERSION);
        assert_eq!(a.width(), 26);
        let mut b = a.clone();
        b.columns[3].transform = Transform::Clamp(2.0);
        assert_ne!(a.hash(), b.hash());
        let mut c = a.clone();
        c.columns.swap(2, 3);
        assert_ne!(a.hash(), c.hash());
        let mut d = a.clone();
        d.global.push("unknown_feature".into());
        assert!(matches!(
            FeatureExtractor::new(d),
            Err(FeatureSchemaError::UnknownGlobal { .. })
        ));
        b.columns[3].transform = Transform::Clamp(f64::NAN);
        assert!(FeatureExtractor::new(b).is_err());
    }

    /// Features as bit patterns, so NaN or -0.0 differences would show.
    fn bits(f: &Features) -> (Vec<EntityRef>, usize, Vec<u32>, Vec<u32>, Vec<String>) {
        (
            f.entities.clone(),
            f.width,
            f.rows.iter().map(|x| x.to_bits()).collect(),
            f.global.iter().map(|x| x.to_bits()).collect(),
            f.missing.clone(),
        )
    }

    fn reference(snapshot: &Snapshot) -> Features {
        let mut out = Features::default();
        reference::extract_reference(&FeatureSchema::builtin(), snapshot, &mut out);
        out
    }

    #[test]
    fn planned_extraction_matches_the_session_1_extractor_bit_for_bit() {
        let mut cases = vec![samples(), Vec::new()];
        let mut reversed = samples();
        reversed.reverse();
        cases.push(reversed);
        for bad in [f64::NAN, f64::INFINITY, -5.0, 1e300, -0.0] {
            cases.push(
                samples()
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut s)| {
                        if i % 3 == 0 {
                            s.value = bad;
                        }
                        s
                    })
                    .collect(),
            );
        }
        let mut orphan = samples();
        orphan.push(sample(
            EntityKind::Replica,
            "ghost-0",
            Some("ghost"),
            "up",
            1.0,
        ));
        orphan.push(sample(EntityKind::Replica, "lone-0", None, "up", 1.0));
        orphan.retain(|s| s.metric != "latency_p99_seconds");
        cases.push(orphan);
        let extractor = FeatureExtractor::builtin();
        for (i, case) in cases.into_iter().enumerate() {
            let snapshot = Snapshot::from_samples(case);
            assert_eq!(
                bits(&extractor.extract(&snapshot)),
                bits(&reference(&snapshot)),
                "case {i}"
            );
        }
    }

    #[test]
    fn a_plan_serves_every_scrape_of_its_structure() {
        let extractor = FeatureExtractor::builtin();
        let first = Snapshot::from_samples(samples());
        let mut plan = extractor.plan(&first);
        assert_eq!(plan.n_values(), first.len());
        let (mut values, mut out) = (Vec::new(), Features::default());
        for scrape in 1..5 {
            let changed =
                Snapshot::from_samples(samples().into_iter().enumerate().map(|(i, mut s)| {
                    s.value *= 1.0 + 0.37 * f64::from(scrape) * (i % 5) as f64;
                    s
                }));
            assert!(plan.fits(&changed, &extractor));
            flat_values(&changed, &mut values);
            extractor.extract_planned(&mut plan, &values, &mut out);
            assert_eq!(bits(&out), bits(&reference(&changed)), "scrape {scrape}");
        }
        let mut fewer = samples();
        fewer.pop();
        assert!(!plan.fits(&Snapshot::from_samples(fewer), &extractor));
        // Too few values: the missing ones count as missing, no panic.
        extractor.extract_planned(&mut plan, &values[..3], &mut out);
        assert!(out.missing.len() > 10, "{:?}", out.missing);
    }

    /// Any metric subset of a small cluster, with any values (including non-finite).
    fn arbitrary_samples() -> impl Strategy<Value = Vec<MetricSample>> {
        let value = prop_oneof![
            4 => 0.0..5.0f64,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => -10.0..0.0f64,
            1 => Just(-0.0f64),
        ];
        proptest::collection::vec((0usize..usize::MAX, value), 0..80).prop_map(|picks| {
            let all = samples();
            picks
                .into_iter()
                .map(|(i, v)| {
                    let mut s = all[i % all.len()].clone();
                    s.value = v;
                    if i % 7 == 0 {
                        s.entity.name.push('x');
                    }
                    s
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn planned_equals_reference_on_arbitrary_snapshots(case in arbitrary_samples()) {
            let snapshot = Snapshot::from_samples(case);
            prop_assert_eq!(
                bits(&FeatureExtractor::builtin().extract(&snapshot)),
                bits(&reference(&snapshot))
            );
        }
    }
}
