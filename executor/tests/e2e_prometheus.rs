//! End to end with real parts: the Debian package's Prometheus (127.0.0.1, a free port, a temporary
//! config and storage folder, scrape interval 1 s) scrapes three `mend-demo-service` replicas that
//! the executor's local-process actuator started. Faults are injected one at a time (kill -9, a
//! SIGSTOP hang, a memory leak); the executor in auto mode heals each, once with the built-in
//! rule, once with a policy file (the hand-set reference policy, saved and loaded through the
//! agents crate) and once with the agents crate's Kubernetes-style reactive controller (liveness
//! faults only: it has no memory rule, as Kubernetes leaves leaks to the OOM killer). Shadow mode and the allowlist are checked on direct scrapes (no Prometheus).
//!
//! Bounds (times as `mend_executor::fault_drill` measures them): the restart of the faulty
//! replica decided within `DETECT_BOUND`, healing (fault -> Prometheus shows every replica up and
//! below the memory threshold again, after a verified restart) within `HEAL_BOUND`: a few 1 s scrape intervals plus
//! the restart. Measured times are printed (`cargo test -p mend-executor --test e2e_prometheus --
//! --nocapture`). Every process started here is stopped on drop, also when an assertion fails.
//!
//! Prometheus missing is a failure, not a skip: run `.ci/prometheus.sh`.

use std::path::Path;
use std::time::Duration;

use mend_executor::audit::verify;
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::{BaselinePolicy, LivePolicy};
use mend_executor::decision::{ActionKind, Outcome};
use mend_executor::fault_drill::{Drill, Fault, FaultTimes};
use mend_executor::local_prometheus::{LocalPrometheus, PrometheusError};
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::reference_policy::reference_policy_file;
use mend_executor::run_loop::{Executor, now_ms};

/// Fault -> restart decided: a few 1 s scrapes and 0.5 s loop steps, plus, for the leak, the time it
/// takes to grow past the 0.9 threshold (about 7 s at `fault_drill::LEAK_MIB_PER_S` = 8 MiB/s from
/// about 3 MiB against the 64 MiB limit).
const DETECT_BOUND: Duration = Duration::from_secs(12);
const HEAL_BOUND: Duration = Duration::from_secs(25);
const STEP: Duration = Duration::from_millis(500);
const MEMORY_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(dir: &Path, port: u16, targets: &[u16]) -> LocalPrometheus {
    match LocalPrometheus::start(
        dir,
        port,
        "mend",
        targets,
        Duration::from_secs(1),
        Duration::from_secs(30),
    ) {
        Ok(p) => p,
        Err(e @ PrometheusError::NotInstalled) => {
            panic!("the end-to-end test needs Prometheus: {e}")
        }
        Err(e) => panic!("{e}"),
    }
}

fn cluster_text(prom_port: u16, allow: &str, promql: bool) -> String {
    let demo = env!("CARGO_BIN_EXE_mend-demo-service");
    let metrics = if promql {
        format!(
            "up = {{ promql = 'up{{job=\"mend\"}}' }}\n\
             memory_utilization = {{ promql = 'process_resident_memory_bytes{{job=\"mend\"}}', scale = {} }}\n",
            1.0 / MEMORY_LIMIT_BYTES as f64
        )
    } else {
        format!(
            "up = {{ scrape = 'up' }}\n\
             memory_utilization = {{ scrape = 'process_resident_memory_bytes', scale = {} }}\n",
            1.0 / MEMORY_LIMIT_BYTES as f64
        )
    };
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
{metrics}
[guards]
allowlist = ["{allow}"]
default_cooldown_ms = 3000
max_actions = 20
window_ms = 60000
max_replica_share = 0.5
settle_ms = 1000
max_metric_age_ms = 10000
confidence_threshold = 0.6
"#,
        step = STEP.as_millis()
    )
}

fn drill() -> Drill {
    Drill {
        service: "web".into(),
        replicas: 3,
        memory_threshold: 0.9,
        step: STEP,
        heal_bound: HEAL_BOUND,
    }
}

fn inject(exec: &mut Executor, fault: Fault, replica: usize) {
    drill().inject(exec, fault, replica).unwrap();
}

/// Steps until every replica looks healthy in the metrics (start-up, or after a heal).
fn wait_until_healthy(exec: &mut Executor, bound: Duration) {
    drill().wait_until_healthy(exec, bound).unwrap();
}

/// Injects `fault` into `replica` and steps until healed (the drill asserts the heal bound);
/// checks the detection bound and that the faulty replica was restarted exactly once.
fn heal_one(exec: &mut Executor, fault: Fault, replica: usize) -> FaultTimes {
    let t = drill().heal_one(exec, fault, replica).unwrap();
    assert_eq!(t.restarts, 1, "{fault:?}: restarted exactly once");
    assert!(
        t.decide <= DETECT_BOUND,
        "{fault:?}: restart decided after {:?}",
        t.decide
    );
    assert!(t.heal <= HEAL_BOUND, "{fault:?}: healed after {:?}", t.heal);
    t
}

/// Every record that acted stays within the allowlist (`e2e/web`), and the log verifies.
fn check_audit(path: &Path) -> usize {
    let report = verify(path).expect("audit log verifies");
    let text = std::fs::read_to_string(path).unwrap();
    let mut acted = 0;
    for line in text.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let d = &v["record"]["payload"];
        let status = d["outcome"]["status"].as_str().unwrap();
        if status != "not_acted" {
            acted += 1;
            assert_eq!(
                (
                    d["action"]["namespace"].as_str(),
                    d["action"]["service"].as_str()
                ),
                (Some("e2e"), Some("web")),
                "action outside the allowlist: {line}"
            );
        }
    }
    assert_eq!(report.records as usize, text.lines().count());
    acted
}

/// The reactive controller's settings for the test: Kubernetes' liveness rule with a 0.5 s probe
/// period and a failure threshold of 2 (defaults: 10 s and 3), HPA off (no CPU metric here).
const FAST_REACTIVE: &str = "[reactive]\nliveness_period_s = 0.5\nliveness_failure_threshold = 2\n\
    cooldown_s = 3.0\nhpa_enabled = false\nrestart_backoff_initial_s = 0.5\n";

fn heal_all_faults(label: &str, faults: &[(Fault, usize)]) -> Vec<FaultTimes> {
    let dir = tempfile::tempdir().unwrap();
    let prom_port = free_port();
    let mut text = cluster_text(prom_port, "e2e/web", true);
    if label == "reactive" {
        text += FAST_REACTIVE;
    }
    let cluster = ClusterFile::parse(&dir.path().join("cluster.toml"), &text, dir.path()).unwrap();
    let proposer = match label {
        "rule" => Proposer::Rule,
        "policy file" => {
            let path = dir.path().join("reference.safetensors");
            reference_policy_file(&cluster.service_names())
                .save(&path)
                .unwrap();
            Proposer::Policy(Box::new(LivePolicy::load(&path, &cluster).unwrap()))
        }
        name => Proposer::Baseline(BaselinePolicy::new(name, &cluster).unwrap()),
    };
    let audit = dir.path().join("audit.jsonl");
    let mut exec = Executor::start(cluster, Mode::Auto, proposer, &audit, None).unwrap();
    let ports = exec.ports()["web"].clone();
    let _prometheus = start_prometheus(dir.path(), prom_port, &ports);
    wait_until_healthy(&mut exec, Duration::from_secs(60));
    let mut measured = Vec::new();
    for &(fault, replica) in faults {
        let m = heal_one(&mut exec, fault, replica);
        eprintln!(
            "{label}: {} on web-{}: detected in {} ms, restart decided in {} ms, healed in {} ms",
            m.fault.name(),
            m.replica,
            m.detect.as_millis(),
            m.decide.as_millis(),
            m.heal.as_millis()
        );
        measured.push(m);
        // Let the cooldown pass before the next fault, so each fault is judged alone.
        std::thread::sleep(Duration::from_secs(3));
        wait_until_healthy(&mut exec, Duration::from_secs(30));
    }
    exec.shutdown().unwrap();
    assert_eq!(
        check_audit(&audit),
        faults.len(),
        "{label}: exactly one action per fault"
    );
    measured
}

#[test]
fn prometheus_watched_replicas_are_healed_by_the_rule_a_policy_file_and_the_reactive_baseline() {
    // One test, two runs in sequence: two Prometheus servers at once would disturb the timings.
    let all = [(Fault::Kill9, 0), (Fault::Hang, 1), (Fault::Leak, 2)];
    let rule = heal_all_faults("rule", &all);
    let policy = heal_all_faults("policy file", &all);
    // The reactive controller has no memory rule (Kubernetes leaves a leak to the OOM killer, and
    // the demo's leak is capped below any OOM): liveness faults only.
    let reactive = heal_all_faults("reactive", &all[..2]);
    assert_eq!(rule.len() + policy.len() + reactive.len(), 8);
}

fn shadow_or_blocked(mode: Mode, allow: &str) -> (Vec<Outcome>, u32) {
    let dir = tempfile::tempdir().unwrap();
    let text = cluster_text(free_port(), allow, false);
    let cluster = ClusterFile::parse(&dir.path().join("c.toml"), &text, dir.path()).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut exec = Executor::start(cluster, mode, Proposer::Rule, &audit, None).unwrap();
    wait_until_healthy(&mut exec, Duration::from_secs(30));
    inject(&mut exec, Fault::Kill9, 0);
    let mut outcomes = Vec::new();
    let mut proposed_restart = false;
    for _ in 0..8 {
        let report = exec.step(now_ms()).unwrap();
        proposed_restart |= report.proposed.kind == (ActionKind::Restart { replica: Some(0) });
        outcomes.push(report.outcome);
        std::thread::sleep(STEP);
    }
    assert!(proposed_restart, "the rule proposed the restart");
    let status = exec.local_actuator().unwrap().status("web").unwrap();
    assert!(status[0].pid.is_none(), "the killed replica was left alone");
    let starts = status[0].starts;
    exec.shutdown().unwrap();
    assert_eq!(check_audit(&audit), 0, "nothing acted");
    (outcomes, starts)
}

#[test]
fn shadow_mode_touches_nothing() {
    let (outcomes, starts) = shadow_or_blocked(Mode::Shadow, "e2e/web");
    assert_eq!(starts, 1, "started once, never restarted");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::NotActed { reason } if reason.contains("shadow")))
    );
}

#[test]
fn services_outside_the_allowlist_are_not_touched_in_auto_mode() {
    let (outcomes, starts) = shadow_or_blocked(Mode::Auto, "e2e/api");
    assert_eq!(starts, 1);
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::NotActed { reason } if reason.contains("allowlist")))
    );
}
