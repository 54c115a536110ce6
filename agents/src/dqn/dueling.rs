//! The dueling head of the entity Q-network (Wang et al. 2016, "Dueling Network Architectures for
//! Deep Reinforcement Learning", ICML, §3 eq. 9): `Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')`.
//!
//! In the entity network the advantages `A` are the scores it already has: the no-op head's score
//! and the (entity, kind) scores, size prior removed ([`super::decision::remove_size_prior`]); `V` is
//! its value head, which reads the pooled context (PPO's critic; plain DQN leaves it untrained). The
//! mean runs over each observation's own actions (`1 + n_entities * K`, padding excluded) whatever
//! the mask, as eq. 9 averages over the whole action set.
//!
//! `V(s) - mean A(s)` is one number per state, so every decision (argmax, the no-op margin decision
//! of [`super::decision`], which compares `Q(a) - Q(no-op)`) is the same on `A` as on `Q`: acting and
//! the policy file need nothing new. Only the values do, where TD targets and losses read them
//! ([`super::loss`], [`super::dqfd`]). A dueling policy's `action_scores` are therefore its
//! advantages, equal to its Q-values up to that per-state constant.

use candle_core::{Device, Tensor};

use crate::error::AgentError;

/// `Q = A + (V - mean A)` on a `[B, W]` tensor of advantages (row `i`'s own actions are its first
/// `1 + counts[i] * n_kinds` entries; the rest are padding, which shifts with the row but never
/// enters its mean) and a `[B]` tensor of state values. Differentiable in both.
pub fn dueling_q(
    advantages: &Tensor,
    value: &Tensor,
    counts: &[usize],
    n_kinds: usize,
) -> Result<Tensor, AgentError> {
    let (b, width) = advantages.dims2()?;
    let mut weights = Vec::with_capacity(b * width);
    for &n in counts {
        let own = (1 + n * n_kinds).min(width);
        let w = 1.0 / own as f32;
        weights.extend((0..width).map(|a| if a < own { w } else { 0.0 }));
    }
    let weights = Tensor::from_vec(weights, (b, width), &Device::Cpu)?;
    let mean = (advantages * weights)?.sum(1)?;
    let shift = (value - mean)?.unsqueeze(1)?;
    Ok(advantages.broadcast_add(&shift)?)
}

/// [`dueling_q`] on one row already cut to its own actions: `row + (value - mean(row))`.
pub fn dueling_row(row: &mut [f32], value: f32) {
    if row.is_empty() {
        return;
    }
    let mean = row.iter().map(|&a| f64::from(a)).sum::<f64>() / row.len() as f64;
    let shift = value - mean as f32;
    for q in row {
        *q += shift;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dueling_q_matches_hand_values_and_ignores_padding_in_the_mean() {
        // Row 0: one entity, K = 2: own actions [1, 2, 3] (mean 2), V = 10 -> [9, 10, 11], the pad
        // entry -100 shifts by the same 8. Row 1: two entities: [0, 4, 2, 2, 2] (mean 2), V = -1.
        let adv = Tensor::from_slice(
            &[1.0f32, 2.0, 3.0, -100.0, -100.0, 0.0, 4.0, 2.0, 2.0, 2.0],
            (2, 5),
            &Device::Cpu,
        )
        .unwrap();
        let v = Tensor::from_slice(&[10.0f32, -1.0], 2, &Device::Cpu).unwrap();
        let q = dueling_q(&adv, &v, &[1, 2], 2)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(q[0], vec![9.0, 10.0, 11.0, -92.0, -92.0]);
        assert_eq!(q[1], vec![-3.0, 1.0, -1.0, -1.0, -1.0]);
        // The row form agrees with the tensor form on own actions.
        let mut row = vec![0.0f32, 4.0, 2.0, 2.0, 2.0];
        dueling_row(&mut row, -1.0);
        assert_eq!(row, q[1]);
    }

    #[test]
    fn the_mean_of_dueling_q_is_the_value_and_its_gradient_reaches_both_streams() {
        // d(sum of Q over own actions)/dV = number of own actions; d/dA_a = 1 - 1 = 0 for each a
        // (the mean subtraction cancels a uniform push), so a loss on one action moves that action
        // up and the others down by 1/W each.
        let adv = candle_core::Var::from_slice(&[0.5f32, -1.0, 2.5], (1, 3), &Device::Cpu).unwrap();
        let v = candle_core::Var::from_slice(&[4.0f32], 1, &Device::Cpu).unwrap();
        let q = dueling_q(adv.as_tensor(), v.as_tensor(), &[1], 2).unwrap();
        let mean: f32 = q.mean_all().unwrap().to_scalar().unwrap();
        assert!((mean - 4.0).abs() < 1e-6, "{mean}");
        let taken = q.narrow(1, 2, 1).unwrap().sum_all().unwrap();
        let g = taken.backward().unwrap();
        let ga = g.get(adv.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        let gv = g.get(v.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        let third = 1.0 / 3.0;
        for (got, want) in ga[0].iter().zip([-third, -third, 1.0 - third]) {
            assert!((got - want).abs() < 1e-6, "{ga:?}");
        }
        assert_eq!(gv, vec![1.0]);
    }
}
