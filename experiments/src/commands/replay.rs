//! `mend replay TRACE`: run another policy against the exogenous events (fault onsets) of a recorded
//! episode, with the same master seed (so the same traffic), and report the difference.
//!
//! - `--policy FILE`: a policy file (network or tabular, from `mend-agents`) is checked against the
//!   cluster env's feature schema, run against the trace's faults, and compared with the recorded
//!   run itself; the timeline of both runs is drawn (`--plot`, default `<TRACE>.replay.png`).
//! - `--agent KIND`: a registered agent, compared with a reference agent (`--against`, default
//!   `no-op`) facing the same events.
//!
//! Both sides of a `--policy` comparison are measured the same way: by re-simulating each run's
//! trace ([`crate::plots::resimulate`]), which also draws their SLO state.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args};
use mend_agents::Policy;
use mend_envs::{ClusterConfig, ClusterEnv, Env};
use mend_sim::Scenario;
use mend_sim::trace::{self, Onset, TraceRecord};

use crate::agents_registry::{self, PolicyFactory};
use crate::experiment::AgentEntry;
use crate::plots::{self, Resimulated};
use crate::results::{EpisodeMetrics, METRICS};
use crate::runner::episode::{EpisodeJob, run_job};
use crate::traces;

/// `mend replay`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("candidate").required(true).args(["agent", "policy"])))]
#[command(after_help = "Examples:
  mend replay TRACE --policy results/paper/paper-seed0/policies/ppo.safetensors
  mend replay TRACE --policy policy.safetensors --plot compare.svg --json
  mend replay TRACE --agent runbook --against reactive")]
pub struct ReplayArgs {
    /// A trace recorded by `mend eval --record` or `mend simulate --trace`.
    pub trace: PathBuf,
    /// Agent kind to run against the trace's events (see experiments/README.md for kinds).
    #[arg(long)]
    pub agent: Option<String>,
    /// A policy file (`.safetensors` from `mend train`) to run against the trace's events; it is
    /// compared with the recorded run.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// With --agent: the reference agent kind facing the same events.
    #[arg(long, default_value = "no-op", conflicts_with = "policy")]
    pub against: String,
    /// Scenario (file or built-in) when the trace's scenario name is not a built-in.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Timeline of both runs, `.png` or `.svg` (with --policy, default `<TRACE>.replay.png`).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print the two rows and the differences as JSON.
    #[arg(long)]
    pub json: bool,
    /// Detector watching both runs (their TTD, false alerts and the alerts drawn): a
    /// `mend_monitor` registry name, or `none`. Default: the recorded agent's detector when the
    /// trace lies in a run folder, else `static_threshold`.
    #[arg(long)]
    pub detector: Option<String>,
}

/// Runs the command.
pub fn run(args: &ReplayArgs) -> Result<ExitCode> {
    let origin = args.trace.display().to_string();
    let records = traces::read(&args.trace)?;
    let (scenario_arg, scenario) =
        traces::scenario_of(&records, args.scenario.as_deref(), &origin)?;
    let seed = plots::resimulate::check_scenario(&scenario, &records, &origin)?;
    let scenario = Arc::new(scenario);
    let config = ClusterConfig {
        replay: Some(Arc::new(records.clone())),
        ..ClusterConfig::default()
    };
    let detector = super::plot::trace_detector(&args.trace, args.detector.as_deref());
    let detector = detector.as_deref();
    if let Some(policy_path) = &args.policy {
        let report = replay_policy(&scenario, &config, &records, policy_path, &origin, detector)?;
        let plot = args
            .plot
            .clone()
            .unwrap_or_else(|| args.trace.with_extension("replay.png"));
        // The file name, not the whole path: a long path would run off the plot's left edge.
        let name = policy_path.file_name().map_or_else(
            || policy_path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let title = format!("policy {name}");
        report.write_plot(&plot, &title)?;
        print_report(
            &report.recorded_metrics(),
            &report.candidate_metrics(),
            args,
            &origin,
        )?;
        if !args.json {
            println!("timeline of both runs: {}", plot.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let agent = args
        .agent
        .as_deref()
        .context("give --agent KIND or --policy FILE")?;
    let replay_one = |kind: &str| -> Result<(EpisodeMetrics, Vec<TraceRecord>)> {
        let entry = AgentEntry {
            name: None,
            kind: kind.to_string(),
            params: toml::Table::new(),
            detector: None,
            train_timesteps: None,
        };
        let factory = agents_registry::build(&entry, 0, "the command line")?;
        let job = EpisodeJob {
            scenario_name: &scenario_arg,
            agent: kind,
            seed,
            episodes: 1,
        };
        let mut output = run_job(
            &scenario,
            &config,
            factory.as_ref(),
            job,
            args.plot.is_some(),
        )?;
        let row = output
            .rows
            .pop()
            .context("the replayed episode produced no metrics")?;
        Ok((row, output.traces.pop().unwrap_or_default()))
    };
    let (reference, reference_trace) = replay_one(&args.against)?;
    let (candidate, candidate_trace) = replay_one(agent)?;
    if let Some(plot) = &args.plot {
        let a = plots::resimulate(&scenario, &reference_trace, &args.against, detector)?;
        let b = plots::resimulate(&scenario, &candidate_trace, agent, detector)?;
        plots::write_timelines(
            plot,
            &[
                (format!("agent {}", args.against), &a.timeline),
                (format!("agent {agent}"), &b.timeline),
            ],
        )?;
    }
    print_report(&reference, &candidate, args, &origin)?;
    Ok(ExitCode::SUCCESS)
}

/// The recorded run and a policy's run against the same exogenous events.
#[derive(Debug)]
pub struct PolicyReplay {
    /// The recorded episode, re-simulated.
    pub recorded: Resimulated,
    /// The policy's episode, re-simulated from its own trace.
    pub candidate: Resimulated,
    /// The policy's algorithm (from its manifest).
    pub algorithm: String,
    /// The fault onsets both runs faced (checked equal: [`mend_sim::trace::onsets`]).
    pub onsets: Vec<Onset>,
}

impl PolicyReplay {
    /// The recorded run's metrics (agent `recorded`).
    pub fn recorded_metrics(&self) -> EpisodeMetrics {
        relabel(&self.recorded.metrics, "recorded")
    }

    /// The policy's metrics (agent `policy:<algorithm>`).
    pub fn candidate_metrics(&self) -> EpisodeMetrics {
        relabel(
            &self.candidate.metrics,
            &format!("policy:{}", self.algorithm),
        )
    }

    /// Draws both timelines, recorded above, into `out`.
    pub fn write_plot(&self, out: &Path, title: &str) -> Result<()> {
        plots::write_timelines(
            out,
            &[
                ("recorded run".to_string(), &self.recorded.timeline),
                (format!("replay with {title}"), &self.candidate.timeline),
            ],
        )
    }
}

fn relabel(m: &EpisodeMetrics, agent: &str) -> EpisodeMetrics {
    EpisodeMetrics {
        agent: agent.to_string(),
        ..m.clone()
    }
}

/// Runs the policy file at `policy_path` against the faults of `records` and re-simulates both runs,
/// with the alerts of `detector` (`None`: no alerts).
pub fn replay_policy(
    scenario: &Arc<Scenario>,
    config: &ClusterConfig,
    records: &[TraceRecord],
    policy_path: &Path,
    origin: &str,
    detector: Option<&str>,
) -> Result<PolicyReplay> {
    let seed = plots::resimulate::check_scenario(scenario, records, origin)?;
    let recorded = plots::resimulate(scenario, records, origin, detector)?;
    if let Some(d) = &recorded.divergence {
        eprintln!("warning: the recorded run's re-simulation is approximate: {d}");
    }
    let config = &config_for_policy(config, policy_path)?;
    let mut env = ClusterEnv::new(Arc::clone(scenario), config.clone())
        .with_context(|| format!("scenario {}", scenario.name()))?;
    env.reset(Some(seed), None)
        .with_context(|| format!("scenario {} seed {seed}", scenario.name()))?;
    let n_actions = match env.action_space() {
        mend_envs::Space::Discrete(d) => d.n,
        other => bail!("expected a Discrete action space, got {other:?}"),
    };
    let (algorithm, policy) = load_policy(policy_path, env.feature_schema(), n_actions)?;
    let factory = LoadedPolicy(policy);
    let name = format!("policy:{algorithm}");
    let job = EpisodeJob {
        scenario_name: scenario.name(),
        agent: &name,
        seed,
        episodes: 1,
    };
    let mut output = run_job(scenario, config, &factory, job, true)
        .with_context(|| format!("running the policy {}", policy_path.display()))?;
    let trace = output
        .traces
        .pop()
        .context("the replayed episode recorded no trace")?;
    let onsets = same_onsets(records, &trace, origin)?;
    let candidate = plots::resimulate(scenario, &trace, &name, detector)?;
    Ok(PolicyReplay {
        recorded,
        candidate,
        algorithm,
        onsets,
    })
}

/// The onsets of the recorded run, checked equal to the replayed run's: a replay whose exogenous
/// events differ from the recording compares nothing (BRIEF §3.2: onsets do not depend on actions).
fn same_onsets(
    recorded: &[TraceRecord],
    replayed: &[TraceRecord],
    origin: &str,
) -> Result<Vec<Onset>> {
    let expected = trace::onsets(recorded);
    let got = trace::onsets(replayed);
    if let Some(i) = (0..expected.len().max(got.len())).find(|&i| expected.get(i) != got.get(i)) {
        bail!(
            "{origin}: the replay faced other faults than the recording (onset {i}: recorded {:?}, \
             replayed {:?}); was the trace recorded by another build of the simulator?",
            expected.get(i),
            got.get(i)
        );
    }
    Ok(expected)
}

/// `base` with the monitoring a network policy file records (its manifest's `monitoring`: the
/// alert detector behind the alert-age columns, the failure predictor behind the risk column), so
/// the policy reads the columns it was trained on. A tabular file records none: `base` unchanged.
fn config_for_policy(base: &ClusterConfig, path: &Path) -> Result<ClusterConfig> {
    let (metadata, _) = mend_agents::store::read_file(path)?;
    let tabular = metadata
        .get(mend_agents::policy_file::MANIFEST_KEY)
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .and_then(|m| {
            m.get("algorithm")
                .and_then(|a| a.as_str().map(str::to_owned))
        })
        .is_some_and(|a| a == mend_agents::tabular::file::ALGORITHM);
    if tabular {
        return Ok(base.clone());
    }
    let monitoring = mend_agents::PolicyFile::inspect(path)?.monitoring;
    Ok(ClusterConfig {
        alert_detector: Some(monitoring.alert_detector_spec().to_owned()),
        risk_model: monitoring.failure_risk.map(Arc::new),
        ..base.clone()
    })
}

/// Loads a policy file for the cluster env whose rows follow `schema` and which has `n_actions`
/// actions: a tabular Q file (algorithm `tabular_q`) or a network policy file. Errors name the file
/// and, for a policy trained on other features, both feature lists.
pub fn load_policy(
    path: &Path,
    schema: &mend_monitor::features::FeatureSchema,
    n_actions: usize,
) -> Result<(String, Arc<dyn Policy>)> {
    let (metadata, _) = mend_agents::store::read_file(path)?;
    let manifest: serde_json::Value = metadata
        .get(mend_agents::policy_file::MANIFEST_KEY)
        .and_then(|json| serde_json::from_str(json).ok())
        .with_context(|| {
            format!(
                "{}: no mend policy manifest (metadata key `{}` with a JSON object)",
                path.display(),
                mend_agents::policy_file::MANIFEST_KEY
            )
        })?;
    let algorithm = manifest
        .get("algorithm")
        .and_then(serde_json::Value::as_str)
        .with_context(|| {
            format!(
                "{}: manifest field `algorithm`: expected a string",
                path.display()
            )
        })?
        .to_string();
    if algorithm == mend_agents::tabular::file::ALGORITHM {
        let (_, policy) = mend_agents::tabular::file::load(path, schema, n_actions)?;
        return Ok((algorithm, Arc::new(policy)));
    }
    // A network policy reads either the row columns alone or the row columns then the global
    // features; accept the file if it reads exactly one of the two.
    let columns: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    let with_global: Vec<&str> = columns
        .iter()
        .copied()
        .chain(schema.global.iter().map(String::as_str))
        .collect();
    let candidates = [
        mend_agents::FeatureSchema::new(&columns),
        mend_agents::FeatureSchema::new(&with_global),
    ];
    let found = mend_agents::PolicyFile::inspect(path)?.feature_schema;
    let expected = candidates
        .iter()
        .find(|c| c.hash == found.hash)
        .unwrap_or(&candidates[1]);
    let file = mend_agents::PolicyFile::load(path, Some(expected))?;
    Ok((algorithm, Arc::new(file.policy)))
}

/// A loaded policy as a factory (the same stateless policy for every episode).
#[derive(Debug)]
struct LoadedPolicy(Arc<dyn Policy>);

impl PolicyFactory for LoadedPolicy {
    fn make(&self, _n_actions: usize) -> Box<dyn Policy> {
        Box::new(Shared(Arc::clone(&self.0)))
    }
}

/// A shared policy behind a `Box<dyn Policy>`.
#[derive(Debug)]
struct Shared(Arc<dyn Policy>);

impl Policy for Shared {
    fn algorithm(&self) -> &str {
        self.0.algorithm()
    }

    fn n_actions(&self) -> usize {
        self.0.n_actions()
    }

    fn action_scores(
        &self,
        obs: &mend_envs::Observation,
        mask: Option<&[bool]>,
    ) -> Result<mend_agents::ActionScores, mend_agents::AgentError> {
        self.0.action_scores(obs, mask)
    }

    fn predict(
        &self,
        obs: &mend_envs::Observation,
        mask: Option<&[bool]>,
        deterministic: bool,
        rng: &mut dyn rand::RngCore,
    ) -> Result<mend_envs::Action, mend_agents::AgentError> {
        self.0.predict(obs, mask, deterministic, rng)
    }
}

/// Prints the comparison as a table or (with --json) as JSON.
fn print_report(
    reference: &EpisodeMetrics,
    candidate: &EpisodeMetrics,
    args: &ReplayArgs,
    origin: &str,
) -> Result<()> {
    if args.json {
        let diff: serde_json::Map<String, serde_json::Value> = METRICS
            .iter()
            .map(|m| {
                (
                    m.key.to_string(),
                    serde_json::json!((m.get)(candidate) - (m.get)(reference)),
                )
            })
            .collect();
        let report = serde_json::json!({
            "trace": origin,
            "reference": reference,
            "candidate": candidate,
            "difference": diff,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", difference_table(reference, candidate));
    }
    Ok(())
}

/// A table: metric, reference, candidate, candidate minus reference.
pub fn difference_table(reference: &EpisodeMetrics, candidate: &EpisodeMetrics) -> String {
    let mut out = format!(
        "replay of {} seed {}: {} vs {}\n{:<22} {:>18} {:>18} {:>18}\n",
        reference.scenario,
        reference.seed,
        candidate.agent,
        reference.agent,
        "metric",
        reference.agent,
        candidate.agent,
        "difference"
    );
    for m in METRICS {
        let (a, b) = ((m.get)(reference), (m.get)(candidate));
        let d = m.decimals;
        out.push_str(&format!(
            "{:<22} {a:>18.d$} {b:>18.d$} {:>+18.d$}\n",
            m.label,
            b - a
        ));
    }
    out
}
