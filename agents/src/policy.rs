//! The [`Policy`] trait (inference only: what the executor and `mend eval` need) and [`MlpPolicy`], the
//! trained network of PPO (action logits) or DQN (Q-values) over vector observations.

use mend_envs::{Action, Observation};
use rand::{Rng, RngCore};

use crate::distribution::{argmax, check_mask, log_softmax, masked_logits, sample};
use crate::error::AgentError;
use crate::nn::{MlpParams, plain};
use crate::obs::as_vector;

/// What a policy scores each action with.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionScores {
    /// Action probabilities (policy-gradient agents); masked actions have probability 0.
    Probabilities(Vec<f32>),
    /// Estimated action values (Q-learning agents); masked actions are `-inf`.
    QValues(Vec<f32>),
}

/// Inference: choose an action for one observation under an optional validity mask.
pub trait Policy: Send + Sync + std::fmt::Debug {
    /// The algorithm that produced the policy (`"ppo"`, `"dqn"`).
    fn algorithm(&self) -> &str;
    /// Number of discrete actions.
    fn n_actions(&self) -> usize;
    /// The score of each action (probabilities or Q-values), masked actions excluded.
    fn action_scores(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError>;
    /// SB3's `predict`: the best valid action if `deterministic`, else one drawn from the policy's
    /// exploration distribution with the caller's seeded `rng`. Never returns a masked action.
    fn predict(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
        deterministic: bool,
        rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError>;
}

/// What the output layer of an [`MlpPolicy`] means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Logits of a categorical distribution (PPO's actor).
    Logits,
    /// Q-values (DQN's Q-network).
    QValues,
}

/// An MLP policy over vector observations.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpPolicy {
    /// Algorithm name, as written in the policy file.
    pub algorithm: String,
    /// Meaning of the network's outputs.
    pub output: OutputKind,
    /// The network (input = observation length, output = action count).
    pub net: MlpParams,
    /// Epsilon of the epsilon-greedy choice when a Q-value policy is asked for a non-deterministic action.
    pub exploration_eps: f32,
    /// Observation normalisation applied before the network, if the policy was trained with one.
    pub normalisation: Option<Normalisation>,
}

/// Observation normalisation as SB3's `VecNormalize` applies it:
/// `clip((x - mean) / sqrt(var + epsilon), -clip, clip)`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalisation {
    /// Running mean per feature.
    pub mean: Vec<f32>,
    /// Running variance per feature.
    pub var: Vec<f32>,
    /// Clip bound after scaling (SB3 default 10).
    pub clip: f32,
    /// Added to the variance (SB3 default 1e-8).
    pub epsilon: f32,
}

impl Normalisation {
    /// Normalises one observation vector.
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(self.mean.iter().zip(&self.var))
            .map(|(&v, (&m, &s))| {
                ((v - m) / (s + self.epsilon).sqrt()).clamp(-self.clip, self.clip)
            })
            .collect()
    }
}

impl MlpPolicy {
    /// Raw network outputs for one observation.
    pub fn forward(&self, obs: &Observation) -> Result<Vec<f32>, AgentError> {
        let x = as_vector(obs, self.net.spec.input)?;
        Ok(match &self.normalisation {
            Some(n) => plain::forward(&self.net, &n.apply(x)),
            None => plain::forward(&self.net, x),
        })
    }
}

impl Policy for MlpPolicy {
    fn algorithm(&self) -> &str {
        &self.algorithm
    }

    fn n_actions(&self) -> usize {
        self.net.spec.output
    }

    fn action_scores(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        check_mask(mask, self.n_actions())?;
        let out = masked_logits(&self.forward(obs)?, mask);
        Ok(match self.output {
            OutputKind::Logits => {
                ActionScores::Probabilities(log_softmax(&out).into_iter().map(f32::exp).collect())
            }
            OutputKind::QValues => ActionScores::QValues(out),
        })
    }

    fn predict(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
        deterministic: bool,
        rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        check_mask(mask, self.n_actions())?;
        let out = masked_logits(&self.forward(obs)?, mask);
        Ok(match (self.output, deterministic) {
            (_, true) => argmax(&out),
            (OutputKind::Logits, false) => sample(&log_softmax(&out), rng),
            (OutputKind::QValues, false) => {
                if rng.random::<f32>() < self.exploration_eps {
                    random_valid_action(self.n_actions(), mask, rng)
                } else {
                    argmax(&out)
                }
            }
        })
    }
}

/// A uniformly random action among the valid ones.
pub fn random_valid_action(
    n_actions: usize,
    mask: Option<&[bool]>,
    rng: &mut (impl Rng + ?Sized),
) -> Action {
    match mask {
        None => rng.random_range(0..n_actions),
        Some(m) => {
            let valid: Vec<usize> = (0..n_actions).filter(|&a| m[a]).collect();
            valid[rng.random_range(0..valid.len())]
        }
    }
}

/// Either kind of trained network a policy file can hold: an MLP over vector observations (CartPole,
/// the executor's flat layout) or an entity network over cluster observations of any size.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyNet {
    /// A plain MLP.
    Mlp(MlpPolicy),
    /// An entity network ([`crate::nn::entity`]), boxed: it is larger than an MLP policy.
    Entity(Box<crate::nn::entity::EntityPolicy>),
}

impl PolicyNet {
    /// The inner policy as a trait object.
    pub fn as_policy(&self) -> &dyn Policy {
        match self {
            PolicyNet::Mlp(p) => p,
            PolicyNet::Entity(p) => p.as_ref(),
        }
    }
}

impl From<MlpPolicy> for PolicyNet {
    fn from(p: MlpPolicy) -> Self {
        PolicyNet::Mlp(p)
    }
}

impl From<crate::nn::entity::EntityPolicy> for PolicyNet {
    fn from(p: crate::nn::entity::EntityPolicy) -> Self {
        PolicyNet::Entity(Box::new(p))
    }
}

impl Policy for PolicyNet {
    fn algorithm(&self) -> &str {
        self.as_policy().algorithm()
    }

    fn n_actions(&self) -> usize {
        self.as_policy().n_actions()
    }

    fn action_scores(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        self.as_policy().action_scores(obs, mask)
    }

    fn predict(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
        deterministic: bool,
        rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        self.as_policy().predict(obs, mask, deterministic, rng)
    }
}
