//! End to end, the policy itself heals (issue 7): the committed fixture policy
//! (`tests/fixtures/policy/`, an entity PPO policy warm-started from the runbook and trained on the
//! `default` scenario; how it was made is in the README beside it) drives the executor in auto mode
//! against three `mend-demo-service` replicas watched by the Debian package's Prometheus. Faults are
//! injected one at a time (kill -9, SIGSTOP hang, memory leak); each fault in [`POLICY_HEALS`] must
//! be healed within [`HEAL_BOUND`] by a restart that *the policy proposed*, confident enough for the
//! gate ([`CONFIDENCE`]), not by the gate's runbook fallback; no action leaves the allowlist; the
//! audit log verifies; a healthy cluster is left alone.
//!
//! [`POLICY_HEALS`] is a record, checked both ways: the offline test asserts that the policy acts on
//! the live features of exactly the faults listed (so a better fixture fails it until the list is
//! extended, and the end-to-end test then covers the new faults). With the session-4 fixture the list
//! is empty: the policy stays on the no-op (P(act) about 0.001) for all three faults, because the
//! live rows of the drill only move `svc_replicas_up_ratio`, `svc_replicas_in_rotation` and
//! `svc_replica_memory_max`, while what it learnt on `default` acts on `svc_error_ratio` and
//! `svc_latency_p99` (P(act) 0.84 with a third of requests failing), which the drill's idle demo
//! replicas never show.
//!
//! A fixture that does not load (another feature schema, a corrupt file) fails the tests with the
//! loader's error: it is never skipped. Prometheus missing is a failure too (`.ci/prometheus.sh`).
//! Every process started here is stopped on drop, also when an assertion fails.

#[path = "common/drill.rs"]
mod drill;

use std::path::Path;
use std::time::Duration;

use mend_agents::policy_file::FeatureSchema;
use mend_agents::{NetworkSpec, PolicyFile};
use mend_executor::audit::verify;
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::{LivePolicy, SIM_ACTION_KINDS};
use mend_executor::decision::{Action, ActionKind};
use mend_executor::fault_drill::Fault;
use mend_executor::local_prometheus::LocalPrometheus;
use mend_executor::observe::Readings;
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::run_loop::{Executor, now_ms};
use mend_monitor::features::FeatureExtractor;

/// The committed policy file.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/policy/ppo-default-warm.safetensors"
);
/// Heal bound per fault: a few 1 s scrape intervals, the 0.5 s loop, the restart and its
/// verification (the demo service starts in well under a second), with room for a busy machine.
const HEAL_BOUND: Duration = Duration::from_secs(25);
/// The confidence gate's threshold: the policy's first-stage probability (act vs no-op) must reach
/// it, or the gate hands the decision to the runbook fallback, and the test fails.
const CONFIDENCE: f64 = 0.8;
/// The faults the fixture policy heals by itself on the drill's live features (see the module doc:
/// none with the session-4 fixture).
const POLICY_HEALS: &[Fault] = &[];

fn cluster(dir: &Path, prom_port: u16) -> ClusterFile {
    let demo = Path::new(env!("CARGO_BIN_EXE_mend-demo-service"));
    let text = drill::cluster_text(demo, prom_port, CONFIDENCE, "");
    ClusterFile::parse(&dir.join("cluster.toml"), &text, dir).expect("the drill's cluster file")
}

fn load_fixture(cluster: &ClusterFile) -> LivePolicy {
    LivePolicy::load(Path::new(FIXTURE), cluster).unwrap_or_else(|e| {
        panic!("the fixture policy must load (tests/fixtures/policy/README.md regenerates it): {e}")
    })
}

#[test]
fn the_fixture_is_an_entity_ppo_policy_trained_on_default_with_the_live_action_kinds() {
    let manifest = PolicyFile::inspect(Path::new(FIXTURE))
        .unwrap_or_else(|e| panic!("the fixture policy must be readable: {e}"));
    assert!(matches!(manifest.network, NetworkSpec::Entity(_)));
    assert_eq!(manifest.algorithm, "ppo");
    assert_eq!(
        manifest.training.scenario_family.as_deref(),
        Some("default")
    );
    assert!(manifest.training.summary.num_timesteps > 0, "trained");
    assert_eq!(manifest.action_kinds, SIM_ACTION_KINDS.map(String::from));
    let dir = tempfile::tempdir().unwrap();
    load_fixture(&cluster(dir.path(), drill::free_port()));
}

/// The fixture with its manifest's feature schema changed must be refused by the loader, with the
/// error naming the field and both schemas (the test would otherwise pass on a stale fixture).
#[test]
fn a_fixture_with_another_feature_schema_fails_with_the_loaders_error() {
    let mut file = PolicyFile::load(Path::new(FIXTURE), None)
        .unwrap_or_else(|e| panic!("the fixture policy must load: {e}"));
    let dir = tempfile::tempdir().unwrap();
    file.manifest.feature_schema = FeatureSchema::new(&["service/web.up", "global.n_services"]);
    let other = dir.path().join("other-schema.safetensors");
    file.save(&other).unwrap();
    let cluster = cluster(dir.path(), drill::free_port());
    let err = LivePolicy::load(&other, &cluster).expect_err("another schema is refused");
    let text = err.to_string();
    assert!(
        text.contains("feature_schema") && text.contains("other-schema.safetensors"),
        "{text}"
    );
}

#[test]
fn the_fixture_policy_heals_kill_hang_and_leak_by_itself_through_the_guards() {
    let dir = tempfile::tempdir().unwrap();
    let prom_port = drill::free_port();
    let cluster = cluster(dir.path(), prom_port);
    let policy = load_fixture(&cluster);
    let audit = dir.path().join("audit.jsonl");
    let mut exec = Executor::start(
        cluster,
        Mode::Auto,
        Proposer::Policy(Box::new(policy)),
        &audit,
        None,
    )
    .unwrap();
    let ports = exec.ports()["web"].clone();
    let _prometheus = LocalPrometheus::start(
        dir.path(),
        prom_port,
        "mend",
        &ports,
        Duration::from_secs(1),
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("the end-to-end test needs Prometheus: {e}"));
    let d = drill::drill(HEAL_BOUND);
    d.wait_until_healthy(&mut exec, Duration::from_secs(60))
        .unwrap();
    // A healthy cluster is left alone: 10 s of decisions, none of them an action.
    let quiet = exec_for(&mut exec, Duration::from_secs(10));
    assert_eq!(
        quiet,
        0,
        "actions on a healthy cluster\n{}",
        policy_trail(&audit)
    );
    let mut healing_records = Vec::new();
    for (replica, &fault) in POLICY_HEALS.iter().enumerate() {
        let t = d
            .heal_one(&mut exec, fault, replica)
            .unwrap_or_else(|e| panic!("{e}\n{}", policy_trail(&audit)));
        eprintln!(
            "fixture policy: {} on web-{replica}: detect {} ms, decide {} ms, heal {} ms, {}",
            fault.name(),
            t.detect.as_millis(),
            t.decide.as_millis(),
            t.heal.as_millis(),
            if t.by_proposer {
                "the policy's own action"
            } else {
                "the gate's fallback"
            }
        );
        assert!(
            t.by_proposer,
            "{fault:?}: the restart was the gate's fallback, not the policy's\n{}",
            policy_trail(&audit)
        );
        assert!(t.detect <= t.decide && t.decide <= t.heal, "{t:?}");
        assert!(t.heal <= HEAL_BOUND, "{t:?}");
        assert_eq!(t.restarts, 1, "{fault:?}: restarted exactly once");
        healing_records.push((
            replica,
            t.decide_seq.expect("a decided restart has a record"),
        ));
        std::thread::sleep(Duration::from_secs(3));
        d.wait_until_healthy(&mut exec, Duration::from_secs(30))
            .unwrap();
    }
    exec.shutdown().unwrap();

    let report = verify(&audit).expect("the audit log verifies");
    let text = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(report.records as usize, text.lines().count());
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Each healing record: the policy's own restart of that replica, confident, the gate allowing it.
    for (replica, seq) in healing_records {
        let r = records
            .iter()
            .find(|r| r["record"]["seq"] == seq)
            .unwrap_or_else(|| panic!("no audit record {seq}"));
        let d = &r["record"]["payload"];
        let fields = &d["fields"];
        assert!(
            fields["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("policy ")),
            "{r}"
        );
        assert!(
            fields["reason"]
                .as_str()
                .is_some_and(|s| s.contains("= restart_replica on web")),
            "the policy proposed the restart: {r}"
        );
        let act = fields["act_probability"].as_f64().expect("act_probability");
        assert!(act >= CONFIDENCE, "the policy chose to act: {r}");
        let action: Action = serde_json::from_value(d["action"].clone())
            .unwrap_or_else(|e| panic!("action of {r}: {e}"));
        let restart = Action {
            namespace: "e2e".into(),
            service: "web".into(),
            kind: ActionKind::Restart {
                replica: Some(replica),
            },
        };
        assert_eq!(action, restart, "{r}");
        for g in d["verdicts"].as_array().unwrap() {
            assert_ne!(g["verdict"], "replace", "no guard replaced it: {r}");
        }
    }
    // Every action stays inside the allowlist, and there is exactly one per fault.
    let mut acted = 0;
    for r in &records[1..] {
        let d = &r["record"]["payload"];
        if d["outcome"]["status"] != "not_acted" {
            acted += 1;
            assert_eq!(
                (
                    d["action"]["namespace"].as_str(),
                    d["action"]["service"].as_str()
                ),
                (Some("e2e"), Some("web")),
                "action outside the allowlist: {r}"
            );
        }
    }
    assert_eq!(
        acted,
        POLICY_HEALS.len(),
        "exactly one action per fault\n{}",
        policy_trail(&audit)
    );
}

/// Steps `exec` for `span` at the drill's interval; returns how many iterations acted.
fn exec_for(exec: &mut Executor, span: Duration) -> usize {
    let start = std::time::Instant::now();
    let mut acted = 0;
    while start.elapsed() < span {
        let report = exec.step(now_ms()).expect("a loop iteration");
        acted += usize::from(!report.action.is_noop() && report.allowed);
        std::thread::sleep(drill::STEP);
    }
    acted
}

/// The drill's live readings of `web` (3 replicas, memory as a share of the limit) with `fault` on
/// replica 0: what the loop reads a few seconds after the injection (`None`: healthy).
fn live_readings(fault: Option<Fault>) -> Readings {
    let mut r = Readings::default();
    r.replicas.insert("web".into(), 3);
    for i in 0..3 {
        let hit = i == 0 && fault.is_some();
        let up = if hit && fault != Some(Fault::Leak) {
            0.0
        } else {
            1.0
        };
        let memory = if hit && fault == Some(Fault::Leak) {
            0.95
        } else {
            0.12
        };
        r.replica.insert(("web".into(), i, "up".into()), up);
        if up > 0.5 {
            r.replica
                .insert(("web".into(), i, "memory_utilization".into()), memory);
        }
    }
    r
}

/// The record behind [`POLICY_HEALS`], without Prometheus: the fixture policy's proposal on the
/// features the drill's loop reads for each fault acts (a restart of replica 0) exactly for the
/// listed faults, and is the no-op on a healthy cluster. Prints what it saw.
#[test]
fn the_fixture_policy_acts_on_the_live_features_of_exactly_the_listed_faults() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), drill::free_port());
    let policy = load_fixture(&cluster);
    let schema = mend_monitor::features::FeatureSchema::v1();
    for fault in [None].into_iter().chain(Fault::ALL.map(Some)) {
        let readings = live_readings(fault);
        let features = FeatureExtractor::v1().extract(&readings.to_snapshot(now_ms()));
        let proposed = policy.decide(&features, &readings, &cluster).unwrap();
        let row: Vec<String> = schema
            .columns
            .iter()
            .zip(&features.rows)
            .filter(|(_, v)| **v != 0.0)
            .map(|(c, v)| format!("{}={v:.3}", c.name))
            .collect();
        eprintln!(
            "{}: P(act) {:?}, proposal `{}`; live row {}",
            fault.map_or("healthy", Fault::name),
            proposed.act_probability,
            proposed.reason,
            row.join(" ")
        );
        let act = proposed.act_probability.expect("a probability policy");
        let restart = ActionKind::Restart { replica: Some(0) };
        match fault {
            Some(f) if POLICY_HEALS.contains(&f) => {
                assert!(act >= CONFIDENCE, "{f:?}: P(act) {act}");
                assert_eq!(proposed.action.kind, restart, "{f:?}: {}", proposed.reason);
            }
            _ => {
                assert!(
                    act < 0.5,
                    "{fault:?}: the policy acts (P(act) {act}, {}): add it to POLICY_HEALS",
                    proposed.reason
                );
                assert!(proposed.action.is_noop(), "{fault:?}: {}", proposed.reason);
            }
        }
    }
}

/// The policy's side of the last 40 decisions (reason, first-stage probability, confidence,
/// verdicts, outcome), for failure messages: what it saw and chose.
fn policy_trail(audit: &Path) -> String {
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(40);
    lines[start..]
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|r| {
            let d = &r["record"]["payload"];
            format!(
                "seq {} {}: act {} conf {} verdicts {} outcome {}",
                r["record"]["seq"],
                d["fields"]["reason"],
                d["fields"]["act_probability"],
                d["fields"]["confidence"],
                d["verdicts"],
                d["outcome"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
