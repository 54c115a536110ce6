//! Numenta's anomaly likelihood as a post-processor of any detector's raw score: instead of
//! thresholding a noisy raw score, it asks how unlikely the *recent average* raw score is given
//! the distribution of averaged raw scores seen so far. Noisy series (whose raw score is often
//! high) then stop alerting, and a sustained change in predictability becomes one confident
//! spike.
//!
//! Algorithm (S. Ahmad, A. Lavin, S. Purdy, Z. Agha, "Unsupervised real-time anomaly detection
//! for streaming data", Neurocomputing 262, 2017, §3.3; code: numenta/nupic
//! `src/nupic/algorithms/anomaly_likelihood.py`, `AnomalyLikelihood.anomalyProbability`):
//! - keep the last `historic_window` raw scores; every `reestimation_period` samples fit a
//!   normal distribution to their `averaging_window`-sample moving averages (skipping the first
//!   `learning_period` samples while they are in the history), with lower bounds mean >= 0.03
//!   and variance >= 0.0003 (`estimateNormal`); a flat input (variance of the values < 1.5e-5)
//!   gets the broad null distribution (mean 0.5, sd 1000);
//! - for each sample, the moving average `m` of the last `averaging_window` raw scores gives the
//!   one-sided tail `q = Q((m - mean) / sd)` (values below the mean are mirrored above it);
//! - `_filterLikelihoods`: a tail at or below 1e-5 right after another one is raised to 1e-3, so a
//!   long anomaly gives one red spike, not a run of them;
//! - likelihood `1 - q` is reported on NuPIC's log scale `ln(1.0000000001 - L) / ln(1e-10)`
//!   (`computeLogLikelihood`), so 0.5 is about 5 nines; during the first `learning_period +
//!   estimation_samples` samples the likelihood is a flat 0.5 (score 0.03).
//!
//! The alert is `score >= alert_score`. Per sample the cost is the inner detector's plus O(1),
//! and O(`historic_window`) once every `reestimation_period` samples.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::registry::DetectorConfig;
use super::score::gaussian_two_sided_tail;
use super::{Detection, Detector, DetectorError, check};

/// `ln(1 - 0.9999999999)`, the denominator of NuPIC's `computeLogLikelihood`.
const LOG_LIKELIHOOD_DENOMINATOR: f64 = -23.025_850_847_200_09;
/// `_filterLikelihoods` defaults: red zone tail 1 - 0.99999, yellow 1 - 0.999.
const RED_TAIL: f64 = 1e-5;
const YELLOW_TAIL: f64 = 1e-3;
/// `estimateNormal` lower bounds and the flat-metric test of `estimateAnomalyLikelihoods`.
const MIN_MEAN: f64 = 0.03;
const MIN_VARIANCE: f64 = 0.0003;
const FLAT_METRIC_VARIANCE: f64 = 1.5e-5;

/// Configuration of [`Likelihood`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LikelihoodConfig {
    /// The detector whose scores are post-processed. Default: [`ewma`](super::Ewma) with its
    /// defaults (its z-score mapped to [0, 1]).
    pub inner: Box<DetectorConfig>,
    /// Raw scores in the moving average. Default 10 (NuPIC).
    pub averaging_window: usize,
    /// Raw scores kept for the distribution estimate. Default 8,640 (NuPIC: 30 days at 5 min).
    pub historic_window: usize,
    /// First samples left out of the estimate while the inner detector learns. Default 288
    /// (NuPIC's default, one day at 5 min).
    pub learning_period: usize,
    /// Samples after the learning period before the first estimate. Default 100 (NuPIC).
    pub estimation_samples: usize,
    /// Samples between two estimates. Default 100 (NuPIC).
    pub reestimation_period: usize,
    /// Alert when the log-scale score reaches this. Default 0.5 (a likelihood of 1 - 1e-5).
    pub alert_score: f64,
}

impl Default for LikelihoodConfig {
    fn default() -> Self {
        LikelihoodConfig {
            inner: Box::new(DetectorConfig::Ewma(Default::default())),
            averaging_window: 10,
            historic_window: 8_640,
            learning_period: 288,
            estimation_samples: 100,
            reestimation_period: 100,
            alert_score: 0.5,
        }
    }
}

impl LikelihoodConfig {
    /// Checks every field's range and the inner configuration.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = "likelihood";
        check(
            self.averaging_window >= 1,
            n,
            "averaging_window",
            self.averaging_window as f64,
            "at least 1 sample",
        )?;
        check(
            self.historic_window >= 2,
            n,
            "historic_window",
            self.historic_window as f64,
            "at least 2 samples",
        )?;
        check(
            self.reestimation_period >= 1,
            n,
            "reestimation_period",
            self.reestimation_period as f64,
            "at least 1 sample",
        )?;
        check(
            self.alert_score > 0.0 && self.alert_score <= 1.0,
            n,
            "alert_score",
            self.alert_score,
            "0 < alert_score <= 1",
        )?;
        self.inner.validate()
    }
}

/// A fitted normal distribution of averaged raw scores.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Normal {
    mean: f64,
    std: f64,
}

impl Normal {
    const NULL: Normal = Normal {
        mean: 0.5,
        std: 1e3,
    };

    /// `tailProbability`: one-sided Gaussian tail beyond `x`, mirrored below the mean.
    fn tail(&self, x: f64) -> f64 {
        let z = (x - self.mean).abs() / self.std;
        0.5 * gaussian_two_sided_tail(z)
    }
}

/// A detector whose score is the anomaly likelihood of another's (see the module docs).
#[derive(Debug)]
pub struct Likelihood {
    config: LikelihoodConfig,
    inner: Box<dyn Detector>,
    /// (value, raw score) of the last `historic_window` samples.
    history: VecDeque<(f64, f64)>,
    /// Raw scores in the moving average, and their sum.
    recent: VecDeque<f64>,
    recent_sum: f64,
    distribution: Option<Normal>,
    previous_tail: f64,
    iteration: usize,
}

impl Likelihood {
    /// Builds the inner detector after validating the configuration.
    pub fn from_config(config: &LikelihoodConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Likelihood {
            inner: config.inner.build()?,
            config: config.clone(),
            history: VecDeque::with_capacity(config.historic_window),
            recent: VecDeque::with_capacity(config.averaging_window),
            recent_sum: 0.0,
            distribution: None,
            previous_tail: 1.0,
            iteration: 0,
        })
    }

    /// `_calcSkipRecords`: the learning period, less what has already left the history.
    fn skip_records(&self) -> usize {
        let shifted_out = self.iteration.saturating_sub(self.config.historic_window);
        self.iteration
            .min(self.config.learning_period.saturating_sub(shifted_out))
    }

    /// `estimateAnomalyLikelihoods`: fit the distribution of the moving averages of the history.
    fn estimate(&self) -> Normal {
        let skip = self.skip_records();
        let w = self.config.averaging_window;
        if self.history.len() <= skip {
            return Normal::NULL;
        }
        let mut window: VecDeque<f64> = VecDeque::with_capacity(w);
        let mut sum = 0.0;
        let (mut n, mut s1, mut s2) = (0.0, 0.0, 0.0);
        let (mut v1, mut v2) = (0.0, 0.0);
        for (i, &(value, raw)) in self.history.iter().enumerate() {
            window.push_back(raw);
            sum += raw;
            if window.len() > w {
                sum -= window.pop_front().unwrap_or(0.0);
            }
            if i >= skip {
                let avg = sum / window.len() as f64;
                n += 1.0;
                s1 += avg;
                s2 += avg * avg;
                v1 += value;
                v2 += value * value;
            }
        }
        let value_mean = v1 / n;
        let value_var = (v2 / n - value_mean * value_mean).max(0.0);
        if value_var < FLAT_METRIC_VARIANCE {
            return Normal::NULL;
        }
        let mean = s1 / n;
        let var = (s2 / n - mean * mean).max(0.0);
        Normal {
            mean: mean.max(MIN_MEAN),
            std: var.max(MIN_VARIANCE).sqrt(),
        }
    }

    fn step(&mut self, value: f64, raw: f64) -> Detection {
        let c = &self.config;
        // The moving average includes the current raw score (`MovingAverage.compute`).
        self.recent.push_back(raw);
        self.recent_sum += raw;
        if self.recent.len() > c.averaging_window {
            self.recent_sum -= self.recent.pop_front().unwrap_or(0.0);
        }
        let likelihood = if self.iteration < c.learning_period + c.estimation_samples {
            0.5
        } else {
            if self.distribution.is_none() || self.iteration.is_multiple_of(c.reestimation_period) {
                self.distribution = Some(self.estimate());
            }
            let dist = self.distribution.unwrap_or(Normal::NULL);
            let average = self.recent_sum / self.recent.len() as f64;
            let tail = dist.tail(average);
            let filtered = if tail <= RED_TAIL && self.previous_tail <= RED_TAIL {
                YELLOW_TAIL
            } else {
                tail
            };
            self.previous_tail = tail;
            1.0 - filtered
        };
        if self.history.len() == c.historic_window {
            self.history.pop_front();
        }
        self.history.push_back((value, raw));
        self.iteration += 1;
        let score =
            ((1.000_000_000_1 - likelihood).ln() / LOG_LIKELIHOOD_DENOMINATOR).clamp(0.0, 1.0);
        Detection {
            score,
            alert: score >= c.alert_score,
        }
    }
}

impl Detector for Likelihood {
    fn name(&self) -> &'static str {
        "likelihood"
    }

    fn update(&mut self, timestamp: f64, value: f64) -> Detection {
        if !value.is_finite() {
            return Detection::default();
        }
        let raw = self.inner.update(timestamp, value).score;
        self.step(value, raw)
    }

    fn update_vector(
        &mut self,
        timestamp: f64,
        values: &[f64],
    ) -> Result<Detection, DetectorError> {
        let raw = self.inner.update_vector(timestamp, values)?.score;
        // The flat-metric test looks at the mean of the finite values.
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let value = if finite.is_empty() {
            0.0
        } else {
            finite.iter().sum::<f64>() / finite.len() as f64
        };
        Ok(self.step(value, raw))
    }

    fn reset(&mut self) {
        self.inner.reset();
        self.history.clear();
        self.recent.clear();
        self.recent_sum = 0.0;
        self.distribution = None;
        self.previous_tail = 1.0;
        self.iteration = 0;
    }
}
