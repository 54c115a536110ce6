//! Tabular Q-learning: the update against hand-worked values, train-twice determinism, size
//! independence (trained on `tiny`, acting on `default`), masks, and policy-file round trip and
//! rejections.

use mend_agents::tabular::file::{load, save};
use mend_agents::tabular::{TabularConfig, TabularQ, UNTRIED};
use mend_agents::{AgentError, NullSink, Policy, PolicyFileError, TrainSummary};
use mend_envs::{
    Action, ClusterConfig, ClusterEnv, Discrete, EntityObs, Env, EnvError, Info, Observation,
    Space, Step,
};
use mend_monitor::features::FeatureSchema;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const N_KINDS: usize = mend_envs::cluster::N_KINDS;

fn kinds() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

/// One healthy service; every step costs 1 and ends the episode (truncated: a time limit).
#[derive(Debug)]
struct OneService;

fn one_service_obs() -> Observation {
    let s = FeatureSchema::builtin();
    let w = s.columns.len();
    let mut rows = vec![0.0; w];
    rows[s.column_index("is_service").unwrap()] = 1.0;
    rows[s.column_index("svc_replicas_up_ratio").unwrap()] = 1.0;
    Observation::Entities(EntityObs {
        global: vec![],
        width: w,
        rows,
    })
}

impl Env for OneService {
    fn id(&self) -> &str {
        "test/OneService-v0"
    }
    fn reset(&mut self, _: Option<u64>, _: Option<&Info>) -> Result<(Observation, Info), EnvError> {
        Ok((one_service_obs(), Info::new()))
    }
    fn step(&mut self, _: Action) -> Result<Step, EnvError> {
        Ok(Step {
            obs: one_service_obs(),
            reward: -1.0,
            terminated: false,
            truncated: true,
            info: Info::new(),
        })
    }
    fn observation_space(&self) -> Space {
        Space::Discrete(Discrete::new(1))
    }
    fn action_space(&self) -> Space {
        Space::Discrete(Discrete::new(1 + N_KINDS))
    }
    fn action_mask(&self) -> Option<Vec<bool>> {
        None
    }
}

#[test]
fn q_update_matches_hand_values() {
    let config = TabularConfig {
        learning_rate: 0.5,
        gamma: 0.9,
        start_e: 0.0,
        end_e: 0.0,
        reward_scale: 1.0,
        ..TabularConfig::default()
    };
    let mut q = TabularQ::new(config, FeatureSchema::builtin(), N_KINDS, 1 + N_KINDS, 0).unwrap();
    q.learn(&mut OneService, &[0], 2, &mut NullSink).unwrap();
    // Greedy picks the no-op (every entity entry is untried). Step 1: target -1 + 0.9 * 0 = -1,
    // Q = 0 + 0.5 * (-1 - 0) = -0.5. Step 2: target -1 + 0.9 * (-0.5) = -1.45,
    // Q = -0.5 + 0.5 * (-1.45 + 0.5) = -0.975.
    let p = q.policy();
    let values = p.q_values(&one_service_obs()).unwrap();
    assert!((values[0] - (-0.975)).abs() < 1e-6, "{values:?}");
    assert!(values[1..].iter().all(|&v| v == UNTRIED));
}

/// One healthy service; step `t` (1-based) pays `-t`; episodes are truncated after 3 steps.
#[derive(Debug, Default)]
struct ThreeSteps {
    t: u32,
}

impl Env for ThreeSteps {
    fn id(&self) -> &str {
        "test/ThreeSteps-v0"
    }
    fn reset(&mut self, _: Option<u64>, _: Option<&Info>) -> Result<(Observation, Info), EnvError> {
        self.t = 0;
        Ok((one_service_obs(), Info::new()))
    }
    fn step(&mut self, _: Action) -> Result<Step, EnvError> {
        self.t += 1;
        Ok(Step {
            obs: one_service_obs(),
            reward: -f64::from(self.t),
            terminated: false,
            truncated: self.t == 3,
            info: Info::new(),
        })
    }
    fn observation_space(&self) -> Space {
        Space::Discrete(Discrete::new(1))
    }
    fn action_space(&self) -> Space {
        Space::Discrete(Discrete::new(1 + N_KINDS))
    }
    fn action_mask(&self) -> Option<Vec<bool>> {
        None
    }
}

#[test]
fn n_step_targets_match_hand_values() {
    let config = TabularConfig {
        learning_rate: 1.0,
        gamma: 0.5,
        start_e: 0.0,
        end_e: 0.0,
        reward_scale: 1.0,
        n_step: 2,
        ..TabularConfig::default()
    };
    let mut q = TabularQ::new(config, FeatureSchema::builtin(), N_KINDS, 1 + N_KINDS, 0).unwrap();
    q.learn(&mut ThreeSteps::default(), &[0], 3, &mut NullSink)
        .unwrap();
    // Greedy is the no-op throughout, one state. Step 2 settles step 1: -1 + 0.5 * -2 + 0.25 * Q(=0)
    // = -2. Step 3 truncates with bootstrap Q = -2: step 2 gets -2 + 0.5 * -3 + 0.25 * -2 = -4, then
    // step 3 gets -3 + 0.5 * -2 = -4 (lr 1: each update sets the entry).
    let values = q.policy().q_values(&one_service_obs()).unwrap();
    assert!((values[0] - (-4.0)).abs() < 1e-6, "{values:?}");
    // One-step on the same env: -1, then -2 + 0.5 * -1 = -2.5, then -3 + 0.5 * -2.5 = -4.25.
    let one = TabularConfig {
        n_step: 1,
        ..q.config().clone()
    };
    let mut q1 = TabularQ::new(one, FeatureSchema::builtin(), N_KINDS, 1 + N_KINDS, 0).unwrap();
    q1.learn(&mut ThreeSteps::default(), &[0], 3, &mut NullSink)
        .unwrap();
    let v1 = q1.policy().q_values(&one_service_obs()).unwrap();
    assert!((v1[0] - (-4.25)).abs() < 1e-6, "{v1:?}");
}

#[test]
fn healthy_entities_are_never_acted_on_when_act_on_healthy_is_off() {
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    env.reset(Some(0), None).unwrap();
    let n = env.layout().unwrap().n_actions();
    let config = TabularConfig {
        min_visits: 1,
        explore_noop_share: 0.0,
        act_on_healthy: false,
        ..TabularConfig::default()
    };
    let mut healthy_usable = |config: TabularConfig| {
        let mut q = TabularQ::new(config, FeatureSchema::builtin(), N_KINDS, n, 9).unwrap();
        q.learn(&mut env, &[0, 1], 300, &mut NullSink).unwrap();
        let policy = q.policy();
        let d = policy.discretiser();
        let (q_entity, _) = policy.tables();
        let healthy: Vec<f32> = (0..q_entity.len())
            .filter(|i| d.is_healthy(i / N_KINDS))
            .map(|i| q_entity[i])
            .collect();
        assert_eq!(healthy.len(), 2 * N_KINDS);
        healthy.iter().filter(|&&v| v != UNTRIED).count()
    };
    assert_eq!(healthy_usable(config.clone()), 0);
    // With the switch on, the same run explores (and so may act on) healthy entities.
    let on = TabularConfig {
        act_on_healthy: true,
        ..config
    };
    assert!(healthy_usable(on) > 0);
}

#[test]
fn entity_advantages_are_learnt_relative_to_the_noop_of_the_same_state() {
    // Every step pays -1 and ends the episode; gamma 0 and lr 1 make each update set its entry to
    // its target. The no-op's value becomes -1; an entity action's target is then -1 - (-1) = 0, so
    // its stored advantage is 0 and its Q-value V + A = -1, the same as the no-op's, as it should be
    // for actions that change nothing.
    let config = TabularConfig {
        learning_rate: 1.0,
        gamma: 0.0,
        start_e: 1.0,
        end_e: 1.0,
        explore_noop_share: 0.5,
        reward_scale: 1.0,
        min_visits: 1,
        entity_advantage: true,
        ..TabularConfig::default()
    };
    let mut q = TabularQ::new(config, FeatureSchema::builtin(), N_KINDS, 1 + N_KINDS, 3).unwrap();
    q.learn(&mut OneService, &[0], 300, &mut NullSink).unwrap();
    let p = q.policy();
    let values = p.q_values(&one_service_obs()).unwrap();
    assert_eq!(values[0], -1.0);
    let tried: Vec<f32> = values[1..]
        .iter()
        .copied()
        .filter(|&v| v != UNTRIED)
        .collect();
    assert!(tried.len() >= N_KINDS / 2, "{values:?}");
    assert!(tried.iter().all(|&v| v == -1.0), "{values:?}");
    assert!(p.tables().0.iter().all(|&a| a == 0.0 || a == UNTRIED));
    // The flag travels in the policy file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("adv.safetensors");
    save(
        &p,
        &FeatureSchema::builtin(),
        kinds(),
        training_info(),
        &path,
    )
    .unwrap();
    let (manifest, loaded) = load(&path, &FeatureSchema::builtin(), 1 + N_KINDS).unwrap();
    assert!(manifest.entity_advantage && loaded.entity_advantage);
    assert_eq!(loaded.q_values(&one_service_obs()).unwrap(), values);
}

#[test]
fn confidence_bounds_only_lower_the_exported_entries() {
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    env.reset(Some(0), None).unwrap();
    let n = env.layout().unwrap().n_actions();
    let train = |confidence_z: f64, env: &mut ClusterEnv| {
        let config = TabularConfig {
            min_visits: 2,
            explore_noop_share: 0.3,
            start_e: 1.0,
            end_e: 1.0,
            confidence_z,
            ..TabularConfig::default()
        };
        let mut q = TabularQ::new(config, FeatureSchema::builtin(), N_KINDS, n, 4).unwrap();
        q.learn(env, &[0, 1], 400, &mut NullSink).unwrap();
        q.policy().tables().0.to_vec()
    };
    // Fully random acting: the bounds cannot change what is visited, so the tables are comparable.
    let plain = train(0.0, &mut env);
    let bounded = train(3.0, &mut env);
    assert_eq!(plain.len(), bounded.len());
    let mut lowered = 0;
    for (p, b) in plain.iter().zip(&bounded) {
        assert!(b <= p, "a bound above its estimate: {b} > {p}");
        lowered += usize::from(b < p);
    }
    assert!(lowered > 0, "no entry had spread targets");
}

fn train_tiny(seed: u64, steps: u64) -> (TabularQ, TrainSummary) {
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    env.reset(Some(0), None).unwrap();
    let n = env.layout().unwrap().n_actions();
    let config = TabularConfig {
        min_visits: 1,
        explore_noop_share: 0.5,
        ..TabularConfig::default()
    };
    let mut q = TabularQ::new(config, FeatureSchema::builtin(), N_KINDS, n, seed).unwrap();
    let s = q.learn(&mut env, &[0, 1, 2], steps, &mut NullSink).unwrap();
    (q, s)
}

#[test]
fn training_twice_with_one_seed_gives_identical_tables() {
    let (a, sa) = train_tiny(5, 400);
    let (b, sb) = train_tiny(5, 400);
    assert_eq!(sa, sb);
    assert_eq!(a.policy().tables(), b.policy().tables());
    assert_eq!(sa.num_timesteps, 400);
    // Something was learnt: some entity entries moved off their initial value.
    let init = a.config().q_init_action as f32;
    assert!(
        a.policy()
            .tables()
            .0
            .iter()
            .any(|&v| v != init && v != UNTRIED)
    );
}

#[test]
fn a_table_trained_on_tiny_acts_on_default_within_masks() {
    let (q, _) = train_tiny(1, 300);
    let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    let (mut obs, _) = env.reset(Some(1000), None).unwrap();
    let n = env.layout().unwrap().n_actions();
    assert_ne!(n, q.policy().n_actions());
    let mut policy = q.policy().with_n_actions(n);
    policy.exploration_eps = 0.5;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for t in 0..60 {
        let mask = env.action_mask();
        let a = policy
            .predict(&obs, mask.as_deref(), t % 2 == 0, &mut rng)
            .unwrap();
        assert!(mask.as_ref().is_none_or(|m| m[a]));
        // The env refuses masked actions with an error (MaskedActionPolicy::Error).
        obs = env.step(a).unwrap().obs;
    }
    // The unchanged table on the wrong entity count is refused, not misread.
    assert!(matches!(
        q.policy().predict(&obs, None, true, &mut rng),
        Err(AgentError::ObservationMismatch { .. })
    ));
}

fn training_info() -> mend_agents::policy_file::TrainingInfo {
    mend_agents::policy_file::TrainingInfo {
        env_id: "mend/Cluster-v0".into(),
        scenario_family: Some("tiny".into()),
        seed: 1,
        summary: TrainSummary {
            num_timesteps: 0,
            episodes: 0,
            mean_return_last_100: None,
            gradient_steps: 0,
        },
        config: serde_json::json!({}),
    }
}

#[test]
fn policy_file_round_trip_and_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tabular.safetensors");
    let (q, _) = train_tiny(2, 200);
    let policy = q.policy();
    save(
        &policy,
        &FeatureSchema::builtin(),
        kinds(),
        training_info(),
        &path,
    )
    .unwrap();
    let (manifest, loaded) = load(&path, &FeatureSchema::builtin(), policy.n_actions()).unwrap();
    assert_eq!(manifest.algorithm, "tabular_q");
    assert_eq!(manifest.action_kinds, kinds());
    assert_eq!(loaded.tables(), policy.tables());
    // `mend policy inspect` reads any mend policy file's manifest, tabular ones too.
    let json = mend_agents::PolicyFile::inspect_json(&path).unwrap();
    assert_eq!(json["algorithm"], "tabular_q");
    assert_eq!(
        json["action_kinds"].as_array().map(Vec::len),
        Some(kinds().len())
    );

    // A schema that lacks a column the file was written for.
    let mut other = FeatureSchema::builtin();
    other.columns.pop();
    assert!(matches!(
        load(&path, &other, policy.n_actions()),
        Err(AgentError::PolicyFile(
            PolicyFileError::SchemaMismatch { .. }
        ))
    ));

    // A NaN in the table.
    let (metadata, mut tensors) = mend_agents::store::read_file(&path).unwrap();
    tensors.get_mut("q_noop").unwrap().1[0] = f32::NAN;
    let nan_path = dir.path().join("nan.safetensors");
    mend_agents::store::write_file(&nan_path, &tensors, &metadata).unwrap();
    assert!(matches!(
        load(&nan_path, &FeatureSchema::builtin(), policy.n_actions()),
        Err(AgentError::PolicyFile(PolicyFileError::NonFinite { .. }))
    ));

    // A wrong format version.
    let mut meta2 = metadata.clone();
    let key = mend_agents::policy_file::MANIFEST_KEY;
    let current = format!(
        "\"format_version\":{}",
        mend_agents::policy_file::FORMAT_VERSION
    );
    let json = meta2[key].replace(&current, "\"format_version\":99");
    meta2.insert(key.into(), json);
    let v_path = dir.path().join("v99.safetensors");
    let (_, good_tensors) = mend_agents::store::read_file(&path).unwrap();
    mend_agents::store::write_file(&v_path, &good_tensors, &meta2).unwrap();
    assert!(matches!(
        load(&v_path, &FeatureSchema::builtin(), policy.n_actions()),
        Err(AgentError::PolicyFile(PolicyFileError::FormatVersion {
            found: 99,
            ..
        }))
    ));

    // A truncated copy.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(load(&cut, &FeatureSchema::builtin(), policy.n_actions()).is_err());
}

// ---- The Agent trait over a vector env ----------------------------------------------------------

fn tiny_vector_env(n: usize) -> mend_envs::SyncVectorEnv {
    let envs = (0..n)
        .map(|_| {
            Box::new(ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap()) as Box<dyn Env>
        })
        .collect();
    mend_envs::SyncVectorEnv::new(envs, mend_envs::AutoresetMode::SameStep).unwrap()
}

fn vector_config(seed: u64) -> TabularConfig {
    TabularConfig {
        seed,
        total_timesteps: 600,
        min_visits: 1,
        explore_noop_share: 0.5,
        ..TabularConfig::default()
    }
}

#[test]
fn agent_learn_over_a_vector_env_is_deterministic_and_crosses_episode_ends() {
    use mend_agents::Agent;
    let run = || {
        let mut env = tiny_vector_env(2);
        let mut q = TabularQ::for_env(vector_config(3), &env).unwrap();
        let mut sink = mend_agents::VecSink::default();
        // 2 envs x 150 steps: each sub-env's 120-step episode is truncated once (final_obs read).
        let s = Agent::learn(&mut q, &mut env, 300, &mut sink).unwrap();
        (q, s, sink)
    };
    let (a, sa, sink) = run();
    let (b, sb, _) = run();
    assert_eq!(sa, sb);
    assert_eq!(a.policy().tables(), b.policy().tables());
    assert_eq!(sa.num_timesteps, 300);
    assert_eq!(sa.episodes, 2, "{sa:?}");
    assert_eq!(sink.values("charts/episodic_return").len(), 2);
    let init = a.config().q_init_action as f32;
    assert!(
        a.policy()
            .tables()
            .0
            .iter()
            .any(|&v| v != init && v != UNTRIED)
    );
    // The boxed policy acts with the same table.
    let boxed = Agent::policy(&a);
    assert_eq!(boxed.n_actions(), a.policy().n_actions());
}

#[test]
fn for_env_rejects_a_vector_observation_space() {
    let envs = vec![mend_envs::make("CartPole-v1").unwrap()];
    let env = mend_envs::SyncVectorEnv::new(envs, mend_envs::AutoresetMode::SameStep).unwrap();
    assert!(matches!(
        TabularQ::for_env(TabularConfig::default(), &env),
        Err(AgentError::UnsupportedSpace { .. })
    ));
}

#[test]
fn checkpoint_resume_continues_exactly_and_rejects_another_config() {
    use mend_agents::Agent;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tabular.ckpt");
    let mut env = tiny_vector_env(2);
    let mut a = TabularQ::for_env(vector_config(4), &env).unwrap();
    Agent::learn(&mut a, &mut env, 200, &mut NullSink).unwrap();
    a.save_checkpoint(&path).unwrap();

    let mut b = TabularQ::for_env(vector_config(4), &env).unwrap();
    b.load_checkpoint(&path).unwrap();
    assert_eq!(Agent::num_timesteps(&b), 200);
    assert_eq!(a.policy().tables(), b.policy().tables());
    let sa = Agent::learn(&mut a, &mut tiny_vector_env(2), 400, &mut NullSink).unwrap();
    let sb = Agent::learn(&mut b, &mut tiny_vector_env(2), 400, &mut NullSink).unwrap();
    assert_eq!(sa, sb);
    assert_eq!(a.policy().tables(), b.policy().tables());

    let mut other = TabularQ::for_env(
        TabularConfig {
            gamma: 0.5,
            ..vector_config(4)
        },
        &env,
    )
    .unwrap();
    assert!(matches!(
        other.load_checkpoint(&path),
        Err(AgentError::PolicyFile(PolicyFileError::Manifest { .. }))
    ));
}
