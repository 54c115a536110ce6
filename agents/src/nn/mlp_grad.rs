//! A plain-matrix forward and backward pass of an MLP on a minibatch: the DQN CartPole update
//! (batch 64, 4-256-256-2) without candle, whose per-operation overhead and thread hand-offs made
//! each gradient step several milliseconds (issue 4's speed). Tested equal to candle's gradients to
//! 1e-5 (tests below) and, through the DQN update, to SB3's own training steps
//! (`agents/tests/dqn_lockstep.rs`).
//!
//! Layout: activations row-major `batch x width`, weights row-major `out x in` ([`crate::nn::Dense`]).
//! - forward: `y[b, o] = bias[o] + dot(x[b, :], W[o, :])`, the dot product in two vector
//!   accumulators;
//! - backward: `dW[o, :] += dy[b, o] * x[b, :]` over the batch in order, `db[o] = sum_b dy[b, o]`,
//!   `dx[b, :] += dy[b, o] * W[o, :]` over outputs in order, then the activation's derivative
//!   (ReLU: `dx` kept where the layer's output is positive, as PyTorch's `threshold_backward`;
//!   tanh: `(1 - y^2)`).
//!
//! The inner loops are written with [`pulp`]'s explicit vector operations inside a
//! [`pulp::WithSimd`] operation, for the machine's instruction set (AVX2 or AVX-512) chosen at run
//! time; explicit, because the test profile's opt-level 1 does not auto-vectorise.

use super::{Activation, MlpParams};

/// What the backward pass needs from the forward pass: each layer's input (the batch, then each
/// hidden layer's activated output) and the network's output.
#[derive(Clone, Debug, Default)]
pub struct ForwardCache {
    /// Rows in the batch.
    pub batch: usize,
    /// Input of each layer, row-major `batch x fan_in`.
    pub inputs: Vec<Vec<f32>>,
    /// Network output, row-major `batch x output`.
    pub output: Vec<f32>,
}

/// Forward `x` (row-major `batch x spec.input`) through `params`, keeping what
/// [`backward`] needs.
///
/// # Panics
/// If `x.len()` is not a multiple of the input width (callers build `x` from checked observations).
pub fn forward(params: &MlpParams, x: &[f32]) -> ForwardCache {
    pulp::Arch::new().dispatch(ForwardOp { params, x })
}

/// Gradients of `sum_b,o d_out[b, o] * output[b, o]` with respect to every parameter, in
/// [`MlpParams::tensors`] order (`w0, b0, w1, b1, ...`), given the forward pass `cache` of the same
/// parameters and `d_out` (row-major `batch x output`, e.g. the loss's derivative by the output).
///
/// # Panics
/// If `d_out` does not have `batch x output` values.
pub fn backward(params: &MlpParams, cache: &ForwardCache, d_out: &[f32]) -> Vec<Vec<f32>> {
    pulp::Arch::new().dispatch(BackwardOp {
        params,
        cache,
        d_out,
    })
}

struct ForwardOp<'a> {
    params: &'a MlpParams,
    x: &'a [f32],
}

impl pulp::WithSimd for ForwardOp<'_> {
    type Output = ForwardCache;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> ForwardCache {
        let (params, x) = (self.params, self.x);
        let width = params.spec.input;
        assert!(
            width > 0 && x.len().is_multiple_of(width),
            "input length {} not a multiple of {width}",
            x.len()
        );
        let batch = x.len() / width;
        let last = params.layers.len() - 1;
        let mut inputs = Vec::with_capacity(params.layers.len());
        let mut h = x.to_vec();
        for (i, layer) in params.layers.iter().enumerate() {
            let mut y = vec![0.0f32; batch * layer.fan_out];
            for (x_row, y_row) in h
                .chunks_exact(layer.fan_in)
                .zip(y.chunks_exact_mut(layer.fan_out))
            {
                for ((out, w_row), bias) in y_row
                    .iter_mut()
                    .zip(layer.weight.chunks_exact(layer.fan_in))
                    .zip(&layer.bias)
                {
                    *out = bias + dot(simd, w_row, x_row);
                }
            }
            if i != last {
                super::plain::activate(&mut y, params.spec.activation);
            }
            inputs.push(std::mem::replace(&mut h, y));
        }
        ForwardCache {
            batch,
            inputs,
            output: h,
        }
    }
}

struct BackwardOp<'a> {
    params: &'a MlpParams,
    cache: &'a ForwardCache,
    d_out: &'a [f32],
}

impl pulp::WithSimd for BackwardOp<'_> {
    type Output = Vec<Vec<f32>>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> Vec<Vec<f32>> {
        let (params, cache) = (self.params, self.cache);
        let batch = cache.batch;
        let n = params.layers.len();
        assert_eq!(
            self.d_out.len(),
            batch * params.spec.output,
            "d_out must be batch x output"
        );
        let mut grads = vec![Vec::new(); 2 * n];
        let mut dy = self.d_out.to_vec();
        for k in (0..n).rev() {
            let layer = &params.layers[k];
            let x = &cache.inputs[k];
            let (fan_in, fan_out) = (layer.fan_in, layer.fan_out);
            // dW[o, :] = sum over the batch, in order, of dy[b, o] * x[b, :].
            let mut dw = vec![0.0f32; fan_out * fan_in];
            for (o, dw_row) in dw.chunks_exact_mut(fan_in).enumerate() {
                for (b, x_row) in x.chunks_exact(fan_in).enumerate() {
                    axpy(simd, dw_row, dy[b * fan_out + o], x_row);
                }
            }
            let mut db = vec![0.0f32; fan_out];
            for dy_row in dy.chunks_exact(fan_out) {
                db.iter_mut().zip(dy_row).for_each(|(d, g)| *d += g);
            }
            grads[2 * k] = dw;
            grads[2 * k + 1] = db;
            if k == 0 {
                break;
            }
            // dx[b, :] = sum over outputs, in order, of dy[b, o] * W[o, :]; then the activation.
            let mut dx = vec![0.0f32; batch * fan_in];
            for (dx_row, dy_row) in dx.chunks_exact_mut(fan_in).zip(dy.chunks_exact(fan_out)) {
                for (&g, w_row) in dy_row.iter().zip(layer.weight.chunks_exact(fan_in)) {
                    axpy(simd, dx_row, g, w_row);
                }
            }
            match params.spec.activation {
                Activation::Relu => dx
                    .iter_mut()
                    .zip(x)
                    .for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 }),
                Activation::Tanh => dx.iter_mut().zip(x).for_each(|(d, &y)| *d *= 1.0 - y * y),
            }
            dy = dx;
        }
        grads
    }
}

/// `y += a * x`, elementwise, in `simd`'s registers (explicit vector operations, so the loop is
/// vectorised even in the lightly optimised test profile; each product and sum rounded separately).
#[inline(always)]
fn axpy<S: pulp::Simd>(simd: S, y: &mut [f32], a: f32, x: &[f32]) {
    debug_assert_eq!(y.len(), x.len());
    let (y_head, y_tail) = S::as_mut_simd_f32s(y);
    let (x_head, x_tail) = S::as_simd_f32s(x);
    let av = simd.splat_f32s(a);
    for (y, x) in y_head.iter_mut().zip(x_head) {
        *y = simd.add_f32s(*y, simd.mul_f32s(av, *x));
    }
    for (y, x) in y_tail.iter_mut().zip(x_tail) {
        *y += a * x;
    }
}

/// Dot product in `simd`'s registers: two vector accumulators (alternate blocks), added, reduced,
/// then the tail in order.
#[inline(always)]
fn dot<S: pulp::Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (a_head, a_tail) = S::as_simd_f32s(a);
    let (b_head, b_tail) = S::as_simd_f32s(b);
    let mut acc = [simd.splat_f32s(0.0); 2];
    for (k, (x, y)) in a_head.iter().zip(b_head).enumerate() {
        acc[k & 1] = simd.add_f32s(acc[k & 1], simd.mul_f32s(*x, *y));
    }
    let mut sum = simd.reduce_sum_f32s(simd.add_f32s(acc[0], acc[1]));
    for (x, y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::super::candle_mlp::CandleMlp;
    use super::super::init::{InitScheme, init_mlp};
    use super::super::{MlpSpec, plain};
    use super::*;
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A network, a batch, and a random output derivative.
    fn case(activation: Activation, hidden: Vec<usize>) -> (MlpParams, Vec<f32>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let spec = MlpSpec {
            input: 4,
            hidden,
            output: 3,
            activation,
        };
        let params = init_mlp(&spec, InitScheme::TorchDefault, &mut rng);
        let batch = 64;
        let x: Vec<f32> = (0..batch * 4)
            .map(|_| rng.random_range(-2.0..2.0))
            .collect();
        let d_out: Vec<f32> = (0..batch * 3)
            .map(|_| rng.random_range(-1.0..1.0) / batch as f32)
            .collect();
        (params, x, d_out)
    }

    #[test]
    fn forward_equals_the_plain_forward() {
        for activation in [Activation::Relu, Activation::Tanh] {
            let (params, x, _) = case(activation, vec![256, 256]);
            let got = forward(&params, &x).output;
            let want = plain::forward(&params, &x);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-5, "{activation:?}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn gradients_equal_candles_to_1e_5() {
        // The same scalar, sum(d_out * output), differentiated by candle's autograd.
        for (activation, hidden) in [
            (Activation::Relu, vec![256, 256]),
            (Activation::Tanh, vec![64, 64]),
            (Activation::Relu, vec![19, 7]),
        ] {
            let (params, x, d_out) = case(activation, hidden);
            let got = backward(&params, &forward(&params, &x), &d_out);
            let net = CandleMlp::from_params(&params, &Device::Cpu).unwrap();
            let xt = Tensor::from_slice(&x, (64, 4), &Device::Cpu).unwrap();
            let dt = Tensor::from_slice(&d_out, (64, 3), &Device::Cpu).unwrap();
            let scalar = (net.forward(&xt).unwrap() * dt).unwrap().sum_all().unwrap();
            let want = net.flat_grads(&scalar.backward().unwrap()).unwrap();
            assert_eq!(got.len(), want.len());
            let mut largest = 0.0f32;
            for (t, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.len(), w.len(), "tensor {t}");
                for (i, (a, b)) in g.iter().zip(w).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-5,
                        "{activation:?} tensor {t} index {i}: {a} vs candle {b}"
                    );
                    largest = largest.max(b.abs());
                }
            }
            assert!(largest > 1e-2, "gradients too small to compare: {largest}");
        }
    }
}
