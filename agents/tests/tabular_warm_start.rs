//! Tabular Q's warm start from a teacher (agents/src/tabular/warm_start.rs) and the timer buckets:
//! the seeded table against hand-worked values (the greedy action is the teacher's where it acts in
//! at least `act_threshold` of an entry's states), train-twice determinism and exact resume on
//! `tiny-faults`, the config's checks, and files and configs written before these fields existed.

use mend_agents::Policy;
use mend_agents::tabular::file::{load, save};
use mend_agents::tabular::state::BucketEdges;
use mend_agents::tabular::{
    TabularConfig, TabularQ, TabularWarmStartConfig, TabularWarmStartReport,
};
use mend_agents::teacher::TeacherData;
use mend_agents::{Agent, AgentError, NullSink};
use mend_envs::{ClusterConfig, ClusterEnv, EntityObs, Env, Observation};
use mend_monitor::features::FeatureSchema;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const N_KINDS: usize = mend_envs::cluster::N_KINDS;

/// One service: `up_ratio` of its replicas up, `error_ratio`, never acted on, alert active 40 s.
fn service_obs(up_ratio: f32, error_ratio: f32) -> Observation {
    let s = FeatureSchema::builtin();
    let w = s.columns.len();
    let col = |n: &str| s.column_index(n).unwrap();
    let mut rows = vec![0.0; w];
    rows[col("is_service")] = 1.0;
    rows[col("svc_replicas_up_ratio")] = up_ratio;
    rows[col("svc_error_ratio")] = error_ratio;
    rows[col("svc_action_age")] = 3600f32.ln_1p();
    rows[col("svc_alert_age")] = 40f32.ln_1p();
    Observation::Entities(EntityObs {
        global: vec![],
        width: w,
        rows,
    })
}

fn config(act_threshold: f64, margin: f64) -> TabularConfig {
    TabularConfig {
        gamma: 0.5,
        warm_start: Some(TabularWarmStartConfig {
            act_threshold,
            margin,
            ..TabularWarmStartConfig::default()
        }),
        ..TabularConfig::warm_started()
    }
}

/// A replica is down in four states: the teacher restarts it (action 1, kind 0 = restart_replica)
/// in three and waits in one. Errors are high in four others: it always waits. Every step is
/// truncated, with reward -1 (down) or -2 (errors).
fn teacher_data() -> TeacherData {
    let down = service_obs(0.5, 0.0);
    let errors = service_obs(1.0, 0.3);
    let n_actions = 1 + N_KINDS;
    let mut d = TeacherData {
        num_envs: 1,
        ..TeacherData::default()
    };
    for (obs, action, reward) in [
        (&down, 1, -1.0),
        (&down, 1, -1.0),
        (&down, 0, -1.0),
        (&down, 1, -1.0),
        (&errors, 0, -2.0),
        (&errors, 0, -2.0),
        (&errors, 0, -2.0),
        (&errors, 0, -2.0),
    ] {
        d.obs.push(obs.clone());
        d.masks.extend(std::iter::repeat_n(true, n_actions));
        d.actions.push(action);
        d.rewards.push(reward);
        d.terminated.push(false);
        d.truncated.push(true);
    }
    d.last_obs = vec![errors];
    d
}

/// A table over the built-in schema warm-started on [`teacher_data`] with `config(act_threshold,
/// margin)`, and the warm start's report.
fn warm_started_table(act_threshold: f64, margin: f64) -> (TabularQ, TabularWarmStartReport) {
    let mut q = TabularQ::new(
        config(act_threshold, margin),
        FeatureSchema::builtin(),
        N_KINDS,
        1 + N_KINDS,
        0,
    )
    .unwrap();
    let report = q.warm_start_from(&teacher_data()).unwrap();
    (q, report)
}

#[test]
fn the_warm_started_table_takes_the_teachers_action_on_its_states() {
    let (q, report) = warm_started_table(0.5, 0.8);
    let policy = q.policy();
    let (down, errors) = (service_obs(0.5, 0.0), service_obs(1.0, 0.3));
    // No-op values: each truncated step bootstraps with its reward held, r / (1 - gamma).
    // Advantages: restart_replica on `down` was taken in 3 of 4 states: 0.8 * (0.75 - 0.5) / 0.5;
    // every other (bucket, kind) never: -0.8.
    let qd = policy.q_values(&down).unwrap();
    assert!((qd[0] - (-2.0)).abs() < 1e-6, "{qd:?}");
    assert!((qd[1] - (-2.0 + 0.4)).abs() < 1e-6, "{qd:?}");
    assert!(qd[2..].iter().all(|&v| (v - (-2.8)).abs() < 1e-6), "{qd:?}");
    let qe = policy.q_values(&errors).unwrap();
    assert!((qe[0] - (-4.0)).abs() < 1e-6, "{qe:?}");
    assert!(qe[1..].iter().all(|&v| (v - (-4.8)).abs() < 1e-6), "{qe:?}");
    // The greedy policy is the teacher's majority: restart the down replica, wait on errors.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert_eq!(policy.predict(&down, None, true, &mut rng).unwrap(), 1);
    assert_eq!(policy.predict(&errors, None, true, &mut rng).unwrap(), 0);
    assert_eq!(report.transitions, 8);
    assert!((report.teacher_act_share - 3.0 / 8.0).abs() < 1e-12);
    assert!((report.agreement - 7.0 / 8.0).abs() < 1e-12, "{report:?}");
    assert!((report.act_recall - 1.0).abs() < 1e-12);
    assert_eq!(report.entries_positive, 1);

    // Above the teacher's share (0.75 < 0.8), the same data seeds a table that waits.
    let (strict, _) = warm_started_table(0.8, 0.8);
    assert_eq!(
        strict
            .policy()
            .predict(&down, None, true, &mut rng)
            .unwrap(),
        0
    );
}

fn tiny_faults_vector_env(n: usize) -> mend_envs::SyncVectorEnv {
    let envs = (0..n)
        .map(|_| {
            Box::new(ClusterEnv::builtin("tiny-faults", ClusterConfig::default()).unwrap())
                as Box<dyn Env>
        })
        .collect();
    mend_envs::SyncVectorEnv::new(envs, mend_envs::AutoresetMode::SameStep).unwrap()
}

fn small_warm_started(seed: u64) -> TabularConfig {
    let base = TabularConfig::warm_started();
    TabularConfig {
        seed,
        total_timesteps: 240,
        warm_start: Some(TabularWarmStartConfig {
            steps: 480,
            ..base.warm_start.clone().unwrap()
        }),
        ..base
    }
}

#[test]
fn warm_start_then_q_learning_is_deterministic_and_resumes_without_redoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tabular.ckpt");
    let run = |steps| {
        let mut env = tiny_faults_vector_env(2);
        let mut q = TabularQ::for_env(small_warm_started(7), &env).unwrap();
        Agent::learn(&mut q, &mut env, steps, &mut NullSink).unwrap();
        q
    };
    let (a, b) = (run(240), run(240));
    assert_eq!(a.policy().tables(), b.policy().tables());
    let report = a.warm_start_report().unwrap();
    assert_eq!(report.transitions, 480);
    assert!(report.entries_seeded > 0, "{report:?}");
    // The seeds change the teacher's episodes, hence the seeded table.
    let mut env = tiny_faults_vector_env(2);
    let mut other = TabularQ::for_env(small_warm_started(8), &env).unwrap();
    Agent::learn(&mut other, &mut env, 240, &mut NullSink).unwrap();
    assert_ne!(a.policy().tables(), other.policy().tables());

    // Stop at 120 steps, resume from the checkpoint: the warm start is not run again and the
    // result equals the uninterrupted run's.
    let mut first = run(120);
    first.save_checkpoint(&path).unwrap();
    let mut resumed = TabularQ::for_env(small_warm_started(7), &tiny_faults_vector_env(2)).unwrap();
    resumed.load_checkpoint(&path).unwrap();
    Agent::learn(
        &mut resumed,
        &mut tiny_faults_vector_env(2),
        240,
        &mut NullSink,
    )
    .unwrap();
    Agent::learn(
        &mut first,
        &mut tiny_faults_vector_env(2),
        240,
        &mut NullSink,
    )
    .unwrap();
    assert!(resumed.warm_start_report().is_none());
    assert_eq!(resumed.policy().tables(), first.policy().tables());
}

/// [`small_warm_started`] with both credit options (agents/src/tabular/credit.rs) on.
fn small_credit(seed: u64) -> TabularConfig {
    let mut c = small_warm_started(seed);
    let ws = c.warm_start.as_mut().unwrap();
    ws.prior_count = 50.0;
    ws.entity_baseline = true;
    ws.trust_radius = Some(0.3);
    ws.optimism_z = 1.0;
    c
}

#[test]
fn credit_options_train_deterministically_and_resume_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credit.ckpt");
    let run = |config: TabularConfig, steps| {
        let mut env = tiny_faults_vector_env(2);
        let mut q = TabularQ::for_env(config, &env).unwrap();
        Agent::learn(&mut q, &mut env, steps, &mut NullSink).unwrap();
        q
    };
    let (a, b) = (run(small_credit(7), 480), run(small_credit(7), 480));
    assert_eq!(a.policy().tables(), b.policy().tables());
    // The options change what Q-learning learns from the same warm start and episodes.
    let plain = run(small_warm_started(7), 480);
    assert_ne!(a.policy().tables(), plain.policy().tables());

    // Stopped at 240 steps and resumed from the checkpoint (pseudo-counts and entity baselines
    // included): the same table as the uninterrupted run.
    let mut first = run(small_credit(7), 240);
    first.save_checkpoint(&path).unwrap();
    let mut resumed = TabularQ::for_env(small_credit(7), &tiny_faults_vector_env(2)).unwrap();
    resumed.load_checkpoint(&path).unwrap();
    Agent::learn(
        &mut resumed,
        &mut tiny_faults_vector_env(2),
        480,
        &mut NullSink,
    )
    .unwrap();
    Agent::learn(
        &mut first,
        &mut tiny_faults_vector_env(2),
        480,
        &mut NullSink,
    )
    .unwrap();
    assert_eq!(resumed.policy().tables(), first.policy().tables());
    // A checkpoint of another configuration is refused.
    let mut other = TabularQ::for_env(small_warm_started(7), &tiny_faults_vector_env(2)).unwrap();
    assert!(other.load_checkpoint(&path).is_err());
}

#[test]
fn the_single_env_learner_warm_starts_on_its_training_seeds() {
    let mut env = ClusterEnv::builtin("tiny-faults", ClusterConfig::default()).unwrap();
    env.reset(Some(0), None).unwrap();
    let n = env.layout().unwrap().n_actions();
    let run = |env: &mut ClusterEnv| {
        let mut q = TabularQ::new(
            small_warm_started(0),
            FeatureSchema::builtin(),
            N_KINDS,
            n,
            3,
        )
        .unwrap();
        q.learn(env, &[0, 1], 0, &mut NullSink).unwrap();
        q
    };
    let (a, b) = (run(&mut env), run(&mut env));
    assert_eq!(a.policy().tables(), b.policy().tables());
    let r = a.warm_start_report().unwrap();
    assert_eq!(r.transitions, 480);
    assert!(r.agreement > 0.0 && r.agreement <= 1.0, "{r:?}");
}

#[test]
fn warm_start_settings_are_checked_and_named() {
    // The error of building a learner with `c`, if any.
    let make = |c: TabularConfig| {
        TabularQ::new(c, FeatureSchema::builtin(), N_KINDS, 1 + N_KINDS, 0).err()
    };
    let no_advantage = TabularConfig {
        entity_advantage: false,
        ..TabularConfig::warm_started()
    };
    assert!(matches!(
        make(no_advantage),
        Some(AgentError::InvalidConfig {
            field: "warm_start",
            ..
        })
    ));
    for t in [0.0, 1.0, f64::NAN] {
        let c = config(t, 0.8);
        assert!(
            matches!(
                make(c),
                Some(AgentError::InvalidConfig {
                    field: "warm_start.act_threshold",
                    ..
                })
            ),
            "{t}"
        );
    }
    assert!(matches!(
        make(config(0.5, -1.0)),
        Some(AgentError::InvalidConfig {
            field: "warm_start.margin",
            ..
        })
    ));
    for n in [-1.0, f64::NAN, f64::INFINITY] {
        let mut c = TabularConfig::warm_started();
        c.warm_start.as_mut().unwrap().prior_count = n;
        assert!(
            matches!(
                make(c),
                Some(AgentError::InvalidConfig {
                    field: "warm_start.prior_count",
                    ..
                })
            ),
            "{n}"
        );
    }
    for z in [-1.0, f64::NAN, f64::INFINITY] {
        let mut c = TabularConfig::warm_started();
        c.warm_start.as_mut().unwrap().optimism_z = z;
        assert!(
            matches!(
                make(c),
                Some(AgentError::InvalidConfig {
                    field: "warm_start.optimism_z",
                    ..
                })
            ),
            "{z}"
        );
    }
    for r in [-0.1, f64::NAN, f64::INFINITY] {
        let mut c = TabularConfig::warm_started();
        c.warm_start.as_mut().unwrap().trust_radius = Some(r);
        assert!(
            matches!(
                make(c),
                Some(AgentError::InvalidConfig {
                    field: "warm_start.trust_radius",
                    ..
                })
            ),
            "{r}"
        );
    }
    let mut bad_teacher = TabularConfig::warm_started();
    bad_teacher.warm_start.as_mut().unwrap().teacher = "oracle".into();
    assert!(matches!(
        make(bad_teacher),
        Some(AgentError::InvalidConfig {
            field: "warm_start.teacher",
            ..
        })
    ));
    // The text form of the example and of experiment files.
    let parsed: TabularConfig = toml::from_str(
        "entity_advantage = true\nwarm_start = { teacher = \"runbook\", act_threshold = 0.05 }",
    )
    .unwrap();
    assert_eq!(parsed.warm_start.unwrap().act_threshold, 0.05);
}

#[test]
fn configs_and_files_written_before_the_warm_start_read_and_write_the_same() {
    // The default config serialises without the new fields, and reads back from such JSON.
    let json = serde_json::to_value(TabularConfig::default()).unwrap();
    assert!(json.get("warm_start").is_none());
    assert!(json["edges"].get("action_age_s").is_none());
    assert!(json["edges"].get("alert_age_s").is_none());
    let back: TabularConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back, TabularConfig::default());
    // The warm start's credit options are omitted while off (experiment configs and policy-file
    // manifests of the warm-started preset are unchanged), and read back as off.
    let json = serde_json::to_value(TabularConfig::warm_started()).unwrap();
    assert!(json["warm_start"].get("prior_count").is_none(), "{json}");
    assert!(
        json["warm_start"].get("entity_baseline").is_none(),
        "{json}"
    );
    assert!(json["warm_start"].get("trust_radius").is_none(), "{json}");
    assert!(json["warm_start"].get("optimism_z").is_none(), "{json}");
    let back: TabularConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back, TabularConfig::warm_started());

    // A policy file with the timer buckets round-trips (its manifest carries the edges).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warm.safetensors");
    let (q, _) = warm_started_table(0.5, 0.8);
    let policy = q.policy();
    let kinds: Vec<String> = mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect();
    let training = mend_agents::policy_file::TrainingInfo {
        env_id: "mend/Cluster-v0".into(),
        scenario_family: Some("tiny-faults".into()),
        seed: 0,
        summary: mend_agents::TrainSummary {
            num_timesteps: 0,
            episodes: 0,
            mean_return_last_100: None,
            gradient_steps: 0,
        },
        config: serde_json::json!({}),
    };
    save(&policy, &FeatureSchema::builtin(), kinds, training, &path).unwrap();
    let (manifest, loaded) = load(&path, &FeatureSchema::builtin(), 1 + N_KINDS).unwrap();
    assert_eq!(manifest.edges, BucketEdges::with_timers());
    assert_eq!(loaded.tables(), policy.tables());
    let obs = service_obs(0.5, 0.0);
    assert_eq!(
        loaded.q_values(&obs).unwrap(),
        policy.q_values(&obs).unwrap()
    );
}
