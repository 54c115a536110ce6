//! Malformed experiment files: one test per error, each checking that the message names the file,
//! the field and what was expected.

use mend_experiments::experiment::{ExperimentError, from_toml_str};

const GOOD: &str = r#"
[experiment]
name = "t"
seed = 1

[scenarios]
train = ["tiny"]
eval = ["default"]

[seeds]
train = { start = 0, count = 3 }
eval = { start = 100, count = 2 }

[budget]
eval_episodes = 1

[[agents]]
kind = "no-op"

[[agents]]
kind = "random"
params = { act_probability = 0.1 }
"#;

/// Parses `GOOD` with `from` replaced by `to` (the replacement must apply).
fn with(from: &str, to: &str) -> Result<(), ExperimentError> {
    assert!(
        GOOD.contains(from),
        "test bug: {from:?} not in the good file"
    );
    from_toml_str(&GOOD.replacen(from, to, 1), "bad.toml").map(|_| ())
}

/// The error's text, checked to name the file and to contain every `needle`.
fn error_text(result: Result<(), ExperimentError>, needles: &[&str]) -> String {
    let text = result.expect_err("the file should be rejected").to_string();
    assert!(text.starts_with("bad.toml"), "names the file: {text}");
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
    text
}

#[test]
fn the_good_file_is_accepted() {
    let e = from_toml_str(GOOD, "good.toml").unwrap();
    assert_eq!(e.run_id(), "t-seed1");
    assert_eq!(e.baseline(), "no-op");
}

#[test]
fn toml_syntax_error_names_the_line() {
    error_text(
        with("seed = 1", "seed = = 1"),
        &["bad.toml:4", "seed = = 1"],
    );
}

#[test]
fn unknown_key_is_rejected() {
    error_text(with("seed = 1", "seed = 1\nseeed = 2"), &["seeed"]);
}

#[test]
fn missing_required_field_is_named() {
    error_text(with("eval = [\"default\"]", ""), &["eval"]);
}

#[test]
fn wrong_type_is_named() {
    error_text(
        with("seed = 1", "seed = \"one\""),
        &["bad.toml:4", "seed = \"one\"", "u64"],
    );
}

#[test]
fn bad_experiment_name() {
    error_text(
        with("name = \"t\"", "name = \"a b\""),
        &["experiment.name", "letters"],
    );
}

#[test]
fn empty_eval_scenarios() {
    error_text(
        with("eval = [\"default\"]", "eval = []"),
        &["scenarios.eval", "at least one"],
    );
}

#[test]
fn unknown_scenario() {
    error_text(
        with("eval = [\"default\"]", "eval = [\"nowhere\"]"),
        &["scenarios.eval[0]", "scenario file or built-in", "nowhere"],
    );
}

#[test]
fn renewal_scenario_cannot_be_acted_on() {
    error_text(
        with("eval = [\"default\"]", "eval = [\"renewal\"]"),
        &["scenarios.eval[0]", "cluster scenario"],
    );
}

#[test]
fn eval_scenario_must_be_held_out() {
    error_text(
        with("eval = [\"default\"]", "eval = [\"tiny\"]"),
        &["scenarios.eval[0]", "held out"],
    );
}

#[test]
fn in_distribution_allows_evaluating_on_a_training_scenario() {
    let text = error_text(
        with("eval = [\"default\"]", "eval = [\"tiny\", \"default\"]"),
        &["scenarios.eval[0]", "in_distribution = true"],
    );
    assert!(!text.contains("eval[1]"), "{text}");
    let e = from_toml_str(
        &GOOD.replacen(
            "eval = [\"default\"]",
            "eval = [\"tiny\", \"default\"]\nin_distribution = true",
            1,
        ),
        "good.toml",
    )
    .unwrap();
    assert!(e.scenarios.in_distribution);
    // Off by default, and then absent from the resolved file (older run folders read the same).
    let plain = from_toml_str(GOOD, "good.toml").unwrap();
    assert!(!plain.scenarios.in_distribution);
    assert!(!toml::to_string(&plain).unwrap().contains("in_distribution"));
}

#[test]
fn zero_eval_seeds() {
    error_text(
        with(
            "eval = { start = 100, count = 2 }",
            "eval = { start = 100, count = 0 }",
        ),
        &["seeds.eval.count", "at least 1"],
    );
}

#[test]
fn train_and_eval_seeds_must_be_disjoint() {
    error_text(
        with(
            "eval = { start = 100, count = 2 }",
            "eval = { start = 2, count = 2 }",
        ),
        &["seeds.eval", "disjoint"],
    );
}

#[test]
fn zero_eval_episodes() {
    error_text(
        with("eval_episodes = 1", "eval_episodes = 0"),
        &["budget.eval_episodes", "at least 1"],
    );
}

#[test]
fn unknown_agent_kind() {
    error_text(
        with("kind = \"no-op\"", "kind = \"oracle\""),
        &["agents[0].kind", "registered agent kind", "oracle"],
    );
}

#[test]
fn invalid_hyperparameter() {
    error_text(
        with("act_probability = 0.1", "act_probability = 2.0"),
        &["agents[1].params.act_probability", "[0, 1]"],
    );
}

#[test]
fn unknown_hyperparameter() {
    error_text(
        with("act_probability = 0.1", "epsilon = 0.1"),
        &["agents[1].params.epsilon", "act_probability"],
    );
}

#[test]
fn duplicate_agent_names() {
    error_text(
        with("kind = \"random\"", "kind = \"random\"\nname = \"no-op\""),
        &["agents[1].name", "already used"],
    );
}

#[test]
fn baseline_must_be_listed() {
    error_text(
        with("seed = 1", "seed = 1\nbaseline = \"reactive\""),
        &["experiment.baseline", "no-op, random", "reactive"],
    );
}

#[test]
fn no_agents() {
    let text = format!("agents = []\n{}", GOOD.split("[[agents]]").next().unwrap());
    let err = from_toml_str(&text, "bad.toml").unwrap_err().to_string();
    assert!(
        err.starts_with("bad.toml") && err.contains("at least one [[agents]]"),
        "{err}"
    );
}

#[test]
fn unreadable_file() {
    let err =
        mend_experiments::experiment::load(Some(std::path::Path::new("/nonexistent/exp.toml")))
            .unwrap_err()
            .to_string();
    assert!(
        err.starts_with("/nonexistent/exp.toml: cannot read"),
        "{err}"
    );
}

/// `GOOD` with its random agent replaced by a tabular agent with `params`.
fn tabular(params: &str) -> Result<(), ExperimentError> {
    with(
        "kind = \"random\"\nparams = { act_probability = 0.1 }",
        &format!("kind = \"tabular\"\nparams = {{ {params} }}"),
    )
}

#[test]
fn learned_agent_is_accepted_with_good_params() {
    tabular("gamma = 0.9, learning_rate = 0.05, num_envs = 2").unwrap();
}

#[test]
fn learned_agent_unknown_key_lists_the_known_ones() {
    error_text(
        tabular("epsilon = 0.1"),
        &[
            "agents[1].params.epsilon",
            "learning_rate",
            "agent `tabular`",
            "unknown key",
        ],
    );
}

#[test]
fn learned_agent_value_out_of_range() {
    error_text(
        tabular("gamma = 2.0"),
        &[
            "agents[1].params.gamma",
            "in [0, 1]",
            "agent `tabular`",
            "found 2",
        ],
    );
}

#[test]
fn learned_agent_value_of_the_wrong_type() {
    error_text(
        tabular("gamma = \"high\""),
        &["agents[1].params.gamma", "type of the default", "\"high\""],
    );
}

#[test]
fn learned_agent_reserved_key() {
    error_text(
        tabular("seed = 3"),
        &["agents[1].params.seed", "seeds.train"],
    );
}

#[test]
fn learned_agent_bad_num_envs() {
    error_text(
        tabular("num_envs = 0"),
        &["agents[1].params.num_envs", "1..=256", "found 0"],
    );
}

#[test]
fn learned_agent_needs_training_scenarios() {
    let text = GOOD
        .replacen("train = [\"tiny\"]", "train = []", 1)
        .replacen(
            "kind = \"random\"\nparams = { act_probability = 0.1 }",
            "kind = \"tabular\"",
            1,
        );
    error_text(
        from_toml_str(&text, "bad.toml").map(|_| ()),
        &["scenarios.train", "training scenario", "agents[1]"],
    );
}

#[test]
fn learned_agent_needs_training_seeds() {
    let text = GOOD
        .replacen(
            "train = { start = 0, count = 3 }",
            "train = { start = 0, count = 0 }",
            1,
        )
        .replacen(
            "kind = \"random\"\nparams = { act_probability = 0.1 }",
            "kind = \"tabular\"",
            1,
        );
    error_text(
        from_toml_str(&text, "bad.toml").map(|_| ()),
        &["seeds.train.count", "at least 1 training seed"],
    );
}

#[test]
fn unknown_alerting_detector() {
    error_text(
        with(
            "[budget]",
            "[detectors]\nalerting = \"crystal_ball\"\n\n[budget]",
        ),
        &["detectors.alerting", "crystal_ball", "registry"],
    );
}

#[test]
fn zero_checkpoint_interval() {
    error_text(
        with(
            "eval_episodes = 1",
            "eval_episodes = 1\ncheckpoint_timesteps = 0",
        ),
        &["budget.checkpoint_timesteps", "at least 1"],
    );
}

#[test]
fn evaluation_seeds_in_the_training_range() {
    error_text(
        with(
            "eval = { start = 100, count = 2 }",
            "eval = { start = 9223372036854775808, count = 2 }",
        ),
        &["seeds.eval", "below 2^63"],
    );
}

#[test]
fn checkpoint_interval_shorter_than_an_episode_per_sub_env() {
    // tiny: 1 h of 30 s decisions = 120 steps; 4 sub-envs need chunks of at least 480 steps.
    let text = GOOD
        .replacen(
            "eval_episodes = 1",
            "eval_episodes = 1\ncheckpoint_timesteps = 479",
            1,
        )
        .replacen(
            "kind = \"random\"\nparams = { act_probability = 0.1 }",
            "kind = \"tabular\"\nparams = { num_envs = 4 }",
            1,
        );
    error_text(
        from_toml_str(&text, "bad.toml").map(|_| ()),
        &["budget.checkpoint_timesteps", "at least 480", "found 479"],
    );
}

#[test]
fn ppo_params_are_checked_too() {
    let ppo = |params: &str| {
        with(
            "kind = \"random\"\nparams = { act_probability = 0.1 }",
            &format!("kind = \"ppo\"\nparams = {{ {params} }}"),
        )
    };
    ppo("clip_coef = 0.1, target_kl = 0.02, num_envs = 2").unwrap();
    error_text(
        ppo("clip = 0.1"),
        &["agents[1].params.clip", "clip_coef", "agent `ppo`"],
    );
    error_text(ppo("num_envs = 0"), &["agents[1].params.num_envs"]);
}

// ---- per-agent detectors (`detector` on an agent) and the paper table's framework arm ----

#[test]
fn agent_detector_is_used_for_that_agent_only() {
    let e = from_toml_str(
        &GOOD.replacen(
            "kind = \"random\"",
            "kind = \"random\"\ndetector = \"ewma\"",
            1,
        ),
        "good.toml",
    )
    .unwrap();
    assert_eq!(e.detector_of(0), "static_threshold");
    assert_eq!(e.detector_of(1), "ewma");
}

#[test]
fn unknown_agent_detector() {
    error_text(
        with(
            "kind = \"random\"",
            "kind = \"random\"\ndetector = \"crystal_ball\"",
        ),
        &["agents[1].detector", "crystal_ball", "registry", "ewma"],
    );
}

#[test]
fn agent_detector_of_the_wrong_type() {
    error_text(
        with("kind = \"random\"", "kind = \"random\"\ndetector = 3"),
        &["bad.toml:22", "detector = 3", "string"],
    );
}

#[test]
fn misspelt_agent_detector_key() {
    error_text(
        with(
            "kind = \"random\"",
            "kind = \"random\"\ndetectors = \"ewma\"",
        ),
        &["detectors", "detector"],
    );
}

#[test]
fn framework_must_be_listed() {
    error_text(
        with("seed = 1", "seed = 1\nframework = \"ppo\""),
        &["experiment.framework", "no-op, random", "ppo"],
    );
}

#[test]
fn framework_must_not_be_the_baseline() {
    error_text(
        with("seed = 1", "seed = 1\nframework = \"no-op\""),
        &["experiment.framework", "other than the baseline"],
    );
}

// ---- per-agent training budgets (`train_timesteps` on an agent) ----

#[test]
fn agent_train_timesteps_override_the_budget_for_that_agent_only() {
    let text = GOOD.replacen(
        "[[agents]]\nkind = \"no-op\"",
        "[[agents]]\nkind = \"no-op\"\n\n[[agents]]\nkind = \"tabular\"\n\n[[agents]]\nkind = \"ppo\"\ntrain_timesteps = 4096",
        1,
    );
    let e = from_toml_str(&text, "good.toml").unwrap();
    assert_eq!(e.train_timesteps_of(1), e.budget.train_timesteps);
    assert_eq!(e.train_timesteps_of(2), 4096);
    assert_ne!(e.budget.train_timesteps, 4096);
}

#[test]
fn train_timesteps_on_a_fixed_policy_agent() {
    error_text(
        with(
            "kind = \"random\"",
            "kind = \"random\"\ntrain_timesteps = 100",
        ),
        &["agents[1].train_timesteps", "fixed-policy", "learned"],
    );
}

#[test]
fn zero_train_timesteps_on_a_learned_agent() {
    error_text(
        with(
            "kind = \"random\"\nparams = { act_probability = 0.1 }",
            "kind = \"tabular\"\ntrain_timesteps = 0",
        ),
        &["agents[1].train_timesteps", "at least 1"],
    );
}
