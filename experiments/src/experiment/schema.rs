//! The experiment file's types, one struct per TOML table, each with `deny_unknown_fields` so a
//! misspelt key is an error rather than a silently ignored setting. Field docs are the schema's
//! reference (mirrored in `experiments/README.md`).

use serde::{Deserialize, Serialize};

/// A whole experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// `[experiment]`: name and master seed.
    pub experiment: ExperimentHeader,
    /// `[scenarios]`: training and held-out evaluation scenarios.
    pub scenarios: ScenarioSets,
    /// `[seeds]`: training and evaluation seeds (disjoint).
    pub seeds: Seeds,
    /// `[budget]`: how much work each job does.
    #[serde(default)]
    pub budget: Budget,
    /// `[detectors]`: the alerting run beside every evaluation episode (time to detect).
    #[serde(default)]
    pub detectors: Detectors,
    /// `[[agents]]`: the agents compared, each by registry kind with hyperparameters.
    pub agents: Vec<AgentEntry>,
}

/// `[experiment]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentHeader {
    /// Name: letters, digits, `-`, `_` (it names the results folder).
    pub name: String,
    /// One line saying what the experiment tests.
    #[serde(default)]
    pub description: String,
    /// Master seed; the run id is `<name>-seed<seed>`. `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    /// Agent the others are compared with (paired differences). Default: `reactive` if such an agent
    /// is listed, else `no-op`.
    #[serde(default)]
    pub baseline: Option<String>,
    /// The agent standing for the self-healing framework in the paper table (`mend report
    /// --paper`), compared with `baseline` on the seed paper's four claims; must be a listed agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
}

/// `[scenarios]`: scenario files or built-in names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSets {
    /// Scenarios learned agents train on.
    #[serde(default)]
    pub train: Vec<String>,
    /// Held-out scenarios every agent is evaluated on (must not appear in `train` unless
    /// `in_distribution`).
    pub eval: Vec<String>,
    /// Allow `eval` to list training scenarios: evaluation then measures in-distribution
    /// performance (new seeds of a scenario the agents trained on) rather than generalisation.
    /// The seeds stay disjoint from training either way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_distribution: bool,
}

/// `[seeds]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seeds {
    /// Training seeds (one training run per seed and learned agent).
    #[serde(default = "SeedRange::empty")]
    pub train: SeedRange,
    /// Evaluation seeds: every agent faces the same ones (common random numbers, paired).
    pub eval: SeedRange,
}

/// A contiguous range of seeds: `{ start = 1000, count = 20 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRange {
    /// First seed.
    pub start: u64,
    /// Number of seeds.
    pub count: u64,
}

impl SeedRange {
    /// No seeds.
    pub fn empty() -> Self {
        Self { start: 0, count: 0 }
    }

    /// The seeds, in order.
    pub fn seeds(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.count).map(|i| self.start.wrapping_add(i))
    }

    /// Whether two ranges share a seed.
    pub fn overlaps(&self, other: &SeedRange) -> bool {
        if self.count == 0 || other.count == 0 {
            return false;
        }
        let end = |r: &SeedRange| r.start.saturating_add(r.count);
        self.start < end(other) && other.start < end(self)
    }
}

/// `[budget]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Environment steps per training run (learned agents).
    #[serde(default = "Budget::default_train_timesteps")]
    pub train_timesteps: u64,
    /// Evaluation episodes per (scenario, agent, seed) job; episode `k` of seed `s` uses the env seed
    /// drawn by the env's own generator after `reset(Some(s))` (Gymnasium's convention).
    #[serde(default = "Budget::default_eval_episodes")]
    pub eval_episodes: u64,
    /// Environment steps between training checkpoints (a killed run resumes from the last one).
    /// Training also rotates between `scenarios.train` at these boundaries.
    #[serde(default = "Budget::default_checkpoint_timesteps")]
    pub checkpoint_timesteps: u64,
}

impl Budget {
    fn default_checkpoint_timesteps() -> u64 {
        10_000
    }
    fn default_train_timesteps() -> u64 {
        10_000
    }
    fn default_eval_episodes() -> u64 {
        1
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            train_timesteps: Self::default_train_timesteps(),
            eval_episodes: Self::default_eval_episodes(),
            checkpoint_timesteps: Self::default_checkpoint_timesteps(),
        }
    }
}

/// `[detectors]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detectors {
    /// Detector of the alert rules run on each evaluation episode's telemetry, by
    /// `mend_monitor` registry name (`static_threshold`: the Prometheus-style static rules;
    /// `ewma`, `median_mad`, ... with their defaults on the same metrics; or a tuned setting,
    /// as a table or spec text, as an agent's `detector` takes it).
    #[serde(
        default = "Detectors::default_alerting",
        deserialize_with = "detector_spec::required"
    )]
    pub alerting: String,
    /// The failure predictor the runner trains before the learned agents (issue 6 item 8): its
    /// risk score becomes the observation's `svc_failure_risk` column (feature schema v4) for the
    /// agents it names. `None`: no predictor, the column stays 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_prediction: Option<FailurePrediction>,
}

impl Detectors {
    fn default_alerting() -> String {
        "static_threshold".into()
    }
}

impl Default for Detectors {
    fn default() -> Self {
        Self {
            alerting: Self::default_alerting(),
            failure_prediction: None,
        }
    }
}

/// `[detectors] failure_prediction = { agents = ["ppo"], ... }`: which agents read the failure
/// predictor's risk score and how the runner trains the predictor (`runner::predictor`). Defaults follow the prediction study's settings
/// (`detection::PredictionConfig`: horizon 600 s, 32 hidden units, 8 epochs; trends over 600 s
/// as `PredictionConfig::with_precursors`' 40 scrapes of 15 s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailurePrediction {
    /// A sample is positive when an SLO incident on its service starts within this many seconds.
    #[serde(default = "FailurePrediction::default_horizon_s")]
    pub horizon_s: f64,
    /// Seconds of history the trend inputs (delta and least-squares change of memory, p99
    /// latency, error ratio, CPU) are taken over, by timestamp.
    #[serde(default = "FailurePrediction::default_trend_s")]
    pub trend_s: f64,
    /// Names of the agents whose observations carry the risk score, in their training and
    /// evaluation envs and in their exported policies' manifests (the paper study's framework
    /// arm; baselines do not). At least one.
    pub agents: Vec<String>,
    /// Hidden units of the predictor's one tanh layer.
    #[serde(default = "FailurePrediction::default_hidden")]
    pub hidden: usize,
    /// Passes over the training samples.
    #[serde(default = "FailurePrediction::default_epochs")]
    pub epochs: usize,
    /// Simulated runs (no agent) per training scenario; the last one is held out to measure the
    /// predictor (PR-AUC, precision and recall at 0.5). Their seeds lie in the training range
    /// (`runner::seeding::predictor_seeds`), never an evaluation seed.
    #[serde(default = "FailurePrediction::default_seeds")]
    pub seeds: u64,
    /// Minibatch size.
    #[serde(default = "FailurePrediction::default_batch_size")]
    pub batch_size: usize,
    /// AdamW learning rate.
    #[serde(default = "FailurePrediction::default_learning_rate")]
    pub learning_rate: f64,
}

impl FailurePrediction {
    fn default_horizon_s() -> f64 {
        600.0
    }
    fn default_trend_s() -> f64 {
        600.0
    }
    fn default_hidden() -> usize {
        32
    }
    fn default_epochs() -> usize {
        8
    }
    fn default_seeds() -> u64 {
        4
    }
    fn default_batch_size() -> usize {
        128
    }
    fn default_learning_rate() -> f64 {
        3e-3
    }
}

impl Default for FailurePrediction {
    fn default() -> Self {
        Self {
            horizon_s: Self::default_horizon_s(),
            trend_s: Self::default_trend_s(),
            agents: Vec::new(),
            hidden: Self::default_hidden(),
            epochs: Self::default_epochs(),
            seeds: Self::default_seeds(),
            batch_size: Self::default_batch_size(),
            learning_rate: Self::default_learning_rate(),
        }
    }
}

/// `[[agents]]`: one compared agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentEntry {
    /// Name in results (unique in the file); defaults to `kind`.
    #[serde(default)]
    pub name: Option<String>,
    /// Registry kind (`mend run --list-agents`): `no-op`, `random`, ...
    pub kind: String,
    /// Hyperparameters, checked by the kind's constructor.
    #[serde(default)]
    pub params: toml::Table,
    /// Detector of the alert rules watching this agent's evaluation episodes (its TTD and false
    /// alerts): a `mend_monitor` registry name (`median_mad`: defaults on every watched metric),
    /// or a tuned setting of a z-score family, written as a table
    /// `{ name = "median_mad", z = 8.0, for_s = 60.0 }` or as its spec text
    /// `"median_mad(z=8, for_s=60)"` (see `mend_monitor::alerting::TunedDetector`); tables are
    /// read into the spec text, which the runner, timelines and `--detector` flags share.
    /// `None`: `[detectors] alerting`. The paper study gives the framework arm an adaptive
    /// detector and the baseline the static rules.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "detector_spec::optional"
    )]
    pub detector: Option<String>,
    /// A learned agent's own training budget in environment steps, when it differs from
    /// `[budget] train_timesteps` (e.g. PPO warm-started from the runbook needs far fewer steps
    /// than tabular Q-learning). Refused on fixed-policy kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_timesteps: Option<u64>,
}

/// Reading a detector given as a name, a spec text or a table `{ name = "...", KEY = NUMBER }`
/// (`dir = "up"` is the one word-valued key)
/// into one string: tables become the spec text `name(KEY=NUMBER, ...)` (keys in the table's
/// order) and valid specs to their canonical text, whose parameters validation then checks (`mend_monitor::alerting::TunedDetector`).
mod detector_spec {
    use serde::Deserialize;
    use serde::de::{Deserializer, Error};

    /// A parameter's value in spec text: numbers, and for `dir` a word (`up`, `down` or `both`,
    /// which the spec parser checks).
    fn parameter(key: &str, value: &toml::Value) -> Result<String, String> {
        match value {
            toml::Value::String(word) if key == "dir" => Ok(word.clone()),
            other if key == "dir" => Err(format!(
                "detector parameter `dir`: expected \"up\", \"down\" or \"both\", found {}",
                other.type_str()
            )),
            toml::Value::Float(x) => Ok(x.to_string()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            other => Err(format!(
                "detector parameter `{key}`: expected a number, found {}",
                other.type_str()
            )),
        }
    }

    fn text<E: Error>(raw: toml::Value) -> Result<String, E> {
        let table = match raw {
            toml::Value::String(s) => return Ok(s),
            toml::Value::Table(t) => t,
            other => {
                return Err(E::custom(format!(
                    "detector: expected a string (a registry name such as \"median_mad\" or a \
                     spec such as \"median_mad(z=8, for_s=60)\") or a table \
                     {{ name = \"median_mad\", z = 8.0, for_s = 60.0 }}, found {}",
                    other.type_str()
                )));
            }
        };
        let name = match table.get("name") {
            Some(toml::Value::String(n)) => n.clone(),
            Some(other) => {
                return Err(E::custom(format!(
                    "detector `name`: expected a string (e.g. \"median_mad\"), found {}",
                    other.type_str()
                )));
            }
            None => {
                return Err(E::custom(
                    "detector table: missing `name` (e.g. { name = \"median_mad\", z = 8.0, for_s = 60.0 })",
                ));
            }
        };
        let params: Vec<String> = table
            .iter()
            .filter(|(k, _)| k.as_str() != "name")
            .map(|(k, v)| parameter(k, v).map(|n| format!("{k}={n}")))
            .collect::<Result<_, _>>()
            .map_err(E::custom)?;
        if params.is_empty() {
            return Ok(name);
        }
        Ok(format!("{name}({})", params.join(", ")))
    }

    /// A valid tuned spec in its canonical text (`median_mad(z=8, for_s=60)`, whatever the
    /// table's key order); anything else as written, for validation to report.
    fn canonical(text: String) -> String {
        match mend_monitor::alerting::TunedDetector::parse(&text) {
            Ok(Some(tuned)) => tuned.to_string(),
            _ => text,
        }
    }

    pub(super) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        text(toml::Value::deserialize(d)?).map(canonical)
    }

    pub(super) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Some(canonical(text(toml::Value::deserialize(d)?)?)))
    }
}

impl AgentEntry {
    /// The name results use.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.kind)
    }
}

impl Experiment {
    /// The agent paired differences are taken against (see [`ExperimentHeader::baseline`]).
    pub fn baseline(&self) -> String {
        if let Some(b) = &self.experiment.baseline {
            return b.clone();
        }
        let names: Vec<&str> = self.agents.iter().map(AgentEntry::display_name).collect();
        if names.contains(&"reactive") {
            "reactive".into()
        } else {
            "no-op".into()
        }
    }

    /// The detector whose alert rules watch agent `index`'s episodes: its own `detector`, else
    /// `[detectors] alerting`.
    pub fn detector_of(&self, index: usize) -> &str {
        self.agents
            .get(index)
            .and_then(|a| a.detector.as_deref())
            .unwrap_or(&self.detectors.alerting)
    }

    /// The training budget of agent `index`: its own `train_timesteps`, else `[budget]
    /// train_timesteps`.
    pub fn train_timesteps_of(&self, index: usize) -> u64 {
        self.agents
            .get(index)
            .and_then(|a| a.train_timesteps)
            .unwrap_or(self.budget.train_timesteps)
    }

    /// Whether agent `index` reads the failure predictor's risk score (its name is in
    /// `[detectors] failure_prediction.agents`).
    pub fn uses_failure_prediction(&self, index: usize) -> bool {
        let (Some(prediction), Some(agent)) =
            (&self.detectors.failure_prediction, self.agents.get(index))
        else {
            return false;
        };
        prediction
            .agents
            .iter()
            .any(|name| name == agent.display_name())
    }

    /// Deterministic run id: `<name>-seed<seed>` (never the wall clock).
    pub fn run_id(&self) -> String {
        format!("{}-seed{}", self.experiment.name, self.experiment.seed)
    }

    /// The agents' names in results (`name`, else `kind`), in experiment order.
    pub fn agent_names(&self) -> Vec<String> {
        self.agents
            .iter()
            .map(|a| a.display_name().to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_overlap_only_when_they_share_a_seed() {
        let a = SeedRange { start: 0, count: 5 };
        assert!(a.overlaps(&SeedRange { start: 4, count: 1 }));
        assert!(!a.overlaps(&SeedRange { start: 5, count: 3 }));
        assert!(!a.overlaps(&SeedRange::empty()));
        assert_eq!(a.seeds().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    }
}
