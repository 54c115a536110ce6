//! The cluster file (TOML): which services the executor watches, how each feature of each service
//! is measured (a PromQL expression, or a metric of a direct scrape), how each service is run (the
//! local-process actuator's spec), the loop interval and the guard settings. Everything is checked
//! at load ([`ClusterFile::load`]); errors name the file, the field and what was expected.
//!
//! ```toml
//! namespace = "demo"
//! interval_ms = 1000
//!
//! [prometheus]                       # needed when any metric uses `promql`
//! url = "http://127.0.0.1:9090"
//!
//! [[services]]
//! name = "web"
//! [services.process]                 # the local-process actuator's spec
//! command = "/path/to/mend-demo-service"
//! args = ["--port", "{port}", "--name", "{service}-{replica}"]
//! replicas = 3
//! [services.replica_metrics]         # monitor's replica metric names (schema v1)
//! up = { promql = 'up{job="mend"}' }
//! memory_utilization = { promql = 'process_resident_memory_bytes{job="mend"} / 104857600' }
//!
//! [guards]                           # crate::guards::GuardConfig; shadow is set by the mode
//! allowlist = ["demo/web"]
//! ```
//!
//! The actuator is chosen by the `[actuator]` table (default `kind = "local"`, which needs a
//! `[services.process]` table per service). With `kind = "kubernetes"` each service instead needs
//! a `[services.kubernetes]` table (Deployment, Service, pod labels; see
//! [`crate::actuator::KubeServiceSettings`]), metrics must come from PromQL, and series are matched
//! to replicas by their `pod` label (replica `i` is the `i`-th pod name in order):
//!
//! ```toml
//! namespace = "shop"
//! [actuator]
//! kind = "kubernetes"
//! kubeconfig = "/etc/mend/kubeconfig"  # optional; default: in-cluster, $KUBECONFIG, ~/.kube/config
//! [[services]]
//! name = "web"
//! kubernetes = { deployment = "web", service = "web", selector = { app = "web" } }
//! ```
//!
//! Metric names are the ones `mend_monitor::features` reads (schema v1), so a policy sees the same
//! features live as in simulation: replica metrics `up`, `cpu_utilization`, `memory_utilization`,
//! `error_ratio`; service metrics `request_rate`, `error_ratio`, `latency_p99_seconds`,
//! `replicas_in_rotation`, `replication_lag_seconds`. Every service needs the replica metric `up`.
//! PromQL series are matched to replicas by their `instance` label's port.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mend_monitor::features::{FeatureSchema, Source};
use mend_monitor::telemetry::EntityKind;
use serde::Deserialize;

use crate::actuator::kubernetes::is_dns1123_subdomain;
use crate::actuator::{KubeServiceSettings, KubeSettings, ServiceSpec};
use crate::guards::{GuardConfig, Guards};

/// An error in a cluster file: the file, the field and what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterFileError {
    /// The file cannot be read.
    #[error("cluster file {path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not fit the schema (unknown field, wrong type); the message
    /// carries the line and column.
    #[error("cluster file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message (with line and column).
        message: String,
    },
    /// A field holds a value the executor cannot use.
    #[error("cluster file {path}: field `{field}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Field path, e.g. `services[0].replica_metrics.up`.
        field: String,
        /// What was expected.
        message: String,
    },
}

/// Where the Prometheus HTTP API is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSettings {
    /// Base URL (plain `http://`).
    pub url: String,
    /// Timeout of one query, milliseconds (default 1000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries after a failed query (default 1).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Wait before the first retry, doubling after, milliseconds (default 100).
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Also read each metric as `timestamp(EXPR)`, so that a series no longer scraped is seen
    /// stale by its last sample time, not fresh by the query's evaluation time (default true;
    /// see [`crate::observe`]).
    #[serde(default = "default_true")]
    pub sample_times: bool,
}

fn default_true() -> bool {
    true
}

fn default_timeout_ms() -> u64 {
    1000
}
fn default_retries() -> u32 {
    1
}
fn default_backoff_ms() -> u64 {
    100
}
fn default_interval_ms() -> u64 {
    5000
}
fn default_verify_timeout_ms() -> u64 {
    15_000
}
fn default_scale() -> f64 {
    1.0
}
fn default_stop_grace_ms() -> u64 {
    2000
}
fn default_health_path() -> String {
    "/healthz".into()
}

/// How one feature is measured: exactly one of `promql` and `scrape`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricQuery {
    /// A PromQL instant query; one series per replica (matched by `instance` port) for replica
    /// metrics, one series for service metrics.
    pub promql: Option<String>,
    /// A metric name in each replica's own `/metrics` (direct scrape). `up` is special: 1 when the
    /// scrape answered, 0 when it did not, as Prometheus defines `up`.
    pub scrape: Option<String>,
    /// Factor applied to the value (e.g. `1/limit` to turn bytes into a utilisation).
    #[serde(default = "default_scale")]
    pub scale: f64,
}

/// How a service's replicas are run as local processes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSettings {
    /// Program; a relative path with a `/` is taken relative to the cluster file's folder.
    pub command: PathBuf,
    /// Arguments; `{port}`, `{replica}`, `{service}` are replaced.
    #[serde(default)]
    pub args: Vec<String>,
    /// Port of replica 0 (replica i: `base_port + i`); 0 picks free ports.
    #[serde(default)]
    pub base_port: u16,
    /// Replicas at start.
    pub replicas: usize,
    /// SIGTERM-to-SIGKILL grace, milliseconds (default 2000).
    #[serde(default = "default_stop_grace_ms")]
    pub stop_grace_ms: u64,
    /// Health path (default `/healthz`).
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// Port of a front proxy over the replicas, which `failover_to` switches (0: a free port;
    /// absent: no proxy).
    pub front_port: Option<u16>,
}

/// Which actuator carries actions out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActuatorKind {
    /// Local processes, started and owned by the executor (demos, end-to-end tests).
    #[default]
    Local,
    /// A Kubernetes cluster through its API server (kube-rs).
    Kubernetes,
}

fn default_request_timeout_ms() -> u64 {
    10_000
}
fn default_drain_timeout_ms() -> u64 {
    120_000
}

/// The `[actuator]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActuatorSection {
    /// `local` (default) or `kubernetes`.
    #[serde(default)]
    pub kind: ActuatorKind,
    /// Kubernetes only: kubeconfig file (relative to the cluster file's folder); default: in-cluster
    /// service account, then `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes only: timeout of one API request, milliseconds (default 10000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Kubernetes only: how long a drain retries evictions a PodDisruptionBudget refuses,
    /// milliseconds (default 120000).
    #[serde(default = "default_drain_timeout_ms")]
    pub drain_timeout_ms: u64,
}

impl Default for ActuatorSection {
    fn default() -> Self {
        ActuatorSection {
            kind: ActuatorKind::Local,
            kubeconfig: None,
            request_timeout_ms: default_request_timeout_ms(),
            drain_timeout_ms: default_drain_timeout_ms(),
        }
    }
}

/// One service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// Name (also the monitor's service entity name).
    pub name: String,
    /// How it is run as local processes (required by the local actuator).
    pub process: Option<ProcessSettings>,
    /// Its Kubernetes objects (required by the Kubernetes actuator).
    pub kubernetes: Option<KubeServiceSettings>,
    /// Replica metric name -> how to measure it.
    #[serde(default)]
    pub replica_metrics: BTreeMap<String, MetricQuery>,
    /// Service metric name -> how to measure it (PromQL only).
    #[serde(default)]
    pub service_metrics: BTreeMap<String, MetricQuery>,
    /// Service to send traffic to on `failover` (must be another service of this file).
    pub failover_to: Option<String>,
}

/// Settings of the executor's built-in fallback rule (see [`crate::fallback`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FallbackSettings {
    /// Consecutive observations with `up` < 0.5 before a replica is restarted (default 2).
    pub down_for: u32,
    /// `memory_utilization` above which a replica is restarted (default 0.9).
    pub memory_threshold: f64,
}

impl Default for FallbackSettings {
    fn default() -> Self {
        FallbackSettings {
            down_for: 2,
            memory_threshold: 0.9,
        }
    }
}

/// A whole cluster file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// Namespace of every action (allowlist entries are `namespace/service`).
    pub namespace: String,
    /// Loop interval, milliseconds (default 5000; at least 100).
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// How long an action's verification may take, milliseconds (default 15000).
    #[serde(default = "default_verify_timeout_ms")]
    pub verify_timeout_ms: u64,
    /// The Prometheus HTTP API, needed when any metric uses `promql`.
    pub prometheus: Option<PrometheusSettings>,
    /// Which actuator carries actions out, and its settings.
    #[serde(default)]
    pub actuator: ActuatorSection,
    /// The services, at least one.
    pub services: Vec<ServiceEntry>,
    /// Guard settings (`shadow` is overridden by the execution mode).
    #[serde(default)]
    pub guards: GuardConfig,
    /// The built-in fallback rule's settings.
    #[serde(default)]
    pub fallback: FallbackSettings,
    /// Settings of the agents crate's reactive controller for `--baseline reactive` (its
    /// `decision_interval_s` is replaced by the loop interval).
    pub reactive: Option<mend_agents::baselines::ReactiveConfig>,
    /// Runbook file for `--baseline runbook` (relative to this file's folder).
    pub runbook: Option<PathBuf>,
    /// Folder of the file (relative commands are resolved against it); not in the TOML.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// The replica and service metric names schema v1 reads (from `FeatureSchema::builtin()`).
pub fn known_metrics() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut replica = BTreeSet::new();
    let mut service = BTreeSet::new();
    for c in FeatureSchema::builtin().columns {
        match c.source {
            Source::Replicas { metric, .. } => {
                replica.insert(metric);
            }
            Source::Metric {
                kind: EntityKind::Service,
                metric,
            } => {
                service.insert(metric);
            }
            _ => {}
        }
    }
    (replica, service)
}

impl ClusterFile {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ClusterFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ClusterFileError::Io {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("")).to_owned();
        Self::parse(path, &text, &base)
    }

    /// Parses and validates `text` (named `path` in errors); relative commands resolve against `base_dir`.
    pub fn parse(path: &Path, text: &str, base_dir: &Path) -> Result<Self, ClusterFileError> {
        let mut file: ClusterFile = toml::from_str(text).map_err(|e| ClusterFileError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        file.base_dir = base_dir.to_owned();
        file.validate(path)?;
        Ok(file)
    }

    fn validate(&self, path: &Path) -> Result<(), ClusterFileError> {
        let bad = |field: String, message: String| ClusterFileError::Invalid {
            path: path.to_owned(),
            field,
            message,
        };
        if self.namespace.is_empty() || self.namespace.contains(['/', '*']) {
            return Err(bad(
                "namespace".into(),
                format!(
                    "expected a non-empty name without / or *, found `{}`",
                    self.namespace
                ),
            ));
        }
        if self.interval_ms < 100 {
            return Err(bad(
                "interval_ms".into(),
                format!("expected at least 100, found {}", self.interval_ms),
            ));
        }
        if self.verify_timeout_ms == 0 {
            return Err(bad(
                "verify_timeout_ms".into(),
                "expected a positive number of milliseconds".into(),
            ));
        }
        if self.services.is_empty() {
            return Err(bad(
                "services".into(),
                "expected at least one [[services]] entry".into(),
            ));
        }
        ServiceSpec::validate_all(&self.service_specs())
            .map_err(|e| bad("services".into(), e.to_string()))?;
        let (replica_known, service_known) = known_metrics();
        let names: BTreeSet<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
        let mut uses_promql = false;
        let kube = self.actuator.kind == ActuatorKind::Kubernetes;
        if kube && !is_dns1123_subdomain(&self.namespace) {
            return Err(bad(
                "namespace".into(),
                format!(
                    "expected a Kubernetes namespace name (lower-case letters, digits, - and .), found `{}`",
                    self.namespace
                ),
            ));
        }
        for (field, ms) in [
            (
                "actuator.request_timeout_ms",
                self.actuator.request_timeout_ms,
            ),
            ("actuator.drain_timeout_ms", self.actuator.drain_timeout_ms),
        ] {
            if ms == 0 {
                return Err(bad(
                    field.into(),
                    "expected a positive number of milliseconds".into(),
                ));
            }
        }
        if !kube && self.actuator.kubeconfig.is_some() {
            return Err(bad(
                "actuator.kubeconfig".into(),
                "only used with kind = \"kubernetes\"".into(),
            ));
        }
        for (i, s) in self.services.iter().enumerate() {
            let at = |f: &str| format!("services[{i}].{f}");
            match (kube, &s.process, &s.kubernetes) {
                (false, None, _) => {
                    return Err(bad(
                        at("process"),
                        "expected a [services.process] table (actuator.kind is \"local\")".into(),
                    ));
                }
                (true, _, None) => {
                    return Err(bad(
                        at("kubernetes"),
                        "expected a [services.kubernetes] table (actuator.kind is \"kubernetes\")"
                            .into(),
                    ));
                }
                (true, _, Some(k)) => {
                    let mut names = vec![("kubernetes.deployment", k.deployment.as_str())];
                    if let Some(svc) = &k.service {
                        names.push(("kubernetes.service", svc.as_str()));
                    }
                    for (f, name) in names {
                        if !is_dns1123_subdomain(name) {
                            return Err(bad(
                                at(f),
                                format!(
                                    "expected a Kubernetes object name (lower-case letters, digits, - and .), found `{name}`"
                                ),
                            ));
                        }
                    }
                    if let Some((m, _)) = s.replica_metrics.iter().find(|(_, q)| q.scrape.is_some())
                    {
                        return Err(bad(
                            at(&format!("replica_metrics.{m}")),
                            "expected `promql`: the Kubernetes actuator matches series to pods by their `pod` label".into(),
                        ));
                    }
                }
                _ => {}
            }
            if !s.replica_metrics.contains_key("up") {
                return Err(bad(
                    at("replica_metrics"),
                    "expected an `up` entry (liveness of each replica)".into(),
                ));
            }
            for (table, metrics, known) in [
                ("replica_metrics", &s.replica_metrics, &replica_known),
                ("service_metrics", &s.service_metrics, &service_known),
            ] {
                for (name, q) in metrics {
                    let field = at(&format!("{table}.{name}"));
                    if !known.contains(name) {
                        let list = known.iter().cloned().collect::<Vec<_>>().join(", ");
                        return Err(bad(
                            field,
                            format!("unknown metric: expected one of {list}"),
                        ));
                    }
                    match (&q.promql, &q.scrape) {
                        (Some(p), None) if !p.trim().is_empty() => uses_promql = true,
                        (None, Some(m)) if !m.trim().is_empty() && table == "replica_metrics" => {}
                        (None, Some(_)) if table == "service_metrics" => {
                            return Err(bad(
                                field,
                                "expected `promql` (a service metric has no single endpoint to scrape)"
                                    .into(),
                            ));
                        }
                        _ => {
                            return Err(bad(
                                field,
                                "expected exactly one non-empty `promql` or `scrape`".into(),
                            ));
                        }
                    }
                    if !q.scale.is_finite() {
                        return Err(bad(
                            format!("{field}.scale"),
                            "expected a finite number".into(),
                        ));
                    }
                }
            }
            if let Some(to) = &s.failover_to
                && (to == &s.name || !names.contains(to.as_str()))
            {
                return Err(bad(
                    at("failover_to"),
                    format!("expected another service of this file, found `{to}`"),
                ));
            }
            if kube
                && let Some(to) = &s.failover_to
                && let Some((j, target)) = self.services.iter().enumerate().find(|(_, t)| &t.name == to)
                // (a target without a kubernetes table gets its own error, at its index)
                && target.kubernetes.as_ref().is_some_and(|k| k.selector.is_empty())
            {
                return Err(bad(
                    format!("services[{j}].kubernetes.selector"),
                    format!(
                        "expected the labels of `{to}`'s pods: `{}` fails over to it",
                        s.name
                    ),
                ));
            }
        }
        match &self.prometheus {
            None if uses_promql => {
                return Err(bad(
                    "prometheus".into(),
                    "expected a [prometheus] table with `url`: some metrics use `promql`".into(),
                ));
            }
            Some(p) if !p.url.starts_with("http://") => {
                return Err(bad(
                    "prometheus.url".into(),
                    format!("expected an http:// URL, found `{}`", p.url),
                ));
            }
            Some(p) if p.timeout_ms == 0 => {
                return Err(bad(
                    "prometheus.timeout_ms".into(),
                    "expected a positive number".into(),
                ));
            }
            _ => {}
        }
        Guards::new(&self.guards).map_err(|e| bad(format!("guards.{}", e.field), e.message))?;
        if self.fallback.down_for == 0 {
            return Err(bad(
                "fallback.down_for".into(),
                "expected at least 1".into(),
            ));
        }
        if !(self.fallback.memory_threshold > 0.0 && self.fallback.memory_threshold.is_finite()) {
            return Err(bad(
                "fallback.memory_threshold".into(),
                format!(
                    "expected a positive number, found {}",
                    self.fallback.memory_threshold
                ),
            ));
        }
        Ok(())
    }

    /// The Kubernetes actuator's settings and services (for `kind = "kubernetes"`).
    pub fn kube_settings(&self) -> (KubeSettings, Vec<crate::actuator::KubeService>) {
        let settings = KubeSettings {
            kubeconfig: self
                .actuator
                .kubeconfig
                .as_ref()
                .map(|p| self.base_dir.join(p)),
            request_timeout: std::time::Duration::from_millis(self.actuator.request_timeout_ms),
            drain_timeout: std::time::Duration::from_millis(self.actuator.drain_timeout_ms),
        };
        let services = self
            .services
            .iter()
            .filter_map(|s| {
                Some(crate::actuator::KubeService {
                    name: s.name.clone(),
                    objects: s.kubernetes.clone()?,
                })
            })
            .collect();
        (settings, services)
    }

    /// The local-process actuator's specs, one per service that has a `process` table, commands
    /// resolved.
    pub fn service_specs(&self) -> Vec<ServiceSpec> {
        self.services
            .iter()
            .filter_map(|s| {
                let p = s.process.as_ref()?;
                let command = if p.command.is_relative() && p.command.components().count() > 1 {
                    self.base_dir.join(&p.command)
                } else {
                    p.command.clone()
                };
                Some(ServiceSpec {
                    name: s.name.clone(),
                    command,
                    args: p.args.clone(),
                    base_port: p.base_port,
                    replicas: p.replicas,
                    stop_grace_ms: p.stop_grace_ms,
                    health_path: p.health_path.clone(),
                    front_port: p.front_port,
                })
            })
            .collect()
    }

    /// Service names in the order the monitor lists them (sorted).
    pub fn service_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.services.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names
    }

    /// The runbook file, resolved against the file's folder.
    pub fn runbook_path(&self) -> Option<PathBuf> {
        self.runbook.as_ref().map(|p| self.base_dir.join(p))
    }

    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&ServiceEntry> {
        self.services.iter().find(|s| s.name == name)
    }
}
