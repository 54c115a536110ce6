//! Detection on simulated faults (issue 5, item 4) and the simulator-generated data sets of the
//! failure predictor: this module drives the simulator (with no agent) and hands plain data to
//! `mend_monitor`, which does not depend on `mend_sim` (BRIEF §2).
//!
//! ```text
//!  Simulation::new(scenario, seed) ─ run_until(next scrape) ─► Snapshot per scrape ─┐
//!  GroundTruth faults / incidents ─► alerting::Window (onset, end, affected entities)┤
//!                 per detector: EntityDetectors::observe ─► AlertEvent* ─► account() ┘
//! ```
//! Every detector sees the same seeds (common random numbers, BRIEF §3.2), so each one is
//! compared with the static-threshold baseline by paired differences over seeds.

use mend_monitor::alerting::{
    AccountingConfig, AlertEvent, DetectionOutcome, EntityDetectors, RuleSet, Window, account,
};
use mend_monitor::detectors::DetectorError;
use mend_monitor::telemetry::{EntityKind, EntityRef, Snapshot};
use mend_sim::telemetry::EntityKind as SimKind;
use mend_sim::time::SimTime;
use mend_sim::{Scenario, Simulation};
use rayon::prelude::*;
use serde::Serialize;

use crate::stats::{Estimate, estimate, paired_difference};

/// The baseline every detector is compared with.
pub const BASELINE: &str = "static_threshold";

/// Errors of a detection study.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectionError {
    /// A detector name or configuration was rejected.
    #[error("detection study: {0}")]
    Detector(#[from] DetectorError),
    /// The study was given no seeds.
    #[error("detection study: field `seeds` is empty: expected at least one seed")]
    NoSeeds,
}

/// One simulated run as monitoring sees it (scrapes) plus its ground truth as plain data.
#[derive(Debug, Clone)]
pub struct SimulatedRun {
    /// Seed of the run.
    pub seed: u64,
    /// One snapshot per scrape, in time order.
    pub snapshots: Vec<Snapshot>,
    /// One window per fault: onset, end (or the horizon) and the entities affected at onset.
    pub faults: Vec<Window>,
    /// One window per SLO incident, on its service and the service's replicas.
    pub incidents: Vec<Window>,
    /// Simulated seconds.
    pub observed_seconds: f64,
    /// Service names, in scenario order.
    pub services: Vec<String>,
    /// For each service, the provider hosting most of its initial replicas.
    pub service_provider: Vec<String>,
}

fn kind_of(k: SimKind) -> EntityKind {
    match k {
        SimKind::Service => EntityKind::Service,
        SimKind::Node => EntityKind::Node,
        SimKind::Replica => EntityKind::Replica,
    }
}

/// Runs `scenario` with `seed` and no agent to its horizon, keeping every scrape.
pub fn simulate(scenario: &Scenario, seed: u64) -> SimulatedRun {
    let mut sim = Simulation::new(scenario, seed);
    let scrape = scenario.spec().scenario.scrape_interval.0.max(1);
    let horizon = sim.horizon();
    let mut snapshots = Vec::new();
    let mut current = Snapshot::new(0.0);
    let mut t = scrape;
    while t <= horizon.millis() {
        sim.run_until(SimTime(t));
        let telemetry = sim.telemetry();
        let topology = sim.topology();
        for (r, replica) in topology.replicas.iter().enumerate() {
            if !telemetry.replica_present(r) {
                current.remove(EntityKind::Replica, &replica.name);
            }
        }
        for sample in telemetry.samples(topology) {
            let kind = kind_of(sample.labels.entity);
            if let (EntityKind::Replica, Some(service)) = (kind, sample.labels.service) {
                current.set_replica_service(sample.labels.name, service);
            }
            current.set(kind, sample.labels.name, sample.metric, sample.value);
        }
        t += scrape;
        let time = telemetry.time.as_secs_f64();
        // The world does not step at the horizon itself: no new scrape, nothing to record.
        if snapshots
            .last()
            .is_some_and(|s: &Snapshot| s.timestamp >= time)
        {
            continue;
        }
        current.timestamp = time;
        snapshots.push(current.clone());
    }
    let topology = sim.topology();
    let truth = sim.truth();
    let end_of_run = horizon.as_secs_f64();
    let faults = truth
        .faults
        .iter()
        .map(|f| {
            let mut entities: Vec<EntityRef> = Vec::new();
            for &s in &f.affected_services {
                entities.push(EntityRef::new(
                    EntityKind::Service,
                    &topology.services[s as usize].name,
                ));
            }
            for &n in &f.affected_nodes {
                entities.push(EntityRef::new(
                    EntityKind::Node,
                    &topology.nodes[n as usize].name,
                ));
            }
            for &r in &f.affected_replicas {
                entities.push(EntityRef::new(
                    EntityKind::Replica,
                    &topology.replicas[r as usize].name,
                ));
            }
            Window {
                start: f.onset.as_secs_f64(),
                end: f.end.map_or(end_of_run, |e| e.as_secs_f64()),
                entities,
            }
        })
        .collect();
    let incidents = truth
        .incidents
        .iter()
        .map(|i| {
            // The service and its replicas: their symptoms are about a real SLO violation.
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
    let services: Vec<String> = topology.services.iter().map(|s| s.name.clone()).collect();
    let service_provider = (0..topology.services.len())
        .map(|s| {
            let mut counts = vec![0usize; topology.providers.len()];
            for rep in topology.replicas.iter().filter(|r| r.service.index() == s) {
                counts[topology.nodes[rep.node.index()].provider.index()] += 1;
            }
            // First provider among those with the most replicas (scenario order breaks ties).
            let best = (0..counts.len())
                .max_by_key(|&p| (counts[p], std::cmp::Reverse(p)))
                .unwrap_or(0);
            topology
                .providers
                .get(best)
                .map_or_else(String::new, |p| p.name.clone())
        })
        .collect();
    SimulatedRun {
        seed,
        snapshots,
        faults,
        incidents,
        observed_seconds: end_of_run,
        services,
        service_provider,
    }
}

/// Feeds a run's scrapes to a cold bank built from `rules` and accounts its alerts.
pub fn detect_on_run(
    run: &SimulatedRun,
    rules: &RuleSet,
    config: AccountingConfig,
) -> Result<DetectionOutcome, DetectorError> {
    let mut bank = EntityDetectors::new(rules.clone())?;
    let mut alerts = Vec::new();
    let mut alerting = Vec::new();
    for snapshot in &run.snapshots {
        alerting.clear();
        bank.observe(snapshot, &mut alerting);
        alerts.extend(alerting.drain(..).map(|entity| AlertEvent {
            timestamp: snapshot.timestamp,
            entity,
        }));
    }
    // Faults that touched no entity at onset (e.g. a control-plane outage) cannot be detected
    // on an entity; they excuse nothing and are not scored.
    let scored: Vec<Window> = run
        .faults
        .iter()
        .filter(|w| !w.entities.is_empty())
        .cloned()
        .collect();
    Ok(account(
        &alerts,
        &scored,
        &run.incidents,
        run.observed_seconds,
        config,
    ))
}

/// One detector on one seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedOutcome {
    /// Seed.
    pub seed: u64,
    /// Scored faults (those with affected entities).
    pub faults: usize,
    /// Mean time to detect over detected faults, seconds (NaN if none detected).
    pub mean_ttd_seconds: f64,
    /// Share of scored faults detected.
    pub detection_rate: f64,
    /// False-alert episodes per simulated day.
    pub false_alerts_per_day: f64,
}

/// One detector over all seeds, with paired differences against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectorRow {
    /// Registry name.
    pub detector: String,
    /// Per seed, in the order given.
    pub per_seed: Vec<SeedOutcome>,
    /// Mean TTD (seconds) over seeds, 95 % CI.
    pub ttd_seconds: Estimate,
    /// Detection rate over seeds, 95 % CI.
    pub detection_rate: Estimate,
    /// False alerts per day over seeds, 95 % CI.
    pub false_alerts_per_day: Estimate,
    /// Paired TTD difference (this minus baseline), seconds.
    pub ttd_vs_baseline: Estimate,
    /// Paired false-alert difference (this minus baseline), per day.
    pub false_alerts_vs_baseline: Estimate,
}

/// Result of [`detection_study`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionReport {
    /// Scenario name.
    pub scenario: String,
    /// Seeds (paired across detectors).
    pub seeds: Vec<u64>,
    /// The baseline's name.
    pub baseline: String,
    /// The accounting parameters used.
    pub accounting: AccountingConfig,
    /// The baseline first, then the detectors in the order asked (the baseline is not repeated).
    pub rows: Vec<DetectorRow>,
}

impl DetectionReport {
    /// A Markdown table: mean [95 % CI] per metric and the paired differences.
    pub fn to_markdown(&self) -> String {
        let ci = |e: &Estimate| format!("{:.1} [{:.1}, {:.1}]", e.mean, e.low(), e.high());
        let mut s = format!(
            "Detection on `{}`, {} paired seeds (baseline `{}`)\n\n| detector | TTD s | detected | false alerts/day | ΔTTD s vs baseline | Δfalse/day vs baseline |\n|---|---|---|---|---|---|\n",
            self.scenario,
            self.seeds.len(),
            self.baseline
        );
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {:.2} | {} | {} | {} |\n",
                r.detector,
                ci(&r.ttd_seconds),
                r.detection_rate.mean,
                ci(&r.false_alerts_per_day),
                ci(&r.ttd_vs_baseline),
                ci(&r.false_alerts_vs_baseline)
            ));
        }
        s
    }
}

/// For each detector (registry names; `static_threshold` is the Prometheus-rule baseline and is
/// always included first) and each seed, runs `scenario` with no agent, feeds every entity's
/// telemetry to cold per-(entity, metric) detectors and measures time to detect and false alerts
/// per day. Deterministic for given seeds, whatever the thread count (runs are collected in seed
/// order).
pub fn detection_study(
    scenario: &Scenario,
    detectors: &[String],
    seeds: &[u64],
) -> Result<DetectionReport, DetectionError> {
    if seeds.is_empty() {
        return Err(DetectionError::NoSeeds);
    }
    let mut names = vec![BASELINE.to_owned()];
    names.extend(detectors.iter().filter(|d| *d != BASELINE).cloned());
    let rule_sets = names
        .iter()
        .map(|n| RuleSet::for_detector(n))
        .collect::<Result<Vec<_>, _>>()?;
    let config = AccountingConfig::default();
    // outcomes[seed][detector]
    let outcomes = seeds
        .par_iter()
        .map(|&seed| {
            let run = simulate(scenario, seed);
            rule_sets
                .iter()
                .map(|rules| {
                    detect_on_run(&run, rules, config).map(|o| SeedOutcome {
                        seed,
                        faults: o.delays.len(),
                        mean_ttd_seconds: o.mean_ttd(),
                        detection_rate: o.detection_rate(),
                        false_alerts_per_day: o.false_alerts_per_day(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let column = |d: usize, f: fn(&SeedOutcome) -> f64| -> Vec<f64> {
        outcomes.iter().map(|per| f(&per[d])).collect()
    };
    let ttd = |o: &SeedOutcome| o.mean_ttd_seconds;
    let fa = |o: &SeedOutcome| o.false_alerts_per_day;
    let rows = names
        .iter()
        .enumerate()
        .map(|(d, name)| DetectorRow {
            detector: name.clone(),
            per_seed: outcomes.iter().map(|per| per[d].clone()).collect(),
            ttd_seconds: estimate(&column(d, ttd)),
            detection_rate: estimate(&column(d, |o| o.detection_rate)),
            false_alerts_per_day: estimate(&column(d, fa)),
            ttd_vs_baseline: paired_difference(&column(d, ttd), &column(0, ttd)),
            false_alerts_vs_baseline: paired_difference(&column(d, fa), &column(0, fa)),
        })
        .collect();
    Ok(DetectionReport {
        scenario: scenario.name().to_owned(),
        seeds: seeds.to_vec(),
        baseline: BASELINE.to_owned(),
        accounting: config,
        rows,
    })
}
