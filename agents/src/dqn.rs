//! Deep Q-Network (Mnih et al. 2015), one file top to bottom as CleanRL's `dqn.py`: config, state, the
//! loop (epsilon-greedy acting, replay, periodic gradient phases, hard target updates), the TD target
//! (optionally double DQN, van Hasselt et al. 2016) and the Huber loss, then checkpointing. Step counting
//! follows SB3's `DQN` (train every `train_frequency` vector steps with `gradient_steps` updates once
//! `learning_starts` env steps are done; target copied every `target_network_frequency / num_envs`
//! vector steps; random actions before `learning_starts`; the last rollout of `train_frequency`
//! vector steps is completed past the budget and trained on, as SB3's `collect_rollouts` does), so
//! rl-baselines3-zoo settings mean the same.

use std::path::Path;

use candle_core::{Device, Tensor};
use mend_envs::{AutoresetMode, VectorEnv};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::agent::{Agent, EpisodeTracker, MetricSink, TrainSummary};
use crate::checkpoint::{self, AdamScalars, RngState};
use crate::distribution::{argmax, check_mask, masked_logits};
use crate::error::{AgentError, PolicyFileError};
use crate::nn::candle_mlp::CandleMlp;
use crate::nn::init::{InitScheme, init_mlp};
use crate::nn::{Activation, MlpParams, MlpSpec, plain};
use crate::obs::{discrete_actions, final_obs, flatten_into, vector_obs_dim};
use crate::optim::{Adam, clip_grad_norm};
use crate::policy::{MlpPolicy, OutputKind, Policy, random_valid_action};
use crate::replay_buffer::{ReplayBatch, ReplayBuffer, Transition};
use crate::schedule::linear;

// ---------------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------------

/// DQN hyperparameters, with CleanRL's names (SB3's `gradient_steps` and `max_grad_norm` added).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    /// Master seed: network init, exploration, replay sampling, env reset seeds.
    pub seed: u64,
    /// Planned training budget in env steps; the exploration schedule runs over it.
    pub total_timesteps: u64,
    /// Adam learning rate (constant).
    pub learning_rate: f64,
    /// Parallel envs the vector env must have.
    pub num_envs: usize,
    /// Replay buffer capacity (transitions).
    pub buffer_size: usize,
    /// Discount factor.
    pub gamma: f64,
    /// Env steps between hard copies of the online network into the target network.
    pub target_network_frequency: u64,
    /// Minibatch size.
    pub batch_size: usize,
    /// Initial exploration epsilon.
    pub start_e: f64,
    /// Final exploration epsilon.
    pub end_e: f64,
    /// Share of `total_timesteps` over which epsilon falls from `start_e` to `end_e`.
    pub exploration_fraction: f64,
    /// Env steps of uniformly random acting before learning starts.
    pub learning_starts: u64,
    /// Vector steps between gradient phases.
    pub train_frequency: u64,
    /// Gradient updates per phase.
    pub gradient_steps: usize,
    /// Use double DQN targets (online network picks, target network evaluates).
    pub double_q: bool,
    /// Maximum gradient norm (SB3 DQN default 10).
    pub max_grad_norm: f64,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Hidden activation (SB3 DQN: ReLU).
    pub activation: Activation,
    /// Adam epsilon (PyTorch default 1e-8, which SB3's DQN keeps).
    pub adam_eps: f64,
}

impl DqnConfig {
    /// rl-baselines3-zoo's `hyperparams/dqn.yml` for CartPole-v1 (lr 2.3e-3, batch 64, buffer 1e5,
    /// learning_starts 1000, gamma 0.99, target update 10, train_freq 256, gradient_steps 128,
    /// exploration_fraction 0.16, final eps 0.04, net [256, 256], 5e4 steps, 1 env); SB3 defaults
    /// otherwise (vanilla DQN targets, max_grad_norm 10, Huber loss, start eps 1).
    pub fn cartpole_zoo(seed: u64) -> Self {
        Self {
            seed,
            total_timesteps: 50_000,
            learning_rate: 2.3e-3,
            num_envs: 1,
            buffer_size: 100_000,
            gamma: 0.99,
            target_network_frequency: 10,
            batch_size: 64,
            start_e: 1.0,
            end_e: 0.04,
            exploration_fraction: 0.16,
            learning_starts: 1_000,
            train_frequency: 256,
            gradient_steps: 128,
            double_q: false,
            max_grad_norm: 10.0,
            hidden: vec![256, 256],
            activation: Activation::Relu,
            adam_eps: 1e-8,
        }
    }

    fn validate(&self) -> Result<(), AgentError> {
        let bad = |field, expected, got: String| {
            Err(AgentError::InvalidConfig {
                field,
                expected,
                got,
            })
        };
        if self.num_envs == 0 {
            return bad("num_envs", "must be at least 1", self.num_envs.to_string());
        }
        if self.buffer_size == 0 {
            return bad(
                "buffer_size",
                "must be at least 1",
                self.buffer_size.to_string(),
            );
        }
        if self.batch_size == 0 {
            return bad(
                "batch_size",
                "must be at least 1",
                self.batch_size.to_string(),
            );
        }
        if self.train_frequency == 0 {
            return bad(
                "train_frequency",
                "must be at least 1",
                self.train_frequency.to_string(),
            );
        }
        if !(0.0..=1.0).contains(&self.gamma) {
            return bad("gamma", "must be in [0, 1]", self.gamma.to_string());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                "must be finite and positive",
                self.learning_rate.to_string(),
            );
        }
        if !(0.0..=1.0).contains(&self.start_e) || !(0.0..=1.0).contains(&self.end_e) {
            return bad(
                "end_e",
                "start_e and end_e must be in [0, 1]",
                format!("{} / {}", self.start_e, self.end_e),
            );
        }
        if self.hidden.contains(&0) {
            return bad(
                "hidden",
                "widths must be positive",
                format!("{:?}", self.hidden),
            );
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------
// Agent state and construction
// ---------------------------------------------------------------------------------------------------

/// A DQN agent over vector observations and discrete actions.
#[derive(Debug)]
pub struct Dqn {
    config: DqnConfig,
    obs_dim: usize,
    n_actions: usize,
    q: MlpParams,
    target: MlpParams,
    adam: Adam,
    rng: ChaCha8Rng,
    replay: ReplayBuffer,
    num_timesteps: u64,
    n_calls: u64,
    gradient_steps: u64,
}

impl Dqn {
    /// A fresh agent; weights drawn from the seed with PyTorch's default `nn.Linear` init (SB3's DQN
    /// does not use orthogonal init).
    pub fn new(config: DqnConfig, obs_dim: usize, n_actions: usize) -> Result<Self, AgentError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let spec = MlpSpec {
            input: obs_dim,
            hidden: config.hidden.clone(),
            output: n_actions,
            activation: config.activation,
        };
        let q = init_mlp(&spec, InitScheme::TorchDefault, &mut rng);
        let lengths: Vec<usize> = q.tensors().iter().map(|t| t.len()).collect();
        let adam = Adam::new(&lengths, config.adam_eps);
        let replay = ReplayBuffer::new(config.buffer_size, obs_dim, n_actions);
        Ok(Self {
            target: q.clone(),
            q,
            adam,
            rng,
            replay,
            obs_dim,
            n_actions,
            config,
            num_timesteps: 0,
            n_calls: 0,
            gradient_steps: 0,
        })
    }

    /// A fresh agent sized from `env`'s spaces.
    pub fn for_env(config: DqnConfig, env: &dyn VectorEnv) -> Result<Self, AgentError> {
        let obs_dim = vector_obs_dim(&env.single_observation_space())?;
        let n_actions = discrete_actions(&env.single_action_space())?;
        Self::new(config, obs_dim, n_actions)
    }

    /// The configuration.
    pub fn config(&self) -> &DqnConfig {
        &self.config
    }

    /// The Q-network as an inference policy (epsilon-greedy with `end_e` when sampled).
    pub fn mlp_policy(&self) -> MlpPolicy {
        MlpPolicy {
            algorithm: "dqn".into(),
            output: OutputKind::QValues,
            net: self.q.clone(),
            exploration_eps: self.config.end_e as f32,
            normalisation: None,
        }
    }

    fn check_env(&self, env: &dyn VectorEnv) -> Result<(), AgentError> {
        if env.num_envs() != self.config.num_envs {
            return Err(AgentError::InvalidConfig {
                field: "num_envs",
                expected: "must equal the vector env's num_envs",
                got: format!("{} (env has {})", self.config.num_envs, env.num_envs()),
            });
        }
        if env.autoreset_mode() != AutoresetMode::SameStep {
            return Err(AgentError::UnsupportedAutoreset {
                got: format!("{:?}", env.autoreset_mode()),
            });
        }
        let obs_dim = vector_obs_dim(&env.single_observation_space())?;
        let n_actions = discrete_actions(&env.single_action_space())?;
        if (obs_dim, n_actions) != (self.obs_dim, self.n_actions) {
            return Err(AgentError::ObservationMismatch {
                expected: format!("{} features and {} actions", self.obs_dim, self.n_actions),
                got: format!("{obs_dim} features and {n_actions} actions"),
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------
// Training loop
// ---------------------------------------------------------------------------------------------------

impl Agent for Dqn {
    fn learn(
        &mut self,
        env: &mut dyn VectorEnv,
        total_timesteps: u64,
        sink: &mut dyn MetricSink,
    ) -> Result<TrainSummary, AgentError> {
        self.check_env(env)?;
        let cfg = self.config.clone();
        let (n, dim, na) = (cfg.num_envs, self.obs_dim, self.n_actions);
        let mut tracker = EpisodeTracker::new(n);
        let (first_obs, _) = env.reset(Some(cfg.seed.wrapping_add(self.num_timesteps)))?;
        let mut obs = Vec::with_capacity(n * dim);
        flatten_into(&first_obs, dim, &mut obs)?;
        let target_every = (cfg.target_network_frequency / n as u64).max(1);

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
            let q_values = plain::forward(&self.q, &obs);
            let mut actions = Vec::with_capacity(n);
            for (e, mask) in masks.iter().enumerate() {
                let mask = mask.as_deref();
                check_mask(mask, na)?;
                let explore =
                    self.num_timesteps < cfg.learning_starts || self.rng.random::<f64>() < epsilon;
                actions.push(if explore {
                    random_valid_action(na, mask, &mut self.rng)
                } else {
                    argmax(&masked_logits(&q_values[e * na..(e + 1) * na], mask))
                });
            }

            // --- Step and store (next_obs = the final observation where an episode ended) --------
            let step = env.step(&actions)?;
            self.num_timesteps += n as u64;
            self.n_calls += 1;
            let done: Vec<bool> = step
                .terminated
                .iter()
                .zip(&step.truncated)
                .map(|(a, b)| *a || *b)
                .collect();
            tracker.step(&step.rewards, &done, self.num_timesteps, sink);
            let mut new_obs = Vec::with_capacity(n * dim);
            flatten_into(&step.obs, dim, &mut new_obs)?;
            let next_masks = env.action_masks();
            for e in 0..n {
                let next = if done[e] {
                    final_obs(&step.infos[e], e, dim)?
                } else {
                    new_obs[e * dim..(e + 1) * dim].to_vec()
                };
                // After a reset the env's current mask belongs to the new episode, not to `next`; a
                // terminal transition does not bootstrap, and a truncated one bootstraps over all actions.
                let next_mask = if done[e] {
                    None
                } else {
                    next_masks[e].as_deref()
                };
                self.replay.add(Transition {
                    obs: &obs[e * dim..(e + 1) * dim],
                    next_obs: &next,
                    action: actions[e],
                    reward: step.rewards[e] as f32,
                    terminated: step.terminated[e],
                    next_mask,
                });
            }
            obs = new_obs;

            // --- Target network: hard copy every target_network_frequency env steps --------------
            if self.n_calls.is_multiple_of(target_every) {
                self.target = self.q.clone();
            }

            // --- Gradient phase ----------------------------------------------------------------------
            if self.n_calls.is_multiple_of(cfg.train_frequency)
                && self.num_timesteps > cfg.learning_starts
            {
                let target_net = CandleMlp::from_params(&self.target, &Device::Cpu)?;
                let mut loss_sum = 0.0;
                let mut q_sum = 0.0;
                for _ in 0..cfg.gradient_steps {
                    let batch = self.replay.sample(cfg.batch_size, &mut self.rng);
                    let (loss, mean_q) = self.gradient_step(&batch, &target_net)?;
                    loss_sum += loss;
                    q_sum += mean_q;
                }
                let k = cfg.gradient_steps.max(1) as f64;
                let s = self.num_timesteps;
                sink.record(s, "charts/global_step", s as f64);
                sink.record(s, "charts/epsilon", epsilon);
                sink.record(s, "losses/td_loss", loss_sum / k);
                sink.record(s, "losses/q_values", q_sum / k);
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

    fn num_timesteps(&self) -> u64 {
        self.num_timesteps
    }

    fn policy(&self) -> Box<dyn Policy> {
        Box::new(self.mlp_policy())
    }

    /// Saves networks, Adam, counters and RNG. The replay buffer is not saved (SB3 also saves it
    /// separately, if at all), so a resumed run refills it.
    fn save_checkpoint(&self, path: &Path) -> Result<(), AgentError> {
        let mut tensors = crate::policy_file::params_to_tensors_prefixed(&self.q, "q.");
        tensors.extend(crate::policy_file::params_to_tensors_prefixed(
            &self.target,
            "target.",
        ));
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
        };
        checkpoint::write_checkpoint(path, &tensors, &state)?;
        Ok(())
    }

    fn load_checkpoint(&mut self, path: &Path) -> Result<(), AgentError> {
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
        let q = crate::policy_file::tensors_to_params_prefixed(path, &self.q.spec, &tensors, "q.")?;
        let target = crate::policy_file::tensors_to_params_prefixed(
            path,
            &self.q.spec,
            &tensors,
            "target.",
        )?;
        checkpoint::adam_from_tensors(path, &mut self.adam, state.adam, "adam.", &tensors)?;
        self.q = q;
        self.target = target;
        self.rng = state.rng.restore(path)?;
        self.num_timesteps = state.num_timesteps;
        self.n_calls = state.n_calls;
        self.gradient_steps = state.gradient_steps;
        Ok(())
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
}

// ---------------------------------------------------------------------------------------------------
// One gradient step: TD targets, Huber loss, Adam
// ---------------------------------------------------------------------------------------------------

impl Dqn {
    fn gradient_step(
        &mut self,
        batch: &ReplayBatch,
        target_net: &CandleMlp,
    ) -> Result<(f64, f64), AgentError> {
        let dev = Device::Cpu;
        let (b, dim, na) = (batch.actions.len(), self.obs_dim, self.n_actions);
        let online = CandleMlp::from_params(&self.q, &dev)?;
        let next_x = Tensor::from_slice(&batch.next_obs, (b, dim), &dev)?;
        let next_target = target_net
            .forward(&next_x)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let next_online = if self.config.double_q {
            Some(online.forward(&next_x)?.flatten_all()?.to_vec1::<f32>()?)
        } else {
            None
        };
        let targets = td_targets(
            TdInput {
                rewards: &batch.rewards,
                terminated: &batch.terminated,
                next_q_target: &next_target,
                next_q_online: next_online.as_deref(),
                next_masks: &batch.next_masks,
            },
            na,
            self.config.gamma as f32,
        );

        let (loss, mean_q, mut flat) =
            td_loss_grads(&online, &batch.obs, &batch.actions, targets, dim)?;
        clip_grad_norm(&mut flat, self.config.max_grad_norm);
        self.adam
            .step(self.q.tensors_mut(), &flat, self.config.learning_rate);
        self.gradient_steps += 1;
        Ok((loss, mean_q))
    }
}

/// SB3's DQN loss on one batch: `smooth_l1_loss(Q(s)[a], y)` (mean over the batch) and its gradient
/// with respect to every parameter of `online` (order of [`crate::nn::MlpParams::tensors`]). Returns
/// `(loss, mean Q(s)[a], gradients)`. `obs` is row-major `batch x dim`.
pub fn td_loss_grads(
    online: &CandleMlp,
    obs: &[f32],
    actions: &[usize],
    targets: Vec<f32>,
    dim: usize,
) -> Result<(f64, f64, Vec<Vec<f32>>), AgentError> {
    let dev = Device::Cpu;
    let b = actions.len();
    let x = Tensor::from_slice(obs, (b, dim), &dev)?;
    let index: Vec<u32> = actions.iter().map(|&a| a as u32).collect();
    let q = online
        .forward(&x)?
        .gather(&Tensor::from_vec(index, (b, 1), &dev)?, 1)?
        .squeeze(1)?;
    let loss = huber_loss(&q, &Tensor::from_vec(targets, b, &dev)?)?;
    let grads = loss.backward()?;
    Ok((
        f64::from(loss.to_scalar::<f32>()?),
        f64::from(q.mean_all()?.to_scalar::<f32>()?),
        online.flat_grads(&grads)?,
    ))
}

/// Inputs of [`td_targets`], each row-major over the batch.
#[derive(Clone, Copy, Debug)]
pub struct TdInput<'a> {
    /// Rewards, `batch`.
    pub rewards: &'a [f32],
    /// Terminated flags, `batch`.
    pub terminated: &'a [bool],
    /// Target network's Q-values at the next observations, `batch x n_actions`.
    pub next_q_target: &'a [f32],
    /// Online network's Q-values at the next observations (double DQN), `batch x n_actions`.
    pub next_q_online: Option<&'a [f32]>,
    /// Valid actions at the next observations, `batch x n_actions`.
    pub next_masks: &'a [bool],
}

/// `y = r + gamma * (1 - terminated) * Q_target(s', a*)`, with `a* = argmax_a Q_target(s', a)` (DQN) or
/// `argmax_a Q_online(s', a)` (double DQN), both over valid actions only.
pub fn td_targets(input: TdInput<'_>, n_actions: usize, gamma: f32) -> Vec<f32> {
    (0..input.rewards.len())
        .map(|i| {
            if input.terminated[i] {
                return input.rewards[i];
            }
            let row = i * n_actions..(i + 1) * n_actions;
            let mask = Some(&input.next_masks[row.clone()]);
            let target_row = masked_logits(&input.next_q_target[row.clone()], mask);
            let chooser = match input.next_q_online {
                Some(online) => masked_logits(&online[row], mask),
                None => target_row.clone(),
            };
            input.rewards[i] + gamma * target_row[argmax(&chooser)]
        })
        .collect()
}

/// Huber loss with delta 1 (PyTorch's `smooth_l1_loss`, mean reduction), written as
/// `0.5 m^2 + (|d| - m)` with `m = min(|d|, 1)`, which equals `0.5 d^2` for `|d| < 1` and `|d| - 0.5` else.
pub fn huber_loss(pred: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    let abs = (pred - target)?.abs()?;
    let m = abs.clamp(0.0, 1.0)?;
    ((m.sqr()? * 0.5)? + (abs - m)?)?.mean_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn td_targets_match_hand_values_for_dqn_and_double_dqn() {
        // Two transitions, 3 actions, gamma 0.5. Row 0 not terminal; row 1 terminal (target = reward).
        // Target Q row 0 = [1, 4, 2], online Q row 0 = [3, 0, 1], action 1 masked in s'.
        // DQN: max over valid target values {1, 2} = 2 -> y0 = 1 + 0.5*2 = 2.
        // Double: online picks action 0 (3 > 1) -> target value 1 -> y0 = 1.5.
        let rewards = [1.0, 7.0];
        let terminated = [false, true];
        let next_q_target = [1.0, 4.0, 2.0, 9.0, 9.0, 9.0];
        let next_q_online = [3.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        let next_masks = [true, false, true, true, true, true];
        let input = TdInput {
            rewards: &rewards,
            terminated: &terminated,
            next_q_target: &next_q_target,
            next_q_online: None,
            next_masks: &next_masks,
        };
        assert_eq!(td_targets(input, 3, 0.5), vec![2.0, 7.0]);
        let double = TdInput {
            next_q_online: Some(&next_q_online),
            ..input
        };
        assert_eq!(td_targets(double, 3, 0.5), vec![1.5, 7.0]);
    }

    #[test]
    fn td_loss_gradient_on_the_output_bias_matches_the_huber_derivative() {
        // d loss / d b_out[a] = (1/B) * sum over rows that took action a of clamp(Q(s)[a] - y, -1, 1)
        // (smooth_l1's derivative; mean reduction). Targets chosen so rows fall on both sides of 1.
        let spec = MlpSpec {
            input: 3,
            hidden: vec![8, 8],
            output: 2,
            activation: Activation::Relu,
        };
        let params = init_mlp(
            &spec,
            InitScheme::TorchDefault,
            &mut ChaCha8Rng::seed_from_u64(7),
        );
        let obs = [
            0.1f32, -0.4, 0.7, 1.0, 0.2, -0.3, -0.5, 0.5, 0.0, 0.3, 0.3, 0.3,
        ];
        let actions = [0usize, 1, 1, 0];
        let q_all = plain::forward(&params, &obs);
        let offsets = [0.3f32, -2.0, 0.8, 5.0];
        let targets: Vec<f32> = (0..4)
            .map(|i| q_all[i * 2 + actions[i]] + offsets[i])
            .collect();
        let online = CandleMlp::from_params(&params, &Device::Cpu).unwrap();
        let (loss, _, grads) = td_loss_grads(&online, &obs, &actions, targets, 3).unwrap();
        // d = Q - y = -offset: 0.5*0.09 + (2-0.5) + 0.5*0.64 + (5-0.5) = 6.365, mean 1.59125.
        assert!((loss - 1.59125).abs() < 1e-4, "{loss}");
        let out_bias = grads.last().unwrap();
        let mut expected = [0.0f32; 2];
        for i in 0..4 {
            expected[actions[i]] += (-offsets[i]).clamp(-1.0, 1.0) / 4.0;
        }
        for a in 0..2 {
            assert!(
                (out_bias[a] - expected[a]).abs() < 1e-5,
                "{out_bias:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn huber_loss_matches_hand_values() {
        // d = 0.5 -> 0.125; d = -3 -> 2.5; mean 1.3125.
        let p = Tensor::from_slice(&[0.5f32, -3.0], 2, &Device::Cpu).unwrap();
        let t = Tensor::from_slice(&[0.0f32, 0.0], 2, &Device::Cpu).unwrap();
        assert!((huber_loss(&p, &t).unwrap().to_scalar::<f32>().unwrap() - 1.3125).abs() < 1e-6);
    }
}
