//! Precursor features in the prediction data and the per-provider federated split, on one
//! short simulated run each (the studies' own figures come from `mend detect sim`).

use mend_monitor::features::FeatureSchema;
use mend_sim::Scenario;

use super::*;

fn default_scenario() -> Scenario {
    Scenario::builtin("default").expect("the default scenario loads")
}

#[test]
fn precursor_trends_extend_each_sample_with_bounded_inputs() {
    let run = simulate(&default_scenario(), 3);
    let width = FeatureSchema::builtin().width();
    let before = prediction_data(std::slice::from_ref(&run), &PredictionConfig::default());
    let config = PredictionConfig::default().with_precursors();
    let after = prediction_data(std::slice::from_ref(&run), &config);
    assert_eq!(before.input, 8 * width);
    assert_eq!(after.input, 8 * width + TREND_INPUTS);
    assert_eq!(after.bounds.len(), after.input);
    assert_eq!(after.inputs.len(), after.len() * after.input);
    // The schema's log1p bounds are finite; the precursor cut tightens them to its cap.
    assert!(before.bounds.iter().all(|b| b.1 < f32::MAX));
    assert!(after.bounds.iter().any(|b| b.1 == config.log1p_cap));
    assert!(
        after
            .bounds
            .iter()
            .all(|&(lo, hi)| hi > lo && hi < f32::MAX)
    );
    // Trends need `trend_window` scrapes of history: fewer samples, and the same label and
    // window rows for a sample present in both.
    assert!(after.len() < before.len() && !after.is_empty());
    let o = &after.origins[0];
    let k = before
        .origins
        .iter()
        .position(|b| b.time == o.time && b.service == o.service)
        .expect("every sample with trends has one without");
    assert_eq!(before.labels[k], after.labels[0]);
    assert_eq!(
        &before.inputs[k * before.input..(k + 1) * before.input],
        &after.inputs[..before.input]
    );
}

#[test]
fn federated_clients_are_the_providers() {
    let config = FederatedStudyConfig {
        rounds: 1,
        split: ClientSplit::Provider,
        local: mend_monitor::predictor::TrainConfig {
            epochs: 1,
            ..Default::default()
        },
        central: mend_monitor::predictor::TrainConfig {
            epochs: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let report = federated_study(&default_scenario(), &[1], &[2], &config).unwrap();
    let names: Vec<&str> = report.clients.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["c0:aws", "c1:azure", "c2:gcp"]);
    let total: usize = report.clients.iter().map(|c| c.1).sum();
    assert_eq!(report.rows[0].train_samples, total);
    // centralised + 3 local-only + 3 aggregators x 3 poison settings.
    assert_eq!(report.rows.len(), 1 + 3 + 9);
    let chart = report.bar_chart();
    assert_eq!(chart.lines().count(), 1 + 1 + 3 + 3, "{chart}");
}

#[test]
fn a_directed_candidate_scores_rises_only_on_every_adaptive_metric() {
    use mend_monitor::detectors::{DetectorConfig, Direction};
    let both = Candidate::tuned("ewma", 4.0, 120.0);
    let up = both.clone().directed(Direction::Up);
    assert_eq!(up.family, "ewma");
    assert_eq!(up.setting, format!("{} dir=up", both.setting));
    let spec = up.spec.as_ref().expect("a tuned candidate keeps its spec");
    assert_eq!(spec.to_string(), "ewma(z=4, for_s=120, dir=up)");
    let mut adaptive = 0;
    for rule in up.rules.rules.iter().filter(|r| r.metric != "up") {
        let DetectorConfig::Persist(p) = &rule.detector else {
            panic!("{}: not held for 120 s", rule.metric);
        };
        let DetectorConfig::Ewma(e) = p.inner.as_ref() else {
            panic!("{}: not ewma", rule.metric);
        };
        assert_eq!(e.direction, Direction::Up, "{}", rule.metric);
        adaptive += 1;
    }
    assert!(adaptive > 0);
    // `both` leaves the candidate as it was.
    assert_eq!(both.clone().directed(Direction::Both), both);
}

#[test]
fn false_alerts_by_metric_has_one_row_per_rule_and_covers_the_whole_set() {
    use mend_monitor::alerting::RuleSet;
    let run = simulate(&default_scenario(), 5);
    let runs = std::slice::from_ref(&run);
    let rules = RuleSet::for_detector("median_mad(z=4, for_s=0, dir=auto)").unwrap();
    let rows = false_alerts_by_metric(runs, &rules).unwrap();
    assert_eq!(rows.len(), rules.rules.len());
    assert_eq!(rows[0].metric, "service error_ratio");
    // An entity paged by two metrics at once is one episode for the set, one per metric here.
    let whole = detect_on_run(&run, &rules, AccountingConfig::default())
        .unwrap()
        .false_alerts_per_day();
    let sum: f64 = rows.iter().map(|r| r.false_alerts_per_day).sum();
    assert!(whole > 0.0, "z = 4 without a hold pages on noise");
    assert!(sum >= whole - 1e-9, "per metric {sum} vs whole set {whole}");
}

#[test]
fn the_replica_cpu_gate_touches_only_replica_cpu() {
    use mend_monitor::detectors::{DetectorConfig, SATURATION_LEVEL};
    let open = Candidate::tuned("ewma", 4.0, 120.0);
    let gated = open.clone().with_replica_cpu_gate(SATURATION_LEVEL);
    assert_eq!(gated.setting, format!("{} gate=0.8", open.setting));
    assert_eq!(gated.spec, open.spec);
    assert_eq!(gated.rules.rules.len(), open.rules.rules.len());
    let mut touched = 0;
    for (g, o) in gated.rules.rules.iter().zip(&open.rules.rules) {
        let is_replica_cpu = g.kind == EntityKind::Replica && g.metric == "cpu_utilization";
        if !is_replica_cpu {
            assert_eq!(g, o, "{} {}", g.kind.as_str(), g.metric);
            continue;
        }
        let DetectorConfig::Persist(p) = &g.detector else {
            panic!("replica cpu is held for 120 s");
        };
        let DetectorConfig::Ewma(e) = p.inner.as_ref() else {
            panic!("replica cpu runs ewma");
        };
        assert_eq!(e.alert_level, Some(SATURATION_LEVEL));
        touched += 1;
    }
    assert_eq!(touched, 1);
    // On a run, the gate can only remove replica CPU alerts: never more false alerts.
    let run = simulate(&default_scenario(), 5);
    let runs = std::slice::from_ref(&run);
    let before = false_alerts_by_metric(runs, &open.rules).unwrap();
    let after = false_alerts_by_metric(runs, &gated.rules).unwrap();
    for (b, a) in before.iter().zip(&after) {
        if b.metric == "replica cpu_utilization" {
            assert!(a.false_alerts_per_day <= b.false_alerts_per_day);
        } else {
            assert_eq!(a, b);
        }
    }
}

#[test]
fn a_candidate_from_a_spec_runs_that_spec_and_rejects_bad_text() {
    let c = Candidate::from_spec("ewma(z=4, for_s=120, dir=auto)")
        .unwrap()
        .expect("a parametrised spec");
    let spec = c.spec.as_ref().unwrap();
    assert_eq!(c.setting, spec.to_string());
    assert_eq!(c.rules, spec.rules());
    assert_eq!(c.family, "ewma");
    assert!(Candidate::from_spec("ewma").unwrap().is_none());
    let e = Candidate::from_spec("ewma(z=-1)").unwrap_err().to_string();
    assert!(e.contains('z'), "{e}");
}
