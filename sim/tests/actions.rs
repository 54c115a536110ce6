//! Recovery actions: each one's effect and outcome event, and each precondition's error.

use mend_sim::scenario::TargetKind;
use mend_sim::telemetry::{ReplicaMetric, ServiceMetric};
use mend_sim::time::SimTime;
use mend_sim::topology::{NodeId, RegionId, ReplicaId, ServiceId, ZoneId};
use mend_sim::trace::{EndCause, TraceRecord};
use mend_sim::{Action, ActionError, Scenario, Simulation};

const TINY: &str = include_str!("../../scenarios/tiny.toml");

/// Tiny with certain success and the given scripted faults.
fn sim_with(faults: &str) -> Simulation {
    let text = TINY.replacen("rate_multiplier = 1.0", &format!("rate_multiplier = 1.0\n{faults}"), 1).replacen(
        "[reward]",
        "[actions.restart_replica]\nsuccess_probability = 1.0\n[actions.scale_out]\nsuccess_probability = 1.0\n[actions.reallocate]\nsuccess_probability = 1.0\n[actions.failover]\nsuccess_probability = 1.0\n[actions.replace_node]\nsuccess_probability = 1.0\n[actions.restart_service]\nsuccess_probability = 1.0\n\n[reward]",
        1,
    );
    let mut sim = Simulation::new(&Scenario::from_toml_str(&text, "actions.toml").unwrap(), 1);
    sim.run_until(SimTime::from_secs(300));
    sim
}

fn scripted(kind: &str, target: &str) -> String {
    format!(
        "[[faults.scripted]]\nat = \"1m\"\nkind = \"{kind}\"\ntarget = \"{target}\"\nduration = \"50m\""
    )
}

fn replica(sim: &Simulation, name: &str) -> ReplicaId {
    ReplicaId(
        sim.topology()
            .find_target(TargetKind::Replica, name)
            .unwrap(),
    )
}
fn service(sim: &Simulation, name: &str) -> ServiceId {
    ServiceId(
        sim.topology()
            .find_target(TargetKind::Service, name)
            .unwrap(),
    )
}
fn advance(sim: &mut Simulation, secs: u64) {
    let t = sim.now() + mend_sim::time::SimDuration::from_secs(secs);
    sim.run_until(t);
}

#[test]
fn restart_replica_repairs_a_crash_and_is_not_instant() {
    let mut sim = sim_with(&scripted("process_crash", "web-0"));
    let r = replica(&sim, "web-0");
    let cost_before = sim.truth().reward.action_cost_usd;
    sim.apply(Action::RestartReplica { replica: r }).unwrap();
    assert!(sim.truth().reward.action_cost_usd > cost_before);
    advance(&mut sim, 15);
    assert_eq!(sim.truth().faults[0].end, None, "a restart is not instant");
    advance(&mut sim, 60);
    assert_eq!(sim.truth().faults[0].cause, Some(EndCause::Repaired));
    assert_eq!(sim.telemetry().replica(r.index(), ReplicaMetric::Up), 1.0);
    let trace = sim.take_trace();
    assert!(
        trace
            .iter()
            .any(|t| matches!(t, TraceRecord::ActionOutcome { success: true, .. }))
    );
}

/// `restart_replica` cures a hung process, as `kill -CONT` or a restart does live.
#[test]
fn restart_replica_cures_a_hang() {
    let mut sim = sim_with(&scripted("process_hang", "web-0"));
    let r = replica(&sim, "web-0");
    assert_eq!(sim.telemetry().replica(r.index(), ReplicaMetric::Up), 0.0);
    sim.apply(Action::RestartReplica { replica: r }).unwrap();
    advance(&mut sim, 75);
    assert_eq!(sim.truth().faults[0].cause, Some(EndCause::Repaired));
    assert_eq!(sim.telemetry().replica(r.index(), ReplicaMetric::Up), 1.0);
}

#[test]
fn busy_service_rejects_a_second_action() {
    let mut sim = sim_with("");
    let r = replica(&sim, "web-0");
    sim.apply(Action::RestartReplica { replica: r }).unwrap();
    let err = sim
        .check(&Action::RestartService {
            service: service(&sim, "web"),
        })
        .unwrap_err();
    assert!(matches!(err, ActionError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("in flight"));
}

#[test]
fn unknown_targets_are_rejected() {
    let sim = sim_with("");
    let e = sim
        .check(&Action::RestartReplica {
            replica: ReplicaId(999),
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            ActionError::UnknownTarget {
                entity: "replica",
                index: 999,
                ..
            }
        ),
        "{e}"
    );
    let e = sim
        .check(&Action::ScaleOut {
            service: ServiceId(99),
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            ActionError::UnknownTarget {
                entity: "service",
                ..
            }
        ),
        "{e}"
    );
    let e = sim
        .check(&Action::ReplaceNode { node: NodeId(99) })
        .unwrap_err();
    assert!(
        matches!(e, ActionError::UnknownTarget { entity: "node", .. }),
        "{e}"
    );
    let e = sim
        .check(&Action::Failover {
            service: ServiceId(0),
            region: RegionId(9),
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            ActionError::UnknownTarget {
                entity: "region",
                ..
            }
        ),
        "{e}"
    );
    let e = sim
        .check(&Action::Reallocate {
            replica: ReplicaId(0),
            zone: ZoneId(9),
        })
        .unwrap_err();
    assert!(
        matches!(e, ActionError::UnknownTarget { entity: "zone", .. }),
        "{e}"
    );
}

#[test]
fn scale_out_adds_a_replica_into_rotation_and_scale_in_removes_it() {
    let mut sim = sim_with("");
    let web = service(&sim, "web");
    sim.apply(Action::ScaleOut { service: web }).unwrap();
    advance(&mut sim, 90);
    assert_eq!(
        sim.telemetry()
            .service(web.index(), ServiceMetric::ReplicasInRotation),
        3.0
    );
    sim.apply(Action::ScaleIn { service: web }).unwrap();
    advance(&mut sim, 60);
    assert_eq!(
        sim.telemetry()
            .service(web.index(), ServiceMetric::ReplicasInRotation),
        2.0
    );
}

#[test]
fn scale_out_stops_at_max_replicas() {
    let text = TINY.replacen(
        "name = \"web\"\nreplicas = 2",
        "name = \"web\"\nreplicas = 2\nmax_replicas = 2",
        1,
    );
    let sim = Simulation::new(&Scenario::from_toml_str(&text, "t.toml").unwrap(), 1);
    let e = sim
        .check(&Action::ScaleOut {
            service: ServiceId(0),
        })
        .unwrap_err();
    assert!(e.to_string().contains("max_replicas"), "{e}");
}

#[test]
fn scale_out_needs_capacity() {
    // db replicas take 2 cores and may only use us-east-1: 4 nodes x 8 cores, of which web
    // (2 x 1), api (2 x 2) and db (2 x 2) use 10; at most 11 more db replicas fit, and
    // max_replicas (30) is not what stops them.
    let text = TINY.replacen(
        "name = \"db\"\nreplicas = 2",
        "name = \"db\"\nreplicas = 2\nmax_replicas = 30",
        1,
    );
    let mut sim = Simulation::new(&Scenario::from_toml_str(&text, "t.toml").unwrap(), 1);
    let db = service(&sim, "db");
    let mut added = 0;
    while sim.apply(Action::ScaleOut { service: db }).is_ok() {
        added += 1;
        advance(&mut sim, 70);
    }
    assert!((8..=11).contains(&added), "added {added}");
    let e = sim.check(&Action::ScaleOut { service: db }).unwrap_err();
    assert!(matches!(e, ActionError::NoCapacity { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("no node with enough free CPU and memory"),
        "{e}"
    );
}

#[test]
fn scale_in_keeps_the_last_replica() {
    let text = TINY.replacen(
        "name = \"web\"\nreplicas = 2",
        "name = \"web\"\nreplicas = 1",
        1,
    );
    let sim = Simulation::new(&Scenario::from_toml_str(&text, "t.toml").unwrap(), 1);
    let e = sim
        .check(&Action::ScaleIn {
            service: ServiceId(0),
        })
        .unwrap_err();
    assert!(e.to_string().contains("last replica"), "{e}");
}

#[test]
fn reallocate_moves_a_replica_away_from_a_bad_node() {
    let mut sim = sim_with("");
    let r = replica(&sim, "web-0");
    let zone_of = |sim: &Simulation| {
        sim.topology().nodes[sim.topology().replicas[r.index()].node.index()].zone
    };
    let from = zone_of(&sim);
    let to = ZoneId(
        sim.topology()
            .find_target(TargetKind::Zone, "us-east-1b")
            .unwrap(),
    );
    assert_ne!(from, to);
    let same = sim
        .check(&Action::Reallocate {
            replica: r,
            zone: from,
        })
        .unwrap_err();
    assert!(same.to_string().contains("already in this zone"), "{same}");
    let west = ZoneId(
        sim.topology()
            .find_target(TargetKind::Zone, "us-west-2a")
            .unwrap(),
    );
    let disallowed = sim
        .check(&Action::Reallocate {
            replica: r,
            zone: west,
        })
        .unwrap_err();
    assert!(
        disallowed.to_string().contains("may not run in this zone"),
        "{disallowed}"
    );
    sim.apply(Action::Reallocate {
        replica: r,
        zone: to,
    })
    .unwrap();
    advance(&mut sim, 120);
    assert_eq!(zone_of(&sim), to);
}

#[test]
fn failover_moves_a_stateful_service_and_loses_unreplicated_writes() {
    let mut sim = sim_with(&scripted("region_outage", "us-east-1"));
    let db = service(&sim, "db");
    let west = RegionId(
        sim.topology()
            .find_target(TargetKind::Region, "us-west-2")
            .unwrap(),
    );
    let east = RegionId(
        sim.topology()
            .find_target(TargetKind::Region, "us-east-1")
            .unwrap(),
    );
    let e = sim
        .check(&Action::Failover {
            service: db,
            region: east,
        })
        .unwrap_err();
    assert!(
        e.to_string().contains("already runs only in this region"),
        "{e}"
    );
    sim.apply(Action::Failover {
        service: db,
        region: west,
    })
    .unwrap();
    advance(&mut sim, 400);
    assert!(sim.truth().reward.data_lost_writes > 0.0);
    assert!(
        sim.telemetry()
            .service(db.index(), ServiceMetric::ErrorRatio)
            < 0.05
    );
    for &r in &[replica(&sim, "db-0"), replica(&sim, "db-1")] {
        assert_eq!(sim.topology().replica_region(r), west);
    }
}

#[test]
fn replace_node_repairs_node_faults_after_provisioning() {
    let mut sim = sim_with(&scripted("node_crash", "us-east-1a-n0"));
    let n = NodeId(
        sim.topology()
            .find_target(TargetKind::Node, "us-east-1a-n0")
            .unwrap(),
    );
    sim.apply(Action::ReplaceNode { node: n }).unwrap();
    let e = sim.check(&Action::ReplaceNode { node: n }).unwrap_err();
    assert!(matches!(e, ActionError::Busy { entity: "node", .. }), "{e}");
    advance(&mut sim, 60);
    assert_eq!(
        sim.truth().faults[0].end,
        None,
        "provisioning takes 90 s more"
    );
    advance(&mut sim, 120);
    assert_eq!(sim.truth().faults[0].cause, Some(EndCause::Repaired));
}

#[test]
fn shed_load_only_on_entry_services_and_reduces_admitted_load() {
    let mut sim = sim_with("");
    let db = service(&sim, "db");
    let e = sim.check(&Action::ShedLoad { service: db }).unwrap_err();
    assert!(e.to_string().contains("not an entry service"), "{e}");
    let web = service(&sim, "web");
    let before = sim
        .telemetry()
        .service(web.index(), ServiceMetric::RequestRate);
    sim.apply(Action::ShedLoad { service: web }).unwrap();
    advance(&mut sim, 30);
    let after = sim
        .telemetry()
        .service(web.index(), ServiceMetric::RequestRate);
    assert!(after < before * 0.7, "{before} -> {after}");
    let again = sim.check(&Action::ShedLoad { service: web }).unwrap_err();
    assert!(again.to_string().contains("already shedding"), "{again}");
}

#[test]
fn restart_service_ends_replica_faults() {
    let mut sim = sim_with(&scripted("memory_leak", "api-1"));
    sim.apply(Action::RestartService {
        service: service(&sim, "api"),
    })
    .unwrap();
    advance(&mut sim, 130);
    assert_eq!(sim.truth().faults[0].cause, Some(EndCause::Repaired));
}

#[test]
fn actions_after_the_horizon_are_rejected() {
    let mut sim = sim_with("");
    sim.run_to_end();
    let e = sim
        .check(&Action::ScaleOut {
            service: ServiceId(0),
        })
        .unwrap_err();
    assert!(matches!(e, ActionError::Finished { .. }), "{e}");
}

#[test]
fn rejected_actions_change_nothing() {
    let mut sim = sim_with("");
    let before = serde_json::to_string(&sim.summary()).unwrap();
    assert!(
        sim.apply(Action::ScaleIn {
            service: ServiceId(77)
        })
        .is_err()
    );
    assert_eq!(before, serde_json::to_string(&sim.summary()).unwrap());
    assert!(
        sim.take_trace()
            .iter()
            .all(|r| !matches!(r, TraceRecord::ActionApplied { .. }))
    );
}

/// Regression (session 1 known limit): errors named targets by index ("service 0"); they now use
/// the scenario's names, and the action kind's snake_case name.
#[test]
fn action_errors_name_their_targets_not_indexes() {
    let mut sim = sim_with("");
    let web = service(&sim, "web");
    sim.apply(Action::RestartReplica {
        replica: replica(&sim, "web-0"),
    })
    .unwrap();
    let busy = sim.check(&Action::ScaleOut { service: web }).unwrap_err();
    assert_eq!(
        busy,
        ActionError::Busy {
            kind: mend_sim::ActionKind::ScaleOut,
            entity: "service",
            name: "web".into()
        }
    );
    assert_eq!(
        busy.to_string(),
        "scale_out: another action on service web is in flight"
    );

    // A replica still starting after a scale-out is named, not numbered.
    let api = service(&sim, "api");
    sim.apply(Action::ScaleOut { service: api }).unwrap();
    let new_replica = ReplicaId(sim.topology().replicas.len() as u32 - 1);
    let name = sim.topology().replicas[new_replica.index()].name.clone();
    assert!(name.starts_with("api-"), "{name}");
    let e = sim
        .check(&Action::RestartReplica {
            replica: new_replica,
        })
        .unwrap_err();
    assert!(
        matches!(&e, ActionError::InactiveReplica { replica, .. } if *replica == name),
        "{e}"
    );
    assert!(e.to_string().contains(&name), "{e}");

    // Preconditions name the service.
    let db = service(&sim, "db");
    sim.apply(Action::ScaleIn { service: db }).unwrap();
    advance(&mut sim, 60);
    let e = sim.check(&Action::ScaleIn { service: db }).unwrap_err();
    assert_eq!(
        e.to_string(),
        "scale_in on service db: would remove the last replica"
    );
}
