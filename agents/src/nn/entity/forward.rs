//! The entity network's inference forward pass: plain loops, register-blocked, compiled for each
//! instruction set by [`pulp`] and bit-identical on every one (see [`super::EntityParams::forward`]).
//!
//! One pass reuses per-thread buffers ([`Scratch`]), so a decision allocates nothing after the
//! first on a thread. The value head is evaluated only when asked for (a decision does not need it).

use std::cell::RefCell;

use mend_envs::EntityObs;

use super::{EntityParams, action_prior};
use crate::nn::{Activation, Dense, plain};

/// Buffers of one forward pass, reused across calls on a thread.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// Transposed, padded weights of the layers, kept while the weights do not change.
    wt: Transposed,
    /// Encoder hidden layer, one padded row per entity.
    h1: Vec<f32>,
    /// Entity embeddings.
    emb: Vec<f32>,
    /// Scorer hidden layer.
    hidden: Vec<f32>,
    /// Scorer output, padded rows.
    head: Vec<f32>,
    /// Pooled context `[mean, max, global]`.
    ctx: Vec<f32>,
    /// The scorer's first layer on the context (bias included): every entity's starting point.
    ctx_part: Vec<f32>,
    /// Output bias plus the action prior.
    bias_and_prior: Vec<f32>,
    /// Flat scores `[no-op, (entity, kind)...]` of the last pass.
    pub(super) scores: Vec<f32>,
    /// Probabilities of the last decision (filled by the caller).
    pub(super) probabilities: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers.
pub(super) fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|s| f(&mut s.borrow_mut()))
}

/// The forward pass as a [`pulp::WithSimd`] operation: `with_simd` is `inline(always)` and generic
/// over the instruction set, so [`forward_entities`] and its kernels are compiled inside each set's
/// `#[target_feature]` function (a closure would be compiled once, for the baseline).
pub(super) struct ForwardOp<'a> {
    pub(super) params: &'a EntityParams,
    pub(super) e: &'a EntityObs,
    /// Whether to evaluate the value head (else the returned value is NaN).
    pub(super) with_value: bool,
    pub(super) scratch: &'a mut Scratch,
}

impl pulp::WithSimd for ForwardOp<'_> {
    /// The state value (NaN unless asked for); the scores are left in `scratch.scores`.
    type Output = f32;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> f32 {
        // Two vector registers of outputs per row: 32 outputs with AVX-512, 16 with AVX2, 8 on the
        // baseline's SSE (the blocks then hold 8 accumulators of the 16 or 32 vector registers);
        // one register for the last layer's few (`n_kinds`) outputs, padded.
        let Self {
            params,
            e,
            with_value,
            scratch,
        } = self;
        match S::F32_LANES {
            16.. => forward_entities::<32, 16>(params, e, with_value, scratch),
            8 => forward_entities::<16, 8>(params, e, with_value, scratch),
            _ => forward_entities::<8, 4>(params, e, with_value, scratch),
        }
    }
}

/// The forward pass on checked entities; scores into `scratch.scores`, returns the value (NaN when
/// `with_value` is false). `COLS` is the kernels' register-block width (see [`affine_rows`]),
/// `HEAD_COLS` the one of the narrow last layer (`n_kinds` outputs); they change the speed, never
/// the result.
#[inline(always)]
fn forward_entities<const COLS: usize, const HEAD_COLS: usize>(
    params: &EntityParams,
    e: &EntityObs,
    with_value: bool,
    s: &mut Scratch,
) -> f32 {
    let spec = &params.spec;
    let n = e.n_entities();
    let h = spec.hidden;
    // ---- encode every row: two dense layers, activation after both ----
    let [enc0, enc1] = [&params.encoder.layers[0], &params.encoder.layers[1]];
    let bias0 = &enc0.bias;
    affine_rows::<COLS>(
        &e.rows,
        n,
        enc0,
        0,
        enc0.fan_in,
        |_| &bias0[..],
        &mut s.wt,
        &mut s.h1,
    );
    let h1_stride = padded::<COLS>(h);
    activate(&mut s.h1, spec.activation);
    affine_rows_strided::<COLS>(
        &s.h1,
        h1_stride,
        n,
        enc1,
        0,
        h,
        |_| &enc1.bias[..],
        &mut s.wt,
        &mut s.emb,
    );
    let emb_stride = padded::<COLS>(h);
    activate(&mut s.emb, spec.activation);
    // ---- pool ----
    s.ctx.clear();
    s.ctx.resize(spec.context_width(), 0.0);
    if n > 0 {
        let (mean, rest) = s.ctx.split_at_mut(h);
        let (max, global) = rest.split_at_mut(h);
        max.fill(f32::NEG_INFINITY);
        for row in s.emb.chunks_exact(emb_stride) {
            for ((m, x), &v) in mean.iter_mut().zip(max.iter_mut()).zip(&row[..h]) {
                *m += v;
                *x = x.max(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f32);
        global.copy_from_slice(&e.global);
    } else {
        s.ctx[2 * h..].copy_from_slice(&e.global);
    }
    // ---- heads on the context ----
    let noop = plain::forward(&params.noop, &s.ctx)[0];
    let value = if with_value {
        plain::forward(&params.value, &s.ctx)[0]
    } else {
        f32::NAN
    };
    // ---- scorer: first layer split into entity and context parts ----
    let first = &params.scorer.layers[0];
    let out = &params.scorer.layers[1];
    s.ctx_part.clear();
    for (w, b) in first.weight.chunks_exact(first.fan_in).zip(&first.bias) {
        s.ctx_part.push(b + dot(&w[h..], &s.ctx));
    }
    affine_rows_strided::<COLS>(
        &s.emb,
        emb_stride,
        n,
        first,
        0,
        h,
        |_| &s.ctx_part[..],
        &mut s.wt,
        &mut s.hidden,
    );
    let hidden_stride = padded::<COLS>(first.fan_out);
    activate(&mut s.hidden, spec.activation);
    let prior = action_prior(n, spec.n_kinds);
    s.bias_and_prior.clear();
    s.bias_and_prior.extend(out.bias.iter().map(|b| b + prior));
    affine_rows_strided::<HEAD_COLS>(
        &s.hidden,
        hidden_stride,
        n,
        out,
        0,
        first.fan_out,
        |_| &s.bias_and_prior[..],
        &mut s.wt,
        &mut s.head,
    );
    let head_stride = padded::<HEAD_COLS>(out.fan_out);
    s.scores.clear();
    s.scores.reserve(1 + n * spec.n_kinds);
    s.scores.push(noop);
    for row in s.head.chunks_exact(head_stride) {
        s.scores.extend_from_slice(&row[..out.fan_out]);
    }
    value
}

/// `out` rounded up to a multiple of `BLOCK_COLS`: the row stride of [`affine_rows`]' output.
pub(super) const fn padded<const BLOCK_COLS: usize>(out: usize) -> usize {
    out.div_ceil(BLOCK_COLS) * BLOCK_COLS
}

/// [`affine_rows_strided`] on dense input rows (stride `width`).
#[allow(clippy::too_many_arguments)] // the kernel's full description; called from four places
#[inline(always)]
pub(super) fn affine_rows<'a, const BLOCK_COLS: usize>(
    x: &[f32],
    n: usize,
    layer: &Dense,
    col_start: usize,
    width: usize,
    init: impl Fn(usize) -> &'a [f32],
    wt: &mut Transposed,
    y: &mut Vec<f32>,
) {
    affine_rows_strided::<BLOCK_COLS>(x, width, n, layer, col_start, width, init, wt, y);
}

/// `y_r = init(r) + W[:, cols] x_r` for the `n` rows `x_r = x[r * x_stride..][..width]`, where `cols`
/// is `col_start..col_start + width` of the layer's weight matrix; `y` gets `n` rows of stride
/// [`padded`]`::<BLOCK_COLS>(fan_out)` (the padding columns hold zeros). Computed with the weights
/// transposed (cached in `wt`) so the inner loop runs over contiguous outputs (`y += x_k * W^T[k]`,
/// vectorised without the horizontal sums a dot product per output needs), and register-blocked:
/// [`BLOCK_ROWS`] rows times `BLOCK_COLS` outputs (chosen per instruction set by the caller) stay in
/// local accumulators over the whole `k` loop, so each weight chunk is loaded once per block of rows
/// instead of once per row and the outputs are not reloaded per `k` (the textbook GEMM micro-kernel:
/// Goto & van de Geijn, ACM TOMS 34(3), 2008). Every output is still `init + x_0 w_0 + x_1 w_1 + ...`
/// summed in the same order, so results are bit-identical to the plain loop (kept for the leftover
/// rows) whatever `BLOCK_COLS` is.
#[allow(clippy::too_many_arguments)] // the kernel's full description; called from four places
#[inline(always)]
pub(super) fn affine_rows_strided<'a, const BLOCK_COLS: usize>(
    x: &[f32],
    x_stride: usize,
    n: usize,
    layer: &Dense,
    col_start: usize,
    width: usize,
    init: impl Fn(usize) -> &'a [f32],
    wt: &mut Transposed,
    y: &mut Vec<f32>,
) {
    let out = layer.fan_out;
    let padded = padded::<BLOCK_COLS>(out);
    let wt = wt.get(layer, col_start, width, padded);
    y.clear();
    y.resize(n * padded, 0.0);
    for (r, y_r) in y.chunks_exact_mut(padded).enumerate() {
        y_r[..out].copy_from_slice(init(r));
    }
    let blocked_rows = n / BLOCK_ROWS * BLOCK_ROWS;
    for (b, y_blk) in y
        .chunks_exact_mut(padded * BLOCK_ROWS)
        .take(blocked_rows / BLOCK_ROWS)
        .enumerate()
    {
        let x_rows: [&[f32]; BLOCK_ROWS] =
            std::array::from_fn(|r| &x[(b * BLOCK_ROWS + r) * x_stride..][..width]);
        for c0 in (0..padded).step_by(BLOCK_COLS) {
            let mut acc = [[0.0f32; BLOCK_COLS]; BLOCK_ROWS];
            for (r, a) in acc.iter_mut().enumerate() {
                a.copy_from_slice(&y_blk[r * padded + c0..][..BLOCK_COLS]);
            }
            for (k, wt_k) in wt.chunks_exact(padded).enumerate() {
                let w: [f32; BLOCK_COLS] = std::array::from_fn(|j| wt_k[c0 + j]);
                for (a, x_r) in acc.iter_mut().zip(&x_rows) {
                    let xk = x_r[k];
                    for (aj, wj) in a.iter_mut().zip(w) {
                        *aj += xk * wj;
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                y_blk[r * padded + c0..][..BLOCK_COLS].copy_from_slice(a);
            }
        }
    }
    // Leftover rows.
    for (r, y_r) in y.chunks_exact_mut(padded).enumerate().skip(blocked_rows) {
        let x_r = &x[r * x_stride..][..width];
        for (&xk, wt_k) in x_r.iter().zip(wt.chunks_exact(padded)) {
            for (yj, &w) in y_r.iter_mut().zip(wt_k) {
                *yj += xk * w;
            }
        }
    }
}

/// Transposed weight matrices kept across forward passes on a thread. Transposing a 64 x 64 layer
/// costs more than checking that its weights are unchanged, so each entry keeps a copy of the
/// weights it was made from and is reused only while they are the same bit for bit (a trained or
/// reloaded network, whatever its address, never reads a stale copy).
#[derive(Debug, Default)]
pub(super) struct Transposed {
    entries: Vec<TransposedLayer>,
    /// The entry replaced next when all are taken (round robin).
    next_victim: usize,
}

/// One cached transposition: the weight columns it was made from (row-major, `fan_out x width`)
/// and `wt[k * padded + j] = W[j, col_start + k]`, zeros in the padding columns.
#[derive(Debug)]
struct TransposedLayer {
    key: (usize, usize, usize, usize, usize),
    source: Vec<f32>,
    wt: Vec<f32>,
}

/// Entries kept: the four matrices of two networks.
const TRANSPOSED_ENTRIES: usize = 8;

impl Transposed {
    /// `W[:, col_start..col_start + width]` transposed with rows of `padded` outputs.
    #[inline(always)]
    pub(super) fn get(
        &mut self,
        layer: &Dense,
        col_start: usize,
        width: usize,
        padded: usize,
    ) -> &[f32] {
        let key = (layer.fan_out, layer.fan_in, col_start, width, padded);
        let columns = |j: usize| &layer.weight[j * layer.fan_in + col_start..][..width];
        // A plain loop: a `position` closure would be outlined and compiled for the baseline set.
        let mut hit = None;
        for (i, e) in self.entries.iter().enumerate() {
            if e.key != key {
                continue;
            }
            let mut same = true;
            for j in 0..layer.fan_out {
                same &= same_bits(columns(j), &e.source[j * width..][..width]);
            }
            if same {
                hit = Some(i);
                break;
            }
        }
        let i = match hit {
            Some(i) => i,
            None => {
                let i = if self.entries.len() < TRANSPOSED_ENTRIES {
                    self.entries.push(TransposedLayer {
                        key,
                        source: Vec::new(),
                        wt: Vec::new(),
                    });
                    self.entries.len() - 1
                } else {
                    self.next_victim = (self.next_victim + 1) % TRANSPOSED_ENTRIES;
                    self.next_victim
                };
                let e = &mut self.entries[i];
                e.key = key;
                e.source.clear();
                for j in 0..layer.fan_out {
                    e.source.extend_from_slice(columns(j));
                }
                transpose_padded(layer, col_start, width, padded, &mut e.wt);
                i
            }
        };
        &self.entries[i].wt
    }
}

/// Whether `a` and `b` hold the same bits (no early exit, so it vectorises).
#[inline(always)]
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    const LANES: usize = 16;
    if a.len() != b.len() {
        return false;
    }
    let mut diff = [0u32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let mut tail = 0u32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail |= x.to_bits() ^ y.to_bits();
    }
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            diff[k] |= x[k].to_bits() ^ y[k].to_bits();
        }
    }
    tail == 0 && diff.iter().all(|&d| d == 0)
}

/// `wt[k * padded + j] = W[j, col_start + k]` for `k < width`, `j < fan_out`, zeros in the padding
/// columns: the layer's weight columns `col_start..col_start + width`, transposed.
fn transpose_padded(
    layer: &Dense,
    col_start: usize,
    width: usize,
    padded: usize,
    wt: &mut Vec<f32>,
) {
    wt.clear();
    wt.resize(width * padded, 0.0);
    for (j, w_row) in layer.weight.chunks_exact(layer.fan_in).enumerate() {
        for (k, &w) in w_row[col_start..col_start + width].iter().enumerate() {
            wt[k * padded + j] = w;
        }
    }
}

/// Rows per register block of [`affine_rows`].
const BLOCK_ROWS: usize = 4;

/// Dot product with eight independent accumulators, so the compiler can vectorise it (a plain
/// iterator `sum` is sequential in floating point and stays scalar).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

/// The hidden non-linearity, in place (the loop is written here, not called, so it is vectorised for
/// the instruction set of the caller).
#[inline(always)]
pub(super) fn activate(values: &mut [f32], activation: Activation) {
    // Plain `for` loops: an iterator's `for_each` with this body is not always inlined, and an
    // outlined copy is compiled for the baseline instruction set (measured: 11 % of a decision).
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
