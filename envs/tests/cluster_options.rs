//! The cluster env's `reset(seed, options)`: `start_time_s`, `replay` and `faults` take effect, unknown keys
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
    let onsets = mend_sim::trace::onsets;
    assert!(
        !onsets(&trace).is_empty(),
        "the recorded episode has faults"
    );
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

/// Onsets `(at_ms, kind, target)` of a trace (from `mend_sim::trace::onsets`, the exogenous
/// events; seat onsets are named by their seat).
fn onsets_of(trace: &[mend_sim::trace::TraceRecord]) -> Vec<(u64, String, String)> {
    mend_sim::trace::onsets(trace)
        .into_iter()
        .map(|o| {
            let target = match o.target {
                mend_sim::trace::OnsetTarget::Entity(name) => name,
                mend_sim::trace::OnsetTarget::Seat(seat) => format!("{seat:?}"),
            };
            (o.at_ms, o.kind.name().to_owned(), target)
        })
        .collect()
}

#[test]
fn faults_option_injects_scripted_faults_into_this_episode_only() {
    let injected = json!({ "faults": [
        { "at": "5m", "kind": "bad_deploy", "target": "api", "duration": "20m" },
    ]});
    let run = |opts: Option<Info>| {
        let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
        env.reset(Some(4), opts.as_ref()).unwrap();
        let mut rewards = Vec::new();
        loop {
            let s = env.step(0).unwrap();
            rewards.push(s.reward);
            if s.truncated {
                break;
            }
        }
        (onsets_of(&env.take_trace()), rewards)
    };
    let (plain, plain_rewards) = run(None);
    let (with, with_rewards) = run(Some(options(injected.clone())));
    let bad_deploy = (300_000, "bad_deploy".to_owned(), "api".to_owned());
    assert!(
        with.contains(&bad_deploy),
        "injected onset recorded: {with:?}"
    );
    assert!(!plain.contains(&bad_deploy), "not there without the option");
    assert_ne!(
        plain_rewards, with_rewards,
        "the injected fault costs something"
    );

    // The option holds for that reset only: the next seeded reset is the plain episode again.
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    env.reset(Some(4), Some(&options(injected))).unwrap();
    env.reset(Some(4), None).unwrap();
    while !env.step(0).unwrap().truncated {}
    assert_eq!(onsets_of(&env.take_trace()), plain);
}

#[test]
fn bad_faults_options_name_the_entry_and_change_nothing() {
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    env.reset(Some(1), None).unwrap();
    env.step(0).unwrap();
    let before = env.simulation().unwrap().now();
    let ok = json!({ "at": "5m", "kind": "bad_deploy", "target": "api", "duration": "20m" });
    for (bad, field) in [
        (json!({ "faults": "crash" }), "options.faults"),
        (
            json!({ "faults": [{ "at": "5m", "kind": "meteor", "target": "api", "duration": "1m" }] }),
            "options.faults",
        ),
        (
            json!({ "faults": [{ "at": "5m", "kind": "bad_deploy", "target": "api" }] }),
            "options.faults",
        ),
        (
            json!({ "faults": [ok.clone(), { "at": "5m", "kind": "bad_deploy", "target": "nope", "duration": "1m" }] }),
            "options.faults[1].target",
        ),
        (
            json!({ "faults": [{ "at": "99h", "kind": "bad_deploy", "target": "api", "duration": "1m" }] }),
            "options.faults[0].at",
        ),
        (
            json!({ "faults": [ok.clone()], "replay": [] }),
            "options.faults",
        ),
    ] {
        let err = env.reset(Some(1), Some(&options(bad.clone()))).unwrap_err();
        assert!(
            matches!(&err, EnvError::InvalidConfig { field: f, .. } if f == field),
            "{bad}: {err}"
        );
        assert_eq!(env.simulation().unwrap().now(), before, "{bad}: unchanged");
    }
    // An env that replays a trace takes its faults from it: injection is refused there too.
    let mut replaying = ClusterEnv::builtin(
        "tiny",
        ClusterConfig {
            replay: Some(std::sync::Arc::new(Vec::new())),
            ..ClusterConfig::default()
        },
    )
    .unwrap();
    let err = replaying
        .reset(Some(1), Some(&options(json!({ "faults": [ok] }))))
        .unwrap_err();
    assert!(
        matches!(&err, EnvError::InvalidConfig { field: f, .. } if f == "options.faults"),
        "{err}"
    );
}
