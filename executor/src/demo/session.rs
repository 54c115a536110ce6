//! One `mend demo` session: the demo replicas (service `web`, run by the executor's local-process
//! actuator, behind a front proxy by default), a steady client load through that proxy
//! ([`super::load`]), a loopback Prometheus scraping the replicas and the load's client-side counts
//! (when installed; else the executor scrapes the replicas directly), and the executor.
//!
//! ```text
//!   load generator --HTTP--> front proxy :F --> web-0, web-1, web-2 (mend-demo-service)
//!        | /metrics                                   | /metrics
//!        +-----------------> Prometheus <-------------+   (targets follow the replicas)
//!                                 | PromQL
//!                              executor --> restart / scale / stop --> the replicas
//! ```
//!
//! [`DemoSession::step`] runs one loop iteration, then makes the load and Prometheus follow the
//! set of instances ([`super::follow`]) and reads the iteration's audit record back
//! ([`super::audit_tail`]). [`DemoSession::finish`] stops the load, the replicas and Prometheus,
//! then verifies the audit log. Dropping a session stops everything too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::audit::{AuditError, VerifyReport, verify};
use crate::cluster::{ClusterFile, ClusterFileError};
use crate::decide::{DecideError, LivePolicy};
use crate::local_prometheus::{LocalPrometheus, PrometheusError, find_on_path};
use crate::pipeline::{Mode, Proposer};
use crate::reference_policy::reference_policy_file;
use crate::run_loop::{ExecuteError, Executor, StepReport, now_ms};

use super::DemoError;
use super::audit_tail::{AuditTail, TailError, TailedDecision};
use super::follow::{FollowError, Follower, TargetChange, TrafficTargets};
use super::load::{LoadGenerator, LoadSettings};

/// The demo's service.
pub const SERVICE: &str = "web";
/// Prometheus job of the replicas.
pub const REPLICA_JOB: &str = "mend-demo";
/// Prometheus job of the load generator's client-side counts.
pub const LOAD_JOB: &str = "load";
/// Memory limit the replicas' `memory_utilization` is computed against (RSS / limit): the fault
/// drills' 64 MiB (executor/tests/common/drill.rs), so their leak (`fault_drill`, 8 MiB/s) crosses
/// the rule's 0.9 after about 7 s here too.
pub const MEMORY_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// Most replicas the demo starts (the local actuator's own limit is higher).
pub const MAX_REPLICAS: usize = 16;
/// Window of the service metrics' `rate()`: five 1 s scrapes.
const RATE_WINDOW: &str = "5s";

/// What proposes the demo's actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoPolicy {
    /// The executor's built-in liveness and memory rule.
    Rule,
    /// The hand-set reference policy file ([`crate::reference_policy`]), written to the demo folder.
    Reference,
    /// A policy file.
    File(PathBuf),
}

/// How to run the demo.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// The `mend-demo-service` binary.
    pub demo_binary: PathBuf,
    /// Folder for the cluster file, Prometheus' files and the audit log.
    pub dir: PathBuf,
    /// Replicas of `web` (1 to [`MAX_REPLICAS`]).
    pub replicas: usize,
    /// What proposes actions.
    pub policy: DemoPolicy,
    /// Shadow, confirm or auto (the demo acts by default).
    pub mode: Mode,
    /// Watch through Prometheus (it must be installed); else direct scrapes of the replicas.
    pub prometheus: bool,
    /// Put a front proxy before the replicas and send the load through it.
    pub front_proxy: bool,
    /// The client load.
    pub load: LoadSettings,
    /// Loop interval (also Prometheus' scrape interval).
    pub interval: Duration,
}

impl DemoConfig {
    /// The defaults of `mend demo`: 3 replicas, the rule, auto mode, Prometheus when installed, a
    /// front proxy, 30 requests/s, a 1 s loop.
    pub fn new(demo_binary: PathBuf, dir: PathBuf) -> Self {
        DemoConfig {
            demo_binary,
            dir,
            replicas: 3,
            policy: DemoPolicy::Rule,
            mode: Mode::Auto,
            prometheus: find_on_path("prometheus").is_some(),
            front_proxy: true,
            load: LoadSettings {
                fresh_connections: true,
                ..LoadSettings::default()
            },
            interval: Duration::from_secs(1),
        }
    }
}

/// Errors of a demo session; each says what failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoRunError {
    /// A setting is out of range.
    #[error("demo: {field}: expected {expected}, found {found}")]
    Config {
        /// The setting.
        field: &'static str,
        /// What is accepted.
        expected: String,
        /// What was given.
        found: String,
    },
    /// A file or folder could not be written.
    #[error("demo: {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The generated cluster file was refused (a bug in the demo).
    #[error(transparent)]
    Cluster(#[from] ClusterFileError),
    /// The policy could not be written or loaded.
    #[error("demo policy: {0}")]
    Policy(String),
    /// The executor failed.
    #[error(transparent)]
    Execute(#[from] ExecuteError),
    /// Prometheus failed.
    #[error(transparent)]
    Prometheus(#[from] PrometheusError),
    /// The load generator could not start.
    #[error("demo load: {0}")]
    Load(#[from] DemoError),
    /// The load or Prometheus could not follow the instances.
    #[error(transparent)]
    Follow(#[from] FollowError),
    /// The audit log could not be read back.
    #[error(transparent)]
    Tail(#[from] TailError),
    /// The audit log does not verify.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// A fault could not be injected or cleaned up.
    #[error("demo fault: {0}")]
    Fault(String),
}

/// One loop iteration as the demo saw it.
#[derive(Debug, Clone)]
pub struct Tick {
    /// The executor's report.
    pub report: StepReport,
    /// The decision records appended since the last tick (normally the iteration's one).
    pub decisions: Vec<TailedDecision>,
    /// How the load and Prometheus targets changed after the iteration, if they did.
    pub change: Option<TargetChange>,
}

/// What [`DemoSession::finish`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The audit log.
    pub audit_path: PathBuf,
    /// Its verification.
    pub audit: VerifyReport,
    /// Requests the load sent, and how many failed.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
}

/// A running demo (see the module doc).
#[derive(Debug)]
pub struct DemoSession {
    // Field order is drop order: load first, then the replicas, then Prometheus.
    load: LoadGenerator,
    executor: Executor,
    prometheus: Option<LocalPrometheus>,
    follower: Follower,
    tail: AuditTail,
    audit_path: PathBuf,
    cluster_path: PathBuf,
    config: DemoConfig,
}

/// The cluster file of the demo: `replicas` of `web` running `demo`, read through Prometheus on
/// `prometheus` (PromQL, with the load's service metrics) or by direct scrapes.
pub fn cluster_text(config: &DemoConfig, prometheus: Option<u16>) -> String {
    let scale = 1.0 / MEMORY_LIMIT_BYTES as f64;
    let (source, metrics) = match prometheus {
        Some(port) => (
            format!("[prometheus]\nurl = \"http://127.0.0.1:{port}\"\ntimeout_ms = 800\n"),
            format!(
                "[services.replica_metrics]\n\
                 up = {{ promql = 'up{{job=\"{r}\"}}' }}\n\
                 memory_utilization = {{ promql = 'process_resident_memory_bytes{{job=\"{r}\"}}', scale = {scale} }}\n\
                 [services.service_metrics]\n\
                 request_rate = {{ promql = 'sum(rate(mend_demo_requests_total{{job=\"{l}\"}}[{w}]))' }}\n\
                 error_ratio = {{ promql = 'sum(rate(mend_demo_errors_total{{job=\"{l}\"}}[{w}])) / clamp_min(sum(rate(mend_demo_requests_total{{job=\"{l}\"}}[{w}])), 1e-9)' }}\n\
                 latency_p99_seconds = {{ promql = 'histogram_quantile(0.99, sum by (le) (rate(mend_demo_request_duration_seconds_bucket{{job=\"{l}\"}}[{w}])))' }}\n",
                r = REPLICA_JOB,
                l = LOAD_JOB,
                w = RATE_WINDOW,
            ),
        ),
        None => (
            String::new(),
            format!(
                "[services.replica_metrics]\nup = {{ scrape = 'up' }}\n\
                 memory_utilization = {{ scrape = 'process_resident_memory_bytes', scale = {scale} }}\n"
            ),
        ),
    };
    let front = if config.front_proxy {
        "front_port = 0\n"
    } else {
        ""
    };
    format!(
        "# written by `mend demo`\nnamespace = \"demo\"\ninterval_ms = {interval}\n\
         verify_timeout_ms = 10000\n{source}\n\
         [[services]]\nname = \"{SERVICE}\"\n[services.process]\ncommand = \"{demo}\"\n\
         args = [\"--port\", \"{{port}}\", \"--name\", \"{{service}}-{{replica}}\"]\n\
         replicas = {replicas}\nstop_grace_ms = 1000\n{front}{metrics}\n\
         [guards]\nallowlist = [\"demo/{SERVICE}\"]\ndefault_cooldown_ms = 3000\nmax_actions = 30\n\
         window_ms = 600000\nsettle_ms = 1000\nmax_metric_age_ms = 10000\n",
        interval = config.interval.as_millis(),
        demo = config.demo_binary.display(),
        replicas = config.replicas,
    )
}

fn free_port() -> Result<u16, DemoRunError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| DemoRunError::Io {
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })
}

impl DemoSession {
    /// Writes the cluster file, starts the replicas (through the executor), the load and
    /// Prometheus, and opens the audit log (`<dir>/audit.jsonl`).
    pub fn start(config: &DemoConfig) -> Result<Self, DemoRunError> {
        if !(1..=MAX_REPLICAS).contains(&config.replicas) {
            return Err(DemoRunError::Config {
                field: "replicas",
                expected: format!("1 to {MAX_REPLICAS}"),
                found: config.replicas.to_string(),
            });
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| DemoRunError::Io { path, source }
        };
        std::fs::create_dir_all(&config.dir).map_err(io(&config.dir))?;
        let prom_port = if config.prometheus {
            Some(free_port()?)
        } else {
            None
        };
        let cluster_path = config.dir.join("cluster.toml");
        std::fs::write(&cluster_path, cluster_text(config, prom_port))
            .map_err(io(&cluster_path))?;
        let cluster = ClusterFile::load(&cluster_path)?;
        let policy = match &config.policy {
            DemoPolicy::Rule => None,
            DemoPolicy::Reference => {
                let path = config.dir.join("reference-policy.safetensors");
                reference_policy_file(&cluster.service_names())
                    .save(&path)
                    .map_err(|e| DemoRunError::Policy(e.to_string()))?;
                Some(load_policy(&path, &cluster)?)
            }
            DemoPolicy::File(path) => Some(load_policy(path, &cluster)?),
        };
        let audit_path = config.dir.join("audit.jsonl");
        let mut executor = Executor::start(
            cluster,
            config.mode,
            Proposer::from(policy),
            &audit_path,
            None,
        )?;
        let targets = TrafficTargets::of(&mut executor, SERVICE)?;
        let load = LoadGenerator::start(&targets.load, &config.load)?;
        let prometheus = match prom_port {
            Some(port) => Some(LocalPrometheus::start_discovered(
                &config.dir,
                port,
                &[
                    (REPLICA_JOB, &targets.scrape),
                    (LOAD_JOB, &[load.metrics_port()]),
                ],
                config.interval,
                Duration::from_secs(30),
            )?),
            None => None,
        };
        let tail = AuditTail::from_end(&audit_path)?;
        Ok(DemoSession {
            load,
            executor,
            prometheus,
            follower: Follower::new(SERVICE, REPLICA_JOB, targets),
            tail,
            audit_path,
            cluster_path,
            config: config.clone(),
        })
    }

    /// The executor.
    pub fn executor(&mut self) -> &mut Executor {
        &mut self.executor
    }

    /// The load generator.
    pub fn load(&self) -> &LoadGenerator {
        &self.load
    }

    /// Prometheus' base URL, when the demo runs one.
    pub fn prometheus_url(&self) -> Option<&str> {
        self.prometheus.as_ref().map(LocalPrometheus::url)
    }

    /// The targets the load and Prometheus use now.
    pub fn targets(&self) -> &TrafficTargets {
        self.follower.current()
    }

    /// The audit log.
    pub fn audit_path(&self) -> &Path {
        &self.audit_path
    }

    /// The generated cluster file.
    pub fn cluster_path(&self) -> &Path {
        &self.cluster_path
    }

    /// The session's settings.
    pub fn config(&self) -> &DemoConfig {
        &self.config
    }

    /// Makes the load and Prometheus follow the instances now (also done by every
    /// [`DemoSession::step`]; call it after changing the instances outside the loop).
    pub fn follow(&mut self) -> Result<Option<TargetChange>, DemoRunError> {
        Ok(self
            .follower
            .follow(&mut self.executor, &self.load, self.prometheus.as_ref())?)
    }

    /// One loop iteration, then the targets follow the instances and the new audit records are
    /// read back.
    pub fn step(&mut self) -> Result<Tick, DemoRunError> {
        let report = self.executor().step(now_ms())?;
        let change = self.follow()?;
        let decisions = self.tail.read_new()?;
        Ok(Tick {
            report,
            decisions,
            change,
        })
    }

    /// Stops the load, the replicas and Prometheus, closes the audit log and verifies it.
    pub fn finish(self) -> Result<Finished, DemoRunError> {
        let DemoSession {
            mut load,
            executor,
            prometheus,
            audit_path,
            ..
        } = self;
        load.stop();
        let (requests, errors) = load.counts();
        let stopped = executor.shutdown();
        drop(prometheus);
        stopped?;
        let audit = verify(&audit_path)?;
        Ok(Finished {
            audit_path,
            audit,
            requests,
            errors,
        })
    }
}

fn load_policy(path: &Path, cluster: &ClusterFile) -> Result<LivePolicy, DemoRunError> {
    LivePolicy::load(path, cluster).map_err(|e: DecideError| DemoRunError::Policy(e.to_string()))
}
