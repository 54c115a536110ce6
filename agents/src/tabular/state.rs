//! The discretised, size-independent state of tabular Q-learning: each entity row becomes one bucket
//! (services: replicas down, error ratio, p99 latency, mean CPU, max memory; nodes: up, disk; both
//! optionally also the controller's last action age and the symptom timer, see
//! [`BucketEdges::action_age_s`] and [`BucketEdges::alert_age_s`]), and the
//! no-op reads one global bucket (worst error ratio, any replicas down, any node down). Features are
//! looked up by name and read in raw units ([`crate::baselines::view`]), so the table works on any
//! cluster size and on Prometheus-derived rows.

use mend_envs::Observation;
use mend_monitor::features::FeatureSchema;
use serde::{Deserialize, Serialize};

use crate::baselines::BaselineError;
use crate::baselines::view::{ColumnRef, FeatureView};

/// Bucket edges, in raw metric units; a value `x` falls in bucket `#edges below or equal to x`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketEdges {
    /// Service error ratio edges.
    pub error_ratio: Vec<f64>,
    /// Service p99 latency edges, seconds.
    pub latency_s: Vec<f64>,
    /// Mean replica CPU utilisation edges.
    pub cpu: Vec<f64>,
    /// Max replica memory utilisation edges.
    pub memory: Vec<f64>,
    /// Node disk utilisation edges.
    pub disk: Vec<f64>,
    /// Edges of the seconds since the controller's last action on the entity (`svc_action_age`,
    /// `node_action_age`; 3600 s means never: monitor's `ACTION_AGE_NEVER_S`). Empty (the default,
    /// and what files written before it existed hold): not part of the state. With it, the table
    /// can tell "just restarted, wait for it" from "nothing done yet", which a runbook's `wait_s`
    /// encodes (agents/runbooks/default.toml).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action_age_s: Vec<f64>,
    /// Edges of the seconds the alert on the entity has been active (`svc_alert_age`,
    /// `node_alert_age`: the symptom timer of feature schema v3). Empty (the default): not part of
    /// the state. With it, the table can wait for a symptom to hold, as a runbook's `for_s` does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_age_s: Vec<f64>,
}

impl Default for BucketEdges {
    fn default() -> Self {
        Self {
            // 1 % and 5 % are common error-budget alert levels; 20 % is a hard outage.
            error_ratio: vec![0.01, 0.05, 0.2],
            // The shipped scenarios' SLOs lie between 0.2 s and 2 s.
            latency_s: vec![0.2, 0.5, 1.0],
            // 0.7 is the HPA's usual target; 0.9 near saturation.
            cpu: vec![0.7, 0.9],
            memory: vec![0.9],
            disk: vec![0.95],
            action_age_s: Vec::new(),
            alert_age_s: Vec::new(),
        }
    }
}

impl BucketEdges {
    /// The default edges plus the two timers: action age edges 90 s and 600 s (a replica restart
    /// takes about a minute and the shipped runbook waits 60-300 s between steps), alert age edges
    /// 30 s and 120 s (the runbook's `for_s` of 30 s for replicas down, memory and node down, 120 s
    /// for latency; agents/runbooks/default.toml).
    pub fn with_timers() -> Self {
        Self {
            action_age_s: vec![90.0, 600.0],
            alert_age_s: vec![30.0, 120.0],
            ..Self::default()
        }
    }
}

fn bucket(x: f64, edges: &[f64]) -> usize {
    edges.iter().filter(|&&e| x >= e).count()
}

/// Maps observations to table rows.
#[derive(Clone, Debug)]
pub struct Discretiser {
    edges: BucketEdges,
    view: FeatureView,
    up_ratio: ColumnRef,
    error_ratio: ColumnRef,
    latency: ColumnRef,
    cpu: ColumnRef,
    memory: ColumnRef,
    node_up: ColumnRef,
    disk: ColumnRef,
    svc_action_age: ColumnRef,
    node_action_age: ColumnRef,
    svc_alert_age: ColumnRef,
    node_alert_age: ColumnRef,
}

impl Discretiser {
    /// A discretiser over `schema` rows with `edges`.
    pub fn new(schema: FeatureSchema, edges: BucketEdges) -> Result<Self, BaselineError> {
        let view = FeatureView::new(schema)?;
        Ok(Self {
            up_ratio: view.column("svc_replicas_up_ratio")?,
            error_ratio: view.column("svc_error_ratio")?,
            latency: view.column("svc_latency_p99")?,
            cpu: view.column("svc_replica_cpu_mean")?,
            memory: view.column("svc_replica_memory_max")?,
            node_up: view.column("node_up")?,
            disk: view.column("node_disk_utilization")?,
            svc_action_age: view.column("svc_action_age")?,
            node_action_age: view.column("node_action_age")?,
            svc_alert_age: view.column("svc_alert_age")?,
            node_alert_age: view.column("node_alert_age")?,
            view,
            edges,
        })
    }

    /// The bucket edges.
    pub fn edges(&self) -> &BucketEdges {
        &self.edges
    }

    /// Service symptom buckets (replicas down x error x latency x CPU x memory).
    fn service_symptoms(&self) -> usize {
        let e = &self.edges;
        2 * (e.error_ratio.len() + 1)
            * (e.latency_s.len() + 1)
            * (e.cpu.len() + 1)
            * (e.memory.len() + 1)
    }

    /// Node symptom buckets (down x disk).
    fn node_symptoms(&self) -> usize {
        2 * (self.edges.disk.len() + 1)
    }

    /// Timer buckets (action age x alert age; 1 without timers).
    fn timers(&self) -> usize {
        (self.edges.action_age_s.len() + 1) * (self.edges.alert_age_s.len() + 1)
    }

    fn service_buckets(&self) -> usize {
        self.service_symptoms() * self.timers()
    }

    /// Number of entity buckets (service buckets, then node buckets; each `timer * symptoms +
    /// symptom`, so without timers the layout is the one of files written before they existed).
    pub fn n_entity_buckets(&self) -> usize {
        self.service_buckets() + self.node_symptoms() * self.timers()
    }

    /// Is `bucket` a healthy one of its kind (service: all replicas up, error ratio, latency, CPU
    /// and memory in their lowest buckets; node: up, disk in its lowest bucket; any timers)?
    pub fn is_healthy(&self, bucket: usize) -> bool {
        if bucket < self.service_buckets() {
            bucket.is_multiple_of(self.service_symptoms())
        } else {
            (bucket - self.service_buckets()).is_multiple_of(self.node_symptoms())
        }
    }

    /// The timer bucket of a row from its action age and alert age columns (0 without timers).
    fn timer(&self, row: &[f32], action_age: &ColumnRef, alert_age: &ColumnRef) -> usize {
        let e = &self.edges;
        bucket(action_age.raw(row), &e.action_age_s) * (e.alert_age_s.len() + 1)
            + bucket(alert_age.raw(row), &e.alert_age_s)
    }

    /// Number of global (no-op) buckets.
    pub fn n_global_buckets(&self) -> usize {
        (self.edges.error_ratio.len() + 1) * 2 * 2
    }

    /// The bucket of every entity row, and the global bucket.
    pub fn encode(&self, obs: &Observation) -> Result<(Vec<usize>, usize), BaselineError> {
        let ent = self.view.entities(obs)?;
        let e = &self.edges;
        let (mut worst_error, mut any_down, mut node_down) = (0, false, false);
        let buckets = (0..ent.n_entities())
            .map(|i| {
                let row = ent.row(i);
                if self.view.is_service(row) {
                    let down = usize::from(self.up_ratio.raw(row) < 1.0 - 1e-6);
                    let err = bucket(self.error_ratio.raw(row), &e.error_ratio);
                    worst_error = worst_error.max(err);
                    any_down |= down == 1;
                    let mut b = down;
                    b = b * (e.error_ratio.len() + 1) + err;
                    b = b * (e.latency_s.len() + 1) + bucket(self.latency.raw(row), &e.latency_s);
                    b = b * (e.cpu.len() + 1) + bucket(self.cpu.raw(row), &e.cpu);
                    b = b * (e.memory.len() + 1) + bucket(self.memory.raw(row), &e.memory);
                    let timer = self.timer(row, &self.svc_action_age, &self.svc_alert_age);
                    timer * self.service_symptoms() + b
                } else {
                    let down = usize::from(self.node_up.raw(row) < 0.5);
                    node_down |= down == 1;
                    let timer = self.timer(row, &self.node_action_age, &self.node_alert_age);
                    self.service_buckets()
                        + timer * self.node_symptoms()
                        + down * (e.disk.len() + 1)
                        + bucket(self.disk.raw(row), &e.disk)
                }
            })
            .collect();
        let global = (worst_error * 2 + usize::from(any_down)) * 2 + usize::from(node_down);
        Ok((buckets, global))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_counts_edges_at_or_below() {
        assert_eq!(bucket(0.0, &[0.01, 0.05]), 0);
        assert_eq!(bucket(0.01, &[0.01, 0.05]), 1);
        assert_eq!(bucket(0.3, &[0.01, 0.05]), 2);
    }

    #[test]
    fn every_bucket_is_in_range_and_distinct_per_kind() {
        let d = Discretiser::new(FeatureSchema::builtin(), BucketEdges::default()).unwrap();
        assert_eq!(d.n_entity_buckets(), 2 * 4 * 4 * 3 * 2 + 4);
        let s = FeatureSchema::builtin();
        let w = s.columns.len();
        let mut rows = vec![0.0; 2 * w];
        rows[s.column_index("is_service").unwrap()] = 1.0;
        rows[s.column_index("svc_replicas_up_ratio").unwrap()] = 1.0;
        rows[s.column_index("svc_error_ratio").unwrap()] = 0.5;
        rows[w + s.column_index("is_node").unwrap()] = 1.0;
        let obs = Observation::Entities(mend_envs::EntityObs {
            global: vec![],
            width: w,
            rows,
        });
        let (b, g) = d.encode(&obs).unwrap();
        // Service: up, error bucket 3, others 0 -> 3 * 4 * 3 * 2 = 72; node down (node_up 0) -> 192 + 2.
        assert_eq!(b, vec![72, 194]);
        assert_eq!(g, (3 * 2) * 2 + 1);
        assert!(d.is_healthy(0) && d.is_healthy(192));
        assert!(!d.is_healthy(72) && !d.is_healthy(194));
        assert!(g < d.n_global_buckets());
    }

    #[test]
    fn timers_split_buckets_and_keep_health_by_symptom() {
        let d = Discretiser::new(FeatureSchema::builtin(), BucketEdges::with_timers()).unwrap();
        let (svc, node, timers) = (2 * 4 * 4 * 3 * 2, 4, 3 * 3);
        assert_eq!(d.n_entity_buckets(), (svc + node) * timers);
        let s = FeatureSchema::builtin();
        let w = s.columns.len();
        let col = |n: &str| s.column_index(n).unwrap();
        let mut rows = vec![0.0; 2 * w];
        rows[col("is_service")] = 1.0;
        rows[col("svc_replicas_up_ratio")] = 1.0;
        // Acted 100 s ago (action bucket 1), alert active 40 s (alert bucket 1): timer 1 * 3 + 1.
        rows[col("svc_action_age")] = 100f32.ln_1p();
        rows[col("svc_alert_age")] = 40f32.ln_1p();
        rows[w + col("is_node")] = 1.0;
        rows[w + col("node_up")] = 1.0;
        // Never acted (3600 s: bucket 2), no alert: timer 2 * 3.
        rows[w + col("node_action_age")] = 3600f32.ln_1p();
        let obs = Observation::Entities(mend_envs::EntityObs {
            global: vec![],
            width: w,
            rows,
        });
        let (b, _) = d.encode(&obs).unwrap();
        assert_eq!(b, vec![4 * svc, svc * timers + 6 * node]);
        // Healthy symptoms whatever the timers; a symptom is never healthy.
        assert!(d.is_healthy(b[0]) && d.is_healthy(b[1]));
        assert!(!d.is_healthy(4 * svc + 72) && !d.is_healthy(svc * timers + 6 * node + 2));
    }
}
