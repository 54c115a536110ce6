//! DQN's Q-network: an MLP over vector observations (SB3's `QNetwork`, PyTorch default init) or the
//! entity network over cluster observations, whose Q-values are its scores: the no-op head's score
//! first, then one per (entity, action kind), the cluster env's flat action order. Owns the acting
//! forward of each, the candle twin for gradients, the checkpoint tensors and the inference policy.

use std::path::Path;

use candle_core::Device;
use mend_envs::Observation;

use crate::error::{AgentError, PolicyFileError};
use crate::nn::MlpParams;
use crate::nn::candle_mlp::CandleMlp;
use crate::nn::entity::{EntityParams, EntityPolicy};
use crate::nn::entity_candle::CandleEntity;
use crate::nn::plain;
use crate::obs::as_vector;
use crate::policy::{MlpPolicy, OutputKind, PolicyNet};
use crate::policy_file::{
    entity_to_tensors, params_to_tensors_prefixed, tensors_to_entity, tensors_to_params_prefixed,
};
use crate::store::TensorMap;

/// The parameters of a Q-network.
#[derive(Clone, Debug, PartialEq)]
pub enum QNet {
    /// An MLP: `obs -> Q(obs, a)` for every action.
    Mlp(MlpParams),
    /// The entity network: Q-values `[no-op, (entity, kind)...]` (its value head is unused).
    Entity(Box<EntityParams>),
}

/// The candle twin of a [`QNet`], for one gradient phase.
#[derive(Debug)]
pub enum CandleQ {
    /// MLP.
    Mlp(CandleMlp),
    /// Entity network.
    Entity(Box<CandleEntity>),
}

impl QNet {
    /// Flat parameter views, in the order the optimizer sees them.
    pub fn tensors(&self) -> Vec<&[f32]> {
        match self {
            QNet::Mlp(p) => p.tensors(),
            QNet::Entity(p) => p.tensors(),
        }
    }

    /// Mutable flat views, same order as [`QNet::tensors`].
    pub fn tensors_mut(&mut self) -> Vec<&mut [f32]> {
        match self {
            QNet::Mlp(p) => p.tensors_mut(),
            QNet::Entity(p) => p.tensors_mut(),
        }
    }

    /// Q-values of one observation (for an entity network, `1 + rows * n_kinds` of them, the
    /// network's scores without the size prior: [`super::decision::remove_size_prior`]).
    pub fn q_values(&self, obs: &Observation) -> Result<Vec<f32>, AgentError> {
        match self {
            QNet::Mlp(p) => Ok(plain::forward(p, as_vector(obs, p.spec.input)?)),
            QNet::Entity(p) => {
                let mut q = p.forward(obs)?.0;
                super::decision::remove_size_prior(&mut q, p.spec.n_kinds);
                Ok(q)
            }
        }
    }

    /// Variables holding a copy of the parameters.
    pub fn to_candle(&self) -> Result<CandleQ, AgentError> {
        let dev = Device::Cpu;
        Ok(match self {
            QNet::Mlp(p) => CandleQ::Mlp(CandleMlp::from_params(p, &dev)?),
            QNet::Entity(p) => CandleQ::Entity(Box::new(CandleEntity::from_params(p, &dev)?)),
        })
    }

    /// Checkpoint tensors under `prefix` (`q.`, `target.`).
    pub fn to_tensors(&self, prefix: &str) -> TensorMap {
        match self {
            QNet::Mlp(p) => params_to_tensors_prefixed(p, prefix),
            QNet::Entity(p) => entity_to_tensors(p, prefix),
        }
    }

    /// A network of this one's shape read from checkpoint `tensors` under `prefix`.
    pub fn from_tensors(
        &self,
        path: &Path,
        tensors: &TensorMap,
        prefix: &str,
    ) -> Result<Self, PolicyFileError> {
        Ok(match self {
            QNet::Mlp(p) => QNet::Mlp(tensors_to_params_prefixed(path, &p.spec, tensors, prefix)?),
            QNet::Entity(p) => {
                QNet::Entity(Box::new(tensors_to_entity(path, &p.spec, tensors, prefix)?))
            }
        })
    }

    /// The network as stored in a policy file, with Q-value output; `n_actions` is the training env's
    /// count. An entity network acts through [`super::decision::DqnEntityPolicy`] (prior removed,
    /// no-op margin), which [`super::decision::policy_from_file`] rebuilds from the file; the bare
    /// `PolicyNet` decides by the plain argmax of the scores.
    pub fn policy(&self, exploration_eps: f32, n_actions: usize) -> PolicyNet {
        match self {
            QNet::Mlp(net) => PolicyNet::from(MlpPolicy {
                algorithm: "dqn".into(),
                output: OutputKind::QValues,
                net: net.clone(),
                exploration_eps,
                normalisation: None,
            }),
            QNet::Entity(params) => PolicyNet::from(EntityPolicy {
                algorithm: "dqn".into(),
                output: OutputKind::QValues,
                params: params.as_ref().clone(),
                exploration_eps,
                n_actions,
            }),
        }
    }
}
