//! `reset(seed, options)` options of the cluster env (Gymnasium's `options` dict): parsed and
//! checked before anything changes, so a bad option leaves the env as it was.
//!
//! | key | value | effect |
//! |-----|-------|--------|
//! | `replay` | array of trace records (the JSON objects of a JSON Lines trace) | this episode takes its faults from these records (overrides [`super::ClusterConfig::replay`]) |
//! | `start_time_s` | number of seconds, `0 <= t <` horizon | the world runs without actions up to `t` before the first observation |
//! | `faults` | array of `{"at", "kind", "target", "duration"}` objects, the fields of a scenario's `[[faults.scripted]]` (durations as strings such as `"90s"`, `"5m"`) | fault injection: this episode gets these faults on top of the scenario's own; checked against the scenario like scripted faults (target exists, onset before the horizon, duration > 0); not with `replay` |
//!
//! Any other key is refused with an error that lists these.

use mend_sim::Scenario;
use mend_sim::error::ScenarioError;
use mend_sim::scenario::schema::ScriptedFaultSpec;
use mend_sim::time::SimDuration;
use mend_sim::trace::TraceRecord;

use super::CLUSTER_ID;
use crate::env::Info;
use crate::error::EnvError;

/// The option keys the cluster env accepts.
pub const RESET_OPTION_KEYS: [&str; 3] = ["replay", "start_time_s", "faults"];

/// Checked reset options.
#[derive(Debug, Default)]
pub(crate) struct ResetOptions {
    /// Fault records to replay this episode.
    pub(crate) replay: Option<Vec<TraceRecord>>,
    /// Time to run the world to before the first observation.
    pub(crate) start_time: Option<SimDuration>,
    /// The scenario with the injected faults added (`faults` option), already validated.
    pub(crate) scenario: Option<Scenario>,
}

fn bad(field: &str, expected: String) -> EnvError {
    EnvError::InvalidConfig {
        env: format!("{CLUSTER_ID} reset"),
        field: format!("options.{field}"),
        expected,
    }
}

/// Parses `options` against `scenario`.
pub(crate) fn parse(options: Option<&Info>, scenario: &Scenario) -> Result<ResetOptions, EnvError> {
    let horizon = scenario.spec().scenario.horizon;
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
            "faults" => {
                let faults: Vec<ScriptedFaultSpec> =
                    serde_json::from_value(value.clone()).map_err(|e| {
                        bad(
                            key,
                            format!(
                                "an array of {{\"at\", \"kind\", \"target\", \"duration\"}} objects ({e})"
                            ),
                        )
                    })?;
                out.scenario = Some(with_faults(scenario, faults)?);
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
    if out.replay.is_some() && out.scenario.is_some() {
        return Err(bad(
            "faults",
            "no `replay` in the same reset (a replayed episode takes its faults from the trace)"
                .into(),
        ));
    }
    Ok(out)
}

/// `scenario` with `faults` appended to its scripted faults, validated as the scenario loader
/// validates them; an error names the offending `options.faults[i]` field.
fn with_faults(scenario: &Scenario, faults: Vec<ScriptedFaultSpec>) -> Result<Scenario, EnvError> {
    let mut spec = scenario.spec().clone();
    let first = spec.faults.scripted.len();
    spec.faults.scripted.extend(faults);
    Scenario::from_spec(spec, scenario.origin(), None).map_err(|e| match e {
        ScenarioError::Invalid {
            location,
            problem,
            expected,
        } => {
            // Map `faults.scripted[first + i].x` back to the option's own index.
            let field = location
                .path
                .strip_prefix("faults.scripted[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(i, tail)| {
                    let i: usize = i.parse().ok()?;
                    i.checked_sub(first).map(|i| format!("faults[{i}]{tail}"))
                })
                .unwrap_or_else(|| "faults".into());
            bad(&field, format!("{expected} ({problem})"))
        }
        other => bad("faults", format!("faults the scenario accepts ({other})")),
    })
}
