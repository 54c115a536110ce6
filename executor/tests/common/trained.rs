//! A small entity PPO policy trained on the `tiny` scenario through the agents crate's API and
//! exported as a real policy file, for the end-to-end test with a trained policy and the
//! per-fault figures (`executor/examples/fault_figures.rs`). Small budget: the policy need not be
//! good, the pipeline must run with a real exported file. Training uses the simulator (through
//! the cluster env), which the executor library never does: this lives in tests and examples only.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::path::Path;

use mend_agents::policy_file::TrainingInfo;
use mend_agents::{Agent, FeatureSchema, NullSink, PolicyFile, Ppo, PpoConfig};
use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, SyncVectorEnv};
use mend_executor::decide::SIM_ACTION_KINDS;

/// Trains entity PPO on `tiny` for `steps` environment steps (4 envs x 64 steps per rollout,
/// hidden width 32, the agents crate's cluster defaults otherwise) with `seed`, and saves the
/// exported policy file to `path`.
pub fn train_tiny_policy(path: &Path, seed: u64, steps: u64) -> PolicyFile {
    let envs = (0..4)
        .map(|_| {
            Box::new(ClusterEnv::builtin("tiny", ClusterConfig::default()).expect("tiny scenario"))
                as Box<dyn Env>
        })
        .collect();
    let mut env = SyncVectorEnv::new(envs, AutoresetMode::SameStep).expect("vector env");
    let config = PpoConfig {
        total_timesteps: steps,
        num_envs: 4,
        num_steps: 64,
        num_minibatches: 4,
        update_epochs: 2,
        hidden: vec![32],
        ..PpoConfig::cluster_default(seed)
    };
    let mut agent = Ppo::for_env(config, &env).expect("entity PPO for the cluster env");
    let summary = agent
        .learn(&mut env, steps, &mut NullSink)
        .expect("training");
    let file = agent.export(
        FeatureSchema::builtin_entities(),
        SIM_ACTION_KINDS.iter().map(|k| (*k).to_owned()).collect(),
        TrainingInfo {
            env_id: "mend/Cluster-v0".into(),
            scenario_family: Some("tiny".into()),
            seed,
            summary,
            config: serde_json::to_value(agent.config()).expect("config as JSON"),
        },
    );
    file.save(path).expect("save the policy file");
    file
}

/// The drill-shaped training scenario of the fixture policy (`tests/fixtures/policy/`).
pub const DRILL_LIKE: &str = include_str!("../fixtures/policy/drill-like.toml");

/// The warm start's teacher of the fixture policy since session 7: a runbook on the drill-like
/// world's time scale, acting on the first observation (`fixtures/policy/drill-runbook.toml`).
pub const DRILL_RUNBOOK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/policy/drill-runbook.toml"
);

/// The fixture policy's alert detector since session 8: the static rules, whose replica `up` and
/// memory rules are the drill's symptoms themselves, so an alert's age means the same in the
/// simulator and live (`fixtures/policy/README.md`, session 8).
pub const DRILL_ALERT_DETECTOR: &str = "static_threshold";

/// How the fixture policy is trained ([`train_drill_like_policy`]).
#[derive(Debug, Clone)]
pub struct DrillTraining {
    /// Training seed.
    pub seed: u64,
    /// PPO environment steps after the warm start.
    pub ppo_steps: u64,
    /// Teacher (runbook) transitions of the warm start.
    pub teacher_steps: u64,
    /// The warm start's weight of an acting transition relative to a no-op (`act_weight`).
    pub act_weight: f64,
    /// The warm start's teacher (`WarmStartConfig::teacher`): `"runbook"` (the shipped file, the
    /// teacher until session 7) or a runbook file's path ([`DRILL_RUNBOOK`] by default).
    pub teacher: String,
    /// The training scenario's TOML text ([`DRILL_LIKE`] by default) and the name its errors
    /// give (its path).
    pub scenario: (String, String),
    /// The detector behind the alert-age columns in training (`ClusterConfig::alert_detector`),
    /// recorded in the file's `monitoring.alert_detector` so the executor runs the same one live
    /// ([`DRILL_ALERT_DETECTOR`] by default; `None`: the env's default, `DEFAULT_ALERT_DETECTOR`).
    pub alert_detector: Option<String>,
}

impl Default for DrillTraining {
    /// Seed 0, 16,384 PPO steps after 11,520 teacher steps, `act_weight` 6 (as the paper study's,
    /// `experiments/paper.toml`), the teacher [`DRILL_RUNBOOK`] on [`DRILL_LIKE`] behind
    /// [`DRILL_ALERT_DETECTOR`], the warm start of the README's
    /// `default` command otherwise (12 epochs at 2e-3, `bc_coef` 0.5 fading over 16,384 steps; PPO learning
    /// rate 1e-3, initial act probability 0.05).
    fn default() -> Self {
        DrillTraining {
            seed: 0,
            ppo_steps: 16_384,
            teacher_steps: 11_520,
            act_weight: 6.0,
            teacher: DRILL_RUNBOOK.to_owned(),
            scenario: (
                DRILL_LIKE.to_owned(),
                "tests/fixtures/policy/drill-like.toml".to_owned(),
            ),
            alert_detector: Some(DRILL_ALERT_DETECTOR.to_owned()),
        }
    }
}

/// `n` cluster envs of `t`'s scenario behind `t`'s alert detector, in a vector env.
fn drill_envs(t: &DrillTraining, n: usize) -> SyncVectorEnv {
    let (text, name) = &t.scenario;
    let scenario = std::sync::Arc::new(
        mend_sim::Scenario::from_toml_str(text, name)
            .unwrap_or_else(|e| panic!("the training scenario must validate: {e}")),
    );
    let detector = t.alert_detector.clone();
    let env_config =
        ClusterConfig {
            alert_detector: Some(detector.unwrap_or_else(|| {
                mend_monitor::features::alert_age::DEFAULT_ALERT_DETECTOR.into()
            })),
            ..ClusterConfig::default()
        };
    let envs = (0..n)
        .map(|_| {
            Box::new(ClusterEnv::new(scenario.clone(), env_config.clone()).expect("env"))
                as Box<dyn Env>
        })
        .collect();
    SyncVectorEnv::new(envs, AutoresetMode::SameStep).expect("vector env")
}

/// Trains entity PPO, warm-started from `t.teacher`, on `t.scenario` (8 envs) and saves the
/// exported policy file (scenario family `drill-like`) to `path`.
pub fn train_drill_like_policy(path: &Path, t: &DrillTraining) -> PolicyFile {
    use mend_agents::policy_file::Monitoring;
    use mend_agents::ppo::WarmStartConfig;
    let mut env = drill_envs(t, 8);
    let config = PpoConfig {
        total_timesteps: t.ppo_steps,
        learning_rate: 1e-3,
        init_act_prob: Some(0.05),
        warm_start: Some(WarmStartConfig {
            steps: t.teacher_steps,
            epochs: 12,
            learning_rate: 2e-3,
            act_weight: t.act_weight,
            bc_coef: 0.5,
            bc_decay_steps: 16_384,
            teacher: t.teacher.clone(),
            ..WarmStartConfig::default()
        }),
        ..PpoConfig::cluster_default(t.seed)
    };
    let mut agent = Ppo::for_env(config, &env).expect("entity PPO for the cluster env");
    let summary = agent
        .learn(&mut env, t.ppo_steps, &mut NullSink)
        .expect("training");
    let file = agent
        .export(
            FeatureSchema::builtin_entities(),
            SIM_ACTION_KINDS.iter().map(|k| (*k).to_owned()).collect(),
            TrainingInfo {
                env_id: "mend/Cluster-v0".into(),
                scenario_family: Some("drill-like".into()),
                seed: t.seed,
                summary,
                config: serde_json::to_value(agent.config()).expect("config as JSON"),
            },
        )
        .with_monitoring(Monitoring {
            alert_detector: t.alert_detector.clone(),
            failure_risk: None,
        });
    file.save(path).expect("save the policy file");
    file
}

/// The teacher's labels on the training scenario's rows of a replica down (`svc_replicas_up_ratio`
/// below 1), binned by seconds since the service's last action and whether its alert is active:
/// `(action-age bin, alert active, acts, waits)` over `steps` decisions of one world (seed `seed`).
/// The diagnosis behind the fixture README's "after a restart" figures: which rows the warm
/// start labels "wait" after an action.
pub fn teacher_labels_after_actions(t: &DrillTraining, steps: usize, seed: u64) -> Vec<String> {
    use mend_agents::teacher::{record_teacher, teachers_named};
    use mend_envs::{Observation, VectorEnv};
    let mut env = drill_envs(t, 1);
    let (_, infos) = env.reset(Some(seed)).expect("reset");
    let mut teachers = teachers_named(&t.teacher, &infos, 1).expect("teacher");
    let n_actions = env.single_action_space().n().unwrap_or(1);
    let data =
        record_teacher(&mut env, &mut teachers, steps, seed, 1.0, n_actions).expect("recording");
    let schema = mend_monitor::features::FeatureSchema::builtin();
    let col = |n: &str| {
        schema
            .columns
            .iter()
            .position(|c| c.name == n)
            .unwrap_or_else(|| panic!("column {n}"))
    };
    let is_service = col("is_service");
    let (up, age, alert, flight) = (
        col("svc_replicas_up_ratio"),
        col("svc_action_age"),
        col("svc_alert_age"),
        col("svc_action_in_flight"),
    );
    let bins = [0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0, 600.0, 1e9];
    let mut counts = std::collections::BTreeMap::new();
    for (obs, &action) in data.obs.iter().zip(&data.actions) {
        let Observation::Entities(e) = obs else {
            continue;
        };
        let Some(row) = e.rows.chunks(e.width).find(|r| r[is_service] > 0.0) else {
            continue;
        };
        if row[up] >= 1.0 {
            continue;
        }
        let age_s = f64::from(row[age]).exp_m1();
        let bin = bins.iter().rposition(|b| age_s >= *b).unwrap_or(0);
        let key = (bin, row[alert] > 0.0, row[flight] > 0.0);
        let c = counts.entry(key).or_insert((0u32, 0u32));
        if action == 0 { c.1 += 1 } else { c.0 += 1 }
    }
    counts
        .into_iter()
        .map(|((bin, alert, flight), (acts, waits))| {
            format!(
                "action age >= {:>4} s, alert {}, in flight {}: acts {acts}, waits {waits}",
                bins[bin],
                if alert { "on " } else { "off" },
                u8::from(flight)
            )
        })
        .collect()
}
