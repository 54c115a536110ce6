//! Distribution-shift detector: scores how far the newest samples fall outside what the series
//! has done before, on three views, and keeps the largest:
//! - **range**: the value beyond the lowest/highest value seen so far, relative to that range
//!   (NAB's newer Numenta detector adds the same "spatial anomaly" test to HTM: numenta/NAB
//!   `nab/detectors/numenta/numenta_detector.py`, `spatialTolerance`);
//! - **level**: the median of the last `short` samples beyond the `[quantile, 1 - quantile]`
//!   band of the previous `long` samples, relative to the band's width (a robust, windowed
//!   version of the windowed-Gaussian detector's test, numenta/NAB
//!   `nab/detectors/gaussian/windowedGaussian_detector.py`);
//! - **dispersion**: the mean absolute successive difference of the last `short` samples beyond
//!   the `1 - quantile` quantile of its own previous `long` values (a variance change, which the
//!   level test misses when a flat series turns noisy around the same level).
//!
//! Each excess `e >= 0` maps to `e / (e + scale)` in [0, 1). After a score at or above
//! `alert_score`, further scores at or above it are suppressed for `rest_samples` samples, as
//! CAD OSE's `restPeriod` does (numenta/NAB `nab/detectors/context_ose/cad_ose.py`): one alert per
//! episode. Everything is in samples, not seconds (the series is assumed regularly sampled).
//!
//! Provenance of the defaults: chosen on NAB's realAWSCloudwatch subset by hand (session 4; the
//! only NAB data here), so its score on that subset is optimistic; they stay the defaults (the
//! `shift` name) so earlier figures reproduce. [`ShiftConfig::a_priori`] (`shift_apriori`)
//! fixes every setting from published detectors' defaults and control-chart convention instead,
//! before any score on the subset was looked at (session 7; sources on each value there).
//! Cost per sample: O(`long`) (two sorted windows kept by binary-search insert/remove) plus
//! O(`short log short`) for the median.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::channels::{Channels, Univariate};
use super::sorted_window::SortedWindow;
use super::{Detection, DetectorError, check};

/// Configuration of [`Shift`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShiftConfig {
    /// Samples before the first score (cold start). Default 100.
    pub warmup: usize,
    /// Samples in the recent window (median and dispersion). Default 6 (30 min at 5 min).
    pub short: usize,
    /// Samples in the reference window. Default 2,016 (a week at 5 min).
    pub long: usize,
    /// Tail share cut from each side of the reference band, in [0, 0.5). Default 0.01.
    pub quantile: f64,
    /// Floor on a band's width, as a share of the range seen so far. Default 0.02.
    pub spread_floor: f64,
    /// Excess that scores 0.5 for the range view (in ranges). Default 0.2.
    pub range_scale: f64,
    /// Excess that scores 0.5 for the level and dispersion views (in band widths). Default 1.
    pub shift_scale: f64,
    /// Weight of the dispersion view, in [0, 1]; 0 turns it off. Default 1.
    pub dispersion_weight: f64,
    /// Alert at this score; also the suppression threshold. Default 0.3.
    pub alert_score: f64,
    /// Samples during which a new alert is suppressed after one. Default 288 (a day at 5 min).
    pub rest_samples: usize,
}

impl Default for ShiftConfig {
    fn default() -> Self {
        ShiftConfig {
            warmup: 100,
            short: 6,
            long: 2_016,
            quantile: 0.01,
            spread_floor: 0.02,
            range_scale: 0.2,
            shift_scale: 1.0,
            dispersion_weight: 1.0,
            alert_score: 0.3,
            rest_samples: 288,
        }
    }
}

/// Numenta's spatial tolerance: a value more than 5 % of the range seen so far beyond it is an
/// anomaly (numenta/NAB `nab/detectors/numenta/numenta_detector.py`, `SPATIAL_TOLERANCE = 0.05`).
pub const NUMENTA_SPATIAL_TOLERANCE: f64 = 0.05;

/// One-sided tail of Shewhart's 3-sigma control limits, `1 - Phi(3)` (W. A. Shewhart, *Economic
/// Control of Quality of Manufactured Product*, 1931; D. C. Montgomery, *Introduction to
/// Statistical Quality Control*, ch. 6).
pub const SHEWHART_TAIL: f64 = 0.00135;

/// CAD OSE's `restPeriod` as NAB runs it: a fifth of the probationary period (numenta/NAB
/// `nab/detectors/context_ose/cad_ose.py`), 120 samples for NAB's 4,032-row files (15 % of 4,032
/// is 604.8; a fifth of that, rounded down to the value [`CadOseConfig`](super::CadOseConfig)
/// already uses).
pub const CAD_OSE_REST_SAMPLES: usize = 120;

impl ShiftConfig {
    /// Every setting fixed a priori (session 7), none chosen on NAB data:
    /// - `warmup` 388: Numenta's anomaly likelihood reports nothing for `learningPeriod` (288) +
    ///   `estimationSamples` (100) samples (nupic `anomaly_likelihood.py`, `AnomalyLikelihood`
    ///   defaults);
    /// - `short` 10: the same class's moving-average window of recent scores (`averagingWindow`
    ///   = 10); `long` 8,640: its `historicWindowSize` (30 days of 5-minute samples);
    /// - `quantile` [`SHEWHART_TAIL`]: the reference band is the 3-sigma control band;
    /// - `spread_floor` and `range_scale` [`NUMENTA_SPATIAL_TOLERANCE`]: a value 5 % of the range
    ///   beyond it reaches the alert score, as Numenta's spatial test fires there;
    /// - `alert_score` 0.5: this crate's convention (a z-score detector scores 0.5 at its
    ///   threshold, [`score_from_z`](super::score_from_z)), so no calibration is needed in a fusion;
    /// - `shift_scale` 1 and `dispersion_weight` 1: the unit scale (an excess of one band width
    ///   scores 0.5) and no weighting, i.e. no choice;
    /// - `rest_samples` [`CAD_OSE_REST_SAMPLES`]: CAD OSE's rest rule. This one coincides with the
    ///   joint rest picked for `shift_cad_calibrated` in session 6 after seeing scores; here it is
    ///   taken from CAD OSE's rule for every rest, including shift's own (288 by hand before).
    ///
    /// Scored once on NAB realAWSCloudwatch (standard / low_FP / low_FN / LOFO standard,
    /// `tests/nab_apriori.rs`): 60.34 / 57.20 / 64.67 / 52.27; `shift_cad_apriori` 62.35 / 56.97
    /// / 66.49 / 57.49; Numenta HTM 73.42 / 68.75 / 76.72 / 70.23. Below HTM: the subset-chosen
    /// defaults' lead over HTM did not survive fixing them a priori.
    pub fn a_priori() -> Self {
        ShiftConfig {
            warmup: 288 + 100,
            short: 10,
            long: 8_640,
            quantile: SHEWHART_TAIL,
            spread_floor: NUMENTA_SPATIAL_TOLERANCE,
            range_scale: NUMENTA_SPATIAL_TOLERANCE,
            shift_scale: 1.0,
            dispersion_weight: 1.0,
            alert_score: 0.5,
            rest_samples: CAD_OSE_REST_SAMPLES,
        }
    }

    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = ShiftState::NAME;
        check(
            self.short >= 2,
            n,
            "short",
            self.short as f64,
            "at least 2 samples",
        )?;
        check(
            self.long >= 10,
            n,
            "long",
            self.long as f64,
            "at least 10 samples",
        )?;
        check(
            (0.0..0.5).contains(&self.quantile),
            n,
            "quantile",
            self.quantile,
            "0 <= quantile < 0.5",
        )?;
        check(
            self.spread_floor >= 0.0 && self.spread_floor.is_finite(),
            n,
            "spread_floor",
            self.spread_floor,
            ">= 0",
        )?;
        check(
            self.range_scale > 0.0 && self.range_scale.is_finite(),
            n,
            "range_scale",
            self.range_scale,
            "> 0",
        )?;
        check(
            self.shift_scale > 0.0 && self.shift_scale.is_finite(),
            n,
            "shift_scale",
            self.shift_scale,
            "> 0",
        )?;
        check(
            (0.0..=1.0).contains(&self.dispersion_weight),
            n,
            "dispersion_weight",
            self.dispersion_weight,
            "0 <= dispersion_weight <= 1",
        )?;
        check(
            self.alert_score > 0.0 && self.alert_score <= 1.0,
            n,
            "alert_score",
            self.alert_score,
            "0 < alert_score <= 1",
        )
    }
}

/// `e / (e + scale)` for an excess `e >= 0`.
fn squash(excess: f64, scale: f64) -> f64 {
    if excess > 0.0 {
        excess / (excess + scale)
    } else {
        0.0
    }
}

/// One channel of the shift detector.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftState {
    config: ShiftConfig,
    seen: usize,
    low: f64,
    high: f64,
    recent: VecDeque<f64>,
    values: SortedWindow,
    dispersions: SortedWindow,
    last_alert: Option<usize>,
    scratch: Vec<f64>,
}

impl ShiftState {
    /// A cold channel.
    pub fn new(config: ShiftConfig) -> Self {
        ShiftState {
            config,
            seen: 0,
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
            recent: VecDeque::with_capacity(config.short),
            values: SortedWindow::default(),
            dispersions: SortedWindow::default(),
            last_alert: None,
            scratch: Vec::with_capacity(config.short),
        }
    }

    fn recent_median(&mut self) -> f64 {
        self.scratch.clear();
        self.scratch.extend(self.recent.iter().copied());
        self.scratch.sort_by(f64::total_cmp);
        let n = self.scratch.len();
        if n % 2 == 1 {
            self.scratch[n / 2]
        } else {
            0.5 * (self.scratch[n / 2 - 1] + self.scratch[n / 2])
        }
    }

    fn recent_dispersion(&self) -> f64 {
        let n = self.recent.len();
        if n < 2 {
            return 0.0;
        }
        let total: f64 = self
            .recent
            .iter()
            .zip(self.recent.iter().skip(1))
            .map(|(a, b)| (b - a).abs())
            .sum();
        total / (n - 1) as f64
    }

    fn raw_score(&mut self, x: f64, dispersion: f64) -> f64 {
        let c = self.config;
        let range = (self.high - self.low).max(1e-9);
        let over = ((x - self.high) / range).max((self.low - x) / range);
        let mut score = squash(over, c.range_scale);

        let median = self.recent_median();
        let (lo, hi) = (
            self.values.quantile(c.quantile),
            self.values.quantile(1.0 - c.quantile),
        );
        let spread = (hi - lo)
            .max(1e-9 * hi.abs().max(1.0))
            .max(c.spread_floor * range);
        let level = ((median - hi) / spread).max((lo - median) / spread);
        score = score.max(squash(level, c.shift_scale));

        if c.dispersion_weight > 0.0 && self.dispersions.len() > 50 {
            let top = self.dispersions.quantile(1.0 - c.quantile);
            let spread = top.max(1e-9).max(c.spread_floor * range);
            let excess = (dispersion - top) / spread;
            score = score.max(c.dispersion_weight * squash(excess, c.shift_scale));
        }
        score
    }
}

impl Univariate for ShiftState {
    const NAME: &'static str = "shift";

    fn step(&mut self, _timestamp: f64, x: f64) -> Detection {
        let c = self.config;
        if self.recent.len() == c.short {
            self.recent.pop_front();
        }
        self.recent.push_back(x);
        let dispersion = self.recent_dispersion();
        let raw = if self.seen >= c.warmup && self.values.len() > 0 {
            self.raw_score(x, dispersion)
        } else {
            0.0
        };
        let i = self.seen;
        let resting = self
            .last_alert
            .is_some_and(|last| i - last < c.rest_samples);
        let out = if raw >= c.alert_score {
            if resting {
                Detection::default()
            } else {
                self.last_alert = Some(i);
                Detection {
                    score: raw,
                    alert: true,
                }
            }
        } else {
            Detection {
                score: raw,
                alert: false,
            }
        };
        // State is updated after scoring: the sample never judges itself.
        self.low = self.low.min(x);
        self.high = self.high.max(x);
        self.values.push(x, c.long);
        self.dispersions.push(dispersion, c.long);
        self.seen += 1;
        out
    }
}

/// The distribution-shift detector (one [`ShiftState`] per channel).
pub type Shift = Channels<ShiftState>;

impl Shift {
    /// Builds a cold detector after validating the configuration.
    pub fn from_config(config: ShiftConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Channels::new(ShiftState::new(config)))
    }
}
