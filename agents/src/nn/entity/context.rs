//! The parts of the entity network that read the pooled context vector once per observation: the
//! no-op and value heads, and the context part of the scorer's first layer. Each output is a dot
//! product in a fixed order (the order of [`crate::nn::plain::forward`] for the heads, eight lanes
//! for the scorer's part); here several outputs are computed side by side, so their independent
//! sums fill the vector units instead of each waiting on its own chain of additions. Same
//! operations per output, in the same order: the same bits.

use crate::nn::{Activation, Dense, MlpParams};

/// Outputs computed side by side.
const GROUP: usize = 4;

/// The weight rows `j0..j0 + G` of `layer`, columns `col_start..col_start + len`.
#[inline(always)]
fn rows<const G: usize>(layer: &Dense, j0: usize, col_start: usize, len: usize) -> [&[f32]; G] {
    std::array::from_fn(|g| &layer.weight[(j0 + g) * layer.fan_in + col_start..][..len])
}

/// Calls `group::<GROUP>(j0)` on whole groups of outputs, then `group::<1>(j)` on the rest: the
/// output loop of both dot-product layers (a macro, because a closure cannot be generic).
macro_rules! for_output_groups {
    ($fan_out:expr, |$j0:ident, $g:ident| $body:block) => {{
        let fan_out = $fan_out;
        let whole = fan_out / GROUP * GROUP;
        for $j0 in (0..whole).step_by(GROUP) {
            const $g: usize = GROUP;
            $body
        }
        for $j0 in whole..fan_out {
            const $g: usize = 1;
            $body
        }
    }};
}

/// `bias[j] + dot4(W[j, ..], x)` for every output `j` of `layer`, where `dot4` is
/// [`crate::nn::plain::forward`]'s dot product (four lanes, `(a0 + a1) + (a2 + a3)`, then the
/// leftover products added in order), into `out`.
#[inline(always)]
fn dense_as_plain(layer: &Dense, x: &[f32], out: &mut Vec<f32>) {
    debug_assert_eq!(x.len(), layer.fan_in);
    out.clear();
    let n4 = x.len() / 4 * 4;
    let (x4, x_tail) = x.split_at(n4);
    for_output_groups!(layer.fan_out, |j0, G| {
        let w: [&[f32]; G] = rows::<G>(layer, j0, 0, x.len());
        let mut acc = [[0.0f32; 4]; G];
        for (c, xc) in x4.chunks_exact(4).enumerate() {
            for (a, w) in acc.iter_mut().zip(&w) {
                let wc = &w[4 * c..][..4];
                for k in 0..4 {
                    a[k] += wc[k] * xc[k];
                }
            }
        }
        for (g, (a, w)) in acc.iter().zip(&w).enumerate() {
            let mut sum = (a[0] + a[1]) + (a[2] + a[3]);
            for (&wk, &xk) in w[n4..].iter().zip(x_tail) {
                sum += wk * xk;
            }
            out.push(layer.bias[j0 + g] + sum);
        }
    });
}

/// A one-output MLP head (`context -> hidden -> 1`, activation between) on `x`: bit-identical to
/// `plain::forward(head, x)[0]`. `hidden` and `out` are reusable buffers.
#[inline(always)]
pub(super) fn head(head: &MlpParams, x: &[f32], hidden: &mut Vec<f32>, out: &mut Vec<f32>) -> f32 {
    debug_assert_eq!(head.layers.len(), 2, "entity heads have one hidden layer");
    let [first, last] = [&head.layers[0], &head.layers[1]];
    dense_as_plain(first, x, hidden);
    match head.spec.activation {
        Activation::Tanh => {
            for v in hidden.iter_mut() {
                *v = crate::nn::fast_tanh::tanh(*v);
            }
        }
        Activation::Relu => {
            for v in hidden.iter_mut() {
                *v = v.max(0.0);
            }
        }
    }
    dense_as_plain(last, hidden, out);
    out[0]
}

/// `bias[j] + dot8(W[j, col_start..], ctx)` for every output `j` of `layer` into `out`, where
/// `dot8` sums in eight lanes, combines them as `((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))`
/// and adds the leftover products' sum: the context part of the scorer's first layer.
#[inline(always)]
pub(super) fn context_part(layer: &Dense, col_start: usize, ctx: &[f32], out: &mut Vec<f32>) {
    out.clear();
    let n8 = ctx.len() / 8 * 8;
    let (c8, c_tail) = ctx.split_at(n8);
    for_output_groups!(layer.fan_out, |j0, G| {
        let w: [&[f32]; G] = rows::<G>(layer, j0, col_start, ctx.len());
        let mut acc = [[0.0f32; 8]; G];
        for (c, cc) in c8.chunks_exact(8).enumerate() {
            for (a, w) in acc.iter_mut().zip(&w) {
                let wc = &w[8 * c..][..8];
                for k in 0..8 {
                    a[k] += wc[k] * cc[k];
                }
            }
        }
        for (g, (a, w)) in acc.iter().zip(&w).enumerate() {
            let tail: f32 = w[n8..].iter().zip(c_tail).map(|(x, y)| x * y).sum();
            let lanes = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            out.push(layer.bias[j0 + g] + (lanes + tail));
        }
    });
}

/// Everything that reads the context, as one [`pulp::WithSimd`] operation (compiled as its own
/// small function per instruction set, so the dot products and `tanh` are inlined and vectorised):
/// the no-op score, the value (NaN unless `with_value`) and the scorer's context part.
pub(super) struct ContextOp<'a> {
    /// The network.
    pub(super) params: &'a super::EntityParams,
    /// The pooled context `[mean, max, global]`.
    pub(super) ctx: &'a [f32],
    /// Whether to evaluate the value head.
    pub(super) with_value: bool,
    /// Reused buffers: a head's hidden layer and output.
    pub(super) hidden: &'a mut Vec<f32>,
    pub(super) out: &'a mut Vec<f32>,
    /// The scorer's first layer on the context, bias included (output).
    pub(super) ctx_part: &'a mut Vec<f32>,
}

impl pulp::WithSimd for ContextOp<'_> {
    /// `(no-op score, value)`.
    type Output = (f32, f32);

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> (f32, f32) {
        let p = self.params;
        let noop = head(&p.noop, self.ctx, self.hidden, self.out);
        let value = if self.with_value {
            head(&p.value, self.ctx, self.hidden, self.out)
        } else {
            f32::NAN
        };
        context_part(&p.scorer.layers[0], p.spec.hidden, self.ctx, self.ctx_part);
        (noop, value)
    }
}
