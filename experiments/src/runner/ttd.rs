//! Time to detect beside the agent: the experiment's alert rules (`[detectors] alerting`, default the
//! static-threshold rules) watch the telemetry of each evaluation episode while the agent acts, and
//! `mend_monitor::alerting::account` turns the alerts and the simulator's fault windows into the
//! episode's TTD (fault onset -> first alert on an affected entity, BRIEF §9) and false alerts.
//!
//! The detectors see the telemetry the simulator holds at each decision (the cluster env advances the
//! world one decision interval per step, 30 s in the shipped scenarios); a scrape between two
//! decisions is not seen, so TTD has the decision interval's resolution. Fault windows and SLO
//! incidents are built from ground truth by the same code as [`crate::detection::simulate`] (incidents excuse
//! alerts but are not scored).

use mend_monitor::alerting::{
    AccountingConfig, AlertEvent, DetectionOutcome, EntityDetectors, RuleSet, Window, account,
};
use mend_monitor::detectors::DetectorError;
use mend_monitor::telemetry::{EntityRef, Snapshot};
use mend_sim::Simulation;

use crate::detection::{scrape_into, truth_windows};

/// Alerts raised so far in one episode.
#[derive(Debug)]
pub struct AlertTracker {
    bank: EntityDetectors,
    snapshot: Snapshot,
    alerts: Vec<AlertEvent>,
    alerting: Vec<EntityRef>,
    last_time: f64,
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
        scrape_into(&mut self.snapshot, sim);
        self.snapshot.timestamp = time;
        self.alerting.clear();
        self.bank.observe(&self.snapshot, &mut self.alerting);
        self.alerts
            .extend(self.alerting.drain(..).map(|entity| AlertEvent {
                timestamp: time,
                entity,
            }));
    }

    /// The alerts raised so far, in time order (each entity once per observation while it alerts).
    pub fn alerts(&self) -> &[AlertEvent] {
        &self.alerts
    }

    /// Accounts the episode's alerts against its faults (scored) and SLO incidents (excused).
    pub fn finish(&self, sim: &Simulation) -> DetectionOutcome {
        let (faults, incidents) = truth_windows(sim);
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
