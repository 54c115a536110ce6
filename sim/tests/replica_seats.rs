//! Stochastic replica faults run per replica seat (module doc of `faults`): replicas created by
//! scale-outs fail too, onsets on the initial replicas do not depend on actions, runs stay
//! deterministic, and a replay re-targets a recorded fault on a scaled replica.

use std::collections::BTreeSet;

use mend_sim::scenario::TargetKind;
use mend_sim::time::SimTime;
use mend_sim::topology::ServiceId;
use mend_sim::trace::TraceRecord;
use mend_sim::{Action, Scenario, Simulation};

const TINY: &str = include_str!("../../scenarios/tiny.toml");
const SEED: u64 = 5;

/// Tiny with frequent replica crashes and certain scale-outs.
fn scenario() -> Scenario {
    let text = TINY
        .replacen(
            "rate_multiplier = 1.0",
            "rate_multiplier = 1.0\n[[faults.processes]]\nkind = \"process_crash\"\nup = { dist = \"exponential\", mean = \"8m\" }\ndown = { dist = \"lognormal\", median = \"1m\", sigma = 0.5 }",
            1,
        )
        .replacen(
            "[reward]",
            "[actions.scale_out]\nsuccess_probability = 1.0\n\n[reward]",
            1,
        );
    Scenario::from_toml_str(&text, "seats.toml").unwrap()
}

/// Runs to the horizon, scaling `api` out twice at minute 2 when `scale` is set.
fn run(sim: &mut Simulation, scale: bool) -> Vec<TraceRecord> {
    sim.run_until(SimTime::from_secs(120));
    if scale {
        let api = ServiceId(
            sim.topology()
                .find_target(TargetKind::Service, "api")
                .unwrap(),
        );
        sim.apply(Action::ScaleOut { service: api }).unwrap();
        sim.run_until(SimTime::from_secs(240));
        sim.apply(Action::ScaleOut { service: api }).unwrap();
    }
    sim.run_to_end();
    sim.take_trace()
}

/// (time, target) of every fault onset.
fn onsets(trace: &[TraceRecord]) -> BTreeSet<(u64, String)> {
    trace
        .iter()
        .filter_map(|r| match r {
            TraceRecord::FaultOnset { at_ms, target, .. } => Some((*at_ms, target.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn scaled_replicas_fail_and_initial_replicas_see_the_same_faults() {
    let scenario = scenario();
    let initial: BTreeSet<String> = Simulation::new(&scenario, SEED)
        .topology()
        .replicas
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let quiet = onsets(&run(&mut Simulation::new(&scenario, SEED), false));
    let scaled_trace = run(&mut Simulation::new(&scenario, SEED), true);
    let scaled = onsets(&scaled_trace);
    assert!(
        quiet.iter().all(|(_, t)| initial.contains(t)),
        "without scaling only initial replicas fail: {quiet:?}"
    );
    let on_new: Vec<_> = scaled
        .iter()
        .filter(|(_, t)| !initial.contains(t))
        .collect();
    assert!(
        !on_new.is_empty() && on_new.iter().all(|(_, t)| t == "api-2" || t == "api-3"),
        "scale-outs created api-2 and api-3, which fail too: {on_new:?}"
    );
    assert!(
        quiet.is_subset(&scaled),
        "onsets on the initial replicas do not depend on the actions"
    );
    assert_eq!(
        scaled_trace,
        run(&mut Simulation::new(&scenario, SEED), true),
        "deterministic"
    );

    // A replay with the same actions hits the scaled replica by name once it exists.
    let mut replay = Simulation::replay(&scenario, SEED, &scaled_trace);
    let replayed = run(&mut replay, true);
    assert_eq!(onsets(&replayed), scaled);
    let hit_new = replay
        .truth()
        .faults
        .iter()
        .filter(|f| !initial.contains(&f.target))
        .all(|f| !f.affected_replicas.is_empty());
    assert!(hit_new, "replayed faults on scaled replicas take effect");
}
