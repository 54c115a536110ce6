//! The entity network's dense-layer kernel in the *rows-as-lanes* layout: activations are stored
//! feature-major (`x[k * stride + e]`: feature `k` of entity `e`), so one vector register holds one
//! feature of `LANES = S::F32_LANES` consecutive entities (16 with AVX-512, 8 with AVX2), and each
//! weight `W[j, k]` is broadcast from the layer's own row-major matrix (never transposed, copied
//! or padded; with AVX-512 the broadcast is folded into the multiply's memory operand).
//!
//! One call computes a whole layer, `y[j][e] = act(init[j] + x[0][e] W[j, c] + ...)` (inputs in
//! order, `c = col_start`), and writes it in the same feature-major layout, which is the next
//! layer's input: the four entity layers chain without a transposition. Per block of `LANES`
//! entities, `J` outputs stay in `J` accumulator registers over the whole `k` loop (each step: one
//! load of `x[k]`, then per output a multiply by the broadcast weight and an add), written with
//! [`pulp`]'s explicit vector types; the activation then runs over the layer's output. The last
//! layer's `n_kinds` outputs (9) take blocks of 8 and 1, not a register padded to 16 (session 5's
//! outputs-as-lanes kernel padded them and transposed every weight matrix, cached per thread).
//!
//! Every output is still `init + x_0 w_0 + x_1 w_1 + ...` summed in input order, each product and
//! sum rounded separately (no FMA: `pulp`'s `mul_f32s` and `add_f32s` are separate instructions),
//! so the result is bit-identical to the sequential definition on every instruction set, whatever
//! `LANES` and `J` are.

use crate::nn::{Activation, Dense};

/// Entity count rounded up to whole blocks of `LANES`: the stride of the feature-major buffers.
pub(super) const fn padded_entities(n: usize, lanes: usize) -> usize {
    n.div_ceil(lanes) * lanes
}

/// One dense layer over feature-major activations (see the module doc).
#[derive(Clone, Copy, Debug)]
pub(super) struct LaneLayer<'a> {
    /// The layer whose weights are used.
    pub(super) layer: &'a Dense,
    /// First weight column used: input feature `k` is multiplied by `W[j, col_start + k]`.
    pub(super) col_start: usize,
    /// Input features used (columns `col_start..col_start + width`).
    pub(super) width: usize,
    /// Starting value of each output (the bias, or the bias plus a precomputed part).
    pub(super) init: &'a [f32],
    /// Non-linearity applied to the output, if any.
    pub(super) activation: Option<Activation>,
}

/// A [`LaneLayer`] run as its own [`pulp::WithSimd`] operation: each layer is then compiled as a
/// small function for each instruction set, in which the kernel and the activation are inlined
/// (inside one large forward function the compiler stopped inlining them: measured, 1.5x slower).
pub(super) struct LaneLayerOp<'a, 'b> {
    /// The layer.
    pub(super) layer: LaneLayer<'a>,
    /// Its input, feature-major.
    pub(super) x: &'b [f32],
    /// Entities per feature row of `x` and `y`.
    pub(super) stride: usize,
    /// Its output, feature-major.
    pub(super) y: &'b mut Vec<f32>,
}

impl pulp::WithSimd for LaneLayerOp<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        // Eight output accumulators: half the register file of AVX2, a quarter of AVX-512's.
        self.layer.run::<S, 8>(simd, self.x, self.stride, self.y);
    }
}

impl LaneLayer<'_> {
    /// Runs the layer on `x` (`width` feature rows of `stride` entities, `stride` a multiple of
    /// `S::F32_LANES`) into `y` (`fan_out` feature rows of `stride`) with `simd`'s registers. `J` is
    /// the register block of outputs (a power of two); leftover outputs take blocks of `J / 2`, ... 1.
    #[inline(always)]
    pub(super) fn run<S: pulp::Simd, const J: usize>(
        &self,
        simd: S,
        x: &[f32],
        stride: usize,
        y: &mut Vec<f32>,
    ) {
        let lanes = S::F32_LANES;
        let fan_out = self.layer.fan_out;
        debug_assert!(stride.is_multiple_of(lanes) && x.len() >= self.width * stride);
        y.resize(fan_out * stride, 0.0);
        for e0 in (0..stride).step_by(lanes) {
            let mut j0 = 0;
            while j0 + J <= fan_out {
                self.block::<S, J>(simd, x, stride, e0, j0, y);
                j0 += J;
            }
            // Leftover outputs, in blocks of halving size (at most one of each).
            if J > 4 && j0 + 4 <= fan_out {
                self.block::<S, 4>(simd, x, stride, e0, j0, y);
                j0 += 4;
            }
            if J > 2 && j0 + 2 <= fan_out {
                self.block::<S, 2>(simd, x, stride, e0, j0, y);
                j0 += 2;
            }
            if J > 1 && j0 < fan_out {
                self.block::<S, 1>(simd, x, stride, e0, j0, y);
            }
        }
        if let Some(activation) = self.activation {
            activate(y, activation);
        }
    }

    /// Outputs `j0..j0 + J` of entities `e0..e0 + S::F32_LANES`, accumulated in `J` registers.
    #[inline(always)]
    fn block<S: pulp::Simd, const J: usize>(
        &self,
        simd: S,
        x: &[f32],
        stride: usize,
        e0: usize,
        j0: usize,
        y: &mut [f32],
    ) {
        let lanes = S::F32_LANES;
        let layer = self.layer;
        let width = self.width;
        // Plain loops, not `array::from_fn`: its closure is not always inlined in a large caller.
        let mut rows: [&[f32]; J] = [&[]; J];
        let mut acc: [S::f32s; J] = [simd.splat_f32s(0.0); J];
        for jj in 0..J {
            rows[jj] = &layer.weight[(j0 + jj) * layer.fan_in + self.col_start..][..width];
            acc[jj] = simd.splat_f32s(self.init[j0 + jj]);
        }
        let x = &x[e0..];
        for k in 0..width {
            let xk = S::as_simd_f32s(&x[k * stride..][..lanes]).0[0];
            for (a, row) in acc.iter_mut().zip(&rows) {
                *a = simd.add_f32s(*a, simd.mul_f32s(xk, simd.splat_f32s(row[k])));
            }
        }
        for (jj, a) in acc.into_iter().enumerate() {
            S::as_mut_simd_f32s(&mut y[(j0 + jj) * stride + e0..][..lanes]).0[0] = a;
        }
    }
}

/// The hidden non-linearity in place (a plain loop written here, so it is vectorised for the
/// instruction set of the caller).
#[inline(always)]
pub(super) fn activate(values: &mut [f32], activation: Activation) {
    match activation {
        Activation::Tanh => {
            for v in values.iter_mut() {
                *v = crate::nn::fast_tanh::tanh(*v);
            }
        }
        Activation::Relu => {
            for v in values.iter_mut() {
                *v = v.max(0.0);
            }
        }
    }
}

/// `xt[k * stride + e] = rows[e * width + k]` for the `rows.len() / width` entities, zeros in the
/// padding entities up to `stride`: entity rows to the feature-major layout.
#[inline(always)]
pub(super) fn to_feature_major(rows: &[f32], width: usize, stride: usize, xt: &mut Vec<f32>) {
    xt.clear();
    xt.resize(width * stride, 0.0);
    let n = rows.len() / width.max(1);
    for (k, feature) in xt.chunks_exact_mut(stride.max(1)).enumerate() {
        for (x, row) in feature[..n].iter_mut().zip(rows.chunks_exact(width)) {
            *x = row[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The kernel against the plain definition, on shapes with leftover entities (padding lanes)
    /// and leftover outputs of every block size, with a column offset and both activations:
    /// bit-identical (same summation order), whatever the lane count and output block.
    #[test]
    fn lane_layer_equals_the_sequential_sum_with_leftover_entities_and_outputs() {
        /// Entities, fan-in, fan-out, first column, width, activation.
        type Case = (usize, usize, usize, usize, usize, Option<Activation>);
        fn check<S: pulp::Simd, const J: usize>(simd: S, case: Case, rng: &mut ChaCha8Rng) {
            let (n, fan_in, fan_out, col_start, width, activation) = case;
            let layer = Dense {
                fan_in,
                fan_out,
                weight: (0..fan_in * fan_out)
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect(),
                bias: vec![0.0; fan_out],
            };
            let rows: Vec<f32> = (0..n * width)
                .map(|_| rng.random_range(-2.0..2.0))
                .collect();
            let init: Vec<f32> = (0..fan_out).map(|_| rng.random_range(-1.0..1.0)).collect();
            let stride = padded_entities(n, S::F32_LANES);
            let mut xt = Vec::new();
            to_feature_major(&rows, width, stride, &mut xt);
            let mut y = vec![f32::NAN; 3];
            LaneLayer {
                layer: &layer,
                col_start,
                width,
                init: &init,
                activation,
            }
            .run::<S, J>(simd, &xt, stride, &mut y);
            assert_eq!(y.len(), fan_out * stride);
            for e in 0..n {
                for j in 0..fan_out {
                    let mut want = init[j];
                    for k in 0..width {
                        want += rows[e * width + k] * layer.weight[j * fan_in + col_start + k];
                    }
                    let want = match activation {
                        Some(Activation::Tanh) => crate::nn::fast_tanh::tanh(want),
                        Some(Activation::Relu) => want.max(0.0),
                        None => want,
                    };
                    assert_eq!(
                        y[j * stride + e].to_bits(),
                        want.to_bits(),
                        "{} lanes, J {J}: entity {e} of {n}, output {j} of {fan_out}",
                        S::F32_LANES
                    );
                }
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let cases: [Case; 5] = [
            (9, 7, 31, 2, 5, None),
            (20, 8, 9, 0, 8, Some(Activation::Tanh)),
            (3, 3, 17, 0, 3, Some(Activation::Relu)),
            (0, 2, 2, 0, 2, None),
            (16, 25, 64, 0, 25, Some(Activation::Tanh)),
        ];
        for case in cases {
            check::<_, 8>(pulp::Scalar::new(), case, &mut rng);
            #[cfg(target_arch = "x86_64")]
            {
                if let Some(v3) = pulp::x86::V3::try_new() {
                    check::<_, 8>(v3, case, &mut rng);
                }
                if let Some(v4) = pulp::x86::V4::try_new() {
                    check::<_, 8>(v4, case, &mut rng);
                    check::<_, 4>(v4, case, &mut rng);
                }
            }
        }
    }
}
