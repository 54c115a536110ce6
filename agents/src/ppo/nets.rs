//! PPO's networks: separate actor and critic MLPs for vector observations (SB3's default `MlpPolicy`),
//! or one entity network for cluster observations (shared encoder, the value head reads the pooled
//! context). Owns the plain-matrix rollout forward of each, their candle twins for the update, and the
//! tensors in checkpoints.

use std::path::Path;

use candle_core::{Device, Tensor};
use mend_envs::{EntityObs, Observation};

use crate::error::{AgentError, PolicyFileError};
use crate::nn::candle_mlp::CandleMlp;
use crate::nn::entity::EntityParams;
use crate::nn::entity_candle::{CandleEntity, EntityBatch};
use crate::nn::{MlpParams, plain};
use crate::policy_file::{
    entity_to_tensors, params_to_tensors_prefixed, tensors_to_entity, tensors_to_params_prefixed,
};
use crate::store::TensorMap;

/// The trainable parameters of a PPO agent.
#[derive(Clone, Debug, PartialEq)]
pub enum Nets {
    /// Actor (logits) and critic (value) MLPs over vector observations.
    Mlp {
        /// Action logits.
        actor: MlpParams,
        /// State value.
        critic: MlpParams,
    },
    /// One entity network: logits `[no-op, (entity, kind)...]` and the value.
    Entity(EntityParams),
}

impl Nets {
    /// Flat parameter views, in the order the optimizer sees them.
    pub fn tensors(&self) -> Vec<&[f32]> {
        match self {
            Nets::Mlp { actor, critic } => actor
                .tensors()
                .into_iter()
                .chain(critic.tensors())
                .collect(),
            Nets::Entity(p) => p.tensors(),
        }
    }

    /// Mutable flat views, same order as [`Nets::tensors`].
    pub fn tensors_mut(&mut self) -> Vec<&mut [f32]> {
        match self {
            Nets::Mlp { actor, critic } => actor
                .tensors_mut()
                .into_iter()
                .chain(critic.tensors_mut())
                .collect(),
            Nets::Entity(p) => p.tensors_mut(),
        }
    }

    /// Logits and values of one rollout step: `obs` holds every env's observation; vector ones are
    /// flattened into `scratch`. Logits are `num_envs x n_actions`, row-major.
    pub fn act_forward(
        &self,
        obs: &[Observation],
        scratch: &mut Vec<f32>,
    ) -> Result<(Vec<f32>, Vec<f32>), AgentError> {
        match self {
            Nets::Mlp { actor, critic } => {
                scratch.clear();
                crate::obs::flatten_into(obs, actor.spec.input, scratch)?;
                Ok((
                    plain::forward(actor, scratch),
                    plain::forward(critic, scratch),
                ))
            }
            Nets::Entity(p) => {
                let mut logits = Vec::new();
                let mut values = Vec::with_capacity(obs.len());
                for o in obs {
                    let (l, v) = p.forward(o)?;
                    logits.extend(l);
                    values.push(v);
                }
                Ok((logits, values))
            }
        }
    }

    /// `V(obs)` of one observation.
    pub fn value(&self, obs: &Observation) -> Result<f32, AgentError> {
        match self {
            Nets::Mlp { critic, .. } => {
                let x = crate::obs::as_vector(obs, critic.spec.input)?;
                Ok(plain::forward(critic, x)[0])
            }
            Nets::Entity(p) => Ok(p.forward(obs)?.1),
        }
    }

    /// The tensors of a checkpoint (`actor.`/`critic.` or `entity.` prefixes).
    pub fn to_tensors(&self) -> TensorMap {
        match self {
            Nets::Mlp { actor, critic } => {
                let mut t = params_to_tensors_prefixed(actor, "actor.");
                t.extend(params_to_tensors_prefixed(critic, "critic."));
                t
            }
            Nets::Entity(p) => entity_to_tensors(p, "entity."),
        }
    }

    /// Networks of this one's shapes read from checkpoint `tensors`.
    pub fn from_tensors(&self, path: &Path, tensors: &TensorMap) -> Result<Self, PolicyFileError> {
        Ok(match self {
            Nets::Mlp { actor, critic } => Nets::Mlp {
                actor: tensors_to_params_prefixed(path, &actor.spec, tensors, "actor.")?,
                critic: tensors_to_params_prefixed(path, &critic.spec, tensors, "critic.")?,
            },
            Nets::Entity(p) => Nets::Entity(tensors_to_entity(path, &p.spec, tensors, "entity.")?),
        })
    }
}

/// The candle twin of [`Nets`] for one minibatch step.
#[derive(Debug)]
pub enum CandleNets {
    /// Actor and critic.
    Mlp(CandleMlp, CandleMlp),
    /// The entity network.
    Entity(CandleEntity),
}

/// A minibatch's observations in the form the networks read.
#[derive(Debug)]
pub enum MinibatchObs {
    /// `B x dim`, row-major.
    Vector(Vec<f32>, usize),
    /// Entity observations, rows concatenated.
    Entities(EntityBatch),
}

impl CandleNets {
    /// Variables holding a copy of `nets`.
    pub fn new(nets: &Nets, dev: &Device) -> candle_core::Result<Self> {
        Ok(match nets {
            Nets::Mlp { actor, critic } => CandleNets::Mlp(
                CandleMlp::from_params(actor, dev)?,
                CandleMlp::from_params(critic, dev)?,
            ),
            Nets::Entity(p) => CandleNets::Entity(CandleEntity::from_params(p, dev)?),
        })
    }

    /// Logits `[B, A]` (entity: `A = 1 + maxE * K`, padding at `PAD_LOGIT`) and values `[B]`.
    pub fn forward(&self, obs: &MinibatchObs) -> Result<(Tensor, Tensor), AgentError> {
        match (self, obs) {
            (CandleNets::Mlp(actor, critic), MinibatchObs::Vector(x, dim)) => {
                let b = x.len() / dim.max(&1);
                let x = Tensor::from_slice(x, (b, *dim), &Device::Cpu)?;
                Ok((actor.forward(&x)?, critic.forward(&x)?.squeeze(1)?))
            }
            (CandleNets::Entity(net), MinibatchObs::Entities(batch)) => net.forward(batch),
            _ => Err(AgentError::ObservationMismatch {
                expected: "the observation kind the network was built for".into(),
                got: "the other kind".into(),
            }),
        }
    }

    /// Gradients in [`Nets::tensors`] order.
    pub fn flat_grads(
        &self,
        grads: &candle_core::backprop::GradStore,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        match self {
            CandleNets::Mlp(actor, critic) => {
                let mut g = actor.flat_grads(grads)?;
                g.extend(critic.flat_grads(grads)?);
                Ok(g)
            }
            CandleNets::Entity(net) => net.flat_grads(grads),
        }
    }
}

/// The entity observation inside `obs`, or an error naming what was found.
pub fn as_entities(obs: &Observation) -> Result<&EntityObs, AgentError> {
    obs.as_entities()
        .ok_or_else(|| AgentError::ObservationMismatch {
            expected: "an entity observation".into(),
            got: "a vector observation".into(),
        })
}
