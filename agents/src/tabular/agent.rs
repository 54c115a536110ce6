//! [`TabularQ`] under the [`Agent`] trait: construction from a vector env's spaces
//! ([`TabularQ::for_env`]), learning over a SameStep-autoreset vector env (one Q-learning update per
//! sub-env per step, bootstrapping from `info["final_obs"]` on truncation; a configured warm start
//! first, on the same env, once), and checkpoints through
//! [`crate::checkpoint`] (tables as tensors; config, visit counts, counters and RNG position as JSON).

use std::path::Path;

use mend_envs::{AutoresetMode, Observation, Space, VectorEnv};
use mend_monitor::features::FeatureSchema;
use serde::{Deserialize, Serialize};

use super::nstep::{Pending, Queue};
use super::{TabularConfig, TabularQ};
use crate::agent::{Agent, EpisodeTracker, MetricSink, TrainSummary};
use crate::checkpoint::{self, RngState};
use crate::error::{AgentError, PolicyFileError};
use crate::obs::{discrete_actions, final_entity_obs};
use crate::policy::Policy;
use crate::store::TensorMap;

/// `(n_actions, n_kinds)` of an entity env: a Discrete action space `1 + max_entities * n_kinds` over
/// an `EntitySet` observation space whose rows follow `schema`.
fn entity_layout(
    obs_space: &Space,
    action_space: &Space,
    schema: &FeatureSchema,
) -> Result<(usize, usize), AgentError> {
    let n_actions = discrete_actions(action_space)?;
    let unsupported = |got: String| AgentError::UnsupportedSpace {
        what: "observation",
        expected: "EntitySet with max_entities set and rows of the v1 feature schema",
        got,
    };
    let Space::EntitySet(set) = obs_space else {
        return Err(unsupported(format!("{obs_space:?}")));
    };
    let Some(n_entities) = set.max_entities.filter(|&n| n > 0) else {
        return Err(unsupported("an EntitySet without max_entities".into()));
    };
    if set.row.low.len() != schema.columns.len() {
        return Err(unsupported(format!(
            "rows of {} features (the schema has {})",
            set.row.low.len(),
            schema.columns.len()
        )));
    }
    if n_actions < 1 || !(n_actions - 1).is_multiple_of(n_entities) {
        return Err(AgentError::UnsupportedSpace {
            what: "action",
            expected: "Discrete(1 + entities * kinds): the no-op then (entity, kind) pairs",
            got: format!("Discrete({n_actions}) for {n_entities} entities"),
        });
    }
    Ok((n_actions, (n_actions - 1) / n_entities))
}

impl TabularQ {
    /// A fresh learner sized from `env`'s spaces (entity rows of [`FeatureSchema::builtin`], actions
    /// `1 + entities * kinds`), seeded with `config.seed`.
    pub fn for_env(config: TabularConfig, env: &dyn VectorEnv) -> Result<Self, AgentError> {
        let schema = FeatureSchema::builtin();
        let (n_actions, n_kinds) = entity_layout(
            &env.single_observation_space(),
            &env.single_action_space(),
            &schema,
        )?;
        let seed = config.seed;
        Self::new(config, schema, n_kinds, n_actions, seed)
    }

    fn check_vector_env(&self, env: &dyn VectorEnv) -> Result<(), AgentError> {
        if env.autoreset_mode() != AutoresetMode::SameStep {
            return Err(AgentError::UnsupportedAutoreset {
                got: format!("{:?}", env.autoreset_mode()),
            });
        }
        let schema = FeatureSchema::builtin();
        let (n_actions, n_kinds) = entity_layout(
            &env.single_observation_space(),
            &env.single_action_space(),
            &schema,
        )?;
        if (n_actions, n_kinds) != (self.policy.n_actions, self.policy.n_kinds) {
            return Err(AgentError::ObservationMismatch {
                expected: format!(
                    "{} actions of {} kinds",
                    self.policy.n_actions, self.policy.n_kinds
                ),
                got: format!("{n_actions} actions of {n_kinds} kinds"),
            });
        }
        Ok(())
    }
}

impl Agent for TabularQ {
    /// Trains until `total_timesteps` env steps in all (absolute). Every step updates the entry each
    /// sub-env's action chose; a truncated episode bootstraps from its final observation (over all
    /// actions: the final state's mask is not reported), a terminated one does not bootstrap.
    fn learn(
        &mut self,
        env: &mut dyn VectorEnv,
        total_timesteps: u64,
        sink: &mut dyn MetricSink,
    ) -> Result<TrainSummary, AgentError> {
        self.check_vector_env(env)?;
        let (n_actions, seed) = (self.policy.n_actions, self.config.seed);
        self.warm_start_once(|ws, c| {
            crate::teacher::record_warm_start(
                env,
                &ws.teacher,
                ws.steps,
                seed,
                c.reward_scale,
                n_actions,
            )
        })?;
        let n = env.num_envs();
        let mut tracker = EpisodeTracker::new(n);
        let (mut obs, _) = env.reset(Some(self.config.seed.wrapping_add(self.num_timesteps)))?;
        let mut masks = env.action_masks();
        let updates_before = self.num_timesteps;
        // n-step queues start empty at each call (the env was just reset).
        let mut queues = vec![Queue::new(); n];
        while self.num_timesteps < total_timesteps {
            let eps = self.epsilon(total_timesteps);
            let mut states = Vec::with_capacity(n);
            let mut actions = Vec::with_capacity(n);
            for (o, mask) in obs.iter().zip(&masks) {
                let (g, entries) = self.policy.entries(o)?;
                actions.push(self.act(g, &entries, mask.as_deref(), eps));
                states.push((g, entries));
            }
            let step = env.step(&actions)?;
            self.num_timesteps += n as u64;
            let next_masks = env.action_masks();
            let mut done = Vec::with_capacity(n);
            for (e, (g, entries)) in states.iter().enumerate() {
                let (term, trunc) = (step.terminated[e], step.truncated[e]);
                let final_obs;
                let next = if term {
                    None
                } else if trunc {
                    final_obs = Observation::Entities(final_entity_obs(&step.infos[e], e)?);
                    Some((&final_obs, None))
                } else {
                    Some((&step.obs[e], next_masks[e].as_deref()))
                };
                let decision = Pending {
                    global: *g,
                    entries: entries.clone(),
                    action: actions[e],
                    reward: step.rewards[e],
                };
                self.observe(&mut queues[e], decision, next, term || trunc)?;
                done.push(term || trunc);
            }
            tracker.step(&step.rewards, &done, self.num_timesteps, sink);
            if done.iter().any(|&d| d) {
                let s = self.num_timesteps;
                sink.record(s, "charts/global_step", s as f64);
                sink.record(s, "charts/epsilon", eps);
            }
            obs = step.obs;
            masks = next_masks;
        }
        // Training stops mid-episode: settle what is queued, bootstrapping from the current state.
        for (e, queue) in queues.iter_mut().enumerate() {
            self.settle(queue, Some((&obs[e], masks[e].as_deref())), true)?;
        }
        Ok(TrainSummary {
            num_timesteps: self.num_timesteps,
            episodes: tracker.finished.len() as u64,
            mean_return_last_100: tracker.mean_last_100(),
            gradient_steps: self.num_timesteps - updates_before,
        })
    }

    fn num_timesteps(&self) -> u64 {
        self.num_timesteps
    }

    fn policy(&self) -> Box<dyn Policy> {
        Box::new(TabularQ::policy(self))
    }

    fn save_checkpoint(&self, path: &Path) -> Result<(), AgentError> {
        let (q_entity, q_noop) = self.policy.tables();
        let mut tensors = TensorMap::new();
        tensors.insert(
            "q_entity".into(),
            (
                vec![
                    q_entity.len() / self.policy.n_kinds.max(1),
                    self.policy.n_kinds,
                ],
                q_entity.to_vec(),
            ),
        );
        tensors.insert("q_noop".into(), (vec![q_noop.len()], q_noop.to_vec()));
        // The credit options' state, only when they are on (checkpoints of other configs are
        // unchanged).
        let baseline = self.entity_baseline_on();
        if baseline {
            let w = &self.wait_value;
            tensors.insert("wait_value".into(), (vec![w.len()], w.clone()));
        }
        let seed_record = self.keeps_seed_record();
        if seed_record {
            let v = &self.seeded_value;
            tensors.insert("seeded_value".into(), (vec![v.len()], v.clone()));
        }
        let state = TabularCheckpoint {
            algorithm: super::file::ALGORITHM.into(),
            config: self.config.clone(),
            n_kinds: self.policy.n_kinds,
            n_actions: self.policy.n_actions,
            num_timesteps: self.num_timesteps,
            visits: self.visits.clone(),
            target_stats: self.target_stats.clone(),
            rng: RngState::capture(&self.rng),
            warm_started: self.warm_started,
            seeded_visits: if seed_record {
                self.seeded_visits.clone()
            } else {
                Vec::new()
            },
            wait_visits: if baseline {
                self.wait_visits.clone()
            } else {
                Vec::new()
            },
        };
        checkpoint::write_checkpoint(path, &tensors, &state)?;
        Ok(())
    }

    fn load_checkpoint(&mut self, path: &Path) -> Result<(), AgentError> {
        let (state, tensors): (TabularCheckpoint, _) = checkpoint::read_checkpoint(path)?;
        let bad = |detail: String| PolicyFileError::Manifest {
            path: path.to_path_buf(),
            detail,
        };
        if state.algorithm != super::file::ALGORITHM {
            return Err(bad(format!(
                "field `algorithm` is {:?}, expected {:?}",
                state.algorithm,
                super::file::ALGORITHM
            ))
            .into());
        }
        if state.config != self.config
            || (state.n_kinds, state.n_actions) != (self.policy.n_kinds, self.policy.n_actions)
        {
            return Err(bad(
                "field `config`: the checkpoint was written by a learner with another \
                 configuration or action layout"
                    .into(),
            )
            .into());
        }
        if state.visits.len() != self.visits.len() {
            return Err(bad(format!(
                "field `visits`: {} entries, expected {}",
                state.visits.len(),
                self.visits.len()
            ))
            .into());
        }
        for (name, dst) in [
            ("q_entity", &mut self.policy.q_entity),
            ("q_noop", &mut self.policy.q_noop),
        ] {
            checkpoint::copy_tensor(&tensors, name, dst, path)?;
        }
        if state.target_stats.len() != self.visits.len() {
            return Err(bad(format!(
                "field `target_stats`: {} entries, expected {}",
                state.target_stats.len(),
                self.visits.len()
            ))
            .into());
        }
        for (name, saved, dst) in [
            (
                "seeded_visits",
                &state.seeded_visits,
                &mut self.seeded_visits,
            ),
            ("wait_visits", &state.wait_visits, &mut self.wait_visits),
        ] {
            if !saved.is_empty() && saved.len() != dst.len() {
                return Err(bad(format!(
                    "field `{name}`: {} entries, expected {}",
                    saved.len(),
                    dst.len()
                ))
                .into());
            }
        }
        let (baseline, seed_record) = (self.entity_baseline_on(), self.keeps_seed_record());
        for (name, on, dst) in [
            ("wait_value", baseline, &mut self.wait_value),
            ("seeded_value", seed_record, &mut self.seeded_value),
        ] {
            if !on {
                continue;
            }
            checkpoint::copy_tensor(&tensors, name, dst, path)?;
        }
        if !state.seeded_visits.is_empty() {
            self.seeded_visits = state.seeded_visits;
        }
        if !state.wait_visits.is_empty() {
            self.wait_visits = state.wait_visits;
        }
        self.visits = state.visits;
        self.target_stats = state.target_stats;
        self.warm_started = state.warm_started;
        self.rng = state.rng.restore(path)?;
        self.num_timesteps = state.num_timesteps;
        Ok(())
    }
}

/// The JSON state of a tabular checkpoint.
#[derive(Serialize, Deserialize)]
struct TabularCheckpoint {
    algorithm: String,
    config: TabularConfig,
    n_kinds: usize,
    n_actions: usize,
    num_timesteps: u64,
    /// Updates per `q_entity` entry (exact integers, so JSON rather than an f32 tensor).
    visits: Vec<u32>,
    /// Sum and sum of squares of each entry's targets.
    target_stats: Vec<(f64, f64)>,
    rng: RngState,
    /// Whether the warm start has run (absent in checkpoints written before it existed: false,
    /// and those configs had no warm start).
    #[serde(default)]
    warm_started: bool,
    /// Visits the warm start gave each entry (written only with `warm_start.prior_count` or
    /// `warm_start.trust_radius`; the seeded values are the `seeded_value` tensor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seeded_visits: Vec<u32>,
    /// Updates of each entity bucket's baseline (written only with `warm_start.entity_baseline`;
    /// the values are the `wait_value` tensor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    wait_visits: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use mend_envs::{EntityObs, Info};

    #[test]
    fn final_entity_obs_reads_what_to_json_wrote() {
        let obs = Observation::Entities(EntityObs {
            global: vec![0.5],
            width: 2,
            rows: vec![1.0, 2.0, 3.0, 4.0],
        });
        let mut info = Info::new();
        info.insert("final_obs".into(), obs.to_json());
        assert_eq!(
            Observation::Entities(final_entity_obs(&info, 0).unwrap()),
            obs
        );
        assert!(final_entity_obs(&Info::new(), 3).is_err());
    }
}
