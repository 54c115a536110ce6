//! The cluster env's observations equal the name-based feature extraction (a snapshot built by
//! name from the scrape, as the live executor builds it, then `FeatureExtractor::extract`) bit for
//! bit, on recorded episodes whose replica set changes (scale-outs, scale-ins, reallocations), so
//! the env's per-structure plans and flat value positions (the scrape's and the action history's)
//! are checked across rebuilds. The reference also runs its own alert clock the live way
//! (`AlertClock::observe_snapshot` on each by-name snapshot, as the executor's pipeline does), so
//! the env's planned alert ages (schema v3) are checked against the live path too.

use mend_envs::cluster::{ClusterAction, ClusterConfig, ClusterEnv, Target};
use mend_envs::{Env, Observation};
use mend_monitor::features::FeatureExtractor;
use mend_monitor::features::alert_age::{ALERT_AGE_METRIC, AlertClock, DEFAULT_ALERT_DETECTOR};
use mend_monitor::telemetry::{EntityKind, Snapshot};
use mend_sim::telemetry::EntityKind as SimKind;
use mend_sim::{ActionKind, Simulation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The reference path: every sample by name into a fresh snapshot, then the env's action history
/// by name (schema v2's action columns), then `clock`'s alert ages evaluated on that snapshot
/// (schema v3), then the extractor. Returns the bits and the number of rows with an active alert.
fn by_name(env: &ClusterEnv, clock: &mut AlertClock) -> ((Vec<u32>, Vec<u32>), usize) {
    let sim = env.simulation().unwrap();
    let telemetry = sim.telemetry();
    let mut snapshot = Snapshot::new(telemetry.time.as_secs_f64());
    for s in telemetry.samples(sim.topology()) {
        let kind = match s.labels.entity {
            SimKind::Service => EntityKind::Service,
            SimKind::Node => EntityKind::Node,
            SimKind::Replica => EntityKind::Replica,
        };
        if let (EntityKind::Replica, Some(service)) = (kind, s.labels.service) {
            snapshot.set_replica_service(s.labels.name, service);
        }
        snapshot.set(kind, s.labels.name, s.metric, s.value);
    }
    let layout = env.layout().unwrap();
    for ((target, name), history) in layout
        .targets()
        .iter()
        .zip(layout.names())
        .zip(env.action_history())
    {
        let kind = match target {
            Target::Service(_) => EntityKind::Service,
            Target::Node(_) => EntityKind::Node,
        };
        history.set_into(&mut snapshot, kind, name);
    }
    clock.observe_snapshot(&mut snapshot);
    let active = snapshot
        .entities()
        .filter(|(_, _, m)| m.get(ALERT_AGE_METRIC).is_some_and(|a| a > 0.0))
        .count();
    let f = FeatureExtractor::builtin().extract(&snapshot);
    assert!(f.missing.is_empty(), "{:?}", f.missing);
    (
        (
            f.rows.iter().map(|x| x.to_bits()).collect(),
            f.global.iter().map(|x| x.to_bits()).collect(),
        ),
        active,
    )
}

fn bits(obs: &Observation) -> (Vec<u32>, Vec<u32>) {
    let e = obs.as_entities().expect("entity observation");
    (
        e.rows.iter().map(|x| x.to_bits()).collect(),
        e.global.iter().map(|x| x.to_bits()).collect(),
    )
}

fn present_replicas(sim: &Simulation) -> usize {
    let t = sim.telemetry();
    (0..t.replica_count())
        .filter(|&r| t.replica_present(r))
        .count()
}

/// Prefers actions that change the replica set, so plans are rebuilt often.
fn structural_action(env: &ClusterEnv, rng: &mut ChaCha8Rng) -> usize {
    let mask = env.action_mask().unwrap();
    let valid: Vec<usize> = (1..mask.len()).filter(|&a| mask[a]).collect();
    let structural: Vec<usize> = valid
        .iter()
        .copied()
        .filter(|&a| {
            matches!(
                env.decode(a),
                Some(ClusterAction::Act {
                    kind: ActionKind::ScaleOut | ActionKind::ScaleIn | ActionKind::Reallocate,
                    ..
                })
            )
        })
        .collect();
    match rng.random_range(0..4) {
        0 if !structural.is_empty() => structural[rng.random_range(0..structural.len())],
        1 if !valid.is_empty() => valid[rng.random_range(0..valid.len())],
        _ => 0,
    }
}

#[test]
fn observations_equal_the_name_based_extraction_across_replica_set_changes() {
    for scenario in ["tiny", "default"] {
        let mut env = ClusterEnv::builtin(scenario, ClusterConfig::default()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut clock = AlertClock::new(DEFAULT_ALERT_DETECTOR).unwrap();
        let (obs, _) = env.reset(Some(3), None).unwrap();
        assert_eq!(bits(&obs), by_name(&env, &mut clock).0);
        let mut replica_counts = std::collections::BTreeSet::new();
        let mut alerting_steps = 0;
        for t in 0..240 {
            let action = structural_action(&env, &mut rng);
            let step = env.step(action).unwrap();
            let sim = env.simulation().unwrap();
            replica_counts.insert(present_replicas(sim));
            let (reference, active) = by_name(&env, &mut clock);
            assert_eq!(bits(&step.obs), reference, "{scenario}, step {t}");
            alerting_steps += usize::from(active > 0);
            if step.truncated {
                let (obs, _) = env.reset(None, None).unwrap();
                clock.reset();
                assert_eq!(bits(&obs), by_name(&env, &mut clock).0);
            }
        }
        assert!(
            replica_counts.len() >= 3,
            "{scenario}: the replica set changed during the run: {replica_counts:?}"
        );
        assert!(
            alerting_steps >= 5,
            "{scenario}: alert ages were checked while some alert was active ({alerting_steps} steps)"
        );
    }
}
