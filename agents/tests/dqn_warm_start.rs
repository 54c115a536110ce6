//! DQN's warm start from the runbook (DQfD: demonstrations kept beside the replay buffer, pre-training
//! with the large-margin loss and one-step + n-step TD, then DQN with demonstrations in every
//! minibatch): the pre-trained Q-network takes the teacher's decisions on held-out teacher states far
//! more often than a fresh one; warm start and DQN are deterministic for a seed whatever the thread
//! count; a resumed run does not pre-train again; config errors name the field; configs without a
//! warm start serialise as before.
//!
//! The scenario is `tiny` with frequent process crashes (`common::crashy_tiny`), as PPO's warm-start
//! test uses.

use mend_agents::dqn::{DqnWarmStartConfig, EntityDqn};
use mend_agents::teacher_agreement;
use mend_agents::{Agent, Dqn, DqnConfig, NullSink, Policy, VecSink, WarmStartConfig};
use mend_envs::SyncVectorEnv;

mod common;

fn vec_env(n: usize) -> SyncVectorEnv {
    common::crashy_tiny_env(n)
}

fn warm() -> DqnWarmStartConfig {
    DqnWarmStartConfig {
        steps: 1_920,
        pretrain_steps: 300,
        target_update_interval: 100,
        n_step: 5,
        // The runbook acts on ~9 % of crashy-tiny's steps; at weight 1 the margin loss of the
        // waiting states wins and the network never acts (measured: acting recall 0.0 vs 0.88).
        act_weight: 10.0,
        ..DqnWarmStartConfig::default()
    }
}

/// Small and fast, with every phase: recording, pre-training, DQN with mixed minibatches.
fn config(seed: u64) -> DqnConfig {
    DqnConfig {
        total_timesteps: 512,
        num_envs: 4,
        buffer_size: 2_000,
        learning_starts: 64,
        target_network_frequency: 128,
        batch_size: 32,
        train_frequency: 4,
        gradient_steps: 1,
        learning_rate: 1e-3,
        start_e: 0.05,
        end_e: 0.01,
        hidden: vec![32],
        warm_start: Some(warm()),
        ..DqnConfig::cluster_default(seed)
    }
}

/// Agreement with the runbook on held-out teacher states (other reset seeds than the recording's).
fn held_out(policy: &dyn Policy) -> mend_agents::Agreement {
    let teacher = WarmStartConfig::default();
    teacher_agreement(policy, &mut vec_env(4), &teacher, 240, 90_000).unwrap()
}

#[test]
fn pretraining_takes_the_teachers_decisions_on_held_out_teacher_states() {
    let mut env = vec_env(4);
    let mut agent = EntityDqn::for_env(config(5), &env).unwrap();
    let before = held_out(&agent.dqn_policy());
    let mut sink = VecSink::default();
    let report = agent.warm_start(&mut env, &mut sink).unwrap();
    assert!(agent.warm_started());
    assert_eq!(report.transitions, 1_920);
    assert_eq!(report.gradient_steps, 300);
    assert!(report.teacher_act_share > 0.02, "{report:?}");
    let margins = sink.values("warm_start/margin_loss");
    assert_eq!(margins.len(), 3, "one record per 100 steps");
    assert!(margins[2] < margins[0], "{margins:?}");

    let cloned = held_out(&agent.dqn_policy());
    assert!(cloned.teacher_acts >= 20, "{cloned:?}");
    // A fresh network acts on almost nothing the teacher does; the pre-trained one takes most of
    // the teacher's acting decisions without acting much where the teacher waits.
    assert!(cloned.act_recall() > 0.5, "{cloned:?}");
    assert!(
        cloned.act_recall() > before.act_recall() + 0.3,
        "{before:?} -> {cloned:?}"
    );
    assert!(
        cloned.accuracy() > cloned.noop_accuracy() - 0.05,
        "{cloned:?}"
    );
}

/// Warm start then DQN on seed 9: the Q-network's weights, as bytes.
fn warm_then_dqn_bytes() -> Vec<u8> {
    let mut env = vec_env(4);
    let mut agent = EntityDqn::for_env(config(9), &env).unwrap();
    let mut sink = VecSink::default();
    agent.learn(&mut env, 512, &mut sink).unwrap();
    assert!(agent.warm_started());
    assert!(!sink.values("warm_start/loss").is_empty());
    assert!(sink.values("losses/td_loss").iter().all(|l| l.is_finite()));
    agent
        .q_params()
        .tensors()
        .iter()
        .flat_map(|t| t.iter().flat_map(|x| x.to_le_bytes()))
        .collect()
}

/// Child mode of the thread-count test: when `MEND_DQN_WARM_OUT` is set, write the bytes there.
#[test]
fn child_writes_warm_started_dqn_weights() {
    if let Ok(out) = std::env::var("MEND_DQN_WARM_OUT") {
        std::fs::write(out, warm_then_dqn_bytes()).unwrap();
    }
}

#[test]
fn warm_start_then_dqn_is_deterministic_whatever_the_thread_count() {
    let [one, two] = common::bytes_on_1_and_2_threads(
        "child_writes_warm_started_dqn_weights",
        "MEND_DQN_WARM_OUT",
    );
    assert!(one == two, "1 and 2 threads give different weights");
}

#[test]
fn a_resumed_run_does_not_pretrain_again() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("dqn.ckpt");
    let mut env = vec_env(4);
    let mut agent = EntityDqn::for_env(config(3), &env).unwrap();
    agent.learn(&mut env, 256, &mut NullSink).unwrap();
    agent.save_checkpoint(&ckpt).unwrap();

    let mut resumed = EntityDqn::for_env(config(3), &env).unwrap();
    assert!(!resumed.warm_started());
    resumed.load_checkpoint(&ckpt).unwrap();
    assert!(resumed.warm_started());
    let mut sink = VecSink::default();
    resumed.learn(&mut env, 512, &mut sink).unwrap();
    assert!(
        sink.values("warm_start/loss").is_empty(),
        "the resumed run pre-trained again"
    );
    assert!(!sink.values("losses/td_loss").is_empty());
    assert_eq!(resumed.num_timesteps(), 512);
}

#[test]
fn warm_start_config_errors_name_the_field_and_toml_fills_defaults() {
    let bad = DqnConfig {
        warm_start: Some(DqnWarmStartConfig {
            n_step: 0,
            ..warm()
        }),
        ..config(1)
    };
    let err = EntityDqn::for_env(bad, &vec_env(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("warm_start.n_step"), "{err}");
    // An MLP agent cannot learn from the cluster's teachers.
    let err = Dqn::new(config(1), 4, 2).unwrap_err().to_string();
    assert!(err.contains("warm_start"), "{err}");

    // None is omitted, in TOML and in JSON (manifests of runs without a warm start keep their bytes).
    let mut table = toml::Table::try_from(DqnConfig::cluster_default(0)).unwrap();
    assert!(!table.contains_key("warm_start"));
    let json = serde_json::to_value(DqnConfig::cluster_default(0)).unwrap();
    assert!(json.get("warm_start").is_none(), "{json}");
    // As an experiment's `params` give it: a partial inline table over the defaults.
    table.extend(
        toml::from_str::<toml::Table>("warm_start = { teacher = \"runbook\", steps = 100 }")
            .unwrap(),
    );
    let cfg: DqnConfig = table.clone().try_into().unwrap();
    let ws = cfg.warm_start.unwrap();
    assert_eq!(ws.steps, 100);
    assert_eq!(ws.n_step, DqnWarmStartConfig::default().n_step);
    table.insert(
        "warm_start".into(),
        toml::from_str::<toml::Table>("x = { stepz = 3 }").unwrap()["x"].clone(),
    );
    let err = table.try_into::<DqnConfig>().unwrap_err().to_string();
    assert!(err.contains("stepz"), "{err}");
}

/// The Q-network's weights, as bytes.
fn weight_bytes(agent: &EntityDqn) -> Vec<u8> {
    agent
        .q_params()
        .tensors()
        .iter()
        .flat_map(|t| t.iter().flat_map(|x| x.to_le_bytes()))
        .collect()
}

#[test]
fn one_warm_start_serves_several_dqn_phases_each_as_a_run_of_its_own() {
    let mut env = vec_env(4);
    let mut warm_agent = EntityDqn::for_env(config(4), &env).unwrap();
    warm_agent.learn(&mut env, 0, &mut NullSink).unwrap();
    assert!(warm_agent.warm_started());
    assert_eq!(warm_agent.num_timesteps(), 0);

    // The same configuration from the copy: the same weights as an uninterrupted run.
    let mut copy = warm_agent.with_dqn_phase(config(4)).unwrap();
    copy.learn(&mut env, 256, &mut NullSink).unwrap();
    let mut whole = EntityDqn::for_env(config(4), &env).unwrap();
    whole.learn(&mut env, 0, &mut NullSink).unwrap();
    whole.learn(&mut env, 256, &mut NullSink).unwrap();
    assert!(weight_bytes(&copy) == weight_bytes(&whole));

    // Another DQN phase (learning rate and demonstration share) from the same warm start moves
    // the same pre-trained weights elsewhere.
    let tuned = DqnConfig {
        warm_start: Some(DqnWarmStartConfig {
            dqn_learning_rate: Some(1e-5),
            demo_ratio: 0.5,
            ..warm()
        }),
        target_network_frequency: 512,
        ..config(4)
    };
    let mut other = warm_agent.with_dqn_phase(tuned.clone()).unwrap();
    assert_eq!(other.config(), &tuned);
    other.learn(&mut env, 256, &mut NullSink).unwrap();
    assert!(weight_bytes(&other) != weight_bytes(&copy));

    // What the warm start read cannot change, and a trained agent is no warm start any more.
    let err = warm_agent
        .with_dqn_phase(DqnConfig {
            hidden: vec![16],
            ..config(4)
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("config"), "{err}");
    let err = copy.with_dqn_phase(config(4)).unwrap_err().to_string();
    assert!(err.contains("no DQN step yet"), "{err}");
}

#[test]
fn a_dueling_agent_warm_starts_and_trains_with_finite_losses_and_a_trained_value_head() {
    let cfg = DqnConfig {
        dueling: true,
        ..config(6)
    };
    let mut env = vec_env(4);
    let mut agent = EntityDqn::for_env(cfg, &env).unwrap();
    let value_before = agent.q_params().value.clone();
    let mut sink = VecSink::default();
    agent.learn(&mut env, 256, &mut sink).unwrap();
    assert!(sink.values("warm_start/loss").iter().all(|l| l.is_finite()));
    assert!(!sink.values("losses/td_loss").is_empty());
    assert!(sink.values("losses/td_loss").iter().all(|l| l.is_finite()));
    // Plain DQN leaves the value head as initialised; the dueling Q-values train it.
    assert_ne!(agent.q_params().value, value_before);
    // An MLP agent has no dueling head.
    let err = Dqn::new(
        DqnConfig {
            dueling: true,
            warm_start: None,
            ..config(1)
        },
        4,
        2,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("dueling"), "{err}");
}
