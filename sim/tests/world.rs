//! The world runs, is deterministic, and replays exogenous events whatever the actions.

use mend_sim::trace::{TRACE_FORMAT_VERSION, TraceRecord, onsets};
use mend_sim::{Action, Scenario, Simulation};

fn trace_json(records: &[TraceRecord]) -> String {
    records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect()
}

#[test]
fn default_runs_to_its_horizon_with_faults_and_sane_truth() {
    let s = Scenario::builtin("default").unwrap();
    let mut sim = Simulation::new(&s, 7);
    sim.run_to_end();
    assert!(sim.is_finished());
    let summary = sim.summary();
    eprintln!("{}", serde_json::to_string_pretty(&summary).unwrap());
    assert!(
        summary.faults_by_kind.values().sum::<u64>() > 1,
        "{:?}",
        summary.faults_by_kind
    );
    assert_eq!(summary.faults_by_kind.get("region_outage"), Some(&1));
    assert!(
        summary.availability > 0.5 && summary.availability < 1.0,
        "{}",
        summary.availability
    );
    assert!(summary.reward_components.infra_cost_usd > 0.0);
    assert!(summary.reward < 0.0);
}

#[test]
fn same_seed_gives_byte_identical_traces_and_different_seeds_differ() {
    let s = Scenario::builtin("default").unwrap();
    let run = |seed| {
        let mut sim = Simulation::new(&s, seed);
        sim.run_until(mend_sim::time::SimTime::from_secs(3600));
        // An action mid-run, so the action path is covered too.
        let _ = sim.apply(Action::ScaleOut {
            service: mend_sim::topology::ServiceId(0),
        });
        sim.run_to_end();
        (
            trace_json(&sim.take_trace()),
            serde_json::to_string(&sim.summary()).unwrap(),
        )
    };
    let a = run(11);
    assert_eq!(a, run(11));
    assert_ne!(a.0, run(12).0);
}

#[test]
fn replay_reproduces_exogenous_events_under_different_actions() {
    let s = Scenario::builtin("default").unwrap();
    let mut original = Simulation::new(&s, 5);
    original.run_to_end();
    let recorded = original.take_trace();
    assert!(onsets(&recorded).len() > 1);

    let mut replayed = Simulation::replay(&s, 999, &recorded);
    // Act a lot: restart every active replica of service 0, fail over service 1.
    replayed.run_until(mend_sim::time::SimTime::from_secs(600));
    for r in 0..replayed.topology().replicas.len() as u32 {
        let _ = replayed.apply(Action::RestartReplica {
            replica: mend_sim::topology::ReplicaId(r),
        });
    }
    replayed.run_to_end();
    let again = replayed.take_trace();
    assert!(
        again
            .iter()
            .any(|r| matches!(r, TraceRecord::ActionApplied { .. }))
    );
    assert_eq!(onsets(&recorded), onsets(&again));
}

#[test]
fn fault_onsets_do_not_depend_on_actions_with_the_same_seed() {
    let s = Scenario::builtin("default").unwrap();
    let mut quiet = Simulation::new(&s, 3);
    quiet.run_to_end();
    let mut busy = Simulation::new(&s, 3);
    for step in 1..=(6 * 60) {
        busy.run_until(mend_sim::time::SimTime::from_secs(step * 60));
        let _ = busy.apply(Action::ScaleOut {
            service: mend_sim::topology::ServiceId((step % 20) as u32),
        });
        let _ = busy.apply(Action::ScaleIn {
            service: mend_sim::topology::ServiceId(((step + 7) % 20) as u32),
        });
    }
    busy.run_to_end();
    let (quiet, busy) = (quiet.take_trace(), busy.take_trace());
    assert_eq!(onsets(&quiet), onsets(&busy));
    // The records themselves differ only on replica seats (which replica, if any, sat there).
    let by_entity = |records: &[TraceRecord]| -> Vec<(u64, String, u64)> {
        records
            .iter()
            .filter_map(|r| match r {
                TraceRecord::FaultOnset {
                    at_ms,
                    target,
                    duration_ms,
                    seat: None,
                    ..
                } => Some((*at_ms, target.clone(), *duration_ms)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(by_entity(&quiet), by_entity(&busy));
}

#[test]
fn trace_starts_with_a_header_and_uses_type_tags() {
    let s = Scenario::builtin("tiny").unwrap();
    let mut sim = Simulation::new(&s, 17);
    sim.run_until(mend_sim::time::SimTime::from_secs(60));
    sim.apply(Action::RestartReplica {
        replica: mend_sim::topology::ReplicaId(0),
    })
    .unwrap();
    sim.run_until(mend_sim::time::SimTime::from_secs(120));
    let lines: Vec<String> = sim
        .take_trace()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        format!(
            r#"{{"type":"header","format_version":{TRACE_FORMAT_VERSION},"scenario":"tiny","seed":17}}"#
        )
    );
    assert!(lines[1].starts_with(r#"{"type":"action_applied","at_ms":60000,"action":0,"kind":"restart_replica","target":"web-0""#), "{}", lines[1]);
    assert!(
        lines[2].starts_with(r#"{"type":"action_outcome","at_ms":90000,"action":0,"#),
        "{}",
        lines[2]
    );
    // Records read back equal what was written.
    for line in &lines {
        let back: TraceRecord = serde_json::from_str(line).unwrap();
        assert_eq!(&serde_json::to_string(&back).unwrap(), line);
    }
    // take_trace drains.
    assert!(sim.take_trace().is_empty());
}

#[test]
fn renewal_scenario_yields_its_config_and_an_empty_world() {
    let s = Scenario::builtin("renewal").unwrap();
    let cfg = s.renewal().expect("renewal config");
    let report = mend_sim::renewal::run_renewal(
        &mend_sim::renewal::RenewalConfig {
            components: 200,
            ..cfg.clone()
        },
        s.horizon(),
        1,
    );
    assert!(
        report.availability > 0.99 && report.availability < 1.0,
        "{}",
        report.availability
    );
    let mut sim = Simulation::new(&s, 1);
    sim.run_to_end();
    assert!(sim.is_finished());
}
