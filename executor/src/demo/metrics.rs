//! The demo service's counters and their rendering in the Prometheus text exposition format
//! (format 0.0.4: <https://prometheus.io/docs/instrumenting/exposition_formats/>).

use std::fmt::Write;

use super::faults::Faults;

/// Histogram bucket bounds in seconds: the Prometheus client libraries' default buckets
/// (client_golang `prometheus.DefBuckets`).
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Request counters and the latency histogram of `/`.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Requests to `/`.
    pub requests: u64,
    /// `/` requests answered with an error.
    pub errors: u64,
    /// Cumulative count per bucket of [`BUCKETS`].
    pub bucket_counts: [u64; BUCKETS.len()],
    /// Sum of observed latencies, seconds.
    pub latency_sum: f64,
}

impl Counters {
    /// Records one `/` request of `seconds`, failed or not.
    pub fn observe(&mut self, seconds: f64, failed: bool) {
        self.requests += 1;
        if failed {
            self.errors += 1;
        }
        self.latency_sum += seconds;
        for (bound, count) in BUCKETS.iter().zip(self.bucket_counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
    }
}

/// Resident set size of this process in bytes, from `VmRSS` in `/proc/self/status` (Linux; 0
/// elsewhere). See proc(5).
pub fn resident_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// Renders every metric of the service named `service`.
pub fn render(
    service: &str,
    counters: &Counters,
    faults: &Faults,
    leaked_bytes: u64,
    rss: u64,
) -> String {
    let mut out = String::new();
    let l = format!("service=\"{service}\"");
    // `write!` to a String cannot fail.
    let _ = writeln!(
        out,
        "# HELP mend_demo_up 1 while the service answers requests."
    );
    let _ = writeln!(out, "# TYPE mend_demo_up gauge");
    let _ = writeln!(out, "mend_demo_up{{{l}}} 1");
    let _ = writeln!(out, "# HELP mend_demo_requests_total Requests to /.");
    let _ = writeln!(out, "# TYPE mend_demo_requests_total counter");
    let _ = writeln!(out, "mend_demo_requests_total{{{l}}} {}", counters.requests);
    let _ = writeln!(
        out,
        "# HELP mend_demo_errors_total Requests to / answered with HTTP 500."
    );
    let _ = writeln!(out, "# TYPE mend_demo_errors_total counter");
    let _ = writeln!(out, "mend_demo_errors_total{{{l}}} {}", counters.errors);
    let _ = writeln!(
        out,
        "# HELP mend_demo_request_duration_seconds Latency of / requests."
    );
    let _ = writeln!(out, "# TYPE mend_demo_request_duration_seconds histogram");
    for (bound, count) in BUCKETS.iter().zip(counters.bucket_counts.iter()) {
        let _ = writeln!(
            out,
            "mend_demo_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {count}"
        );
    }
    let _ = writeln!(
        out,
        "mend_demo_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
        counters.requests
    );
    let _ = writeln!(
        out,
        "mend_demo_request_duration_seconds_sum{{{l}}} {}",
        counters.latency_sum
    );
    let _ = writeln!(
        out,
        "mend_demo_request_duration_seconds_count{{{l}}} {}",
        counters.requests
    );
    let _ = writeln!(
        out,
        "# HELP process_resident_memory_bytes Resident memory size in bytes."
    );
    let _ = writeln!(out, "# TYPE process_resident_memory_bytes gauge");
    let _ = writeln!(out, "process_resident_memory_bytes {rss}");
    let _ = writeln!(
        out,
        "# HELP mend_demo_leaked_bytes Memory held by the leak fault."
    );
    let _ = writeln!(out, "# TYPE mend_demo_leaked_bytes gauge");
    let _ = writeln!(out, "mend_demo_leaked_bytes{{{l}}} {leaked_bytes}");
    let _ = writeln!(
        out,
        "# HELP mend_demo_fault Fault switches: 1 when on (errors: the ratio)."
    );
    let _ = writeln!(out, "# TYPE mend_demo_fault gauge");
    let on = |b: bool| if b { 1 } else { 0 };
    let _ = writeln!(
        out,
        "mend_demo_fault{{{l},kind=\"errors\"}} {}",
        faults.error_ratio
    );
    let _ = writeln!(
        out,
        "mend_demo_fault{{{l},kind=\"leak\"}} {}",
        on(faults.leak_mib_per_s > 0)
    );
    let _ = writeln!(
        out,
        "mend_demo_fault{{{l},kind=\"slow\"}} {}",
        on(faults.slow_ms > 0)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut c = Counters::default();
        c.observe(0.003, false);
        c.observe(0.07, true);
        c.observe(20.0, false);
        assert_eq!(c.bucket_counts[0], 1); // <= 5 ms
        assert_eq!(c.bucket_counts[4], 2); // <= 100 ms
        assert_eq!(c.bucket_counts[BUCKETS.len() - 1], 2); // <= 10 s
        assert_eq!((c.requests, c.errors), (3, 1));
    }

    #[test]
    fn resident_memory_is_reported_on_linux() {
        assert!(resident_memory_bytes() > 0);
    }
}
