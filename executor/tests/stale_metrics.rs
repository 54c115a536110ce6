//! Stale metrics are refused by their *sample* time (PromQL `timestamp()`), not only when
//! missing: Prometheus keeps answering an instant query with a series' last value for 5 minutes
//! after the series stopped being scraped, stamped with the evaluation time. A scripted
//! Prometheus plays each case: fresh, a target no longer scraped, NaN, empty; the guard refuses
//! and the loop records the refusal in the audit log without touching the service.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::ScriptedServer;
use mend_executor::audit::verify;
use mend_executor::cluster::ClusterFile;
use mend_executor::decision::{ActionKind, Outcome, Verdict};
use mend_executor::guards::FreshMetrics;
use mend_executor::observe::{MetricReader, Readings, ReplicaId};
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::run_loop::{Executor, now_ms};

const NOW_MS: u64 = 1_800_000_000_000;

fn vector(port: u16, time_ms: u64, value: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"instance":"127.0.0.1:{port}","job":"t"}},"value":[{}.{:03},"{value}"]}}]}}}}"#,
        time_ms / 1000,
        time_ms % 1000
    )
}

/// The instant query's answer (value at evaluation time `at`) and `timestamp()`'s (last sample
/// at `sampled`, in seconds as the value).
fn answers(port: u16, at: u64, value: &str, sampled: u64) -> Vec<(u16, String, Duration)> {
    let seconds = format!("{}.{:03}", sampled / 1000, sampled % 1000);
    vec![
        (200, vector(port, at, value), Duration::ZERO),
        (200, vector(port, at, &seconds), Duration::ZERO),
    ]
}

fn cluster(dir: &Path, prometheus_port: u16, base_port: u16, sample_times: bool) -> ClusterFile {
    let text = format!(
        r#"namespace = "t"
interval_ms = 200
[prometheus]
url = "http://127.0.0.1:{prometheus_port}"
timeout_ms = 500
retries = 0
sample_times = {sample_times}
[[services]]
name = "web"
process = {{ command = "{}", args = ["--port", "{{port}}"], base_port = {base_port}, replicas = 1, stop_grace_ms = 500 }}
replica_metrics = {{ up = {{ promql = 'up{{job="t"}}' }} }}
[fallback]
down_for = 1
[guards]
allowlist = ["t/web"]
default_cooldown_ms = 0
max_metric_age_ms = 30000
"#,
        env!("CARGO_BIN_EXE_mend-demo-service")
    );
    ClusterFile::parse(&dir.join("c.toml"), &text, dir).unwrap()
}

fn read(script: Vec<(u16, String, Duration)>, sample_times: bool) -> (Readings, Vec<String>) {
    let server = ScriptedServer::start(script);
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path(), server.port, 18_500, sample_times);
    let reader = MetricReader::new(&c).unwrap();
    let ids = BTreeMap::from([("web".to_owned(), vec![ReplicaId::Port(18_500)])]);
    let readings = reader.read(&c, &ids, NOW_MS);
    (readings, server.requests())
}

fn guard(readings: &Readings) -> Verdict {
    FreshMetrics { max_age_ms: 30_000 }.check(&readings.metric_times, NOW_MS)
}

#[test]
fn a_fresh_series_passes_with_its_sample_time() {
    let (r, requests) = read(answers(18_500, NOW_MS, "1", NOW_MS - 1_000), true);
    assert_eq!(r.metric_times["web:up"], Some(NOW_MS - 1_000));
    assert_eq!(guard(&r), Verdict::Allow);
    assert!(requests[1].contains("timestamp"), "{requests:?}");
}

#[test]
fn a_target_no_longer_scraped_is_stale_by_its_sample_time() {
    // Prometheus still answers `up` (its last value, within the 5-minute lookback), stamped with
    // the evaluation time; only timestamp() shows the sample is two minutes old.
    let (r, _) = read(answers(18_500, NOW_MS, "0", NOW_MS - 120_000), true);
    assert_eq!(r.metric_times["web:up"], Some(NOW_MS - 120_000));
    match guard(&r) {
        Verdict::Deny { reason } => assert!(reason.contains("web:up (120000 ms old)"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Without sample times the same answers look fresh: the reason the check exists.
    let (blind, requests) = read(answers(18_500, NOW_MS, "0", NOW_MS - 120_000), false);
    assert_eq!(blind.metric_times["web:up"], Some(NOW_MS));
    assert_eq!(guard(&blind), Verdict::Allow);
    assert_eq!(
        requests.len(),
        1,
        "one query per metric when sample_times is off"
    );
}

#[test]
fn nan_and_empty_answers_are_missing_metrics() {
    for (body, needle) in [
        (vector(18_500, NOW_MS, "NaN"), "NaN"),
        (
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.to_owned(),
            "no series",
        ),
    ] {
        let (r, _) = read(vec![(200, body, Duration::ZERO)], true);
        assert_eq!(r.metric_times["web:up"], None);
        assert!(
            r.problems.iter().any(|p| p.contains(needle)),
            "{:?}",
            r.problems
        );
        assert!(
            matches!(guard(&r), Verdict::Deny { reason } if reason.contains("missing metrics: web:up"))
        );
    }
}

#[test]
fn a_timestamp_query_that_lacks_the_replica_is_refused() {
    let mut script = answers(18_500, NOW_MS, "1", NOW_MS);
    script[1].1 = vector(18_999, NOW_MS, "1800000000");
    let (r, _) = read(script, true);
    assert_eq!(r.metric_times["web:up"], None);
    assert!(matches!(guard(&r), Verdict::Deny { .. }));
}

/// End to end through the loop: a live replica that a stale `up = 0` claims is down. The rule
/// proposes a restart; the fresh-metrics guard refuses it; the audit log records the refusal and
/// verifies; the replica is untouched.
#[test]
fn the_loop_refuses_to_act_on_stale_metrics_and_records_it() {
    let base_port = common::closed_port();
    let now = now_ms();
    let server = ScriptedServer::start(answers(base_port, now, "0", now - 120_000));
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path(), server.port, base_port, true);
    let audit = dir.path().join("a.jsonl");
    let mut exec = Executor::start(c, Mode::Auto, Proposer::Rule, &audit, None).unwrap();
    let pid = exec.local_actuator().unwrap().status("web").unwrap()[0].pid;
    let report = exec.step(now).unwrap();
    assert_eq!(
        report.proposed.kind,
        ActionKind::Restart { replica: Some(0) }
    );
    assert!(!report.allowed);
    match &report.outcome {
        Outcome::NotActed { reason } => {
            assert!(reason.contains("fresh_metrics: stale"), "{reason}")
        }
        other => panic!("expected no action, got {other:?}"),
    }
    let status = exec.local_actuator().unwrap().status("web").unwrap();
    assert_eq!(status[0].pid, pid, "the replica was not touched");
    exec.shutdown().unwrap();
    verify(&audit).unwrap();
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("stale metrics, older than 30000 ms: web:up (120000 ms old)"));
}
