//! The plain-matrix forward path: the MLP evaluated with loops over `Vec<f32>`, no tensors. Rollouts act
//! on a batch of `num_envs` observations at a time, where candle's per-operation overhead would dominate
//! (CRATES.md); this path is tested equal to the candle forward to 1e-5 (`candle_mlp` tests).

use super::{Activation, MlpParams};

/// Forward `batch` rows of `input` (row-major, `batch x spec.input`) through the network; returns
/// `batch x spec.output` row-major.
///
/// # Panics
/// If `input.len()` is not a multiple of the input width: callers check observation lengths first.
pub fn forward(params: &MlpParams, input: &[f32]) -> Vec<f32> {
    let width = params.spec.input;
    assert!(
        width > 0 && input.len().is_multiple_of(width),
        "input length {} not a multiple of {width}",
        input.len()
    );
    let batch = input.len() / width;
    let last = params.layers.len() - 1;
    let mut x = input.to_vec();
    for (i, layer) in params.layers.iter().enumerate() {
        let mut y = vec![0.0f32; batch * layer.fan_out];
        for b in 0..batch {
            let row = &x[b * layer.fan_in..(b + 1) * layer.fan_in];
            let out = &mut y[b * layer.fan_out..(b + 1) * layer.fan_out];
            for (o, (w_row, bias)) in out
                .iter_mut()
                .zip(layer.weight.chunks_exact(layer.fan_in).zip(&layer.bias))
            {
                *o = bias + dot(w_row, row);
            }
        }
        if i != last {
            activate(&mut y, params.spec.activation);
        }
        x = y;
    }
    x
}

/// Dot product, four accumulators so the compiler can vectorise it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        for k in 0..4 {
            acc[k] += a[4 * c + k] * b[4 * c + k];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for k in 4 * chunks..a.len() {
        sum += a[k] * b[k];
    }
    sum
}

/// Applies a hidden layer's activation in place (shared with [`super::mlp_grad`]).
pub(super) fn activate(values: &mut [f32], activation: Activation) {
    match activation {
        Activation::Tanh => super::fast_tanh::tanh_in_place(values),
        Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
    }
}
