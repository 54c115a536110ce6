//! The entity network on candle, for training: the same parameters as [`EntityParams`] (which stays the
//! fast inference path) evaluated on a whole minibatch of cluster observations with different entity
//! counts, so a loss on its outputs can be differentiated.
//!
//! ```text
//!   rows of all B observations ──(one matmul)──▶ embeddings E  [R, h]
//!   E padded to [B, maxE, h] by one row gather (pad rows: 0 for the mean, -1e9 for the max)
//!   mean pool: sum over dim 1 of the 0-padded rows, times 1/n_b       [B, h]  (0 where n_b = 0)
//!   max pool:  max over dim 1 of the -1e9-padded rows                [B, h]  (0 where n_b = 0)
//!   context C = [mean, max, global]                                [B, 2h + g]
//!   scorer on [E, C[obs(r)]], first layer split: E W_e + (C W_c + b)[obs(r)]   [R, K]
//!   scores += action_prior(n_b, K) = -ln(n_b K)   (no-op and "act" equally likely at equal scores)
//!   logits = [noop(C), scores padded to maxE*K with PAD_LOGIT]      [B, 1 + maxE*K]
//!   value  = value(C)                                               [B]
//! ```
//! Entry `1 + i*K + k` of row `b` is the logit of (entity `i`, kind `k`), the cluster env's flat order;
//! entries past `1 + n_b*K` are [`PAD_LOGIT`] (probability exactly 0 after a softmax, and `p log p = 0`).
//! As in the plain forward, the scorer's first layer is split into its embedding and context columns,
//! so the context part is one `[B, 2h+g] x [2h+g, h]` product rather than one per row (a third of the
//! update's floating-point work at h = 64). The mean pool gathers rows rather than multiplying by a
//! dense `[B, R]` segment matrix: on `default` (68 entities, minibatch 256) that matrix was 17 MB and
//! its product and gradient (candle differentiates both operands of a matmul) were about 60 % of an
//! update's arithmetic.

use candle_core::{D, Device, Tensor};

use super::candle_mlp::CandleMlp;
use super::entity::{EntityParams, EntitySpec, action_prior};
use super::{Activation, fast_tanh};
use crate::error::AgentError;
use mend_envs::EntityObs;

/// Logit of padded or masked actions: `exp` of it is exactly 0 in f32 and, unlike `-inf`, it keeps
/// `p * log p` at 0 rather than NaN (Huang & Ontañón 2022, "A Closer Look at Invalid Action Masking",
/// use -1e8 likewise).
pub const PAD_LOGIT: f32 = -1e8;

/// Below any embedding value: padding for the max pool.
const POOL_PAD: f32 = -1e9;

/// A minibatch of entity observations, rows concatenated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntityBatch {
    /// Features per row.
    pub row_width: usize,
    /// Global features per observation.
    pub global_width: usize,
    /// All rows, observation after observation, `R x row_width`.
    pub rows: Vec<f32>,
    /// Rows of each observation.
    pub counts: Vec<usize>,
    /// Global features, `B x global_width`.
    pub global: Vec<f32>,
}

impl EntityBatch {
    /// An empty batch for observations of the given widths.
    pub fn new(row_width: usize, global_width: usize) -> Self {
        Self {
            row_width,
            global_width,
            ..Self::default()
        }
    }

    /// Appends one observation (the caller checks its widths).
    pub fn push(&mut self, obs: &EntityObs) {
        self.rows.extend_from_slice(&obs.rows);
        self.counts.push(obs.n_entities());
        self.global.extend_from_slice(&obs.global);
    }

    /// Appends observation `rows`/`global` given as slices.
    pub fn push_parts(&mut self, rows: &[f32], global: &[f32]) {
        self.rows.extend_from_slice(rows);
        self.counts
            .push(rows.len().checked_div(self.row_width).unwrap_or(0));
        self.global.extend_from_slice(global);
    }

    /// Number of observations.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether the batch holds no observation.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Largest entity count in the batch.
    pub fn max_entities(&self) -> usize {
        self.counts.iter().copied().max().unwrap_or(0)
    }
}

/// An entity network whose parameters are candle variables.
#[derive(Debug)]
pub struct CandleEntity {
    spec: EntitySpec,
    encoder: CandleMlp,
    scorer: CandleMlp,
    noop: CandleMlp,
    value: CandleMlp,
}

impl CandleEntity {
    /// Variables holding a copy of `params`.
    pub fn from_params(params: &EntityParams, device: &Device) -> candle_core::Result<Self> {
        Ok(Self {
            spec: params.spec.clone(),
            encoder: CandleMlp::from_params(&params.encoder, device)?,
            scorer: CandleMlp::from_params(&params.scorer, device)?,
            noop: CandleMlp::from_params(&params.noop, device)?,
            value: CandleMlp::from_params(&params.value, device)?,
        })
    }

    /// Padded logits `[B, 1 + maxE * K]` and values `[B]` of every observation in `batch`.
    pub fn forward(&self, batch: &EntityBatch) -> Result<(Tensor, Tensor), AgentError> {
        let s = &self.spec;
        if batch.row_width != s.row_width || batch.global_width != s.global_width {
            return Err(AgentError::ObservationMismatch {
                expected: format!(
                    "entity rows of {} features and {} global features",
                    s.row_width, s.global_width
                ),
                got: format!(
                    "rows of {} and {} global",
                    batch.row_width, batch.global_width
                ),
            });
        }
        let n_rows: usize = batch.counts.iter().sum();
        if n_rows == 0 || batch.rows.len() != n_rows * s.row_width {
            return Err(AgentError::ObservationMismatch {
                expected: "a minibatch with at least one entity row".into(),
                got: format!("{} observations with {n_rows} rows", batch.counts.len()),
            });
        }
        Ok(self.forward_tensors(batch, n_rows)?)
    }

    fn forward_tensors(
        &self,
        batch: &EntityBatch,
        n_rows: usize,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let s = &self.spec;
        let dev = &Device::Cpu;
        let (b, h, k) = (batch.len(), s.hidden, s.n_kinds);
        let max_e = batch.max_entities();
        // ---- encode every row of the minibatch at once ----
        let x = Tensor::from_slice(&batch.rows, (n_rows, s.row_width), dev)?;
        let emb = activate(self.encoder.forward(&x)?, s.activation)?;
        // ---- index tensors: owner of each row, pool and logit gathers ----
        // Row `n_rows` of the extended embeddings is the mean pool's zero pad, `n_rows + 1` the max
        // pool's POOL_PAD.
        let (zero_row, pad_row) = (n_rows as u32, n_rows as u32 + 1);
        let mut owner = Vec::with_capacity(n_rows);
        let mut mean_idx = Vec::with_capacity(b * max_e);
        let mut max_idx = Vec::with_capacity(b * max_e);
        let mut logit_idx = Vec::with_capacity(b * max_e * k);
        let mut inv_count = Vec::with_capacity(b);
        let mut has_rows = Vec::with_capacity(b);
        let mut prior = Vec::with_capacity(n_rows * k);
        let mut first = 0usize;
        for (obs, &n) in batch.counts.iter().enumerate() {
            owner.extend(std::iter::repeat_n(obs as u32, n));
            for i in 0..max_e {
                let row = (first + i) as u32;
                mean_idx.push(if i < n { row } else { zero_row });
                max_idx.push(if i < n { row } else { pad_row });
                for kind in 0..k {
                    logit_idx.push(if i < n {
                        ((first + i) * k + kind) as u32
                    } else {
                        (n_rows * k) as u32
                    });
                }
            }
            has_rows.push(if n > 0 { 1.0f32 } else { 0.0 });
            inv_count.push(if n > 0 { 1.0 / n as f32 } else { 0.0 });
            prior.extend(std::iter::repeat_n(action_prior(n, k), n * k));
            first += n;
        }
        // ---- pool over rows gathered to [B, max_e, h] ----
        let pads = Tensor::from_vec([vec![0.0f32; h], vec![POOL_PAD; h]].concat(), (2, h), dev)?;
        let extended = Tensor::cat(&[&emb, &pads], 0)?;
        let gather = |idx: Vec<u32>| {
            extended
                .index_select(&Tensor::from_vec(idx, b * max_e, dev)?, 0)?
                .reshape((b, max_e, h))
        };
        let mean =
            gather(mean_idx)?
                .sum(1)?
                .broadcast_mul(&Tensor::from_vec(inv_count, (b, 1), dev)?)?;
        let max =
            gather(max_idx)?
                .max(1)?
                .broadcast_mul(&Tensor::from_vec(has_rows, (b, 1), dev)?)?;
        let global = Tensor::from_slice(&batch.global, (b, s.global_width), dev)?;
        let ctx = Tensor::cat(&[&mean, &max, &global], 1)?;
        // ---- heads ----
        let noop = self.noop.forward(&ctx)?;
        let value = self.value.forward(&ctx)?.squeeze(1)?;
        let owner = Tensor::from_vec(owner, n_rows, dev)?;
        let scores = (self.scores(&emb, &ctx, &owner)?.flatten_all()?
            + Tensor::from_vec(prior, n_rows * k, dev)?)?;
        let pad = Tensor::full(PAD_LOGIT, 1, dev)?;
        let entity_logits = Tensor::cat(&[&scores, &pad], 0)?
            .index_select(&Tensor::from_vec(logit_idx, b * max_e * k, dev)?, 0)?
            .reshape((b, max_e * k))?;
        let logits = Tensor::cat(&[&noop, &entity_logits], D::Minus1)?;
        Ok((logits, value))
    }

    /// The scorer `[h_r, C[owner(r)]] -> hidden -> K` for every row, its first layer split.
    fn scores(&self, emb: &Tensor, ctx: &Tensor, owner: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.spec.hidden;
        let vars = self.scorer.vars();
        let (w0, b0, w1, b1) = (
            vars[0].as_tensor(),
            vars[1].as_tensor(),
            vars[2].as_tensor(),
            vars[3].as_tensor(),
        );
        let ctx_w = w0.narrow(1, h, w0.dim(1)? - h)?;
        let ctx_part = ctx.matmul(&ctx_w.t()?)?.broadcast_add(b0)?;
        let emb_part = emb.matmul(&w0.narrow(1, 0, h)?.t()?)?;
        let hidden = activate(
            (emb_part + ctx_part.index_select(owner, 0)?)?,
            self.spec.activation,
        )?;
        hidden.matmul(&w1.t()?)?.broadcast_add(b1)
    }

    /// Gradients as flat vectors in [`EntityParams::tensors`] order (zeros where none).
    pub fn flat_grads(
        &self,
        grads: &candle_core::backprop::GradStore,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let mut out = self.encoder.flat_grads(grads)?;
        out.extend(self.scorer.flat_grads(grads)?);
        out.extend(self.noop.flat_grads(grads)?);
        out.extend(self.value.flat_grads(grads)?);
        Ok(out)
    }
}

fn activate(x: Tensor, activation: Activation) -> candle_core::Result<Tensor> {
    match activation {
        Activation::Tanh => x.apply_op1(fast_tanh::FastTanh),
        Activation::Relu => x.relu(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mend_envs::Observation;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn candle_forward_equals_plain_forward_on_mixed_entity_counts() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for activation in [Activation::Tanh, Activation::Relu] {
            let spec = EntitySpec {
                row_width: 5,
                global_width: 3,
                hidden: 16,
                n_kinds: 3,
                activation,
            };
            let mut params = EntityParams::init(spec.clone(), &mut rng);
            // Larger heads so the comparison is not between numbers all near zero.
            for w in params.scorer.layers[1]
                .weight
                .iter_mut()
                .chain(&mut params.noop.layers[1].weight)
            {
                *w *= 100.0;
            }
            let mut batch = EntityBatch::new(5, 3);
            let mut obs = Vec::new();
            for n in [3usize, 1, 7, 0, 4] {
                let o = EntityObs {
                    global: (0..3).map(|_| rng.random_range(-1.0..1.0)).collect(),
                    width: 5,
                    rows: (0..5 * n).map(|_| rng.random_range(-2.0..2.0)).collect(),
                };
                batch.push(&o);
                obs.push(Observation::Entities(o));
            }
            let net = CandleEntity::from_params(&params, &Device::Cpu).unwrap();
            let (logits, values) = net.forward(&batch).unwrap();
            let logits = logits.to_vec2::<f32>().unwrap();
            let values = values.to_vec1::<f32>().unwrap();
            assert_eq!(logits[0].len(), 1 + 7 * 3);
            for (b, o) in obs.iter().enumerate() {
                let (want, v) = params.forward(o).unwrap();
                assert!((values[b] - v).abs() <= 1e-5, "value {b}");
                for (a, w) in want.iter().enumerate() {
                    let g = logits[b][a];
                    assert!(
                        (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                        "{activation:?} obs {b} action {a}: candle {g} vs plain {w}"
                    );
                }
                assert!(logits[b][want.len()..].iter().all(|&x| x == PAD_LOGIT));
            }
        }
    }

    #[test]
    fn gradients_reach_every_parameter() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let spec = EntitySpec {
            row_width: 4,
            global_width: 2,
            hidden: 8,
            n_kinds: 2,
            activation: Activation::Tanh,
        };
        let params = EntityParams::init(spec, &mut rng);
        let mut batch = EntityBatch::new(4, 2);
        for n in [2usize, 5] {
            let rows: Vec<f32> = (0..4 * n).map(|_| rng.random_range(-1.0..1.0)).collect();
            batch.push_parts(&rows, &[0.3, -0.2]);
        }
        let net = CandleEntity::from_params(&params, &Device::Cpu).unwrap();
        let (logits, values) = net.forward(&batch).unwrap();
        let loss = (candle_nn::ops::log_softmax(&logits, D::Minus1)
            .unwrap()
            .narrow(1, 1, 4)
            .unwrap()
            .sum_all()
            .unwrap()
            + values.sqr().unwrap().sum_all().unwrap())
        .unwrap();
        let grads = net.flat_grads(&loss.backward().unwrap()).unwrap();
        assert_eq!(grads.len(), params.tensors().len());
        for (g, t) in grads.iter().zip(params.tensors()) {
            assert_eq!(g.len(), t.len());
            assert!(g.iter().any(|&x| x != 0.0), "a tensor got no gradient");
        }
    }
}
