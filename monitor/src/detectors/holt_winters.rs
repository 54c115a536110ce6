//! Seasonal detector: additive Holt-Winters (level, trend, one seasonal term per position in
//! the season) forecasts each sample from the past; the forecast residual, divided by an
//! exponentially weighted residual standard deviation, is the z-score. Equations: R. J. Hyndman
//! and G. Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., §8.3 (additive
//! method, component form). Seasons are counted in samples (regular scrape interval).
//! The residual scale is updated with the residual clipped at `z_threshold` scales (Huber-type
//! robust scale, P. J. Huber, "Robust Statistics", 1981), so anomalies do not blind it.
//! Cold start: the first season is only collected; it initialises the level (its mean), a zero
//! trend and the seasonal terms (deviations from that mean).

use serde::{Deserialize, Serialize};

use super::channels::{Channels, Univariate};
use super::score::{Direction, check_z_settings, score_from_z};
use super::{Detection, DetectorError, check};

/// Configuration of [`HoltWinters`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoltWintersConfig {
    /// Samples per season. Default 288 (a day at a 5-minute scrape).
    pub season_length: usize,
    /// Level smoothing, in (0, 1). Default 0.05.
    pub alpha: f64,
    /// Trend smoothing, in [0, 1). Default 0.001 (a nearly fixed trend).
    pub beta: f64,
    /// Seasonal smoothing, in [0, 1). Default 0.1.
    pub gamma: f64,
    /// Smoothing of the squared residuals that give the residual scale. Default 0.01 (about
    /// 200 residuals: slower than the level, so a drift shows before it inflates the scale).
    pub residual_alpha: f64,
    /// Alert when `|z| >= z_threshold`; the score is 0.5 there. Default 4.0.
    pub z_threshold: f64,
    /// Residuals observed (after the first season) before the first score. Default 30.
    pub warmup: u32,
    /// Floor on the residual standard deviation, relative to `|level|`. Default 0.01.
    pub min_std_relative: f64,
    /// Absolute floor on the residual standard deviation. Default 1e-6.
    pub min_std_absolute: f64,
    /// Which deviations count: both (default), only rises (`up`) or only falls (`down`).
    pub direction: Direction,
}

impl Default for HoltWintersConfig {
    fn default() -> Self {
        HoltWintersConfig {
            season_length: 288,
            alpha: 0.05,
            beta: 0.001,
            gamma: 0.1,
            residual_alpha: 0.01,
            z_threshold: 4.0,
            warmup: 30,
            min_std_relative: 0.01,
            min_std_absolute: 1e-6,
            direction: Direction::Both,
        }
    }
}

impl HoltWintersConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = HoltWintersState::NAME;
        let unit = |v: f64| (0.0..1.0).contains(&v);
        check(
            self.season_length >= 2,
            n,
            "season_length",
            self.season_length as f64,
            "at least 2 samples",
        )?;
        check(
            self.alpha > 0.0 && self.alpha < 1.0,
            n,
            "alpha",
            self.alpha,
            "0 < alpha < 1",
        )?;
        check(unit(self.beta), n, "beta", self.beta, "0 <= beta < 1")?;
        check(unit(self.gamma), n, "gamma", self.gamma, "0 <= gamma < 1")?;
        check(
            self.residual_alpha > 0.0 && self.residual_alpha <= 1.0,
            n,
            "residual_alpha",
            self.residual_alpha,
            "0 < residual_alpha <= 1",
        )?;
        check_z_settings(
            n,
            self.z_threshold,
            self.min_std_relative,
            self.min_std_absolute,
        )
    }
}

/// One channel of the Holt-Winters detector.
#[derive(Debug, Clone, PartialEq)]
pub struct HoltWintersState {
    config: HoltWintersConfig,
    seen: u64,
    level: f64,
    trend: f64,
    season: Vec<f64>,
    residuals_seen: u64,
    residual_var: f64,
}

impl HoltWintersState {
    /// A cold channel.
    pub fn new(config: HoltWintersConfig) -> Self {
        HoltWintersState {
            config,
            seen: 0,
            level: 0.0,
            trend: 0.0,
            season: Vec::with_capacity(config.season_length),
            residuals_seen: 0,
            residual_var: 0.0,
        }
    }

    /// The one-step forecast of the next sample (`None` during the first season).
    pub fn forecast(&self) -> Option<f64> {
        let m = self.config.season_length as u64;
        (self.seen >= m).then(|| self.level + self.trend + self.season[(self.seen % m) as usize])
    }
}

impl Univariate for HoltWintersState {
    const NAME: &'static str = "holt_winters";

    fn step(&mut self, _timestamp: f64, x: f64) -> Detection {
        let c = self.config;
        let m = c.season_length;
        let Some(forecast) = self.forecast() else {
            // First season: collect, then initialise.
            self.season.push(x);
            self.seen += 1;
            if self.season.len() == m {
                self.level = self.season.iter().sum::<f64>() / m as f64;
                let level = self.level;
                self.season.iter_mut().for_each(|s| *s -= level);
            }
            return Detection::default();
        };
        let residual = x - forecast;
        let floor = (c.min_std_relative * self.level.abs()).max(c.min_std_absolute);
        let std = self.residual_var.sqrt().max(floor);
        let out = if self.residuals_seen >= u64::from(c.warmup) {
            let z = c.direction.deviation(residual / std);
            Detection {
                score: score_from_z(z, c.z_threshold),
                alert: z.abs() >= c.z_threshold,
            }
        } else {
            Detection::default()
        };
        // Residual scale (bias-corrected during warm-up, as in the EWMA detector). After
        // warm-up the residual is clipped at z_threshold scales (a Huber-type robust update),
        // so an anomaly does not inflate the scale that is meant to expose it.
        let clipped = if self.residuals_seen >= u64::from(c.warmup) {
            residual.clamp(-c.z_threshold * std, c.z_threshold * std)
        } else {
            residual
        };
        self.residuals_seen += 1;
        let a = c.residual_alpha.max(1.0 / self.residuals_seen as f64);
        self.residual_var += a * (clipped * clipped - self.residual_var);
        // Holt-Winters additive update (FPP3 §8.3).
        let k = (self.seen % m as u64) as usize;
        let (prev_level, prev_trend) = (self.level, self.trend);
        let s_old = self.season[k];
        self.level = c.alpha * (x - s_old) + (1.0 - c.alpha) * (prev_level + prev_trend);
        self.trend = c.beta * (self.level - prev_level) + (1.0 - c.beta) * prev_trend;
        self.season[k] = c.gamma * (x - prev_level - prev_trend) + (1.0 - c.gamma) * s_old;
        self.seen += 1;
        out
    }
}

/// The Holt-Winters detector (one [`HoltWintersState`] per channel).
pub type HoltWinters = Channels<HoltWintersState>;

impl HoltWinters {
    /// Builds a cold detector after validating the configuration.
    pub fn from_config(config: HoltWintersConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Channels::new(HoltWintersState::new(config)))
    }
}
