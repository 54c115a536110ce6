//! One DQN gradient step of the MLP Q-network on a given minibatch, SB3's `DQN.train` loop body
//! (`dqn/dqn.py`): TD targets from the target network (max, or double DQN), `smooth_l1_loss` on
//! `Q(s)[a]`, `clip_grad_norm_(.., max_grad_norm)`, then Adam. The training loop samples the batch;
//! the lock-step test (`agents/tests/dqn_lockstep.rs`) passes SB3's own batches instead.

use candle_core::{Device, Tensor};

use super::config::DqnConfig;
use super::loss::{TdInput, td_loss_grads, td_targets};
use crate::error::AgentError;
use crate::nn::MlpParams;
use crate::nn::candle_mlp::CandleMlp;
use crate::optim::{Adam, clip_grad_norm};
use crate::replay_buffer::ReplayBatch;

/// What one gradient step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UpdateStats {
    /// The Huber loss of the batch (mean over the batch).
    pub loss: f64,
    /// Mean of `Q(s)[a]` over the batch, before the update.
    pub mean_q: f64,
    /// L2 norm of all gradients before clipping (`clip_grad_norm_`'s return value).
    pub grad_norm: f64,
}

/// One gradient step of `q` on `batch`, targets from `target` (frozen), updating `q` and `adam`
/// in place. Reads `gamma`, `double_q`, `max_grad_norm` and `learning_rate` from `config`.
pub fn mlp_gradient_step(
    q: &mut MlpParams,
    target: &CandleMlp,
    adam: &mut Adam,
    batch: &ReplayBatch,
    config: &DqnConfig,
) -> Result<UpdateStats, AgentError> {
    let (b, dim, na) = (batch.actions.len(), q.spec.input, q.spec.output);
    let online = CandleMlp::from_params(q, &Device::Cpu)?;
    let next_x = Tensor::from_slice(&batch.next_obs, (b, dim), &Device::Cpu)?;
    let next_target = target.forward(&next_x)?.flatten_all()?.to_vec1::<f32>()?;
    let next_online = if config.double_q {
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
        config.gamma as f32,
    );
    let (loss, mean_q, mut grads) =
        td_loss_grads(&online, &batch.obs, &batch.actions, targets, dim)?;
    let grad_norm = clip_grad_norm(&mut grads, config.max_grad_norm);
    adam.step(q.tensors_mut(), &grads, config.learning_rate);
    Ok(UpdateStats {
        loss,
        mean_q,
        grad_norm,
    })
}
