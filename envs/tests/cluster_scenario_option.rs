//! The cluster env's `scenario` reset option: TOML text, `builtin:NAME` and a file path all run the
//! same episode as an env built on that scenario; the spaces follow the episode's topology and go
//! back with the next plain reset; the other options are checked against the chosen scenario; bad
//! scenarios are refused with errors naming `options.scenario...` and change nothing.

use std::sync::Arc;

use mend_envs::cluster::{ClusterConfig, ClusterEnv};
use mend_envs::{Env, EnvError, Info, Observation, Space};
use serde_json::json;

fn options(value: serde_json::Value) -> Info {
    value.as_object().unwrap().clone()
}

const TINY: &str = include_str!("../../scenarios/tiny.toml");

/// Observations and rewards of a no-op episode after `reset(seed, opts)`, plus the spaces seen.
fn episode(
    env: &mut ClusterEnv,
    seed: u64,
    opts: Option<&Info>,
) -> (Vec<Observation>, Vec<f64>, Space, Space) {
    let (obs, info) = env.reset(Some(seed), opts).unwrap();
    let (obs_space, act_space) = (env.observation_space(), env.action_space());
    assert!(obs_space.contains_obs(&obs), "{info:?}");
    let mut seen = vec![obs];
    let mut rewards = Vec::new();
    loop {
        let step = env.step(0).unwrap();
        assert!(obs_space.contains_obs(&step.obs), "every obs in the space");
        seen.push(step.obs);
        rewards.push(step.reward);
        if step.truncated {
            return (seen, rewards, obs_space, act_space);
        }
    }
}

#[test]
fn every_form_of_the_scenario_option_runs_the_episode_of_an_env_built_on_it() {
    let mut reference = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    let want = episode(&mut reference, 7, None);

    let path =
        std::env::temp_dir().join(format!("mend-scenario-option-{}.toml", std::process::id()));
    std::fs::write(&path, TINY).unwrap();
    let forms = [
        json!({ "scenario": TINY }),
        json!({ "scenario": "builtin:tiny" }),
        json!({ "scenario": path.to_str().unwrap() }),
    ];
    for form in forms {
        let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
        let default_actions = env.action_space();
        let (_, info) = env.reset(Some(7), Some(&options(form.clone()))).unwrap();
        assert_eq!(info["scenario"], "tiny", "{form}");
        assert_eq!(env.scenario().name(), "tiny");
        let got = episode(&mut env, 7, Some(&options(form.clone())));
        assert_eq!(got.0, want.0, "same observations");
        assert_eq!(got.1, want.1, "same rewards");
        assert_eq!(got.2, want.2, "the observation space is tiny's");
        assert_eq!(got.3, want.3, "the action space is tiny's");
        assert_ne!(
            got.3, default_actions,
            "tiny has fewer entities than default"
        );

        // The option held for that reset only.
        env.reset(Some(7), None).unwrap();
        assert_eq!(env.action_space(), default_actions, "{form}");
        assert_eq!(env.scenario().name(), "default");
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn after_an_option_episode_a_plain_reset_restores_the_spaces_check_env_reads() {
    // check_env reads the spaces before it resets without options (as Gymnasium's checker does),
    // so an env just switched by option must be back on its own scenario's spaces after a reset.
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    let own = (env.observation_space(), env.action_space());
    env.reset(
        Some(1),
        Some(&options(json!({ "scenario": "builtin:default" }))),
    )
    .unwrap();
    assert_eq!(env.scenario().name(), "default");
    assert_ne!(
        env.action_space(),
        own.1,
        "the option changed the action space"
    );
    env.reset(Some(1), None).unwrap();
    assert_eq!((env.observation_space(), env.action_space()), own);
    mend_envs::check_env(&mut env).unwrap();
}

#[test]
fn other_options_are_checked_against_the_chosen_scenario() {
    let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    // `api` is a tiny service, not a default one.
    let fault = json!([{ "at": "5m", "kind": "bad_deploy", "target": "api", "duration": "20m" }]);
    let err = env
        .reset(Some(1), Some(&options(json!({ "faults": fault.clone() }))))
        .unwrap_err();
    assert!(
        matches!(&err, EnvError::InvalidConfig { field, .. } if field == "options.faults[0].target"),
        "{err}"
    );
    env.reset(
        Some(1),
        Some(&options(
            json!({ "faults": fault, "scenario": "builtin:tiny" }),
        )),
    )
    .unwrap();
    assert_eq!(env.scenario().name(), "tiny");
    // default's horizon is 6 h, tiny's 1 h.
    env.reset(Some(1), Some(&options(json!({ "start_time_s": 7200 }))))
        .unwrap();
    let err = env
        .reset(
            Some(1),
            Some(&options(
                json!({ "start_time_s": 7200, "scenario": "builtin:tiny" }),
            )),
        )
        .unwrap_err();
    assert!(
        matches!(&err, EnvError::InvalidConfig { field, .. } if field == "options.start_time_s"),
        "{err}"
    );
}

#[test]
fn bad_scenarios_are_refused_naming_the_option_field_and_change_nothing() {
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    env.reset(Some(1), None).unwrap();
    env.step(0).unwrap();
    let before = env.simulation().unwrap().now();
    let bad_toml = TINY.replace("horizon = \"1h\"", "horizon = 1h");
    let bad_value = TINY.replace("capacity_rps = 200.0", "capacity_rps = -5.0");
    let missing = "/nonexistent/mend-no-such-scenario.toml";
    for (value, field, mentions) in [
        (json!(42), "options.scenario", "a string"),
        (json!(bad_toml), "options.scenario", "options.scenario:7"),
        (
            json!(bad_value),
            "options.scenario.services[0].capacity_rps",
            "options.scenario:",
        ),
        (json!("builtin:nope"), "options.scenario", "tiny, default"),
        (
            json!("builtin:renewal"),
            "options.scenario.scenario.model",
            "cluster",
        ),
        (json!(missing), "options.scenario", missing),
    ] {
        let err = env
            .reset(
                Some(1),
                Some(&options(json!({ "scenario": value.clone() }))),
            )
            .unwrap_err();
        assert!(
            matches!(&err, EnvError::InvalidConfig { field: f, .. } if f == field),
            "{value}: {err}"
        );
        assert!(err.to_string().contains(mentions), "{value}: {err}");
        assert_eq!(
            env.simulation().unwrap().now(),
            before,
            "{value}: unchanged"
        );
        assert_eq!(env.scenario().name(), "tiny");
    }

    // An env replaying a trace of its own scenario cannot switch scenario.
    let mut replaying = ClusterEnv::builtin(
        "tiny",
        ClusterConfig {
            replay: Some(Arc::new(Vec::new())),
            ..ClusterConfig::default()
        },
    )
    .unwrap();
    let err = replaying
        .reset(
            Some(1),
            Some(&options(json!({ "scenario": "builtin:default" }))),
        )
        .unwrap_err();
    assert!(
        matches!(&err, EnvError::InvalidConfig { field, .. } if field == "options.scenario"),
        "{err}"
    );
}
