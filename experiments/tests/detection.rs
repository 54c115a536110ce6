//! The detection study on the `default` scenario: deterministic whatever the thread count,
//! the baseline detects the scripted faults, bad input is an error. Set `MEND_DETECTION_SEEDS`
//! (e.g. 20) and run with `--nocapture` to print the full table.

use mend_experiments::detection::{DetectionError, detection_study, simulate};
use mend_sim::Scenario;

fn default_scenario() -> Scenario {
    Scenario::builtin("default").expect("the default scenario loads")
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

#[test]
fn study_is_identical_for_one_and_two_threads() {
    let scenario = default_scenario();
    let detectors = vec!["ewma".to_owned()];
    let seeds = [3, 4];
    let one = in_pool(1, || detection_study(&scenario, &detectors, &seeds)).unwrap();
    let two = in_pool(2, || detection_study(&scenario, &detectors, &seeds)).unwrap();
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&two).unwrap()
    );
}

#[test]
fn simulated_run_has_scrapes_faults_and_affected_entities() {
    let scenario = default_scenario();
    let run = simulate(&scenario, 1);
    let scrape = scenario.spec().scenario.scrape_interval.as_secs_f64();
    let expected = (run.observed_seconds / scrape).floor() as usize;
    // One scrape per interval, except at the horizon itself (the world stops there).
    assert!(
        run.snapshots.len() + 1 >= expected && run.snapshots.len() <= expected,
        "{} scrapes for {expected} intervals",
        run.snapshots.len()
    );
    assert!(
        run.snapshots
            .windows(2)
            .all(|w| w[1].timestamp > w[0].timestamp)
    );
    assert!(
        !run.faults.is_empty(),
        "default has a scripted region outage"
    );
    assert!(run.faults.iter().any(|f| !f.entities.is_empty()));
    assert_eq!(run.service_provider.len(), run.services.len());
}

#[test]
fn every_detector_is_scored_against_the_baseline() {
    let scenario = default_scenario();
    let names: Vec<String> = std::env::var("MEND_DETECTION_DETECTORS")
        .unwrap_or_else(|_| "ewma,median_mad,holt_winters,ensemble,onset".into())
        .split(',')
        .map(str::to_owned)
        .collect();
    let n: u64 = std::env::var("MEND_DETECTION_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let seeds: Vec<u64> = (100..100 + n).collect();
    let report = detection_study(&scenario, &names, &seeds).unwrap();
    println!("{}", report.to_markdown());
    assert_eq!(report.rows.len(), names.len() + 1);
    assert_eq!(report.rows[0].detector, "static_threshold");
    let base = &report.rows[0];
    assert!(
        base.detection_rate.mean > 0.0,
        "the baseline detects some fault"
    );
    // The baseline compared with itself differs by exactly zero.
    assert_eq!(base.ttd_vs_baseline.mean, 0.0);
    for row in &report.rows {
        assert_eq!(row.per_seed.len(), seeds.len());
        for o in &row.per_seed {
            assert!((0.0..=1.0).contains(&o.detection_rate));
            assert!(o.false_alerts_per_day >= 0.0);
            assert!(o.mean_ttd_seconds.is_nan() || o.mean_ttd_seconds >= 0.0);
        }
    }
}

#[test]
fn unknown_detector_and_empty_seeds_are_errors() {
    let scenario = default_scenario();
    let err = detection_study(&scenario, &["nope".to_owned()], &[1]).unwrap_err();
    assert!(err.to_string().contains("unknown detector `nope`"), "{err}");
    let err = detection_study(&scenario, &[], &[]).unwrap_err();
    assert!(matches!(err, DetectionError::NoSeeds));
}
