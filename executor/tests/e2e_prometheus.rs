//! End to end with real parts: the Debian package's Prometheus (127.0.0.1, a free port, a temporary
//! config and storage folder, scrape interval 1 s) scrapes three `mend-demo-service` replicas that
//! the executor's local-process actuator started. Faults are injected one at a time (kill -9, a
//! SIGSTOP hang, a memory leak); the executor in auto mode heals each, once with the built-in
//! rule, once with a policy file (the hand-set reference policy, saved and loaded through the
//! agents crate) and once with the agents crate's Kubernetes-style reactive controller (liveness
//! faults only: it has no memory rule, as Kubernetes leaves leaks to the OOM killer). Shadow mode and the allowlist are checked on direct scrapes (no Prometheus).
//!
//! Bounds: detection (fault -> first proposal to restart the faulty replica) within
//! `DETECT_BOUND`, healing (fault -> Prometheus shows every replica up and below the memory
//! threshold again, after a verified restart) within `HEAL_BOUND`: a few 1 s scrape intervals plus
//! the restart. Measured times are printed (`cargo test -p mend-executor --test e2e_prometheus --
//! --nocapture`). Every process started here is stopped on drop, also when an assertion fails.
//!
//! Prometheus missing is a failure, not a skip: run `.ci/prometheus.sh`.

use std::path::Path;
use std::time::{Duration, Instant};

use mend_executor::audit::verify;
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::{BaselinePolicy, LivePolicy};
use mend_executor::decision::{ActionKind, Outcome};
use mend_executor::local_prometheus::{LocalPrometheus, PrometheusError};
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::reference_policy::reference_policy_file;
use mend_executor::run_loop::{Executor, now_ms};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const DETECT_BOUND: Duration = Duration::from_secs(8);
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

fn http_get(url: &str) -> Option<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(url).call().ok()?;
    (r.status().as_u16() == 200).then(|| r.body_mut().read_to_string().ok())?
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

#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill9,
    Hang,
    Leak,
}

#[derive(Debug)]
struct Measured {
    fault: Fault,
    replica: usize,
    detect: Duration,
    heal: Duration,
}

fn pid_of(exec: &mut Executor, replica: usize) -> u32 {
    exec.local_actuator().unwrap().status("web").unwrap()[replica]
        .pid
        .expect("replica running")
}

fn inject(exec: &mut Executor, fault: Fault, replica: usize) {
    let pid = Pid::from_raw(pid_of(exec, replica) as i32);
    match fault {
        Fault::Kill9 => kill(pid, Signal::SIGKILL).unwrap(),
        Fault::Hang => kill(pid, Signal::SIGSTOP).unwrap(),
        Fault::Leak => {
            let port = exec.local_actuator().unwrap().status("web").unwrap()[replica].port;
            http_get(&format!(
                "http://127.0.0.1:{port}/fault/leak?mib_per_s=40&max_mib=300"
            ))
            .expect("leak switch");
        }
    }
}

fn all_healthy(report: &mend_executor::run_loop::StepReport) -> bool {
    (0..3).all(|r| {
        report.readings.replica_up("web", r)
            && report
                .readings
                .replica_value("web", r, "memory_utilization")
                .is_some_and(|m| m < 0.9)
    })
}

/// Steps until every replica looks healthy in the metrics (start-up, or after a heal).
fn wait_until_healthy(exec: &mut Executor, bound: Duration) {
    let start = Instant::now();
    loop {
        let report = exec.step(now_ms()).unwrap();
        if all_healthy(&report) {
            return;
        }
        assert!(
            start.elapsed() < bound,
            "not healthy within {bound:?}: {:?}",
            report.readings
        );
        std::thread::sleep(STEP);
    }
}

/// Injects `fault` into `replica` and steps until healed; returns detection and healing times.
fn heal_one(exec: &mut Executor, fault: Fault, replica: usize) -> Measured {
    let starts_before = exec.local_actuator().unwrap().status("web").unwrap()[replica].starts;
    inject(exec, fault, replica);
    let t0 = Instant::now();
    let mut detect = None;
    let mut verified = false;
    loop {
        let tick = Instant::now();
        let report = exec.step(now_ms()).unwrap();
        if detect.is_none()
            && report.proposed.service == "web"
            && report.proposed.kind
                == (ActionKind::Restart {
                    replica: Some(replica),
                })
        {
            detect = Some(t0.elapsed());
        }
        if report.outcome == Outcome::Verified {
            assert_eq!(
                report.action.kind,
                ActionKind::Restart {
                    replica: Some(replica)
                },
                "{fault:?}: the faulty replica is the one restarted"
            );
            verified = true;
        }
        if verified && all_healthy(&report) {
            let heal = t0.elapsed();
            let starts = exec.local_actuator().unwrap().status("web").unwrap()[replica].starts;
            assert_eq!(
                starts,
                starts_before + 1,
                "{fault:?}: restarted exactly once"
            );
            let detect = detect.expect("a restart was proposed before it was carried out");
            assert!(
                detect <= DETECT_BOUND,
                "{fault:?}: detected after {detect:?}"
            );
            assert!(heal <= HEAL_BOUND, "{fault:?}: healed after {heal:?}");
            return Measured {
                fault,
                replica,
                detect,
                heal,
            };
        }
        assert!(
            t0.elapsed() < HEAL_BOUND,
            "{fault:?} on replica {replica}: not healed within {HEAL_BOUND:?} (detected: {detect:?}, \
             verified: {verified}); last outcome {:?}",
            report.outcome
        );
        std::thread::sleep(STEP.saturating_sub(tick.elapsed()));
    }
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

fn heal_all_faults(label: &str, faults: &[(Fault, usize)]) -> Vec<Measured> {
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
            "{label}: {:?} on web-{}: detected in {} ms, healed in {} ms",
            m.fault,
            m.replica,
            m.detect.as_millis(),
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
