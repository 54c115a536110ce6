//! [`NormalizeObservation`]: observations scaled to mean 0, variance 1 with running statistics
//! (Gymnasium `wrappers/stateful_observation.py`, `NormalizeObservation`: updates on every reset and
//! step, `(obs - mean) / sqrt(var + epsilon)`, epsilon 1e-8, freezable with `update_running_mean`).
//!
//! Differences from Gymnasium, on purpose: statistics are kept in `f64` (Gymnasium uses the space's
//! `float32`); entity observations are supported, with one statistic for the global features and one
//! shared by all entity rows (each row is a sample), so the normalisation does not depend on the
//! number of entities.

use super::running_mean_std::RunningMeanStd;
use crate::env::{Action, EntityObs, Env, Info, Observation, Step};
use crate::error::EnvError;
use crate::spaces::{BoxSpace, EntitySet, Space};

/// Gymnasium's default `epsilon` for NormalizeObservation.
pub const DEFAULT_EPSILON: f64 = 1e-8;

/// Normalises observations with running mean/variance that can be frozen, exported and imported.
#[derive(Debug, Clone)]
pub struct NormalizeObservation<E> {
    env: E,
    /// Statistics of `Vector` observations, or of the global part of `Entities` observations.
    global: RunningMeanStd,
    /// Statistics shared by entity rows (`None` for `Box` observation spaces).
    rows: Option<RunningMeanStd>,
    epsilon: f64,
    update_running_mean: bool,
}

impl<E: Env> NormalizeObservation<E> {
    /// Wraps `env` (Box or EntitySet observation space) with Gymnasium's epsilon 1e-8.
    pub fn new(env: E) -> Result<Self, EnvError> {
        Self::with_epsilon(env, DEFAULT_EPSILON)
    }

    /// Wraps `env` with a given `epsilon` (strictly positive).
    pub fn with_epsilon(env: E, epsilon: f64) -> Result<Self, EnvError> {
        let bad = |field: &str, expected: &str| EnvError::InvalidConfig {
            env: format!("NormalizeObservation({})", env.id()),
            field: field.into(),
            expected: expected.into(),
        };
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(bad("epsilon", "a finite number > 0"));
        }
        let (global, rows) = match env.observation_space() {
            Space::Box(b) => (RunningMeanStd::new(b.dim()), None),
            Space::EntitySet(s) => (
                RunningMeanStd::new(s.global.dim()),
                Some(RunningMeanStd::new(s.width())),
            ),
            _ => {
                return Err(bad(
                    "observation_space",
                    "a Box or EntitySet observation space",
                ));
            }
        };
        Ok(Self {
            env,
            global,
            rows,
            epsilon,
            update_running_mean: true,
        })
    }

    /// Freezes (`false`) or resumes (`true`) the statistics (Gymnasium `update_running_mean`).
    pub fn set_update_running_mean(&mut self, update: bool) {
        self.update_running_mean = update;
    }

    /// Whether the statistics are updated.
    pub fn update_running_mean(&self) -> bool {
        self.update_running_mean
    }

    /// The statistics as plain numbers, for a policy file: the global (or vector) statistic's
    /// [`RunningMeanStd::to_vec`], followed by the row statistic's for entity observations.
    pub fn export_stats(&self) -> Vec<f64> {
        let mut v = self.global.to_vec();
        if let Some(rows) = &self.rows {
            v.extend(rows.to_vec());
        }
        v
    }

    /// Loads statistics written by [`Self::export_stats`] for the same observation space.
    pub fn import_stats(&mut self, stats: &[f64]) -> Result<(), EnvError> {
        let bad = |expected: String| EnvError::InvalidConfig {
            env: format!("NormalizeObservation({})", self.env.id()),
            field: "stats".into(),
            expected,
        };
        let g_len = 1 + 2 * self.global.dim();
        let r_len = self.rows.as_ref().map_or(0, |r| 1 + 2 * r.dim());
        if stats.len() != g_len + r_len {
            return Err(bad(format!(
                "{} numbers, got {}",
                g_len + r_len,
                stats.len()
            )));
        }
        let global = RunningMeanStd::from_slice(self.global.dim(), &stats[..g_len])
            .map_err(|e| bad(format!("global: {e}")))?;
        let rows = match &self.rows {
            Some(r) => Some(
                RunningMeanStd::from_slice(r.dim(), &stats[g_len..])
                    .map_err(|e| bad(format!("rows: {e}")))?,
            ),
            None => None,
        };
        self.global = global;
        self.rows = rows;
        Ok(())
    }

    /// The global (or vector) statistic.
    pub fn global_stats(&self) -> &RunningMeanStd {
        &self.global
    }

    /// The entity-row statistic, for entity observations.
    pub fn row_stats(&self) -> Option<&RunningMeanStd> {
        self.rows.as_ref()
    }

    fn normalize(&mut self, obs: Observation) -> Observation {
        match (obs, &mut self.rows) {
            (Observation::Vector(v), _) => {
                if self.update_running_mean {
                    self.global.update_batch(&v);
                }
                Observation::Vector(self.global.normalize(&v, self.epsilon))
            }
            (Observation::Entities(e), Some(rows)) => {
                if self.update_running_mean {
                    self.global.update_batch(&e.global);
                    rows.update_batch(&e.rows);
                }
                let normed_rows: Vec<f32> = if e.width == 0 {
                    Vec::new()
                } else {
                    e.rows
                        .chunks_exact(e.width)
                        .flat_map(|r| rows.normalize(r, self.epsilon))
                        .collect()
                };
                Observation::Entities(EntityObs {
                    global: self.global.normalize(&e.global, self.epsilon),
                    width: e.width,
                    rows: normed_rows,
                })
            }
            // An env whose space is Box but returns entities: pass through unchanged; check_env flags it.
            (other, None) => other,
        }
    }
}

impl<E: Env> Env for NormalizeObservation<E> {
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        let (obs, info) = self.env.reset(seed, options)?;
        Ok((self.normalize(obs), info))
    }

    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        step.obs = self.normalize(step.obs);
        Ok(step)
    }

    /// Gymnasium: a Box of the same shape with infinite bounds.
    fn observation_space(&self) -> Space {
        match self.env.observation_space() {
            Space::EntitySet(s) => Space::EntitySet(EntitySet {
                global: BoxSpace::uniform(s.global.dim(), f32::NEG_INFINITY, f32::INFINITY),
                row: BoxSpace::uniform(s.width(), f32::NEG_INFINITY, f32::INFINITY),
                max_entities: s.max_entities,
            }),
            _ => Space::Box(BoxSpace::uniform(
                self.global.dim(),
                f32::NEG_INFINITY,
                f32::INFINITY,
            )),
        }
    }
    fn action_space(&self) -> Space {
        self.env.action_space()
    }
    fn action_mask(&self) -> Option<Vec<bool>> {
        self.env.action_mask()
    }
    fn id(&self) -> &str {
        self.env.id()
    }
    fn action_allowed(&self, action: Action) -> bool {
        self.env.action_allowed(action)
    }
}
