//! The entity DQN's decision rule end to end: its Q-values carry no size prior, greedy acting clears
//! the no-op margin (and never picks a masked action), and the margin travels in the policy file's
//! manifest so a loaded policy (`mend_agents::dqn::load_policy`, what the executor should call)
//! decides exactly as the trained agent does.

use mend_agents::dqn::{DqnEntityPolicy, EntityDqn, load_policy};
use mend_agents::nn::entity::action_prior;
use mend_agents::policy_file::TrainingInfo;
use mend_agents::{ActionScores, Agent, DqnConfig, FeatureSchema, NullSink, Policy, PolicyNet};
use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, Observation, SyncVectorEnv};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn kind_names() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

fn tiny_env(n: usize) -> SyncVectorEnv {
    let envs = (0..n)
        .map(|_| {
            Box::new(ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap()) as Box<dyn Env>
        })
        .collect();
    SyncVectorEnv::new(envs, AutoresetMode::SameStep).unwrap()
}

/// A briefly trained agent (every phase of the loop runs) with the given margin.
fn trained(margin: f64) -> EntityDqn {
    let config = DqnConfig {
        total_timesteps: 512,
        num_envs: 2,
        buffer_size: 500,
        learning_starts: 128,
        target_network_frequency: 64,
        batch_size: 16,
        train_frequency: 8,
        gradient_steps: 2,
        hidden: vec![16],
        explore_act_prob: Some(0.3),
        noop_margin: margin,
        ..DqnConfig::cluster_default(11)
    };
    let mut env = tiny_env(2);
    let mut agent = EntityDqn::for_env(config, &env).unwrap();
    agent.learn(&mut env, 512, &mut NullSink).unwrap();
    agent
}

/// Observations of a `default` episode under random valid actions, with their masks.
fn default_states(n: usize) -> Vec<(Observation, Vec<bool>)> {
    let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    let (mut obs, _) = env.reset(Some(1_000), None).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut out = Vec::new();
    for _ in 0..n {
        let mask = env.action_mask().unwrap();
        out.push((obs.clone(), mask.clone()));
        let valid: Vec<usize> = (0..mask.len()).filter(|&a| mask[a]).collect();
        let a = if rng.random::<f64>() < 0.8 {
            0
        } else {
            valid[rng.random_range(0..valid.len())]
        };
        let step = env.step(a).unwrap();
        obs = step.obs;
        if step.terminated || step.truncated {
            break;
        }
    }
    out
}

fn q_values(policy: &dyn Policy, obs: &Observation, mask: &[bool]) -> Vec<f32> {
    match policy.action_scores(obs, Some(mask)).unwrap() {
        ActionScores::QValues(q) => q,
        other => panic!("a DQN policy gives Q-values, got {other:?}"),
    }
}

#[test]
fn q_values_are_the_scores_without_the_size_prior() {
    let agent = trained(0.0);
    let policy = agent.dqn_policy();
    let PolicyNet::Entity(raw) = agent.policy_net() else {
        panic!("entity network")
    };
    for (obs, mask) in default_states(5) {
        let q = q_values(&policy, &obs, &mask);
        let scores = q_values(raw.as_ref(), &obs, &mask);
        let n_entities = (q.len() - 1) / mend_envs::cluster::N_KINDS;
        let prior = action_prior(n_entities, mend_envs::cluster::N_KINDS);
        assert!(prior < -1.0, "default has many actions: prior {prior}");
        assert_eq!(q[0], scores[0], "the no-op's value is untouched");
        for a in 1..q.len() {
            if mask[a] {
                assert!((q[a] - (scores[a] - prior)).abs() < 1e-4, "action {a}");
            } else {
                assert_eq!(q[a], f32::NEG_INFINITY);
            }
        }
    }
}

#[test]
fn greedy_acts_only_past_the_margin_and_never_picks_a_masked_action() {
    let agent = trained(0.0);
    let base = agent.dqn_policy();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (mut acted, mut waited) = (0, 0);
    for (obs, mask) in default_states(60) {
        let q = q_values(&base, &obs, &mask);
        let (best, q_best) =
            q.iter()
                .copied()
                .enumerate()
                .skip(1)
                .fold(
                    (0, f32::NEG_INFINITY),
                    |acc, (a, v)| {
                        if v > acc.1 { (a, v) } else { acc }
                    },
                );
        let gap = q_best - q[0];
        // Margins on either side of this state's gap (a trained network's gaps may be negative:
        // the decision rule itself takes any margin), and far on either side.
        for margin in [gap - 0.01, gap + 0.01, -1e3, 1e3] {
            let policy = DqnEntityPolicy {
                noop_margin: margin,
                ..base.clone()
            };
            let a = policy.predict(&obs, Some(&mask), true, &mut rng).unwrap();
            assert!(mask[a], "masked action {a} chosen");
            if gap > margin {
                assert_eq!(
                    a, best,
                    "gap {gap} > margin {margin}: act on the best action"
                );
                acted += 1;
            } else {
                assert_eq!(a, 0, "gap {gap} <= margin {margin}: wait");
                waited += 1;
            }
            // Sampled acting (epsilon-greedy) never picks a masked action either.
            let s = policy.predict(&obs, Some(&mask), false, &mut rng).unwrap();
            assert!(mask[s]);
        }
    }
    assert!(
        acted > 0 && waited > 0,
        "both branches ran: {acted} / {waited}"
    );
}

#[test]
fn the_margin_travels_in_the_policy_file_and_the_loaded_policy_decides_the_same() {
    let agent = trained(0.02);
    let file = agent.export(
        FeatureSchema::builtin_entities(),
        kind_names(),
        TrainingInfo {
            env_id: mend_envs::cluster::CLUSTER_ID.into(),
            scenario_family: Some("tiny".into()),
            seed: 11,
            summary: mend_agents::TrainSummary {
                num_timesteps: agent.num_timesteps(),
                episodes: 0,
                mean_return_last_100: None,
                gradient_steps: 0,
            },
            // Overwritten by `export` with the agent's own configuration.
            config: serde_json::Value::Null,
        },
    );
    assert_eq!(file.manifest.training.config["noop_margin"], 0.02);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dqn.safetensors");
    file.save(&path).unwrap();
    let loaded = load_policy(&path, Some(&FeatureSchema::builtin_entities())).unwrap();
    let trained_policy = agent.dqn_policy();
    assert!((trained_policy.noop_margin - 0.02).abs() < 1e-7);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (obs, mask) in default_states(40) {
        assert_eq!(
            q_values(loaded.as_ref(), &obs, &mask),
            q_values(&trained_policy, &obs, &mask)
        );
        assert_eq!(
            loaded.predict(&obs, Some(&mask), true, &mut rng).unwrap(),
            trained_policy
                .predict(&obs, Some(&mask), true, &mut rng)
                .unwrap()
        );
    }
    // The agent's own `policy()` is the same decision rule.
    let (obs, mask) = default_states(1).remove(0);
    assert_eq!(
        agent
            .policy()
            .predict(&obs, Some(&mask), true, &mut rng)
            .unwrap(),
        trained_policy
            .predict(&obs, Some(&mask), true, &mut rng)
            .unwrap()
    );
}
