//! The renewal model: availability against the analytic value, determinism, seeds, and the
//! TOML form the `renewal` scenario uses.

use mend_sim::renewal::{
    RenewalConfig, RenewalReport, RenewalStart, run_renewal, run_renewal_with,
};
use mend_sim::time::SimDuration;

const YEAR: SimDuration = SimDuration(365 * 24 * 3_600 * 1_000);

/// The issue's reference process: Weibull(0.7, mean 30 d) up, lognormal(median 1 h, sigma 1) down.
fn reference(components: u64) -> RenewalConfig {
    let text = format!(
        r#"
        components = {components}
        [process]
        up = {{ dist = "weibull", shape = 0.7, mean = "30d" }}
        down = {{ dist = "lognormal", median = "1h", sigma = 1.0 }}
        "#
    );
    let config: RenewalConfig = toml::from_str(&text).unwrap();
    config.validate().unwrap();
    config
}

fn within_standard_errors(report: &RenewalReport, k: f64) -> bool {
    (report.availability - report.analytic_availability).abs() <= k * report.availability_std_error
}

#[test]
fn availability_is_within_three_standard_errors_of_the_analytic_value() {
    let report = run_renewal(&reference(20_000), YEAR, 1);
    assert!((report.analytic_availability - 0.997715).abs() < 5e-7);
    assert!(report.availability_std_error > 0.0 && report.availability_std_error < 1e-4);
    assert!(
        within_standard_errors(&report, 3.0),
        "availability {} vs analytic {} (se {})",
        report.availability,
        report.analytic_availability,
        report.availability_std_error
    );
}

#[test]
fn fresh_start_has_the_early_failure_transient() {
    // With a decreasing hazard, components put into service together fail early more often, so
    // one year from a fresh start is less available than the long run (SimPy peer: 0.99761).
    let fresh = run_renewal_with(&reference(20_000), YEAR, 1, RenewalStart::Fresh);
    let gap = fresh.analytic_availability - fresh.availability;
    assert!(gap > 3.0 * fresh.availability_std_error, "{fresh:?}");
    assert!(gap < 3e-4, "{fresh:?}");
}

#[test]
fn event_counts_are_consistent() {
    let config = reference(5_000);
    let report = run_renewal(&config, YEAR, 9);
    assert_eq!(report.components, 5_000);
    assert_eq!(report.horizon, YEAR);
    // Each component alternates, so failures and repairs differ by at most one per component.
    let repairs = report.events - report.failures;
    assert!(
        report.failures.abs_diff(repairs) <= config.components,
        "{report:?}"
    );
    // About 365 / 30 failures per component-year.
    let per_component = report.failures as f64 / config.components as f64;
    assert!((10.0..15.0).contains(&per_component), "{per_component}");
}

#[test]
fn same_seed_gives_an_identical_report() {
    let config = reference(3_000);
    let a = run_renewal(&config, YEAR, 77);
    let b = run_renewal(&config, YEAR, 77);
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn different_seeds_give_different_events() {
    let config = reference(3_000);
    let a = run_renewal(&config, YEAR, 77);
    let b = run_renewal(&config, YEAR, 78);
    assert_ne!((a.events, a.availability), (b.events, b.availability));
}

#[test]
fn validation_names_the_field() {
    let mut config = reference(10);
    config.components = 0;
    assert!(
        config
            .validate()
            .unwrap_err()
            .starts_with("components must be between 1")
    );
    let text = r#"
        components = 10
        [process]
        up = { dist = "weibull", shape = 0, mean = "30d" }
        down = { dist = "fixed", value = "1h" }
    "#;
    let config: RenewalConfig = toml::from_str(text).unwrap();
    assert_eq!(
        config.validate().unwrap_err(),
        "process.up: weibull shape must be > 0 and finite, got 0"
    );
    let unknown = "components = 1\nhorizon = \"1d\"\n[process]\nup = { dist = \"fixed\", value = \"1h\" }\ndown = { dist = \"fixed\", value = \"1h\" }";
    let error = toml::from_str::<RenewalConfig>(unknown).unwrap_err();
    assert!(
        error.to_string().contains("unknown field `horizon`"),
        "{error}"
    );
}
