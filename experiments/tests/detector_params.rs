//! An agent's detector with parameters (a tuned setting of a z-score family): read from a table
//! or a spec text into one spec the runner and the timelines share, its rules equal to the
//! tuning grid's, and one test per error, each naming the file, the field and the parameter.

use mend_experiments::detection::{Candidate, TunedFamily, budget_grid};
use mend_experiments::experiment::{ExperimentError, from_toml_str};
use mend_monitor::alerting::{RuleSet, TunedDetector};

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

[[agents]]
kind = "no-op"

[[agents]]
kind = "random"
params = { act_probability = 0.1 }
"#;

/// `GOOD` with `detector_line` added to the random agent.
fn with_detector(
    detector_line: &str,
) -> Result<mend_experiments::experiment::Experiment, ExperimentError> {
    let text = GOOD.replacen(
        "kind = \"random\"",
        &format!("kind = \"random\"\n{detector_line}"),
        1,
    );
    from_toml_str(&text, "bad.toml")
}

fn error_text(detector_line: &str, needles: &[&str]) {
    let text = with_detector(detector_line)
        .expect_err("the file should be rejected")
        .to_string();
    assert!(text.starts_with("bad.toml"), "names the file: {text}");
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
}

#[test]
fn table_and_spec_text_give_the_same_detector() {
    let table = with_detector("detector = { name = \"median_mad\", z = 8.0, for_s = 60 }").unwrap();
    let text = with_detector("detector = \"median_mad(z=8, for_s=60)\"").unwrap();
    assert_eq!(table.detector_of(1), text.detector_of(1));
    assert_eq!(table.detector_of(0), "static_threshold");
    let spec = TunedDetector::parse(table.detector_of(1)).unwrap().unwrap();
    assert_eq!(
        (spec.family, spec.z, spec.for_seconds),
        ("median_mad", 8.0, 60.0)
    );
    // The runner and the timelines build rules from the string: the tuned setting's rules.
    assert_eq!(
        RuleSet::for_detector(table.detector_of(1)).unwrap(),
        spec.rules()
    );
    assert_ne!(spec.rules(), RuleSet::for_detector("median_mad").unwrap());
}

#[test]
fn resolved_config_round_trips() {
    let e = with_detector("detector = { name = \"ewma\", z = 12.0 }").unwrap();
    let written = toml::to_string(&e).unwrap();
    let back = from_toml_str(&written, "resolved.toml").unwrap();
    assert_eq!(back, e);
    assert_eq!(back.detector_of(1), "ewma(z=12, for_s=0)");
}

#[test]
fn alerting_default_takes_a_table_too() {
    let text = GOOD.replacen(
        "[[agents]]",
        "[detectors]\nalerting = { name = \"ewma\", z = 6, for_s = 120 }\n\n[[agents]]",
        1,
    );
    let e = from_toml_str(&text, "good.toml").unwrap();
    assert_eq!(e.detector_of(0), "ewma(z=6, for_s=120)");
}

#[test]
fn the_tuning_grid_and_the_experiment_file_build_the_same_rules() {
    let grid: Vec<Candidate> = budget_grid(&[TunedFamily::MedianMad]);
    let c = &grid[7];
    let spec = c.spec.as_ref().expect("z-score settings carry their spec");
    let e = with_detector(&format!("detector = {}", spec.toml_inline())).unwrap();
    assert_eq!(RuleSet::for_detector(e.detector_of(1)).unwrap(), c.rules);
}

#[test]
fn negative_threshold() {
    error_text(
        "detector = { name = \"median_mad\", z = -2.0 }",
        &["agents[1].detector.z", "> 0", "-2"],
    );
}

#[test]
fn negative_hold() {
    error_text(
        "detector = { name = \"ewma\", z = 6.0, for_s = -60 }",
        &["agents[1].detector.for_s", ">= 0"],
    );
}

#[test]
fn missing_threshold() {
    error_text(
        "detector = { name = \"median_mad\", for_s = 60 }",
        &["agents[1].detector.z", "required"],
    );
}

#[test]
fn unknown_parameter() {
    error_text(
        "detector = { name = \"median_mad\", k = 6.0 }",
        &["agents[1].detector.k", "z, for_s"],
    );
}

#[test]
fn parameters_for_a_family_without_them() {
    error_text(
        "detector = { name = \"shift\", z = 6.0 }",
        &[
            "agents[1].detector",
            "shift",
            "ewma, median_mad, holt_winters",
        ],
    );
}

#[test]
fn parameter_that_is_not_a_number() {
    error_text(
        "detector = { name = \"median_mad\", z = \"high\" }",
        &["bad.toml", "detector = {", "`z`", "number"],
    );
}

#[test]
fn table_without_a_name() {
    error_text("detector = { z = 6.0 }", &["bad.toml", "missing `name`"]);
}

#[test]
fn malformed_spec_text() {
    error_text(
        "detector = \"median_mad(z=6\"",
        &["agents[1].detector", "FAMILY(z=NUMBER"],
    );
}

#[test]
fn alerting_default_errors_name_its_field() {
    let text = GOOD.replacen(
        "[[agents]]",
        "[detectors]\nalerting = \"ewma(z=0)\"\n\n[[agents]]",
        1,
    );
    let err = from_toml_str(&text, "bad.toml").unwrap_err().to_string();
    assert!(err.contains("detectors.alerting.z"), "{err}");
}

#[test]
fn a_table_takes_a_direction() {
    let e = with_detector("detector = { name = \"ewma\", z = 4.0, for_s = 120, dir = \"up\" }")
        .unwrap();
    assert_eq!(e.detector_of(1), "ewma(z=4, for_s=120, dir=up)");
    // The same rules as the spec text.
    assert_eq!(
        RuleSet::for_detector(e.detector_of(1)).unwrap(),
        RuleSet::for_detector("ewma(z=4, for_s=120, dir=up)").unwrap()
    );
}

#[test]
fn a_direction_must_be_a_word() {
    error_text(
        "detector = { name = \"ewma\", z = 4.0, dir = 1 }",
        &["dir", "\"up\", \"down\" or \"both\"", "integer"],
    );
}

#[test]
fn an_unknown_direction_is_refused() {
    error_text(
        "detector = { name = \"ewma\", z = 4.0, dir = \"sideways\" }",
        &["agents[1].detector.dir", "sideways"],
    );
}
