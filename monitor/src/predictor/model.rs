//! The predictor's parameters as one flat `f32` vector (what federated clients exchange), their
//! seeded initialisation and a hand-written forward pass for inference (no tensor allocation
//! per call). Layout: `w1 (hidden x input), b1 (hidden), w2 (hidden), b2 (1)`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The shape of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictorSpec {
    /// Input width: window length times feature row width.
    pub input: usize,
    /// Hidden units (one tanh layer).
    pub hidden: usize,
}

impl PredictorSpec {
    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.hidden * self.input + 2 * self.hidden + 1
    }
}

/// A predictor: spec, flat parameters and the input scaling (fixed schema bounds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictorModel {
    /// Shape.
    pub spec: PredictorSpec,
    /// Flat parameters (see the module docs for the layout).
    pub params: Vec<f32>,
    /// Per input: `(low, high)`; inputs are mapped to `(x - low) / (high - low)`.
    pub bounds: Vec<(f32, f32)>,
}

impl PredictorModel {
    /// A model initialised from `seed` (Glorot/Xavier uniform weights, Glorot & Bengio 2010;
    /// zero biases), drawn from our own ChaCha8 stream: candle's generator cannot be seeded.
    pub fn init(spec: PredictorSpec, bounds: Vec<(f32, f32)>, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = Vec::with_capacity(spec.num_params());
        let a1 = (6.0 / (spec.input + spec.hidden) as f32).sqrt();
        params.extend((0..spec.hidden * spec.input).map(|_| rng.random_range(-a1..a1)));
        params.extend(std::iter::repeat_n(0.0, spec.hidden));
        let a2 = (6.0 / (spec.hidden + 1) as f32).sqrt();
        params.extend((0..spec.hidden).map(|_| rng.random_range(-a2..a2)));
        params.push(0.0);
        PredictorModel {
            spec,
            params,
            bounds,
        }
    }

    /// `(w1, b1, w2, b2)` views of the parameters.
    pub(crate) fn split(&self) -> (&[f32], &[f32], &[f32], f32) {
        let (h, i) = (self.spec.hidden, self.spec.input);
        let (w1, rest) = self.params.split_at(h * i);
        let (b1, rest) = rest.split_at(h);
        let (w2, rest) = rest.split_at(h);
        (w1, b1, w2, rest[0])
    }

    /// Scales one raw input vector into `out`.
    pub fn scale_into(&self, raw: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(raw.iter().zip(&self.bounds).map(|(&x, &(lo, hi))| {
            if hi > lo {
                ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                0.0
            }
        }));
    }

    /// The logit for one raw (unscaled) input; `raw.len()` must be `spec.input`. The input is
    /// scaled once (on the stack for inputs up to 256 wide), then one dot product per hidden unit.
    pub fn logit(&self, raw: &[f32]) -> f32 {
        let mut buf = [0.0f32; 256];
        let mut heap = Vec::new();
        let x: &mut [f32] = if raw.len() <= buf.len() {
            &mut buf[..raw.len()]
        } else {
            heap.resize(raw.len(), 0.0);
            &mut heap
        };
        for ((o, &v), &(lo, hi)) in x.iter_mut().zip(raw).zip(&self.bounds) {
            *o = if hi > lo {
                ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
        let (w1, b1, w2, b2) = self.split();
        let mut z = b2;
        for (j, row) in w1.chunks_exact(self.spec.input).enumerate() {
            let a = b1[j] + row.iter().zip(x.iter()).map(|(w, v)| w * v).sum::<f32>();
            z += w2[j] * a.tanh();
        }
        z
    }

    /// The risk (probability of an incident within the horizon) for one raw input.
    pub fn risk(&self, raw: &[f32]) -> f32 {
        1.0 / (1.0 + (-self.logit(raw)).exp())
    }
}
