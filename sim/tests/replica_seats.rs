//! Stochastic replica faults run per replica seat (`faults/seat.rs`) and traces record every seat
//! onset with its seat, empty seats included (`trace.rs`): replicas created by scale-outs fail,
//! runs stay deterministic, and a replay resolves each seat onset against the replaying run's own
//! replicas, so any policy replayed on any trace of a seed meets the faults it meets on that seed.

use mend_sim::scenario::TargetKind;
use mend_sim::time::SimTime;
use mend_sim::topology::ServiceId;
use mend_sim::trace::{SeatRef, TraceRecord, onsets};
use mend_sim::{Action, Scenario, Simulation};

const TINY: &str = include_str!("../../scenarios/tiny.toml");
const SEED: u64 = 5;

/// A process crash every 8 minutes per seat on average, for 1 minute; actions always succeed.
const FREQUENT_CRASHES: &str = "[[faults.processes]]\nkind = \"process_crash\"\nup = { dist = \"exponential\", mean = \"8m\" }\ndown = { dist = \"lognormal\", median = \"1m\", sigma = 0.5 }";

/// Tiny with frequent replica crashes and scale actions that always succeed.
fn scenario() -> Scenario {
    let text = TINY
        .replacen(
            "rate_multiplier = 1.0",
            &format!("rate_multiplier = 1.0\n{FREQUENT_CRASHES}"),
            1,
        )
        .replacen(
            "[reward]",
            "[actions.scale_out]\nsuccess_probability = 1.0\n\n[reward]",
            1,
        );
    Scenario::from_toml_str(&text, "seats.toml").unwrap()
}

/// What a policy does to `api` at minutes 2 and 4.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Policy {
    /// Nothing.
    NoOp,
    /// Two scale-outs: seats 2 and 3 filled.
    ScaleOut,
    /// One scale-in: seat 1 emptied.
    ScaleIn,
}

/// Runs `sim` to its horizon under `policy`; returns the whole trace.
fn run(mut sim: Simulation, policy: Policy) -> (Vec<TraceRecord>, Simulation) {
    let api = || ServiceId(1); // tiny's `api`
    sim.run_until(SimTime::from_secs(120));
    match policy {
        Policy::NoOp => {}
        Policy::ScaleOut => {
            sim.apply(Action::ScaleOut { service: api() }).unwrap();
            sim.run_until(SimTime::from_secs(240));
            sim.apply(Action::ScaleOut { service: api() }).unwrap();
        }
        Policy::ScaleIn => {
            sim.apply(Action::ScaleIn { service: api() }).unwrap();
        }
    }
    sim.run_to_end();
    (sim.take_trace(), sim)
}

/// Tiny's `api` is its second service.
#[test]
fn tiny_api_is_service_1() {
    let topo = Simulation::new(&scenario(), SEED).topology().clone();
    assert_eq!(topo.find_target(TargetKind::Service, "api"), Some(1));
}

fn own_run(scenario: &Scenario, policy: Policy) -> (Vec<TraceRecord>, Simulation) {
    run(Simulation::new(scenario, SEED), policy)
}

fn replayed(
    scenario: &Scenario,
    trace: &[TraceRecord],
    policy: Policy,
) -> (Vec<TraceRecord>, Simulation) {
    run(Simulation::replay(scenario, SEED, trace), policy)
}

fn seat(service: &str, ordinal: u32) -> SeatRef {
    SeatRef {
        service: service.into(),
        ordinal,
        provider: None,
    }
}

/// (time, target) of every onset that failed a replica of `seat`.
fn hits_on(trace: &[TraceRecord], seat: &SeatRef) -> Vec<(u64, String)> {
    trace
        .iter()
        .filter_map(|r| match r {
            TraceRecord::FaultOnset {
                at_ms,
                target,
                seat: Some(s),
                ..
            } if s == seat => Some((*at_ms, target.clone())),
            _ => None,
        })
        .collect()
}

/// Times of the onsets on `seat` that found it empty.
fn empty_on(trace: &[TraceRecord], seat: &SeatRef) -> Vec<u64> {
    trace
        .iter()
        .filter_map(|r| match r {
            TraceRecord::EmptySeatOnset { at_ms, seat: s, .. } if s == seat => Some(*at_ms),
            _ => None,
        })
        .collect()
}

fn summary_json(sim: &Simulation) -> String {
    serde_json::to_string(&sim.summary()).unwrap()
}

#[test]
fn a_scaled_out_replica_fails() {
    let scenario = scenario();
    let (quiet, _) = own_run(&scenario, Policy::NoOp);
    let (scaled, sim) = own_run(&scenario, Policy::ScaleOut);
    assert!(
        hits_on(&quiet, &seat("api", 2)).is_empty(),
        "seat 2 of api is empty without scale-outs"
    );
    let new_hits: Vec<_> = [2, 3]
        .iter()
        .flat_map(|&k| hits_on(&scaled, &seat("api", k)))
        .collect();
    assert!(
        !new_hits.is_empty() && new_hits.iter().all(|(_, t)| t == "api-2" || t == "api-3"),
        "the scale-outs filled seats 2 and 3 with api-2 and api-3, which fail: {new_hits:?}"
    );
    let hit = sim
        .truth()
        .faults
        .iter()
        .filter(|f| f.target == "api-2" || f.target == "api-3")
        .all(|f| f.affected_replicas.len() == 1);
    assert!(hit, "the faults on scaled replicas take effect");
    assert_eq!(
        onsets(&quiet),
        onsets(&scaled),
        "the onsets do not depend on the actions"
    );
}

#[test]
fn same_seed_gives_byte_identical_traces_with_seats() {
    let scenario = scenario();
    let json = |trace: &[TraceRecord]| -> String {
        trace
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect()
    };
    for policy in [Policy::NoOp, Policy::ScaleOut, Policy::ScaleIn] {
        let (a, _) = own_run(&scenario, policy);
        let (b, _) = own_run(&scenario, policy);
        assert_eq!(json(&a), json(&b), "{policy:?}");
        assert!(
            json(&a).contains("\"type\":\"empty_seat_onset\""),
            "{policy:?}"
        );
    }
}

#[test]
fn two_policies_replayed_on_one_trace_meet_the_same_onsets_on_the_seats_both_fill() {
    let scenario = scenario();
    let (recorded, _) = own_run(&scenario, Policy::NoOp);
    let (out, _) = replayed(&scenario, &recorded, Policy::ScaleOut);
    let (inn, _) = replayed(&scenario, &recorded, Policy::ScaleIn);
    assert_eq!(onsets(&out), onsets(&recorded));
    assert_eq!(onsets(&inn), onsets(&recorded));
    // Seats both policies fill all the time: every service's seat 0, web's and db's seat 1.
    for shared in [
        seat("web", 0),
        seat("web", 1),
        seat("api", 0),
        seat("db", 0),
        seat("db", 1),
    ] {
        assert_eq!(hits_on(&out, &shared), hits_on(&inn, &shared), "{shared:?}");
        assert_eq!(hits_on(&out, &shared), hits_on(&recorded, &shared));
        assert!(empty_on(&out, &shared).is_empty() && empty_on(&inn, &shared).is_empty());
    }
    assert!(
        !hits_on(&out, &seat("api", 0)).is_empty(),
        "seed {SEED} has faults on a shared seat"
    );
    // Seats only one of them fills: only that one meets their onsets.
    let (api1_out, api1_in) = (
        hits_on(&out, &seat("api", 1)),
        hits_on(&inn, &seat("api", 1)),
    );
    assert!(
        api1_in.len() < api1_out.len() && !empty_on(&inn, &seat("api", 1)).is_empty(),
        "api seat 1 is empty after the scale-in: {api1_out:?} vs {api1_in:?}"
    );
    let api2_out = hits_on(&out, &seat("api", 2));
    assert!(
        !api2_out.is_empty() && hits_on(&inn, &seat("api", 2)).is_empty(),
        "only the scaled-out run has a replica in api seat 2"
    );
}

/// The bug that reverted 5accafd: a fault on a seat the recorded policy had scaled away was
/// missing from its trace, so another policy replayed on it that keeps the seat never met it.
#[test]
fn a_policy_that_keeps_a_seat_the_recorder_scaled_away_meets_its_faults_in_replay() {
    let scenario = scenario();
    let (recorded, _) = own_run(&scenario, Policy::ScaleIn);
    let emptied = seat("api", 1);
    assert!(
        !empty_on(&recorded, &emptied).is_empty(),
        "the recorder emptied api seat 1 and its onsets there are traced"
    );
    let (replay, replay_sim) = replayed(&scenario, &recorded, Policy::NoOp);
    let (own, own_sim) = own_run(&scenario, Policy::NoOp);
    let replay_hits = hits_on(&replay, &emptied);
    assert!(
        empty_on(&recorded, &emptied).iter().all(|t| replay_hits
            .iter()
            .any(|(at, target)| at == t && target == "api-1")),
        "every onset the recorder's empty seat 1 had fails api-1 in the no-op replay"
    );
    // The no-op replayed on the scaler's trace is the no-op's own run, record for record.
    assert_eq!(replay, own);
    assert_eq!(summary_json(&replay_sim), summary_json(&own_sim));

    // And the other way round: the scaler replayed on the no-op's trace is its own run.
    let (scaler_replay, scaler_replay_sim) = replayed(&scenario, &own, Policy::ScaleIn);
    let (scaler_own, scaler_own_sim) = own_run(&scenario, Policy::ScaleIn);
    assert_eq!(scaler_replay, scaler_own);
    assert_eq!(
        summary_json(&scaler_replay_sim),
        summary_json(&scaler_own_sim)
    );
}

#[test]
fn seats_of_a_provider_filtered_process_hit_only_replicas_on_that_provider() {
    // `default` spreads services over three providers; crashes only on aws seats.
    let text = include_str!("../../scenarios/default.toml").replacen(
        "[[faults.processes]]",
        &format!(
            "{}\nprovider = \"aws\"\n\n[[faults.processes]]",
            FREQUENT_CRASHES.replace("mean = \"8m\"", "mean = \"60d\"")
        ),
        1,
    );
    let scenario = Scenario::from_toml_str(&text, "aws-seats.toml").unwrap();
    let (trace, sim) = own_run(&scenario, Policy::NoOp);
    let topo = sim.topology();
    let aws = topo.find_target(TargetKind::Provider, "aws").unwrap();
    let mut hits = 0;
    let mut empty = 0;
    for r in &trace {
        match r {
            TraceRecord::FaultOnset {
                target,
                seat: Some(s),
                ..
            } if s.provider.as_deref() == Some("aws") => {
                let replica = topo.find_target(TargetKind::Replica, target).unwrap();
                let node = topo.replicas[replica as usize].node;
                assert_eq!(topo.nodes[node.index()].provider.0, aws, "{target}");
                hits += 1;
            }
            TraceRecord::EmptySeatOnset { seat: s, .. } if s.provider.as_deref() == Some("aws") => {
                empty += 1
            }
            _ => {}
        }
    }
    assert!(hits > 0 && empty > 0, "{hits} hits, {empty} empty");
    let (again, _) = replayed(&scenario, &trace, Policy::NoOp);
    assert_eq!(
        again, trace,
        "a replay resolves the provider filter the same way"
    );
}

#[test]
fn seat_records_have_a_stable_json_form() {
    let onset = TraceRecord::FaultOnset {
        at_ms: 1000,
        fault: 3,
        kind: mend_sim::scenario::schema::FaultKind::ProcessCrash,
        target: "api-1".into(),
        duration_ms: 60_000,
        origin: mend_sim::trace::FaultOrigin::Stochastic,
        seat: Some(seat("api", 1)),
    };
    let empty = TraceRecord::EmptySeatOnset {
        at_ms: 2000,
        kind: mend_sim::scenario::schema::FaultKind::MemoryLeak,
        seat: SeatRef {
            provider: Some("aws".into()),
            ..seat("api", 4)
        },
        duration_ms: 5,
    };
    let lines = [
        r#"{"type":"fault_onset","at_ms":1000,"fault":3,"kind":"process_crash","target":"api-1","duration_ms":60000,"origin":"stochastic","seat":{"service":"api","ordinal":1}}"#,
        r#"{"type":"empty_seat_onset","at_ms":2000,"kind":"memory_leak","seat":{"service":"api","ordinal":4,"provider":"aws"},"duration_ms":5}"#,
    ];
    for (record, line) in [onset, empty].iter().zip(lines) {
        assert_eq!(serde_json::to_string(record).unwrap(), line);
        assert_eq!(&serde_json::from_str::<TraceRecord>(line).unwrap(), record);
    }
    let unknown = lines[1].replace("\"ordinal\"", "\"ordinal\":4,\"slot\"");
    assert!(serde_json::from_str::<TraceRecord>(&unknown).is_err());
}
