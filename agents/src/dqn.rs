//! Deep Q-Network (Mnih et al. 2015) with SB3's step counting, optionally double DQN (van Hasselt et
//! al. 2016), for two kinds of observation:
//!
//! - [`Dqn`]: an MLP over vector observations (CartPole), SB3's `DQN` with its `MlpPolicy`;
//! - [`EntityDqn`]: the entity network over cluster observations of any size, whose scores are the
//!   Q-values `[no-op, (entity, kind)...]`; replay keeps whole entity sets; masks are honoured when
//!   acting and in the TD target; the policy file holds a `PolicyNet::Entity` with Q-value output.
//!   Its Q-values carry no size prior, and it acts only when the best action beats the no-op by more
//!   than `DqnConfig::noop_margin` ([`decision`]); [`load_policy`] rebuilds that decision from a file.
//!   With `DqnConfig::warm_start` it first learns from the runbook's demonstrations (DQfD,
//!   [`warm_start`]), which is what makes it beat the no-op on `default` (session 5).
//!
//! ```text
//!   config.rs  hyperparameters, presets        qnet.rs   MLP | entity network, candle twin
//!   train.rs   the loop, gradient step, checkpoints (shared by both agents)
//!   loss.rs    TD target (vanilla / double, masked), Huber loss and its gradients
//!   mlp_update.rs  one MLP gradient step on a given batch (SB3's `DQN.train` body)
//!   decision.rs  no-op margin decision, size-prior removal, the entity Q-policy and its loader
//!   warm_start.rs  DQfD config, recording + pre-training      demos.rs  demonstrations, n-step returns
//!   dqfd.rs    DQfD loss: 1-step TD + n-step TD + large-margin loss on mixed minibatches
//!   dueling.rs optional dueling Q-values V + A - mean A (value head + scores)
//! ```

mod config;
pub mod decision;
pub mod demos;
pub mod dqfd;
pub mod dueling;
pub mod loss;
pub mod mlp_update;
pub mod qnet;
mod train;
pub mod warm_start;

use std::path::Path;

use mend_envs::{AutoresetMode, Space, VectorEnv};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use config::DqnConfig;
pub use decision::{DqnEntityPolicy, load_policy, noop_margin_decision, policy_from_file};
pub use loss::{TdInput, huber_loss, td_loss_grads, td_target, td_target_by, td_targets};
pub use mlp_update::{UpdateStats, mlp_gradient_step};
pub use qnet::QNet;
pub use warm_start::{DqnWarmStartConfig, DqnWarmStartReport};

use crate::agent::{Agent, MetricSink, TrainSummary};
use crate::error::AgentError;
use crate::nn::entity::{EntityParams, EntitySpec};
use crate::nn::init::{InitScheme, init_mlp};
use crate::nn::{MlpParams, MlpSpec};
use crate::obs::{discrete_actions, vector_obs_dim};
use crate::policy::{MlpPolicy, OutputKind, Policy, PolicyNet};
use crate::policy_file::{FeatureSchema, PolicyFile, TrainingInfo};
use crate::replay_buffer::ReplayBuffer;
use crate::replay_buffer::entity::EntityReplayBuffer;
use train::{DqnCore, Replay};

// ---------------------------------------------------------------------------------------------------
// DQN over vector observations
// ---------------------------------------------------------------------------------------------------

/// A DQN agent over vector observations and discrete actions (SB3's `DQN`).
#[derive(Debug)]
pub struct Dqn {
    core: DqnCore,
}

impl Dqn {
    /// A fresh agent; weights drawn from the seed with PyTorch's default `nn.Linear` init (SB3's DQN
    /// does not use orthogonal init).
    pub fn new(config: DqnConfig, obs_dim: usize, n_actions: usize) -> Result<Self, AgentError> {
        config.validate()?;
        if config.dueling {
            return Err(AgentError::InvalidConfig {
                field: "dueling",
                expected: "false for an MLP agent (the dueling head is the entity network's)",
                got: "true".into(),
            });
        }
        if config.warm_start.is_some() {
            return Err(AgentError::InvalidConfig {
                field: "warm_start",
                expected: "needs the entity network (the cluster env, `EntityDqn`)",
                got: "an MLP agent".into(),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let spec = MlpSpec {
            input: obs_dim,
            hidden: config.hidden.clone(),
            output: n_actions,
            activation: config.activation,
        };
        let q = init_mlp(&spec, InitScheme::TorchDefault, &mut rng);
        let replay = Replay::Flat(ReplayBuffer::new(config.buffer_size, obs_dim, n_actions));
        Ok(Self {
            core: DqnCore::new(config, QNet::Mlp(q), replay, rng, (obs_dim, n_actions, 0)),
        })
    }

    /// A fresh agent sized from `env`'s spaces (a `Box` observation space; for entity sets use
    /// [`EntityDqn::for_env`]).
    pub fn for_env(config: DqnConfig, env: &dyn VectorEnv) -> Result<Self, AgentError> {
        let obs_dim = vector_obs_dim(&env.single_observation_space())?;
        let n_actions = discrete_actions(&env.single_action_space())?;
        Self::new(config, obs_dim, n_actions)
    }

    /// The configuration.
    pub fn config(&self) -> &DqnConfig {
        &self.core.config
    }

    /// The Q-network's parameters.
    pub fn q_params(&self) -> &MlpParams {
        match &self.core.q {
            QNet::Mlp(p) => p,
            QNet::Entity(_) => unreachable!("Dqn is built with an MLP"),
        }
    }

    /// The Q-network as an inference policy (epsilon-greedy with `end_e` when sampled).
    pub fn mlp_policy(&self) -> MlpPolicy {
        mlp_q_policy(self.q_params().clone(), self.core.config.end_e)
    }

    /// [`Agent::learn`] with SB3's `EvalCallback` hook: `on_eval(policy, num_timesteps)` is called
    /// every `eval_every` vector steps of this call with the current Q-network as a policy
    /// ([`Dqn::mlp_policy`]), as the zoo's `EvalCallback(eval_freq=..)` sees the model (SB3
    /// `common/callbacks.py`: `if self.eval_freq > 0 and self.n_calls % self.eval_freq == 0`, called
    /// from `collect_rollouts` after each `env.step`). The hook gets a copy: it cannot change the
    /// network, the training env or the agent's random numbers, so the run is the uninterrupted one
    /// (SB3's callback draws none either: `DQN.predict(.., deterministic=True)`), unlike evaluating
    /// between `learn` calls, each of which resets the training env.
    pub fn learn_with_evaluation(
        &mut self,
        env: &mut dyn VectorEnv,
        total_timesteps: u64,
        sink: &mut dyn MetricSink,
        eval_every: u64,
        on_eval: &mut dyn FnMut(&MlpPolicy, u64),
    ) -> Result<TrainSummary, AgentError> {
        check_env(&self.core, env)?;
        let end_e = self.core.config.end_e;
        let mut hook = |q: &QNet, step: u64| {
            if let QNet::Mlp(p) = q {
                on_eval(&mlp_q_policy(p.clone(), end_e), step);
            }
        };
        self.core
            .learn_with_hook(env, total_timesteps, sink, Some((eval_every, &mut hook)))
    }
}

/// An MLP Q-network as an inference policy, epsilon-greedy with `end_e` when sampled.
fn mlp_q_policy(net: MlpParams, end_e: f64) -> MlpPolicy {
    MlpPolicy {
        algorithm: "dqn".into(),
        output: OutputKind::QValues,
        net,
        exploration_eps: end_e as f32,
        normalisation: None,
    }
}

// ---------------------------------------------------------------------------------------------------
// DQN over entity sets (the cluster env)
// ---------------------------------------------------------------------------------------------------

/// A DQN agent whose Q-network is the entity network: it trains on one cluster size and acts on any.
/// `Clone` copies everything, replay and demonstrations included (see
/// [`EntityDqn::with_dqn_phase`]).
#[derive(Clone, Debug)]
pub struct EntityDqn {
    core: DqnCore,
}

impl EntityDqn {
    /// A fresh agent for entity rows of `row_width` features, `global_width` global features and
    /// `n_kinds` action kinds per entity; `n_actions` (`1 + entities * n_kinds`) is the training env's
    /// count. The network's width is `config.hidden[0]`; weights come from the seed (orthogonal, the
    /// entity network's own init: small output gains, so initial Q-values are near 0).
    pub fn new(
        config: DqnConfig,
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
        let q = QNet::Entity(Box::new(EntityParams::init(spec, &mut rng)));
        let replay = Replay::Entity(EntityReplayBuffer::new(
            config.buffer_size,
            row_width,
            global_width,
        ));
        let dims = (row_width + global_width, n_actions, n_kinds);
        Ok(Self {
            core: DqnCore::new(config, q, replay, rng, dims),
        })
    }

    /// A fresh agent sized from `env`'s spaces (an `EntitySet` observation space, the cluster env's
    /// action kinds).
    pub fn for_env(config: DqnConfig, env: &dyn VectorEnv) -> Result<Self, AgentError> {
        let n_actions = discrete_actions(&env.single_action_space())?;
        match env.single_observation_space() {
            Space::EntitySet(s) => Self::new(
                config,
                s.width(),
                s.global.dim(),
                mend_envs::cluster::N_KINDS,
                n_actions,
            ),
            other => Err(AgentError::UnsupportedSpace {
                what: "observation",
                expected: "EntitySet (the cluster env)",
                got: format!("{other:?}"),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DqnConfig {
        &self.core.config
    }

    /// The Q-network's parameters.
    pub fn q_params(&self) -> &EntityParams {
        match &self.core.q {
            QNet::Entity(p) => p.as_ref(),
            QNet::Mlp(_) => unreachable!("EntityDqn is built with an entity network"),
        }
    }

    /// The network as a policy file stores it (`PolicyNet::Entity`, Q-value output). It decides by
    /// the plain argmax of the scores; act through [`EntityDqn::dqn_policy`] instead.
    pub fn policy_net(&self) -> PolicyNet {
        self.core
            .q
            .policy(self.core.config.end_e as f32, self.core.n_actions)
    }

    /// The trained policy as training acts: Q-values without the size prior, the no-op margin
    /// decision when deterministic, epsilon-greedy with `end_e` otherwise.
    pub fn dqn_policy(&self) -> DqnEntityPolicy {
        match self.policy_net() {
            PolicyNet::Entity(inner) => DqnEntityPolicy {
                inner: *inner,
                noop_margin: self.core.config.noop_margin as f32,
            },
            PolicyNet::Mlp(_) => unreachable!("EntityDqn is built with an entity network"),
        }
    }

    /// The policy file of the current network. `training.config` is set to this agent's
    /// configuration, so the manifest records the `noop_margin` the loader
    /// ([`decision::policy_from_file`]) decides with.
    pub fn export(
        &self,
        feature_schema: FeatureSchema,
        action_kinds: Vec<String>,
        mut training: TrainingInfo,
    ) -> PolicyFile {
        training.config =
            serde_json::to_value(&self.core.config).unwrap_or(serde_json::Value::Null);
        PolicyFile::new(self.policy_net(), feature_schema, action_kinds, training)
    }
}

// ---------------------------------------------------------------------------------------------------
// The Agent trait, for both
// ---------------------------------------------------------------------------------------------------

fn check_env(core: &DqnCore, env: &dyn VectorEnv) -> Result<(), AgentError> {
    if env.num_envs() != core.config.num_envs {
        return Err(AgentError::InvalidConfig {
            field: "num_envs",
            expected: "must equal the vector env's num_envs",
            got: format!("{} (env has {})", core.config.num_envs, env.num_envs()),
        });
    }
    if env.autoreset_mode() != AutoresetMode::SameStep {
        return Err(AgentError::UnsupportedAutoreset {
            got: format!("{:?}", env.autoreset_mode()),
        });
    }
    let n_actions = discrete_actions(&env.single_action_space())?;
    let obs_dim = match (env.single_observation_space(), &core.q) {
        (Space::EntitySet(s), QNet::Entity(_)) => s.width() + s.global.dim(),
        (space, QNet::Mlp(_)) => vector_obs_dim(&space)?,
        (space, QNet::Entity(_)) => {
            return Err(AgentError::UnsupportedSpace {
                what: "observation",
                expected: "EntitySet (the cluster env)",
                got: format!("{space:?}"),
            });
        }
    };
    // An entity network acts on any cluster size, so only the feature widths must match; an MLP
    // needs the same observation length and action count.
    let same = match core.q {
        QNet::Entity(_) => obs_dim == core.obs_dim,
        QNet::Mlp(_) => (obs_dim, n_actions) == (core.obs_dim, core.n_actions),
    };
    if !same {
        return Err(AgentError::ObservationMismatch {
            expected: format!("{} features and {} actions", core.obs_dim, core.n_actions),
            got: format!("{obs_dim} features and {n_actions} actions"),
        });
    }
    Ok(())
}

macro_rules! impl_agent {
    ($agent:ty, $policy:expr) => {
        impl Agent for $agent {
            fn learn(
                &mut self,
                env: &mut dyn VectorEnv,
                total_timesteps: u64,
                sink: &mut dyn MetricSink,
            ) -> Result<TrainSummary, AgentError> {
                check_env(&self.core, env)?;
                self.core.learn(env, total_timesteps, sink)
            }

            fn num_timesteps(&self) -> u64 {
                self.core.num_timesteps
            }

            fn policy(&self) -> Box<dyn Policy> {
                let make: fn(&Self) -> Box<dyn Policy> = $policy;
                make(self)
            }

            /// Saves networks, Adam, counters and RNG (not the replay buffer: a resumed run
            /// refills it, as SB3 does unless asked to save it).
            fn save_checkpoint(&self, path: &Path) -> Result<(), AgentError> {
                self.core.save_checkpoint(path)
            }

            fn load_checkpoint(&mut self, path: &Path) -> Result<(), AgentError> {
                self.core.load_checkpoint(path)
            }
        }
    };
}

impl_agent!(Dqn, |a| Box::new(a.mlp_policy()));
impl_agent!(EntityDqn, |a| Box::new(a.dqn_policy()));
