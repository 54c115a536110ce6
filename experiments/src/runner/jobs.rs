//! The job plan: every (evaluation scenario, agent, seed) triple in a fixed order, and for a learned
//! agent one job per training seed's policy as well, optionally cut to one shard of a sweep, and
//! where each job's rows live on disk.
//!
//! Shards (`--shard i/n`): a fixed-policy job belongs to shard `index % n`; a learned agent's jobs
//! belong to the shard of the training job that produced their policy (`train_index % n`), which
//! trains it, so no policy is trained twice and no shard waits for another. The union of the shards
//! is the whole plan.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::experiment::Experiment;
use crate::runner::episode::EpisodeJob;
use crate::runner::files;
use crate::runner::train::TrainJob;

/// One evaluation job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Position in the full plan.
    pub index: usize,
    /// Index into `scenarios.eval`.
    pub scenario_index: usize,
    /// Scenario argument.
    pub scenario: String,
    /// Index into `agents`.
    pub agent_index: usize,
    /// Agent name.
    pub agent: String,
    /// Evaluation seed.
    pub seed: u64,
    /// Training seed of the evaluated policy (learned agents).
    pub train_seed: Option<u64>,
    /// Index of the training job whose policy is evaluated (learned agents).
    pub train_index: Option<usize>,
    /// Episodes to run.
    pub episodes: u64,
}

impl Job {
    /// Where the job's rows are stored under the run folder `dir`.
    pub fn rows_path(&self, dir: &Path) -> PathBuf {
        let agent_dir = dir
            .join(files::JOBS_DIR)
            .join(slug(&self.scenario))
            .join(slug(&self.agent));
        match self.train_seed {
            Some(t) => agent_dir.join(format!("train-{t}")),
            None => agent_dir,
        }
        .join(format!("seed-{}.csv", self.seed))
    }

    /// The shard this job belongs to among `count` shards (module docs).
    pub fn shard_of(&self, count: usize) -> usize {
        self.train_index.unwrap_or(self.index) % count.max(1)
    }

    /// Where episode `episode`'s trace is stored under the run folder `dir` (when recorded).
    pub fn trace_path(&self, dir: &Path, episode: u64) -> PathBuf {
        let name = match self.train_seed {
            Some(t) => format!("train-{t}-seed-{}-ep{episode}.jsonl", self.seed),
            None => format!("seed-{}-ep{episode}.jsonl", self.seed),
        };
        dir.join(files::TRACES_DIR)
            .join(slug(&self.scenario))
            .join(slug(&self.agent))
            .join(name)
    }

    /// `agent on scenario, seed N` (and the training seed of a learned agent's policy).
    pub fn label(&self) -> String {
        match self.train_seed {
            Some(t) => format!(
                "{} (training seed {t}) on {}, seed {}",
                self.agent, self.scenario, self.seed
            ),
            None => format!("{} on {}, seed {}", self.agent, self.scenario, self.seed),
        }
    }

    /// The episode runner's view of the job.
    pub fn episode_job(&self) -> EpisodeJob<'_> {
        EpisodeJob {
            scenario_name: &self.scenario,
            agent: &self.agent,
            seed: self.seed,
            episodes: self.episodes,
        }
    }
}

/// A share of a sweep: shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 <= index < count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `i/n`, e.g. `0/4`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}`: expected i/n with 0 <= i < n, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Every job of `experiment` in plan order (scenario, then agent, then training seed for learned
/// agents, then evaluation seed), or only `shard`'s; `train` is the training plan.
pub fn plan(experiment: &Experiment, train: &[TrainJob], shard: Option<Shard>) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (scenario_index, scenario) in experiment.scenarios.eval.iter().enumerate() {
        for (agent_index, agent) in experiment.agents.iter().enumerate() {
            let trained: Vec<&TrainJob> = train
                .iter()
                .filter(|t| t.agent_index == agent_index)
                .collect();
            let policies: Vec<Option<&TrainJob>> = if trained.is_empty() {
                vec![None]
            } else {
                trained.into_iter().map(Some).collect()
            };
            for policy in policies {
                for seed in experiment.seeds.eval.seeds() {
                    jobs.push(Job {
                        index: jobs.len(),
                        scenario_index,
                        scenario: scenario.clone(),
                        agent_index,
                        agent: agent.display_name().to_string(),
                        seed,
                        train_seed: policy.map(|t| t.seed),
                        train_index: policy.map(|t| t.index),
                        episodes: experiment.budget.eval_episodes,
                    });
                }
            }
        }
    }
    match shard {
        Some(s) => jobs
            .into_iter()
            .filter(|j| j.shard_of(s.count) == s.index)
            .collect(),
        None => jobs,
    }
}

/// A file-name-safe form of a scenario argument or agent name (`scenarios/eval/a.toml` ->
/// `scenarios_eval_a.toml`).
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment;

    #[test]
    fn shards_partition_the_plan() {
        let e = experiment::load(None).unwrap().0;
        let train = crate::runner::train::plan(&e, &crate::runner::learned_flags(&e).unwrap());
        let all = plan(&e, &train, None);
        assert!(all.len() >= 2);
        let mut union: Vec<usize> = (0..3)
            .flat_map(|i| plan(&e, &train, Some(Shard { index: i, count: 3 })))
            .map(|j| j.index)
            .collect();
        union.sort_unstable();
        assert_eq!(union, (0..all.len()).collect::<Vec<_>>());
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        assert!("4/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
    }
}
