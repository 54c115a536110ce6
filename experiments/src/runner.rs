//! The experiment runner. Training phase ([`train`]): every (learned agent, training seed) job on a
//! rayon pool, checkpointed, exporting `policies/<agent>-train<seed>.safetensors`. Evaluation phase:
//! every (held-out scenario, agent, [training seed,] evaluation seed) job on the pool, each writing
//! its rows to its own file as it finishes (so a re-run skips finished jobs); then the rows are
//! joined in job order into the run's results. Outputs depend only on the experiment and its seed,
//! never on the thread count, the order jobs finish in, or whether the run was interrupted.
//!
//! ```text
//!   Experiment ─▶ train::plan ─▶ rayon pool ─▶ train/<agent>/train-<t>/ ─▶ policies/<agent>-train<t>.safetensors
//!              ─▶ jobs::plan (ordered, optionally one shard) ─▶ rayon pool ─▶ jobs/<scenario>/<agent>/[train-<t>/]seed-N.csv
//!                                                                                  │ (all jobs present)
//!   results/<experiment>/<run-id>/ ◀── finish: episodes.csv, learning_curves.csv, summary.json/.md, plots
//! ```

pub mod episode;
pub mod jobs;
pub mod predictor;
pub mod seeding;
pub mod train;
pub mod ttd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mend_monitor::alerting::RuleSet;
use rayon::prelude::*;

use crate::agents_registry::{self, Built, PolicyFactory};
use crate::experiment::{self, Experiment};
use crate::output::write_atomic;
use crate::results::{self, EpisodeMetrics};
use crate::{plots, progress, scenarios, traces};
use episode::EpisodeSettings;
use mend_agents::Monitoring;
use mend_envs::ClusterConfig;
pub use predictor::RiskModel;

pub use jobs::{Job, Shard};
pub use train::TrainJob;

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
    /// The paper table (framework arm against the baseline on the seed paper's claims), written
    /// when the experiment names its `framework` agent or by `mend report --paper`.
    pub const PAPER_MD: &str = "paper.md";
    /// Per-job rows (the resume points).
    pub const JOBS_DIR: &str = "jobs";
    /// Training jobs' checkpoints and curve rows (the training resume points).
    pub const TRAIN_DIR: &str = "train";
    /// Exported policies of learned agents.
    pub const POLICIES_DIR: &str = "policies";
    /// The failure predictor (settings, held-out quality, model), when the experiment trains one.
    pub const PREDICTOR: &str = super::predictor::PREDICTOR_FILE;
    /// Plots (PNG and SVG).
    pub const PLOTS_DIR: &str = "plots";
    /// Recorded episode traces (`mend eval --record`).
    pub const TRACES_DIR: &str = "traces";
}

/// Which phases a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phases {
    /// Training, then evaluation and results (`mend run`, `mend sweep`).
    All,
    /// Training only, then `learning_curves.csv` (`mend train`).
    TrainOnly,
    /// Evaluation and results; learned agents' policies must exist (`mend eval`).
    EvalOnly,
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
    /// Which phases to run.
    pub phases: Phases,
    /// Stop every training job after this many checkpoints in this process (simulates a killed
    /// run, for tests of resumption); `None` in normal use.
    pub max_train_chunks: Option<u64>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The run folder.
    pub dir: PathBuf,
    /// Training jobs in this run (or shard).
    pub train_jobs_total: usize,
    /// Training jobs skipped because their policy file was already there.
    pub train_jobs_skipped: usize,
    /// Training jobs stopped before their budget (`max_train_chunks`).
    pub train_jobs_stopped: usize,
    /// Wall seconds spent preparing the failure predictor (simulating, training, or loading
    /// `predictor.json`); 0 without `[detectors] failure_prediction`.
    pub predictor_seconds: f64,
    /// Wall seconds of the training phase.
    pub train_seconds: f64,
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
    /// Whether the results (summary, plots) were written (false for a shard or `mend train`).
    pub finished: bool,
    /// Whether evaluation ran.
    pub evaluated: bool,
}

/// The run folder of an experiment under `out`.
pub fn run_dir(experiment: &Experiment, out: &Path) -> PathBuf {
    out.join(&experiment.experiment.name)
        .join(experiment.run_id())
}

/// Whether each agent of `experiment` is a learned kind.
pub fn learned_flags(experiment: &Experiment) -> Result<Vec<bool>> {
    Ok(build_agents(experiment)?
        .iter()
        .map(Built::is_learned)
        .collect())
}

fn build_agents(experiment: &Experiment) -> Result<Vec<Built>> {
    Ok(experiment
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| agents_registry::build_agent(a, i, "the resolved experiment"))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Runs `work` on a pool of `threads` workers (or rayon's global pool).
fn on_pool<T: Send>(threads: Option<usize>, work: impl FnOnce() -> T + Send) -> Result<T> {
    Ok(match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .context("cannot start the worker threads")?
            .install(work),
        None => work(),
    })
}

/// Runs (or resumes) an experiment's phases and, unless sharded or training only, writes its results.
pub fn run(experiment: &Experiment, options: &RunOptions) -> Result<RunReport> {
    let started = Instant::now();
    let dir = run_dir(experiment, &options.out);
    let config_text =
        toml::to_string(experiment).context("cannot serialise the resolved experiment")?;
    write_atomic(&dir.join(files::CONFIG), config_text.as_bytes())?;
    let agents = build_agents(experiment)?;
    let learned: Vec<bool> = agents.iter().map(Built::is_learned).collect();
    let train_plan = train::plan(experiment, &learned);
    let mut report = RunReport {
        dir: dir.clone(),
        ..RunReport::default()
    };
    let train_scenarios = load_all(&experiment.scenarios.train)?;

    // ---- failure predictor (before the agents that read its risk score) ----
    let predictor_start = Instant::now();
    let risk_model = predictor::prepare(experiment, &dir, &train_scenarios)?;
    report.predictor_seconds = predictor_start.elapsed().as_secs_f64();

    // ---- training phase ----
    if options.phases != Phases::EvalOnly && !train_plan.is_empty() {
        let train_start = Instant::now();
        let mine: Vec<&TrainJob> = train_plan
            .iter()
            .filter(|j| options.shard.is_none_or(|s| j.index % s.count == s.index))
            .collect();
        let ctx = train::TrainContext {
            experiment,
            scenarios: &train_scenarios,
            dir: &dir,
            max_chunks: options.max_train_chunks,
            risk_model: risk_model.as_ref(),
        };
        let total_steps = mine
            .iter()
            .map(|job| experiment.train_timesteps_of(job.agent_index))
            .sum();
        let bar = progress::bar(total_steps, "training", "steps", options.quiet);
        let statuses = on_pool(options.threads, || {
            mine.par_iter()
                .map(|job| {
                    let Built::Learned(factory) = &agents[job.agent_index] else {
                        bail!("internal: {} is not a learned agent", job.agent);
                    };
                    train::run_job(&ctx, job, factory.as_ref(), &|steps| bar.inc(steps))
                })
                .collect::<Vec<_>>()
        })?;
        bar.finish_and_clear();
        report.train_jobs_total = mine.len();
        for status in statuses {
            match status? {
                train::TrainStatus::Skipped => report.train_jobs_skipped += 1,
                train::TrainStatus::Stopped => report.train_jobs_stopped += 1,
                train::TrainStatus::Finished => {}
            }
        }
        report.train_seconds = train_start.elapsed().as_secs_f64();
    }
    if options.phases == Phases::TrainOnly || report.train_jobs_stopped > 0 {
        if options.shard.is_none() && report.train_jobs_stopped == 0 && !train_plan.is_empty() {
            let rows = train::collect_curves(&dir, &train_plan)?;
            write_atomic(
                &dir.join(files::LEARNING_CURVES),
                &train::curves_csv(&rows)?,
            )?;
        }
        report.wall_seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    // ---- evaluation phase ----
    let plan = jobs::plan(experiment, &train_plan, options.shard);
    let pending: Vec<&Job> = plan
        .iter()
        .filter(|job| {
            !job.rows_path(&dir).is_file() || (options.record && !job.trace_path(&dir, 0).is_file())
        })
        .collect();
    report.jobs_total = plan.len();
    report.jobs_skipped = plan.len() - pending.len();
    let scenarios = load_all(&experiment.scenarios.eval)?;
    let rules = agent_rules(experiment)?;
    let trained = load_policies(&dir, &agents, &train_plan, &pending)?;

    let eval_start = Instant::now();
    let bar = progress::bar(pending.len() as u64, "evaluating", "jobs", options.quiet);
    let outcomes = on_pool(options.threads, || {
        pending
            .par_iter()
            .map(|job| -> Result<f64> {
                let job_start = Instant::now();
                let factory: &dyn PolicyFactory = match (&agents[job.agent_index], job.train_index)
                {
                    (Built::Fixed(f), _) => f.as_ref(),
                    (Built::Learned(_), Some(t)) => trained[&t].as_ref(),
                    (Built::Learned(_), None) => bail!("internal: {} has no policy", job.label()),
                };
                let output = episode::run_job_with(
                    &scenarios[job.scenario_index],
                    &env_config(experiment, job.agent_index, risk_model.as_ref()),
                    factory,
                    job.episode_job(),
                    EpisodeSettings {
                        record: options.record,
                        train_seed: job.train_seed,
                        rules: Some(&rules[job.agent_index]),
                    },
                )?;
                for (k, trace) in output.traces.iter().enumerate() {
                    traces::write(&job.trace_path(&dir, k as u64), trace)?;
                }
                write_atomic(&job.rows_path(&dir), &results::episodes_csv(&output.rows)?)?;
                bar.inc(1);
                Ok(job_start.elapsed().as_secs_f64())
            })
            .collect::<Vec<_>>()
    })?;
    bar.finish_and_clear();
    report.eval_seconds = eval_start.elapsed().as_secs_f64();
    report.evaluated = true;
    for outcome in outcomes {
        report.job_seconds += outcome?;
    }
    report.finished = options.shard.is_none();
    let finish_start = Instant::now();
    if report.finished {
        finish(&dir)?;
    }
    report.finish_seconds = finish_start.elapsed().as_secs_f64();
    report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The cluster env agent `index` trains and is evaluated in: the alert-age columns of its
/// observations (feature schema v3) come from the agent's own detector ([`Experiment::detector_of`]:
/// its `detector`, else `[detectors] alerting`), the one its alerts are scored by, so adaptive
/// monitoring is inside the policy it learns; the failure-risk column (schema v4) from
/// `risk_model` (the experiment's predictor, [`predictor::prepare`]) when the agent is named in
/// `[detectors] failure_prediction.agents`, else 0.
pub fn env_config(
    experiment: &Experiment,
    index: usize,
    risk_model: Option<&Arc<RiskModel>>,
) -> ClusterConfig {
    ClusterConfig {
        alert_detector: Some(experiment.detector_of(index).to_owned()),
        risk_model: risk_model_of(experiment, index, risk_model),
        ..ClusterConfig::default()
    }
}

/// The risk model agent `index` reads: `risk_model` if the agent is named in `[detectors]
/// failure_prediction.agents`, else none.
pub fn risk_model_of(
    experiment: &Experiment,
    index: usize,
    risk_model: Option<&Arc<RiskModel>>,
) -> Option<Arc<RiskModel>> {
    risk_model
        .filter(|_| experiment.uses_failure_prediction(index))
        .cloned()
}

/// The monitoring behind agent `index`'s observations, recorded in its exported policy's manifest
/// so the executor rebuilds it live: its alert detector ([`Experiment::detector_of`]) and the risk
/// model it reads ([`risk_model_of`]).
pub fn monitoring_of(
    experiment: &Experiment,
    index: usize,
    risk_model: Option<&Arc<RiskModel>>,
) -> Monitoring {
    Monitoring {
        alert_detector: Some(experiment.detector_of(index).to_owned()),
        failure_risk: risk_model_of(experiment, index, risk_model).map(|m| (*m).clone()),
    }
}

/// The alert rules watching each agent's episodes, by agent index ([`Experiment::detector_of`]).
pub fn agent_rules(experiment: &Experiment) -> Result<Vec<RuleSet>> {
    (0..experiment.agents.len())
        .map(|i| {
            let name = experiment.detector_of(i);
            RuleSet::for_detector(name).with_context(|| {
                format!(
                    "agents[{i}] ({}): detector {name:?} is not a detector of mend_monitor's registry",
                    experiment.agents[i].display_name()
                )
            })
        })
        .collect()
}

/// The evaluation factory of every training job whose policy a pending job needs, by training
/// index; a missing policy file is an error naming it.
fn load_policies(
    dir: &Path,
    agents: &[Built],
    train_plan: &[TrainJob],
    pending: &[&Job],
) -> Result<BTreeMap<usize, Box<dyn PolicyFactory>>> {
    let mut out = BTreeMap::new();
    for index in pending.iter().filter_map(|j| j.train_index) {
        if out.contains_key(&index) {
            continue;
        }
        let job = &train_plan[index];
        let Built::Learned(factory) = &agents[job.agent_index] else {
            bail!("internal: {} is not a learned agent", job.agent);
        };
        let path = job.policy_path(dir);
        if !path.is_file() {
            bail!(
                "{}: no trained policy for {} ({} missing): run `mend train` (or `mend run`) first",
                dir.display(),
                job.label(),
                path.display()
            );
        }
        let policy = factory
            .load(&path)
            .with_context(|| format!("cannot load the policy of {}", job.label()))?;
        out.insert(index, policy);
    }
    Ok(out)
}

/// Writes a run's results from its job files: `episodes.csv`, `learning_curves.csv`, the summaries
/// and the plots. Fails naming the first missing job (e.g. a shard not merged yet).
pub fn finish(dir: &Path) -> Result<()> {
    let config_path = dir.join(files::CONFIG);
    let experiment = experiment::load(Some(&config_path))?.0;
    let train_plan = train::plan(&experiment, &learned_flags(&experiment)?);
    let mut rows: Vec<EpisodeMetrics> = Vec::new();
    for job in jobs::plan(&experiment, &train_plan, None) {
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
    let curves = train::collect_curves(dir, &train_plan)?;
    write_atomic(
        &dir.join(files::LEARNING_CURVES),
        &train::curves_csv(&curves)?,
    )?;
    let agents = experiment.agent_names();
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
    if let Some(framework) = &experiment.experiment.framework {
        let table = crate::paper::paper_table(&experiment, &rows, framework)?;
        write_atomic(
            &dir.join(files::PAPER_MD),
            crate::paper::markdown(&table).as_bytes(),
        )?;
    }
    Ok(())
}

/// Loads scenarios once; jobs share them.
fn load_all(args: &[String]) -> Result<Vec<Arc<mend_sim::Scenario>>> {
    args.iter()
        .map(|arg| scenarios::load(arg).map(Arc::new))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trains on `tiny`; a warm-started PPO (zero PPO steps: the warm start alone) named for failure
    /// prediction, beside the reactive controller, which is not.
    const PREDICTING: &str = r#"
[experiment]
name = "fp"
seed = 5

[scenarios]
train = ["tiny"]
eval = ["default"]

[seeds]
train = { start = 0, count = 1 }
eval = { start = 100, count = 1 }

[budget]
checkpoint_timesteps = 240

[detectors]
failure_prediction = { agents = ["ppo"], seeds = 2, epochs = 2, hidden = 8 }

[[agents]]
kind = "reactive"

[[agents]]
kind = "ppo"
train_timesteps = 0
detector = "ewma(z=4, for_s=120)"
params = { num_envs = 2, num_steps = 16, warm_start = { teacher = "runbook", steps = 64, epochs = 1 } }
"#;

    #[test]
    fn an_agent_named_for_failure_prediction_exports_its_risk_model_and_sees_the_risk_column() {
        use mend_envs::Env;
        use mend_monitor::features::FeatureSchema;
        use mend_monitor::features::risk::RISK_COLUMN;
        let experiment = crate::experiment::from_toml_str(PREDICTING, "fp.toml").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let options = RunOptions {
            out: tmp.path().to_path_buf(),
            threads: Some(1),
            quiet: true,
            shard: None,
            record: false,
            phases: Phases::TrainOnly,
            max_train_chunks: None,
        };
        let report = run(&experiment, &options).unwrap();
        let predictor_file = predictor::load(&report.dir.join(files::PREDICTOR))
            .unwrap()
            .expect("predictor.json written");
        // The exported policy's manifest carries the agent's detector and the trained model.
        let manifest =
            mend_agents::PolicyFile::inspect(&report.dir.join("policies/ppo-train0.safetensors"))
                .unwrap();
        assert_eq!(
            manifest.monitoring.alert_detector.as_deref(),
            Some("ewma(z=4, for_s=120)")
        );
        assert_eq!(
            manifest.monitoring.failure_risk.as_ref(),
            Some(&predictor_file.model)
        );
        // Its envs run the model; the reactive controller's do not.
        let model = Arc::new(predictor_file.model);
        assert!(
            env_config(&experiment, 0, Some(&model))
                .risk_model
                .is_none()
        );
        let config = env_config(&experiment, 1, Some(&model));
        assert_eq!(config.risk_model.as_ref(), Some(&model));
        // An evaluation episode's service rows carry risk scores that move with the world.
        let column = FeatureSchema::builtin().column_index(RISK_COLUMN).unwrap();
        let scenario = Arc::new(scenarios::load("default").unwrap());
        let mut env = mend_envs::ClusterEnv::new(scenario, config).unwrap();
        let (mut obs, _) = env.reset(Some(100), None).unwrap();
        let mut risks = std::collections::BTreeSet::new();
        for _ in 0..120 {
            let e = obs.as_entities().unwrap();
            risks.extend(e.rows.chunks(e.width).map(|r| r[column].to_bits()));
            obs = env.step(0).unwrap().obs;
        }
        assert!(risks.len() > 2, "risk column barely varies: {risks:?}");
        assert!(risks.iter().any(|&b| f32::from_bits(b) > 0.0));
    }

    #[test]
    fn each_agents_env_runs_the_agents_own_detector() {
        let (experiment, _) = crate::experiment::load(None).unwrap();
        let index = |kind: &str| {
            experiment
                .agents
                .iter()
                .position(|a| a.kind == kind)
                .unwrap()
        };
        let detector = |i| env_config(&experiment, i, None).alert_detector.unwrap();
        // default.toml: PPO has its own ewma detector; the reactive controller the file's rules.
        assert!(
            detector(index("ppo")).starts_with("ewma(z=4"),
            "{}",
            detector(index("ppo"))
        );
        assert_eq!(detector(index("reactive")), "static_threshold");
        for i in 0..experiment.agents.len() {
            assert_eq!(detector(i), experiment.detector_of(i));
        }
    }
}
