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
    /// Held-out scenarios every agent is evaluated on (must not appear in `train`).
    pub eval: Vec<String>,
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
    /// `ewma`, `median_mad`, ... with their defaults on the same metrics).
    #[serde(default = "Detectors::default_alerting")]
    pub alerting: String,
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
    /// alerts), by `mend_monitor` registry name; `None`: `[detectors] alerting`. The paper study
    /// gives the framework arm an adaptive detector and the baseline the static rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector: Option<String>,
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

    /// Deterministic run id: `<name>-seed<seed>` (never the wall clock).
    pub fn run_id(&self) -> String {
        format!("{}-seed{}", self.experiment.name, self.experiment.seed)
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
