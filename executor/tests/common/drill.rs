//! The cluster file of the fault drills: three `mend-demo-service` replicas of service `web`
//! (namespace `e2e`) watched through a loopback Prometheus, with the guards the drills run under,
//! and a steady request load on the replicas ([`watch`]: `mend_executor::demo::load`, 30 requests/s
//! round-robin, 500 ms client timeout) whose client-side counts give the service row its
//! `request_rate`, `error_ratio` and `latency_p99_seconds` (PromQL over the `load` job), so live
//! rows look like the simulator's: a killed or hung replica shows as a third of requests failing.
//! Shared by the end-to-end tests with policies and the per-fault figures example.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::path::Path;
use std::time::Duration;

use mend_executor::demo::load::{LoadGenerator, LoadSettings};
use mend_executor::fault_drill::Drill;
use mend_executor::local_prometheus::{LocalPrometheus, PrometheusError};

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

/// What watches a drill: the load generator on the replicas and Prometheus scraping both the
/// replicas (job `mend`) and the load generator (job [`LOAD_JOB`]). Dropping it stops the load
/// first, then Prometheus.
#[derive(Debug)]
pub struct Watch {
    /// The request load.
    pub load: LoadGenerator,
    /// The loopback Prometheus.
    pub prometheus: LocalPrometheus,
}

/// Starts the load on `ports` (the replicas) and Prometheus on `prom_port` (1 s scrapes) with its
/// files in `dir`.
pub fn watch(dir: &Path, prom_port: u16, ports: &[u16]) -> Result<Watch, PrometheusError> {
    let load = LoadGenerator::start(ports, &LoadSettings::default()).map_err(|e| {
        PrometheusError::Start {
            binary: "load generator".into(),
            message: e.to_string(),
        }
    })?;
    let prometheus = LocalPrometheus::start_jobs(
        dir,
        prom_port,
        &[("mend", ports), (LOAD_JOB, &[load.metrics_port()])],
        Duration::from_secs(1),
        Duration::from_secs(30),
    )?;
    Ok(Watch { load, prometheus })
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
