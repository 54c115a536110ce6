//! DQN with the entity network on the cluster env: `EntityDqn` trains on entity sets (the env refuses
//! masked actions, so an exploring or greedy step that picked one would fail `learn`), training and
//! export are deterministic (train twice, compare the policy files' bytes), checkpoints round-trip,
//! and a policy trained on `tiny` acts on `default` with Q-values after a trip through a policy file.

use std::path::Path;

use mend_agents::dqn::EntityDqn;
use mend_agents::policy::OutputKind;
use mend_agents::policy_file::TrainingInfo;
use mend_agents::{
    ActionScores, Agent, DqnConfig, FeatureSchema, NetworkSpec, NullSink, Policy, PolicyFile,
    PolicyNet, VecSink,
};
use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, SyncVectorEnv};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const STEPS: u64 = 768;

fn cluster_vec_env(scenario: &str, n: usize) -> SyncVectorEnv {
    let envs = (0..n)
        .map(|_| {
            Box::new(ClusterEnv::builtin(scenario, ClusterConfig::default()).unwrap())
                as Box<dyn Env>
        })
        .collect();
    SyncVectorEnv::new(envs, AutoresetMode::SameStep).unwrap()
}

/// Small and fast, but every phase runs: random acting, epsilon-greedy, target copies, episodes that
/// end (tiny's episodes are 120 steps), gradient phases with double-DQN targets.
fn config(seed: u64) -> DqnConfig {
    DqnConfig {
        total_timesteps: STEPS,
        num_envs: 2,
        buffer_size: 500,
        learning_starts: 128,
        target_network_frequency: 64,
        batch_size: 16,
        train_frequency: 8,
        gradient_steps: 2,
        hidden: vec![16],
        explore_act_prob: Some(0.3),
        ..DqnConfig::cluster_default(seed)
    }
}

fn kind_names() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

fn train(seed: u64) -> (EntityDqn, PolicyFile, VecSink) {
    let mut env = cluster_vec_env("tiny", 2);
    let mut agent = EntityDqn::for_env(config(seed), &env).unwrap();
    let mut sink = VecSink::default();
    let summary = agent.learn(&mut env, STEPS, &mut sink).unwrap();
    assert_eq!(summary.num_timesteps, STEPS);
    // (768 - 128) / (8 vector steps x 2 envs) = 40 phases of 2 steps past learning_starts.
    assert_eq!(summary.gradient_steps, 80);
    assert!(summary.episodes >= 2, "tiny episodes end: {summary:?}");
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
    (agent, file, sink)
}

#[test]
fn entity_dqn_trains_and_exports_deterministically_and_the_tiny_policy_acts_on_default() {
    let (agent, file, sink) = train(7);
    let (_, again, _) = train(7);
    let bytes = file.to_bytes(Path::new("mem")).unwrap();
    assert_eq!(
        bytes,
        again.to_bytes(Path::new("mem")).unwrap(),
        "same seed, same policy file"
    );
    let (_, other, _) = train(8);
    assert_ne!(bytes, other.to_bytes(Path::new("mem")).unwrap());
    let losses = sink.values("losses/td_loss");
    assert!(
        !losses.is_empty() && losses.iter().all(|l| l.is_finite()),
        "{losses:?}"
    );
    // Training changed the weights.
    let fresh = EntityDqn::for_env(config(7), &cluster_vec_env("tiny", 2)).unwrap();
    assert_ne!(fresh.q_params(), agent.q_params());
    assert!(matches!(file.manifest.network, NetworkSpec::Entity(_)));
    assert_eq!(file.manifest.output, OutputKind::QValues);
    assert_eq!(file.manifest.algorithm, "dqn");

    // Save, load, act on `default` (more entities than `tiny`) for a whole episode.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dqn.safetensors");
    file.save(&path).unwrap();
    let loaded = PolicyFile::load(&path, Some(&FeatureSchema::builtin_entities())).unwrap();
    assert!(matches!(loaded.policy, PolicyNet::Entity(_)));
    let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    let (mut obs, _) = env.reset(Some(1_000), None).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut steps = 0usize;
    loop {
        let mask = env.action_mask().unwrap();
        assert!(mask.len() > file.manifest.action_count, "default > tiny");
        let ActionScores::QValues(q) = loaded.policy.action_scores(&obs, Some(&mask)).unwrap()
        else {
            panic!("a DQN policy gives Q-values")
        };
        assert_eq!(q.len(), mask.len());
        for (a, valid) in mask.iter().enumerate() {
            assert_eq!(
                q[a].is_finite(),
                *valid,
                "action {a}: q {} mask {valid}",
                q[a]
            );
        }
        let deterministic = steps.is_multiple_of(2);
        let a = loaded
            .policy
            .predict(&obs, Some(&mask), deterministic, &mut rng)
            .unwrap();
        assert!(mask[a], "masked action {a} chosen");
        if deterministic {
            let best = q.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(q[a], best, "greedy is the argmax of the Q-values");
        }
        let step = env.step(a).unwrap();
        obs = step.obs;
        steps += 1;
        if step.terminated || step.truncated {
            break;
        }
    }
    assert!(steps > 100, "{steps} steps");
}

#[test]
fn entity_dqn_checkpoint_restores_networks_and_counters() {
    let mut env = cluster_vec_env("tiny", 2);
    let mut agent = EntityDqn::for_env(config(5), &env).unwrap();
    agent.learn(&mut env, 256, &mut NullSink).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    agent.save_checkpoint(&path).unwrap();
    let mut restored = EntityDqn::for_env(config(5), &env).unwrap();
    assert_ne!(restored.q_params(), agent.q_params());
    restored.load_checkpoint(&path).unwrap();
    assert_eq!(restored.q_params(), agent.q_params());
    assert_eq!(restored.num_timesteps(), agent.num_timesteps());
    // Another configuration is refused.
    let mut other = EntityDqn::for_env(
        DqnConfig {
            gamma: 0.5,
            ..config(5)
        },
        &env,
    )
    .unwrap();
    assert!(other.load_checkpoint(&path).is_err());
}

#[test]
fn entity_dqn_refuses_vector_envs_and_the_mlp_dqn_refuses_entity_sets() {
    let cartpole = SyncVectorEnv::new(
        vec![mend_envs::make("CartPole-v1").unwrap()],
        AutoresetMode::SameStep,
    )
    .unwrap();
    assert!(EntityDqn::for_env(config(1), &cartpole).is_err());
    let cluster = cluster_vec_env("tiny", 2);
    assert!(mend_agents::Dqn::for_env(config(1), &cluster).is_err());
}
