//! The cluster env's `reset(seed, options)`: `start_time_s` and `replay` take effect, unknown keys
//! and bad values are refused with errors naming the option, and a refused reset changes nothing.

use mend_envs::cluster::{ClusterConfig, ClusterEnv};
use mend_envs::{Env, EnvError, Info};
use serde_json::json;

fn options(value: serde_json::Value) -> Info {
    value.as_object().unwrap().clone()
}

#[test]
fn start_time_and_replay_options_take_effect() {
    let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    env.reset(Some(2), Some(&options(json!({ "start_time_s": 3600 }))))
        .unwrap();
    let now = env.simulation().unwrap().now().as_secs_f64();
    assert_eq!(now, 3600.0, "the world ran to the start time");
    let step = env.step(0).unwrap();
    assert!(step.info["sim_time_s"].as_f64().unwrap() > 3600.0);

    // Record an episode's faults, then replay them under another seed through the option.
    let mut recorder = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    recorder.reset(Some(11), None).unwrap();
    while !recorder.step(0).unwrap().truncated {}
    let trace = recorder.take_trace();
    let onsets = |t: &[mend_sim::trace::TraceRecord]| {
        t.iter()
            .filter(|r| matches!(r, mend_sim::trace::TraceRecord::FaultOnset { .. }))
            .count()
    };
    assert!(onsets(&trace) > 0, "the recorded episode has faults");
    let mut replayer = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    replayer
        .reset(
            Some(999),
            Some(&options(json!({ "replay": trace.clone() }))),
        )
        .unwrap();
    while !replayer.step(0).unwrap().truncated {}
    assert_eq!(onsets(&replayer.take_trace()), onsets(&trace));
}

#[test]
fn bad_options_are_refused_by_name_and_change_nothing() {
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    env.reset(Some(1), None).unwrap();
    env.step(0).unwrap();
    let before = env.simulation().unwrap().now();
    for (bad, field) in [
        (json!({ "scenaro": "tiny" }), "options.scenaro"),
        (json!({ "start_time_s": -1 }), "options.start_time_s"),
        (json!({ "start_time_s": "1h" }), "options.start_time_s"),
        (json!({ "start_time_s": 1e9 }), "options.start_time_s"),
        (
            json!({ "replay": [{ "type": "nonsense" }] }),
            "options.replay",
        ),
    ] {
        let err = env.reset(Some(1), Some(&options(bad.clone()))).unwrap_err();
        assert!(
            matches!(&err, EnvError::InvalidConfig { field: f, .. } if f == field),
            "{bad}: {err}"
        );
        assert_eq!(env.simulation().unwrap().now(), before, "{bad}: unchanged");
    }
    let err = env
        .reset(None, Some(&options(json!({ "x": 1 }))))
        .unwrap_err();
    assert!(err.to_string().contains("replay, start_time_s"), "{err}");
}
