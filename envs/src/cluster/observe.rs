//! From the simulator's telemetry to observation features, through the same name-based path the
//! live executor uses (a monitor [`Snapshot`] and `mend_monitor::features`). Only scraped (noisy)
//! telemetry crosses here, never ground truth.
//!
//! Names are looked up only when the telemetry's *structure* changes (a replica appears or goes):
//! [`SnapshotFeed`] then builds a [`Snapshot`] by name, a [`FeaturePlan`] over it, and the position
//! of each simulator value in the snapshot's flat value order. On every other scrape it copies the
//! simulator's flat arrays into those positions and runs the plan: no string is compared. The
//! result is bit for bit the name-based extraction (`envs/tests/cluster_features.rs` checks it on
//! recorded episodes with scale-outs and scale-ins).
//!
//! The env's own action history (feature schema v2, [`super::history`]) joins the scrape here:
//! three named values per service and node row (`mend_monitor::features::history`), set by name
//! when the structure is rebuilt and copied into their flat positions on every other step.
//!
//! So do the alert timers (feature schema v3, `mend_monitor::features::alert_age`): the env's
//! [`AlertClock`] (its detector bank) is planned on the rebuilt snapshot, then evaluates the flat
//! values of every scrape and writes each row's seconds active into its flat position. Without a
//! clock the column is 0. The clock only reads telemetry: it draws no random number and never
//! touches the simulator, so the world's trajectory is the same with or without it.

use std::collections::BTreeMap;

use mend_monitor::features::alert_age::{ALERT_AGE_METRIC, AlertClock};
use mend_monitor::features::history::ActionValues;
use mend_monitor::features::{FeatureExtractor, FeaturePlan, Features, flat_values};
use mend_monitor::telemetry::{EntityKind, Snapshot};
use mend_sim::Simulation;
use mend_sim::telemetry::{
    EntityKind as SimKind, NodeMetric, ReplicaMetric, ServiceMetric, TelemetrySnapshot,
};
use mend_sim::topology::Topology;

use super::layout::{ActionLayout, Target};
use crate::env::{EntityObs, Observation};

/// The observation a policy reads for extracted `features`: the entity rows (services, then nodes)
/// and the global features, unchanged. The one conversion both the simulated env and the live
/// executor use, so an exported policy sees the same observation live as in simulation.
pub fn entity_observation(features: &Features) -> Observation {
    Observation::Entities(EntityObs {
        global: features.global.clone(),
        width: features.width,
        rows: features.rows.clone(),
    })
}

/// Keeps features in step with a simulation's scrapes.
#[derive(Debug, Default)]
pub(crate) struct SnapshotFeed {
    /// Flat value index of each simulator value, in [`sim_values`] order.
    positions: Vec<u32>,
    /// Flat value index of each action-history value: three per entity row, in row order and
    /// [`ActionValues::metrics`] order.
    history_positions: Vec<u32>,
    /// Which replica slots were present when `positions` was built.
    present: Vec<bool>,
    /// The snapshot's flat values, refilled every scrape.
    values: Vec<f64>,
    /// The extraction plan of the current structure.
    plan: FeaturePlan,
    /// `positions` and `plan` describe the current structure.
    ready: bool,
}

/// Converts the simulator's entity kind to the monitor's.
pub(crate) fn kind_of(k: SimKind) -> EntityKind {
    match k {
        SimKind::Service => EntityKind::Service,
        SimKind::Node => EntityKind::Node,
        SimKind::Replica => EntityKind::Replica,
    }
}

/// Every telemetry value in the order of `TelemetrySnapshot::samples` (present replicas, then
/// nodes, then services; metrics in each enum's `ALL` order), without building labels.
pub(crate) fn sim_values<'a>(
    t: &'a TelemetrySnapshot,
    topology: &'a Topology,
) -> impl Iterator<Item = f64> + 'a {
    let replicas = (0..t.replica_count())
        .filter(|&r| t.replica_present(r))
        .flat_map(move |r| ReplicaMetric::ALL.iter().map(move |&m| t.replica(r, m)));
    let nodes = (0..topology.nodes.len())
        .flat_map(move |n| NodeMetric::ALL.iter().map(move |&m| t.node(n, m)));
    let services = (0..topology.services.len())
        .flat_map(move |s| ServiceMetric::ALL.iter().map(move |&m| t.service(s, m)));
    replicas.chain(nodes).chain(services)
}

/// The monitor's kind and the name of each entity row of `layout`.
fn rows<'a>(layout: &'a ActionLayout) -> impl Iterator<Item = (EntityKind, &'a str)> + 'a {
    layout.targets().iter().zip(layout.names()).map(|(t, n)| {
        let kind = match t {
            Target::Service(_) => EntityKind::Service,
            Target::Node(_) => EntityKind::Node,
        };
        (kind, n.as_str())
    })
}

/// A snapshot built by name from `sim`'s last scrape (what the live executor builds from samples),
/// the action history `history` of `layout`'s rows and their alert ages as `alerts` last
/// evaluated them (0 without a clock).
pub(crate) fn snapshot_by_name(
    sim: &Simulation,
    layout: &ActionLayout,
    history: &[ActionValues],
    alerts: Option<&AlertClock>,
) -> Snapshot {
    let mut snapshot = scrape_by_name(sim);
    for ((kind, name), values) in rows(layout).zip(history) {
        values.set_into(&mut snapshot, kind, name);
        let age = alerts.map_or(0.0, |c| c.seconds_active(kind, name));
        snapshot.set(kind, name, ALERT_AGE_METRIC, age);
    }
    snapshot
}

/// A snapshot built by name from `sim`'s last scrape alone.
fn scrape_by_name(sim: &Simulation) -> Snapshot {
    let telemetry = sim.telemetry();
    let mut snapshot = Snapshot::new(telemetry.time.as_secs_f64());
    for sample in telemetry.samples(sim.topology()) {
        let kind = kind_of(sample.labels.entity);
        if let (EntityKind::Replica, Some(service)) = (kind, sample.labels.service) {
            snapshot.set_replica_service(sample.labels.name, service);
        }
        snapshot.set(kind, sample.labels.name, sample.metric, sample.value);
    }
    snapshot
}

impl SnapshotFeed {
    /// Extracts the features of `sim`'s last scrape, the rows' action `history` (one per row
    /// of `layout`, in row order) and, with a clock, the rows' alert ages after `alerts`
    /// evaluated this scrape, into `out`. Returns true when the structure was rebuilt by
    /// name (the first scrape, or replicas came or went), so the caller can check the entity
    /// rows once rather than every step.
    pub(crate) fn refresh(
        &mut self,
        sim: &Simulation,
        layout: &ActionLayout,
        history: &[ActionValues],
        mut alerts: Option<&mut AlertClock>,
        extractor: &FeatureExtractor,
        out: &mut Features,
    ) -> bool {
        let telemetry = sim.telemetry();
        let same_replicas = self.present.len() == telemetry.replica_count()
            && self
                .present
                .iter()
                .enumerate()
                .all(|(r, &p)| p == telemetry.replica_present(r));
        let rebuilt = !(self.ready && same_replicas && self.fill(sim, history));
        if rebuilt {
            self.rebuild(sim, layout, history, alerts.as_deref_mut(), extractor);
        }
        if let Some(clock) = alerts {
            clock.observe_values(telemetry.time.as_secs_f64(), &self.values);
            clock.write_ages(&mut self.values);
        }
        extractor.extract_planned(&mut self.plan, &self.values, out);
        rebuilt
    }

    /// Copies the simulator's values and the action history into their flat positions; false if
    /// the counts disagree.
    fn fill(&mut self, sim: &Simulation, history: &[ActionValues]) -> bool {
        let mut positions = self.positions.iter();
        for v in sim_values(sim.telemetry(), sim.topology()) {
            match positions
                .next()
                .and_then(|&p| self.values.get_mut(p as usize))
            {
                Some(slot) => *slot = v,
                None => return false,
            }
        }
        if positions.next().is_some() {
            return false;
        }
        let mut positions = self.history_positions.iter();
        for (_, v) in history.iter().flat_map(|h| h.metrics()) {
            match positions
                .next()
                .and_then(|&p| self.values.get_mut(p as usize))
            {
                Some(slot) => *slot = v,
                None => return false,
            }
        }
        positions.next().is_none()
    }

    /// Builds the snapshot by name, the plan over it (and the alert clock's) and each simulator
    /// and history value's flat position.
    fn rebuild(
        &mut self,
        sim: &Simulation,
        layout: &ActionLayout,
        history: &[ActionValues],
        alerts: Option<&mut AlertClock>,
        extractor: &FeatureExtractor,
    ) {
        let telemetry = sim.telemetry();
        let snapshot = snapshot_by_name(sim, layout, history, alerts.as_deref());
        if let Some(clock) = alerts {
            clock.plan(&snapshot);
        }
        let mut flat = BTreeMap::new();
        for (kind, name, m) in snapshot.entities() {
            for (metric, _) in m.values() {
                let next = flat.len() as u32;
                flat.insert((kind, name, metric), next);
            }
        }
        self.positions.clear();
        self.ready = true;
        for sample in telemetry.samples(sim.topology()) {
            let key = (
                kind_of(sample.labels.entity),
                sample.labels.name,
                sample.metric,
            );
            match flat.get(&key) {
                Some(&p) => self.positions.push(p),
                // Unreachable (every sample is in the snapshot); stay on the name path if it happens.
                None => self.ready = false,
            }
        }
        self.history_positions.clear();
        for ((kind, name), values) in rows(layout).zip(history) {
            for (metric, _) in values.metrics() {
                match flat.get(&(kind, name, metric)) {
                    Some(&p) => self.history_positions.push(p),
                    None => self.ready = false,
                }
            }
        }
        flat_values(&snapshot, &mut self.values);
        self.plan = extractor.plan(&snapshot);
        self.present = (0..telemetry.replica_count())
            .map(|r| telemetry.replica_present(r))
            .collect();
    }
}
