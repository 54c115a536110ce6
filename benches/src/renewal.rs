//! Timed runs of the renewal model (the speed reference against SimPy, issue 2).

use std::time::Instant;

use mend_sim::dist::DurationDist;
use mend_sim::fault_process::RenewalProcess;
use mend_sim::renewal::{RenewalConfig, RenewalStart, run_renewal_with};
use mend_sim::time::SimDuration;
use serde::Serialize;

/// One simulated year (365 days), the horizon of the reference runs.
pub const ONE_YEAR: SimDuration = SimDuration(365 * 24 * 3_600 * 1_000);

/// The reference process of issue 2: up times Weibull(shape 0.7, mean 30 days), down times
/// lognormal(median 1 h, sigma 1), with `components` components.
pub fn reference_config(components: u64) -> RenewalConfig {
    RenewalConfig {
        components,
        process: RenewalProcess {
            up: DurationDist::Weibull {
                shape: 0.7,
                mean: SimDuration::from_days(30),
            },
            down: DurationDist::Lognormal {
                median: SimDuration::from_hours(1),
                sigma: 1.0,
            },
        },
    }
}

/// What one timed renewal run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RenewalFigures {
    /// Number of components.
    pub components: u64,
    /// Simulated span.
    pub horizon: SimDuration,
    /// How components started.
    pub start: RenewalStart,
    /// Events processed (failures and repairs).
    pub events: u64,
    /// Wall-clock seconds for the whole run (set-up included).
    pub wall_seconds: f64,
    /// `events / wall_seconds`.
    pub events_per_second: f64,
    /// Measured time-weighted availability.
    pub availability: f64,
    /// Its standard error across components.
    pub availability_std_error: f64,
    /// The long-run value mean_up / (mean_up + mean_down).
    pub analytic_availability: f64,
}

/// Times the reference renewal model with `n` components over `horizon` (seed 1, stationary
/// start).
pub fn renewal_figures(n: u64, horizon: SimDuration) -> RenewalFigures {
    renewal_figures_with(&reference_config(n), horizon, 1, RenewalStart::Stationary)
}

/// Times one renewal run of `config`.
pub fn renewal_figures_with(
    config: &RenewalConfig,
    horizon: SimDuration,
    seed: u64,
    start: RenewalStart,
) -> RenewalFigures {
    let started = Instant::now();
    let report = run_renewal_with(config, horizon, seed, start);
    let wall_seconds = started.elapsed().as_secs_f64();
    RenewalFigures {
        components: report.components,
        horizon,
        start,
        events: report.events,
        wall_seconds,
        events_per_second: report.events as f64 / wall_seconds.max(1e-9),
        availability: report.availability,
        availability_std_error: report.availability_std_error,
        analytic_availability: report.analytic_availability,
    }
}
