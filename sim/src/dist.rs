//! Duration distributions as written in scenario files: validation, means and sampling.
//!
//! ```toml
//! up   = { dist = "weibull", shape = 0.7, mean = "30d" }
//! down = { dist = "lognormal", median = "1h", sigma = 1.0 }
//! ```
//!
//! Why these families: in the field, times between failures of cluster nodes fit a Weibull
//! distribution with a decreasing hazard rate (shape 0.7-0.8) better than an exponential, and
//! repair times fit a lognormal best (B. Schroeder and G. A. Gibson, "A large-scale study of
//! failures in high-performance computing systems", DSN 2006, sections 5.2 and 6).
//!
//! [`DurationDist`] is the validated description; [`DurationSampler`] is the same distribution
//! with its constants (e.g. the Weibull scale, which needs the Gamma function) worked out once,
//! for hot loops. Both draw identical values from the same generator state.

use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::rng::SimRng;
use crate::time::SimDuration;

/// A distribution of durations. Parameters with a unit are [`SimDuration`] strings (`"30d"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DurationDist {
    /// Always `value`.
    Fixed {
        /// The duration.
        value: SimDuration,
    },
    /// Exponential with the given mean (constant hazard, memoryless).
    Exponential {
        /// Mean duration; must be > 0.
        mean: SimDuration,
    },
    /// Weibull with shape `k` and the given mean; scale = mean / Gamma(1 + 1/k).
    /// `k < 1` is a decreasing hazard (infant mortality), as measured for node failures.
    Weibull {
        /// Shape `k`; must be finite and > 0.
        shape: f64,
        /// Mean duration; must be > 0.
        mean: SimDuration,
    },
    /// Lognormal: ln(seconds) is normal with mu = ln(median seconds) and standard deviation sigma.
    Lognormal {
        /// Median duration; must be > 0.
        median: SimDuration,
        /// Standard deviation of ln(duration); must be finite and >= 0.
        sigma: f64,
    },
    /// Uniform between `min` and `max` inclusive, at millisecond resolution.
    Uniform {
        /// Smallest value.
        min: SimDuration,
        /// Largest value; must be >= `min`.
        max: SimDuration,
    },
}

impl DurationDist {
    /// Checks the parameters; the error names the parameter, the rule and the value found,
    /// e.g. `"weibull shape must be > 0, got -1"`.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            DurationDist::Fixed { .. } => {}
            DurationDist::Exponential { mean } => positive("exponential", "mean", mean)?,
            DurationDist::Weibull { shape, mean } => {
                if !(shape.is_finite() && shape > 0.0) {
                    return Err(format!("weibull shape must be > 0 and finite, got {shape}"));
                }
                positive("weibull", "mean", mean)?;
                let scale = weibull_scale_ms(shape, mean);
                if !(scale.is_finite() && scale > 0.0) {
                    return Err(format!(
                        "weibull shape {shape} is too small: Gamma(1 + 1/shape) overflows \
                         (shape must be >= about 0.006)"
                    ));
                }
            }
            DurationDist::Lognormal { median, sigma } => {
                positive("lognormal", "median", median)?;
                if !(sigma.is_finite() && sigma >= 0.0) {
                    return Err(format!(
                        "lognormal sigma must be >= 0 and finite, got {sigma}"
                    ));
                }
                if !self.mean_secs().is_finite() {
                    return Err(format!(
                        "lognormal sigma {sigma} is too large: the mean median*exp(sigma^2/2) overflows"
                    ));
                }
            }
            DurationDist::Uniform { min, max } => {
                if min > max {
                    return Err(format!(
                        "uniform min must be <= max, got min {min} > max {max}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The mean in seconds (before rounding samples to milliseconds).
    pub fn mean_secs(&self) -> f64 {
        match *self {
            DurationDist::Fixed { value } => value.as_secs_f64(),
            DurationDist::Exponential { mean } | DurationDist::Weibull { mean, .. } => {
                mean.as_secs_f64()
            }
            // E[X] = exp(mu + sigma^2 / 2) for a lognormal (Johnson, Kotz & Balakrishnan,
            // Continuous Univariate Distributions vol. 1, 2nd ed., eq. 14.8a).
            DurationDist::Lognormal { median, sigma } => {
                median.as_secs_f64() * (sigma * sigma / 2.0).exp()
            }
            DurationDist::Uniform { min, max } => (min.as_secs_f64() + max.as_secs_f64()) / 2.0,
        }
    }

    /// One sample, rounded to the nearest millisecond. Call [`DurationDist::validate`] first;
    /// on parameters it rejects, the result is unspecified but never a panic.
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        self.sampler().sample(rng)
    }

    /// The distribution with its constants precomputed, for repeated sampling.
    pub fn sampler(&self) -> DurationSampler {
        let kind = match *self {
            DurationDist::Fixed { value } => SamplerKind::Fixed(value),
            DurationDist::Exponential { mean } => SamplerKind::Exponential {
                mean_ms: mean.millis() as f64,
            },
            DurationDist::Weibull { shape, mean } => SamplerKind::Weibull {
                scale_ms: weibull_scale_ms(shape, mean),
                shape,
                inv_shape: 1.0 / shape,
            },
            DurationDist::Lognormal { median, sigma } => SamplerKind::Lognormal {
                mu_ms: (median.millis() as f64).ln(),
                sigma,
            },
            DurationDist::Uniform { min, max } => SamplerKind::Uniform { min, max },
        };
        DurationSampler { kind }
    }
}

/// Checks that `value` is > 0 for the error message `"{dist} {name} must be > 0, got 0s"`.
fn positive(dist: &str, name: &str, value: SimDuration) -> Result<(), String> {
    if value.is_zero() {
        return Err(format!("{dist} {name} must be > 0, got {value}"));
    }
    Ok(())
}

/// Weibull scale in ms for a given shape and mean: mean = scale * Gamma(1 + 1/shape)
/// (Johnson, Kotz & Balakrishnan vol. 1, eq. 21.6). Gamma from `libm::tgamma` (a port of
/// musl's implementation).
fn weibull_scale_ms(shape: f64, mean: SimDuration) -> f64 {
    mean.millis() as f64 / libm::tgamma(1.0 + 1.0 / shape)
}

/// A [`DurationDist`] ready for repeated sampling (constants worked out once).
#[derive(Clone, Debug, PartialEq)]
pub struct DurationSampler {
    kind: SamplerKind,
}

#[derive(Clone, Debug, PartialEq)]
enum SamplerKind {
    Fixed(SimDuration),
    Exponential {
        mean_ms: f64,
    },
    Weibull {
        scale_ms: f64,
        shape: f64,
        inv_shape: f64,
    },
    Lognormal {
        mu_ms: f64,
        sigma: f64,
    },
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
}

impl DurationSampler {
    /// One sample, rounded to the nearest millisecond.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        match self.kind {
            SamplerKind::Fixed(value) => value,
            SamplerKind::Exponential { mean_ms } => {
                let e: f64 = Exp1.sample(rng);
                round_ms(mean_ms * e)
            }
            // Inverse transform: scale * (-ln U)^(1/k), U in (0, 1] (as rand_distr's Weibull).
            SamplerKind::Weibull {
                scale_ms,
                inv_shape,
                ..
            } => {
                let u: f64 = rng.sample(rand_distr::OpenClosed01);
                round_ms(scale_ms * (-u.ln()).powf(inv_shape))
            }
            SamplerKind::Lognormal { mu_ms, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                round_ms((mu_ms + sigma * z).exp())
            }
            SamplerKind::Uniform { min, max } => {
                SimDuration(rng.random_range(min.millis()..=max.millis().max(min.millis())))
            }
        }
    }

    /// The time left in an interval that is in progress at an arbitrary instant of a stationary
    /// renewal process with these interval lengths (the "equilibrium" or residual-life
    /// distribution, density (1 - F(x)) / mean). Sampled as U * L where L is the length-biased
    /// interval (density x f(x) / mean) and U is uniform on [0, 1) (Cox, "Renewal Theory", 1962,
    /// §5.2). Length-biased forms: Weibull(k, s): s * G^(1/k), G ~ Gamma(1 + 1/k, 1); lognormal
    /// (mu, sigma): lognormal(mu + sigma^2, sigma); exponential: the residual is the same
    /// exponential; uniform [a, b]: sqrt(a^2 + V (b^2 - a^2)).
    pub fn sample_residual(&self, rng: &mut SimRng) -> SimDuration {
        let length_biased_ms = match self.kind {
            SamplerKind::Fixed(value) => value.millis() as f64,
            SamplerKind::Exponential { .. } => return self.sample(rng),
            SamplerKind::Weibull {
                scale_ms,
                shape,
                inv_shape,
            } => {
                let g: f64 = match Gamma::new(1.0 + 1.0 / shape, 1.0) {
                    Ok(gamma) => gamma.sample(rng),
                    Err(_) => 1.0, // unreachable for a validated shape
                };
                scale_ms * g.powf(inv_shape)
            }
            SamplerKind::Lognormal { mu_ms, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu_ms + sigma * sigma + sigma * z).exp()
            }
            SamplerKind::Uniform { min, max } => {
                let (a, b) = (min.millis() as f64, max.millis() as f64);
                let v: f64 = rng.random();
                (a * a + v * (b * b - a * a)).sqrt()
            }
        };
        let u: f64 = rng.random();
        round_ms(u * length_biased_ms)
    }
}

/// Rounds a non-negative number of milliseconds to a [`SimDuration`], saturating; NaN gives 0.
#[inline]
fn round_ms(ms: f64) -> SimDuration {
    // Float-to-int `as` casts saturate and map NaN to 0 (Rust reference, "Numeric cast").
    SimDuration((ms + 0.5) as u64)
}
