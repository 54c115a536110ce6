//! PPO's warm start from the runbook (behaviour cloning, then PPO with a fading imitation term):
//! the cloned policy takes the teacher's decisions on held-out teacher states far more often than a
//! policy that never acts; warm start and PPO are deterministic for a seed whatever the thread
//! count; a resumed run does not warm-start again; config errors name the field.
//!
//! The scenario is `tiny` with frequent process crashes added (tiny itself has no fault processes,
//! so its teacher would never act): crashes leave a service's replicas down, which the runbook
//! restarts (`replicas_down -> restart_replica`), a decision a policy can read off one observation.

use mend_agents::{Agent, NullSink, Ppo, PpoConfig, VecSink, WarmStartConfig, teacher_agreement};
use mend_envs::SyncVectorEnv;

mod common;

fn vec_env(n: usize) -> SyncVectorEnv {
    common::crashy_tiny_env(n)
}

fn warm() -> WarmStartConfig {
    WarmStartConfig {
        steps: 1_920,
        epochs: 10,
        minibatch_size: 128,
        learning_rate: 3e-3,
        bc_decay_steps: 512,
        ..WarmStartConfig::default()
    }
}

fn config(seed: u64) -> PpoConfig {
    PpoConfig {
        total_timesteps: 512,
        num_envs: 4,
        num_steps: 64,
        num_minibatches: 2,
        update_epochs: 2,
        hidden: vec![32],
        warm_start: Some(warm()),
        ..PpoConfig::cluster_default(seed)
    }
}

#[test]
fn behaviour_cloning_takes_the_teachers_decisions_on_held_out_teacher_states() {
    let mut env = vec_env(4);
    let mut agent = Ppo::for_env(config(5), &env).unwrap();
    let fresh = agent.policy_net();
    let mut sink = VecSink::default();
    let report = agent.warm_start(&mut env, &mut sink).unwrap();
    assert!(agent.warm_started());
    assert!(report.teacher_act_share > 0.02, "{report:?}");
    let losses = sink.values("warm_start/bc_loss");
    assert_eq!(losses.len(), warm().epochs);
    assert!(losses.last().unwrap() < &losses[0], "{losses:?}");

    // Held out: other reset seeds than the fit's (seed + TEACHER_SEED_OFFSET).
    let held_out = |policy: &dyn mend_agents::Policy| {
        teacher_agreement(policy, &mut vec_env(4), &warm(), 240, 90_000).unwrap()
    };
    let cloned = held_out(&agent.policy_net());
    let before = held_out(&fresh);
    assert!(cloned.teacher_acts >= 20, "{cloned:?}");
    // Always no-op matches none of the teacher's acts; the clone matches most of them, paying for
    // it (act_weight > 1) with a few acts where the teacher still waits (its timers are not in the
    // observation), so its overall accuracy stays near the no-op rate.
    assert!(cloned.act_recall() > 0.5, "{cloned:?}");
    assert!(
        cloned.accuracy() > cloned.noop_accuracy() - 0.05,
        "{cloned:?}"
    );
    assert!(
        cloned.act_recall() > before.act_recall() + 0.3,
        "{before:?} -> {cloned:?}"
    );
}

/// Warm start then PPO on seed 9: the weights, as bytes.
fn warm_then_ppo_bytes() -> Vec<u8> {
    let mut env = vec_env(4);
    let mut agent = Ppo::for_env(config(9), &env).unwrap();
    let mut sink = VecSink::default();
    agent.learn(&mut env, 512, &mut sink).unwrap();
    assert!(agent.warm_started());
    assert_eq!(sink.values("charts/bc_coef").first(), Some(&0.5));
    assert!(sink.values("losses/bc_loss").iter().all(|l| l.is_finite()));
    agent
        .nets()
        .tensors()
        .iter()
        .flat_map(|t| t.iter().flat_map(|x| x.to_le_bytes()))
        .collect()
}

/// Child mode of the thread-count test: when `MEND_WARM_START_OUT` is set, write the bytes there.
#[test]
fn child_writes_warm_started_weights() {
    if let Ok(out) = std::env::var("MEND_WARM_START_OUT") {
        std::fs::write(out, warm_then_ppo_bytes()).unwrap();
    }
}

#[test]
fn warm_start_then_ppo_is_deterministic_whatever_the_thread_count() {
    let [one, two] = common::bytes_on_1_and_2_threads(
        "child_writes_warm_started_weights",
        "MEND_WARM_START_OUT",
    );
    assert!(one == two, "1 and 2 threads give different weights");
}

#[test]
fn a_resumed_run_does_not_warm_start_again() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ppo.ckpt");
    let mut env = vec_env(4);
    let mut agent = Ppo::for_env(config(3), &env).unwrap();
    agent.learn(&mut env, 256, &mut NullSink).unwrap();
    agent.save_checkpoint(&ckpt).unwrap();

    let mut resumed = Ppo::for_env(config(3), &env).unwrap();
    assert!(!resumed.warm_started());
    resumed.load_checkpoint(&ckpt).unwrap();
    assert!(resumed.warm_started());
    let mut sink = VecSink::default();
    resumed.learn(&mut env, 512, &mut sink).unwrap();
    assert!(
        sink.values("warm_start/bc_loss").is_empty(),
        "the resumed run fitted the teacher again"
    );
    assert_eq!(resumed.num_timesteps(), 512);
}

#[test]
fn warm_start_config_errors_name_the_field_and_toml_fills_defaults() {
    let bad = PpoConfig {
        warm_start: Some(WarmStartConfig {
            epochs: 0,
            ..warm()
        }),
        ..config(1)
    };
    let err = Ppo::for_env(bad, &vec_env(1)).unwrap_err().to_string();
    assert!(err.contains("warm_start.epochs"), "{err}");

    // As an experiment's `params` give it: a partial inline table over the defaults.
    let mut table = toml::Table::try_from(PpoConfig::cluster_default(0)).unwrap();
    assert!(!table.contains_key("warm_start"), "None is omitted");
    // ... in JSON too (policy-file manifests of runs without a warm start keep their bytes).
    let json = serde_json::to_value(PpoConfig::cluster_default(0)).unwrap();
    assert!(json.get("warm_start").is_none(), "{json}");
    table.extend(
        toml::from_str::<toml::Table>("warm_start = { teacher = \"runbook\", steps = 100 }")
            .unwrap(),
    );
    let cfg: PpoConfig = table.clone().try_into().unwrap();
    let ws = cfg.warm_start.unwrap();
    assert_eq!(ws.steps, 100);
    assert_eq!(ws.epochs, WarmStartConfig::default().epochs);
    table.insert(
        "warm_start".into(),
        toml::from_str::<toml::Table>("x = { stepz = 3 }").unwrap()["x"].clone(),
    );
    let err = table.try_into::<PpoConfig>().unwrap_err().to_string();
    assert!(err.contains("stepz"), "{err}");

    // A teacher the agent does not know is refused by name before any work.
    let unknown = PpoConfig {
        warm_start: Some(WarmStartConfig {
            teacher: "oracle".into(),
            ..warm()
        }),
        ..config(1)
    };
    let err = Ppo::for_env(unknown, &vec_env(1)).unwrap_err().to_string();
    assert!(err.contains("warm_start.teacher"), "{err}");
}
