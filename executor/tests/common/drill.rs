//! The cluster file of the fault drills: three `mend-demo-service` replicas of service `web`
//! (namespace `e2e`) watched through a loopback Prometheus, with the guards the drills run under,
//! and a steady request load on the replicas ([`watch`]: `mend_executor::demo::load`, 30 requests/s
//! round-robin, 500 ms client timeout) whose client-side counts give the service row its
//! `request_rate`, `error_ratio` and `latency_p99_seconds` (PromQL over the `load` job), so live
//! rows look like the simulator's. The load goes through a health-checking [`Balancer`], as the
//! simulator's traffic goes through its load balancer: a killed or hung replica fails its third of
//! the requests only until two checks (1 s apart) take it out of the rotation.
//! Shared by the end-to-end tests with policies and the per-fault figures example.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mend_executor::cluster::ClusterFile;
use mend_executor::demo::load::{LoadGenerator, LoadSettings};
use mend_executor::fault_drill::{Drill, Fault, FaultTimes};
use mend_executor::local_prometheus::{LocalPrometheus, PrometheusError};
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::run_loop::Executor;

/// The memory limit `memory_utilization` is computed against (RSS / limit).
pub const MEMORY_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// Loop interval of the drills.
pub const STEP: Duration = Duration::from_millis(500);
/// Prometheus job of the load generator's client-side counts.
pub const LOAD_JOB: &str = "load";
/// Window of the service metrics' `rate()`: five of the drills' 1 s scrapes.
pub const RATE_WINDOW: &str = "5s";

/// The drill on `web` (3 replicas, memory threshold 0.9 as the fallback rule's, `heal_bound`).
pub fn drill(heal_bound: Duration) -> Drill {
    Drill {
        service: "web".into(),
        replicas: 3,
        memory_threshold: 0.9,
        step: STEP,
        heal_bound,
    }
}

/// The cluster file: Prometheus on `prom_port` (PromQL per metric), `demo` as the command, the
/// confidence gate at `confidence_threshold`, and `extra` TOML appended (e.g. a `[reactive]` table).
pub fn cluster_text(demo: &Path, prom_port: u16, confidence_threshold: f64, extra: &str) -> String {
    format!(
        r#"namespace = "e2e"
interval_ms = {step}
verify_timeout_ms = 10000
[prometheus]
url = "http://127.0.0.1:{prom_port}"
timeout_ms = 800
retries = 0
[[services]]
name = "web"
[services.process]
command = "{demo}"
args = ["--port", "{{port}}", "--name", "{{service}}-{{replica}}"]
replicas = 3
stop_grace_ms = 1000
[services.replica_metrics]
up = {{ promql = 'up{{job="mend"}}' }}
memory_utilization = {{ promql = 'process_resident_memory_bytes{{job="mend"}}', scale = {scale} }}
[services.service_metrics]
request_rate = {{ promql = 'sum(rate(mend_demo_requests_total{{job="{load}"}}[{w}]))' }}
error_ratio = {{ promql = 'sum(rate(mend_demo_errors_total{{job="{load}"}}[{w}])) / clamp_min(sum(rate(mend_demo_requests_total{{job="{load}"}}[{w}])), 1e-9)' }}
latency_p99_seconds = {{ promql = 'histogram_quantile(0.99, sum by (le) (rate(mend_demo_request_duration_seconds_bucket{{job="{load}"}}[{w}])))' }}
[guards]
allowlist = ["e2e/web"]
default_cooldown_ms = 3000
max_actions = 100
window_ms = 60000
max_replica_share = 0.5
settle_ms = 1000
max_metric_age_ms = 10000
confidence_threshold = {confidence_threshold}
{extra}"#,
        step = STEP.as_millis(),
        demo = demo.display(),
        scale = 1.0 / MEMORY_LIMIT_BYTES as f64,
        load = LOAD_JOB,
        w = RATE_WINDOW,
    )
}

/// What watches a drill: the load generator on the replicas behind a health-checking
/// [`Balancer`], and Prometheus scraping both the replicas (job `mend`) and the load generator
/// (job [`LOAD_JOB`]). Dropping it stops the balancer, then the load, then Prometheus.
#[derive(Debug)]
pub struct Watch {
    /// The health checks that choose the load's targets (`None`: every replica, always).
    pub balancer: Option<Balancer>,
    /// The request load.
    pub load: Arc<LoadGenerator>,
    /// The loopback Prometheus.
    pub prometheus: LocalPrometheus,
}

/// Starts the load on `ports` (the replicas) behind a [`Balancer`] with the drill's
/// [`HealthChecks`], and Prometheus on `prom_port` (1 s scrapes) with its files in `dir`.
pub fn watch(dir: &Path, prom_port: u16, ports: &[u16]) -> Result<Watch, PrometheusError> {
    watch_with(dir, prom_port, ports, Some(HealthChecks::default()))
}

/// [`watch`] with other health checks, or none (`None`: the load keeps sending a third of its
/// requests to a dead or hung replica, as no real load balancer would; session 4's drill).
pub fn watch_with(
    dir: &Path,
    prom_port: u16,
    ports: &[u16],
    checks: Option<HealthChecks>,
) -> Result<Watch, PrometheusError> {
    let load = LoadGenerator::start(ports, &LoadSettings::default()).map_err(|e| {
        PrometheusError::Start {
            binary: "load generator".into(),
            message: e.to_string(),
        }
    })?;
    let load = Arc::new(load);
    let balancer = checks.map(|c| Balancer::start(load.clone(), ports, c));
    let prometheus = LocalPrometheus::start_jobs(
        dir,
        prom_port,
        &[("mend", ports), (LOAD_JOB, &[load.metrics_port()])],
        Duration::from_secs(1),
        Duration::from_secs(30),
    )?;
    Ok(Watch {
        balancer,
        load,
        prometheus,
    })
}

/// Active health checks of a load balancer, as the simulator models them (scenario
/// `[load_balancer]`, `sim/src/behaviour.rs` step 2: a replica leaves the rotation after
/// `failure_threshold` consecutive failed checks and returns after one that passes) and as real
/// balancers do (HAProxy `check inter 2s fall 3 rise 2`; Kubernetes readiness probes
/// `periodSeconds`, `failureThreshold`, `timeoutSeconds`).
#[derive(Debug, Clone, Copy)]
pub struct HealthChecks {
    /// Time between checks of each replica.
    pub interval: Duration,
    /// A check that has no answer within this fails (a hung replica accepts and never answers).
    pub timeout: Duration,
    /// Consecutive failed checks that take a replica out of the rotation.
    pub failure_threshold: u32,
}

impl Default for HealthChecks {
    /// `default`'s 10 s interval and threshold 2, scaled to the drill's 1 s scrapes: a check every
    /// second, 2 failures, 500 ms timeout (the load's client timeout).
    fn default() -> Self {
        HealthChecks {
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            failure_threshold: 2,
        }
    }
}

/// A thread that checks each replica's `/healthz` and gives the load generator the replicas in
/// rotation; when none passes, it keeps sending to all (fail open, as Envoy's panic threshold and
/// cloud load balancers with every target unhealthy do). Stopped and joined on drop.
#[derive(Debug)]
pub struct Balancer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Balancer {
    /// Starts checking `ports` with `checks`, steering `load`.
    pub fn start(load: Arc<LoadGenerator>, ports: &[u16], checks: HealthChecks) -> Balancer {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, ports) = (stop.clone(), ports.to_vec());
        let thread = std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(checks.timeout))
                .build()
                .into();
            let mut failed = vec![0u32; ports.len()];
            let mut rotation = ports.clone();
            while !flag.load(Ordering::SeqCst) {
                let tick = std::time::Instant::now();
                for (i, port) in ports.iter().enumerate() {
                    let url = format!("http://127.0.0.1:{port}/healthz");
                    let ok = agent.get(&url).call().is_ok();
                    failed[i] = if ok { 0 } else { failed[i].saturating_add(1) };
                }
                let mut healthy: Vec<u16> = ports
                    .iter()
                    .zip(&failed)
                    .filter(|(_, f)| **f < checks.failure_threshold)
                    .map(|(p, _)| *p)
                    .collect();
                if healthy.is_empty() {
                    healthy = ports.clone();
                }
                if healthy != rotation {
                    load.set_targets(&healthy);
                    rotation = healthy;
                }
                std::thread::sleep(checks.interval.saturating_sub(tick.elapsed()));
            }
        });
        Balancer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A drill under way in a test: the executor and what watches it. Stop it with
/// [`Running::shutdown`]; dropped on a failed assertion, every process stops too (the executor's
/// replicas, then the load and Prometheus).
#[derive(Debug)]
pub struct Running {
    /// The executor (auto or shadow mode) on the drill's cluster.
    pub exec: Executor,
    /// The load and Prometheus.
    pub watch: Watch,
    /// The drill on `web`.
    pub drill: Drill,
}

impl Running {
    /// Stops the executor (flushing its audit log), then the load and Prometheus.
    pub fn shutdown(self) {
        let Running { exec, watch, .. } = self;
        exec.shutdown().expect("the executor stops cleanly");
        drop(watch);
    }
}

/// The test drills' shared setup: parses the cluster file (`demo` as the replicas' binary,
/// Prometheus on a free port, the gate at `confidence_threshold`) in `dir`, starts the executor in
/// `mode` with the proposer `make_proposer` builds from the cluster, auditing to
/// [`audit_path`]`(dir)`, starts the load and Prometheus (a missing Prometheus fails the test:
/// `.ci/prometheus.sh`), and waits until every replica of `web` is healthy.
pub fn start(
    dir: &Path,
    demo: &Path,
    confidence_threshold: f64,
    mode: Mode,
    make_proposer: impl FnOnce(&ClusterFile) -> Proposer,
    heal_bound: Duration,
) -> Running {
    let prom_port = free_port();
    let text = cluster_text(demo, prom_port, confidence_threshold, "");
    let cluster = ClusterFile::parse(&dir.join("cluster.toml"), &text, dir)
        .expect("the drill's cluster file");
    let proposer = make_proposer(&cluster);
    let mut exec = Executor::start(cluster, mode, proposer, &audit_path(dir), None)
        .expect("the executor starts its replicas");
    let ports = exec.ports()["web"].clone();
    let watch = watch(dir, prom_port, &ports)
        .unwrap_or_else(|e| panic!("the end-to-end test needs Prometheus: {e}"));
    let drill = drill(heal_bound);
    drill
        .wait_until_healthy(&mut exec, Duration::from_secs(60))
        .expect("the replicas come up healthy");
    Running { exec, watch, drill }
}

/// Where [`start`] writes the audit log.
pub fn audit_path(dir: &Path) -> std::path::PathBuf {
    dir.join("audit.jsonl")
}

/// Prints one fault's times (`who` names the decision source under test).
pub fn print_times(who: &str, t: &FaultTimes) {
    eprintln!(
        "{who}: {} on web-{}: detect {} ms, decide {} ms, heal {} ms, {}",
        t.fault.name(),
        t.replica,
        t.detect.as_millis(),
        t.decide.as_millis(),
        t.heal.as_millis(),
        if t.by_proposer {
            "the proposer's own action"
        } else {
            "the gate's fallback"
        }
    );
}

/// The checks every healed fault passes: detect <= decide <= heal <= `bound`, one restart.
pub fn assert_healed(fault: Fault, t: &FaultTimes, bound: Duration) {
    assert!(
        t.detect <= t.decide && t.decide <= t.heal,
        "{fault:?}: {t:?}"
    );
    assert!(t.heal <= bound, "{fault:?}: {t:?}");
    assert_eq!(t.restarts, 1, "{fault:?}: restarted exactly once");
}

/// The audit log's records (after `mend_executor::audit::verify` passed), as JSON.
pub fn audit_records(audit: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(audit)
        .expect("the audit log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit record is JSON"))
        .collect()
}

/// The decision records that acted (outcome other than `not_acted`; the first record, the log's
/// head, is skipped), each checked to stay inside the allowlist (`e2e/web`).
pub fn acted_inside_allowlist(records: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    let acted: Vec<&serde_json::Value> = records[1..]
        .iter()
        .filter(|r| r["record"]["payload"]["outcome"]["status"] != "not_acted")
        .collect();
    for r in &acted {
        let d = &r["record"]["payload"];
        assert_eq!(
            (
                d["action"]["namespace"].as_str(),
                d["action"]["service"].as_str()
            ),
            (Some("e2e"), Some("web")),
            "action outside the allowlist: {r}"
        );
    }
    acted
}
