//! Reading the cluster: every configured metric of every service, through the Prometheus HTTP API
//! or direct scrapes, into [`Readings`]; then [`Readings::to_snapshot`] turns them into the
//! monitor's telemetry [`Snapshot`], the same type the simulator's adapter produces, so the same
//! feature extraction runs on both.
//!
//! Entities: each service `S` (entity `service/S`) and each replica `S-i` (entity `replica/S-i`,
//! label `service = S`). PromQL series are matched to replicas by [`ReplicaId`]: local processes
//! by the port of their `instance` label (`host:port`), Kubernetes pods by their `pod` label;
//! other series are ignored. When no service metric
//! `replicas_in_rotation` is configured, it is computed as the number of replicas with `up` >= 0.5
//! (a load balancer's view: only live replicas get traffic).
//!
//! Sample times: an instant query's `value` carries the *evaluation* time, and Prometheus keeps
//! returning a series' last value for its lookback window (5 min by default) after the series
//! stopped being scraped. So, unless `[prometheus] sample_times = false`, each PromQL metric is
//! also read as `timestamp(EXPR)`, which for a selector gives the time of the last scraped
//! sample (<https://prometheus.io/docs/prometheus/latest/querying/functions/#timestamp>; for a
//! computed expression it gives the evaluation time, so keep at least `up` a plain selector). A
//! metric's time is the *oldest* of its replicas' sample times: one replica whose series went stale
//! makes the whole metric stale.
//!
//! Action history (feature schema v2): [`Readings::to_snapshot`] gives every service the values of
//! a controller that never acted on it (`mend_monitor::features::history::ActionValues::NEVER`);
//! the decision pipeline then overwrites them with the actions this executor carried out
//! (`crate::pipeline`). Code that extracts features from readings without a pipeline (probes,
//! tests) so sees "never acted", never a missing column. Likewise every service's alert age
//! (feature schema v3) starts at 0 ("no alert active"), and the pipeline's alert clock overwrites
//! it. The failure-risk column (schema v4) is not a metric: extraction leaves it 0 and the
//! pipeline's risk model, if any, writes it into the rows afterwards.
//!
//! Freshness ([`Readings::metric_times`], judged by the fresh-metrics guard): `S:up` is always
//! required; any other metric is required while at least one replica of `S` is up (a live replica
//! must report it; a dead one cannot). A query that fails, or returns nothing when it is required,
//! leaves its time `None`, so the guard refuses to act, and the reason goes in [`Readings::problems`].

use std::collections::BTreeMap;
use std::time::Duration;

use mend_monitor::features::alert_age::ALERT_AGE_METRIC;
use mend_monitor::features::history::ActionValues;
use mend_monitor::telemetry::{EntityKind, Snapshot};

use crate::cluster::{ClusterFile, MetricQuery};
use crate::metrics::{
    MetricError, MetricSource, PromQuery, PrometheusConfig, PrometheusSource, Sample, ScrapeSource,
};

/// What one loop iteration read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Readings {
    /// `(service, replica, metric)` -> value (scaled).
    pub replica: BTreeMap<(String, usize, String), f64>,
    /// `(service, metric)` -> value (scaled).
    pub service: BTreeMap<(String, String), f64>,
    /// `service:metric` -> newest sample time (ms since the epoch), `None` when unreadable.
    pub metric_times: BTreeMap<String, Option<u64>>,
    /// Every read problem, in words (for the audit log).
    pub problems: Vec<String>,
    /// Replica count of each service when read.
    pub replicas: BTreeMap<String, usize>,
}

impl Readings {
    /// Whether replica `replica` of `service` was seen up (`up` >= 0.5).
    pub fn replica_up(&self, service: &str, replica: usize) -> bool {
        self.replica
            .get(&(service.to_owned(), replica, "up".to_owned()))
            .is_some_and(|&v| v >= 0.5)
    }

    /// The value of replica metric `metric`, if read.
    pub fn replica_value(&self, service: &str, replica: usize, metric: &str) -> Option<f64> {
        self.replica
            .get(&(service.to_owned(), replica, metric.to_owned()))
            .copied()
    }

    /// The telemetry snapshot (timestamp in seconds since the epoch), with every service's action
    /// history at "never acted" and alert age at 0 (see the module doc).
    pub fn to_snapshot(&self, now_ms: u64) -> Snapshot {
        let mut snapshot = Snapshot::new(now_ms as f64 / 1000.0);
        for (service, &n) in &self.replicas {
            ActionValues::NEVER.set_into(&mut snapshot, EntityKind::Service, service);
            snapshot.set(EntityKind::Service, service, ALERT_AGE_METRIC, 0.0);
            let mut in_rotation = 0.0;
            for r in 0..n {
                let name = replica_name(service, r);
                snapshot.set_replica_service(&name, service);
                if self.replica_up(service, r) {
                    in_rotation += 1.0;
                }
            }
            let key = (service.clone(), "replicas_in_rotation".to_owned());
            if !self.service.contains_key(&key) {
                snapshot.set(
                    EntityKind::Service,
                    service,
                    "replicas_in_rotation",
                    in_rotation,
                );
            }
        }
        for ((service, replica, metric), &v) in &self.replica {
            let name = replica_name(service, *replica);
            snapshot.set(EntityKind::Replica, &name, metric, v);
            snapshot.set_replica_service(&name, service);
        }
        for ((service, metric), &v) in &self.service {
            snapshot.set(EntityKind::Service, service, metric, v);
        }
        snapshot
    }
}

/// A series' labels and its last sample time (ms since the epoch).
type SampleTime = (BTreeMap<String, String>, u64);

/// How the series of one replica are recognised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReplicaId {
    /// A local process: the port in the series' `instance` label (`host:port`).
    Port(u16),
    /// A Kubernetes pod: the series' `pod` label.
    Pod(String),
}

impl ReplicaId {
    /// Whether a series with `labels` belongs to this replica.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            ReplicaId::Port(port) => {
                labels
                    .get("instance")
                    .and_then(|i| i.rsplit(':').next())
                    .and_then(|p| p.parse::<u16>().ok())
                    == Some(*port)
            }
            ReplicaId::Pod(pod) => labels.get("pod") == Some(pod),
        }
    }
}

/// The replica entity name: `<service>-<index>`.
pub fn replica_name(service: &str, replica: usize) -> String {
    format!("{service}-{replica}")
}

/// Reads every configured metric.
#[derive(Debug)]
pub struct MetricReader {
    prometheus: Option<PrometheusSource>,
    sample_times: bool,
    scrape_timeout: Duration,
}

impl MetricReader {
    /// A reader for `cluster` (builds the Prometheus client when the file has a `[prometheus]` table).
    pub fn new(cluster: &ClusterFile) -> Result<Self, MetricError> {
        let prometheus = match &cluster.prometheus {
            None => None,
            Some(p) => Some(PrometheusSource::new(PrometheusConfig {
                base_url: p.url.clone(),
                // The source checks its query list is non-empty; queries are passed per call.
                queries: vec![PromQuery {
                    feature: "up".into(),
                    expr: "up".into(),
                }],
                timeout: Duration::from_millis(p.timeout_ms),
                retries: p.retries,
                backoff: Duration::from_millis(p.backoff_ms),
            })?),
        };
        // A scrape must give up well within one interval (a hung replica never answers).
        let scrape_timeout = Duration::from_millis((cluster.interval_ms / 2).clamp(50, 1000));
        Ok(MetricReader {
            prometheus,
            sample_times: cluster.prometheus.as_ref().is_some_and(|p| p.sample_times),
            scrape_timeout,
        })
    }

    /// Reads everything at `now_ms`; `replicas[service][i]` identifies replica i's series.
    pub fn read(
        &self,
        cluster: &ClusterFile,
        replicas: &BTreeMap<String, Vec<ReplicaId>>,
        now_ms: u64,
    ) -> Readings {
        let mut out = Readings::default();
        for s in &cluster.services {
            let ports = replicas.get(&s.name).cloned().unwrap_or_default();
            out.replicas.insert(s.name.clone(), ports.len());
            let mut scraped: Vec<Option<Vec<Sample>>> = Vec::new();
            if s.replica_metrics.values().any(|q| q.scrape.is_some()) {
                scraped = ports
                    .iter()
                    .map(|id| match id {
                        ReplicaId::Port(p) => self.scrape(*p, now_ms),
                        // The cluster file refuses scrapes with pods (validated at load).
                        ReplicaId::Pod(_) => None,
                    })
                    .collect();
            }
            // `up` first: whether other metrics are required depends on it.
            let mut order: Vec<(&String, &MetricQuery)> = s.replica_metrics.iter().collect();
            order.sort_by_key(|(m, _)| m.as_str() != "up");
            for (metric, q) in order {
                let key = format!("{}:{metric}", s.name);
                let time = match (&q.promql, &q.scrape) {
                    (Some(expr), _) => self
                        .promql_replica(&mut out, &s.name, metric, expr, q.scale, &ports, now_ms),
                    (None, Some(name)) => {
                        scrape_replica(&mut out, &s.name, metric, name, q.scale, &scraped, now_ms)
                    }
                    (None, None) => Err("no source configured".into()),
                };
                let required =
                    metric == "up" || (0..ports.len()).any(|r| out.replica_up(&s.name, r));
                match time {
                    Ok(t) => {
                        out.metric_times.insert(key, Some(t));
                    }
                    Err(problem) => {
                        out.problems.push(format!("{key}: {problem}"));
                        if required {
                            out.metric_times.insert(key, None);
                        }
                    }
                }
            }
            for (metric, q) in &s.service_metrics {
                let key = format!("{}:{metric}", s.name);
                let Some(expr) = &q.promql else { continue };
                let read = self.promql(metric, expr, now_ms).and_then(|samples| {
                    let time = match self.sample_times(metric, expr, now_ms)? {
                        Some(times) => times.iter().map(|(_, t)| *t).min(),
                        None => Some(samples[0].timestamp_ms),
                    };
                    Ok((samples[0].value, time))
                });
                match read {
                    Ok((value, time)) => {
                        out.service
                            .insert((s.name.clone(), metric.clone()), value * q.scale);
                        out.metric_times.insert(key, time);
                    }
                    Err(e) => {
                        out.problems.push(format!("{key}: {e}"));
                        out.metric_times.insert(key, None);
                    }
                }
            }
        }
        out
    }

    fn promql(&self, feature: &str, expr: &str, now_ms: u64) -> Result<Vec<Sample>, MetricError> {
        let source = self
            .prometheus
            .as_ref()
            .ok_or_else(|| MetricError::Config {
                field: "prometheus".into(),
                message: "no [prometheus] table".into(),
            })?;
        source.query(
            &PromQuery {
                feature: feature.to_owned(),
                expr: expr.to_owned(),
            },
            now_ms,
        )
    }

    /// With `sample_times` on: each series' last sample time, from `timestamp(expr)`, with its
    /// labels (`timestamp()` drops only the metric name). `None` when off.
    fn sample_times(
        &self,
        feature: &str,
        expr: &str,
        now_ms: u64,
    ) -> Result<Option<Vec<SampleTime>>, MetricError> {
        if !self.sample_times {
            return Ok(None);
        }
        let samples = self.promql(feature, &format!("timestamp({expr})"), now_ms)?;
        Ok(Some(
            samples
                .into_iter()
                // seconds since the epoch, as a float
                .map(|s| (s.labels, (s.value.max(0.0) * 1000.0).round() as u64))
                .collect(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn promql_replica(
        &self,
        out: &mut Readings,
        service: &str,
        metric: &str,
        expr: &str,
        scale: f64,
        ports: &[ReplicaId],
        now_ms: u64,
    ) -> Result<u64, String> {
        let samples = self
            .promql(metric, expr, now_ms)
            .map_err(|e| e.to_string())?;
        let times = self
            .sample_times(metric, expr, now_ms)
            .map_err(|e| e.to_string())?;
        let mut oldest: Option<u64> = None;
        for s in samples {
            let Some(replica) = ports.iter().position(|id| id.matches(&s.labels)) else {
                continue;
            };
            let time = match &times {
                None => s.timestamp_ms,
                Some(times) => times
                    .iter()
                    .find(|(labels, _)| ports[replica].matches(labels))
                    .map(|(_, t)| *t)
                    .ok_or_else(|| {
                        format!("`timestamp({expr})` has no series for replica {replica}")
                    })?,
            };
            out.replica.insert(
                (service.to_owned(), replica, metric.to_owned()),
                s.value * scale,
            );
            oldest = Some(oldest.map_or(time, |o| o.min(time)));
        }
        oldest.ok_or_else(|| format!("query `{expr}` matched none of the replicas {ports:?}"))
    }

    fn scrape(&self, port: u16, now_ms: u64) -> Option<Vec<Sample>> {
        let url = format!("http://127.0.0.1:{port}/metrics");
        ScrapeSource::new(&url, self.scrape_timeout)
            .ok()?
            .fetch(now_ms)
            .ok()
    }
}

/// Fills one replica metric from direct scrapes; `up` is whether the scrape answered.
fn scrape_replica(
    out: &mut Readings,
    service: &str,
    metric: &str,
    name: &str,
    scale: f64,
    scraped: &[Option<Vec<Sample>>],
    now_ms: u64,
) -> Result<u64, String> {
    let mut any = false;
    for (r, samples) in scraped.iter().enumerate() {
        let value = match (name, samples) {
            ("up", s) => Some(if s.is_some() { 1.0 } else { 0.0 }),
            (_, Some(s)) => s
                .iter()
                .filter(|x| x.name == name && x.value.is_finite())
                .map(|x| x.value)
                .reduce(|a, b| a + b),
            (_, None) => None,
        };
        if let Some(v) = value {
            out.replica
                .insert((service.to_owned(), r, metric.to_owned()), v * scale);
            any = true;
        }
    }
    if any {
        Ok(now_ms)
    } else {
        Err(format!("no replica exported `{name}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mend_monitor::features::FeatureExtractor;

    #[test]
    fn snapshot_has_one_service_row_and_its_replicas() {
        let mut r = Readings::default();
        r.replicas.insert("web".into(), 3);
        for (i, up) in [1.0, 0.0, 1.0].into_iter().enumerate() {
            r.replica.insert(("web".into(), i, "up".into()), up);
        }
        r.replica
            .insert(("web".into(), 0, "memory_utilization".into()), 0.95);
        let snapshot = r.to_snapshot(5_000);
        assert_eq!(
            snapshot.get(EntityKind::Service, "web", "replicas_in_rotation"),
            Some(2.0)
        );
        let f = FeatureExtractor::builtin().extract(&snapshot);
        assert_eq!(f.entities.len(), 1, "one service, no nodes");
        let schema = FeatureExtractor::builtin().schema().clone();
        let col = |n: &str| f.row(0)[schema.column_index(n).unwrap()];
        assert!((col("svc_replicas_up_ratio") - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(col("svc_replica_memory_max"), 0.95);
        assert_eq!(col("svc_replica_count"), 3f64.ln_1p() as f32);
        assert_eq!(
            col("svc_action_age"),
            ActionValues::NEVER.age_s.ln_1p() as f32,
            "no action log: never acted"
        );
        assert_eq!(col("svc_actions_recent"), 0.0);
        assert!(
            !f.missing.iter().any(|m| m.contains("mend_action")),
            "{:?}",
            f.missing
        );
    }
}
