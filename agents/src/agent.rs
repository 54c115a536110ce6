//! The [`Agent`] trait (training: SB3's `learn`, checkpoint and resume) and the metric sinks agents log
//! through. Agents never read a clock (determinism rule), so steps per second are measured by the
//! caller's sink from the `charts/global_step` records (see [`MetricSink`]).

use std::path::Path;

use mend_envs::VectorEnv;

use crate::error::AgentError;
use crate::policy::Policy;

/// Receives scalar metrics under CleanRL's names (`losses/policy_loss`, `losses/approx_kl`,
/// `charts/episodic_return`, ...), each tagged with the global step it was measured at. Every update also
/// records `charts/global_step`, so a sink with a clock can derive steps per second.
pub trait MetricSink {
    /// One scalar.
    fn record(&mut self, global_step: u64, name: &str, value: f64);
}

/// Discards every metric.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl MetricSink for NullSink {
    fn record(&mut self, _: u64, _: &str, _: f64) {}
}

/// Keeps every metric in order (tests, small runs).
#[derive(Debug, Default, Clone)]
pub struct VecSink {
    /// `(global_step, name, value)` in the order recorded.
    pub records: Vec<(u64, String, f64)>,
}

impl VecSink {
    /// The values recorded under `name`, in order.
    pub fn values(&self, name: &str) -> Vec<f64> {
        self.records
            .iter()
            .filter(|r| r.1 == name)
            .map(|r| r.2)
            .collect()
    }
}

impl MetricSink for VecSink {
    fn record(&mut self, global_step: u64, name: &str, value: f64) {
        self.records.push((global_step, name.to_string(), value));
    }
}

/// What a call to [`Agent::learn`] did.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainSummary {
    /// Environment steps taken so far, over all sub-environments (SB3's `num_timesteps`).
    pub num_timesteps: u64,
    /// Episodes finished during this call.
    pub episodes: u64,
    /// Mean undiscounted return of the last (up to) 100 episodes finished during this call.
    pub mean_return_last_100: Option<f64>,
    /// Gradient updates performed so far.
    pub gradient_steps: u64,
}

/// A trainable agent.
pub trait Agent {
    /// Trains on `env` until [`Agent::num_timesteps`] reaches `total_timesteps` (an absolute count, so
    /// calling again after loading a checkpoint resumes). The env is reset at the start of each call with
    /// a seed derived from the agent's seed and its step count, so a resumed run is reproducible.
    fn learn(
        &mut self,
        env: &mut dyn VectorEnv,
        total_timesteps: u64,
        sink: &mut dyn MetricSink,
    ) -> Result<TrainSummary, AgentError>;
    /// Environment steps taken so far.
    fn num_timesteps(&self) -> u64;
    /// The current inference policy.
    fn policy(&self) -> Box<dyn Policy>;
    /// Writes networks, optimizer moments, counters and RNG state to `path` (atomically).
    fn save_checkpoint(&self, path: &Path) -> Result<(), AgentError>;
    /// Restores what [`Agent::save_checkpoint`] wrote; the configuration must match.
    fn load_checkpoint(&mut self, path: &Path) -> Result<(), AgentError>;
}

/// Running undiscounted returns per sub-environment and the finished episodes' returns.
#[derive(Clone, Debug, Default)]
pub(crate) struct EpisodeTracker {
    running: Vec<f64>,
    lengths: Vec<u64>,
    /// Returns of finished episodes, in finishing order.
    pub(crate) finished: Vec<f64>,
}

impl EpisodeTracker {
    pub(crate) fn new(num_envs: usize) -> Self {
        Self {
            running: vec![0.0; num_envs],
            lengths: vec![0; num_envs],
            finished: Vec::new(),
        }
    }

    /// Adds one step's rewards; logs and resets the envs whose episode ended.
    pub(crate) fn step(
        &mut self,
        rewards: &[f64],
        done: &[bool],
        global_step: u64,
        sink: &mut dyn MetricSink,
    ) {
        for e in 0..rewards.len() {
            self.running[e] += rewards[e];
            self.lengths[e] += 1;
            if done[e] {
                sink.record(global_step, "charts/episodic_return", self.running[e]);
                sink.record(
                    global_step,
                    "charts/episodic_length",
                    self.lengths[e] as f64,
                );
                self.finished.push(self.running[e]);
                self.running[e] = 0.0;
                self.lengths[e] = 0;
            }
        }
    }

    pub(crate) fn mean_last_100(&self) -> Option<f64> {
        let tail = &self.finished[self.finished.len().saturating_sub(100)..];
        (!tail.is_empty()).then(|| tail.iter().sum::<f64>() / tail.len() as f64)
    }
}
