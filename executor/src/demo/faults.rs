//! The demo service's fault switches and their query-string parameters.

use std::collections::BTreeMap;

/// Faults currently switched on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Extra latency added to every `/` request, in milliseconds.
    pub slow_ms: u64,
    /// Share of `/` requests answered with HTTP 500, in `[0, 1]`.
    pub error_ratio: f64,
    /// Memory leak rate in MiB per second (0 = off).
    pub leak_mib_per_s: u64,
    /// Upper bound of the leak in MiB (protects the host).
    pub leak_max_mib: u64,
}

/// A fault switch request, parsed from `/fault/<kind>?<params>`.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultRequest {
    /// Exit the process at once with status 70 after answering.
    Crash,
    /// Stop answering any request (the request loop sleeps forever).
    Hang,
    /// Leak memory: `mib_per_s` (default 10) up to `max_mib` (default 200).
    Leak {
        /// Rate, MiB per second.
        mib_per_s: u64,
        /// Cap, MiB.
        max_mib: u64,
    },
    /// Add `ms` (default 200) milliseconds to every `/` request.
    Slow {
        /// Added latency.
        ms: u64,
    },
    /// Answer a share `ratio` (default 1) of `/` requests with HTTP 500.
    Errors {
        /// Share of failing requests.
        ratio: f64,
    },
    /// Switch every fault off and free leaked memory.
    Clear,
}

/// Splits `a=1&b=2` into a map (no percent-decoding: the parameters are plain numbers).
fn query_params(query: &str) -> BTreeMap<&str, &str> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect()
}

fn number<T: std::str::FromStr>(
    params: &BTreeMap<&str, &str>,
    name: &str,
    default: T,
) -> Result<T, String> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("parameter `{name}`: expected a number, found `{v}`")),
    }
}

impl FaultRequest {
    /// Parses the part of the URL after `/fault/`; `Err` says what was expected.
    pub fn parse(rest: &str) -> Result<Self, String> {
        let (kind, query) = rest.split_once('?').unwrap_or((rest, ""));
        let params = query_params(query);
        Ok(match kind {
            "crash" => FaultRequest::Crash,
            "hang" => FaultRequest::Hang,
            "leak" => FaultRequest::Leak {
                mib_per_s: number(&params, "mib_per_s", 10)?,
                max_mib: number(&params, "max_mib", 200)?,
            },
            "slow" => FaultRequest::Slow {
                ms: number(&params, "ms", 200)?,
            },
            "errors" => {
                let ratio: f64 = number(&params, "ratio", 1.0)?;
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(format!(
                        "parameter `ratio`: expected a number in [0, 1], found {ratio}"
                    ));
                }
                FaultRequest::Errors { ratio }
            }
            "clear" => FaultRequest::Clear,
            other => {
                return Err(format!(
                    "unknown fault `{other}`: expected crash, hang, leak, slow, errors or clear"
                ));
            }
        })
    }
}

/// Whether request number `n` (0-based) fails at `ratio`: spreads failures evenly and
/// deterministically (request n fails when floor((n+1)·r) > floor(n·r)).
pub fn request_fails(n: u64, ratio: f64) -> bool {
    ((n + 1) as f64 * ratio).floor() > (n as f64 * ratio).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_defaults_and_parameters() {
        assert_eq!(FaultRequest::parse("crash"), Ok(FaultRequest::Crash));
        assert_eq!(
            FaultRequest::parse("slow"),
            Ok(FaultRequest::Slow { ms: 200 })
        );
        assert_eq!(
            FaultRequest::parse("slow?ms=50"),
            Ok(FaultRequest::Slow { ms: 50 })
        );
        assert_eq!(
            FaultRequest::parse("leak?mib_per_s=2&max_mib=8"),
            Ok(FaultRequest::Leak {
                mib_per_s: 2,
                max_mib: 8
            })
        );
        assert!(
            FaultRequest::parse("errors?ratio=2")
                .unwrap_err()
                .contains("ratio")
        );
        assert!(
            FaultRequest::parse("slow?ms=x")
                .unwrap_err()
                .contains("`ms`")
        );
        assert!(FaultRequest::parse("melt").unwrap_err().contains("melt"));
    }

    #[test]
    fn error_ratio_is_spread_exactly() {
        for ratio in [0.0, 0.25, 0.5, 1.0] {
            let failures = (0..400).filter(|&n| request_fails(n, ratio)).count();
            assert_eq!(failures, (400.0 * ratio) as usize, "ratio {ratio}");
        }
    }
}
