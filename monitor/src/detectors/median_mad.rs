//! Robust rolling median / MAD z-score: a sample alerts when it lies more than `z_threshold`
//! robust standard deviations from the median of the `window` samples before it. The robust
//! standard deviation is `1.4826 * MAD` (consistent for Gaussian data: P. J. Rousseeuw and
//! C. Croux, JASA 88(424), 1993); when the MAD is 0 (quantised or mostly flat signals) it falls
//! back to `1.2533 * mean absolute deviation` from the median, as IBM's modified z-score does
//! (`sqrt(pi/2)` makes it consistent for Gaussian data); and it is never below the signal's
//! resolution (the smallest gap between distinct values in the window). Cost per sample: O(window) (a sorted
//! copy kept by binary-search insert/remove, and one selection for the MAD).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::channels::{Channels, Univariate};
use super::score::{Direction, check_z_settings, score_from_z};
use super::{Detection, DetectorError, check};

/// `1 / Phi^-1(3/4)`: MAD to standard deviation for Gaussian data.
const MAD_TO_STD: f64 = 1.4826;
/// `sqrt(pi / 2)`: mean absolute deviation to standard deviation for Gaussian data.
const MEAN_AD_TO_STD: f64 = 1.253_314;

/// Configuration of [`MedianMad`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MedianMadConfig {
    /// Samples in the rolling window. Default 288 (one day at a 5-minute scrape).
    pub window: usize,
    /// Alert when the robust `|z| >= z_threshold`; the score is 0.5 there. Default 4.0.
    pub z_threshold: f64,
    /// Samples in the window before the first score (cold start). Default 30.
    pub warmup: usize,
    /// Floor on the robust standard deviation, relative to `|median|`. Default 0.01.
    pub min_std_relative: f64,
    /// Absolute floor on the robust standard deviation. Default 1e-6.
    pub min_std_absolute: f64,
    /// Which deviations count: both (default), only rises (`up`) or only falls (`down`).
    pub direction: Direction,
}

impl Default for MedianMadConfig {
    fn default() -> Self {
        MedianMadConfig {
            window: 288,
            z_threshold: 4.0,
            warmup: 30,
            min_std_relative: 0.01,
            min_std_absolute: 1e-6,
            direction: Direction::Both,
        }
    }
}

impl MedianMadConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = MedianMadState::NAME;
        check(
            self.window >= 3,
            n,
            "window",
            self.window as f64,
            "at least 3 samples",
        )?;
        check(
            self.warmup >= 1 && self.warmup <= self.window,
            n,
            "warmup",
            self.warmup as f64,
            "1 <= warmup <= window",
        )?;
        check_z_settings(
            n,
            self.z_threshold,
            self.min_std_relative,
            self.min_std_absolute,
        )
    }
}

/// One channel of the median/MAD detector.
#[derive(Debug, Clone, PartialEq)]
pub struct MedianMadState {
    config: MedianMadConfig,
    recent: VecDeque<f64>,
    sorted: Vec<f64>,
    scratch: Vec<f64>,
}

impl MedianMadState {
    /// A cold channel.
    pub fn new(config: MedianMadConfig) -> Self {
        MedianMadState {
            config,
            recent: VecDeque::with_capacity(config.window),
            sorted: Vec::with_capacity(config.window),
            scratch: Vec::with_capacity(config.window),
        }
    }

    fn median_of_sorted(v: &[f64]) -> f64 {
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        }
    }

    /// Median and robust standard deviation of the window (which must not be empty).
    fn location_scale(&mut self) -> (f64, f64) {
        let med = Self::median_of_sorted(&self.sorted);
        self.scratch.clear();
        self.scratch
            .extend(self.sorted.iter().map(|v| (v - med).abs()));
        let n = self.scratch.len();
        let mid = n / 2;
        let (lower, upper_median, _) = self.scratch.select_nth_unstable_by(mid, f64::total_cmp);
        let mad = if n % 2 == 1 {
            *upper_median
        } else {
            let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            0.5 * (below + *upper_median)
        };
        let mut std = MAD_TO_STD * mad;
        if std <= 0.0 {
            std = MEAN_AD_TO_STD * self.scratch.iter().sum::<f64>() / n as f64;
        }
        // The signal's resolution: the smallest gap between distinct values in the window. A
        // deviation of one quantum (e.g. one step of a coarsely sampled counter) is never more
        // than one robust standard deviation.
        let resolution = self
            .sorted
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|&g| g > 0.0)
            .fold(f64::INFINITY, f64::min);
        let resolution = if resolution.is_finite() {
            resolution
        } else {
            0.0
        };
        let c = &self.config;
        (
            med,
            std.max(resolution)
                .max(c.min_std_relative * med.abs())
                .max(c.min_std_absolute),
        )
    }

    fn push(&mut self, x: f64) {
        if self.recent.len() == self.config.window
            && let Some(old) = self.recent.pop_front()
        {
            let i = self.sorted.partition_point(|v| v.total_cmp(&old).is_lt());
            self.sorted.remove(i);
        }
        self.recent.push_back(x);
        let i = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
        self.sorted.insert(i, x);
    }
}

impl Univariate for MedianMadState {
    const NAME: &'static str = "median_mad";

    fn step(&mut self, _timestamp: f64, x: f64) -> Detection {
        let out = if self.recent.len() >= self.config.warmup {
            let (med, std) = self.location_scale();
            let z = self.config.direction.deviation((x - med) / std);
            Detection {
                score: score_from_z(z, self.config.z_threshold),
                alert: z.abs() >= self.config.z_threshold,
            }
        } else {
            Detection::default()
        };
        self.push(x);
        out
    }
}

/// The robust median/MAD detector (one [`MedianMadState`] per channel).
pub type MedianMad = Channels<MedianMadState>;

impl MedianMad {
    /// Builds a cold detector after validating the configuration.
    pub fn from_config(config: MedianMadConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Channels::new(MedianMadState::new(config)))
    }
}
