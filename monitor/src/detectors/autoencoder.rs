//! Multivariate autoencoder detector (issue 5, item 2): a small network learns to reconstruct a
//! sliding window of one entity's metric vector; a window it cannot reconstruct is anomalous.
//!
//! ```text
//!  vector x_t ─► last `window` vectors ─► standardise (warm-up mean/std) ─► flat window (d)
//!     ─► Network: tanh bottleneck (code) ─► linear decoder ─► reconstruction error e_t
//!     ─► adaptive threshold: r = e_t / quantile(recent errors) ─► score = r²/(r² + margin²)
//! ```
//! - **Cold start, no look-ahead, no labels.** The first `warmup` samples are only stored: they
//!   fix each channel's mean and standard deviation (then frozen) and, at the end of warm-up, the
//!   network is trained on their windows for `warmup_epochs` epochs (the approach of LSTM/dense
//!   autoencoder detectors trained on a normal period, e.g. Malhotra et al., "LSTM-based
//!   encoder-decoder for multi-sensor anomaly detection", ICML workshop 2016). The errors of those
//!   windows seed the error history, so scoring starts right after warm-up.
//! - **Trained online.** Afterwards every window joins a buffer of the last `buffer` windows;
//!   every `train_every` windows the network takes one AdamW step on a minibatch drawn from the
//!   buffer, so it follows drifts and, slowly, lasting changes (0 freezes it after warm-up).
//! - **Adaptive threshold.** A window's error is compared with the `quantile` of the last
//!   `history` errors (its own recent errors, never including itself): alert when it exceeds
//!   `margin` times that quantile, where the score is 0.5 ([`score_from_z`]). Errors enter the
//!   history clipped at the quantile, so an anomaly does not raise the threshold it is judged by.
//! - **Deterministic.** Initial weights and minibatches come from a ChaCha8 stream seeded by
//!   `seed`, never from candle's unseedable generator.
//!
//! Cost per sample: one forward pass (`2 d code` multiply-adds), an O(`history`) sorted-window
//! update and, every `train_every` samples, one minibatch step.
//! A univariate series (NAB) is a vector of one channel: the window of its last values.

mod network;

use std::collections::VecDeque;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use self::network::{Network, Trainer};
use super::score::score_from_z;
use super::sorted_window::SortedWindow;
use super::{Detection, Detector, DetectorError, check};

/// Configuration of [`Autoencoder`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoencoderConfig {
    /// Consecutive samples per input window. Default 8.
    pub window: usize,
    /// Bottleneck units. Default 4.
    pub code: usize,
    /// Samples stored before the network is trained and scoring starts. Default 300.
    pub warmup: usize,
    /// Epochs over the warm-up windows. Default 30.
    pub warmup_epochs: usize,
    /// Windows per minibatch. Default 32.
    pub batch_size: usize,
    /// AdamW learning rate. Default 0.01.
    pub learning_rate: f64,
    /// One online step per this many windows; 0 freezes the network after warm-up.
    /// Default 8.
    pub train_every: usize,
    /// Windows kept for online training. Default 512.
    pub buffer: usize,
    /// Recent errors the threshold is taken from. Default 1,000.
    pub history: usize,
    /// Quantile of the recent errors used as the reference, in (0, 1). Default 0.99.
    pub quantile: f64,
    /// Alert when the error exceeds `margin` times the reference (score 0.5 there). Default 3:
    /// no false alarm in 200,000 samples of Gaussian noise (`detectors_synthetic` measures it).
    pub margin: f64,
    /// Floor on the reference error (mean squared error in standard deviations), so that a
    /// signal the network reconstructs almost perfectly (a flat metric) does not page on its
    /// first small blip. Default 0 (no floor).
    pub min_error: f64,
    /// Standardised inputs are clipped to `[-clip, clip]`. Default 10.
    pub clip: f64,
    /// Floor on a channel's standard deviation, relative to `|mean|`. Default 0.01.
    pub min_std_relative: f64,
    /// Absolute floor on a channel's standard deviation. Default 1e-6.
    pub min_std_absolute: f64,
    /// Seed of the initial weights and of the minibatches. Default 0.
    pub seed: u64,
}

impl Default for AutoencoderConfig {
    fn default() -> Self {
        AutoencoderConfig {
            window: 8,
            code: 4,
            warmup: 300,
            warmup_epochs: 30,
            batch_size: 32,
            learning_rate: 0.01,
            train_every: 8,
            buffer: 512,
            history: 1_000,
            quantile: 0.99,
            margin: 3.0,
            min_error: 0.0,
            clip: 10.0,
            min_std_relative: 0.01,
            min_std_absolute: 1e-6,
            seed: 0,
        }
    }
}

impl AutoencoderConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = Autoencoder::NAME;
        let count = |ok: bool, field, v: usize, expected| check(ok, n, field, v as f64, expected);
        count(self.window >= 1, "window", self.window, "at least 1")?;
        count(self.code >= 1, "code", self.code, "at least 1")?;
        count(
            self.warmup > self.window,
            "warmup",
            self.warmup,
            "more samples than `window`",
        )?;
        count(
            self.batch_size >= 1,
            "batch_size",
            self.batch_size,
            "at least 1",
        )?;
        count(self.buffer >= 1, "buffer", self.buffer, "at least 1")?;
        count(self.history >= 10, "history", self.history, "at least 10")?;
        let positive = |v: f64| v > 0.0 && v.is_finite();
        check(
            positive(self.learning_rate),
            n,
            "learning_rate",
            self.learning_rate,
            "> 0",
        )?;
        check(
            self.quantile > 0.0 && self.quantile < 1.0,
            n,
            "quantile",
            self.quantile,
            "0 < quantile < 1",
        )?;
        check(positive(self.margin), n, "margin", self.margin, "> 0")?;
        check(positive(self.clip), n, "clip", self.clip, "> 0")?;
        check(
            self.min_error >= 0.0 && self.min_error.is_finite(),
            n,
            "min_error",
            self.min_error,
            ">= 0",
        )?;
        check(
            self.min_std_relative >= 0.0 && self.min_std_relative.is_finite(),
            n,
            "min_std_relative",
            self.min_std_relative,
            ">= 0",
        )?;
        check(
            positive(self.min_std_absolute),
            n,
            "min_std_absolute",
            self.min_std_absolute,
            "> 0",
        )
    }
}

/// Per-channel standardisation, fixed at the end of warm-up.
#[derive(Debug, Clone, PartialEq)]
struct Standardiser {
    mean: Vec<f64>,
    std: Vec<f64>,
}

/// The multivariate autoencoder detector (see the module docs).
#[derive(Debug)]
pub struct Autoencoder {
    config: AutoencoderConfig,
    /// Channels, fixed by the first sample.
    dim: Option<usize>,
    /// Raw warm-up samples, `warmup x dim`, until training.
    warm: Vec<f64>,
    /// The last `window` standardised samples, oldest first.
    recent: VecDeque<f32>,
    scale: Option<Standardiser>,
    network: Option<Network>,
    trainer: Option<Trainer>,
    rng: ChaCha8Rng,
    /// Recent windows for online training (a ring of `buffer`).
    buffer: Vec<Vec<f32>>,
    next_slot: usize,
    since_step: usize,
    errors: SortedWindow,
    // Scratch space, kept to avoid an allocation per sample.
    input: Vec<f32>,
    code: Vec<f32>,
    batch: Vec<f32>,
}

impl Autoencoder {
    /// The registry name.
    pub const NAME: &'static str = "autoencoder";

    /// Builds a cold detector after validating the configuration.
    pub fn from_config(config: AutoencoderConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Autoencoder {
            config,
            dim: None,
            warm: Vec::new(),
            recent: VecDeque::new(),
            scale: None,
            network: None,
            trainer: None,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            buffer: Vec::new(),
            next_slot: 0,
            since_step: 0,
            errors: SortedWindow::default(),
            input: Vec::new(),
            code: Vec::new(),
            batch: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.config
    }

    /// Has warm-up ended (network trained, scoring on)?
    pub fn is_warm(&self) -> bool {
        self.network.is_some()
    }

    /// Standardises one raw sample and appends it to `recent`, keeping the last `window`.
    fn push_recent(&mut self, values: &[f64]) {
        let Some(scale) = &self.scale else { return };
        let clip = self.config.clip;
        for ((v, m), s) in values.iter().zip(&scale.mean).zip(&scale.std) {
            self.recent
                .push_back(((v - m) / s).clamp(-clip, clip) as f32);
        }
        let keep = self.config.window * values.len();
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
    }

    /// Ends warm-up: fixes the standardisation, trains on the warm-up windows, seeds the error
    /// history with their errors.
    fn finish_warmup(&mut self, dim: usize) {
        let c = self.config;
        let rows = self.warm.len() / dim;
        let (mut mean, mut std) = (vec![0.0; dim], vec![0.0; dim]);
        for j in 0..dim {
            let column = self.warm.iter().skip(j).step_by(dim);
            let m = column.clone().sum::<f64>() / rows as f64;
            let var = column.map(|v| (v - m).powi(2)).sum::<f64>() / rows as f64;
            mean[j] = m;
            std[j] = var
                .sqrt()
                .max(c.min_std_relative * m.abs())
                .max(c.min_std_absolute);
        }
        self.scale = Some(Standardiser { mean, std });
        let warm = std::mem::take(&mut self.warm);
        let mut windows = Vec::with_capacity(rows);
        for row in warm.chunks_exact(dim) {
            self.push_recent(row);
            if self.recent.len() == c.window * dim {
                windows.push(self.recent.iter().copied().collect::<Vec<f32>>());
            }
        }
        let d = c.window * dim;
        let mut network = Network::init(d, c.code, &mut self.rng);
        self.trainer = Trainer::new(&network, c.learning_rate).ok();
        let mut order: Vec<usize> = (0..windows.len()).collect();
        for _ in 0..c.warmup_epochs {
            order.shuffle(&mut self.rng);
            for chunk in order.chunks(c.batch_size) {
                self.batch.clear();
                for &k in chunk {
                    self.batch.extend_from_slice(&windows[k]);
                }
                self.train_batch();
            }
        }
        if let Some(t) = &self.trainer {
            // A failed export keeps the initial weights: scoring still works, only less well.
            let _ = t.export(&mut network);
        }
        for w in &windows {
            let e = network.error(w, &mut self.code);
            self.errors.push(e, c.history);
        }
        let keep = windows.len().saturating_sub(c.buffer);
        self.buffer = windows.split_off(keep);
        self.next_slot = 0;
        self.network = Some(network);
    }

    /// One optimiser step on `self.batch`; a candle failure (a shape bug, not bad input) stops
    /// training and keeps the current weights.
    fn train_batch(&mut self) {
        if let Some(t) = &mut self.trainer
            && t.step(&self.batch).is_err()
        {
            self.trainer = None;
        }
    }

    /// Adds a scored window to the buffer and takes an online step when due.
    fn learn(&mut self) {
        let c = self.config;
        if self.buffer.len() < c.buffer {
            self.buffer.push(self.input.clone());
        } else {
            self.buffer[self.next_slot].clone_from(&self.input);
            self.next_slot = (self.next_slot + 1) % c.buffer;
        }
        if c.train_every == 0 {
            return;
        }
        self.since_step += 1;
        if self.since_step < c.train_every {
            return;
        }
        self.since_step = 0;
        self.batch.clear();
        for _ in 0..c.batch_size.min(self.buffer.len()) {
            let k = self.rng.random_range(0..self.buffer.len());
            self.batch.extend_from_slice(&self.buffer[k]);
        }
        self.train_batch();
        if let (Some(t), Some(net)) = (&self.trainer, &mut self.network) {
            let _ = t.export(net);
        }
    }

    fn step(&mut self, values: &[f64]) -> Detection {
        let c = self.config;
        let dim = values.len();
        if self.network.is_none() {
            self.warm.extend_from_slice(values);
            if self.warm.len() >= c.warmup * dim {
                self.finish_warmup(dim);
            }
            return Detection::default();
        }
        self.push_recent(values);
        self.input.clear();
        self.input.extend(self.recent.iter().copied());
        let Some(net) = &self.network else {
            return Detection::default();
        };
        let error = net.error(&self.input, &mut self.code);
        let reference = self
            .errors
            .quantile(c.quantile)
            .max(c.min_error)
            .max(1e-12 * error.max(1.0));
        let score = score_from_z(error / reference, c.margin);
        // An error above the reference enters the history at the reference: anomalies do not
        // raise the threshold (10 of them would lift a 0.99 quantile of 1,000); the network's
        // online learning is what absorbs a lasting change.
        self.errors.push(error.min(reference), c.history);
        self.learn();
        Detection {
            score,
            alert: score >= 0.5,
        }
    }
}

impl Detector for Autoencoder {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// A one-channel vector: the window holds the series' last values.
    fn update(&mut self, timestamp: f64, value: f64) -> Detection {
        self.update_vector(timestamp, &[value]).unwrap_or_default()
    }

    /// A vector with a non-finite value is treated as missing: state unchanged, zero score.
    fn update_vector(
        &mut self,
        _timestamp: f64,
        values: &[f64],
    ) -> Result<Detection, DetectorError> {
        let dim = *self.dim.get_or_insert(values.len());
        if values.len() != dim {
            return Err(DetectorError::DimensionMismatch {
                detector: Self::NAME,
                expected: dim,
                found: values.len(),
            });
        }
        if dim == 0 || values.iter().any(|v| !v.is_finite()) {
            return Ok(Detection::default());
        }
        Ok(self.step(values))
    }

    fn reset(&mut self) {
        // The configuration was validated when the detector was built.
        if let Ok(cold) = Autoencoder::from_config(self.config) {
            *self = cold;
        }
    }
}
