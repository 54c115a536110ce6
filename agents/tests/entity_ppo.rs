//! PPO with the entity network on the cluster env: `Ppo::for_env` picks the entity network for entity
//! observations, rollouts never take a masked action (the env refuses them, so one would fail
//! `learn`), training is deterministic, and a policy trained on `tiny` acts on `default` after a trip
//! through a policy file.

use std::path::Path;

use mend_agents::policy_file::TrainingInfo;
use mend_agents::ppo::nets::Nets;
use mend_agents::{
    ActionScores, Agent, FeatureSchema, NetworkSpec, NullSink, Policy, PolicyFile, PolicyNet, Ppo,
    PpoConfig, noop_first_decision,
};
use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, SyncVectorEnv};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const STEPS: u64 = 1_024;

fn cluster_vec_env(scenario: &str, n: usize) -> SyncVectorEnv {
    let envs = (0..n)
        .map(|_| {
            Box::new(ClusterEnv::builtin(scenario, ClusterConfig::default()).unwrap())
                as Box<dyn Env>
        })
        .collect();
    SyncVectorEnv::new(envs, AutoresetMode::SameStep).unwrap()
}

fn config(seed: u64) -> PpoConfig {
    PpoConfig {
        total_timesteps: STEPS,
        num_envs: 4,
        num_steps: 64,
        num_minibatches: 4,
        update_epochs: 2,
        hidden: vec![32],
        ..PpoConfig::cluster_default(seed)
    }
}

fn kind_names() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

fn train(seed: u64) -> (Ppo, PolicyFile) {
    let mut env = cluster_vec_env("tiny", 4);
    let mut agent = Ppo::for_env(config(seed), &env).unwrap();
    assert!(matches!(agent.nets(), Nets::Entity(_)));
    // The env refuses masked actions with an error (ClusterConfig::default), so a rollout that
    // sampled one would fail here.
    let summary = agent.learn(&mut env, STEPS, &mut NullSink).unwrap();
    assert_eq!(summary.num_timesteps, STEPS);
    assert!(summary.gradient_steps > 0);
    let file = agent.export(
        FeatureSchema::builtin_entities(),
        kind_names(),
        TrainingInfo {
            env_id: "mend/Cluster-v0".into(),
            scenario_family: Some("tiny".into()),
            seed,
            summary,
            config: serde_json::to_value(agent.config()).unwrap(),
        },
    );
    (agent, file)
}

#[test]
fn entity_ppo_trains_deterministically_and_the_tiny_policy_acts_on_default() {
    let (agent, file) = train(7);
    let (_, again) = train(7);
    let bytes = file.to_bytes(Path::new("mem")).unwrap();
    assert_eq!(
        bytes,
        again.to_bytes(Path::new("mem")).unwrap(),
        "same seed, same policy file"
    );
    // Training changed the weights (a fresh agent of the same seed differs).
    let fresh = Ppo::for_env(config(7), &cluster_vec_env("tiny", 4)).unwrap();
    assert_ne!(fresh.nets(), agent.nets());
    assert!(matches!(file.manifest.network, NetworkSpec::Entity(_)));

    // Save, load, act on `default` (more entities than `tiny`) for a whole episode: masks respected.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ppo.safetensors");
    file.save(&path).unwrap();
    let loaded = PolicyFile::load(&path, Some(&FeatureSchema::builtin_entities())).unwrap();
    assert!(matches!(loaded.policy, PolicyNet::Entity(_)));
    let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    let (mut obs, _) = env.reset(Some(1_000), None).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut steps, mut sampled_steps) = (0usize, 0usize);
    loop {
        let mask = env.action_mask().unwrap();
        assert!(
            mask.len() > file.manifest.action_count,
            "default is larger than tiny"
        );
        // Alternate deterministic and sampled decisions; the env errors on a masked action.
        let deterministic = steps % 2 == 0;
        let a = loaded
            .policy
            .predict(&obs, Some(&mask), deterministic, &mut rng)
            .unwrap();
        assert!(mask[a], "masked action {a} chosen");
        if deterministic {
            // Greedy is the no-op-first decision on the policy's own probabilities (the executor's
            // confidence gate reads the same decision).
            let ActionScores::Probabilities(p) =
                loaded.policy.action_scores(&obs, Some(&mask)).unwrap()
            else {
                panic!("a PPO policy gives probabilities")
            };
            assert_eq!(a, noop_first_decision(&p).action, "step {steps}");
        }
        sampled_steps += usize::from(!deterministic);
        let step = env.step(a).unwrap();
        obs = step.obs;
        steps += 1;
        if step.terminated || step.truncated {
            break;
        }
    }
    assert!(steps > 100 && sampled_steps > 50, "{steps} steps");
}

#[test]
fn entity_network_sampling_never_picks_masked_actions_under_random_masks() {
    let env = cluster_vec_env("tiny", 4);
    let agent = Ppo::for_env(config(3), &env).unwrap();
    let policy = agent.policy();
    let mut single = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    let (obs, _) = single.reset(Some(5), None).unwrap();
    let n = policy.n_actions();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for shift in 0..n {
        // Only two actions valid, a different pair each time.
        let mask: Vec<bool> = (0..n).map(|a| a == shift || a == (shift + 3) % n).collect();
        for _ in 0..20 {
            let a = policy.predict(&obs, Some(&mask), false, &mut rng).unwrap();
            assert!(mask[a], "masked action {a} with mask {mask:?}");
        }
    }
}

#[test]
fn init_act_prob_sets_how_often_a_fresh_entity_policy_acts_at_any_cluster_size() {
    let noop_probability = |init_act_prob: Option<f64>, scenario: &str| -> f32 {
        let env = cluster_vec_env(scenario, 1);
        let cfg = PpoConfig {
            num_envs: 1,
            init_act_prob,
            ..config(11)
        };
        let policy = Ppo::for_env(cfg, &env).unwrap().policy();
        let mut single = ClusterEnv::builtin(scenario, ClusterConfig::default()).unwrap();
        let (obs, _) = single.reset(Some(5), None).unwrap();
        match policy.action_scores(&obs, None).unwrap() {
            ActionScores::Probabilities(p) => p[0],
            other => panic!("expected probabilities, got {other:?}"),
        }
    };
    for scenario in ["tiny", "default"] {
        let half = noop_probability(None, scenario);
        let rare = noop_probability(Some(0.1), scenario);
        let common = noop_probability(Some(0.8), scenario);
        // Raw scores of a fresh network are small but not 0, so the shares are near, not at, target.
        assert!((0.35..0.65).contains(&half), "{scenario}: {half}");
        assert!((0.82..0.96).contains(&rare), "{scenario}: {rare}");
        assert!((0.1..0.3).contains(&common), "{scenario}: {common}");
    }
}
