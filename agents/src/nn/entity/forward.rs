//! The entity network's inference forward pass: plain loops compiled for each instruction set by
//! [`pulp`] and bit-identical on every one (see [`super::EntityParams::forward`]).
//!
//! ```text
//!   rows ─▶ feature-major ─▶ encoder 0 ─▶ encoder 1 ─┬─▶ pool (mean, max) ─▶ context ─▶ no-op, value
//!                            (lanes.rs: entities in   └─▶ scorer 0 (+ context part) ─▶ scorer 1 ─▶ scores
//!                             vector lanes)
//! ```
//! The four per-entity layers run in the rows-as-lanes layout of [`super::lanes`] (activations
//! feature-major, weights read in place); the context's dot products are in [`super::context`].
//! One pass reuses per-thread buffers ([`Scratch`]), so a decision allocates nothing after the
//! first on a thread. The value head is evaluated only when asked for (a decision does not need it).

use std::cell::RefCell;

use mend_envs::EntityObs;

use super::context;
use super::lanes::{LaneLayer, LaneLayerOp, padded_entities, to_feature_major};
use super::{EntityParams, action_prior};

/// Buffers of one forward pass, reused across calls on a thread. Per-entity buffers are
/// feature-major with a stride of the entity count rounded up to whole vector blocks.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// The observation's rows, feature-major.
    rows_t: Vec<f32>,
    /// Encoder hidden layer.
    h1: Vec<f32>,
    /// Entity embeddings.
    emb: Vec<f32>,
    /// One entity's embedding at a time, row-major, for pooling in entity order.
    emb_rows: Vec<f32>,
    /// Scorer hidden layer.
    hidden: Vec<f32>,
    /// Scorer output (`n_kinds` feature rows).
    head: Vec<f32>,
    /// Pooled context `[mean, max, global]`.
    ctx: Vec<f32>,
    /// The scorer's first layer on the context (bias included): every entity's starting point.
    ctx_part: Vec<f32>,
    /// Output bias plus the action prior.
    bias_and_prior: Vec<f32>,
    /// A context head's hidden layer and output.
    head_hidden: Vec<f32>,
    head_out: Vec<f32>,
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
    fn with_simd<S: pulp::Simd>(self, simd: S) -> f32 {
        // One vector register of entities per block: 16 lanes with AVX-512, 8 with AVX2.
        forward_entities(simd, self.params, self.e, self.with_value, self.scratch)
    }
}

/// The forward pass on checked entities; scores into `scratch.scores`, returns the value (NaN when
/// `with_value` is false). `S::F32_LANES` entities per vector (see [`LaneLayer::run`]): it changes the
/// speed, never the result.
#[inline(always)]
fn forward_entities<S: pulp::Simd>(
    simd: S,
    params: &EntityParams,
    e: &EntityObs,
    with_value: bool,
    s: &mut Scratch,
) -> f32 {
    let spec = &params.spec;
    let n = e.n_entities();
    let h = spec.hidden;
    let lanes = S::F32_LANES;
    let stride = padded_entities(n, lanes);
    let act = Some(spec.activation);
    // ---- encode every row: two dense layers, activation after both ----
    let [enc0, enc1] = [&params.encoder.layers[0], &params.encoder.layers[1]];
    to_feature_major(&e.rows, e.width, stride, &mut s.rows_t);
    simd.vectorize(LaneLayerOp {
        layer: LaneLayer {
            layer: enc0,
            col_start: 0,
            width: enc0.fan_in,
            init: &enc0.bias,
            activation: act,
        },
        x: &s.rows_t,
        stride,
        y: &mut s.h1,
    });
    simd.vectorize(LaneLayerOp {
        layer: LaneLayer {
            layer: enc1,
            col_start: 0,
            width: h,
            init: &enc1.bias,
            activation: act,
        },
        x: &s.h1,
        stride,
        y: &mut s.emb,
    });
    // ---- pool: mean and max over entities, each feature summed in entity order ----
    s.ctx.clear();
    s.ctx.resize(spec.context_width(), 0.0);
    if n > 0 {
        let (mean, rest) = s.ctx.split_at_mut(h);
        let (max, global) = rest.split_at_mut(h);
        max.fill(f32::NEG_INFINITY);
        s.emb_rows.clear();
        s.emb_rows.resize(lanes * h, 0.0);
        let (emb, emb_rows) = (&s.emb[..], &mut s.emb_rows[..]);
        for e0 in (0..n).step_by(lanes) {
            // A block of entities back to rows, then added row by row (vectorised over features).
            let valid = lanes.min(n - e0);
            block_to_rows(emb, stride, e0, valid, emb_rows);
            for row in emb_rows.chunks_exact(h).take(valid) {
                for ((m, x), &v) in mean.iter_mut().zip(max.iter_mut()).zip(row) {
                    *m += v;
                    *x = x.max(v);
                }
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f32);
        global.copy_from_slice(&e.global);
    } else {
        s.ctx[2 * h..].copy_from_slice(&e.global);
    }
    // ---- heads and the scorer's context part, on the context ----
    let (noop, value) = simd.vectorize(context::ContextOp {
        params,
        ctx: &s.ctx,
        with_value,
        hidden: &mut s.head_hidden,
        out: &mut s.head_out,
        ctx_part: &mut s.ctx_part,
    });
    // ---- scorer: entity part of the first layer (from the context part), then the kinds ----
    let first = &params.scorer.layers[0];
    let out = &params.scorer.layers[1];
    simd.vectorize(LaneLayerOp {
        layer: LaneLayer {
            layer: first,
            col_start: 0,
            width: h,
            init: &s.ctx_part,
            activation: act,
        },
        x: &s.emb,
        stride,
        y: &mut s.hidden,
    });
    let prior = action_prior(n, spec.n_kinds);
    s.bias_and_prior.clear();
    s.bias_and_prior.extend(out.bias.iter().map(|b| b + prior));
    simd.vectorize(LaneLayerOp {
        layer: LaneLayer {
            layer: out,
            col_start: 0,
            width: first.fan_out,
            init: &s.bias_and_prior,
            activation: None,
        },
        x: &s.hidden,
        stride,
        y: &mut s.head,
    });
    // ---- flat scores: the no-op, then entity by entity, kind by kind ----
    let k = spec.n_kinds;
    s.scores.clear();
    s.scores.resize(1 + n * k, 0.0);
    s.scores[0] = noop;
    let scores = &mut s.scores[1..];
    for (kind, feature) in s.head.chunks_exact(stride.max(1)).enumerate() {
        for (entity, &v) in feature[..n].iter().enumerate() {
            scores[entity * k + kind] = v;
        }
    }
    value
}

/// Entities `e0..e0 + valid` of the feature-major `emb` (feature rows of `stride`) as rows of
/// `h = emb.len() / stride` features each, into the first `valid` rows of `rows`. Kept out of line, compiled for
/// the baseline instruction set: inside the AVX-512 function the compiler turned this copy into
/// gathers, 3x slower than plain loads and stores (measured).
#[inline(never)]
fn block_to_rows(emb: &[f32], stride: usize, e0: usize, valid: usize, rows: &mut [f32]) {
    let h = emb.len() / stride.max(1);
    for (l, row) in rows.chunks_exact_mut(h.max(1)).take(valid).enumerate() {
        for (r, feature) in row.iter_mut().zip(emb.chunks_exact(stride)) {
            *r = feature[e0 + l];
        }
    }
}
