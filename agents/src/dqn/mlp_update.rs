//! One DQN gradient step of the MLP Q-network on a given minibatch, SB3's `DQN.train` loop body
//! (`dqn/dqn.py`): TD targets from the target network (max, or double DQN), `smooth_l1_loss` on
//! `Q(s)[a]`, `clip_grad_norm_(.., max_grad_norm)`, then Adam. The training loop samples the batch;
//! the lock-step test (`agents/tests/dqn_lockstep.rs`) passes SB3's own batches instead.

use super::config::DqnConfig;
use super::loss::{TdInput, td_targets};
use crate::error::AgentError;
use crate::nn::{MlpParams, mlp_grad};
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
/// in place. Reads `gamma`, `double_q`, `max_grad_norm` and `learning_rate` from `config`. The
/// forward and backward passes are [`crate::nn::mlp_grad`]'s plain loops (candle's per-operation
/// overhead made a step several milliseconds); [`huber_output_grad`] is the loss's derivative.
pub fn mlp_gradient_step(
    q: &mut MlpParams,
    target: &MlpParams,
    adam: &mut Adam,
    batch: &ReplayBatch,
    config: &DqnConfig,
) -> Result<UpdateStats, AgentError> {
    let na = q.spec.output;
    let next_target = mlp_grad::forward(target, &batch.next_obs).output;
    let next_online = config
        .double_q
        .then(|| mlp_grad::forward(q, &batch.next_obs).output);
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
    let cache = mlp_grad::forward(q, &batch.obs);
    let (loss, mean_q, d_out) = huber_output_grad(&cache.output, na, &batch.actions, &targets);
    let mut grads = mlp_grad::backward(q, &cache, &d_out);
    if grads.iter().flatten().any(|g| !g.is_finite()) {
        return Err(AgentError::NonFinite {
            what: "gradient",
            update: adam.t,
        });
    }
    let grad_norm = clip_grad_norm(&mut grads, config.max_grad_norm);
    adam.step(q.tensors_mut(), &grads, config.learning_rate);
    Ok(UpdateStats {
        loss,
        mean_q,
        grad_norm,
    })
}

/// PyTorch's `smooth_l1_loss(Q(s)[a], y)` (delta 1, mean over the batch) on the network's output
/// `q_all` (row-major `batch x n_actions`): returns `(loss, mean Q(s)[a], d loss / d q_all)`, the
/// derivative `clamp(Q(s)[a] - y, -1, 1) / batch` at each taken action and 0 elsewhere.
pub fn huber_output_grad(
    q_all: &[f32],
    n_actions: usize,
    actions: &[usize],
    targets: &[f32],
) -> (f64, f64, Vec<f32>) {
    let b = actions.len();
    let inv_b = 1.0 / b.max(1) as f32;
    let mut d_out = vec![0.0f32; q_all.len()];
    let (mut loss, mut q_sum) = (0.0f64, 0.0f64);
    for (i, (&a, &y)) in actions.iter().zip(targets).enumerate() {
        let q = q_all[i * n_actions + a];
        let d = q - y;
        loss += f64::from(if d.abs() < 1.0 {
            0.5 * d * d
        } else {
            d.abs() - 0.5
        });
        q_sum += f64::from(q);
        d_out[i * n_actions + a] = d.clamp(-1.0, 1.0) * inv_b;
    }
    let n = b.max(1) as f64;
    (loss / n, q_sum / n, d_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dqn::loss::td_loss_grads;
    use crate::nn::candle_mlp::CandleMlp;
    use crate::nn::init::{InitScheme, init_mlp};
    use crate::nn::{Activation, MlpSpec, plain};
    use candle_core::Device;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn huber_output_grad_equals_the_candle_loss_and_gradients() {
        // Targets offset from Q(s)[a] by -3..3, so both Huber branches occur.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let spec = MlpSpec {
            input: 4,
            hidden: vec![32, 32],
            output: 2,
            activation: Activation::Relu,
        };
        let params = init_mlp(&spec, InitScheme::TorchDefault, &mut rng);
        let obs: Vec<f32> = (0..64 * 4).map(|_| rng.random_range(-2.0..2.0)).collect();
        let actions: Vec<usize> = (0..64).map(|_| rng.random_range(0..2)).collect();
        let q_all = plain::forward(&params, &obs);
        let targets: Vec<f32> = (0..64)
            .map(|i| q_all[i * 2 + actions[i]] + rng.random_range(-3.0..3.0))
            .collect();
        let cache = mlp_grad::forward(&params, &obs);
        let (loss, mean_q, d_out) = huber_output_grad(&cache.output, 2, &actions, &targets);
        let got = mlp_grad::backward(&params, &cache, &d_out);
        let online = CandleMlp::from_params(&params, &Device::Cpu).unwrap();
        let (want_loss, want_q, want) =
            td_loss_grads(&online, &obs, &actions, targets.clone(), 4).unwrap();
        assert!((loss - want_loss).abs() < 1e-6, "{loss} vs {want_loss}");
        assert!((mean_q - want_q).abs() < 1e-6, "{mean_q} vs {want_q}");
        for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
            assert!((g - w).abs() <= 1e-5, "{g} vs {w}");
        }
        assert!(d_out.iter().any(|d| d.abs() == 1.0 / 64.0));
        assert!(d_out.iter().any(|d| d.abs() > 0.0 && d.abs() < 1.0 / 64.0));
    }
}
