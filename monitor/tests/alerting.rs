//! Alerting over snapshots and its accounting, against hand-worked values.

use mend_monitor::alerting::{
    AccountingConfig, AlertEvent, EntityDetectors, RuleSet, Window, account,
};
use mend_monitor::telemetry::{EntityKind, EntityRef, Snapshot};

fn node(name: &str) -> EntityRef {
    EntityRef::new(EntityKind::Node, name)
}

fn alert(t: f64, name: &str) -> AlertEvent {
    AlertEvent {
        timestamp: t,
        entity: node(name),
    }
}

#[test]
fn ttd_is_onset_to_first_alert_on_an_affected_entity() {
    let faults = [Window {
        start: 100.0,
        end: 400.0,
        entities: vec![node("a")],
    }];
    // An alert on b during the fault is false; the first alert on a at 160 detects it.
    let alerts = [alert(130.0, "b"), alert(160.0, "a"), alert(175.0, "a")];
    let cfg = AccountingConfig::default();
    let out = account(&alerts, &faults, &[], 86_400.0, cfg);
    assert_eq!(out.delays, vec![Some(60.0)]);
    assert_eq!(out.false_episodes, 1);
    assert_eq!(out.mean_ttd(), 60.0);
    assert_eq!(out.detection_rate(), 1.0);
    assert_eq!(out.false_alerts_per_day(), 1.0);
}

#[test]
fn false_alerts_group_into_episodes_by_gap() {
    let cfg = AccountingConfig {
        grace_seconds: 0.0,
        episode_gap_seconds: 60.0,
    };
    // a: 0, 30, 90 (gaps 30, 60: one episode), 200 (gap 110: a second); b: 30 (a third).
    let alerts = [
        alert(0.0, "a"),
        alert(30.0, "a"),
        alert(30.0, "b"),
        alert(90.0, "a"),
        alert(200.0, "a"),
    ];
    let out = account(&alerts, &[], &[], 43_200.0, cfg);
    assert_eq!(out.false_episodes, 3);
    assert_eq!(out.false_alerts_per_day(), 6.0);
    assert!(out.detection_rate().is_nan());
}

#[test]
fn grace_and_excused_windows_explain_alerts_and_misses_are_none() {
    let cfg = AccountingConfig {
        grace_seconds: 50.0,
        episode_gap_seconds: 0.0,
    };
    let faults = [
        Window {
            start: 0.0,
            end: 100.0,
            entities: vec![node("a")],
        },
        Window {
            start: 500.0,
            end: 600.0,
            entities: vec![node("c")],
        },
    ];
    let excused = [Window {
        start: 300.0,
        end: 320.0,
        entities: vec![node("b")],
    }];
    // 140 on a: within the grace after the fault, explained, detects fault 0 at 140 s.
    // 310 on b: excused. 151 on a: after the grace, false.
    let alerts = [alert(140.0, "a"), alert(151.0, "a"), alert(310.0, "b")];
    let out = account(&alerts, &faults, &excused, 1000.0, cfg);
    assert_eq!(out.delays, vec![Some(140.0), None]);
    assert_eq!(out.false_episodes, 1);
    assert_eq!(out.detection_rate(), 0.5);
}

fn snapshot(t: f64, up: f64, cpu: f64) -> Snapshot {
    let mut s = Snapshot::new(t);
    s.set(EntityKind::Node, "n1", "up", up);
    s.set(EntityKind::Node, "n1", "cpu_utilization", cpu);
    s.set(EntityKind::Node, "n2", "up", 1.0);
    s.set(EntityKind::Node, "n2", "cpu_utilization", 0.2);
    // Not watched: ignored.
    s.set(EntityKind::Service, "svc", "request_rate", 1e6);
    s
}

#[test]
fn static_baseline_fires_after_its_for_duration_on_the_right_entity() {
    let mut bank = EntityDetectors::new(RuleSet::static_baseline()).unwrap();
    let mut fired = Vec::new();
    // n1 goes down at t = 30; the `up` rule has `for: 60s`, so it fires at t = 90, not before.
    for k in 0..10 {
        let t = 15.0 * k as f64;
        let up = if t >= 30.0 { 0.0 } else { 1.0 };
        let mut alerting = Vec::new();
        bank.observe(&snapshot(t, up, 0.3), &mut alerting);
        for e in alerting {
            fired.push((t, e.name));
        }
    }
    assert_eq!(fired.first(), Some(&(90.0, "n1".to_owned())));
    assert!(fired.iter().all(|(_, n)| n == "n1"));
    // n1 and n2, up and cpu each: 4 channels; the service's request rate is not watched.
    assert_eq!(bank.channel_count(), 4);
}

#[test]
fn adaptive_rule_sets_build_from_registry_names() {
    for name in [
        "ewma",
        "median_mad",
        "holt_winters",
        "ensemble",
        "onset",
        "onset:ewma",
    ] {
        let rules = RuleSet::for_detector(name).unwrap();
        assert!(EntityDetectors::new(rules).is_ok(), "{name}");
    }
    assert!(RuleSet::for_detector("nope").is_err());
}

#[test]
fn entities_that_come_and_go_keep_their_own_cold_channels() {
    let mut bank = EntityDetectors::new(RuleSet::static_baseline()).unwrap();
    let mut alerting = Vec::new();
    // n1 down from the start: fires at 60 s (`for: 60s`) while n0 (down for 30 s only) appears and vanishes
    // before it in iteration order (the positional cache must not mix channels up).
    for k in 0..6 {
        let t = 15.0 * k as f64;
        let mut s = Snapshot::new(t);
        if k == 1 || k == 3 {
            s.set(EntityKind::Node, "n0", "up", 0.0);
        }
        s.set(EntityKind::Node, "n1", "up", 0.0);
        alerting.clear();
        bank.observe(&s, &mut alerting);
        let names: Vec<&str> = alerting.iter().map(|e| e.name.as_str()).collect();
        let expected: &[&str] = if t >= 60.0 { &["n1"] } else { &[] };
        assert_eq!(names, expected, "t = {t}");
    }
    assert_eq!(bank.channel_count(), 2);
}
