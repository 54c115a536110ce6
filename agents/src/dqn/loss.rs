//! DQN's learning signal: the TD target (vanilla or double DQN, van Hasselt et al. 2016, over valid
//! actions only), the Huber loss (PyTorch's `smooth_l1_loss`, which SB3's DQN uses) and the loss with
//! its gradients for either Q-network (an MLP, or the entity network on a minibatch of entity sets).

use candle_core::{Device, Tensor};

use crate::distribution::{argmax, masked_logits};
use crate::error::AgentError;
use crate::nn::candle_mlp::CandleMlp;
use crate::nn::entity_candle::{CandleEntity, EntityBatch};

/// `y = r + gamma * (1 - terminated) * Q_target(s', a*)` for one transition, with
/// `a* = argmax_a Q_target(s', a)` (DQN) or `argmax_a Q_online(s', a)` (double DQN), both over the
/// actions `next_mask` allows (`None` = all). The rows may be of any width (entity sets vary).
pub fn td_target(
    reward: f32,
    terminated: bool,
    gamma: f32,
    next_q_target: &[f32],
    next_q_online: Option<&[f32]>,
    next_mask: Option<&[bool]>,
) -> f32 {
    td_target_by(
        reward,
        terminated,
        gamma,
        next_q_target,
        next_q_online,
        next_mask,
        &argmax,
    )
}

/// [`td_target`] with `a*` chosen by `choose` on the masked row (the online row for double DQN, else
/// the target row) instead of the argmax: the entity DQN passes its no-op margin decision
/// ([`super::decision::noop_margin_decision`]), so the target evaluates the policy that acts.
pub fn td_target_by(
    reward: f32,
    terminated: bool,
    gamma: f32,
    next_q_target: &[f32],
    next_q_online: Option<&[f32]>,
    next_mask: Option<&[bool]>,
    choose: &dyn Fn(&[f32]) -> usize,
) -> f32 {
    if terminated {
        return reward;
    }
    let target_row = masked_logits(next_q_target, next_mask);
    let chosen = match next_q_online {
        Some(online) => choose(&masked_logits(online, next_mask)),
        None => choose(&target_row),
    };
    reward + gamma * target_row[chosen]
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

/// [`td_target`] for every row of a fixed-width batch.
pub fn td_targets(input: TdInput<'_>, n_actions: usize, gamma: f32) -> Vec<f32> {
    (0..input.rewards.len())
        .map(|i| {
            let row = i * n_actions..(i + 1) * n_actions;
            td_target(
                input.rewards[i],
                input.terminated[i],
                gamma,
                &input.next_q_target[row.clone()],
                input.next_q_online.map(|o| &o[row.clone()]),
                Some(&input.next_masks[row]),
            )
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

/// `(loss, mean Q(s)[a], gradients)` of the Huber loss between `Q(s)[a]` (a `[B, A]` tensor of
/// Q-values gathered at `actions`) and `targets`.
fn huber_on_taken(
    q_all: &Tensor,
    actions: &[usize],
    targets: Vec<f32>,
) -> Result<(Tensor, Tensor), AgentError> {
    let dev = Device::Cpu;
    let b = actions.len();
    let index: Vec<u32> = actions.iter().map(|&a| a as u32).collect();
    let q = q_all
        .gather(&Tensor::from_vec(index, (b, 1), &dev)?, 1)?
        .squeeze(1)?;
    let loss = huber_loss(&q, &Tensor::from_vec(targets, b, &dev)?)?;
    Ok((loss, q))
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
    let x = Tensor::from_slice(obs, (actions.len(), dim), &Device::Cpu)?;
    let (loss, q) = huber_on_taken(&online.forward(&x)?, actions, targets)?;
    let grads = loss.backward()?;
    Ok((
        f64::from(loss.to_scalar::<f32>()?),
        f64::from(q.mean_all()?.to_scalar::<f32>()?),
        online.flat_grads(&grads)?,
    ))
}

/// The same loss for the entity network: Q-values are its scores `[no-op, (entity, kind)...]` for
/// each observation of `obs` (padded past each one's own actions, never gathered there, since a
/// stored action was valid) without the size prior ([`super::decision::remove_size_prior`]). The
/// prior is a constant of the input, so `Huber(score + ln(nK) - y) = Huber(score - (y - ln(nK)))`:
/// the targets of (entity, kind) actions are shifted instead of the scores, which leaves the
/// gradients those of the prior-free Q-values. Gradients in
/// [`crate::nn::entity::EntityParams::tensors`] order (the value head, unused by DQN, gets zeros).
/// Returns `(loss, mean Q(s)[a] without the prior, gradients)`. With `dueling`, the Q-values are
/// [`super::dueling::dueling_q`] of the prior-free scores and the value head (which then gets
/// gradients too).
pub fn entity_td_loss_grads(
    online: &CandleEntity,
    obs: &EntityBatch,
    actions: &[usize],
    mut targets: Vec<f32>,
    n_kinds: usize,
    dueling: bool,
) -> Result<(f64, f64, Vec<Vec<f32>>), AgentError> {
    if dueling {
        let q_all = super::dqfd::entity_q(online, obs, n_kinds, true)?;
        let (loss, q) = huber_on_taken(&q_all, actions, targets)?;
        let grads = loss.backward()?;
        return Ok((
            f64::from(loss.to_scalar::<f32>()?),
            f64::from(q.mean_all()?.to_scalar::<f32>()?),
            online.flat_grads(&grads)?,
        ));
    }
    let mut shift_sum = 0.0f64;
    for ((y, &a), &n) in targets.iter_mut().zip(actions).zip(&obs.counts) {
        if a != 0 {
            let shift = -crate::nn::entity::action_prior(n, n_kinds);
            *y -= shift;
            shift_sum += f64::from(shift);
        }
    }
    let (scores, _) = online.forward(obs)?;
    let (loss, q) = huber_on_taken(&scores, actions, targets)?;
    let grads = loss.backward()?;
    let b = actions.len().max(1) as f64;
    Ok((
        f64::from(loss.to_scalar::<f32>()?),
        f64::from(q.mean_all()?.to_scalar::<f32>()?) + shift_sum / b,
        online.flat_grads(&grads)?,
    ))
}

/// Each observation's Q-values under `net`, cut to its own action count (`1 + n_entities * K`),
/// size prior removed; with `dueling`, [`super::dueling::dueling_row`] of those and the value head.
pub fn entity_q_rows(
    net: &CandleEntity,
    obs: &EntityBatch,
    n_kinds: usize,
    dueling: bool,
) -> Result<Vec<Vec<f32>>, AgentError> {
    let (scores, value) = net.forward(obs)?;
    let mut rows = scores.to_vec2::<f32>()?;
    let values = if dueling {
        value.to_vec1::<f32>()?
    } else {
        Vec::new()
    };
    for (i, (row, &n)) in rows.iter_mut().zip(&obs.counts).enumerate() {
        row.truncate(1 + n * n_kinds);
        super::decision::remove_size_prior(row, n_kinds);
        if let Some(&v) = values.get(i) {
            super::dueling::dueling_row(row, v);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::init::{InitScheme, init_mlp};
    use crate::nn::{Activation, MlpSpec, plain};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

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
    fn td_target_on_rows_of_different_widths_and_no_mask() {
        // Width 2, no mask: max 3 -> 0 + 0.9 * 3. Width 4 with a mask hiding the max (10).
        assert!((td_target(0.0, false, 0.9, &[1.0, 3.0], None, None) - 2.7).abs() < 1e-6);
        let mask = [true, false, true, true];
        let y = td_target(-1.0, false, 0.5, &[0.0, 10.0, 2.0, -4.0], None, Some(&mask));
        assert!((y - 0.0).abs() < 1e-6, "{y}");
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
    fn td_target_by_evaluates_the_chosen_action() {
        // Target row [1, 3, 2]: argmax picks 1 (y = 0.5 * 3), a chooser that always waits picks the
        // no-op (y = 0.5 * 1); double DQN with the chooser reads the chosen index of the target row.
        let row = [1.0f32, 3.0, 2.0];
        assert!((td_target(0.0, false, 0.5, &row, None, None) - 1.5).abs() < 1e-6);
        let wait = |_: &[f32]| 0usize;
        assert!((td_target_by(0.0, false, 0.5, &row, None, None, &wait) - 0.5).abs() < 1e-6);
        let online = [0.0f32, 0.0, 9.0];
        let by_margin = |q: &[f32]| super::super::decision::noop_margin_decision(q, 1.0);
        let y = td_target_by(1.0, false, 0.5, &row, Some(&online), None, &by_margin);
        assert!((y - 2.0).abs() < 1e-6, "{y}");
        assert_eq!(td_target_by(4.0, true, 0.5, &row, None, None, &wait), 4.0);
    }

    #[test]
    fn huber_loss_matches_hand_values() {
        // d = 0.5 -> 0.125; d = -3 -> 2.5; mean 1.3125.
        let p = Tensor::from_slice(&[0.5f32, -3.0], 2, &Device::Cpu).unwrap();
        let t = Tensor::from_slice(&[0.0f32, 0.0], 2, &Device::Cpu).unwrap();
        assert!((huber_loss(&p, &t).unwrap().to_scalar::<f32>().unwrap() - 1.3125).abs() < 1e-6);
    }
}
