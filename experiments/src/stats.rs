//! Summary statistics for results people read: means with 95 % confidence intervals (Student t,
//! two-sided) and paired differences between agents evaluated on the same seeds (BRIEF §9: common
//! random numbers make the paired interval much tighter than two independent ones).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval we print.
pub const CONFIDENCE: f64 = 0.95;

/// Mean and 95 % confidence interval of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Sample size (non-NaN values).
    pub n: usize,
    /// Sample mean (NaN when n = 0).
    pub mean: f64,
    /// Sample standard deviation (n - 1 denominator; 0 when n < 2).
    pub std_dev: f64,
    /// Half-width of the 95 % interval: t(0.975, n - 1) * sd / sqrt(n); infinite when n < 2.
    pub half_width: f64,
}

impl Estimate {
    /// Lower end of the interval.
    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }

    /// Upper end of the interval.
    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }

    /// Whether the interval excludes zero (the difference is significant at 5 %).
    pub fn excludes_zero(&self) -> bool {
        self.low() > 0.0 || self.high() < 0.0
    }
}

/// Mean and 95 % interval of `values`, ignoring NaNs (e.g. an episode with no fault has no TTD).
pub fn estimate(values: &[f64]) -> Estimate {
    let xs: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = xs.len();
    if n == 0 {
        return Estimate {
            n,
            mean: f64::NAN,
            std_dev: f64::NAN,
            half_width: f64::NAN,
        };
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Estimate {
            n,
            mean,
            std_dev: 0.0,
            half_width: f64::INFINITY,
        };
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std_dev = var.sqrt();
    Estimate {
        n,
        mean,
        std_dev,
        half_width: t_quantile(n - 1) * std_dev / (n as f64).sqrt(),
    }
}

/// Paired differences `a[i] - b[i]` over the pairs where both are numbers.
pub fn paired_difference(a: &[f64], b: &[f64]) -> Estimate {
    let diffs: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .map(|(x, y)| x - y)
        .collect();
    estimate(&diffs)
}

/// The two-sided 95 % quantile of Student's t with `dof` degrees of freedom.
pub fn t_quantile(dof: usize) -> f64 {
    match StudentsT::new(0.0, 1.0, dof as f64) {
        Ok(t) => t.inverse_cdf(0.5 + CONFIDENCE / 2.0),
        Err(_) => f64::INFINITY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Standard t-table values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
        assert!((t_quantile(1) - 12.706).abs() < 1e-3);
        assert!((t_quantile(19) - 2.093).abs() < 1e-3);
        assert!((t_quantile(1000) - 1.962).abs() < 1e-3);
    }

    #[test]
    fn estimate_by_hand() {
        // mean 2.5, sd = sqrt(5/3), half-width = 3.182 * sd / 2
        let e = estimate(&[1.0, 2.0, 3.0, 4.0, f64::NAN]);
        assert_eq!(e.n, 4);
        assert!((e.mean - 2.5).abs() < 1e-12);
        assert!((e.std_dev - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((e.half_width - 3.182_446 * (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-5);
        assert!(!e.excludes_zero() || e.low() > 0.0);
    }

    #[test]
    fn paired_beats_unpaired_when_noise_is_shared() {
        let base: Vec<f64> = (0..20).map(|i| (i * 37 % 11) as f64 * 10.0).collect();
        let better: Vec<f64> = base
            .iter()
            .enumerate()
            .map(|(i, b)| b - 1.0 - (i % 3) as f64 * 0.1)
            .collect();
        let d = paired_difference(&better, &base);
        assert!(d.excludes_zero(), "{d:?}");
        assert!(d.high() < 0.0);
        assert!(estimate(&better).half_width > 10.0 * d.half_width);
    }

    #[test]
    fn degenerate_samples() {
        assert!(estimate(&[]).mean.is_nan());
        let one = estimate(&[3.0]);
        assert_eq!(one.mean, 3.0);
        assert!(one.half_width.is_infinite());
    }
}
