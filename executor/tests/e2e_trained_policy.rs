//! End to end with a trained policy: an entity PPO policy trained here on the `tiny` scenario
//! (agents API, small budget) and exported as a policy file drives the executor in auto mode
//! against three `mend-demo-service` replicas watched by the Debian package's Prometheus. Faults are
//! injected one at a time (kill -9, SIGSTOP hang, memory leak) and each must be healed within
//! `HEAL_BOUND`, through the guards, with the audit log verifying.
//!
//! The policy need not be good: with this budget it keeps its initial no-op bias (P(act) about 0.1
//! whatever the live metrics), so the confidence gate (threshold 0.99 here) hands each unsure
//! decision to the fallback rule, and that is what heals. The test pins the pipeline: the file
//! loads through the agents loader, every decision is the policy's inference with
//! `act_probability`/`choice_probability` in its audit record, unsure decisions are replaced by the
//! gate (recorded as such), actions stay inside the allowlist, and the log verifies.
//!
//! Prometheus missing is a failure, not a skip: run `.ci/prometheus.sh`. Every process started
//! here is stopped on drop, also when an assertion fails.

#[path = "common/drill.rs"]
mod drill;
#[path = "common/trained.rs"]
mod trained;

use std::time::Duration;

use mend_agents::NetworkSpec;
use mend_executor::audit::verify;
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::LivePolicy;
use mend_executor::fault_drill::Fault;
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::run_loop::Executor;

const HEAL_BOUND: Duration = Duration::from_secs(25);
const TRAIN_STEPS: u64 = 1_024;

#[test]
fn a_trained_ppo_policy_file_runs_the_live_loop_and_every_fault_is_healed_through_the_guards() {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("ppo-tiny.safetensors");
    let file = trained::train_tiny_policy(&policy_path, 11, TRAIN_STEPS);
    assert!(matches!(file.manifest.network, NetworkSpec::Entity(_)));
    assert_eq!(file.manifest.training.summary.num_timesteps, TRAIN_STEPS);
    assert!(file.manifest.training.summary.gradient_steps > 0, "trained");

    let prom_port = drill::free_port();
    let demo = std::path::Path::new(env!("CARGO_BIN_EXE_mend-demo-service"));
    let text = drill::cluster_text(demo, prom_port, 0.99, "");
    let cluster = ClusterFile::parse(&dir.path().join("cluster.toml"), &text, dir.path()).unwrap();
    let policy = LivePolicy::load(&policy_path, &cluster).unwrap();
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
    let _watch = drill::watch(dir.path(), prom_port, &ports)
        .unwrap_or_else(|e| panic!("the end-to-end test needs Prometheus: {e}"));
    let d = drill::drill(HEAL_BOUND);
    d.wait_until_healthy(&mut exec, Duration::from_secs(60))
        .unwrap();
    for (replica, fault) in Fault::ALL.into_iter().enumerate() {
        let t = d.heal_one(&mut exec, fault, replica).unwrap();
        eprintln!(
            "trained policy: {} on web-{replica}: detect {} ms, decide {} ms, heal {} ms, {}",
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
        assert!(t.detect <= t.decide && t.decide <= t.heal, "{t:?}");
        assert!(t.heal <= HEAL_BOUND, "{t:?}");
        assert_eq!(t.restarts, 1, "{fault:?}: restarted exactly once");
        std::thread::sleep(Duration::from_secs(3));
        d.wait_until_healthy(&mut exec, Duration::from_secs(30))
            .unwrap();
    }
    exec.shutdown().unwrap();

    let report = verify(&audit).expect("the audit log verifies");
    let text = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(report.records as usize, text.lines().count());
    let (mut acted, mut replaced) = (0, 0);
    for line in text.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let d = &v["record"]["payload"];
        let fields = &d["fields"];
        assert!(
            fields["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("policy ")),
            "{line}"
        );
        // Every decision is the policy's inference, with both stages recorded.
        let act = fields["act_probability"].as_f64().expect("act_probability");
        let choice = fields["choice_probability"]
            .as_f64()
            .expect("choice_probability");
        assert!((0.0..=1.0).contains(&act) && (0.0..=1.0).contains(&choice));
        assert_eq!(d["probabilities"].as_array().map(Vec::len), Some(1 + 9));
        if d["outcome"]["status"] != "not_acted" {
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
        let gate_replaced = d["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["guard"] == "confidence" && g["verdict"] == "replace");
        replaced += usize::from(gate_replaced && d["outcome"]["status"] != "not_acted");
    }
    assert_eq!(acted, 3, "exactly one action per fault");
    eprintln!("{replaced} of {acted} actions were the confidence gate's fallback");
}
