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

use std::path::Path;
use std::time::Duration;

use mend_agents::NetworkSpec;
use mend_executor::audit::verify;
use mend_executor::decide::LivePolicy;
use mend_executor::fault_drill::Fault;
use mend_executor::pipeline::{Mode, Proposer};

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

    let mut run = drill::start(
        dir.path(),
        Path::new(env!("CARGO_BIN_EXE_mend-demo-service")),
        0.99,
        Mode::Auto,
        |cluster| Proposer::Policy(Box::new(LivePolicy::load(&policy_path, cluster).unwrap())),
        HEAL_BOUND,
    );
    for (replica, fault) in Fault::ALL.into_iter().enumerate() {
        let t = run.drill.heal_one(&mut run.exec, fault, replica).unwrap();
        drill::print_times("trained policy", &t);
        drill::assert_healed(fault, &t, HEAL_BOUND);
        std::thread::sleep(Duration::from_secs(3));
        run.drill
            .wait_until_healthy(&mut run.exec, Duration::from_secs(30))
            .unwrap();
    }
    run.shutdown();

    let audit = drill::audit_path(dir.path());
    let report = verify(&audit).expect("the audit log verifies");
    let records = drill::audit_records(&audit);
    assert_eq!(report.records as usize, records.len());
    for r in &records[1..] {
        let d = &r["record"]["payload"];
        let fields = &d["fields"];
        assert!(
            fields["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("policy ")),
            "{r}"
        );
        // Every decision is the policy's inference, with both stages recorded.
        let act = fields["act_probability"].as_f64().expect("act_probability");
        let choice = fields["choice_probability"]
            .as_f64()
            .expect("choice_probability");
        assert!((0.0..=1.0).contains(&act) && (0.0..=1.0).contains(&choice));
        assert_eq!(d["probabilities"].as_array().map(Vec::len), Some(1 + 9));
    }
    let acted = drill::acted_inside_allowlist(&records);
    let replaced = acted
        .iter()
        .filter(|r| {
            r["record"]["payload"]["verdicts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["guard"] == "confidence" && g["verdict"] == "replace")
        })
        .count();
    let acted = acted.len();
    assert_eq!(acted, 3, "exactly one action per fault");
    eprintln!("{replaced} of {acted} actions were the confidence gate's fallback");
}
