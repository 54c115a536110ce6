//! The cluster file of the fault drills: three `mend-demo-service` replicas of service `web`
//! (namespace `e2e`) watched through a loopback Prometheus, with the guards the drills run under.
//! Shared by the end-to-end test with a trained policy and the per-fault figures example.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::path::Path;
use std::time::Duration;

use mend_executor::fault_drill::Drill;

/// The memory limit `memory_utilization` is computed against (RSS / limit).
pub const MEMORY_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// Loop interval of the drills.
pub const STEP: Duration = Duration::from_millis(500);

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
    )
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
