//! The autoencoder's network: one tanh bottleneck layer and a linear decoder,
//! `x (d) -> tanh(W1 x + b1) (h) -> W2 . + b2 (d)`, its seeded initialisation, a hand-written
//! reconstruction error for scoring (no tensor allocation per sample) and a candle trainer
//! (mean squared error, AdamW: Loshchilov & Hutter 2019, `candle_nn::AdamW`).
//!
//! Parameters are one flat `f32` vector: `w1 (h x d), b1 (h), w2 (d x h), b2 (d)`, row-major.
//! Initial weights are Glorot/Xavier uniform (Glorot & Bengio, AISTATS 2010) drawn from the
//! caller's seeded stream: candle's own generator cannot be seeded (../shared/CRATES.md).

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::Rng;

/// The shape and parameters of the network.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Network {
    /// Input (and output) width.
    pub(crate) input: usize,
    /// Bottleneck width.
    pub(crate) code: usize,
    /// Flat parameters (see the module docs for the layout).
    pub(crate) params: Vec<f32>,
}

impl Network {
    /// Glorot-uniform weights and zero biases from `rng`.
    pub(crate) fn init(input: usize, code: usize, rng: &mut impl Rng) -> Self {
        let a = (6.0 / (input + code) as f32).sqrt();
        let mut params = Vec::with_capacity(2 * input * code + input + code);
        params.extend((0..code * input).map(|_| rng.random_range(-a..a)));
        params.extend(std::iter::repeat_n(0.0, code));
        params.extend((0..input * code).map(|_| rng.random_range(-a..a)));
        params.extend(std::iter::repeat_n(0.0, input));
        Network {
            input,
            code,
            params,
        }
    }

    /// `(w1, b1, w2, b2)` views of the parameters.
    fn split(&self) -> (&[f32], &[f32], &[f32], &[f32]) {
        let (d, h) = (self.input, self.code);
        let (w1, rest) = self.params.split_at(h * d);
        let (b1, rest) = rest.split_at(h);
        let (w2, b2) = rest.split_at(d * h);
        (w1, b1, w2, b2)
    }

    /// Mean squared reconstruction error of `x` (`input` values); `code` is scratch space.
    pub(crate) fn error(&self, x: &[f32], code: &mut Vec<f32>) -> f64 {
        let (w1, b1, w2, b2) = self.split();
        code.clear();
        code.extend(
            w1.chunks_exact(self.input)
                .zip(b1)
                .map(|(row, b)| (b + row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>()).tanh()),
        );
        let total: f64 = w2
            .chunks_exact(self.code)
            .zip(b2)
            .zip(x)
            .map(|((row, b), &v)| {
                let y = b + row.iter().zip(code.iter()).map(|(w, c)| w * c).sum::<f32>();
                f64::from(y - v).powi(2)
            })
            .sum();
        total / self.input as f64
    }
}

/// The network's parameters as candle variables with their AdamW state, kept across steps so
/// online training continues the same optimiser run.
#[derive(Debug)]
pub(crate) struct Trainer {
    vars: [Var; 4],
    optimizer: AdamW,
    input: usize,
}

impl Trainer {
    /// Variables initialised from `net`.
    pub(crate) fn new(net: &Network, learning_rate: f64) -> candle_core::Result<Self> {
        let device = Device::Cpu;
        let (d, h) = (net.input, net.code);
        let (w1, b1, w2, b2) = net.split();
        let vars = [
            Var::from_slice(w1, (h, d), &device)?,
            Var::from_slice(b1, (1, h), &device)?,
            Var::from_slice(w2, (d, h), &device)?,
            Var::from_slice(b2, (1, d), &device)?,
        ];
        let optimizer = AdamW::new(
            vars.to_vec(),
            ParamsAdamW {
                lr: learning_rate,
                weight_decay: 0.0,
                ..Default::default()
            },
        )?;
        Ok(Trainer {
            vars,
            optimizer,
            input: d,
        })
    }

    /// One AdamW step on the mean squared reconstruction error of `batch` (rows of `input`
    /// values); returns the loss before the step.
    pub(crate) fn step(&mut self, batch: &[f32]) -> candle_core::Result<f32> {
        let rows = batch.len() / self.input;
        let device = Device::Cpu;
        let x = Tensor::from_slice(batch, (rows, self.input), &device)?;
        let [w1, b1, w2, b2] = &self.vars;
        let code = x
            .matmul(&w1.as_tensor().t()?)?
            .broadcast_add(b1.as_tensor())?
            .tanh()?;
        let y = code
            .matmul(&w2.as_tensor().t()?)?
            .broadcast_add(b2.as_tensor())?;
        let loss = (y - &x)?.sqr()?.mean_all()?;
        self.optimizer.backward_step(&loss)?;
        loss.to_scalar::<f32>()
    }

    /// Copies the current variables into `net`'s flat parameters.
    pub(crate) fn export(&self, net: &mut Network) -> candle_core::Result<()> {
        net.params.clear();
        for v in &self.vars {
            net.params
                .extend(v.as_tensor().flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn hand_written_error_matches_a_hand_worked_network() {
        // d = 2, h = 1: w1 = [1, 0], b1 = 0, w2 = [[2], [0]], b2 = [0, 1].
        let net = Network {
            input: 2,
            code: 1,
            params: vec![1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0],
        };
        // x = (0.5, 3): code = tanh(0.5); y = (2 tanh(0.5), 1); error = mean of squares.
        let c = 0.5f32.tanh();
        let expected = (f64::from(2.0 * c - 0.5).powi(2) + 4.0) / 2.0;
        assert!((net.error(&[0.5, 3.0], &mut Vec::new()) - expected).abs() < 1e-6);
    }

    #[test]
    fn training_lowers_the_error_and_export_keeps_the_layout() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut net = Network::init(4, 2, &mut rng);
        // Rows on a 1-D line: (t, t, -t, -t), compressible through a code of 2.
        let batch: Vec<f32> = (0..32)
            .flat_map(|k| {
                let t = k as f32 / 16.0 - 1.0;
                [t, t, -t, -t]
            })
            .collect();
        let before: f64 = batch.chunks(4).map(|r| net.error(r, &mut Vec::new())).sum();
        let mut trainer = Trainer::new(&net, 0.02).unwrap();
        for _ in 0..300 {
            trainer.step(&batch).unwrap();
        }
        trainer.export(&mut net).unwrap();
        assert_eq!(net.params.len(), 2 * 4 * 2 + 4 + 2);
        let after: f64 = batch.chunks(4).map(|r| net.error(r, &mut Vec::new())).sum();
        assert!(after < 0.1 * before, "before {before}, after {after}");
    }
}
