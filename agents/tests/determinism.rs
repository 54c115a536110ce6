//! Determinism: one seed gives byte-identical policy files, run twice in one process and run in child
//! processes with one and with two candle/rayon threads; another seed gives another file; a run resumed
//! from a checkpoint equals the uninterrupted run.

mod common;

use std::path::Path;

use mend_agents::policy_file::TrainingInfo;
use mend_agents::{Agent, Dqn, DqnConfig, FeatureSchema, NullSink, PolicyFile, Ppo, PpoConfig};

const PPO_STEPS: u64 = 2_048;
const DQN_STEPS: u64 = 1_500;

fn ppo_config(seed: u64) -> PpoConfig {
    PpoConfig {
        total_timesteps: PPO_STEPS,
        ..PpoConfig::cartpole_zoo(seed)
    }
}

fn dqn_config(seed: u64) -> DqnConfig {
    DqnConfig {
        total_timesteps: DQN_STEPS,
        learning_starts: 500,
        train_frequency: 64,
        gradient_steps: 8,
        hidden: vec![64, 64],
        ..DqnConfig::cartpole_zoo(seed)
    }
}

fn file_bytes(
    policy: mend_agents::MlpPolicy,
    summary: mend_agents::TrainSummary,
    seed: u64,
) -> Vec<u8> {
    let training = TrainingInfo {
        env_id: "CartPole-v1".into(),
        scenario_family: None,
        seed,
        summary,
        config: serde_json::Value::Null,
    };
    let file = PolicyFile::new(
        policy,
        FeatureSchema::cartpole(),
        vec!["left".into(), "right".into()],
        training,
    );
    file.to_bytes(Path::new("mem")).unwrap()
}

fn train_ppo(seed: u64) -> Vec<u8> {
    let mut env = common::cartpole(8);
    let mut agent = Ppo::for_env(ppo_config(seed), &env).unwrap();
    let summary = agent.learn(&mut env, PPO_STEPS, &mut NullSink).unwrap();
    file_bytes(
        agent.mlp_policy().expect("CartPole: an MLP agent"),
        summary,
        seed,
    )
}

fn train_dqn(seed: u64) -> Vec<u8> {
    let mut env = common::cartpole(1);
    let mut agent = Dqn::for_env(dqn_config(seed), &env).unwrap();
    let summary = agent.learn(&mut env, DQN_STEPS, &mut NullSink).unwrap();
    file_bytes(agent.mlp_policy(), summary, seed)
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = train_ppo(5);
    assert_eq!(a, train_ppo(5), "PPO: two runs with seed 5 differ");
    assert_ne!(a, train_ppo(6), "PPO: seeds 5 and 6 give the same policy");
    let d = train_dqn(5);
    assert_eq!(d, train_dqn(5), "DQN: two runs with seed 5 differ");
    assert_ne!(d, train_dqn(6), "DQN: seeds 5 and 6 give the same policy");
}

/// Child mode of [`policy_bytes_do_not_depend_on_the_thread_count`]: when `MEND_AGENTS_DETERMINISM_OUT`
/// is set, train both agents and write their policy bytes there; otherwise do nothing.
#[test]
fn child_writes_policy_bytes() {
    if let Ok(out) = std::env::var("MEND_AGENTS_DETERMINISM_OUT") {
        let mut bytes = train_ppo(11);
        bytes.extend(train_dqn(11));
        std::fs::write(out, bytes).unwrap();
    }
}

#[test]
fn policy_bytes_do_not_depend_on_the_thread_count() {
    let [one, two] = common::bytes_on_1_and_2_threads(
        "child_writes_policy_bytes",
        "MEND_AGENTS_DETERMINISM_OUT",
    );
    assert!(
        one == two,
        "1 thread and 2 threads give different policy files"
    );
}

#[test]
fn resumed_ppo_equals_uninterrupted_ppo() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ppo.ckpt.safetensors");
    let half = PPO_STEPS / 2;

    let mut env = common::cartpole(8);
    let mut straight = Ppo::for_env(ppo_config(21), &env).unwrap();
    straight.learn(&mut env, half, &mut NullSink).unwrap();
    straight.save_checkpoint(&ckpt).unwrap();
    straight.learn(&mut env, PPO_STEPS, &mut NullSink).unwrap();

    let mut env2 = common::cartpole(8);
    let mut resumed = Ppo::for_env(ppo_config(21), &env2).unwrap();
    resumed.load_checkpoint(&ckpt).unwrap();
    assert_eq!(resumed.num_timesteps(), half);
    resumed.learn(&mut env2, PPO_STEPS, &mut NullSink).unwrap();

    assert_eq!(straight.mlp_policy(), resumed.mlp_policy());
    assert_eq!(straight.critic(), resumed.critic());
    // And the checkpoint really carried state: a fresh agent trained only on the second half differs.
    let mut env3 = common::cartpole(8);
    let mut fresh = Ppo::for_env(ppo_config(21), &env3).unwrap();
    fresh.learn(&mut env3, half, &mut NullSink).unwrap();
    assert_ne!(fresh.mlp_policy(), resumed.mlp_policy());
}

#[test]
fn checkpoint_of_another_config_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("dqn.ckpt.safetensors");
    let env = common::cartpole(1);
    let agent = Dqn::for_env(dqn_config(1), &env).unwrap();
    agent.save_checkpoint(&ckpt).unwrap();
    let mut other = Dqn::for_env(
        DqnConfig {
            gamma: 0.9,
            ..dqn_config(1)
        },
        &env,
    )
    .unwrap();
    let err = other.load_checkpoint(&ckpt).unwrap_err().to_string();
    assert!(err.contains("config"), "{err}");
}
