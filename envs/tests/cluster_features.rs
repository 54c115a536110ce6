//! The cluster env's observations equal the name-based feature extraction (a snapshot built by
//! name from the scrape, as the live executor builds it, then `FeatureExtractor::extract`) bit for
//! bit, on recorded episodes whose replica set changes (scale-outs, scale-ins, reallocations), so
//! the env's per-structure plans and flat value positions (the scrape's and the action history's)
//! are checked across rebuilds.

use mend_envs::cluster::{ClusterAction, ClusterConfig, ClusterEnv, Target};
use mend_envs::{Env, Observation};
use mend_monitor::features::FeatureExtractor;
use mend_monitor::telemetry::{EntityKind, Snapshot};
use mend_sim::telemetry::EntityKind as SimKind;
use mend_sim::{ActionKind, Simulation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The reference path: every sample by name into a fresh snapshot, then the env's action history
/// by name (schema v2's action columns), then the extractor.
fn by_name(env: &ClusterEnv) -> (Vec<u32>, Vec<u32>) {
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
    let f = FeatureExtractor::builtin().extract(&snapshot);
    assert!(f.missing.is_empty(), "{:?}", f.missing);
    (
        f.rows.iter().map(|x| x.to_bits()).collect(),
        f.global.iter().map(|x| x.to_bits()).collect(),
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
        let (obs, _) = env.reset(Some(3), None).unwrap();
        assert_eq!(bits(&obs), by_name(&env));
        let mut replica_counts = std::collections::BTreeSet::new();
        for t in 0..240 {
            let action = structural_action(&env, &mut rng);
            let step = env.step(action).unwrap();
            let sim = env.simulation().unwrap();
            replica_counts.insert(present_replicas(sim));
            assert_eq!(bits(&step.obs), by_name(&env), "{scenario}, step {t}");
            if step.truncated {
                env.reset(None, None).unwrap();
            }
        }
        assert!(
            replica_counts.len() >= 3,
            "{scenario}: the replica set changed during the run: {replica_counts:?}"
        );
    }
}
