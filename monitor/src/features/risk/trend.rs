//! Time-based trends of a service's telemetry columns, the failure predictor's precursor inputs
//! (issue 5, item 5): incidents the simulator produces are often announced by a slow build-up
//! (a memory leak growing to OOM, a latency or error-rate creep before an SLO breach) that the
//! current row alone shows poorly.
//!
//! For each of [`TREND_COLUMNS`], over the samples of the last `trend_seconds` *by timestamp*
//! (so the value does not depend on how often rows arrive: every 15 s scrape in the simulator,
//! every 30 s decision in the env, every 0.5-15 s loop live):
//! - `delta`: last value minus first value;
//! - `change`: the ordinary least-squares slope of the values against time in seconds, times
//!   `trend_seconds`: the fitted change over the full span, in the column's units, comparable
//!   with `delta` but robust to noise at the two ends. 0 with fewer than 2 distinct times.
//!
//! The slope is the least-squares estimate `Σ (tᵢ − t̄)(yᵢ − ȳ) / Σ (tᵢ − t̄)²` (Montgomery,
//! Peck & Vining, *Introduction to Linear Regression Analysis*, 5th ed., 2012, §2.2.1), which is
//! what Prometheus' `deriv()` computes over a range vector ("the per-second derivative of the time
//! series in a range vector v, using simple linear regression",
//! <https://prometheus.io/docs/prometheus/latest/querying/functions/#deriv>).
//!
//! Bounds (for the predictor's fixed input scaling, never data statistics, so federated clients
//! share nothing but updates) are set a priori per column: changes beyond them saturate.

/// The service columns whose trends are inputs, with the change that saturates the scaled input
/// (a priori: half the utilisation or error range, one unit of log latency, one of CPU).
pub const TREND_COLUMNS: [(&str, f32); 4] = [
    ("svc_replica_memory_max", 0.5),
    ("svc_latency_p99", 1.0),
    ("svc_error_ratio", 0.5),
    ("svc_replica_cpu_max", 1.0),
];

/// Trend inputs per service: `delta` and `change` of each [`TREND_COLUMNS`] entry, in that order.
pub const TREND_INPUTS: usize = 2 * TREND_COLUMNS.len();

/// Bounds of the trend inputs, in the order [`TREND_INPUTS`] describes (`delta`, `change` per
/// column): `(-span, span)`.
pub fn trend_bounds() -> Vec<(f32, f32)> {
    TREND_COLUMNS
        .iter()
        .flat_map(|&(_, span)| [(-span, span), (-span, span)])
        .collect()
}

/// Names of the trend inputs (`trend_delta:COLUMN`, `trend_change:COLUMN`), in input order.
pub fn trend_names() -> Vec<String> {
    TREND_COLUMNS
        .iter()
        .flat_map(|&(c, _)| [format!("trend_delta:{c}"), format!("trend_change:{c}")])
        .collect()
}

/// The least-squares slope of `(time, value)` points, in value units per second (see the module
/// doc); 0 with fewer than 2 points or when every time is the same. Two passes, centred on the
/// mean time, so Unix timestamps (about 1.7e9 s) lose no precision.
pub fn least_squares_slope<I>(points: I) -> f64
where
    I: Iterator<Item = (f64, f64)> + Clone,
{
    let (mut n, mut sum_t, mut sum_y) = (0usize, 0.0, 0.0);
    for (t, y) in points.clone() {
        n += 1;
        sum_t += t;
        sum_y += y;
    }
    if n < 2 {
        return 0.0;
    }
    let (mean_t, mean_y) = (sum_t / n as f64, sum_y / n as f64);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, y) in points {
        let dt = t - mean_t;
        sxy += dt * (y - mean_y);
        sxx += dt * dt;
    }
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

/// `(delta, change)` of `points` (time-ordered) over a span of `trend_seconds` (see the module
/// doc); `(0, 0)` without points.
pub fn trend<I>(points: I, trend_seconds: f64) -> (f64, f64)
where
    I: Iterator<Item = (f64, f64)> + Clone,
{
    let mut ends = points.clone();
    let delta = match (ends.next(), ends.last()) {
        (Some((_, first)), Some((_, last))) => last - first,
        _ => 0.0,
    };
    (delta, least_squares_slope(points) * trend_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_irregular_times_matches_the_hand_worked_value() {
        // Times 0, 10, 30 s, values 0, 1, 1: mean t 40/3, mean y 2/3;
        // Sxx = (1600 + 100 + 2500) / 9, Sxy = (80 - 10 + 50) / 9, slope = 120 / 4200 = 1/35.
        let points = [(0.0, 0.0), (10.0, 1.0), (30.0, 1.0)];
        let slope = least_squares_slope(points.iter().copied());
        assert!((slope - 1.0 / 35.0).abs() < 1e-12, "{slope}");
        let (delta, change) = trend(points.iter().copied(), 600.0);
        assert_eq!(delta, 1.0);
        assert!((change - 600.0 / 35.0).abs() < 1e-9, "{change}");
        // An exact line y = 0.002 t + 0.1 at irregular Unix times: slope 0.002 whatever the offset.
        let t0 = 1.7e9;
        let line: Vec<(f64, f64)> = [0.0, 7.0, 19.0, 20.0, 55.0]
            .iter()
            .map(|&dt| (t0 + dt, 0.002 * dt + 0.1))
            .collect();
        let slope = least_squares_slope(line.iter().copied());
        assert!((slope - 0.002).abs() < 1e-9, "{slope}");
        let (delta, change) = trend(line.iter().copied(), 600.0);
        assert!((delta - 0.11).abs() < 1e-12 && (change - 1.2).abs() < 1e-6);
    }

    #[test]
    fn degenerate_windows_have_no_trend() {
        assert_eq!(least_squares_slope(std::iter::empty()), 0.0);
        assert_eq!(least_squares_slope([(5.0, 3.0)].into_iter()), 0.0);
        assert_eq!(
            least_squares_slope([(5.0, 3.0), (5.0, 9.0)].into_iter()),
            0.0,
            "one distinct time"
        );
        assert_eq!(trend(std::iter::empty(), 600.0), (0.0, 0.0));
        assert_eq!(trend_bounds().len(), TREND_INPUTS);
        assert_eq!(trend_names().len(), TREND_INPUTS);
    }
}
