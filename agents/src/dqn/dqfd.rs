//! DQfD's loss for the entity Q-network (Hester et al. 2018, "Deep Q-learning from Demonstrations",
//! AAAI, §3, eq. 4): `J = J_DQ + λ1 J_n + λ2 J_E` on a minibatch that mixes the agent's own
//! transitions and demonstrations:
//!
//! - `J_DQ`: the one-step (double) DQN Huber loss on every sample;
//! - `J_n`: the n-step Huber loss `Q(s, a_E)` against `R_n + γ^n Q_target(s_n, a*)`, on the
//!   demonstrations (the paper applies it to all samples; the agent's replay here stores one-step
//!   transitions only);
//! - `J_E`: the large-margin supervised loss `max_a [Q(s, a) + l(a_E, a)] - Q(s, a_E)`, `l = margin`
//!   for `a != a_E` and 0 for the expert's action, on the demonstrations only, over valid actions.
//!   Acting demonstrations may weigh `act_weight` times a waiting one (the runbook waits on most steps).
//!
//! The L2 term `λ3 J_L2` of the paper is left out (Adam without weight decay, as the rest of DQN).
//! Q-values are the network's scores without the size prior ([`super::decision::remove_size_prior`]),
//! combined with the value head when the agent is dueling ([`super::dueling`]);
//! bootstrap actions are chosen by the no-op margin decision on the online (double DQN) or target
//! network, as plain DQN's targets are.

use std::sync::Arc;

use candle_core::{Device, Tensor};
use mend_envs::EntityObs;

use super::decision::noop_margin_decision;
use super::demos::{Bootstrap, DemoBatch};
use super::loss::{entity_q_rows, huber_loss, td_target_by};
use crate::error::AgentError;
use crate::nn::entity::action_prior;
use crate::nn::entity_candle::{CandleEntity, EntityBatch, PAD_LOGIT};
use crate::replay_buffer::entity::EntityReplayBatch;

/// Settings of one DQfD gradient step.
#[derive(Clone, Copy, Debug)]
pub struct DqfdParams {
    /// Dueling Q-values ([`super::dueling`]).
    pub dueling: bool,
    /// Discount factor.
    pub gamma: f32,
    /// Double DQN bootstrap (online network picks, target evaluates).
    pub double_q: bool,
    /// The no-op margin of the acting decision (it chooses the bootstrap action).
    pub noop_margin: f32,
    /// Action kinds per entity.
    pub n_kinds: usize,
    /// Weight `λ1` of the n-step loss.
    pub lambda_n: f32,
    /// Weight `λ2` of the large-margin loss.
    pub lambda_margin: f32,
    /// The margin `l` of the large-margin loss.
    pub margin: f32,
    /// Weight of a demonstration where the teacher acts in the large-margin loss (1 for a no-op).
    pub act_weight: f32,
}

/// The loss terms of one step (means over their samples).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DqfdLosses {
    /// `J_DQ + λ1 J_n + λ2 J_E`.
    pub total: f64,
    /// One-step TD loss over all samples.
    pub td: f64,
    /// n-step TD loss over the demonstrations.
    pub n_step: f64,
    /// Large-margin loss over the demonstrations.
    pub margin: f64,
    /// Mean `Q(s, a)` of the taken actions over all samples.
    pub mean_q: f64,
}

/// Q-values `[B, 1 + maxE * K]` of `batch` under `net` without the size prior: the scores plus
/// `-action_prior(n_b, K)` on each observation's own (entity, kind) entries (a constant, so the
/// gradients are the scores'); padded entries stay near [`PAD_LOGIT`].
pub fn prior_free_q(
    net: &CandleEntity,
    batch: &EntityBatch,
    n_kinds: usize,
) -> Result<Tensor, AgentError> {
    let (scores, _) = net.forward(batch)?;
    let width = scores.dim(1)?;
    Ok((scores + prior_offset(batch, n_kinds, width)?)?)
}

/// The Q-values `[B, 1 + maxE * K]` the losses read: [`prior_free_q`], or with `dueling`
/// [`super::dueling::dueling_q`] of those and the value head, from one forward.
pub fn entity_q(
    net: &CandleEntity,
    batch: &EntityBatch,
    n_kinds: usize,
    dueling: bool,
) -> Result<Tensor, AgentError> {
    if !dueling {
        return prior_free_q(net, batch, n_kinds);
    }
    let (scores, value) = net.forward(batch)?;
    let width = scores.dim(1)?;
    let adv = (scores + prior_offset(batch, n_kinds, width)?)?;
    super::dueling::dueling_q(&adv, &value, &batch.counts, n_kinds)
}

/// `-action_prior(n_b, K)` on each observation's own (entity, kind) entries, 0 elsewhere.
fn prior_offset(batch: &EntityBatch, n_kinds: usize, width: usize) -> Result<Tensor, AgentError> {
    let mut offset = Vec::with_capacity(batch.len() * width);
    for &n in &batch.counts {
        let shift = -action_prior(n, n_kinds);
        offset.push(0.0f32);
        offset.extend((1..width).map(|a| if a <= n * n_kinds { shift } else { 0.0 }));
    }
    Ok(Tensor::from_vec(
        offset,
        (batch.len(), width),
        &Device::Cpu,
    )?)
}

/// DQfD's large-margin loss (eq. 2 of Hester et al. 2018) on Q-values `q` (`[B, A]`, entries past a
/// row's own actions very negative): the weighted mean over rows of `max_a [q_a + l(a_E, a)] -
/// q_{a_E}` over the actions `masks` allow (`None`: all), `l = margin` except 0 at `a_E`; rows whose
/// expert acts (`a_E != 0`) weigh `act_weight`, no-op rows 1.
pub fn large_margin_loss(
    q: &Tensor,
    expert: &[usize],
    masks: &[Option<&[bool]>],
    margin: f32,
    act_weight: f32,
) -> candle_core::Result<Tensor> {
    let dev = q.device();
    let (b, width) = q.dims2()?;
    let mut bonus = Vec::with_capacity(b * width);
    for (i, &a_e) in expert.iter().enumerate() {
        let mask = masks.get(i).copied().flatten();
        bonus.extend((0..width).map(|a| {
            if a == a_e {
                0.0
            } else if mask.is_some_and(|m| !m.get(a).copied().unwrap_or(true)) {
                PAD_LOGIT
            } else {
                margin
            }
        }));
    }
    let best = q.add(&Tensor::from_vec(bonus, (b, width), dev)?)?.max(1)?;
    let idx: Vec<u32> = expert.iter().map(|&a| a as u32).collect();
    let q_e = q
        .gather(&Tensor::from_vec(idx, (b, 1), dev)?, 1)?
        .squeeze(1)?;
    let w: Vec<f32> = expert
        .iter()
        .map(|&a| if a == 0 { 1.0 } else { act_weight })
        .collect();
    let total: f32 = w.iter().sum();
    let per_row = (best - q_e)?;
    (per_row * Tensor::from_vec(w, b, dev)?)?.sum_all()? / f64::from(total.max(f32::MIN_POSITIVE))
}

/// `Q_target(s', a*)` for each `(s', mask)`, `a*` the no-op margin decision on the online (double
/// DQN) or target Q-values over the valid actions.
fn bootstrap_values(
    target: &CandleEntity,
    online: &CandleEntity,
    next: &[(&Arc<EntityObs>, Option<&[bool]>)],
    widths: (usize, usize),
    p: &DqfdParams,
) -> Result<Vec<f32>, AgentError> {
    if next.is_empty() {
        return Ok(Vec::new());
    }
    let mut batch = EntityBatch::new(widths.0, widths.1);
    for (o, _) in next {
        batch.push(o);
    }
    let t_rows = entity_q_rows(target, &batch, p.n_kinds, p.dueling)?;
    let o_rows = if p.double_q {
        Some(entity_q_rows(online, &batch, p.n_kinds, p.dueling)?)
    } else {
        None
    };
    let choose = |q: &[f32]| noop_margin_decision(q, p.noop_margin);
    Ok((0..next.len())
        .map(|i| {
            td_target_by(
                0.0,
                false,
                1.0,
                &t_rows[i],
                o_rows.as_ref().map(|o| o[i].as_slice()),
                next[i].1,
                &choose,
            )
        })
        .collect())
}

/// The targets `ret + discount * Q_target(next, a*)` of demonstration bootstraps.
fn demo_targets(
    target: &CandleEntity,
    online: &CandleEntity,
    boots: &[&Bootstrap],
    widths: (usize, usize),
    p: &DqfdParams,
) -> Result<Vec<f32>, AgentError> {
    let next: Vec<(&Arc<EntityObs>, Option<&[bool]>)> = boots
        .iter()
        .filter_map(|b| b.next.as_ref().map(|(o, m)| (o, m.as_deref())))
        .collect();
    let mut values = bootstrap_values(target, online, &next, widths, p)?.into_iter();
    Ok(boots
        .iter()
        .map(|b| match b.next {
            Some(_) => b.ret + b.discount * values.next().unwrap_or(0.0),
            None => b.ret,
        })
        .collect())
}

/// One DQfD loss on `agent` transitions (may be empty) and `demo` demonstrations (not empty), and
/// its gradients in [`crate::nn::entity::EntityParams::tensors`] order.
pub fn dqfd_loss_grads(
    online: &CandleEntity,
    target: &CandleEntity,
    agent: Option<&EntityReplayBatch>,
    demo: &DemoBatch,
    widths: (usize, usize),
    p: &DqfdParams,
) -> Result<(DqfdLosses, Vec<Vec<f32>>), AgentError> {
    // ---- one-step targets: the agent's transitions, then the demonstrations ----------------------
    let mut obs = EntityBatch::new(widths.0, widths.1);
    let mut actions = Vec::new();
    let mut y1 = Vec::new();
    if let Some(a) = agent.filter(|a| !a.actions.is_empty()) {
        let t_rows = entity_q_rows(target, &a.next_obs, p.n_kinds, p.dueling)?;
        let o_rows = if p.double_q {
            Some(entity_q_rows(online, &a.next_obs, p.n_kinds, p.dueling)?)
        } else {
            None
        };
        let choose = |q: &[f32]| noop_margin_decision(q, p.noop_margin);
        for i in 0..a.actions.len() {
            y1.push(td_target_by(
                a.rewards[i],
                a.terminated[i],
                p.gamma,
                &t_rows[i],
                o_rows.as_ref().map(|o| o[i].as_slice()),
                a.next_masks[i].as_deref(),
                &choose,
            ));
        }
        obs.rows.extend_from_slice(&a.obs.rows);
        obs.counts.extend_from_slice(&a.obs.counts);
        obs.global.extend_from_slice(&a.obs.global);
        actions.extend_from_slice(&a.actions);
    }
    let n_agent = actions.len();
    let one: Vec<&Bootstrap> = demo.items.iter().map(|t| &t.one_step).collect();
    y1.extend(demo_targets(target, online, &one, widths, p)?);
    let n_step: Vec<&Bootstrap> = demo.items.iter().map(|t| &t.n_step).collect();
    let yn = demo_targets(target, online, &n_step, widths, p)?;
    for t in &demo.items {
        obs.push(&t.obs);
        actions.push(t.action);
    }

    // ---- losses on one forward of the online network -------------------------------------------
    let dev = Device::Cpu;
    let q_all = entity_q(online, &obs, p.n_kinds, p.dueling)?;
    let b = actions.len();
    let idx: Vec<u32> = actions.iter().map(|&a| a as u32).collect();
    let q_taken = q_all
        .gather(&Tensor::from_vec(idx, (b, 1), &dev)?, 1)?
        .squeeze(1)?;
    let td = huber_loss(&q_taken, &Tensor::from_vec(y1, b, &dev)?)?;
    let n_demo = demo.items.len();
    let q_demo_taken = q_taken.narrow(0, n_agent, n_demo)?;
    let n_loss = huber_loss(&q_demo_taken, &Tensor::from_vec(yn, n_demo, &dev)?)?;
    let masks: Vec<Option<&[bool]>> = demo.items.iter().map(|t| t.mask.as_deref()).collect();
    let m_loss = large_margin_loss(
        &q_all.narrow(0, n_agent, n_demo)?,
        &actions[n_agent..],
        &masks,
        p.margin,
        p.act_weight,
    )?;
    let total =
        ((&td + (&n_loss * f64::from(p.lambda_n))?)? + (&m_loss * f64::from(p.lambda_margin))?)?;
    let grads = total.backward()?;
    let scalar = |t: &Tensor| -> Result<f64, AgentError> { Ok(f64::from(t.to_scalar::<f32>()?)) };
    Ok((
        DqfdLosses {
            total: scalar(&total)?,
            td: scalar(&td)?,
            n_step: scalar(&n_loss)?,
            margin: scalar(&m_loss)?,
            mean_q: scalar(&q_taken.mean_all()?)?,
        },
        online.flat_grads(&grads)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_margin_loss_matches_hand_values_and_ignores_masked_actions() {
        // Row 0: q = [1, 3, 0], expert 0 (no-op), margin 0.5: max(1, 3.5, 0.5) - 1 = 2.5.
        // Row 1: q = [2, 1, 5], expert 1, action 2 masked: max(2.5, 1) - 1 = 1.5 (weight 3).
        let q =
            Tensor::from_slice(&[1.0f32, 3.0, 0.0, 2.0, 1.0, 5.0], (2, 3), &Device::Cpu).unwrap();
        let mask1 = [true, true, false];
        let loss = large_margin_loss(&q, &[0, 1], &[None, Some(&mask1)], 0.5, 3.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let want = (2.5 + 3.0 * 1.5) / 4.0;
        assert!((loss - want).abs() < 1e-6, "{loss} vs {want}");
        // The expert's action already ahead by more than the margin: zero loss.
        let q = Tensor::from_slice(&[0.0f32, 2.0, 0.5], (1, 3), &Device::Cpu).unwrap();
        let zero = large_margin_loss(&q, &[1], &[None], 1.0, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(zero.abs() < 1e-6, "{zero}");
    }

    #[test]
    fn large_margin_gradient_raises_the_expert_and_lowers_the_violator() {
        // q = [1, 3]: expert 0, violator 1; d/dq = [-1, +1].
        let var = candle_core::Var::from_slice(&[1.0f32, 3.0], (1, 2), &Device::Cpu).unwrap();
        let loss = large_margin_loss(var.as_tensor(), &[0], &[None], 0.5, 1.0).unwrap();
        let g = loss.backward().unwrap();
        let grad = g.get(var.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(grad, vec![vec![-1.0, 1.0]]);
    }
}
