//! Timed runs of the renewal model (the speed reference against SimPy, issue 2).

use std::time::Instant;

use mend_sim::dist::DurationDist;
use mend_sim::fault_process::{PhaseStart, RenewalProcess};
use mend_sim::renewal::{RenewalConfig, RenewalStart, run_renewal_with};
use mend_sim::rng::{RngStreams, Stream};
use mend_sim::time::{SimDuration, SimTime};
use serde::Serialize;

use crate::event_queue::BinaryHeapQueue;

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

/// The comparison point for the event queue on the real workload: the renewal model as a
/// hand-written loop over a `std` binary heap, with the same samplers, random stream, start
/// state and event order as [`run_renewal_with`] (stationary start). Returns (events,
/// availability); both equal `run_renewal`'s for the same seed.
pub fn renewal_binary_heap_baseline(
    config: &RenewalConfig,
    horizon: SimDuration,
    seed: u64,
) -> (u64, f64) {
    const DOWN: u64 = 1 << 63;
    let sampler = config.process.sampler();
    let mut rng = RngStreams::new(seed).stream(Stream::Faults);
    let end = SimTime::ZERO + horizon;
    let n = config.components as usize;
    // Payload: bit 63 = down, low bits = downtime booked (as mend_sim::renewal does).
    let mut queue: BinaryHeapQueue<u64> = BinaryHeapQueue::with_capacity(n);
    for _ in 0..n {
        match sampler.stationary_start(&mut rng) {
            PhaseStart::Up(left) => queue.schedule(SimTime::ZERO + left, 0),
            PhaseStart::Down(left) => {
                queue.schedule(SimTime::ZERO + left, DOWN | left.min(horizon).millis())
            }
        }
    }
    let mut events = 0u64;
    let mut total_downtime_ms = 0u128;
    while let Some((now, token)) = queue.pop() {
        if now > end {
            total_downtime_ms += u128::from(token & !DOWN);
            // Every other component's pending event is also past the horizon.
            while let Some((_, rest)) = queue.pop() {
                total_downtime_ms += u128::from(rest & !DOWN);
            }
            break;
        }
        events += 1;
        if token & DOWN != 0 {
            let up = sampler.time_to_failure(&mut rng);
            queue.schedule(now + up, token & !DOWN);
        } else {
            let repair = sampler.time_to_repair(&mut rng);
            let booked = repair.min(end - now).millis();
            queue.schedule(now + repair, DOWN | (token + booked));
        }
    }
    let availability =
        1.0 - total_downtime_ms as f64 / (n.max(1) as f64 * horizon.millis().max(1) as f64);
    (events, availability)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mend_sim::renewal::run_renewal;

    #[test]
    fn binary_heap_baseline_reproduces_the_event_queue_run() {
        let config = reference_config(2_000);
        let report = run_renewal(&config, ONE_YEAR, 5);
        let (events, availability) = renewal_binary_heap_baseline(&config, ONE_YEAR, 5);
        assert_eq!(events, report.events);
        assert!((availability - report.availability).abs() < 1e-12);
    }
}
