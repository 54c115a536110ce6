//! Masked actions are never chosen: not while PPO or DQN collect experience (the env refuses them, so
//! `learn` would fail), and not by the trained policies, deterministic or sampled.

mod common;

use common::MaskedEnv;
use mend_agents::{Agent, Dqn, DqnConfig, NullSink, Policy, Ppo, PpoConfig};
use mend_envs::{Env, Observation};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn check_policy_respects_masks(policy: &dyn Policy) {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let masks = [
        [true, false, false, false],
        [false, false, true, true],
        [false, true, false, true],
        [true, true, false, false],
    ];
    for (k, mask) in masks.iter().enumerate() {
        let obs = Observation::Vector(vec![(k % 2) as f32, 0.3]);
        for deterministic in [true, false] {
            for _ in 0..200 {
                let a = policy
                    .predict(&obs, Some(mask), deterministic, &mut rng)
                    .unwrap();
                assert!(
                    mask[a],
                    "{} chose masked action {a} under {mask:?}",
                    policy.algorithm()
                );
            }
        }
    }
}

#[test]
fn ppo_never_takes_a_masked_action_and_learns_the_paying_ones() {
    let mut env = common::masked(4);
    let config = PpoConfig {
        num_envs: 4,
        num_steps: 40,
        total_timesteps: 8_000,
        ent_coef: 0.0,
        ..PpoConfig::cartpole_zoo(3)
    };
    let mut agent = Ppo::for_env(config, &env).unwrap();
    let summary = agent.learn(&mut env, 8_000, &mut NullSink).unwrap();
    assert!(summary.episodes > 0);
    let policy = agent.policy();
    check_policy_respects_masks(policy.as_ref());
    // Learned: a full episode of paying actions returns 20; random valid play returns 10 on average.
    let mut eval = MaskedEnv::default();
    let returns =
        mend_agents::eval::evaluate(policy.as_ref(), &mut eval as &mut dyn Env, 5, 0, true)
            .unwrap();
    assert!(returns.iter().all(|&r| r >= 18.0), "{returns:?}");
}

#[test]
fn dqn_never_takes_a_masked_action() {
    let mut env = common::masked(2);
    let config = DqnConfig {
        num_envs: 2,
        total_timesteps: 3_000,
        learning_starts: 200,
        train_frequency: 16,
        gradient_steps: 4,
        hidden: vec![32],
        ..DqnConfig::cartpole_zoo(4)
    };
    let mut agent = Dqn::for_env(config, &env).unwrap();
    agent.learn(&mut env, 3_000, &mut NullSink).unwrap();
    check_policy_respects_masks(agent.policy().as_ref());
}
