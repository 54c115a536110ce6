//! The DQN loop shared by both Q-networks, top to bottom as CleanRL's `dqn.py`: epsilon-greedy acting,
//! storing transitions, hard target updates, gradient phases; then checkpointing.
//!
//! Step counting follows SB3 2.x (`off_policy_algorithm.py`, `dqn.py`): random actions while
//! `num_timesteps < learning_starts`; after each vector step `_on_step` counts `n_calls` and copies
//! the target every `max(target_network_frequency / num_envs, 1)` calls; a rollout is
//! `train_frequency` vector steps and is followed by `gradient_steps` updates once `num_timesteps >
//! learning_starts`, so the target stays frozen during each burst; the last rollout is completed past
//! the budget and trained on, as `collect_rollouts` checks only `train_freq`. Truncated transitions
//! bootstrap (SB3's `handle_timeout_termination`): only `terminated` is stored as a done flag, and
//! `next_obs` is the final observation of an episode that ended.

use std::path::Path;
use std::sync::Arc;

use candle_core::Device;
use mend_envs::{EntityObs, Observation, VectorEnv};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::DqnConfig;
use super::decision::noop_margin_decision;
use super::demos::Demos;
use super::dqfd::{DqfdLosses, dqfd_loss_grads};
use super::loss::{entity_q_rows, entity_td_loss_grads, td_target_by};
use super::mlp_update::mlp_gradient_step;
use super::qnet::{CandleQ, QNet};
use crate::agent::{EpisodeTracker, MetricSink, TrainSummary};
use crate::checkpoint::{self, AdamScalars, RngState};
use crate::distribution::{argmax, check_mask, masked_logits};
use crate::error::{AgentError, PolicyFileError};
use crate::nn::entity_candle::CandleEntity;
use crate::obs::{as_vector, final_entity_obs, final_obs};
use crate::optim::{Adam, clip_grad_norm};
use crate::ppo::nets::as_entities;
use crate::replay_buffer::entity::{EntityReplayBatch, EntityReplayBuffer, EntityTransition};
use crate::replay_buffer::{ReplayBuffer, Transition};
use crate::schedule::linear;

/// A step hook: every how many vector steps, and the function called with the online network and
/// the agent's step count ([`DqnCore::learn_with_hook`]).
pub(crate) type StepHook<'a> = (u64, &'a mut dyn FnMut(&QNet, u64));

/// The replay storage matching the Q-network.
#[derive(Clone, Debug)]
pub(crate) enum Replay {
    /// Fixed-width vectors.
    Flat(ReplayBuffer),
    /// Entity sets.
    Entity(EntityReplayBuffer),
}

/// State and loop of a DQN agent, whichever its network.
#[derive(Clone, Debug)]
pub(crate) struct DqnCore {
    pub(crate) config: DqnConfig,
    /// Observation length (MLP) or row width + global width (entity; for messages only).
    pub(crate) obs_dim: usize,
    /// Actions of the training env.
    pub(crate) n_actions: usize,
    /// Action kinds per entity (entity network), else 0.
    pub(crate) n_kinds: usize,
    pub(crate) q: QNet,
    pub(crate) target: QNet,
    pub(crate) adam: Adam,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) replay: Replay,
    pub(crate) num_timesteps: u64,
    pub(crate) n_calls: u64,
    pub(crate) gradient_steps: u64,
    /// The teacher's demonstrations (DQfD warm start), mixed into every minibatch.
    pub(crate) demos: Option<Demos>,
    /// Whether the warm start has run (a checkpoint key, so a resumed run does not pre-train again).
    pub(crate) warm_started: bool,
}

/// The observations the loop holds between steps: flat for an MLP, shared entity sets otherwise (the
/// `Arc` of a step's observation becomes the next transition's `obs` without a copy).
enum Current {
    Flat(Vec<f32>),
    Entity(Vec<Arc<EntityObs>>),
}

impl Current {
    fn new(replay: &Replay, obs: &[Observation], dim: usize) -> Result<Self, AgentError> {
        Ok(match replay {
            Replay::Flat(_) => {
                let mut flat = Vec::with_capacity(obs.len() * dim);
                crate::obs::flatten_into(obs, dim, &mut flat)?;
                Current::Flat(flat)
            }
            Replay::Entity(_) => Current::Entity(
                obs.iter()
                    .map(|o| Ok(Arc::new(as_entities(o)?.clone())))
                    .collect::<Result<_, AgentError>>()?,
            ),
        })
    }
}

impl DqnCore {
    pub(crate) fn new(
        config: DqnConfig,
        q: QNet,
        replay: Replay,
        rng: ChaCha8Rng,
        dims: (usize, usize, usize),
    ) -> Self {
        let lengths: Vec<usize> = q.tensors().iter().map(|t| t.len()).collect();
        // The MLP network is SB3's peer: PyTorch's Adam rounding (lock-step test); the entity network
        // keeps the first rounding, so cluster results stay byte-identical (`Adam`'s doc).
        let adam = match q {
            QNet::Mlp(_) => Adam::torch(&lengths, config.adam_eps),
            QNet::Entity(_) => Adam::new(&lengths, config.adam_eps),
        };
        let (obs_dim, n_actions, n_kinds) = dims;
        Self {
            target: q.clone(),
            q,
            adam,
            rng,
            replay,
            obs_dim,
            n_actions,
            n_kinds,
            config,
            num_timesteps: 0,
            n_calls: 0,
            gradient_steps: 0,
            demos: None,
            warm_started: false,
        }
    }

    pub(crate) fn learn(
        &mut self,
        env: &mut dyn VectorEnv,
        total_timesteps: u64,
        sink: &mut dyn MetricSink,
    ) -> Result<TrainSummary, AgentError> {
        self.learn_with_hook(env, total_timesteps, sink, None)
    }

    /// [`DqnCore::learn`], calling `hook` every `hook.0` vector steps of this call (SB3's
    /// `BaseCallback.on_step`, called in `collect_rollouts` right after `env.step`, before the
    /// rollout's gradient phase) with the online network and the step count. The hook cannot reach
    /// the training env or the agent's RNG, so the run is the same as without it.
    pub(crate) fn learn_with_hook(
        &mut self,
        env: &mut dyn VectorEnv,
        total_timesteps: u64,
        sink: &mut dyn MetricSink,
        mut hook: Option<StepHook<'_>>,
    ) -> Result<TrainSummary, AgentError> {
        let cfg = self.config.clone();
        if let Some(ws) = &cfg.warm_start {
            if !self.warm_started && self.num_timesteps == 0 {
                self.warm_start(env, sink)?;
            } else if self.demos.is_none() {
                // Resumed from a checkpoint: the same seed records the same demonstrations.
                self.demos = Some(self.record_demos(env, ws)?);
            }
        }
        let n = cfg.num_envs;
        let dim = self.obs_dim;
        let mut tracker = EpisodeTracker::new(n);
        let (first_obs, _) = env.reset(Some(cfg.seed.wrapping_add(self.num_timesteps)))?;
        let mut current = Current::new(&self.replay, &first_obs, dim)?;
        let mut obs = first_obs;
        let target_every = (cfg.target_network_frequency / n as u64).max(1);
        // The callback's own `n_calls` (SB3 `BaseCallback`): vector steps of this call.
        let mut calls_this_learn: u64 = 0;

        // SB3 collects whole rollouts of `train_freq` steps (`collect_rollouts` checks only
        // `train_freq`, not the budget) and trains after each one: the last rollout runs past
        // `total_timesteps` and is followed by its gradient phase. Stopping at the budget instead
        // would skip that last phase (at 50,000 steps with train_freq 256: 49,920 + 256 = 50,176).
        while self.num_timesteps < total_timesteps
            || !self.n_calls.is_multiple_of(cfg.train_frequency)
        {
            // --- Act: random before learning_starts, then epsilon-greedy --------------------------
            let progress = self.num_timesteps as f64 / cfg.total_timesteps.max(1) as f64;
            let epsilon = linear(cfg.start_e, cfg.end_e, cfg.exploration_fraction, progress);
            let masks = env.action_masks();
            let mut actions = Vec::with_capacity(n);
            for (e, mask) in masks.iter().enumerate() {
                let mask = mask.as_deref();
                let q_values = self.q.q_values(&obs[e])?;
                check_mask(mask, q_values.len())?;
                let explore =
                    self.num_timesteps < cfg.learning_starts || self.rng.random::<f64>() < epsilon;
                actions.push(if explore {
                    explore_action(cfg.explore_act_prob, q_values.len(), mask, &mut self.rng)
                } else {
                    self.greedy(&masked_logits(&q_values, mask))
                });
            }

            // --- Step and store (next_obs = the final observation where an episode ended) --------
            let step = env.step(&actions)?;
            self.num_timesteps += n as u64;
            self.n_calls += 1;
            calls_this_learn += 1;
            if let Some((every, on_step)) = hook.as_mut()
                && calls_this_learn.is_multiple_of((*every).max(1))
            {
                on_step(&self.q, self.num_timesteps);
            }
            let done: Vec<bool> = step
                .terminated
                .iter()
                .zip(&step.truncated)
                .map(|(a, b)| *a || *b)
                .collect();
            tracker.step(&step.rewards, &done, self.num_timesteps, sink);
            let next_masks = env.action_masks();
            for e in 0..n {
                // After a reset the env's current mask belongs to the new episode, not to `next`; a
                // terminal transition does not bootstrap, and a truncated one bootstraps over all
                // actions.
                let next_mask = if done[e] {
                    None
                } else {
                    next_masks[e].as_deref()
                };
                let reward = (step.rewards[e] * cfg.reward_scale) as f32;
                let terminated = step.terminated[e];
                match (&mut self.replay, &mut current) {
                    (Replay::Flat(buf), Current::Flat(cur)) => {
                        let next = if done[e] {
                            final_obs(&step.infos[e], e, dim)?
                        } else {
                            as_vector(&step.obs[e], dim)?.to_vec()
                        };
                        buf.add(Transition {
                            obs: &cur[e * dim..(e + 1) * dim],
                            next_obs: &next,
                            action: actions[e],
                            reward,
                            terminated,
                            next_mask,
                        });
                    }
                    (Replay::Entity(buf), Current::Entity(cur)) => {
                        let next = Arc::new(if done[e] {
                            final_entity_obs(&step.infos[e], e)?
                        } else {
                            as_entities(&step.obs[e])?.clone()
                        });
                        buf.add(EntityTransition {
                            obs: Arc::clone(&cur[e]),
                            next_obs: Arc::clone(&next),
                            action: actions[e],
                            reward,
                            terminated,
                            next_mask: next_mask.map(Arc::from),
                        });
                        cur[e] = if done[e] {
                            Arc::new(as_entities(&step.obs[e])?.clone())
                        } else {
                            next
                        };
                    }
                    _ => unreachable!("Current::new matches the replay kind"),
                }
            }
            if let Current::Flat(cur) = &mut current {
                cur.clear();
                crate::obs::flatten_into(&step.obs, dim, cur)?;
            }
            obs = step.obs;

            // --- Target network: hard copy every target_network_frequency env steps --------------
            if self.n_calls.is_multiple_of(target_every) {
                self.target = self.q.clone();
            }

            // --- Gradient phase (target frozen for the whole burst) ------------------------------
            if self.n_calls.is_multiple_of(cfg.train_frequency)
                && self.num_timesteps > cfg.learning_starts
            {
                // The entity network's update runs on candle and reads a candle copy of the frozen
                // target; the MLP update reads the target's plain parameters.
                let target_net = match self.target {
                    QNet::Entity(_) => Some(self.target.to_candle()?),
                    QNet::Mlp(_) => None,
                };
                let mut loss_sum = 0.0;
                let mut q_sum = 0.0;
                let (mut norm_sum, mut clipped) = (0.0, 0usize);
                for _ in 0..cfg.gradient_steps {
                    let (loss, mean_q, grad_norm) = self.gradient_step(target_net.as_ref())?;
                    loss_sum += loss;
                    q_sum += mean_q;
                    if let Some(norm) = grad_norm {
                        norm_sum += norm;
                        clipped += usize::from(norm > cfg.max_grad_norm);
                    }
                }
                let k = cfg.gradient_steps.max(1) as f64;
                let s = self.num_timesteps;
                sink.record(s, "charts/global_step", s as f64);
                sink.record(s, "charts/epsilon", epsilon);
                sink.record(s, "losses/td_loss", loss_sum / k);
                sink.record(s, "losses/q_values", q_sum / k);
                if matches!(self.q, QNet::Mlp(_)) {
                    // The MLP path only, so the entity DQN's metric files keep their columns.
                    sink.record(s, "losses/grad_norm", norm_sum / k);
                    sink.record(s, "losses/clip_fraction", clipped as f64 / k);
                }
                if !loss_sum.is_finite() {
                    return Err(AgentError::NonFinite {
                        what: "td_loss",
                        update: self.gradient_steps,
                    });
                }
            }
        }
        Ok(TrainSummary {
            num_timesteps: self.num_timesteps,
            episodes: tracker.finished.len() as u64,
            mean_return_last_100: tracker.mean_last_100(),
            gradient_steps: self.gradient_steps,
        })
    }

    /// The greedy action on masked Q-values: the argmax for an MLP (SB3), the no-op margin decision
    /// for an entity network, whose action 0 is the no-op.
    fn greedy(&self, masked_q: &[f32]) -> usize {
        match self.q {
            QNet::Mlp(_) => argmax(masked_q),
            QNet::Entity(_) => noop_margin_decision(masked_q, self.config.noop_margin as f32),
        }
    }

    // -----------------------------------------------------------------------------------------------
    // One gradient step: sample, TD targets, Huber loss, clip, Adam
    // -----------------------------------------------------------------------------------------------

    /// One update; returns `(loss, mean Q(s)[a], gradient norm before clipping)`, the norm for the
    /// MLP network only.
    fn gradient_step(
        &mut self,
        target_net: Option<&CandleQ>,
    ) -> Result<(f64, f64, Option<f64>), AgentError> {
        if self.demos.is_some() {
            let losses =
                self.dqfd_step(target_net.ok_or_else(dqfd_needs_entity_network)?, false)?;
            return Ok((losses.total, losses.mean_q, None));
        }
        if let (Replay::Flat(replay), QNet::Mlp(q), QNet::Mlp(target)) =
            (&self.replay, &mut self.q, &self.target)
        {
            let batch = replay.sample(self.config.batch_size, &mut self.rng);
            let stats = mlp_gradient_step(q, target, &mut self.adam, &batch, &self.config)?;
            self.gradient_steps += 1;
            return Ok((stats.loss, stats.mean_q, Some(stats.grad_norm)));
        }
        let (loss, mean_q, mut flat) = match (&self.replay, target_net, &self.q) {
            (Replay::Entity(replay), Some(CandleQ::Entity(target)), QNet::Entity(q)) => {
                let batch = replay.sample(self.config.batch_size, &mut self.rng);
                let online = crate::nn::entity_candle::CandleEntity::from_params(q, &Device::Cpu)?;
                let targets = self.entity_targets(target, &online, &batch)?;
                entity_td_loss_grads(
                    &online,
                    &batch.obs,
                    &batch.actions,
                    targets,
                    self.n_kinds,
                    self.config.dueling,
                )?
            }
            _ => unreachable!("the replay, target and online networks are built as one kind"),
        };
        clip_grad_norm(&mut flat, self.config.max_grad_norm);
        self.adam
            .step(self.q.tensors_mut(), &flat, self.config.learning_rate);
        self.gradient_steps += 1;
        Ok((loss, mean_q, None))
    }

    /// One-step TD targets of an entity minibatch: double DQN (or plain) bootstraps whose action is
    /// the no-op margin decision, over each next observation's valid actions.
    fn entity_targets(
        &self,
        target: &CandleEntity,
        online: &CandleEntity,
        batch: &EntityReplayBatch,
    ) -> Result<Vec<f32>, AgentError> {
        let gamma = self.config.gamma as f32;
        let k = self.n_kinds;
        let dueling = self.config.dueling;
        let next_target = entity_q_rows(target, &batch.next_obs, k, dueling)?;
        let next_online = if self.config.double_q {
            Some(entity_q_rows(online, &batch.next_obs, k, dueling)?)
        } else {
            None
        };
        let margin = self.config.noop_margin as f32;
        let choose = |q: &[f32]| noop_margin_decision(q, margin);
        Ok((0..batch.actions.len())
            .map(|i| {
                td_target_by(
                    batch.rewards[i],
                    batch.terminated[i],
                    gamma,
                    &next_target[i],
                    next_online.as_ref().map(|o| o[i].as_slice()),
                    batch.next_masks[i].as_deref(),
                    &choose,
                )
            })
            .collect())
    }

    /// One DQfD gradient step ([`super::dqfd`]): during pre-training a minibatch of demonstrations
    /// only, else `demos_per_batch` demonstrations and the rest from the replay buffer.
    pub(crate) fn dqfd_step(
        &mut self,
        target_net: &CandleQ,
        pretraining: bool,
    ) -> Result<DqfdLosses, AgentError> {
        let ws = self.config.warm_start.clone().unwrap_or_default();
        let (Replay::Entity(replay), CandleQ::Entity(target), QNet::Entity(q), Some(demos)) =
            (&self.replay, target_net, &self.q, &self.demos)
        else {
            return Err(dqfd_needs_entity_network());
        };
        let batch = self.config.batch_size;
        let n_demo = if pretraining || replay.is_empty() {
            batch
        } else {
            ws.demos_per_batch(batch)
        };
        let agent = (n_demo < batch).then(|| replay.sample(batch - n_demo, &mut self.rng));
        let demo = demos.sample(n_demo, &mut self.rng);
        let online = crate::nn::entity_candle::CandleEntity::from_params(q, &Device::Cpu)?;
        let widths = (q.spec.row_width, q.spec.global_width);
        let params = ws.params(&self.config, self.n_kinds);
        let (losses, mut flat) = if demo.items.is_empty() {
            // A demonstration ratio of 0 after pre-training: plain DQN on the agent's transitions.
            let a = agent.as_ref().ok_or(AgentError::InvalidConfig {
                field: "warm_start.demo_ratio",
                expected: "to leave room for the agent's transitions",
                got: ws.demo_ratio.to_string(),
            })?;
            let targets = self.entity_targets(target, &online, a)?;
            let (loss, mean_q, flat) = entity_td_loss_grads(
                &online,
                &a.obs,
                &a.actions,
                targets,
                self.n_kinds,
                self.config.dueling,
            )?;
            let losses = DqfdLosses {
                total: loss,
                td: loss,
                mean_q,
                ..DqfdLosses::default()
            };
            (losses, flat)
        } else {
            dqfd_loss_grads(&online, target, agent.as_ref(), &demo, widths, &params)?
        };
        clip_grad_norm(&mut flat, self.config.max_grad_norm);
        let lr = if pretraining {
            self.config.learning_rate
        } else {
            ws.dqn_learning_rate.unwrap_or(self.config.learning_rate)
        };
        self.adam.step(self.q.tensors_mut(), &flat, lr);
        self.gradient_steps += 1;
        Ok(losses)
    }

    // -----------------------------------------------------------------------------------------------
    // Checkpoints
    // -----------------------------------------------------------------------------------------------

    /// Saves networks, Adam, counters and RNG. The replay buffer is not saved (SB3 also saves it
    /// separately, if at all), so a resumed run refills it.
    pub(crate) fn save_checkpoint(&self, path: &Path) -> Result<(), AgentError> {
        let mut tensors = self.q.to_tensors("q.");
        tensors.extend(self.target.to_tensors("target."));
        let adam = checkpoint::adam_to_tensors(&self.adam, "adam.", &mut tensors);
        let state = DqnCheckpoint {
            algorithm: "dqn".into(),
            config: self.config.clone(),
            obs_dim: self.obs_dim,
            n_actions: self.n_actions,
            num_timesteps: self.num_timesteps,
            n_calls: self.n_calls,
            gradient_steps: self.gradient_steps,
            rng: RngState::capture(&self.rng),
            adam,
            warm_started: self.warm_started,
        };
        checkpoint::write_checkpoint(path, &tensors, &state)?;
        Ok(())
    }

    pub(crate) fn load_checkpoint(&mut self, path: &Path) -> Result<(), AgentError> {
        let (state, tensors): (DqnCheckpoint, _) = checkpoint::read_checkpoint(path)?;
        if state.config != self.config
            || (state.obs_dim, state.n_actions) != (self.obs_dim, self.n_actions)
        {
            return Err(PolicyFileError::Manifest {
                path: path.to_path_buf(),
                detail: "field `config`: the checkpoint was written by an agent with another configuration".into(),
            }
            .into());
        }
        let q = self.q.from_tensors(path, &tensors, "q.")?;
        let target = self.q.from_tensors(path, &tensors, "target.")?;
        checkpoint::adam_from_tensors(path, &mut self.adam, state.adam, "adam.", &tensors)?;
        self.q = q;
        self.target = target;
        self.rng = state.rng.restore(path)?;
        self.num_timesteps = state.num_timesteps;
        self.n_calls = state.n_calls;
        self.gradient_steps = state.gradient_steps;
        self.warm_started = state.warm_started;
        Ok(())
    }
}

/// DQfD's error when its network or demonstrations are missing.
fn dqfd_needs_entity_network() -> AgentError {
    AgentError::InvalidConfig {
        field: "warm_start",
        expected: "needs the entity network (the cluster env) and recorded demonstrations",
        got: "an MLP agent or no demonstrations".into(),
    }
}

/// A random action while exploring: uniform over the valid actions (SB3's `action_space.sample()`), or,
/// with `act_prob`, a uniformly random valid action other than action 0 with that probability and
/// action 0 (the cluster env's no-op) otherwise.
fn explore_action(
    act_prob: Option<f64>,
    n_actions: usize,
    mask: Option<&[bool]>,
    rng: &mut ChaCha8Rng,
) -> usize {
    let Some(p) = act_prob else {
        return crate::policy::random_valid_action(n_actions, mask, rng);
    };
    if rng.random::<f64>() >= p {
        return 0;
    }
    let acts: Vec<usize> = (1..n_actions)
        .filter(|&a| mask.is_none_or(|m| m[a]))
        .collect();
    if acts.is_empty() {
        0
    } else {
        acts[rng.random_range(0..acts.len())]
    }
}

#[derive(Serialize, Deserialize)]
struct DqnCheckpoint {
    algorithm: String,
    config: DqnConfig,
    obs_dim: usize,
    n_actions: usize,
    num_timesteps: u64,
    n_calls: u64,
    gradient_steps: u64,
    rng: RngState,
    adam: AdamScalars,
    /// Whether the warm start had run (absent in checkpoints of runs without one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    warm_started: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    use crate::dqn::{Dqn, DqnConfig};
    use mend_envs::wrappers::TimeLimit;
    use mend_envs::{AutoresetMode, CartPole, SyncVectorEnv};

    fn cartpole_env(max_steps: Option<u64>) -> SyncVectorEnv {
        let env: Box<dyn mend_envs::Env> = match max_steps {
            Some(m) => Box::new(TimeLimit::new(CartPole::new(), m).unwrap()),
            None => mend_envs::make("CartPole-v1").unwrap(),
        };
        SyncVectorEnv::new(vec![env], AutoresetMode::SameStep).unwrap()
    }

    /// A small network with the zoo's step counting: train_freq 256, 16 gradient steps per phase,
    /// target copied every 10 env steps, learning from step 100.
    fn small_zoo(seed: u64) -> DqnConfig {
        DqnConfig {
            total_timesteps: 512,
            learning_starts: 100,
            gradient_steps: 16,
            hidden: vec![32, 32],
            ..DqnConfig::cartpole_zoo(seed)
        }
    }

    #[test]
    fn target_network_counts_env_steps_so_it_is_frozen_through_each_gradient_phase() {
        // SB3 `DQN._on_step` (dqn.py) copies the target every `target_update_interval // n_envs`
        // calls, one call per env step, and `train()` runs after a whole rollout: with train_freq
        // 256 and interval 10, the copy at step 510 is the online net after the phase at 256, and
        // it stays the target through all 16 updates of the phase at 512. Counting gradient steps
        // instead would copy a network from inside the second phase.
        let mut a = Dqn::new(small_zoo(4), 4, 2).unwrap();
        a.core
            .learn(&mut cartpole_env(None), 512, &mut crate::NullSink)
            .unwrap();
        let mut b = Dqn::new(small_zoo(4), 4, 2).unwrap();
        b.core
            .learn(&mut cartpole_env(None), 256, &mut crate::NullSink)
            .unwrap();
        assert_eq!((a.core.gradient_steps, b.core.gradient_steps), (32, 16));
        assert_eq!(
            a.core.target, b.core.q,
            "target = online net after the first phase"
        );
        assert_ne!(
            a.core.target, a.core.q,
            "the second phase trained the online net"
        );
        assert_ne!(b.core.q, Dqn::new(small_zoo(4), 4, 2).unwrap().core.q);
    }

    #[test]
    fn a_time_limit_truncation_is_stored_as_not_terminated_with_the_final_observation() {
        // SB3's ReplayBuffer with handle_timeout_termination (buffers.py: `dones * (1 - timeouts)`)
        // and `_store_transition` (off_policy_algorithm.py: next_obs = infos["terminal_observation"]).
        // Episodes of 5 steps from CartPole's near-upright start end by the time limit only.
        let config = DqnConfig {
            learning_starts: 10_000,
            ..small_zoo(2)
        };
        let mut agent = Dqn::new(config, 4, 2).unwrap();
        agent
            .core
            .learn(&mut cartpole_env(Some(5)), 20, &mut crate::NullSink)
            .unwrap();
        let Replay::Flat(buf) = &agent.core.replay else {
            unreachable!("an MLP agent has a flat buffer")
        };
        assert_eq!(buf.len(), 256, "one whole rollout");
        for i in 0..40 {
            let (_, next_obs, terminated) = buf.stored(i);
            let (following_obs, _, _) = buf.stored(i + 1);
            assert!(
                !terminated,
                "transition {i}: a truncation is not a termination"
            );
            if i % 5 == 4 {
                // The episode's final observation, not the first one of the next episode.
                assert_ne!(next_obs, following_obs, "transition {i}");
                assert!(
                    next_obs.iter().any(|v| v.abs() > 0.05),
                    "transition {i}: {next_obs:?}"
                );
            } else {
                assert_eq!(next_obs, following_obs, "transition {i}");
            }
        }
    }

    #[test]
    fn explore_act_prob_sets_the_noop_share_and_only_valid_actions_are_drawn() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // 613 actions (the default cluster's count), every third one masked.
        let mask: Vec<bool> = (0..613).map(|a| a == 0 || a % 3 != 0).collect();
        let draws: Vec<usize> = (0..4_000)
            .map(|_| explore_action(Some(0.1), 613, Some(&mask), &mut rng))
            .collect();
        assert!(draws.iter().all(|&a| mask[a]));
        let noop = draws.iter().filter(|&&a| a == 0).count() as f64 / 4_000.0;
        assert!((noop - 0.9).abs() < 0.02, "no-op share {noop}");
        // Without it (SB3), the no-op is one valid action among ~409: almost never drawn.
        let uniform_noop = (0..4_000)
            .filter(|_| explore_action(None, 613, Some(&mask), &mut rng) == 0)
            .count();
        assert!(uniform_noop < 40, "{uniform_noop}");
        // Only the no-op valid: acting falls back to it.
        let only_noop: Vec<bool> = (0..5).map(|a| a == 0).collect();
        assert_eq!(explore_action(Some(1.0), 5, Some(&only_noop), &mut rng), 0);
    }
}
