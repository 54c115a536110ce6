//! `reset(seed, options)` options of the cluster env (Gymnasium's `options` dict): parsed and
//! checked before anything changes, so a bad option leaves the env as it was.
//!
//! | key | value | effect |
//! |-----|-------|--------|
//! | `replay` | array of trace records (the JSON objects of a JSON Lines trace) | this episode takes its faults from these records (overrides [`super::ClusterConfig::replay`]) |
//! | `start_time_s` | number of seconds, `0 <= t <` horizon | the world runs without actions up to `t` before the first observation |
//! | `faults` | array of `{"at", "kind", "target", "duration"}` objects, the fields of a scenario's `[[faults.scripted]]` (durations as strings such as `"90s"`, `"5m"`) | fault injection: this episode gets these faults on top of the scenario's own; checked against the scenario like scripted faults (target exists, onset before the horizon, duration > 0); not with `replay` |
//!
//! | `scenario` | a scenario: TOML text (a string with a line break), `builtin:NAME`, or the path of a scenario file | this episode runs that scenario instead of the env's own (a cluster-model scenario, validated like a scenario file; errors name `options.scenario` plus the offending field and line); the other options are checked against it; not with [`super::ClusterConfig::replay`] (that trace belongs to the env's own scenario) |
//!
//! Any other key is refused with an error that lists these.
//!
//! Options hold for the reset that carries them (Gymnasium: `options` is an argument of `reset`,
//! not env state): the next reset without them is an episode of the env's own scenario again.
//!
//! **Spaces under `scenario`.** The cluster env's observation space is an entity-set space (any
//! number of rows up to its bound, a fixed feature width) and its flat action space has
//! `1 + entities * N_KINDS` actions, so a scenario with another topology changes them: after a
//! reset, `observation_space()` and `action_space()` describe the current episode's scenario
//! (the feature width and global features never change; only the row bound and the action count
//! do). Entity-based policies (shared weights per row) work across such episodes; a policy with a
//! fixed-size flat input must use scenarios of one topology. Code that keeps the spaces (a
//! vector env, `check_env`, a trainer) reads them before it resets without options, so it sees the
//! env's own scenario's: re-read them after a reset that carries `scenario`. Vector envs pass no
//! options, so their sub-envs keep one scenario.

use std::sync::Arc;

use mend_sim::Scenario;
use mend_sim::error::ScenarioError;
use mend_sim::scenario::ModelKind;
use mend_sim::scenario::schema::ScriptedFaultSpec;
use mend_sim::time::SimDuration;
use mend_sim::trace::TraceRecord;

use super::CLUSTER_ID;
use crate::env::Info;
use crate::error::EnvError;

/// The option keys the cluster env accepts.
pub const RESET_OPTION_KEYS: [&str; 4] = ["replay", "start_time_s", "faults", "scenario"];

/// Checked reset options.
#[derive(Debug, Default)]
pub(crate) struct ResetOptions {
    /// Fault records to replay this episode.
    pub(crate) replay: Option<Vec<TraceRecord>>,
    /// Time to run the world to before the first observation.
    pub(crate) start_time: Option<SimDuration>,
    /// This episode's scenario when it is not the env's own: the `scenario` option's, and/or the
    /// `faults` option's faults added; already validated.
    pub(crate) scenario: Option<Arc<Scenario>>,
}

fn bad(field: &str, expected: String) -> EnvError {
    EnvError::InvalidConfig {
        env: format!("{CLUSTER_ID} reset"),
        field: format!("options.{field}"),
        expected,
    }
}

/// Parses `options` against the env's own `scenario`; `env_replays` is whether the env replays a
/// trace of its own ([`super::ClusterConfig::replay`]), which excludes `faults` and `scenario`.
pub(crate) fn parse(
    options: Option<&Info>,
    scenario: &Arc<Scenario>,
    env_replays: bool,
) -> Result<ResetOptions, EnvError> {
    let mut out = ResetOptions::default();
    let Some(options) = options else {
        return Ok(out);
    };
    // The episode's scenario first: the other options are checked against it.
    let episode = match options.get("scenario") {
        Some(value) => {
            if env_replays {
                return Err(bad(
                    "scenario",
                    "an env without ClusterConfig::replay (its trace belongs to the env's own scenario)"
                        .into(),
                ));
            }
            let chosen = Arc::new(scenario_option(value)?);
            out.scenario = Some(Arc::clone(&chosen));
            chosen
        }
        None => Arc::clone(scenario),
    };
    let horizon = episode.spec().scenario.horizon;
    for (key, value) in options {
        match key.as_str() {
            "scenario" => {}
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
                if env_replays {
                    return Err(bad(
                        key,
                        "an env without ClusterConfig::replay (a replayed episode takes its faults from the trace)"
                            .into(),
                    ));
                }
                let faults: Vec<ScriptedFaultSpec> =
                    serde_json::from_value(value.clone()).map_err(|e| {
                        bad(
                            key,
                            format!(
                                "an array of {{\"at\", \"kind\", \"target\", \"duration\"}} objects ({e})"
                            ),
                        )
                    })?;
                out.scenario = Some(Arc::new(with_faults(&episode, faults)?));
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
    if out.replay.is_some() && options.contains_key("faults") {
        return Err(bad(
            "faults",
            "no `replay` in the same reset (a replayed episode takes its faults from the trace)"
                .into(),
        ));
    }
    Ok(out)
}

/// The `scenario` option's value as a validated cluster scenario: TOML text if the string has a
/// line break (a scenario needs several tables, so it always has one), a built-in scenario if
/// it starts with `builtin:`, else the path of a scenario file.
fn scenario_option(value: &serde_json::Value) -> Result<Scenario, EnvError> {
    let text = value.as_str().ok_or_else(|| {
        bad(
            "scenario",
            format!("a string (TOML text, `builtin:NAME` or a file path), got {value}"),
        )
    })?;
    let parsed = if text.contains('\n') {
        Scenario::from_toml_str(text, "options.scenario")
    } else if let Some(name) = text.strip_prefix("builtin:") {
        Scenario::builtin(name.trim_end_matches(".toml"))
    } else {
        let source = std::fs::read_to_string(text).map_err(|e| {
            bad(
                "scenario",
                format!("a readable scenario file, but {text:?} could not be read ({e})"),
            )
        })?;
        Scenario::from_toml_str(&source, text)
    };
    let scenario = parsed.map_err(scenario_error)?;
    if scenario.model() != ModelKind::Cluster {
        return Err(bad(
            "scenario.scenario.model",
            format!(
                "\"cluster\" in {} (renewal scenarios have no cluster to act on)",
                scenario.origin()
            ),
        ));
    }
    Ok(scenario)
}

/// A scenario loader error as an option error: the field is `options.scenario.<path>`, and the
/// expectation carries the source (file or `options.scenario`) and line where known.
fn scenario_error(e: ScenarioError) -> EnvError {
    let field = match e.location() {
        Some(loc) if !loc.path.is_empty() => format!("scenario.{}", loc.path),
        _ => "scenario".to_owned(),
    };
    let expected = match &e {
        ScenarioError::Invalid { expected, .. } => format!("{expected} ({e})"),
        ScenarioError::Parse { .. } => format!("a valid scenario document ({e})"),
        _ => format!("a known scenario ({e})"),
    };
    bad(&field, expected)
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
