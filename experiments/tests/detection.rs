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

#[test]
fn services_map_to_regions_and_providers() {
    let run = simulate(&default_scenario(), 2);
    let regions: std::collections::BTreeSet<_> = run.service_region.iter().collect();
    let providers: std::collections::BTreeSet<_> = run.service_provider.iter().collect();
    println!("regions {regions:?} providers {providers:?}");
    assert!(regions.len() >= providers.len());
    assert!(
        providers.len() > 1,
        "services spread over several providers"
    );
}

fn seeds_from_env(var: &str, default: &str) -> Vec<u64> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

#[test]
fn prediction_data_labels_follow_the_ground_truth() {
    use mend_experiments::detection::{PredictionConfig, prediction_data};
    let run = simulate(&default_scenario(), 5);
    let cfg = PredictionConfig::default();
    let data = prediction_data(std::slice::from_ref(&run), &cfg);
    assert_eq!(data.inputs.len(), data.len() * data.input);
    assert_eq!(data.bounds.len(), data.input);
    assert!(data.labels.iter().any(|&y| y > 0.5), "some incident ahead");
    for (o, &y) in data.origins.iter().zip(&data.labels) {
        let name = &run.services[o.service];
        let ahead = run
            .incidents
            .iter()
            .any(|w| &w.entities[0].name == name && w.start > o.time && w.start <= o.time + 600.0);
        assert_eq!(y > 0.5, ahead, "sample at {} on {name}", o.time);
    }
}

#[test]
fn prediction_study_is_deterministic_and_reports_held_out_quality() {
    use mend_experiments::detection::{PredictionConfig, prediction_study};
    use mend_monitor::predictor::TrainConfig;
    let train_seeds = seeds_from_env("MEND_PREDICT_TRAIN", "10");
    let test_seeds = seeds_from_env("MEND_PREDICT_TEST", "20");
    let epochs = std::env::var("MEND_PREDICT_EPOCHS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let horizon_seconds = std::env::var("MEND_PREDICT_HORIZON")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600.0);
    let cfg = PredictionConfig {
        horizon_seconds,
        ..Default::default()
    };
    let tc = TrainConfig {
        epochs,
        seed: 1,
        ..Default::default()
    };
    let scenario = default_scenario();
    let a = prediction_study(&scenario, &train_seeds, &test_seeds, &cfg, &tc).unwrap();
    println!("{}", serde_json::to_string_pretty(&a).unwrap());
    assert!(train_seeds.iter().all(|s| !test_seeds.contains(s)));
    assert!(a.test.samples > 0 && a.test.positives > 0);
    let q = &a.test;
    assert!((0.0..=1.0).contains(&q.pr_auc));
    assert!(q.incidents_warned <= q.incidents);
    if train_seeds.len() == 1 {
        let b = prediction_study(&scenario, &train_seeds, &test_seeds, &cfg, &tc).unwrap();
        assert_eq!(
            a.model.as_ref().unwrap().params,
            b.model.as_ref().unwrap().params
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }
}

#[test]
fn federated_study_compares_settings_and_counts_bytes() {
    use mend_experiments::detection::{FederatedStudyConfig, federated_study};
    let train_seeds = seeds_from_env("MEND_FED_TRAIN", "11");
    let test_seeds = seeds_from_env("MEND_FED_TEST", "21");
    let rounds = std::env::var("MEND_FED_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let mut cfg = FederatedStudyConfig {
        rounds,
        ..Default::default()
    };
    cfg.central.epochs = rounds;
    let report = federated_study(&default_scenario(), &train_seeds, &test_seeds, &cfg).unwrap();
    println!("{}", report.to_markdown());
    assert_eq!(report.clients.len(), 5);
    // centralised + 5 local-only + 3 aggregators x 3 poison settings.
    assert_eq!(report.rows.len(), 1 + 5 + 9);
    let total: usize = report.clients.iter().map(|c| c.1).sum();
    assert_eq!(report.rows[0].train_samples, total);
    // Parameters: hidden x input + 2 hidden + 1, 4 bytes each, down and up per client.
    let input = 8 * mend_monitor::features::FeatureSchema::builtin().width();
    let params = 32 * input + 2 * 32 + 1;
    assert_eq!(report.bytes_per_round, 5 * (8 * params + 8));
    assert!(
        report
            .rows
            .iter()
            .all(|r| r.pr_auc.is_nan() || (0.0..=1.0).contains(&r.pr_auc))
    );
}

#[test]
fn tuned_study_chooses_on_training_seeds_and_reports_held_out_seeds() {
    use mend_experiments::detection::{default_grid, tuned_detection_study};
    // Defaults keep the test quick; MEND_TUNE_TRAIN=1,...,10 MEND_TUNE_TEST=101,...,120 and
    // --nocapture print the study's table.
    let train = seeds_from_env("MEND_TUNE_TRAIN", "1");
    let test = seeds_from_env("MEND_TUNE_TEST", "101,102");
    let grid = default_grid();
    let scenario = default_scenario();
    let report = tuned_detection_study(&scenario, &grid, &train, &test).unwrap();
    println!("{}", report.to_markdown());
    assert_eq!(report.training.len(), grid.len());
    assert_eq!(report.held_out[0].family, "static_threshold");
    // One choice per family, admissible whenever the family has an admissible setting.
    let families: std::collections::BTreeSet<_> = grid.iter().map(|c| &c.family).collect();
    assert_eq!(report.held_out.len(), families.len() + 1);
    for f in families {
        let rows: Vec<_> = report.training.iter().filter(|r| &r.family == f).collect();
        let chosen: Vec<_> = rows.iter().filter(|r| r.chosen).collect();
        assert_eq!(chosen.len(), 1, "{f}");
        if rows.iter().any(|r| r.admissible) {
            assert!(chosen[0].admissible, "{f}");
            let best = rows
                .iter()
                .filter(|r| r.admissible)
                .map(|r| r.capped_ttd_seconds)
                .fold(f64::INFINITY, f64::min);
            assert_eq!(chosen[0].capped_ttd_seconds, best, "{f}");
        }
    }
    // Held-out rows are measured on every test seed, and the baseline against itself is zero.
    assert_eq!(report.held_out[0].capped_ttd_vs_baseline.mean, 0.0);
    for r in &report.held_out {
        assert_eq!(r.false_alerts_per_day.n, test.len());
        assert!(r.capped_ttd_seconds.mean <= mend_experiments::detection::TTD_CAP_SECONDS);
    }
    // Overlapping seed sets are refused.
    let err = tuned_detection_study(&scenario, &grid, &[5], &[5, 6]).unwrap_err();
    assert!(err.to_string().contains("seed 5"), "{err}");
}
