//! Turning a standardised deviation into a score in [0, 1], the Gaussian tail probability
//! that relates a z threshold to a false-alarm rate, and the [`Direction`] of deviation that
//! counts (rises only, falls only, or both).

use serde::{Deserialize, Serialize};

/// Which deviations of a value from its expectation count as anomalous. For a metric where
/// only one direction is a symptom (error ratio, latency, utilisation: higher is worse, as the
/// Prometheus-style static rules bound them only from above), scoring only rises keeps the
/// detector quiet when the metric falls back after a fault ends, and on improvements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Rises and falls both count (a two-sided test). The default.
    #[default]
    Both,
    /// Only rises (value above its expectation) count.
    Up,
    /// Only falls (value below its expectation) count.
    Down,
}

impl Direction {
    /// Every direction, in the order of [`Direction::name`]'s texts.
    pub const ALL: [Direction; 3] = [Direction::Both, Direction::Up, Direction::Down];

    /// The part of a signed deviation `z` (value minus expectation, in scale units) that
    /// counts: `z` itself, its positive part or its negative part.
    #[inline]
    pub fn deviation(self, z: f64) -> f64 {
        match self {
            Direction::Both => z,
            Direction::Up => z.max(0.0),
            Direction::Down => z.min(0.0),
        }
    }

    /// The name used in configuration and spec text: `both`, `up` or `down`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Both => "both",
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    /// The direction named `both`, `up` or `down`; `None` for any other text.
    pub fn from_name(name: &str) -> Option<Self> {
        Direction::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// The changes that count on `metric` under `dir=auto`: rises only for error ratio and p99
/// latency (lower is never worse: the "errors" and "latency" golden signals, Beyer et al., *Site
/// Reliability Engineering*, O'Reilly 2016, ch. 6), both ways for everything else (utilisation
/// can fall in a fault as well as rise).
pub fn metric_direction(metric: &str) -> Direction {
    match metric {
        "error_ratio" | "latency_p99_seconds" => Direction::Up,
        _ => Direction::Both,
    }
}

/// How a spec's direction applies to the watched metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricDirections {
    /// The same direction on every metric (`dir=up`, `dir=down`, `dir=both`).
    Uniform(Direction),
    /// Per metric by [`metric_direction`] (`dir=auto`).
    Auto,
}

impl Default for MetricDirections {
    fn default() -> Self {
        MetricDirections::Uniform(Direction::Both)
    }
}

impl MetricDirections {
    /// The direction on `metric`.
    pub fn on(self, metric: &str) -> Direction {
        match self {
            MetricDirections::Uniform(d) => d,
            MetricDirections::Auto => metric_direction(metric),
        }
    }

    /// The spec text: `up`, `down`, `both` or `auto`.
    pub fn name(self) -> &'static str {
        match self {
            MetricDirections::Uniform(d) => d.name(),
            MetricDirections::Auto => "auto",
        }
    }

    /// The directions named `up`, `down`, `both` or `auto`; `None` for any other text.
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "auto" {
            return Some(MetricDirections::Auto);
        }
        Direction::from_name(name).map(MetricDirections::Uniform)
    }
}

/// Score of a deviation of `z` standard deviations for an alert threshold of `z_alert`:
/// `z^2 / (z^2 + z_alert^2)`. It is 0 at no deviation, exactly 0.5 at the alert threshold, and
/// keeps ranking large deviations (it reaches 1 only at infinity), which NAB's threshold sweep
/// needs.
#[inline]
pub fn score_from_z(z: f64, z_alert: f64) -> f64 {
    let z2 = z * z;
    if z2.is_nan() {
        return 0.0;
    }
    if z2.is_infinite() {
        return 1.0;
    }
    z2 / (z2 + z_alert * z_alert)
}

/// `P(|Z| >= z)` for a standard normal `Z`: the false-alarm rate per sample of a z-score alert
/// at `z` on Gaussian noise. Uses `erfc` by the Chebyshev fit of Numerical Recipes in C, 2nd ed.,
/// §6.2 (`erfcc`, fractional error below 1.2e-7).
pub fn gaussian_two_sided_tail(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// Validates the z-score settings the EWMA, median/MAD and Holt-Winters detectors share: the alert
/// threshold in standard deviations and the relative and absolute floors on the scale.
pub(crate) fn check_z_settings(
    detector: &'static str,
    z_threshold: f64,
    min_std_relative: f64,
    min_std_absolute: f64,
) -> Result<(), super::DetectorError> {
    use super::check;
    check(
        z_threshold > 0.0 && z_threshold.is_finite(),
        detector,
        "z_threshold",
        z_threshold,
        "a positive number",
    )?;
    check(
        min_std_relative >= 0.0 && min_std_relative.is_finite(),
        detector,
        "min_std_relative",
        min_std_relative,
        ">= 0",
    )?;
    check(
        min_std_absolute > 0.0 && min_std_absolute.is_finite(),
        detector,
        "min_std_absolute",
        min_std_absolute,
        "> 0",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_half_at_the_alert_threshold_and_monotone() {
        assert_eq!(score_from_z(4.0, 4.0), 0.5);
        assert_eq!(score_from_z(0.0, 4.0), 0.0);
        assert!(score_from_z(100.0, 4.0) > score_from_z(10.0, 4.0));
        assert!(score_from_z(100.0, 4.0) < 1.0);
        assert_eq!(score_from_z(f64::INFINITY, 4.0), 1.0);
        assert_eq!(score_from_z(f64::NAN, 4.0), 0.0);
    }

    #[test]
    fn direction_keeps_only_the_deviations_that_count() {
        assert_eq!(Direction::Both.deviation(-3.0), -3.0);
        assert_eq!(Direction::Up.deviation(-3.0), 0.0);
        assert_eq!(Direction::Up.deviation(2.5), 2.5);
        assert_eq!(Direction::Down.deviation(2.5), 0.0);
        assert_eq!(Direction::Down.deviation(-2.5), -2.5);
        for d in Direction::ALL {
            assert_eq!(Direction::from_name(d.name()), Some(d));
        }
        assert_eq!(Direction::from_name("sideways"), None);
    }

    #[test]
    fn gaussian_tail_matches_tables() {
        // Standard normal table values: P(|Z| >= 1.96) = 0.05, P(|Z| >= 3) = 0.0026998.
        assert!((gaussian_two_sided_tail(1.959_964) - 0.05).abs() < 1e-6);
        assert!((gaussian_two_sided_tail(3.0) - 0.002_699_8).abs() < 1e-6);
        assert!((gaussian_two_sided_tail(0.0) - 1.0).abs() < 1e-6);
    }
}
