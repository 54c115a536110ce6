//! From the simulator's telemetry to the monitor's name-based [`Snapshot`], the same input the live
//! executor builds from Prometheus samples. Only scraped (noisy) telemetry crosses here, never
//! ground truth.
//!
//! The simulator emits its samples in the same order every scrape until replicas come or go, so
//! [`SnapshotFeed`] remembers each sample's [`SlotId`] and refills the snapshot by slot, falling back
//! to lookups by name whenever the replica set or the snapshot's structure changed.

use mend_monitor::telemetry::{EntityKind, SlotId, Snapshot};
use mend_sim::Simulation;
use mend_sim::telemetry::EntityKind as SimKind;

/// Keeps a snapshot in step with a simulation's scrapes.
#[derive(Debug, Default)]
pub(crate) struct SnapshotFeed {
    /// Slot of each sample, in the simulator's sample order.
    slots: Vec<SlotId>,
    /// Which replica slots were present when `slots` was built.
    present: Vec<bool>,
}

fn kind_of(k: SimKind) -> EntityKind {
    match k {
        SimKind::Service => EntityKind::Service,
        SimKind::Node => EntityKind::Node,
        SimKind::Replica => EntityKind::Replica,
    }
}

impl SnapshotFeed {
    /// Refreshes `snapshot` from `sim`'s last scrape.
    pub(crate) fn refresh(&mut self, sim: &Simulation, snapshot: &mut Snapshot) {
        let telemetry = sim.telemetry();
        let topology = sim.topology();
        snapshot.timestamp = telemetry.time.as_secs_f64();
        let same_replicas = self.present.len() == telemetry.replica_count()
            && self
                .present
                .iter()
                .enumerate()
                .all(|(r, &p)| p == telemetry.replica_present(r));
        if same_replicas && !self.slots.is_empty() {
            let mut ok = true;
            let mut n = 0;
            for (sample, &slot) in telemetry.samples(topology).zip(&self.slots) {
                ok &= snapshot.set_slot(slot, sample.value);
                n += 1;
            }
            if ok && n == self.slots.len() {
                return;
            }
        }
        // Slow path: by name, then remember the slots.
        for (r, replica) in topology.replicas.iter().enumerate() {
            if !telemetry.replica_present(r) {
                snapshot.remove(EntityKind::Replica, &replica.name);
            }
        }
        for sample in telemetry.samples(topology) {
            let kind = kind_of(sample.labels.entity);
            if let (EntityKind::Replica, Some(service)) = (kind, sample.labels.service) {
                snapshot.set_replica_service(sample.labels.name, service);
            }
            snapshot.set(kind, sample.labels.name, sample.metric, sample.value);
        }
        self.slots.clear();
        for sample in telemetry.samples(topology) {
            match snapshot.slot(
                kind_of(sample.labels.entity),
                sample.labels.name,
                sample.metric,
            ) {
                Some(slot) => self.slots.push(slot),
                None => {
                    self.slots.clear();
                    break;
                }
            }
        }
        self.present = (0..telemetry.replica_count())
            .map(|r| telemetry.replica_present(r))
            .collect();
    }
}
