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

mod breakdown;
mod budget;
mod precursors;
#[cfg(test)]
mod tests;
mod tuned;
pub use breakdown::{MetricFalseAlerts, false_alerts_by_metric};
pub use budget::{
    BUDGET_FOR_SECONDS, BUDGET_Z, BudgetReport, BudgetStudy, ChosenSetting, HeldOutScenario,
    TunedFamily, budget_grid, budget_study,
};
pub use precursors::{
    TREND_COLUMNS, TREND_INPUTS, ols_slope, push_trends, trend_bounds, trend_column_indices,
};
pub use tuned::{
    Candidate, HeldOutRow, TTD_CAP_SECONDS, TrainingRow, TunedDetectionReport, capped_ttd,
    default_grid, hybrid_rules, metric_floor, tuned_detection_study,
};

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
    /// A seed is both a training and a held-out seed.
    #[error(
        "detection study: seed {seed} is in both `train_seeds` and `test_seeds`: expected disjoint sets"
    )]
    OverlappingSeeds {
        /// The seed in both sets.
        seed: u64,
    },
    /// The false-alert budget ratio is negative or not a number.
    #[error(
        "detection study: field `budget_ratio` = {ratio}: expected a finite number >= 0 (1 = the static rules' false alerts per day)"
    )]
    InvalidBudget {
        /// The ratio given.
        ratio: f64,
    },
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
    /// For each service, the region hosting most of its initial replicas.
    pub service_region: Vec<String>,
}

fn kind_of(k: SimKind) -> EntityKind {
    match k {
        SimKind::Service => EntityKind::Service,
        SimKind::Node => EntityKind::Node,
        SimKind::Replica => EntityKind::Replica,
    }
}

/// Brings `snapshot` up to the simulator's current telemetry: replicas that are gone are removed,
/// every sample is set by name (the same path live Prometheus samples take).
pub(crate) fn scrape_into(snapshot: &mut Snapshot, sim: &Simulation) {
    let telemetry = sim.telemetry();
    let topology = sim.topology();
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
}

/// Fault windows (onset to end or horizon; the services, nodes and replicas affected) and incident
/// windows (the service and its replicas: their symptoms are about a real SLO violation) of a run,
/// from ground truth.
pub(crate) fn truth_windows(sim: &Simulation) -> (Vec<Window>, Vec<Window>) {
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
        scrape_into(&mut current, &sim);
        t += scrape;
        let time = sim.telemetry().time.as_secs_f64();
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
    let (faults, incidents) = truth_windows(&sim);
    let topology = sim.topology();
    let end_of_run = horizon.as_secs_f64();
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
    let service_region = (0..topology.services.len())
        .map(|s| {
            let mut counts = vec![0usize; topology.regions.len()];
            for rep in topology.replicas.iter().filter(|r| r.service.index() == s) {
                counts[topology.nodes[rep.node.index()].region.index()] += 1;
            }
            let best = (0..counts.len())
                .max_by_key(|&p| (counts[p], std::cmp::Reverse(p)))
                .unwrap_or(0);
            topology
                .regions
                .get(best)
                .map_or_else(String::new, |r| r.name.clone())
        })
        .collect();
    SimulatedRun {
        seed,
        service_region,
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

// ---------------------------------------------------------------------------------------------
// Failure-prediction data and study (issue 5, item 5)
// ---------------------------------------------------------------------------------------------

/// How prediction samples are cut from runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PredictionConfig {
    /// Scrapes per window (the model sees `window` consecutive feature rows of one service).
    pub window: usize,
    /// A sample is positive when an incident on its service starts within this many seconds.
    pub horizon_seconds: f64,
    /// One sample every `stride` scrapes.
    pub stride: usize,
    /// Hidden units of the MLP.
    pub hidden: usize,
    /// Scrapes over which precursor trends (delta and least-squares slope of memory, latency,
    /// error ratio and CPU, see `precursors`) are appended to each sample; 0: none.
    pub trend_window: usize,
    /// Upper input bound of the `log1p` columns (request rate, latency, replicas, lag), tighter
    /// than the schema's `ln(1 + LOG1P_MAX_RAW)` ≈ 13.8 (`mend_monitor::features`); 0 keeps the
    /// schema's. (Before the schema had finite bounds, this was what made those columns visible.)
    pub log1p_cap: f32,
}

impl Default for PredictionConfig {
    fn default() -> Self {
        PredictionConfig {
            window: 8,
            horizon_seconds: 600.0,
            stride: 2,
            hidden: 32,
            trend_window: 0,
            log1p_cap: 0.0,
        }
    }
}

impl PredictionConfig {
    /// The same cut with precursor trends over 40 scrapes (10 min at 15 s) and `log1p` columns
    /// capped at 12 (`ln(1 + 1.6e5)`: above any request rate, latency or lag of the scenarios).
    pub fn with_precursors(self) -> Self {
        PredictionConfig {
            trend_window: 40,
            log1p_cap: 12.0,
            ..self
        }
    }
}

/// Where a prediction sample comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleOrigin {
    /// Seed of the run.
    pub seed: u64,
    /// Service index.
    pub service: usize,
    /// Provider hosting most of the service's replicas.
    pub provider: String,
    /// Region hosting most of the service's replicas (the federated client).
    pub region: String,
    /// Time of the window's last scrape, seconds.
    pub time: f64,
}

/// Labelled windows cut from simulated runs. Samples taken while their service is already in
/// an incident are left out: there is nothing left to predict.
#[derive(Debug, Clone, Default)]
pub struct PredictionData {
    /// Input width (`window x feature row width`).
    pub input: usize,
    /// `n x input` raw features.
    pub inputs: Vec<f32>,
    /// 1 when an incident on the service starts within the horizon, else 0.
    pub labels: Vec<f32>,
    /// One per sample.
    pub origins: Vec<SampleOrigin>,
    /// `(seed, service, start)` of every incident in the runs.
    pub incidents: Vec<(u64, usize, f64)>,
    /// Per input, the feature schema's bounds (repeated per window step).
    pub bounds: Vec<(f32, f32)>,
}

impl PredictionData {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// No samples?
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The samples whose index satisfies `keep`, as a new data set (incidents kept whole).
    pub fn subset(&self, keep: impl Fn(&SampleOrigin) -> bool) -> PredictionData {
        let mut out = PredictionData {
            input: self.input,
            incidents: self.incidents.clone(),
            bounds: self.bounds.clone(),
            ..Default::default()
        };
        for (k, o) in self.origins.iter().enumerate() {
            if keep(o) {
                out.inputs
                    .extend_from_slice(&self.inputs[k * self.input..(k + 1) * self.input]);
                out.labels.push(self.labels[k]);
                out.origins.push(o.clone());
            }
        }
        out
    }
}

/// `(start, end)` seconds of each SLO incident of `run`, per service (in `run.services` order):
/// what prediction labels are cut from.
pub fn service_incidents(run: &SimulatedRun) -> Vec<Vec<(f64, f64)>> {
    (0..run.services.len())
        .map(|s| {
            let name = EntityRef::new(EntityKind::Service, &run.services[s]);
            run.incidents
                .iter()
                .filter(|w| w.entities.first() == Some(&name))
                .map(|w| (w.start, w.end))
                .collect()
        })
        .collect()
}

/// Cuts labelled windows of every service's feature rows (schema v1) from `runs`, followed by
/// the precursor trends when `config.trend_window > 0`.
pub fn prediction_data(runs: &[SimulatedRun], config: &PredictionConfig) -> PredictionData {
    use mend_monitor::features::FeatureExtractor;
    let extractor = FeatureExtractor::builtin();
    let width = extractor.schema().width();
    let window = config.window.max(1);
    let row_bounds: Vec<(f32, f32)> = extractor
        .schema()
        .row_bounds()
        .into_iter()
        .map(|(lo, hi)| {
            let log1p_bound = mend_monitor::features::Transform::Log1p.bounds().1;
            if config.log1p_cap > 0.0 && hi == log1p_bound {
                (lo, config.log1p_cap)
            } else {
                (lo, hi)
            }
        })
        .collect();
    let trend_columns = precursors::trend_column_indices(extractor.schema());
    let trends = config.trend_window;
    let mut bounds = row_bounds.repeat(window);
    if trends > 0 {
        bounds.extend(precursors::trend_bounds());
    }
    let mut data = PredictionData {
        input: bounds.len(),
        bounds,
        ..Default::default()
    };
    let first = window.max(trends).max(1) - 1;
    for run in runs {
        // rows[scrape][service] = feature row (empty when the service has no row).
        let rows: Vec<Vec<Vec<f32>>> = run
            .snapshots
            .iter()
            .map(|s| {
                let f = extractor.extract(s);
                run.services
                    .iter()
                    .map(|name| {
                        f.entities
                            .iter()
                            .position(|e| e.kind == EntityKind::Service && &e.name == name)
                            .map_or_else(|| vec![0.0; width], |i| f.row(i).to_vec())
                    })
                    .collect()
            })
            .collect();
        let starts = service_incidents(run);
        for (s, st) in starts.iter().enumerate() {
            data.incidents
                .extend(st.iter().map(|&(start, _)| (run.seed, s, start)));
        }
        for k in (first..rows.len()).step_by(config.stride.max(1)) {
            let t = run.snapshots[k].timestamp;
            for (s, st) in starts.iter().enumerate() {
                if st.iter().any(|&(a, b)| a <= t && t < b) {
                    continue;
                }
                let positive = st
                    .iter()
                    .any(|&(a, _)| a > t && a <= t + config.horizon_seconds);
                for row in &rows[k + 1 - window..=k] {
                    data.inputs.extend_from_slice(&row[s]);
                }
                if trends > 0 {
                    let history: Vec<&[f32]> = rows[k + 1 - trends..=k]
                        .iter()
                        .map(|r| r[s].as_slice())
                        .collect();
                    precursors::push_trends(&history, &trend_columns, &mut data.inputs);
                }
                data.labels.push(if positive { 1.0 } else { 0.0 });
                data.origins.push(SampleOrigin {
                    seed: run.seed,
                    service: s,
                    provider: run.service_provider[s].clone(),
                    region: run.service_region[s].clone(),
                    time: t,
                });
            }
        }
    }
    data
}

/// Quality of a predictor on held-out data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionQuality {
    /// Samples and positives evaluated.
    pub samples: usize,
    /// Positive samples.
    pub positives: usize,
    /// Area under the precision-recall curve (average precision).
    pub pr_auc: f64,
    /// Precision and recall at the operating point.
    pub at_threshold: mend_monitor::predictor::PrQuality,
    /// Incidents preceded by an alarm within the horizon, of all incidents with a sample before.
    pub incidents_warned: usize,
    /// Incidents scored.
    pub incidents: usize,
    /// Lead times of the warned incidents, seconds: min, quartiles, max.
    pub lead_time_quantiles: [f64; 5],
}

/// Scores `model` on `data` at `threshold`.
pub fn evaluate_predictor(
    model: &mend_monitor::predictor::PredictorModel,
    data: &PredictionData,
    threshold: f32,
    horizon_seconds: f64,
) -> PredictionQuality {
    use mend_monitor::predictor::{average_precision, lead_times, pr_at_threshold};
    let scores: Vec<f32> = (0..data.len())
        .map(|k| model.risk(&data.inputs[k * data.input..(k + 1) * data.input]))
        .collect();
    let seeds: std::collections::BTreeSet<u64> = data.origins.iter().map(|o| o.seed).collect();
    let mut leads = Vec::new();
    let mut incidents = 0;
    for &(seed, service, start) in data.incidents.iter().filter(|i| seeds.contains(&i.0)) {
        let series: Vec<(f64, bool)> = data
            .origins
            .iter()
            .zip(&scores)
            .filter(|(o, _)| o.seed == seed && o.service == service)
            .map(|(o, &s)| (o.time, s >= threshold))
            .collect();
        // Only incidents the model had a chance to see coming.
        if !series
            .iter()
            .any(|&(t, _)| t < start && t >= start - horizon_seconds)
        {
            continue;
        }
        incidents += 1;
        leads.extend(
            lead_times(&series, &[start], horizon_seconds)
                .into_iter()
                .flatten(),
        );
    }
    leads.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if leads.is_empty() {
            f64::NAN
        } else {
            leads[((leads.len() - 1) as f64 * p).round() as usize]
        }
    };
    PredictionQuality {
        samples: data.len(),
        positives: data.labels.iter().filter(|&&y| y > 0.5).count(),
        pr_auc: average_precision(&scores, &data.labels),
        at_threshold: pr_at_threshold(&scores, &data.labels, threshold),
        incidents_warned: leads.len(),
        incidents,
        lead_time_quantiles: [q(0.0), q(0.25), q(0.5), q(0.75), q(1.0)],
    }
}

/// The operating point: the threshold (0.05 to 0.95 by 0.05) with the best F1 on `data`.
pub fn choose_threshold(
    model: &mend_monitor::predictor::PredictorModel,
    data: &PredictionData,
) -> f32 {
    let scores: Vec<f32> = (0..data.len())
        .map(|k| model.risk(&data.inputs[k * data.input..(k + 1) * data.input]))
        .collect();
    let mut best = (0.5, -1.0);
    for step in 1..20 {
        let th = step as f32 * 0.05;
        let q = mend_monitor::predictor::pr_at_threshold(&scores, &data.labels, th);
        let f1 = if q.precision + q.recall > 0.0 {
            2.0 * q.precision * q.recall / (q.precision + q.recall)
        } else {
            0.0
        };
        if f1 > best.1 {
            best = (th, f1);
        }
    }
    best.0
}

/// Result of [`prediction_study`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionReport {
    /// Sample cutting and model shape.
    pub config: PredictionConfig,
    /// Training seeds.
    pub train_seeds: Vec<u64>,
    /// Held-out seeds.
    pub test_seeds: Vec<u64>,
    /// Operating point, chosen by F1 on the training seeds.
    pub threshold: f32,
    /// Final training loss.
    pub train_loss: f32,
    /// Quality on the held-out seeds.
    pub test: PredictionQuality,
    /// The trained model.
    #[serde(skip)]
    pub model: Option<mend_monitor::predictor::PredictorModel>,
}

/// Trains the predictor on runs of `train_seeds` and evaluates it on runs of `test_seeds`.
pub fn prediction_study(
    scenario: &Scenario,
    train_seeds: &[u64],
    test_seeds: &[u64],
    config: &PredictionConfig,
    train_config: &mend_monitor::predictor::TrainConfig,
) -> Result<PredictionReport, mend_monitor::predictor::PredictorError> {
    let runs = |seeds: &[u64]| -> Vec<SimulatedRun> {
        seeds.par_iter().map(|&s| simulate(scenario, s)).collect()
    };
    fit_and_evaluate(&runs(train_seeds), &runs(test_seeds), config, train_config)
}

/// Trains on `train_runs`, picks the operating point on them, evaluates on `test_runs`.
fn fit_and_evaluate(
    train_runs: &[SimulatedRun],
    test_runs: &[SimulatedRun],
    config: &PredictionConfig,
    train_config: &mend_monitor::predictor::TrainConfig,
) -> Result<PredictionReport, mend_monitor::predictor::PredictorError> {
    use mend_monitor::predictor::{PredictorModel, PredictorSpec, train};
    let train_data = prediction_data(train_runs, config);
    let test_data = prediction_data(test_runs, config);
    let spec = PredictorSpec {
        input: train_data.input,
        hidden: config.hidden,
    };
    let mut model = PredictorModel::init(spec, train_data.bounds.clone(), train_config.seed);
    let train_loss = train(
        &mut model,
        &train_data.inputs,
        &train_data.labels,
        train_config,
    )?;
    let threshold = choose_threshold(&model, &train_data);
    let test = evaluate_predictor(&model, &test_data, threshold, config.horizon_seconds);
    let seeds = |runs: &[SimulatedRun]| runs.iter().map(|r| r.seed).collect();
    Ok(PredictionReport {
        config: *config,
        train_seeds: seeds(train_runs),
        test_seeds: seeds(test_runs),
        threshold,
        train_loss,
        test,
        model: Some(model),
    })
}

/// The predictor before and after precursor features, on the same simulated runs: `before` is
/// `base` as given; then `after` without its trends (`log1p` columns capped, say: inputs the
/// schema bounds scaled to 0 become visible); then `after` itself (e.g.
/// [`PredictionConfig::with_precursors`]). Returns `(variant name, report)` in that order.
pub fn precursor_study(
    scenario: &Scenario,
    train_seeds: &[u64],
    test_seeds: &[u64],
    base: &PredictionConfig,
    after: &PredictionConfig,
    train_config: &mend_monitor::predictor::TrainConfig,
) -> Result<Vec<(String, PredictionReport)>, mend_monitor::predictor::PredictorError> {
    let runs = |seeds: &[u64]| -> Vec<SimulatedRun> {
        seeds.par_iter().map(|&s| simulate(scenario, s)).collect()
    };
    let (train_runs, test_runs) = (runs(train_seeds), runs(test_seeds));
    let variants = [
        ("before: window rows", *base),
        (
            "log1p inputs capped",
            PredictionConfig {
                trend_window: 0,
                ..*after
            },
        ),
        ("after: capped + trends", *after),
    ];
    variants
        .iter()
        .map(|(name, config)| {
            fit_and_evaluate(&train_runs, &test_runs, config, train_config)
                .map(|r| ((*name).to_owned(), r))
        })
        .collect()
}

/// A Markdown table of [`precursor_study`]'s reports.
pub fn precursor_markdown(reports: &[(String, PredictionReport)]) -> String {
    let mut s = String::from(
        "| variant | inputs | threshold | precision | recall | PR-AUC | warned / incidents | lead time s (min, q1, median, q3, max) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (name, r) in reports {
        let q = &r.test;
        let lead: Vec<String> = q
            .lead_time_quantiles
            .iter()
            .map(|x| format!("{x:.0}"))
            .collect();
        s.push_str(&format!(
            "| {name} | {} | {:.2} | {:.3} | {:.3} | {:.3} | {} / {} | {} |\n",
            r.model.as_ref().map_or(0, |m| m.spec.input),
            r.threshold,
            q.at_threshold.precision,
            q.at_threshold.recall,
            q.pr_auc,
            q.incidents_warned,
            q.incidents,
            lead.join(", ")
        ));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Federated training of the predictor (issue 5, item 6)
// ---------------------------------------------------------------------------------------------

/// Federated study parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FederatedStudyConfig {
    /// With [`ClientSplit::Groups`]: services sorted by (provider, index) and cut into this many
    /// contiguous groups, so each client holds (mostly) one provider's services.
    pub num_clients: usize,
    /// How services are assigned to clients.
    pub split: ClientSplit,
    /// Communication rounds.
    pub rounds: usize,
    /// Local training per round (epochs are local epochs).
    pub local: mend_monitor::predictor::TrainConfig,
    /// Centralised and local-only training.
    pub central: mend_monitor::predictor::TrainConfig,
    /// Sample cutting and model shape.
    pub prediction: PredictionConfig,
    /// Factor of the scaled-update attack (negative: sign-flipped and boosted, the model
    /// replacement attack of Bagdasaryan et al., AISTATS 2020).
    pub attack_scale: f32,
}

impl Default for FederatedStudyConfig {
    fn default() -> Self {
        FederatedStudyConfig {
            num_clients: 5,
            rounds: 10,
            local: mend_monitor::predictor::TrainConfig {
                epochs: 1,
                ..Default::default()
            },
            central: mend_monitor::predictor::TrainConfig::default(),
            prediction: PredictionConfig::default(),
            attack_scale: -10.0,
            split: ClientSplit::Groups,
        }
    }
}

/// How the federated study assigns services (and so their histories) to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClientSplit {
    /// `num_clients` contiguous groups of services sorted by provider.
    Groups,
    /// One client per provider: each trains on the services it hosts (most initial replicas).
    Provider,
    /// One client per region, likewise.
    Region,
}

/// One trained predictor's held-out quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FederatedRow {
    /// `centralised`, `local-only <client>`, `federated`.
    pub setting: String,
    /// Aggregation rule (`-` when not federated).
    pub aggregator: String,
    /// `none`, `label_flip` or `scaled_update` (on client 0).
    pub poison: String,
    /// Held-out PR-AUC.
    pub pr_auc: f64,
    /// Training samples the model (or its client) saw.
    pub train_samples: usize,
}

/// Result of [`federated_study`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FederatedReport {
    /// Parameters.
    pub config: FederatedStudyConfig,
    /// Client names (providers of their services) and sample counts.
    pub clients: Vec<(String, usize)>,
    /// Bytes per round (global model down to every client, every update up).
    pub bytes_per_round: usize,
    /// Every setting's quality on the held-out seeds.
    pub rows: Vec<FederatedRow>,
}

impl FederatedReport {
    /// A Markdown table.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "Federated predictor: {} clients {:?}, {} rounds, {} bytes/round\n\n| setting | aggregator | poison | PR-AUC | train samples |\n|---|---|---|---|---|\n",
            self.clients.len(),
            self.clients,
            self.config.rounds,
            self.bytes_per_round
        );
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {:.3} | {} |\n",
                r.setting, r.aggregator, r.poison, r.pr_auc, r.train_samples
            ));
        }
        s
    }
}

impl FederatedReport {
    /// A text bar chart of held-out PR-AUC per setting without poisoning (the figure of the
    /// centralised / federated / local-only comparison), one bar of up to 50 characters each.
    pub fn bar_chart(&self) -> String {
        let mut s = String::from("held-out PR-AUC (no poisoning)\n");
        for r in self.rows.iter().filter(|r| r.poison == "none") {
            let label = if r.aggregator == "-" {
                r.setting.clone()
            } else {
                format!("{} {}", r.setting, r.aggregator)
            };
            let bar = if r.pr_auc.is_finite() {
                "#".repeat((r.pr_auc.clamp(0.0, 1.0) * 50.0).round() as usize)
            } else {
                String::new()
            };
            s.push_str(&format!("{label:<34} {bar} {:.3}\n", r.pr_auc));
        }
        s
    }
}

/// Centralised vs federated (FedAvg, median, trimmed mean) vs local-only training of the
/// predictor on `train_seeds`, and the same federated runs with client 0 poisoned (label
/// flipping, scaled updates); quality is PR-AUC on `test_seeds`. Deterministic for its inputs.
pub fn federated_study(
    scenario: &Scenario,
    train_seeds: &[u64],
    test_seeds: &[u64],
    config: &FederatedStudyConfig,
) -> Result<FederatedReport, mend_monitor::predictor::PredictorError> {
    use mend_monitor::federated::{
        Aggregator, Behaviour, Client, FederatedConfig, federated_train,
    };
    use mend_monitor::predictor::{PredictorModel, PredictorSpec, average_precision, train};
    let runs = |seeds: &[u64]| -> Vec<SimulatedRun> {
        seeds.par_iter().map(|&s| simulate(scenario, s)).collect()
    };
    let train_runs = runs(train_seeds);
    let train_data = prediction_data(&train_runs, &config.prediction);
    let test_data = prediction_data(&runs(test_seeds), &config.prediction);
    // Client of each service: services sorted by (provider, index), cut into contiguous groups.
    let (services, providers) = train_runs
        .first()
        .map(|r| (r.services.len(), r.service_provider.clone()))
        .unwrap_or_default();
    let regions = train_runs
        .first()
        .map(|r| r.service_region.clone())
        .unwrap_or_default();
    let mut client_of = vec![0usize; services];
    let k = match config.split {
        ClientSplit::Groups => {
            let mut order: Vec<usize> = (0..services).collect();
            order.sort_by(|&a, &b| providers[a].cmp(&providers[b]).then(a.cmp(&b)));
            let k = config.num_clients.clamp(1, services.max(1));
            for (pos, &s) in order.iter().enumerate() {
                client_of[s] = pos * k / services.max(1);
            }
            k
        }
        ClientSplit::Provider | ClientSplit::Region => {
            let key = if config.split == ClientSplit::Provider {
                &providers
            } else {
                &regions
            };
            // Clients in name order (a BTreeSet), services to their provider's or region's.
            let names: Vec<&String> = key
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            for (s, c) in client_of.iter_mut().enumerate() {
                *c = names.iter().position(|n| **n == key[s]).unwrap_or(0);
            }
            names.len().max(1)
        }
    };
    let parts: Vec<PredictionData> = (0..k)
        .map(|c| train_data.subset(|o| client_of[o.service] == c))
        .collect();
    let client_names: Vec<String> = (0..k)
        .map(|c| {
            let label = if config.split == ClientSplit::Region {
                &regions
            } else {
                &providers
            };
            let mut p: Vec<&str> = (0..services)
                .filter(|&s| client_of[s] == c)
                .map(|s| label[s].as_str())
                .collect();
            p.sort_unstable();
            p.dedup();
            format!("c{c}:{}", p.join("+"))
        })
        .collect();
    let make_clients = |poison: Option<Behaviour>| -> Vec<Client> {
        parts
            .iter()
            .enumerate()
            .map(|(c, d)| {
                let behaviour = match (c, poison) {
                    (0, Some(b)) => b,
                    _ => Behaviour::Honest,
                };
                Client::new(
                    client_names[c].clone(),
                    d.inputs.clone(),
                    d.labels.clone(),
                    behaviour,
                )
            })
            .collect()
    };
    let spec = PredictorSpec {
        input: train_data.input,
        hidden: config.prediction.hidden,
    };
    let initial = PredictorModel::init(spec, train_data.bounds.clone(), config.central.seed);
    let pr_auc = |m: &PredictorModel| {
        let scores: Vec<f32> = (0..test_data.len())
            .map(|i| m.risk(&test_data.inputs[i * test_data.input..(i + 1) * test_data.input]))
            .collect();
        average_precision(&scores, &test_data.labels)
    };
    let mut rows = Vec::new();
    let mut central = initial.clone();
    train(
        &mut central,
        &train_data.inputs,
        &train_data.labels,
        &config.central,
    )?;
    rows.push(FederatedRow {
        setting: "centralised".into(),
        aggregator: "-".into(),
        poison: "none".into(),
        pr_auc: pr_auc(&central),
        train_samples: train_data.len(),
    });
    let honest = make_clients(None);
    for client in &honest {
        let mut local = initial.clone();
        client.train_local_only(&mut local, &config.central)?;
        rows.push(FederatedRow {
            setting: format!("local-only {}", client.name),
            aggregator: "-".into(),
            poison: "none".into(),
            pr_auc: pr_auc(&local),
            train_samples: client.sample_count(),
        });
    }
    let aggregators = [
        ("fedavg", Aggregator::FedAvg),
        ("median", Aggregator::Median),
        ("trimmed_mean(1)", Aggregator::TrimmedMean { trim: 1 }),
    ];
    let poisons = [
        ("none", None),
        ("label_flip", Some(Behaviour::LabelFlip)),
        (
            "scaled_update",
            Some(Behaviour::ScaledUpdate(config.attack_scale)),
        ),
    ];
    let mut bytes_per_round = 0;
    for (poison_name, poison) in poisons {
        let clients = make_clients(poison);
        for (agg_name, aggregator) in aggregators {
            let fed = federated_train(
                &clients,
                initial.clone(),
                &FederatedConfig {
                    rounds: config.rounds,
                    local: config.local,
                    aggregator,
                },
            )?;
            bytes_per_round = fed.bytes_per_round;
            rows.push(FederatedRow {
                setting: "federated".into(),
                aggregator: agg_name.into(),
                poison: poison_name.into(),
                pr_auc: pr_auc(&fed.model),
                train_samples: train_data.len(),
            });
        }
    }
    Ok(FederatedReport {
        config: *config,
        clients: client_names
            .into_iter()
            .zip(parts.iter().map(PredictionData::len))
            .collect(),
        bytes_per_round,
        rows,
    })
}
