//! One evaluation job: a policy on one scenario for the episodes of one seed, and the per-episode
//! metrics read from the simulator's ground truth (never from what the agent observed), with the
//! experiment's alert rules watching the same telemetry for time to detect ([`super::ttd`]).

use std::sync::Arc;

use anyhow::{Context, Result};
use mend_envs::{ClusterConfig, ClusterEnv, Env};
use mend_sim::trace::TraceRecord;
use mend_sim::{Scenario, Simulation};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use mend_monitor::alerting::RuleSet;

use super::ttd::AlertTracker;
use crate::agents_registry::PolicyFactory;
use crate::results::EpisodeMetrics;

/// What one job evaluates.
#[derive(Debug, Clone, Copy)]
pub struct EpisodeJob<'a> {
    /// Scenario argument as written in the experiment (results key).
    pub scenario_name: &'a str,
    /// Agent name in results.
    pub agent: &'a str,
    /// Evaluation seed: the env is reset with it, so every agent faces the same faults and load.
    pub seed: u64,
    /// Episodes to run from that seed.
    pub episodes: u64,
}

/// What a job produced: one [`EpisodeMetrics`] per episode, and each episode's trace when recorded.
#[derive(Debug, Default)]
pub struct JobOutput {
    /// Metrics per episode, in episode order.
    pub rows: Vec<EpisodeMetrics>,
    /// Trace records per episode (empty unless recording was asked for).
    pub traces: Vec<Vec<TraceRecord>>,
}

/// What else a job does besides acting.
#[derive(Debug, Clone, Copy)]
pub struct EpisodeSettings<'a> {
    /// Keep each episode's trace.
    pub record: bool,
    /// The training seed of the evaluated policy (learned agents), written in the rows.
    pub train_seed: Option<u64>,
    /// Alert rules watching the telemetry (TTD and false alerts); `None`: NaN TTD.
    pub rules: Option<&'a RuleSet>,
}

/// Runs the job on an env built with `config` (e.g. replaying a trace's faults); keeps each
/// episode's trace when `record`; TTD from the static-threshold alert rules.
pub fn run_job(
    scenario: &Arc<Scenario>,
    config: &ClusterConfig,
    factory: &dyn PolicyFactory,
    job: EpisodeJob<'_>,
    record: bool,
) -> Result<JobOutput> {
    let rules = RuleSet::static_baseline();
    run_job_with(
        scenario,
        config,
        factory,
        job,
        EpisodeSettings {
            record,
            train_seed: None,
            rules: Some(&rules),
        },
    )
}

/// [`run_job`] with explicit settings.
pub fn run_job_with(
    scenario: &Arc<Scenario>,
    config: &ClusterConfig,
    factory: &dyn PolicyFactory,
    job: EpisodeJob<'_>,
    settings: EpisodeSettings<'_>,
) -> Result<JobOutput> {
    let context = || {
        format!(
            "agent {} on scenario {} seed {}",
            job.agent, job.scenario_name, job.seed
        )
    };
    let mut env = ClusterEnv::new(Arc::clone(scenario), config.clone()).with_context(context)?;
    // The policy's own randomness: a ChaCha8 stream of the evaluation seed, on a stream number
    // derived from the agent's name, so agents never share random draws with each other or the env.
    let mut rng = ChaCha8Rng::seed_from_u64(job.seed);
    rng.set_stream(fnv1a(job.agent.as_bytes()));
    let mut out = JobOutput::default();
    for episode in 0..job.episodes {
        let (mut obs, info) = env
            .reset((episode == 0).then_some(job.seed), None)
            .with_context(context)?;
        let sim_seed = info
            .get("sim_seed")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(job.seed);
        let n_actions = match env.action_space() {
            mend_envs::Space::Discrete(d) => d.n,
            other => anyhow::bail!(
                "{}: expected a Discrete action space, got {other:?}",
                context()
            ),
        };
        let policy = factory.make(n_actions);
        let mut tracker = settings
            .rules
            .map(AlertTracker::new)
            .transpose()
            .with_context(context)?;
        if let (Some(tracker), Some(sim)) = (tracker.as_mut(), env.simulation()) {
            tracker.observe(sim);
        }
        let (mut reward, mut actions_taken) = (0.0, 0u64);
        loop {
            let mask = env.action_mask();
            let action = policy
                .predict(&obs, mask.as_deref(), true, &mut rng)
                .with_context(context)?;
            actions_taken += u64::from(action != 0);
            let step = env.step(action).with_context(context)?;
            reward += step.reward;
            obs = step.obs;
            if let (Some(tracker), Some(sim)) = (tracker.as_mut(), env.simulation()) {
                tracker.observe(sim);
            }
            if step.terminated || step.truncated {
                break;
            }
        }
        let sim = env
            .simulation()
            .with_context(|| format!("{}: no simulation after an episode", context()))?;
        let mut row = metrics(&job, episode, sim_seed, sim, reward, actions_taken);
        row.train_seed = settings.train_seed;
        if let Some(tracker) = &tracker {
            let outcome = tracker.finish(sim);
            row.ttd_s = outcome.mean_ttd();
            row.false_alerts = outcome.false_episodes as f64;
        }
        out.rows.push(row);
        if settings.record {
            out.traces.push(env.take_trace());
        }
    }
    Ok(out)
}

/// The episode's metrics as the runner records them: [`ground_truth_metrics`] with the results
/// keys of `job`, the env's summed reward and the actions the agent took.
fn metrics(
    job: &EpisodeJob<'_>,
    episode: u64,
    sim_seed: u64,
    sim: &Simulation,
    reward: f64,
    actions_taken: u64,
) -> EpisodeMetrics {
    EpisodeMetrics {
        scenario: job.scenario_name.to_string(),
        seed: job.seed,
        episode,
        sim_seed,
        actions_taken: actions_taken as f64,
        reward,
        ..ground_truth_metrics(sim, job.agent)
    }
}

/// An episode's metrics from the simulator's ground truth (the runner and the replay plots both
/// measure episodes with it). Keys come from the simulation (its scenario name and seed, episode
/// 0); actions are those the simulator applied and reward its summary's. TTD and false alerts are
/// NaN (the alert tracker fills them).
///
/// MTTR: mean over the episode's faults that ended within the horizon of (end - onset), where a
/// fault ends when its repair completes or an action cleared it (`FaultRecord::end`). Faults still
/// active at the horizon are censored (left out); NaN when no fault ended.
pub(crate) fn ground_truth_metrics(sim: &Simulation, agent: &str) -> EpisodeMetrics {
    let summary = sim.summary();
    let truth = sim.truth();
    let repairs: Vec<f64> = truth
        .faults
        .iter()
        .filter_map(|f| f.end.map(|end| end.saturating_sub(f.onset).as_secs_f64()))
        .collect();
    let mttr_s = if repairs.is_empty() {
        f64::NAN
    } else {
        repairs.iter().sum::<f64>() / repairs.len() as f64
    };
    let rc = summary.reward_components;
    EpisodeMetrics {
        scenario: summary.scenario.clone(),
        agent: agent.to_string(),
        seed: sim.seed(),
        train_seed: None,
        episode: 0,
        sim_seed: sim.seed(),
        availability: summary.availability,
        uptime: summary.uptime,
        incidents: summary.incidents as f64,
        faults: truth.faults.len() as f64,
        ttd_s: f64::NAN,
        false_alerts: f64::NAN,
        mttr_s,
        cost_usd: rc.infra_cost_usd + rc.action_cost_usd,
        data_lost_writes: rc.data_lost_writes,
        actions_taken: truth.actions_applied as f64,
        reward: summary.reward,
    }
}

/// 64-bit FNV-1a (Fowler, Noll, Vo; IETF draft-eastlake-fnv): a stable hash of a name, unlike
/// `std`'s randomly keyed hasher.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_published_vectors() {
        // Test vectors from the FNV reference (draft-eastlake-fnv, appendix C): "" and "a".
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
