//! Time to detect beside the agent: the experiment's alert rules (`[detectors] alerting`, default the
//! static-threshold rules) watch the telemetry of each evaluation episode while the agent acts, and
//! `mend_monitor::alerting::account` turns the alerts and the simulator's fault windows into the
//! episode's TTD (fault onset -> first alert on an affected entity, BRIEF §9) and false alerts.
//!
//! The detectors see the telemetry the simulator holds at each decision (the cluster env advances the
//! world one decision interval per step, 30 s in the shipped scenarios); a scrape between two
//! decisions is not seen, so TTD has the decision interval's resolution. Fault windows and SLO
//! incidents are built from ground truth as in [`crate::detection::simulate`] (incidents excuse
//! alerts but are not scored).

use mend_monitor::alerting::{
    AccountingConfig, AlertEvent, DetectionOutcome, EntityDetectors, RuleSet, Window, account,
};
use mend_monitor::detectors::DetectorError;
use mend_monitor::telemetry::{EntityKind, EntityRef, Snapshot};
use mend_sim::Simulation;
use mend_sim::telemetry::EntityKind as SimKind;

/// Alerts raised so far in one episode.
#[derive(Debug)]
pub struct AlertTracker {
    bank: EntityDetectors,
    snapshot: Snapshot,
    alerts: Vec<AlertEvent>,
    alerting: Vec<EntityRef>,
    last_time: f64,
}

fn kind_of(k: SimKind) -> EntityKind {
    match k {
        SimKind::Service => EntityKind::Service,
        SimKind::Node => EntityKind::Node,
        SimKind::Replica => EntityKind::Replica,
    }
}

impl AlertTracker {
    /// A cold bank of `rules`.
    pub fn new(rules: &RuleSet) -> Result<Self, DetectorError> {
        Ok(Self {
            bank: EntityDetectors::new(rules.clone())?,
            snapshot: Snapshot::new(0.0),
            alerts: Vec::new(),
            alerting: Vec::new(),
            last_time: f64::NEG_INFINITY,
        })
    }

    /// Feeds the simulator's current telemetry to the detectors (once per telemetry time).
    pub fn observe(&mut self, sim: &Simulation) {
        let telemetry = sim.telemetry();
        let time = telemetry.time.as_secs_f64();
        if time <= self.last_time {
            return;
        }
        self.last_time = time;
        let topology = sim.topology();
        for (r, replica) in topology.replicas.iter().enumerate() {
            if !telemetry.replica_present(r) {
                self.snapshot.remove(EntityKind::Replica, &replica.name);
            }
        }
        for sample in telemetry.samples(topology) {
            let kind = kind_of(sample.labels.entity);
            if let (EntityKind::Replica, Some(service)) = (kind, sample.labels.service) {
                self.snapshot
                    .set_replica_service(sample.labels.name, service);
            }
            self.snapshot
                .set(kind, sample.labels.name, sample.metric, sample.value);
        }
        self.snapshot.timestamp = time;
        self.alerting.clear();
        self.bank.observe(&self.snapshot, &mut self.alerting);
        self.alerts
            .extend(self.alerting.drain(..).map(|entity| AlertEvent {
                timestamp: time,
                entity,
            }));
    }

    /// Accounts the episode's alerts against its faults (scored) and SLO incidents (excused).
    pub fn finish(&self, sim: &Simulation) -> DetectionOutcome {
        let (faults, incidents) = windows(sim);
        let scored: Vec<Window> = faults
            .into_iter()
            .filter(|w| !w.entities.is_empty())
            .collect();
        account(
            &self.alerts,
            &scored,
            &incidents,
            sim.horizon().as_secs_f64(),
            AccountingConfig::default(),
        )
    }
}

/// Fault windows (onset to end or horizon, entities affected) and incident windows (the service and
/// its replicas) of a finished episode, from ground truth.
fn windows(sim: &Simulation) -> (Vec<Window>, Vec<Window>) {
    let topology = sim.topology();
    let truth = sim.truth();
    let end_of_run = sim.horizon().as_secs_f64();
    let faults =
        truth
            .faults
            .iter()
            .map(|f| {
                let services = f.affected_services.iter().map(|&s| {
                    EntityRef::new(EntityKind::Service, &topology.services[s as usize].name)
                });
                let nodes = f
                    .affected_nodes
                    .iter()
                    .map(|&n| EntityRef::new(EntityKind::Node, &topology.nodes[n as usize].name));
                let replicas = f.affected_replicas.iter().map(|&r| {
                    EntityRef::new(EntityKind::Replica, &topology.replicas[r as usize].name)
                });
                Window {
                    start: f.onset.as_secs_f64(),
                    end: f.end.map_or(end_of_run, |e| e.as_secs_f64()),
                    entities: services.chain(nodes).chain(replicas).collect(),
                }
            })
            .collect();
    let incidents = truth
        .incidents
        .iter()
        .map(|i| {
            let mut entities = vec![EntityRef::new(
                EntityKind::Service,
                &topology.services[i.service as usize].name,
            )];
            entities.extend(
                topology
                    .replicas
                    .iter()
                    .filter(|r| r.service.index() == i.service as usize)
                    .map(|r| EntityRef::new(EntityKind::Replica, &r.name)),
            );
            Window {
                start: i.start.as_secs_f64(),
                end: i.end.as_secs_f64(),
                entities,
            }
        })
        .collect();
    (faults, incidents)
}
