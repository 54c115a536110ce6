//! Learned agent kinds (`tabular`, `ppo`, `dqn`): what the runner's training phase needs from each. A
//! [`LearnerFactory`] checks an entry's hyperparameters at load time (an unknown key or a bad value is
//! an error naming the file, the agent, the key and what was expected), builds a [`Learner`] for a
//! training vector env, and turns an exported policy file back into a [`PolicyFactory`] for the
//! evaluation phase.
//!
//! Hyperparameters are the agents crate's own config structs (CleanRL names): the entry's `params`
//! table is laid over the kind's defaults key by key, so only known keys are accepted and each bad
//! value is reported with its key. `seed` and `total_timesteps` are reserved: the runner sets them
//! from `seeds.train` and `budget.train_timesteps`.

use std::path::Path;
use std::sync::Arc;

use mend_agents::dqn::EntityDqn;
use mend_agents::policy_file::TrainingInfo;
use mend_agents::tabular::{self, TabularConfig, TabularPolicy, TabularQ};
use mend_agents::{
    Agent, AgentError, DqnConfig, Monitoring, Policy, PolicyFile, Ppo, PpoConfig, TrainSummary,
};
use mend_envs::VectorEnv;
use mend_monitor::features::FeatureSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ParamContext, PolicyFactory, cluster_kind_names};
use crate::experiment::ExperimentError;

/// Keys the runner sets itself; an experiment file may not.
pub const RESERVED: &[&str] = &["seed", "total_timesteps"];

/// A learned kind, configured: builds learners for training and policies for evaluation.
pub trait LearnerFactory: Send + Sync + std::fmt::Debug {
    /// Algorithm name (as in policy files).
    fn algorithm(&self) -> &'static str;
    /// Sub-envs of the training vector env.
    fn num_envs(&self) -> usize;
    /// A fresh learner seeded with `seed`, planning `total_timesteps` steps, sized from `env`.
    fn start(
        &self,
        seed: u64,
        total_timesteps: u64,
        env: &dyn VectorEnv,
    ) -> anyhow::Result<Box<dyn Learner>>;
    /// The evaluation factory of an exported policy file.
    fn load(&self, path: &Path) -> anyhow::Result<Box<dyn PolicyFactory>>;
}

/// One training run's learner: the [`Agent`] plus its export to a policy file.
pub trait Learner: Send {
    /// The agent (learn, checkpoints).
    fn agent(&mut self) -> &mut dyn Agent;
    /// Writes the current policy to `path` (atomically) with `training` as provenance and
    /// `monitoring` (the detector and risk model behind its observations) in its manifest. Tabular
    /// Q tables have their own manifest without that section and ignore `monitoring`.
    fn export(
        &self,
        path: &Path,
        training: TrainingInfo,
        monitoring: Monitoring,
    ) -> anyhow::Result<()>;
    /// The agent's configuration as JSON (recorded in the policy file).
    fn config_json(&self) -> serde_json::Value;
}

/// Lays `params` over `defaults` key by key: a key `defaults` does not have (nor `optional`, for
/// fields whose default is absent, e.g. `None`), a reserved key, or a value of the wrong type is an
/// error naming that key.
pub fn overlay<T: Serialize + DeserializeOwned>(
    defaults: &T,
    params: &toml::Table,
    ctx: &ParamContext<'_>,
    what: &str,
    optional: &[&str],
) -> Result<T, ExperimentError> {
    let base = match toml::Value::try_from(defaults) {
        Ok(toml::Value::Table(t)) => t,
        _ => return Err(ctx.invalid("*", what, "defaults that are not a table".into())),
    };
    let mut known: Vec<&str> = base
        .keys()
        .map(String::as_str)
        .chain(optional.iter().copied())
        .filter(|k| !RESERVED.contains(k))
        .collect();
    known.sort_unstable();
    let mut merged = base.clone();
    for (key, value) in params {
        if RESERVED.contains(&key.as_str()) {
            return Err(ctx.invalid(
                key,
                "no value here: the runner sets it from seeds.train and budget.train_timesteps",
                value.to_string(),
            ));
        }
        if !base.contains_key(key) && !optional.contains(&key.as_str()) {
            return Err(ctx.invalid(
                key,
                &format!("one of the {what} keys: {}", known.join(", ")),
                "an unknown key".into(),
            ));
        }
        // Check this key alone over the defaults, so a type error names it.
        let mut single = base.clone();
        single.insert(key.clone(), value.clone());
        if let Err(e) = toml::Value::Table(single).try_into::<T>() {
            let default = base
                .get(key)
                .map_or_else(|| "none".to_string(), ToString::to_string);
            return Err(ctx.invalid(
                key,
                &format!("a value of the type of the default ({default})"),
                format!("{value} ({})", e.message().trim()),
            ));
        }
        merged.insert(key.clone(), value.clone());
    }
    toml::Value::Table(merged)
        .try_into::<T>()
        .map_err(|e| ctx.invalid("*", what, e.message().to_string()))
}

/// Maps an agents-crate config error to the entry's field.
fn config_error(ctx: &ParamContext<'_>, e: AgentError) -> ExperimentError {
    match e {
        AgentError::InvalidConfig {
            field,
            expected,
            got,
        } => ctx.invalid(field, expected, got),
        other => ctx.invalid("*", "a valid configuration", other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------------
// tabular
// ---------------------------------------------------------------------------------------------------

/// `kind = "tabular"`: Watkins' Q-learning on the size-independent bucketed state
/// (`mend_agents::tabular`). `params`: any field of `TabularConfig` plus `num_envs`, over the
/// defaults named by `preset`: `"default"` (`TabularConfig::default()`, when absent) or
/// `"warm_started"` (`TabularConfig::warm_started()`: the runbook warm start with timer buckets).
/// Q-learning after the warm start erodes its gain (see `TabularConfig::warm_started`), so keep
/// the teacher's table with `train_timesteps = 0` and a `warm_start` key in `params` (the
/// validator allows a zero budget only then): `params = { preset = "warm_started", warm_start =
/// { act_threshold = 0.05 } }`.
#[derive(Debug, Clone)]
pub struct TabularFactory {
    config: TabularConfig,
    num_envs: usize,
}

/// Sub-envs of the tabular learner's vector env unless `params.num_envs` says otherwise.
const TABULAR_NUM_ENVS: usize = 4;

/// Builds the tabular kind from `params`.
pub fn build_tabular(
    params: &toml::Table,
    ctx: &ParamContext<'_>,
) -> Result<Box<dyn LearnerFactory>, ExperimentError> {
    let mut params = params.clone();
    let num_envs = take_num_envs(&mut params, ctx, TABULAR_NUM_ENVS)?;
    let preset = match params.remove("preset") {
        None => TabularConfig::default(),
        Some(v) => match v.as_str() {
            Some("default") => TabularConfig::default(),
            Some("warm_started") => TabularConfig::warm_started(),
            _ => {
                return Err(ctx.invalid(
                    "preset",
                    "\"default\" or \"warm_started\" (TabularConfig::warm_started: the runbook warm start)",
                    v.to_string(),
                ));
            }
        },
    };
    let config = overlay(
        &preset,
        &params,
        ctx,
        "tabular Q-learning (mend_agents::tabular::TabularConfig)",
        // Absent from the serialised defaults when `None`, accepted all the same.
        &["warm_start"],
    )?;
    // Value checks (ranges) live in the agents crate: build a one-entity learner to run them.
    let n_kinds = cluster_kind_names().len();
    TabularQ::new(
        config.clone(),
        FeatureSchema::builtin(),
        n_kinds,
        1 + n_kinds,
        0,
    )
    .map_err(|e| config_error(ctx, e))?;
    Ok(Box::new(TabularFactory { config, num_envs }))
}

/// Removes and checks `num_envs` (an integer >= 1) from `params`.
fn take_num_envs(
    params: &mut toml::Table,
    ctx: &ParamContext<'_>,
    default: usize,
) -> Result<usize, ExperimentError> {
    match params.remove("num_envs") {
        None => Ok(default),
        Some(v) => match v.as_integer() {
            Some(n) if (1..=256).contains(&n) => Ok(n as usize),
            _ => Err(ctx.invalid("num_envs", "an integer in 1..=256", v.to_string())),
        },
    }
}

struct TabularLearner(TabularQ);

impl Learner for TabularLearner {
    fn agent(&mut self) -> &mut dyn Agent {
        &mut self.0
    }
    fn export(
        &self,
        path: &Path,
        training: TrainingInfo,
        _monitoring: Monitoring,
    ) -> anyhow::Result<()> {
        tabular::file::save(
            &self.0.policy(),
            &FeatureSchema::builtin(),
            cluster_kind_names(),
            training,
            path,
        )?;
        Ok(())
    }
    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.0.config()).unwrap_or_default()
    }
}

impl LearnerFactory for TabularFactory {
    fn algorithm(&self) -> &'static str {
        tabular::file::ALGORITHM
    }
    fn num_envs(&self) -> usize {
        self.num_envs
    }
    fn start(
        &self,
        seed: u64,
        total_timesteps: u64,
        env: &dyn VectorEnv,
    ) -> anyhow::Result<Box<dyn Learner>> {
        let config = TabularConfig {
            seed,
            total_timesteps,
            ..self.config.clone()
        };
        Ok(Box::new(TabularLearner(TabularQ::for_env(config, env)?)))
    }
    fn load(&self, path: &Path) -> anyhow::Result<Box<dyn PolicyFactory>> {
        let n_kinds = cluster_kind_names().len();
        let (_, policy) = tabular::file::load(path, &FeatureSchema::builtin(), 1 + n_kinds)?;
        Ok(Box::new(TabularPolicyFactory(Arc::new(policy))))
    }
}

/// A trained Q table, resized to each env's action count (the table is size-independent).
#[derive(Debug)]
struct TabularPolicyFactory(Arc<TabularPolicy>);

impl PolicyFactory for TabularPolicyFactory {
    fn make(&self, n_actions: usize) -> Box<dyn Policy> {
        Box::new(self.0.with_n_actions(n_actions))
    }
}

// ---------------------------------------------------------------------------------------------------
// ppo
// ---------------------------------------------------------------------------------------------------

/// `kind = "ppo"`: PPO with the entity network (`mend_agents::ppo`), from
/// `PpoConfig::cluster_default`. `params`: any field of `PpoConfig` (CleanRL names; `num_envs`
/// sizes the training vector env).
#[derive(Debug, Clone)]
pub struct PpoFactory {
    config: PpoConfig,
}

/// Builds the ppo kind from `params`.
pub fn build_ppo(
    params: &toml::Table,
    ctx: &ParamContext<'_>,
) -> Result<Box<dyn LearnerFactory>, ExperimentError> {
    let config = overlay(
        &PpoConfig::cluster_default(0),
        params,
        ctx,
        "PPO (mend_agents::PpoConfig)",
        &["target_kl", "warm_start"],
    )?;
    // Value checks live in the agents crate: build a one-entity network to run them.
    let (row_width, global_width, n_kinds) = entity_shape();
    Ppo::new_entity(
        config.clone(),
        row_width,
        global_width,
        n_kinds,
        1 + n_kinds,
    )
    .map_err(|e| config_error(ctx, e))?;
    Ok(Box::new(PpoFactory { config }))
}

struct PpoLearner(Ppo);

impl Learner for PpoLearner {
    fn agent(&mut self) -> &mut dyn Agent {
        &mut self.0
    }
    fn export(
        &self,
        path: &Path,
        training: TrainingInfo,
        monitoring: Monitoring,
    ) -> anyhow::Result<()> {
        self.0
            .export(
                mend_agents::FeatureSchema::builtin_entities(),
                cluster_kind_names(),
                training,
            )
            .with_monitoring(monitoring)
            .save(path)?;
        Ok(())
    }
    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.0.config()).unwrap_or_default()
    }
}

impl LearnerFactory for PpoFactory {
    fn algorithm(&self) -> &'static str {
        "ppo"
    }
    fn num_envs(&self) -> usize {
        self.config.num_envs
    }
    fn start(
        &self,
        seed: u64,
        total_timesteps: u64,
        env: &dyn VectorEnv,
    ) -> anyhow::Result<Box<dyn Learner>> {
        let config = PpoConfig {
            seed,
            total_timesteps,
            ..self.config.clone()
        };
        Ok(Box::new(PpoLearner(Ppo::for_env(config, env)?)))
    }
    fn load(&self, path: &Path) -> anyhow::Result<Box<dyn PolicyFactory>> {
        NetPolicyFactory::load(path)
    }
}

// ---------------------------------------------------------------------------------------------------
// dqn
// ---------------------------------------------------------------------------------------------------

/// `kind = "dqn"`: DQN with the entity network as Q-function (`mend_agents::dqn::EntityDqn`), from
/// `DqnConfig::cluster_default`. `params`: any field of `DqnConfig` (CleanRL names; `num_envs`
/// sizes the training vector env), including `warm_start = { teacher = "runbook", steps = 23040,
/// act_weight = 10.0 }` (DQfD from the runbook's demonstrations, `mend_agents::dqn::warm_start`).
/// The exported policy acts greedily on its Q-values (with its no-op margin).
#[derive(Debug, Clone)]
pub struct DqnFactory {
    config: DqnConfig,
}

/// Builds the dqn kind from `params`.
pub fn build_dqn(
    params: &toml::Table,
    ctx: &ParamContext<'_>,
) -> Result<Box<dyn LearnerFactory>, ExperimentError> {
    let config = overlay(
        &DqnConfig::cluster_default(0),
        params,
        ctx,
        "DQN (mend_agents::DqnConfig)",
        &["explore_act_prob", "warm_start"],
    )?;
    // Value checks live in the agents crate: build a one-entity network to run them.
    let (row_width, global_width, n_kinds) = entity_shape();
    EntityDqn::new(
        config.clone(),
        row_width,
        global_width,
        n_kinds,
        1 + n_kinds,
    )
    .map_err(|e| config_error(ctx, e))?;
    Ok(Box::new(DqnFactory { config }))
}

struct DqnLearner(EntityDqn);

impl Learner for DqnLearner {
    fn agent(&mut self) -> &mut dyn Agent {
        &mut self.0
    }
    fn export(
        &self,
        path: &Path,
        training: TrainingInfo,
        monitoring: Monitoring,
    ) -> anyhow::Result<()> {
        self.0
            .export(
                mend_agents::FeatureSchema::builtin_entities(),
                cluster_kind_names(),
                training,
            )
            .with_monitoring(monitoring)
            .save(path)?;
        Ok(())
    }
    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.0.config()).unwrap_or_default()
    }
}

impl LearnerFactory for DqnFactory {
    fn algorithm(&self) -> &'static str {
        "dqn"
    }
    fn num_envs(&self) -> usize {
        self.config.num_envs
    }
    fn start(
        &self,
        seed: u64,
        total_timesteps: u64,
        env: &dyn VectorEnv,
    ) -> anyhow::Result<Box<dyn Learner>> {
        let config = DqnConfig {
            seed,
            total_timesteps,
            ..self.config.clone()
        };
        Ok(Box::new(DqnLearner(EntityDqn::for_env(config, env)?)))
    }
    fn load(&self, path: &Path) -> anyhow::Result<Box<dyn PolicyFactory>> {
        NetPolicyFactory::load(path)
    }
}

/// A trained network policy (entity networks act on any cluster size); cloned per episode.
#[derive(Debug)]
struct NetPolicyFactory(PolicyFile);

impl NetPolicyFactory {
    /// Loads an entity-network policy file (PPO or DQN) checked against the entity feature schema.
    fn load(path: &Path) -> anyhow::Result<Box<dyn PolicyFactory>> {
        let file = PolicyFile::load(path, Some(&mend_agents::FeatureSchema::builtin_entities()))?;
        Ok(Box::new(Self(file)))
    }
}

/// `(row_width, global_width, n_kinds)` of the cluster env's entity observations and actions
/// (feature schema v1, the simulator's action kinds).
fn entity_shape() -> (usize, usize, usize) {
    let schema = FeatureSchema::builtin();
    (
        schema.columns.len(),
        schema.global.len(),
        cluster_kind_names().len(),
    )
}

impl PolicyFactory for NetPolicyFactory {
    /// A DQN file decides by its manifest's no-op margin (`mend_agents::dqn::policy_from_file`,
    /// as the executor does); other files act through their network as saved.
    fn make(&self, _n_actions: usize) -> Box<dyn Policy> {
        mend_agents::dqn::policy_from_file(self.0.clone())
    }
}

/// What a training run did, for policy-file provenance.
pub fn training_info(
    scenario_family: &str,
    seed: u64,
    summary: TrainSummary,
    config: serde_json::Value,
) -> TrainingInfo {
    TrainingInfo {
        env_id: mend_envs::cluster::CLUSTER_ID.to_string(),
        scenario_family: Some(scenario_family.to_string()),
        seed,
        summary,
        config,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mend_agents::ActionScores;
    use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, SyncVectorEnv};

    fn ctx() -> ParamContext<'static> {
        ParamContext {
            file: "exp.toml",
            index: 2,
            agent: "dqn-small",
        }
    }

    fn table(text: &str) -> toml::Table {
        text.parse().expect("test TOML parses")
    }

    #[test]
    fn tabular_presets_and_warm_start_params_are_accepted_and_checked() {
        build_tabular(
            &table("preset = \"warm_started\"\nwarm_start = { act_threshold = 0.1 }"),
            &ctx(),
        )
        .expect("the warm-started preset with a partial warm start");
        let cases = [
            ("preset = \"fancy\"", "agents[2].params.preset"),
            // The default preset has no advantages over the no-op, which the warm start seeds.
            ("warm_start = { steps = 10 }", "agents[2].params.warm_start"),
            (
                "preset = \"warm_started\"\nwarm_start = { act_threshold = 1.5 }",
                "agents[2].params.warm_start.act_threshold",
            ),
        ];
        for (text, field) in cases {
            let err = build_tabular(&table(text), &ctx())
                .expect_err(text)
                .to_string();
            assert!(err.contains(field), "{text}: {err}");
        }
    }

    #[test]
    fn dqn_params_are_checked_by_key_and_value() {
        let ok = build_dqn(
            &table("learning_rate = 1e-3\nhidden = [32]\ndouble_q = false"),
            &ctx(),
        )
        .expect("known keys with good values");
        assert_eq!(ok.algorithm(), "dqn");
        assert_eq!(ok.num_envs(), DqnConfig::cluster_default(0).num_envs);
        let cases = [
            ("gamma = 1.5", "agents[2].params.gamma"),
            ("bogus = 1", "agents[2].params.bogus"),
            ("seed = 3", "agents[2].params.seed"),
            ("batch_size = \"many\"", "agents[2].params.batch_size"),
            (
                "explore_act_prob = 2.0",
                "agents[2].params.explore_act_prob",
            ),
            (
                "warm_start = { n_step = 0 }",
                "agents[2].params.warm_start.n_step",
            ),
            ("warm_start = { stepz = 3 }", "agents[2].params.warm_start"),
        ];
        build_dqn(
            &table("warm_start = { teacher = \"runbook\", steps = 100, act_weight = 10.0 }"),
            &ctx(),
        )
        .expect("a partial warm start over its defaults");
        for (text, field) in cases {
            let err = build_dqn(&table(text), &ctx()).expect_err(text).to_string();
            assert!(err.contains(field), "{text}: {err}");
            assert!(
                err.contains("exp.toml") && err.contains("dqn-small"),
                "{err}"
            );
        }
    }

    #[test]
    fn dqn_kind_trains_exports_and_its_policy_acts_with_q_values_on_another_size() {
        let factory = build_dqn(
            &table(
                "num_envs = 2\nhidden = [16]\nlearning_starts = 64\nbatch_size = 8\n\
                 buffer_size = 300\ntrain_frequency = 8\ntarget_network_frequency = 64",
            ),
            &ctx(),
        )
        .unwrap();
        let envs = (0..factory.num_envs())
            .map(|_| {
                Box::new(ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap())
                    as Box<dyn Env>
            })
            .collect();
        let mut env = SyncVectorEnv::new(envs, AutoresetMode::SameStep).unwrap();
        let mut learner = factory.start(4, 256, &env).unwrap();
        let summary = learner
            .agent()
            .learn(&mut env, 256, &mut mend_agents::NullSink)
            .unwrap();
        assert!(summary.gradient_steps > 0, "{summary:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dqn.safetensors");
        let config = learner.config_json();
        assert_eq!(config["seed"], 4);
        learner
            .export(
                &path,
                training_info("tiny", 4, summary, config),
                Monitoring::default(),
            )
            .unwrap();
        let policy = factory.load(&path).unwrap().make(0);
        assert_eq!(policy.algorithm(), "dqn");
        let mut default = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
        let (obs, _) = default.reset(Some(1_000), None).unwrap();
        let mask = default.action_mask().unwrap();
        match policy.action_scores(&obs, Some(&mask)).unwrap() {
            ActionScores::QValues(q) => assert_eq!(q.len(), mask.len()),
            other => panic!("expected Q-values, got {other:?}"),
        }
    }
}
