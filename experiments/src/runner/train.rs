//! The training phase: every (learned agent, training seed) pair is one training job, run on the
//! rayon pool. A job trains on `scenarios.train` for its agent's `train_timesteps` (default
//! `budget.train_timesteps`) environment steps in
//! chunks of `budget.checkpoint_timesteps`; after each chunk it writes its learning-curve rows and a
//! checkpoint, so a killed run resumes from the last chunk boundary with the same result it would
//! have had uninterrupted. The exported policy file is the job's "done" mark: a re-run skips the job.
//!
//! Several training scenarios: chunk `c` trains on `scenarios.train[c % k]` (all sub-envs of the
//! chunk on one scenario, as their spaces must match), so a budget of several chunks alternates
//! between them in the listed order. Each chunk is one `Agent::learn` call, which restarts the
//! sub-envs' episodes; the chunk boundaries do not depend on where a run was interrupted.
//!
//! ```text
//!  train/<agent>/train-<seed>/{curves.csv, checkpoint.safetensors}   (per chunk, atomically)
//!  policies/<agent>-train<seed>.safetensors                          (at the end: done)
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use mend_agents::{TrainSummary, VecSink};
use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, SyncVectorEnv};
use mend_sim::Scenario;
use serde::{Deserialize, Serialize};

use super::files;
use super::jobs::slug;
use super::seeding::TrainingSeeds;
use crate::agents_registry::learned::{LearnerFactory, training_info};
use crate::experiment::Experiment;
use crate::output::write_atomic;

/// One training run: a learned agent and a training seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainJob {
    /// Position in the training plan.
    pub index: usize,
    /// Index into `agents`.
    pub agent_index: usize,
    /// Agent name.
    pub agent: String,
    /// Training seed (the agent's master seed).
    pub seed: u64,
}

impl TrainJob {
    /// The job's working folder (checkpoint and curves) under the run folder `dir`.
    pub fn work_dir(&self, dir: &Path) -> PathBuf {
        dir.join(files::TRAIN_DIR)
            .join(slug(&self.agent))
            .join(format!("train-{}", self.seed))
    }

    /// The checkpoint file.
    pub fn checkpoint_path(&self, dir: &Path) -> PathBuf {
        self.work_dir(dir).join("checkpoint.safetensors")
    }

    /// The learning-curve rows written so far.
    pub fn curves_path(&self, dir: &Path) -> PathBuf {
        self.work_dir(dir).join("curves.csv")
    }

    /// The exported policy: `policies/<agent>-train<seed>.safetensors`.
    pub fn policy_path(&self, dir: &Path) -> PathBuf {
        dir.join(files::POLICIES_DIR).join(format!(
            "{}-train{}.safetensors",
            slug(&self.agent),
            self.seed
        ))
    }

    /// `agent, training seed N`.
    pub fn label(&self) -> String {
        format!("{}, training seed {}", self.agent, self.seed)
    }
}

/// Every training job of `experiment`: learned agents in file order, then training seeds.
/// `learned[i]` says whether `agents[i]` is a learned kind.
pub fn plan(experiment: &Experiment, learned: &[bool]) -> Vec<TrainJob> {
    let mut jobs = Vec::new();
    for (agent_index, agent) in experiment.agents.iter().enumerate() {
        if !learned.get(agent_index).copied().unwrap_or(false) {
            continue;
        }
        for seed in experiment.seeds.train.seeds() {
            jobs.push(TrainJob {
                index: jobs.len(),
                agent_index,
                agent: agent.display_name().to_string(),
                seed,
            });
        }
    }
    jobs
}

/// One row of `learning_curves.csv` (CleanRL metric names, e.g. `charts/episodic_return`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveRow {
    /// Agent name.
    pub agent: String,
    /// Training seed.
    pub train_seed: u64,
    /// Environment steps over all sub-envs when the value was measured.
    pub global_step: u64,
    /// Metric name.
    pub metric: String,
    /// Value.
    pub value: f64,
}

/// Metric recording the cumulative gradient steps after each chunk (kept so a resumed run can
/// write the same policy-file provenance as an uninterrupted one).
pub const GRADIENT_STEPS: &str = "charts/gradient_steps";

/// `learning_curves.csv` text.
pub fn curves_csv(rows: &[CurveRow]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        writer
            .write_record(["agent", "train_seed", "global_step", "metric", "value"])
            .context("cannot write the learning-curve header")?;
    }
    for row in rows {
        writer
            .serialize(row)
            .context("cannot write a learning-curve row")?;
    }
    writer.into_inner().context("cannot finish learning curves")
}

/// Parses learning-curve rows (`origin` names the file in errors).
pub fn parse_curves_csv(bytes: &[u8], origin: &str) -> Result<Vec<CurveRow>> {
    csv::Reader::from_reader(bytes)
        .deserialize()
        .enumerate()
        .map(|(i, r)| {
            r.with_context(|| format!("{origin}: row {}: not a learning-curve row", i + 2))
        })
        .collect()
}

/// How a training job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainStatus {
    /// The policy file was already there.
    Skipped,
    /// Trained to the budget and exported.
    Finished,
    /// Stopped after the allowed number of chunks (a simulated interruption), checkpoint written.
    Stopped,
}

/// What the training phase shares between jobs.
#[derive(Debug)]
pub struct TrainContext<'a> {
    /// The experiment.
    pub experiment: &'a Experiment,
    /// `scenarios.train`, loaded.
    pub scenarios: &'a [Arc<Scenario>],
    /// The run folder.
    pub dir: &'a Path,
    /// Stop each job after this many chunks in this process (tests of resumption).
    pub max_chunks: Option<u64>,
    /// The experiment's failure predictor ([`super::predictor::prepare`]), for the agents that
    /// read its risk score.
    pub risk_model: Option<&'a Arc<super::predictor::RiskModel>>,
}

/// Runs (or resumes, or skips) one training job; `progress(steps)` is called after each chunk.
pub fn run_job(
    ctx: &TrainContext<'_>,
    job: &TrainJob,
    factory: &dyn LearnerFactory,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<TrainStatus> {
    let dir = ctx.dir;
    let budget = ctx.experiment.train_timesteps_of(job.agent_index);
    if job.policy_path(dir).is_file() {
        progress(budget);
        return Ok(TrainStatus::Skipped);
    }
    let context = || format!("training {}", job.label());
    let mut envs = ctx
        .scenarios
        .iter()
        .map(|s| {
            let config = super::env_config(ctx.experiment, job.agent_index, ctx.risk_model);
            vector_env(s, &config, factory.num_envs(), job.seed)
        })
        .collect::<Result<Vec<_>>>()
        .with_context(context)?;
    let mut learner = factory
        .start(job.seed, budget, &envs[0])
        .with_context(context)?;
    let mut rows: Vec<CurveRow> = Vec::new();
    let checkpoint = job.checkpoint_path(dir);
    if checkpoint.is_file() {
        learner
            .agent()
            .load_checkpoint(&checkpoint)
            .with_context(|| {
                format!("{}: cannot resume from {}", context(), checkpoint.display())
            })?;
        let steps = learner.agent().num_timesteps();
        let curves = job.curves_path(dir);
        if curves.is_file() {
            let bytes = std::fs::read(&curves)
                .with_context(|| format!("cannot read {}", curves.display()))?;
            rows = parse_curves_csv(&bytes, &curves.display().to_string())?;
            // Rows written after the checkpoint (killed in between) are trained again.
            rows.retain(|r| r.global_step <= steps);
        }
        progress(steps.min(budget));
    }
    let chunk = ctx.experiment.budget.checkpoint_timesteps.max(1);
    let mut chunks_here = 0u64;
    // A zero budget (allowed only with a warm start) still calls `learn` once on a fresh run:
    // the warm start, the only training such an agent gets, happens inside it.
    let mut untrained = !checkpoint.is_file();
    loop {
        let done = learner.agent().num_timesteps();
        if done >= budget && !(budget == 0 && untrained) {
            break;
        }
        untrained = false;
        if ctx.max_chunks.is_some_and(|m| chunks_here >= m) {
            return Ok(TrainStatus::Stopped);
        }
        let chunk_index = done / chunk;
        let target = ((chunk_index + 1) * chunk).min(budget);
        let scenario = (chunk_index % envs.len() as u64) as usize;
        let mut sink = VecSink::default();
        let summary = learner
            .agent()
            .learn(&mut envs[scenario], target, &mut sink)
            .with_context(|| {
                format!(
                    "{}: on scenario {}",
                    context(),
                    ctx.experiment.scenarios.train[scenario]
                )
            })?;
        // `charts/global_step` repeats the global_step column: not kept.
        rows.extend(
            sink.records
                .into_iter()
                .filter(|r| r.1 != "charts/global_step")
                .map(|(step, metric, value)| CurveRow {
                    agent: job.agent.clone(),
                    train_seed: job.seed,
                    global_step: step,
                    metric,
                    value,
                }),
        );
        rows.push(CurveRow {
            agent: job.agent.clone(),
            train_seed: job.seed,
            global_step: summary.num_timesteps,
            metric: GRADIENT_STEPS.into(),
            value: summary.gradient_steps as f64,
        });
        write_atomic(&job.curves_path(dir), &curves_csv(&rows)?)?;
        learner
            .agent()
            .save_checkpoint(&checkpoint)
            .with_context(context)?;
        progress(summary.num_timesteps.min(budget) - done.min(budget));
        chunks_here += 1;
    }
    let summary = summary_of(&rows, learner.agent().num_timesteps());
    let info = training_info(
        &ctx.experiment.scenarios.train.join("+"),
        job.seed,
        summary,
        learner.config_json(),
    );
    let policy = job.policy_path(dir);
    if let Some(parent) = policy.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    let monitoring = super::monitoring_of(ctx.experiment, job.agent_index, ctx.risk_model);
    learner
        .export(&policy, info, monitoring)
        .with_context(|| format!("{}: cannot export the policy", context()))?;
    Ok(TrainStatus::Finished)
}

/// The training summary from the curve rows (the same whether or not the run was resumed).
fn summary_of(rows: &[CurveRow], num_timesteps: u64) -> TrainSummary {
    let returns: Vec<f64> = rows
        .iter()
        .filter(|r| r.metric == "charts/episodic_return")
        .map(|r| r.value)
        .collect();
    let tail = &returns[returns.len().saturating_sub(100)..];
    TrainSummary {
        num_timesteps,
        episodes: returns.len() as u64,
        mean_return_last_100: (!tail.is_empty())
            .then(|| tail.iter().sum::<f64>() / tail.len() as f64),
        gradient_steps: rows
            .iter()
            .rev()
            .find(|r| r.metric == GRADIENT_STEPS)
            .map_or(0, |r| r.value as u64),
    }
}

/// The training vector env of one scenario: `num_envs` cluster envs configured by `config` (the
/// agent's alert detector, [`super::env_config`]), stepped in order on the job's thread (jobs run
/// in parallel), same-step autoreset (what the agents bootstrap truncation from), reset seeds
/// mapped away from evaluation seeds.
fn vector_env(
    scenario: &Arc<Scenario>,
    config: &ClusterConfig,
    num_envs: usize,
    train_seed: u64,
) -> Result<TrainingSeeds<SyncVectorEnv>> {
    let envs = (0..num_envs.max(1))
        .map(|_| {
            ClusterEnv::new(Arc::clone(scenario), config.clone())
                .map(|e| Box::new(e) as Box<dyn Env>)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrainingSeeds::new(
        SyncVectorEnv::new(envs, AutoresetMode::SameStep)?,
        train_seed,
    ))
}

/// Reads every job's curve rows in plan order (for `learning_curves.csv`, without the
/// bookkeeping [`GRADIENT_STEPS`] rows); a job with no curves file is an error naming it.
pub fn collect_curves(dir: &Path, plan: &[TrainJob]) -> Result<Vec<CurveRow>> {
    let mut rows = Vec::new();
    for job in plan {
        let path = job.curves_path(dir);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "{}: training job {} has no learning curves ({} missing); run `mend train` or the missing shard",
                dir.display(),
                job.label(),
                path.display()
            )
        })?;
        rows.extend(
            parse_curves_csv(&bytes, &path.display().to_string())?
                .into_iter()
                .filter(|r| r.metric != GRADIENT_STEPS),
        );
    }
    Ok(rows)
}
