//! Proximal Policy Optimization (Schulman et al. 2017), one file that reads top to bottom as CleanRL's
//! `ppo.py`: the config, the agent's state and construction, the training loop (rollout, GAE, minibatch
//! epochs), then the loss pieces and checkpointing. Implementation details follow CleanRL and "The 37
//! Implementation Details of PPO" (Huang et al., ICLR blog track 2022); time-limit truncation is
//! bootstrapped from `info["final_obs"]` as SB3 does. Actor and critic are separate MLPs (SB3's default
//! `MlpPolicy` for PPO) updated by one Adam over both, with one joint gradient-norm clip. On the cluster
//! env's entity observations the agent uses one entity network instead ([`nets`]): same loop, same
//! losses, logits padded per minibatch to its largest entity count. With `warm_start` set, `learn`
//! first clones a teacher (the expert runbook) and then adds a fading imitation term to the loss
//! ([`warm_start`]).

pub mod nets;
pub mod warm_start;

use std::path::Path;

use candle_core::{D, DType, Device, Tensor};
use mend_envs::{AutoresetMode, Observation, Space, VectorEnv};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::agent::{Agent, EpisodeTracker, MetricSink, TrainSummary};
use crate::checkpoint::{self, AdamScalars, RngState};
use crate::distribution::{check_mask, log_softmax, masked_logits, sample};
use crate::error::{AgentError, PolicyFileError};
use crate::gae::{GaeInput, compute_gae};
use crate::nn::entity::{EntityParams, EntityPolicy, EntitySpec};
use crate::nn::entity_candle::EntityBatch;
use crate::nn::init::{InitScheme, init_mlp};
use crate::nn::{Activation, MlpParams, MlpSpec};
use crate::obs::{discrete_actions, final_entity_obs, final_obs, vector_obs_dim};
use crate::optim::{Adam, clip_grad_norm};
use crate::policy::{MlpPolicy, OutputKind, Policy, PolicyNet};
use crate::policy_file::{FeatureSchema, PolicyFile, TrainingInfo};
use crate::rollout_buffer::RolloutBuffer;
use nets::{CandleNets, MinibatchObs, Nets, as_entities};
pub use warm_start::{WarmStartConfig, WarmStartReport};

// ---------------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------------

/// PPO hyperparameters, with CleanRL's names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    /// Master seed: network init, action sampling, minibatch shuffles, env reset seeds.
    pub seed: u64,
    /// Planned training budget in env steps; the learning-rate and clip schedules run over it.
    pub total_timesteps: u64,
    /// Adam learning rate (initial value when annealed).
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to 0 over `total_timesteps`.
    pub anneal_lr: bool,
    /// Parallel envs the vector env must have.
    pub num_envs: usize,
    /// Steps per env per rollout.
    pub num_steps: usize,
    /// Discount factor.
    pub gamma: f64,
    /// GAE lambda.
    pub gae_lambda: f64,
    /// Minibatches per epoch (minibatch size = num_envs * num_steps / num_minibatches).
    pub num_minibatches: usize,
    /// Epochs over each rollout.
    pub update_epochs: usize,
    /// Normalise advantages per minibatch.
    pub norm_adv: bool,
    /// Surrogate clipping coefficient (initial value when annealed).
    pub clip_coef: f64,
    /// Anneal the clip coefficient linearly to 0, as rl-baselines3-zoo's `lin_0.2`.
    pub anneal_clip: bool,
    /// Clip the value loss around the old values with `clip_coef` (CleanRL default true; SB3 default false).
    pub clip_vloss: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value loss coefficient (the value loss is CleanRL's `0.5 * mean((V - R)^2)`).
    pub vf_coef: f64,
    /// Maximum global gradient norm.
    pub max_grad_norm: f64,
    /// Stop the epochs of an update early once the approximate KL exceeds this.
    pub target_kl: Option<f64>,
    /// Hidden layer widths of actor and critic; an entity network uses `hidden[0]` as the width of its
    /// embedding and of every hidden layer.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Adam epsilon (CleanRL and SB3 PPO: 1e-5).
    pub adam_eps: f64,
    /// Factor applied to every reward before GAE and the value targets (logged returns stay in the
    /// env's units). PPO's value loss and Adam's step size assume returns of order 1 (Andrychowicz et
    /// al. 2021, "What Matters in On-Policy RL", §3.3: scale or normalise rewards; SB3's
    /// `VecNormalize(norm_reward=True)` does it with a running statistic); the cluster env pays about
    /// -1 per 30 s step, so undiscounted-at-0.99 returns near -100 would otherwise swamp the policy's
    /// gradient in the shared entity encoder. Default 1 (no scaling).
    #[serde(default = "one")]
    pub reward_scale: f64,
    /// Entity network only: the probability a fresh policy gives to acting at all (any entity, any
    /// kind), set through the no-op head's output bias `ln((1 - p) / p)` at initialisation (the
    /// network's log prior already makes no-op and "act" equally likely at equal scores). `None` keeps
    /// 0.5. Every random remedial action on a healthy entity costs money and often availability, so
    /// exploring at 0.5 (about 360 actions in a 720-step `default` episode, where the runbook takes
    /// about 160) makes acting look bad before the rare useful action has been found. (The idea of
    /// initialising an output bias to a prior: Lin et al., "Focal Loss", ICCV 2017, §3.3.)
    #[serde(default)]
    pub init_act_prob: Option<f64>,
    /// Entity network only: behaviour cloning of a teacher (the expert runbook) before PPO, and a
    /// fading auxiliary imitation loss during PPO ([`warm_start`]). `None` (the default): PPO from
    /// the seeded initial weights, as before (and omitted when serialised, so configs, policy files
    /// and results of runs without a warm start keep their bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<WarmStartConfig>,
}

fn one() -> f64 {
    1.0
}

impl Default for PpoConfig {
    /// CleanRL's `ppo.py` defaults.
    fn default() -> Self {
        Self {
            seed: 1,
            total_timesteps: 500_000,
            learning_rate: 2.5e-4,
            anneal_lr: true,
            num_envs: 4,
            num_steps: 128,
            gamma: 0.99,
            gae_lambda: 0.95,
            num_minibatches: 4,
            update_epochs: 4,
            norm_adv: true,
            clip_coef: 0.2,
            anneal_clip: false,
            clip_vloss: true,
            ent_coef: 0.01,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            hidden: vec![64, 64],
            activation: Activation::Tanh,
            adam_eps: 1e-5,
            reward_scale: 1.0,
            init_act_prob: None,
            warm_start: None,
        }
    }
}

impl PpoConfig {
    /// rl-baselines3-zoo's `hyperparams/ppo.yml` for CartPole-v1: 8 envs, n_steps 32, batch 256,
    /// gae_lambda 0.8, gamma 0.98, 20 epochs, lr and clip `lin_1e-3` / `lin_0.2`, ent_coef 0, 1e5 steps;
    /// other values SB3's defaults (no value clipping, vf_coef 0.5 on a plain MSE, which is CleanRL's
    /// `0.5 * MSE` with vf_coef 1.0).
    pub fn cartpole_zoo(seed: u64) -> Self {
        Self {
            seed,
            total_timesteps: 100_000,
            learning_rate: 1e-3,
            anneal_lr: true,
            num_envs: 8,
            num_steps: 32,
            gamma: 0.98,
            gae_lambda: 0.8,
            num_minibatches: 1,
            update_epochs: 20,
            norm_adv: true,
            clip_coef: 0.2,
            anneal_clip: true,
            clip_vloss: false,
            ent_coef: 0.0,
            vf_coef: 1.0,
            max_grad_norm: 0.5,
            target_kl: None,
            hidden: vec![64, 64],
            activation: Activation::Tanh,
            adam_eps: 1e-5,
            reward_scale: 1.0,
            init_act_prob: None,
            warm_start: None,
        }
    }

    /// Settings for the cluster env (`mend/Cluster-v0`) with the entity network. Provisional: chosen
    /// from CleanRL's defaults and a few measured runs on `default` (see the issue-4 closing note),
    /// not from a sweep.
    /// - `gamma` 0.99 with a 30 s decision interval: an effective horizon of 1 / (1 - 0.99) = 100
    ///   decisions, about 50 minutes, longer than the lognormal repair times of most faults, so acting
    ///   on a fault pays back within the horizon.
    /// - 8 envs x 128 steps = 1,024 transitions per update (`tiny` episodes are 120 steps, `default`
    ///   720), 4 minibatches of 256, 4 epochs; learning rate 3e-4 annealed.
    /// - One hidden width of 64 for the entity network (encoder, scorer and heads).
    /// - `init_act_prob` 0.1: a fresh policy acts on about 72 steps of a 720-step episode, the
    ///   runbook's order (about 160), rather than 360 (see [`PpoConfig::init_act_prob`]).
    /// - `ent_coef` 0.001: over 613 actions the entropy bonus's gradient steadily pushes mass from the
    ///   no-op to the acts (the entropy of a uniform spread is ln 612 = 6.4 nats).
    /// - `reward_scale` 0.01: a no-op step pays about -1, so discounted returns at gamma 0.99 are
    ///   near -100 unscaled; scaled they are near -1, the order PPO's value loss and Adam's step size
    ///   assume (see [`PpoConfig::reward_scale`]). Unscaled, the value head (whose bias Adam moves by
    ///   about `learning_rate` per step) stayed far from the returns for the whole budget and its loss
    ///   dominated the gradient of the encoder the policy shares.
    pub fn cluster_default(seed: u64) -> Self {
        Self {
            seed,
            total_timesteps: 200_000,
            learning_rate: 3e-4,
            anneal_lr: true,
            num_envs: 8,
            num_steps: 128,
            gamma: 0.99,
            gae_lambda: 0.95,
            num_minibatches: 4,
            update_epochs: 4,
            norm_adv: true,
            clip_coef: 0.2,
            anneal_clip: false,
            clip_vloss: true,
            ent_coef: 0.001,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            hidden: vec![64],
            activation: Activation::Tanh,
            adam_eps: 1e-5,
            reward_scale: 0.01,
            init_act_prob: Some(0.1),
            warm_start: None,
        }
    }

    /// Transitions per rollout.
    pub fn batch_size(&self) -> usize {
        self.num_envs * self.num_steps
    }

    fn validate(&self) -> Result<(), AgentError> {
        use crate::config_check as check;
        check::at_least_one("num_envs", self.num_envs as u64)?;
        check::at_least_one("num_steps", self.num_steps as u64)?;
        if self.num_minibatches == 0 || !self.batch_size().is_multiple_of(self.num_minibatches) {
            return Err(check::invalid(
                "num_minibatches",
                "must divide num_envs * num_steps",
                self.num_minibatches.to_string(),
            ));
        }
        check::unit_interval("gamma", self.gamma)?;
        check::unit_interval("gae_lambda", self.gae_lambda)?;
        check::positive_finite("learning_rate", self.learning_rate)?;
        check::positive_finite("clip_coef", self.clip_coef)?;
        check::positive("max_grad_norm", self.max_grad_norm)?;
        check::positive_finite("reward_scale", self.reward_scale)?;
        if let Some(p) = self.init_act_prob {
            check::open_unit_interval("init_act_prob", p)?;
        }
        if let Some(ws) = &self.warm_start {
            ws.validate()?;
        }
        check::positive_widths("hidden", &self.hidden)
    }
}

// ---------------------------------------------------------------------------------------------------
// Agent state and construction
// ---------------------------------------------------------------------------------------------------

/// A PPO agent over vector observations (MLPs) or entity observations (an entity network) and
/// discrete actions.
#[derive(Debug)]
pub struct Ppo {
    config: PpoConfig,
    /// Vector: the observation length; entity: row width + global width (a checkpoint key).
    obs_dim: usize,
    n_actions: usize,
    nets: Nets,
    adam: Adam,
    rng: ChaCha8Rng,
    num_timesteps: u64,
    iteration: u64,
    gradient_steps: u64,
    /// Whether [`Ppo::warm_start`] has run (a checkpoint key, so a resumed run does not redo it).
    warm_started: bool,
}

impl Ppo {
    /// A fresh agent for envs with `obs_dim` features and `n_actions` actions; weights drawn from the
    /// config's seed (orthogonal init, gains sqrt(2) / 0.01 actor / 1.0 critic, as CleanRL and SB3).
    pub fn new(config: PpoConfig, obs_dim: usize, n_actions: usize) -> Result<Self, AgentError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let spec = |output| MlpSpec {
            input: obs_dim,
            hidden: config.hidden.clone(),
            output,
            activation: config.activation,
        };
        let root2 = std::f64::consts::SQRT_2;
        let actor = init_mlp(
            &spec(n_actions),
            InitScheme::Orthogonal {
                hidden_gain: root2,
                output_gain: 0.01,
            },
            &mut rng,
        );
        let critic = init_mlp(
            &spec(1),
            InitScheme::Orthogonal {
                hidden_gain: root2,
                output_gain: 1.0,
            },
            &mut rng,
        );
        Ok(Self::with_nets(
            config,
            obs_dim,
            n_actions,
            Nets::Mlp { actor, critic },
            rng,
        ))
    }

    /// A fresh entity-network agent for envs whose observations have `row_width` features per entity
    /// and `global_width` global features, `n_kinds` action kinds per entity and `n_actions` flat
    /// actions; the network's width is `config.hidden[0]`, its activation `config.activation`.
    pub fn new_entity(
        config: PpoConfig,
        row_width: usize,
        global_width: usize,
        n_kinds: usize,
        n_actions: usize,
    ) -> Result<Self, AgentError> {
        config.validate()?;
        let spec = EntitySpec::for_agent(
            &config.hidden,
            config.activation,
            row_width,
            global_width,
            n_kinds,
            n_actions,
        )?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut params = EntityParams::init(spec, &mut rng);
        if let Some(p) = config.init_act_prob
            && let Some(out) = params.noop.layers.last_mut()
        {
            // softmax([b, ln(1 - p) ... ]) with the acts' mass 1/2 at b = 0: P(no-op) = 1 - p when
            // b = ln((1 - p) / p).
            out.bias[0] = ((1.0 - p) / p).ln() as f32;
        }
        Ok(Self::with_nets(
            config,
            row_width + global_width,
            n_actions,
            Nets::Entity(params),
            rng,
        ))
    }

    fn with_nets(
        config: PpoConfig,
        obs_dim: usize,
        n_actions: usize,
        nets: Nets,
        rng: ChaCha8Rng,
    ) -> Self {
        let lengths: Vec<usize> = nets.tensors().iter().map(|t| t.len()).collect();
        let adam = Adam::new(&lengths, config.adam_eps);
        Self {
            config,
            obs_dim,
            n_actions,
            nets,
            adam,
            rng,
            num_timesteps: 0,
            iteration: 0,
            gradient_steps: 0,
            warm_started: false,
        }
    }

    /// A fresh agent sized from `env`'s spaces: MLPs for Box observations, an entity network for
    /// EntitySet observations (the cluster env, whose actions are `1 + entities * kinds`, the kinds
    /// being `mend_envs::cluster::N_KINDS`); Discrete actions.
    pub fn for_env(config: PpoConfig, env: &dyn VectorEnv) -> Result<Self, AgentError> {
        let n_actions = discrete_actions(&env.single_action_space())?;
        match env.single_observation_space() {
            Space::EntitySet(s) => Self::new_entity(
                config,
                s.width(),
                s.global.dim(),
                mend_envs::cluster::N_KINDS,
                n_actions,
            ),
            space => Self::new(config, vector_obs_dim(&space)?, n_actions),
        }
    }

    /// Whether the behaviour-cloning warm start has run (in this agent or the checkpoint it resumed).
    pub fn warm_started(&self) -> bool {
        self.warm_started
    }

    /// The configuration.
    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    /// The actor as an inference policy, for an MLP agent (`None` for an entity-network agent; see
    /// [`Ppo::policy_net`]).
    pub fn mlp_policy(&self) -> Option<MlpPolicy> {
        match &self.nets {
            Nets::Mlp { actor, .. } => Some(MlpPolicy {
                algorithm: "ppo".into(),
                output: OutputKind::Logits,
                net: actor.clone(),
                exploration_eps: 0.0,
                normalisation: None,
            }),
            Nets::Entity(_) => None,
        }
    }

    /// The trained policy, whichever network the agent has.
    pub fn policy_net(&self) -> PolicyNet {
        match &self.nets {
            Nets::Mlp { actor, .. } => PolicyNet::from(MlpPolicy {
                algorithm: "ppo".into(),
                output: OutputKind::Logits,
                net: actor.clone(),
                exploration_eps: 0.0,
                normalisation: None,
            }),
            Nets::Entity(params) => PolicyNet::from(EntityPolicy {
                algorithm: "ppo".into(),
                output: OutputKind::Logits,
                params: params.clone(),
                exploration_eps: 0.0,
                n_actions: self.n_actions,
            }),
        }
    }

    /// The policy file of the trained policy (the caller knows the features, the action kinds and the
    /// training provenance).
    pub fn export(
        &self,
        feature_schema: FeatureSchema,
        action_kinds: Vec<String>,
        training: TrainingInfo,
    ) -> PolicyFile {
        PolicyFile::new(self.policy_net(), feature_schema, action_kinds, training)
    }

    /// The critic's parameters (`None` for an entity-network agent, whose value head is part of the
    /// entity network).
    pub fn critic(&self) -> Option<&MlpParams> {
        match &self.nets {
            Nets::Mlp { critic, .. } => Some(critic),
            Nets::Entity(_) => None,
        }
    }

    /// The trainable networks.
    pub fn nets(&self) -> &Nets {
        &self.nets
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
        let obs_dim = match env.single_observation_space() {
            Space::EntitySet(s) if matches!(self.nets, Nets::Entity(_)) => {
                s.width() + s.global.dim()
            }
            space => vector_obs_dim(&space)?,
        };
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

/// Means over the minibatches of one update.
#[derive(Clone, Copy, Debug, Default)]
struct UpdateStats {
    policy_loss: f64,
    value_loss: f64,
    entropy: f64,
    old_approx_kl: f64,
    approx_kl: f64,
    clipfrac: f64,
    /// Auxiliary imitation cross-entropy (0 when the term is off).
    bc_loss: f64,
    minibatches: usize,
}

/// The schedule values and optional imitation term of one minibatch step.
#[derive(Clone, Copy, Debug)]
struct StepParams<'a> {
    /// Clip coefficient now.
    clip: f64,
    /// Learning rate now.
    lr: f64,
    /// The kickstarting term, while it lasts.
    bc: Option<BcTerm<'a>>,
}

/// The auxiliary imitation term of one minibatch step (kickstarting).
#[derive(Clone, Copy, Debug)]
struct BcTerm<'a> {
    /// The teacher's action on every rollout transition (buffer order).
    teacher_actions: &'a [usize],
    /// Its coefficient now.
    coef: f64,
    /// Weight of acting targets.
    act_weight: f64,
}

impl Agent for Ppo {
    fn learn(
        &mut self,
        env: &mut dyn VectorEnv,
        total_timesteps: u64,
        sink: &mut dyn MetricSink,
    ) -> Result<TrainSummary, AgentError> {
        self.check_env(env)?;
        if self.config.warm_start.is_some() && !self.warm_started && self.num_timesteps == 0 {
            self.warm_start(env, sink)?;
        }
        let cfg = self.config.clone();
        let (n, dim) = (cfg.num_envs, self.obs_dim);
        let num_iterations = (cfg.total_timesteps / cfg.batch_size() as u64).max(1);
        let mut tracker = EpisodeTracker::new(n);
        let mut buf = RolloutBuffer::new(cfg.num_steps, n, dim, self.n_actions);

        let (mut next_obs, reset_infos) =
            env.reset(Some(cfg.seed.wrapping_add(self.num_timesteps)))?;
        // Kickstarting's teachers label PPO's own rollout states while the imitation term lasts.
        let mut teachers = match &cfg.warm_start {
            Some(ws) if ws.bc_coef_at(self.num_timesteps) > 0.0 => {
                Some(warm_start::teachers_for(ws, &reset_infos, n)?)
            }
            _ => None,
        };
        let mut teacher_actions: Vec<usize> = Vec::new();
        let entity = matches!(self.nets, Nets::Entity(_));
        let mut scratch = Vec::with_capacity(n * dim);

        while self.num_timesteps < total_timesteps {
            self.iteration += 1;
            // Annealing (CleanRL: frac = 1 - (iteration - 1) / num_iterations).
            let frac = (1.0 - (self.iteration - 1) as f64 / num_iterations as f64).max(0.0);
            let lr = if cfg.anneal_lr {
                cfg.learning_rate * frac
            } else {
                cfg.learning_rate
            };
            let clip = if cfg.anneal_clip {
                cfg.clip_coef * frac
            } else {
                cfg.clip_coef
            };

            let bc_coef = cfg
                .warm_start
                .as_ref()
                .map_or(0.0, |ws| ws.bc_coef_at(self.num_timesteps));
            if bc_coef == 0.0 {
                teachers = None;
            }

            // --- Rollout: act with the plain-matrix forward on all envs at once ----------------------
            buf.clear();
            teacher_actions.clear();
            for _ in 0..cfg.num_steps {
                let masks = env.action_masks();
                let (logits, values) = self.nets.act_forward(&next_obs, &mut scratch)?;
                if logits.len() != n * self.n_actions {
                    return Err(AgentError::ObservationMismatch {
                        expected: format!("observations giving {} actions each", self.n_actions),
                        got: format!("{} scores for {n} envs", logits.len()),
                    });
                }
                let mut actions = Vec::with_capacity(n);
                for (e, mask) in masks.iter().enumerate() {
                    let mask = mask.as_deref();
                    check_mask(mask, self.n_actions)?;
                    let lp = log_softmax(&masked_logits(
                        &logits[e * self.n_actions..(e + 1) * self.n_actions],
                        mask,
                    ));
                    let a = sample(&lp, &mut self.rng);
                    actions.push(a);
                    if let Some(teachers) = teachers.as_mut() {
                        teacher_actions.push(teachers[e].decide(&next_obs[e], mask)?);
                    }
                    buf.logprobs.push(lp[a]);
                    match mask {
                        Some(m) => {
                            buf.any_masked |= m.iter().any(|&v| !v);
                            buf.masks.extend_from_slice(m);
                        }
                        None => buf.masks.extend(std::iter::repeat_n(true, self.n_actions)),
                    }
                }
                if entity {
                    for o in &next_obs {
                        buf.entity_obs.push(as_entities(o)?.clone());
                    }
                } else {
                    buf.obs.extend_from_slice(&scratch);
                }
                buf.values.extend_from_slice(&values);
                buf.actions.extend_from_slice(&actions);

                let step = env.step(&actions)?;
                self.num_timesteps += n as u64;
                let done: Vec<bool> = step
                    .terminated
                    .iter()
                    .zip(&step.truncated)
                    .map(|(a, b)| *a || *b)
                    .collect();
                tracker.step(&step.rewards, &done, self.num_timesteps, sink);
                if let Some(teachers) = teachers.as_mut() {
                    for (teacher, _) in teachers.iter_mut().zip(&done).filter(|(_, d)| **d) {
                        teacher.reset();
                    }
                }
                // Truncated (not terminated) envs: bootstrap from V(final_obs), read from info.
                let mut finals = vec![0.0f32; n];
                for (e, value) in finals.iter_mut().enumerate() {
                    if step.truncated[e] && !step.terminated[e] {
                        let fo = if entity {
                            Observation::Entities(final_entity_obs(&step.infos[e], e)?)
                        } else {
                            Observation::Vector(final_obs(&step.infos[e], e, dim)?)
                        };
                        *value = self.nets.value(&fo)?;
                    }
                }
                buf.rewards
                    .extend(step.rewards.iter().map(|&r| (r * cfg.reward_scale) as f32));
                buf.terminated.extend_from_slice(&step.terminated);
                buf.truncated.extend_from_slice(&step.truncated);
                buf.final_values.extend_from_slice(&finals);
                next_obs = step.obs;
            }

            // --- Advantages ------------------------------------------------------------------------
            let last_values = next_obs
                .iter()
                .map(|o| self.nets.value(o))
                .collect::<Result<Vec<f32>, _>>()?;
            let (advantages, returns) = compute_gae(
                GaeInput {
                    rewards: &buf.rewards,
                    values: &buf.values,
                    terminated: &buf.terminated,
                    truncated: &buf.truncated,
                    final_values: &buf.final_values,
                    last_values: &last_values,
                },
                n,
                cfg.gamma as f32,
                cfg.gae_lambda as f32,
            );

            // --- Update: epochs of shuffled minibatches ---------------------------------------------
            let batch = cfg.batch_size();
            let minibatch = batch / cfg.num_minibatches;
            let mut indices: Vec<usize> = (0..batch).collect();
            let mut stats = UpdateStats::default();
            'epochs: for _ in 0..cfg.update_epochs {
                indices.shuffle(&mut self.rng);
                let mut epoch_kl = 0.0;
                for mb in indices.chunks(minibatch) {
                    let bc = teachers.as_ref().map(|_| BcTerm {
                        teacher_actions: &teacher_actions,
                        coef: bc_coef,
                        act_weight: cfg.warm_start.as_ref().map_or(1.0, |w| w.act_weight),
                    });
                    let s = self.minibatch_step(
                        &buf,
                        &advantages,
                        &returns,
                        mb,
                        StepParams { clip, lr, bc },
                    )?;
                    epoch_kl = s.approx_kl;
                    stats.policy_loss += s.policy_loss;
                    stats.value_loss += s.value_loss;
                    stats.entropy += s.entropy;
                    stats.old_approx_kl += s.old_approx_kl;
                    stats.approx_kl += s.approx_kl;
                    stats.clipfrac += s.clipfrac;
                    stats.bc_loss += s.bc_loss;
                    stats.minibatches += 1;
                }
                if cfg.target_kl.is_some_and(|t| epoch_kl > t) {
                    break 'epochs;
                }
            }

            // --- Logging (CleanRL names) --------------------------------------------------------------
            let k = stats.minibatches.max(1) as f64;
            let step = self.num_timesteps;
            sink.record(step, "charts/global_step", step as f64);
            sink.record(step, "charts/learning_rate", lr);
            sink.record(step, "charts/clip_coef", clip);
            sink.record(step, "losses/policy_loss", stats.policy_loss / k);
            sink.record(step, "losses/value_loss", stats.value_loss / k);
            sink.record(step, "losses/entropy", stats.entropy / k);
            sink.record(step, "losses/old_approx_kl", stats.old_approx_kl / k);
            sink.record(step, "losses/approx_kl", stats.approx_kl / k);
            sink.record(step, "losses/clipfrac", stats.clipfrac / k);
            if cfg.warm_start.is_some() {
                sink.record(step, "charts/bc_coef", bc_coef);
                sink.record(step, "losses/bc_loss", stats.bc_loss / k);
            }
            sink.record(
                step,
                "losses/explained_variance",
                explained_variance(&buf.values, &returns),
            );
            if !(stats.policy_loss.is_finite() && stats.value_loss.is_finite()) {
                return Err(AgentError::NonFinite {
                    what: "loss",
                    update: self.iteration,
                });
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
        match self.policy_net() {
            PolicyNet::Mlp(p) => Box::new(p),
            PolicyNet::Entity(p) => p,
        }
    }

    fn save_checkpoint(&self, path: &Path) -> Result<(), AgentError> {
        let mut tensors = self.nets.to_tensors();
        let adam = checkpoint::adam_to_tensors(&self.adam, "adam.", &mut tensors);
        let state = PpoCheckpoint {
            algorithm: "ppo".into(),
            config: self.config.clone(),
            obs_dim: self.obs_dim,
            n_actions: self.n_actions,
            num_timesteps: self.num_timesteps,
            iteration: self.iteration,
            gradient_steps: self.gradient_steps,
            warm_started: self.warm_started,
            rng: RngState::capture(&self.rng),
            adam,
        };
        checkpoint::write_checkpoint(path, &tensors, &state)?;
        Ok(())
    }

    fn load_checkpoint(&mut self, path: &Path) -> Result<(), AgentError> {
        let (state, tensors): (PpoCheckpoint, _) = checkpoint::read_checkpoint(path)?;
        if state.config != self.config
            || (state.obs_dim, state.n_actions) != (self.obs_dim, self.n_actions)
        {
            return Err(PolicyFileError::Manifest {
                path: path.to_path_buf(),
                detail: "field `config`: the checkpoint was written by an agent with another configuration".into(),
            }
            .into());
        }
        let nets = self.nets.from_tensors(path, &tensors)?;
        checkpoint::adam_from_tensors(path, &mut self.adam, state.adam, "adam.", &tensors)?;
        self.nets = nets;
        self.rng = state.rng.restore(path)?;
        self.num_timesteps = state.num_timesteps;
        self.iteration = state.iteration;
        self.gradient_steps = state.gradient_steps;
        self.warm_started = state.warm_started;
        Ok(())
    }
}

/// What a PPO checkpoint stores besides tensors.
#[derive(Serialize, Deserialize)]
struct PpoCheckpoint {
    algorithm: String,
    config: PpoConfig,
    obs_dim: usize,
    n_actions: usize,
    num_timesteps: u64,
    iteration: u64,
    gradient_steps: u64,
    /// Absent in checkpoints written before warm starts existed (none ran then).
    #[serde(default)]
    warm_started: bool,
    rng: RngState,
    adam: AdamScalars,
}

// ---------------------------------------------------------------------------------------------------
// One minibatch gradient step
// ---------------------------------------------------------------------------------------------------

/// Large negative logit for masked actions in the differentiable path: `exp` of it is exactly 0, and
/// unlike `-inf` it keeps `p * log p` at 0 rather than NaN (Huang & Ontañón 2022 use -1e8 likewise).
const MASKED_LOGIT: f32 = crate::nn::entity_candle::PAD_LOGIT;

impl Ppo {
    fn minibatch_step(
        &mut self,
        buf: &RolloutBuffer,
        advantages: &[f32],
        returns: &[f32],
        idx: &[usize],
        step: StepParams<'_>,
    ) -> Result<UpdateStats, AgentError> {
        let StepParams { clip, lr, bc } = step;
        let dev = Device::Cpu;
        let (b, dim, na) = (idx.len(), self.obs_dim, self.n_actions);
        let obs = match &self.nets {
            Nets::Mlp { .. } => {
                let mut x = Vec::with_capacity(b * dim);
                for &i in idx {
                    x.extend_from_slice(&buf.obs[i * dim..(i + 1) * dim]);
                }
                MinibatchObs::Vector(x, dim)
            }
            Nets::Entity(p) => {
                let mut batch = EntityBatch::new(p.spec.row_width, p.spec.global_width);
                for &i in idx {
                    batch.push(&buf.entity_obs[i]);
                }
                MinibatchObs::Entities(batch)
            }
        };
        let mut mask_bias = Vec::with_capacity(if buf.any_masked { b * na } else { 0 });
        for &i in idx {
            if buf.any_masked {
                mask_bias.extend(
                    buf.masks[i * na..(i + 1) * na]
                        .iter()
                        .map(|&ok| if ok { 0.0 } else { MASKED_LOGIT }),
                );
            }
        }
        let mut adv: Vec<f32> = idx.iter().map(|&i| advantages[i]).collect();
        if self.config.norm_adv {
            normalise(&mut adv);
        }
        let gather = |src: &[f32]| idx.iter().map(|&i| src[i]).collect::<Vec<f32>>();
        let actions: Vec<u32> = idx.iter().map(|&i| buf.actions[i] as u32).collect();

        let nets = CandleNets::new(&self.nets, &dev)?;
        let (mut logits, new_values) = nets.forward(&obs)?;
        if logits.dim(1)? != na {
            return Err(AgentError::ObservationMismatch {
                expected: format!("observations giving {na} actions"),
                got: format!("a minibatch giving {} actions", logits.dim(1)?),
            });
        }
        if buf.any_masked {
            logits = logits.add(&Tensor::from_vec(mask_bias, (b, na), &dev)?)?;
        }
        let logp_all = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        let new_logp = logp_all
            .gather(&Tensor::from_vec(actions, (b, 1), &dev)?, 1)?
            .squeeze(1)?;
        let old_logp = Tensor::from_vec(gather(&buf.logprobs), b, &dev)?;
        let adv_t = Tensor::from_vec(adv, b, &dev)?;
        let (pg_loss, logratio) = loss::clipped_policy_loss(&new_logp, &old_logp, &adv_t, clip)?;
        let entropy = loss::entropy(&logp_all)?;
        let old_values = Tensor::from_vec(gather(&buf.values), b, &dev)?;
        let returns_t = Tensor::from_vec(gather(returns), b, &dev)?;
        let v_loss = loss::value_loss(
            &new_values,
            &old_values,
            &returns_t,
            self.config.clip_vloss.then_some(clip),
        )?;
        let mut total =
            ((&pg_loss - (&entropy * self.config.ent_coef)?)? + (&v_loss * self.config.vf_coef)?)?;
        let mut bc_loss = 0.0;
        if let Some(bc) = bc {
            let targets: Vec<usize> = idx.iter().map(|&i| bc.teacher_actions[i]).collect();
            let ce = warm_start::weighted_cross_entropy(&logp_all, &targets, bc.act_weight)?;
            bc_loss = f64::from(ce.to_scalar::<f32>()?);
            total = (total + (ce * bc.coef)?)?;
        }

        let grads = total.backward()?;
        let mut flat = nets.flat_grads(&grads)?;
        clip_grad_norm(&mut flat, self.config.max_grad_norm);
        self.adam.step(self.nets.tensors_mut(), &flat, lr);
        self.gradient_steps += 1;

        let (old_approx_kl, approx_kl, clipfrac) =
            loss::kl_and_clipfrac(&logratio.to_vec1::<f32>()?, clip);
        Ok(UpdateStats {
            policy_loss: f64::from(pg_loss.to_dtype(DType::F32)?.to_scalar::<f32>()?),
            value_loss: f64::from(v_loss.to_scalar::<f32>()?),
            entropy: f64::from(entropy.to_scalar::<f32>()?),
            old_approx_kl,
            approx_kl,
            clipfrac,
            bc_loss,
            minibatches: 1,
        })
    }
}

/// `(x - mean) / (std + 1e-8)` with the unbiased standard deviation (`torch.Tensor.std`), as CleanRL.
fn normalise(x: &mut [f32]) {
    let n = x.len();
    if n < 2 {
        return;
    }
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / (n - 1) as f64;
    let denom = var.sqrt() + 1e-8;
    x.iter_mut()
        .for_each(|v| *v = ((f64::from(*v) - mean) / denom) as f32);
}

/// `1 - Var(returns - values) / Var(returns)` (CleanRL; NaN when returns are constant).
pub fn explained_variance(values: &[f32], returns: &[f32]) -> f64 {
    let var = |x: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = x.collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64
    };
    let var_y = var(&mut returns.iter().map(|&r| f64::from(r)));
    if var_y == 0.0 {
        return f64::NAN;
    }
    1.0 - var(&mut returns
        .iter()
        .zip(values)
        .map(|(&r, &v)| f64::from(r) - f64::from(v)))
        / var_y
}

// ---------------------------------------------------------------------------------------------------
// Loss pieces (CleanRL ppo.py, lines "Policy loss", "Value loss", "approx_kl")
// ---------------------------------------------------------------------------------------------------

/// The PPO loss terms, on candle tensors so they can be differentiated.
pub mod loss {
    use candle_core::{D, Tensor};

    /// Clipped surrogate: `mean(max(-A * r, -A * clip(r, 1 - c, 1 + c)))` with `r = exp(new - old)`.
    /// Returns the loss and the log-ratio (for the KL and clip-fraction diagnostics).
    pub fn clipped_policy_loss(
        new_logp: &Tensor,
        old_logp: &Tensor,
        advantages: &Tensor,
        clip: f64,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let logratio = (new_logp - old_logp)?;
        let ratio = logratio.exp()?;
        let pg1 = (advantages.neg()? * &ratio)?;
        let pg2 = (advantages.neg()? * ratio.clamp(1.0 - clip, 1.0 + clip)?)?;
        Ok((pg1.maximum(&pg2)?.mean_all()?, logratio))
    }

    /// `0.5 * mean((V - R)^2)`, or with `clip = Some(c)` CleanRL's clipped form
    /// `0.5 * mean(max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2))`.
    pub fn value_loss(
        new_values: &Tensor,
        old_values: &Tensor,
        returns: &Tensor,
        clip: Option<f64>,
    ) -> candle_core::Result<Tensor> {
        let unclipped = (new_values - returns)?.sqr()?;
        let per_sample = match clip {
            None => unclipped,
            Some(c) => {
                let clipped = (old_values + (new_values - old_values)?.clamp(-c, c)?)?;
                unclipped.maximum(&(clipped - returns)?.sqr()?)?
            }
        };
        per_sample.mean_all()? * 0.5
    }

    /// Mean entropy `-sum(p log p)` of the rows of `log_probs` (masked entries must have `p = 0`
    /// and a finite log-probability).
    pub fn entropy(log_probs: &Tensor) -> candle_core::Result<Tensor> {
        (log_probs.exp()? * log_probs)?
            .sum(D::Minus1)?
            .neg()?
            .mean_all()
    }

    /// `(old_approx_kl, approx_kl, clipfrac)` from the log-ratios: `mean(-logr)`, `mean((r - 1) - logr)`
    /// (Schulman's "Approximating KL divergence" k3 estimator) and the share with `|r - 1| > clip`.
    pub fn kl_and_clipfrac(logratio: &[f32], clip: f64) -> (f64, f64, f64) {
        let n = logratio.len().max(1) as f64;
        let mut old = 0.0;
        let mut kl = 0.0;
        let mut clipped = 0.0;
        for &lr in logratio {
            let lr = f64::from(lr);
            let r = lr.exp();
            old += -lr;
            kl += (r - 1.0) - lr;
            if (r - 1.0).abs() > clip {
                clipped += 1.0;
            }
        }
        (old / n, kl / n, clipped / n)
    }
}

#[cfg(test)]
mod tests {
    use super::loss::*;
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v, v.len(), &Device::Cpu).unwrap()
    }
    fn scalar(x: &Tensor) -> f32 {
        x.to_scalar::<f32>().unwrap()
    }

    #[test]
    fn clipped_policy_loss_matches_hand_values() {
        // ratios e^{ln 1.5} = 1.5 (A = +1) and e^{ln 0.5} = 0.5 (A = -2) with clip 0.2:
        // sample 1: max(-1.5, -1.2) = -1.2; sample 2: max(1.0, 1.6) = 1.6; mean = 0.2.
        let new = t(&[1.5f32.ln(), 0.5f32.ln()]);
        let old = t(&[0.0, 0.0]);
        let (loss, logratio) = clipped_policy_loss(&new, &old, &t(&[1.0, -2.0]), 0.2).unwrap();
        assert!((scalar(&loss) - 0.2).abs() < 1e-6);
        let (_, _, clipfrac) = kl_and_clipfrac(&logratio.to_vec1::<f32>().unwrap(), 0.2);
        assert_eq!(clipfrac, 1.0);
    }

    #[test]
    fn value_loss_matches_hand_values_with_and_without_clipping() {
        // V = [2, 0], R = [0, 0], V_old = [1, 0]: unclipped 0.5 * mean(4, 0) = 1.
        // clip 0.5: V_clipped = [1.5, 0] -> (1.5)^2 = 2.25 < 4, so max keeps 4: still 1.
        // V = [0.6, 0], V_old = [2, 0], R = [1, 0], clip .5: unclipped (0.6 - 1)^2 = .16; clipped
        // V = 2 + clip(-1.4, -.5, .5) = 1.5 -> (0.5)^2 = .25 > .16; loss 0.5 * mean(.25, 0) = .0625.
        let l = value_loss(&t(&[2.0, 0.0]), &t(&[1.0, 0.0]), &t(&[0.0, 0.0]), None).unwrap();
        assert!((scalar(&l) - 1.0).abs() < 1e-6);
        let l = value_loss(&t(&[2.0, 0.0]), &t(&[1.0, 0.0]), &t(&[0.0, 0.0]), Some(0.5)).unwrap();
        assert!((scalar(&l) - 1.0).abs() < 1e-6);
        let l = value_loss(&t(&[0.6, 0.0]), &t(&[2.0, 0.0]), &t(&[1.0, 0.0]), Some(0.5)).unwrap();
        assert!((scalar(&l) - 0.0625).abs() < 1e-6);
    }

    #[test]
    fn entropy_matches_hand_values_and_ignores_masked_actions() {
        // Uniform over 2 valid actions (third masked with a -1e8 logit): entropy ln 2.
        let logits =
            Tensor::from_slice(&[0.0f32, 0.0, MASKED_LOGIT], (1, 3), &Device::Cpu).unwrap();
        let lp = candle_nn::ops::log_softmax(&logits, D::Minus1).unwrap();
        assert!((scalar(&entropy(&lp).unwrap()) - 2f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn approx_kl_matches_hand_values() {
        // logr = ln 2: (2 - 1) - ln 2 = 0.30685; logr = 0: 0. Mean 0.153426. old_approx_kl = -ln2/2.
        let (old, kl, frac) = kl_and_clipfrac(&[2f32.ln(), 0.0], 0.2);
        assert!((kl - 0.153_426).abs() < 1e-5);
        assert!((old + 2f64.ln() / 2.0).abs() < 1e-6);
        assert_eq!(frac, 0.5);
    }

    #[test]
    fn normalise_gives_zero_mean_unit_unbiased_std() {
        let mut x = [1.0f32, 2.0, 3.0];
        normalise(&mut x);
        assert!((x[0] + 1.0).abs() < 1e-6 && x[1].abs() < 1e-6 && (x[2] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn explained_variance_is_one_for_perfect_values_and_zero_for_mean() {
        assert!((explained_variance(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]) - 1.0).abs() < 1e-12);
        assert!(explained_variance(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]).abs() < 1e-12);
    }

    #[test]
    fn invalid_config_names_the_field() {
        let cfg = PpoConfig {
            num_minibatches: 3,
            ..PpoConfig::cartpole_zoo(0)
        };
        let err = Ppo::new(cfg, 4, 2).unwrap_err().to_string();
        assert!(err.contains("num_minibatches"), "{err}");
    }

    #[test]
    fn non_positive_reward_scale_is_rejected_by_name() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let cfg = PpoConfig {
                reward_scale: bad,
                ..PpoConfig::cluster_default(0)
            };
            let err = Ppo::new(cfg, 4, 2).unwrap_err().to_string();
            assert!(err.contains("reward_scale"), "{bad}: {err}");
        }
    }

    #[test]
    fn configs_written_before_reward_scale_read_as_unscaled() {
        let mut table = toml::Table::try_from(PpoConfig::cluster_default(3)).unwrap();
        assert!(table.remove("reward_scale").is_some());
        let cfg: PpoConfig = table.try_into().unwrap();
        assert_eq!(cfg.reward_scale, 1.0);
        assert_eq!(cfg.seed, 3);
    }
}
