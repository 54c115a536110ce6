//! The live loop on real demo-service replicas read by direct scrapes: confirm mode asks before
//! acting, the kill switch stops every action, and a Prometheus that is down gives a safe no-op
//! with an audit record. Processes are stopped by the actuator on drop, also on failure.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mend_executor::audit::verify;
use mend_executor::cluster::ClusterFile;
use mend_executor::decision::{ActionKind, Outcome};
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::run_loop::{Executor, StepReport, now_ms};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn cluster(dir: &Path, extra_guards: &str, up: &str, prometheus: &str) -> ClusterFile {
    let text = format!(
        r#"namespace = "t"
interval_ms = 200
{prometheus}
[[services]]
name = "web"
process = {{ command = "{}", args = ["--port", "{{port}}"], replicas = 2, stop_grace_ms = 500 }}
replica_metrics = {{ up = {up} }}
[fallback]
down_for = 1
[guards]
allowlist = ["t/web"]
default_cooldown_ms = 0
max_replica_share = 0.5
{extra_guards}
"#,
        env!("CARGO_BIN_EXE_mend-demo-service")
    );
    ClusterFile::parse(&dir.join("c.toml"), &text, dir).unwrap()
}

fn kill_replica(exec: &mut Executor, replica: usize) {
    let pid = exec.local_actuator().unwrap().status("web").unwrap()[replica]
        .pid
        .unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
}

/// Steps until the rule proposes restarting replica 0 (at most 20 steps).
fn step_until_proposed(exec: &mut Executor) -> StepReport {
    for _ in 0..20 {
        let r = exec.step(now_ms()).unwrap();
        if r.proposed.kind == (ActionKind::Restart { replica: Some(0) }) {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no restart proposed");
}

#[test]
fn confirm_mode_acts_only_when_the_operator_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path(), "", r#"{ scrape = "up" }"#, "");
    let audit = dir.path().join("a.jsonl");
    let mut exec = Executor::start(c, Mode::Confirm, Proposer::Rule, &audit, None).unwrap();
    let agree = Arc::new(AtomicBool::new(false));
    let answer = Arc::clone(&agree);
    exec.set_confirm(Box::new(move |_| answer.load(Ordering::SeqCst)));
    kill_replica(&mut exec, 0);
    let declined = step_until_proposed(&mut exec);
    assert!(
        matches!(&declined.outcome, Outcome::NotActed { reason } if reason == "operator declined"),
        "{:?}",
        declined.outcome
    );
    assert!(
        exec.local_actuator().unwrap().status("web").unwrap()[0]
            .pid
            .is_none()
    );
    agree.store(true, Ordering::SeqCst);
    let done = step_until_proposed(&mut exec);
    assert_eq!(done.outcome, Outcome::Verified);
    assert!(
        exec.local_actuator().unwrap().status("web").unwrap()[0]
            .pid
            .is_some()
    );
    exec.shutdown().unwrap();
    verify(&audit).unwrap();
}

#[test]
fn kill_switch_file_stops_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let switch = dir.path().join("STOP");
    let guards = format!("kill_switch = \"{}\"", switch.display());
    let c = cluster(dir.path(), &guards, r#"{ scrape = "up" }"#, "");
    let audit = dir.path().join("a.jsonl");
    let mut exec = Executor::start(c, Mode::Auto, Proposer::Rule, &audit, None).unwrap();
    std::fs::write(&switch, b"").unwrap();
    kill_replica(&mut exec, 0);
    let r = step_until_proposed(&mut exec);
    assert!(
        matches!(&r.outcome, Outcome::NotActed { reason } if reason.contains("kill switch")),
        "{:?}",
        r.outcome
    );
    assert!(
        exec.local_actuator().unwrap().status("web").unwrap()[0]
            .pid
            .is_none()
    );
    std::fs::remove_file(&switch).unwrap();
    let r = step_until_proposed(&mut exec);
    assert_eq!(
        r.outcome,
        Outcome::Verified,
        "acts again once the file is gone"
    );
    exec.shutdown().unwrap();
    verify(&audit).unwrap();
}

#[test]
fn prometheus_down_is_a_recorded_safe_no_op() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let prometheus =
        format!("[prometheus]\nurl = \"http://127.0.0.1:{port}\"\ntimeout_ms = 200\nretries = 0");
    let c = cluster(dir.path(), "", r#"{ promql = "up" }"#, &prometheus);
    let audit = dir.path().join("a.jsonl");
    let mut exec = Executor::start(c, Mode::Auto, Proposer::Rule, &audit, None).unwrap();
    for _ in 0..3 {
        let r = exec.step(now_ms()).unwrap();
        assert!(r.proposed.is_noop());
        assert!(matches!(r.outcome, Outcome::NotActed { .. }));
        assert!(!r.readings.problems.is_empty());
        assert!(r.readings.metric_times.values().all(Option::is_none));
    }
    exec.shutdown().unwrap();
    let report = verify(&audit).unwrap();
    assert_eq!(report.decisions, 3);
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(text.lines().skip(1).all(|l| l.contains("metric_problems")));
}
