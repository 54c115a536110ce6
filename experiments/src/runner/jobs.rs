//! The job plan: every (evaluation scenario, agent, seed) triple in a fixed order, optionally cut to
//! one shard of a sweep (`--shard i/n` takes the jobs whose index is `i` modulo `n`, so shards are
//! balanced and their union is the whole plan), and where each job's rows live on disk.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::experiment::Experiment;
use crate::runner::episode::EpisodeJob;
use crate::runner::files;

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
    /// Episodes to run.
    pub episodes: u64,
}

impl Job {
    /// Where the job's rows are stored under the run folder `dir`.
    pub fn rows_path(&self, dir: &Path) -> PathBuf {
        dir.join(files::JOBS_DIR)
            .join(slug(&self.scenario))
            .join(slug(&self.agent))
            .join(format!("seed-{}.csv", self.seed))
    }

    /// Where episode `episode`'s trace is stored under the run folder `dir` (when recorded).
    pub fn trace_path(&self, dir: &Path, episode: u64) -> PathBuf {
        dir.join(files::TRACES_DIR)
            .join(slug(&self.scenario))
            .join(slug(&self.agent))
            .join(format!("seed-{}-ep{episode}.jsonl", self.seed))
    }

    /// `agent on scenario, seed N`.
    pub fn label(&self) -> String {
        format!("{} on {}, seed {}", self.agent, self.scenario, self.seed)
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

/// Every job of `experiment` in plan order (scenario, then agent, then seed), or only `shard`'s.
pub fn plan(experiment: &Experiment, shard: Option<Shard>) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (scenario_index, scenario) in experiment.scenarios.eval.iter().enumerate() {
        for (agent_index, agent) in experiment.agents.iter().enumerate() {
            for seed in experiment.seeds.eval.seeds() {
                jobs.push(Job {
                    index: jobs.len(),
                    scenario_index,
                    scenario: scenario.clone(),
                    agent_index,
                    agent: agent.display_name().to_string(),
                    seed,
                    episodes: experiment.budget.eval_episodes,
                });
            }
        }
    }
    match shard {
        Some(s) => jobs
            .into_iter()
            .filter(|j| j.index % s.count == s.index)
            .collect(),
        None => jobs,
    }
}

/// A file-name-safe form of a scenario argument or agent name (`scenarios/eval/a.toml` ->
/// `scenarios_eval_a.toml`).
fn slug(name: &str) -> String {
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
        let e = experiment::from_toml_str(experiment::DEFAULT_TEXT, "default").unwrap();
        let all = plan(&e, None);
        assert!(all.len() >= 2);
        let mut union: Vec<usize> = (0..3)
            .flat_map(|i| plan(&e, Some(Shard { index: i, count: 3 })))
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
