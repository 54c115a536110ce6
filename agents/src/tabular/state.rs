//! The discretised, size-independent state of tabular Q-learning: each entity row becomes one bucket
//! (services: replicas down, error ratio, p99 latency, mean CPU, max memory; nodes: up, disk), and the
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
            view,
            edges,
        })
    }

    /// The bucket edges.
    pub fn edges(&self) -> &BucketEdges {
        &self.edges
    }

    fn service_buckets(&self) -> usize {
        let e = &self.edges;
        2 * (e.error_ratio.len() + 1)
            * (e.latency_s.len() + 1)
            * (e.cpu.len() + 1)
            * (e.memory.len() + 1)
    }

    /// Number of entity buckets (service buckets, then node buckets).
    pub fn n_entity_buckets(&self) -> usize {
        self.service_buckets() + 2 * (self.edges.disk.len() + 1)
    }

    /// Is `bucket` the healthy one of its kind (service: all replicas up, error ratio, latency, CPU
    /// and memory in their lowest buckets; node: up, disk in its lowest bucket)?
    pub fn is_healthy(&self, bucket: usize) -> bool {
        bucket == 0 || bucket == self.service_buckets()
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
                    b * (e.memory.len() + 1) + bucket(self.memory.raw(row), &e.memory)
                } else {
                    let down = usize::from(self.node_up.raw(row) < 0.5);
                    node_down |= down == 1;
                    self.service_buckets()
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
}
