//! From the simulator's telemetry to the monitor's name-based [`Snapshot`], the same input the live
//! executor builds from Prometheus samples. Only scraped (noisy) telemetry crosses here, never
//! ground truth.

use mend_monitor::telemetry::{EntityKind, Snapshot};
use mend_sim::Simulation;
use mend_sim::telemetry::EntityKind as SimKind;

/// Refreshes `snapshot` from `sim`'s last scrape (in place; replicas that no longer exist are
/// removed).
pub(crate) fn refresh_snapshot(sim: &Simulation, snapshot: &mut Snapshot) {
    let telemetry = sim.telemetry();
    let topology = sim.topology();
    snapshot.timestamp = telemetry.time.as_secs_f64();
    for (r, replica) in topology.replicas.iter().enumerate() {
        if !telemetry.replica_present(r) {
            snapshot.remove(EntityKind::Replica, &replica.name);
        }
    }
    for sample in telemetry.samples(topology) {
        let kind = match sample.labels.entity {
            SimKind::Service => EntityKind::Service,
            SimKind::Node => EntityKind::Node,
            SimKind::Replica => {
                if let Some(service) = sample.labels.service {
                    snapshot.set_replica_service(sample.labels.name, service);
                }
                EntityKind::Replica
            }
        };
        snapshot.set(kind, sample.labels.name, sample.metric, sample.value);
    }
}
