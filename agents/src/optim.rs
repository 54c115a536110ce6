//! Adam on plain parameter vectors, and gradient-norm clipping.
//!
//! Written out rather than using `candle_nn::AdamW` because a checkpoint must save and restore the moment
//! estimates, which candle keeps private. The update is PyTorch's `torch.optim.Adam` (documented
//! algorithm, `amsgrad=False`, no weight decay): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//! p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).

use serde::{Deserialize, Serialize};

/// Adam optimizer state over a fixed list of parameter tensors.
///
/// The decay complements `1 - beta1` and `1 - beta2` come in two roundings: PyTorch computes them in
/// double precision and rounds once (`value=1 - beta2` in `exp_avg_sq.mul_(beta2).addcmul_(grad, grad,
/// value=1 - beta2)`, `torch/optim/adam.py`, so 0.001 in f32), which [`Adam::torch`] matches;
/// [`Adam::new`] keeps the first implementation's `1 - (beta2 as f32)` = 0.00099998713, 1.3e-5 short,
/// which makes every step about 6.5e-6 larger than PyTorch's. The MLP DQN (SB3's peer) uses the
/// former, found by the lock-step test against SB3 (`agents/tests/dqn_lockstep.rs`); PPO and the
/// entity DQN keep the latter so that their results stay byte-identical.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// First-moment estimates, one per tensor.
    pub m: Vec<Vec<f32>>,
    /// Second-moment estimates, one per tensor.
    pub v: Vec<Vec<f32>>,
    /// Steps taken so far.
    pub t: u64,
    /// Exponential decay of the first moment (PyTorch default 0.9).
    pub beta1: f64,
    /// Exponential decay of the second moment (PyTorch default 0.999).
    pub beta2: f64,
    /// Denominator epsilon (PyTorch default 1e-8; SB3/CleanRL PPO use 1e-5).
    pub eps: f64,
    /// `1 - beta` rounded from f64 as PyTorch does ([`Adam::torch`]) rather than computed in f32.
    #[serde(default)]
    pub torch_complements: bool,
}

impl Adam {
    /// Zero moments for tensors of the given lengths.
    pub fn new(lengths: &[usize], eps: f64) -> Self {
        Self {
            m: lengths.iter().map(|&n| vec![0.0; n]).collect(),
            v: lengths.iter().map(|&n| vec![0.0; n]).collect(),
            t: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps,
            torch_complements: false,
        }
    }

    /// [`Adam::new`] with PyTorch's rounding of `1 - beta1` and `1 - beta2` (see [`Adam`]).
    pub fn torch(lengths: &[usize], eps: f64) -> Self {
        Self {
            torch_complements: true,
            ..Self::new(lengths, eps)
        }
    }

    /// One update of `params` (same order and lengths as at construction) with `grads`.
    pub fn step(&mut self, params: Vec<&mut [f32]>, grads: &[Vec<f32>], lr: f64) {
        self.t += 1;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        let bias1 = 1.0 - self.beta1.powi(t);
        let bias2 = 1.0 - self.beta2.powi(t);
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let (one_minus_b1, one_minus_b2) = if self.torch_complements {
            ((1.0 - self.beta1) as f32, (1.0 - self.beta2) as f32)
        } else {
            (1.0 - b1, 1.0 - b2)
        };
        let step_size = (lr / bias1) as f32;
        let bias2_sqrt = bias2.sqrt() as f32;
        let eps = self.eps as f32;
        for (((p, g), m), v) in params
            .into_iter()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            for i in 0..p.len() {
                m[i] = b1 * m[i] + one_minus_b1 * g[i];
                v[i] = b2 * v[i] + one_minus_b2 * g[i] * g[i];
                p[i] -= step_size * m[i] / (v[i].sqrt() / bias2_sqrt + eps);
            }
        }
    }
}

/// Scales `grads` so their joint L2 norm is at most `max_norm`, as `torch.nn.utils.clip_grad_norm_`
/// does (coefficient `max_norm / (norm + 1e-6)`, applied only when below 1). Returns the norm before
/// clipping.
pub fn clip_grad_norm(grads: &mut [Vec<f32>], max_norm: f64) -> f64 {
    let norm = grads
        .iter()
        .flatten()
        .map(|&g| f64::from(g) * f64::from(g))
        .sum::<f64>()
        .sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        grads
            .iter_mut()
            .flatten()
            .for_each(|g| *g = (f64::from(*g) * coef) as f32);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_adam_step_moves_each_weight_by_lr_against_the_gradient_sign() {
        // With bias correction, step 1 gives m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps).
        let mut p = vec![1.0f32, -2.0, 0.5];
        let mut adam = Adam::new(&[3], 1e-8);
        adam.step(vec![p.as_mut_slice()], &[vec![0.3, -4.0, 0.0]], 0.1);
        assert!((p[0] - 0.9).abs() < 1e-6);
        assert!((p[1] + 1.9).abs() < 1e-6);
        assert_eq!(p[2], 0.5);
        assert_eq!(adam.t, 1);
    }

    #[test]
    fn torch_complements_give_pytorchs_second_moment() {
        // One step from zero moments: v = (1 - beta2) g^2, with 1 - 0.999 = 0.001 in PyTorch (rounded
        // once from f64) and 1 - 0.999f32 = 0.00099998713 in the legacy rounding.
        let g = [vec![2.0f32]];
        let mut p = [0.0f32];
        let mut torch = Adam::torch(&[1], 1e-8);
        torch.step(vec![p.as_mut_slice()], &g, 0.1);
        assert_eq!(torch.v[0][0], 0.001f32 * 4.0);
        let mut legacy = Adam::new(&[1], 1e-8);
        legacy.step(vec![p.as_mut_slice()], &g, 0.1);
        assert_eq!(legacy.v[0][0], (1.0 - 0.999f32) * 4.0);
        assert!((legacy.v[0][0] / torch.v[0][0] - 1.0).abs() > 1e-5);
    }

    #[test]
    fn clip_grad_norm_scales_to_max_norm_only_when_above() {
        let mut g = vec![vec![3.0f32], vec![4.0]];
        let norm = clip_grad_norm(&mut g, 0.5);
        assert!((norm - 5.0).abs() < 1e-9);
        assert!((g[0][0] - 0.3).abs() < 1e-5 && (g[1][0] - 0.4).abs() < 1e-5);
        let mut small = vec![vec![0.1f32]];
        clip_grad_norm(&mut small, 0.5);
        assert_eq!(small[0][0], 0.1);
    }
}
