//! Short CartPole-v1 learning tests, one per algorithm: a fixed seed, a small budget, and a threshold far
//! above a random policy (about 22) that a learning agent clears with margin. The full runs of issue 4
//! (zoo budgets, 5 seeds, 100 evaluation episodes) are in `examples/cartpole.rs`.

mod common;

use mend_agents::eval::{evaluate, mean};
use mend_agents::{Agent, Dqn, DqnConfig, NullSink, Ppo, PpoConfig, VecSink};

#[test]
fn ppo_learns_cartpole_on_a_small_budget() {
    let total = 30_000;
    let config = PpoConfig {
        total_timesteps: total,
        ..PpoConfig::cartpole_zoo(7)
    };
    let mut env = common::cartpole(config.num_envs);
    let mut agent = Ppo::for_env(config, &env).unwrap();
    let mut sink = VecSink::default();
    agent.learn(&mut env, total, &mut sink).unwrap();
    // The diagnostics CleanRL logs are all there and finite.
    for name in [
        "losses/approx_kl",
        "losses/clipfrac",
        "losses/explained_variance",
        "losses/entropy",
        "losses/value_loss",
    ] {
        let v = sink.values(name);
        assert!(
            !v.is_empty() && v.iter().all(|x| x.is_finite()),
            "{name}: {v:?}"
        );
    }
    let mut eval_env = mend_envs::make("CartPole-v1").unwrap();
    let returns = evaluate(agent.policy().as_ref(), eval_env.as_mut(), 10, 123, true).unwrap();
    eprintln!("PPO short run, 10 deterministic episodes: {returns:?}");
    assert!(
        mean(&returns) >= 200.0,
        "mean return {} ({returns:?})",
        mean(&returns)
    );
}

#[test]
fn dqn_learns_cartpole_on_a_small_budget() {
    let total = 20_000;
    let config = DqnConfig {
        total_timesteps: total,
        ..DqnConfig::cartpole_zoo(7)
    };
    let mut env = common::cartpole(config.num_envs);
    let mut agent = Dqn::for_env(config, &env).unwrap();
    agent.learn(&mut env, total, &mut NullSink).unwrap();
    let mut eval_env = mend_envs::make("CartPole-v1").unwrap();
    let returns = evaluate(agent.policy().as_ref(), eval_env.as_mut(), 10, 123, true).unwrap();
    eprintln!("DQN short run, 10 deterministic episodes: {returns:?}");
    assert!(
        mean(&returns) >= 100.0,
        "mean return {} ({returns:?})",
        mean(&returns)
    );
}
