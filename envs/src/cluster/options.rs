//! `reset(seed, options)` options of the cluster env (Gymnasium's `options` dict): parsed and
//! checked before anything changes, so a bad option leaves the env as it was.
//!
//! | key | value | effect |
//! |-----|-------|--------|
//! | `replay` | array of trace records (the JSON objects of a JSON Lines trace) | this episode takes its faults from these records (overrides [`super::ClusterConfig::replay`]) |
//! | `start_time_s` | number of seconds, `0 <= t <` horizon | the world runs without actions up to `t` before the first observation |
//!
//! Any other key is refused with an error that lists these.

use mend_sim::time::SimDuration;
use mend_sim::trace::TraceRecord;

use super::CLUSTER_ID;
use crate::env::Info;
use crate::error::EnvError;

/// The option keys the cluster env accepts.
pub const RESET_OPTION_KEYS: [&str; 2] = ["replay", "start_time_s"];

/// Checked reset options.
#[derive(Debug, Default)]
pub(crate) struct ResetOptions {
    /// Fault records to replay this episode.
    pub(crate) replay: Option<Vec<TraceRecord>>,
    /// Time to run the world to before the first observation.
    pub(crate) start_time: Option<SimDuration>,
}

fn bad(field: &str, expected: String) -> EnvError {
    EnvError::InvalidConfig {
        env: format!("{CLUSTER_ID} reset"),
        field: format!("options.{field}"),
        expected,
    }
}

/// Parses `options` against a scenario of horizon `horizon`.
pub(crate) fn parse(
    options: Option<&Info>,
    horizon: SimDuration,
) -> Result<ResetOptions, EnvError> {
    let mut out = ResetOptions::default();
    let Some(options) = options else {
        return Ok(out);
    };
    for (key, value) in options {
        match key.as_str() {
            "replay" => {
                let records: Vec<TraceRecord> = serde_json::from_value(value.clone())
                    .map_err(|e| bad(key, format!("an array of trace records ({e})")))?;
                out.replay = Some(records);
            }
            "start_time_s" => {
                let secs = value
                    .as_f64()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| bad(key, format!("a number of seconds >= 0, got {value}")))?;
                let at = SimDuration((secs * 1000.0).round() as u64);
                if at >= horizon {
                    return Err(bad(
                        key,
                        format!(
                            "less than the scenario's horizon ({} s), got {secs}",
                            horizon.0 as f64 / 1000.0
                        ),
                    ));
                }
                out.start_time = Some(at);
            }
            other => {
                return Err(bad(
                    other,
                    format!(
                        "one of the known option keys: {}",
                        RESET_OPTION_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}
