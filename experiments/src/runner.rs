//! The experiment runner: evaluates every (held-out scenario, agent, seed) job on a rayon pool, writes
//! each job's rows to its own file as it finishes (so a re-run skips finished jobs), then joins them in
//! job order into the run's results. Outputs depend only on the experiment and its seed, never on the
//! thread count or the order jobs finish in.
//!
//! ```text
//!   Experiment ─▶ jobs::plan (ordered, optionally one shard) ─▶ rayon pool ─▶ jobs/<scenario>/<agent>/seed-N.csv
//!                                                                                  │ (all jobs present)
//!   results/<experiment>/<run-id>/ ◀── finish: episodes.csv, summary.json/.md, plots ◀┘
//! ```

pub mod episode;
pub mod jobs;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::experiment::{self, Experiment};
use crate::output::write_atomic;
use crate::results::{self, EpisodeMetrics};
use crate::{agents_registry, plots, progress, scenarios, traces};
use mend_envs::ClusterConfig;

pub use jobs::{Job, Shard};

/// File names inside a run folder.
pub mod files {
    /// The resolved experiment (TOML), written first.
    pub const CONFIG: &str = "config.toml";
    /// Every evaluation episode.
    pub const EPISODES: &str = "episodes.csv";
    /// Training curves of learned agents.
    pub const LEARNING_CURVES: &str = "learning_curves.csv";
    /// Summary for programs.
    pub const SUMMARY_JSON: &str = "summary.json";
    /// Summary for people.
    pub const SUMMARY_MD: &str = "summary.md";
    /// Per-job rows (the resume points).
    pub const JOBS_DIR: &str = "jobs";
    /// Exported policies of learned agents.
    pub const POLICIES_DIR: &str = "policies";
    /// Plots (PNG and SVG).
    pub const PLOTS_DIR: &str = "plots";
    /// Recorded episode traces (`mend eval --record`).
    pub const TRACES_DIR: &str = "traces";
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Results root (`results` by default): the run goes to `<out>/<experiment>/<run-id>/`.
    pub out: PathBuf,
    /// Worker threads; `None` = rayon's default (all cores). Results do not depend on it.
    pub threads: Option<usize>,
    /// No progress bars.
    pub quiet: bool,
    /// Only this share of the jobs (a sweep shard); the run is finished by `mend merge`.
    pub shard: Option<Shard>,
    /// Also write each episode's trace to `traces/<scenario>/<agent>/seed-<s>-ep<k>.jsonl`, for
    /// `mend replay`.
    pub record: bool,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run folder.
    pub dir: PathBuf,
    /// Jobs in this run (or shard).
    pub jobs_total: usize,
    /// Jobs skipped because their rows were already on disk.
    pub jobs_skipped: usize,
    /// Wall seconds spent inside jobs (simulation and policy), summed over jobs.
    pub job_seconds: f64,
    /// Wall seconds of the evaluation phase (the parallel jobs).
    pub eval_seconds: f64,
    /// Wall seconds spent writing the results (episodes.csv, summaries, plots).
    pub finish_seconds: f64,
    /// Wall seconds of the whole run, including planning and writing results.
    pub wall_seconds: f64,
    /// Whether the results (summary, plots) were written (false for a shard).
    pub finished: bool,
}

/// The run folder of an experiment under `out`.
pub fn run_dir(experiment: &Experiment, out: &Path) -> PathBuf {
    out.join(&experiment.experiment.name)
        .join(experiment.run_id())
}

/// Runs (or resumes) an experiment's evaluation jobs and, unless sharded, writes its results.
pub fn run(experiment: &Experiment, options: &RunOptions) -> Result<RunReport> {
    let started = Instant::now();
    let dir = run_dir(experiment, &options.out);
    let config_text =
        toml::to_string(experiment).context("cannot serialise the resolved experiment")?;
    write_atomic(&dir.join(files::CONFIG), config_text.as_bytes())?;

    let plan = jobs::plan(experiment, options.shard);
    let pending: Vec<&Job> = plan
        .iter()
        .filter(|job| {
            !job.rows_path(&dir).is_file() || (options.record && !job.trace_path(&dir, 0).is_file())
        })
        .collect();
    let skipped = plan.len() - pending.len();

    let scenarios = load_scenarios(experiment)?;
    let factories = experiment
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| agents_registry::build(a, i, "the resolved experiment"))
        .collect::<Result<Vec<_>, _>>()?;

    let eval_start = Instant::now();
    let bar = progress::bar(pending.len() as u64, "evaluating", "jobs", options.quiet);
    let work = || {
        pending
            .par_iter()
            .map(|job| -> Result<f64> {
                let job_start = Instant::now();
                let output = episode::run_job(
                    &scenarios[job.scenario_index],
                    &ClusterConfig::default(),
                    factories[job.agent_index].as_ref(),
                    job.episode_job(),
                    options.record,
                )?;
                for (k, trace) in output.traces.iter().enumerate() {
                    traces::write(&job.trace_path(&dir, k as u64), trace)?;
                }
                write_atomic(&job.rows_path(&dir), &results::episodes_csv(&output.rows)?)?;
                bar.inc(1);
                Ok(job_start.elapsed().as_secs_f64())
            })
            .collect::<Vec<_>>()
    };
    let outcomes = match options.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .context("cannot start the worker threads")?
            .install(work),
        None => work(),
    };
    bar.finish_and_clear();
    let eval_seconds = eval_start.elapsed().as_secs_f64();
    let mut job_seconds = 0.0;
    for outcome in outcomes {
        job_seconds += outcome?;
    }
    let finished = options.shard.is_none();
    let finish_start = Instant::now();
    if finished {
        finish(&dir)?;
    }
    let finish_seconds = finish_start.elapsed().as_secs_f64();
    Ok(RunReport {
        dir,
        jobs_total: plan.len(),
        jobs_skipped: skipped,
        job_seconds,
        eval_seconds,
        finish_seconds,
        wall_seconds: started.elapsed().as_secs_f64(),
        finished,
    })
}

/// Writes a run's results from its job files: `episodes.csv`, `learning_curves.csv`, the summaries
/// and the plots. Fails naming the first missing job (e.g. a shard not merged yet).
pub fn finish(dir: &Path) -> Result<()> {
    let config_path = dir.join(files::CONFIG);
    let experiment = experiment::load(Some(&config_path))?.0;
    let mut rows: Vec<EpisodeMetrics> = Vec::new();
    for job in jobs::plan(&experiment, None) {
        let path = job.rows_path(dir);
        if !path.is_file() {
            bail!(
                "{}: job {} has no results ({} missing); run the missing shard or `mend run` again",
                dir.display(),
                job.label(),
                path.display()
            );
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        rows.extend(results::parse_episodes_csv(
            &bytes,
            &path.display().to_string(),
        )?);
    }
    write_atomic(&dir.join(files::EPISODES), &results::episodes_csv(&rows)?)?;
    write_atomic(
        &dir.join(files::LEARNING_CURVES),
        b"agent,train_scenario,train_seed,global_step,episodic_return\n",
    )?;
    let agents: Vec<String> = experiment
        .agents
        .iter()
        .map(|a| a.display_name().to_string())
        .collect();
    let summary = results::summarise(
        &experiment.experiment.name,
        &experiment.run_id(),
        &experiment.baseline(),
        &agents,
        &rows,
    );
    let mut json =
        serde_json::to_string_pretty(&summary).context("cannot serialise the summary")?;
    json.push('\n');
    write_atomic(&dir.join(files::SUMMARY_JSON), json.as_bytes())?;
    write_atomic(
        &dir.join(files::SUMMARY_MD),
        results::summary_markdown(&summary).as_bytes(),
    )?;
    plots::write_all(&dir.join(files::PLOTS_DIR), &summary, &rows)?;
    Ok(())
}

/// Loads every evaluation scenario once; jobs share them.
fn load_scenarios(experiment: &Experiment) -> Result<Vec<Arc<mend_sim::Scenario>>> {
    experiment
        .scenarios
        .eval
        .iter()
        .map(|arg| scenarios::load(arg).map(Arc::new))
        .collect()
}
