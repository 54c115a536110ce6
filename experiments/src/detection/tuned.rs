//! Detection on simulated faults with tuned adaptive detectors (issue 5, item 2): each adaptive
//! detector family is tuned on *training* seeds (a small grid of a priori settings, chosen by a
//! rule fixed in advance), then every family's chosen setting and the static-threshold baseline
//! are measured on *held-out* seeds, paired, with 95 % confidence intervals.
//!
//! Selection rule (fixed before looking at results): a setting is admissible when its training
//! false alerts per day do not exceed the baseline's; among admissible settings the lowest
//! capped TTD wins (a missed fault counts as [`TTD_CAP_SECONDS`], so a detector cannot look fast
//! by detecting only the easy faults); with no admissible setting, the fewest false alerts win.
//!
//! ```text
//!  train seeds ─ simulate ─► every candidate RuleSet ─► (capped TTD, false/day) ─► choice per family
//!  test seeds  ─ simulate ─► baseline + choices ─► paired differences (crate::stats) ─► report
//! ```

use mend_monitor::alerting::{
    AccountingConfig, AlertSpecError, DetectionOutcome, RuleSet, TunedDetector, gate_replica_cpu,
};
pub use mend_monitor::alerting::{hybrid_rules, metric_floor};
use mend_monitor::detectors::{
    AutoencoderConfig, DetectorConfig, Direction, MetricDirections, ShiftConfig,
};
use mend_sim::Scenario;
use rayon::prelude::*;
use serde::Serialize;

use super::{BASELINE, DetectionError, SimulatedRun, detect_on_run, simulate};
use crate::stats::{Estimate, estimate, paired_difference};

/// A missed fault counts as this many seconds in the capped TTD (15 min: past it, an operator
/// has usually heard from users).
pub const TTD_CAP_SECONDS: f64 = 900.0;

/// One setting of one detector family, tried on the training seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The family (`ewma`, `median_mad`, ...): one setting per family is chosen.
    pub family: String,
    /// A short description of the setting (`z=8`).
    pub setting: String,
    /// The rules it runs (the same metrics as the baseline).
    pub rules: RuleSet,
    /// The parametrised spec, for the z-score families (what an experiment file's `detector`
    /// takes); `None` for settings only this study builds (autoencoder, shift).
    pub spec: Option<TunedDetector>,
}

impl Candidate {
    /// A z-score family's setting (`family` one of
    /// [`TUNABLE_FAMILIES`](mend_monitor::alerting::TUNABLE_FAMILIES)); panics on a family or
    /// value [`TunedDetector::new`] rejects, so only for a priori grids written in code.
    pub fn tuned(family: &str, z: f64, for_seconds: f64) -> Candidate {
        let spec = TunedDetector::new(family, z, for_seconds)
            .unwrap_or_else(|e| panic!("grid setting in code: {e}"));
        Candidate {
            family: spec.family.to_owned(),
            setting: format!("z={z} for={for_seconds}s"),
            rules: spec.rules(),
            spec: Some(spec),
        }
    }

    /// The setting a parametrised spec names (`ewma(z=4, for_s=120, dir=auto)`), its rules the
    /// spec's own; `None` for a plain registry name.
    pub fn from_spec(text: &str) -> Result<Option<Candidate>, AlertSpecError> {
        Ok(TunedDetector::parse(text)?.map(|spec| Candidate {
            family: spec.family.to_owned(),
            setting: spec.to_string(),
            rules: spec.rules(),
            spec: Some(spec),
        }))
    }

    /// The same setting with replica CPU's EWMA rule gated at `level`
    /// ([`mend_monitor::alerting::gate_replica_cpu`]); the setting's text gains ` gate=LEVEL`
    /// (as spec text: `ewma(..., gate=LEVEL)`). Its spec stays the ungated one, so the rules, not
    /// the spec, are what runs. Apply it last: [`Candidate::with_directions`] rebuilds the rules
    /// from the spec.
    pub fn with_replica_cpu_gate(self, level: f64) -> Candidate {
        Candidate {
            setting: format!("{} gate={level}", self.setting),
            rules: gate_replica_cpu(&self.rules, level),
            ..self
        }
    }

    /// The same setting with `directions` (uniform, or per metric with
    /// [`MetricDirections::Auto`]); a z-score family's setting, others are returned unchanged.
    pub fn with_directions(self, directions: MetricDirections) -> Candidate {
        let Some(spec) = self.spec.clone() else {
            return self;
        };
        let spec = spec.with_directions(directions);
        let setting = if directions == MetricDirections::default() {
            self.setting
        } else {
            format!("{} dir={}", self.setting, directions.name())
        };
        Candidate {
            setting,
            rules: spec.rules(),
            spec: Some(spec),
            ..self
        }
    }

    /// The same setting scoring only the changes in `direction` (a z-score family's setting;
    /// others are returned unchanged): `dir=up` for metrics where only a rise is a symptom.
    pub fn directed(self, direction: Direction) -> Candidate {
        self.with_directions(MetricDirections::Uniform(direction))
    }
}

/// The default grid, a priori round numbers: the z-score detectors (EWMA, median/MAD,
/// Holt-Winters) at z in {4, 6, 8, 12} and the shift detector at alert score in {0.5, 0.7, 0.9}
/// (rest 240 scrapes, an hour at 15 s), each held `for` 0, 30 or 60 s, plus the autoencoder at
/// margin 3, 6 or 12 held 60 s, on the baseline's metrics
/// with `up` kept static and per-metric floors ([`hybrid_rules`]).
pub fn default_grid() -> Vec<Candidate> {
    let mut out = Vec::new();
    for for_seconds in [0.0, 30.0, 60.0] {
        for z in [4.0, 6.0, 8.0, 12.0] {
            for family in ["ewma", "median_mad", "holt_winters"] {
                out.push(Candidate::tuned(family, z, for_seconds));
            }
        }
        // The autoencoder per metric (a window of 8 scrapes), warm-up 30 min at 15 s, reference
        // error floored at 0.5 (mean square in floors: one scrape 2 floors off, or the whole
        // window 0.7 off); held 60 s only, at three margins, to bound its cost (a network per
        // watched channel).
        if for_seconds == 60.0 {
            for margin in [3.0, 6.0, 12.0] {
                out.push(Candidate {
                    family: "autoencoder".into(),
                    setting: format!("margin={margin} for={for_seconds}s"),
                    rules: hybrid_rules(
                        |floor| {
                            DetectorConfig::Autoencoder(AutoencoderConfig {
                                margin,
                                min_error: 0.5,
                                warmup: 120,
                                train_every: 16,
                                min_std_absolute: floor,
                                ..Default::default()
                            })
                        },
                        for_seconds,
                    ),
                    spec: None,
                });
            }
        }
        for a in [0.5, 0.7, 0.9] {
            out.push(Candidate {
                family: "shift".into(),
                setting: format!("alert_score={a} for={for_seconds}s"),
                rules: hybrid_rules(
                    |_| {
                        DetectorConfig::Shift(ShiftConfig {
                            alert_score: a,
                            rest_samples: 240,
                            ..Default::default()
                        })
                    },
                    for_seconds,
                ),
                spec: None,
            });
        }
    }
    out
}

/// Mean over faults of the delay, a missed fault counting as [`TTD_CAP_SECONDS`].
pub fn capped_ttd(outcome: &DetectionOutcome) -> f64 {
    if outcome.delays.is_empty() {
        return f64::NAN;
    }
    let total: f64 = outcome
        .delays
        .iter()
        .map(|d| d.map_or(TTD_CAP_SECONDS, |s| s.min(TTD_CAP_SECONDS)))
        .sum();
    total / outcome.delays.len() as f64
}

/// One setting's training result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingRow {
    /// Family.
    pub family: String,
    /// Setting.
    pub setting: String,
    /// Mean capped TTD over the training seeds, seconds.
    pub capped_ttd_seconds: f64,
    /// Mean false alerts per day over the training seeds.
    pub false_alerts_per_day: f64,
    /// Within the false-alert budget.
    pub admissible: bool,
    /// Chosen for its family.
    pub chosen: bool,
}

/// One detector on the held-out seeds, paired with the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOutRow {
    /// Family (the baseline's is `static_threshold`).
    pub family: String,
    /// The setting chosen on the training seeds.
    pub setting: String,
    /// Capped TTD, seconds, 95 % CI over seeds.
    pub capped_ttd_seconds: Estimate,
    /// TTD over detected faults only, seconds (NaN seeds, with nothing detected, left out).
    pub ttd_detected_seconds: Estimate,
    /// Share of faults detected.
    pub detection_rate: Estimate,
    /// False alerts per day.
    pub false_alerts_per_day: Estimate,
    /// Paired capped-TTD difference (this minus baseline), seconds.
    pub capped_ttd_vs_baseline: Estimate,
    /// Paired false-alert difference (this minus baseline), per day.
    pub false_alerts_vs_baseline: Estimate,
}

/// Result of [`tuned_detection_study`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TunedDetectionReport {
    /// Scenario name.
    pub scenario: String,
    /// Seeds used for tuning.
    pub train_seeds: Vec<u64>,
    /// Held-out seeds the table is measured on.
    pub test_seeds: Vec<u64>,
    /// The baseline's mean false alerts per day on the training seeds (the budget).
    pub false_alert_budget_per_day: f64,
    /// Every setting tried, in grid order.
    pub training: Vec<TrainingRow>,
    /// The baseline first, then one row per family, on the held-out seeds.
    pub held_out: Vec<HeldOutRow>,
}

impl TunedDetectionReport {
    /// Markdown: the held-out table, then the training grid.
    pub fn to_markdown(&self) -> String {
        let ci = |e: &Estimate| format!("{:.1} [{:.1}, {:.1}]", e.mean, e.low(), e.high());
        let mut s = format!(
            "Detection on `{}`: tuned on {} training seeds, measured on {} held-out seeds (paired; \
             capped TTD counts a miss as {TTD_CAP_SECONDS} s)\n\n| detector | setting | capped TTD s | \
             TTD s (detected) | detected | false alerts/day | Δcapped TTD s | Δfalse/day |\n\
             |---|---|---|---|---|---|---|---|\n",
            self.scenario,
            self.train_seeds.len(),
            self.test_seeds.len()
        );
        for r in &self.held_out {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {:.2} | {} | {} | {} |\n",
                r.family,
                r.setting,
                ci(&r.capped_ttd_seconds),
                ci(&r.ttd_detected_seconds),
                r.detection_rate.mean,
                ci(&r.false_alerts_per_day),
                ci(&r.capped_ttd_vs_baseline),
                ci(&r.false_alerts_vs_baseline)
            ));
        }
        s.push_str(&format!(
            "\nTraining grid (budget: {:.1} false alerts/day, the baseline's)\n\n| family | setting | capped TTD s | false/day | admissible | chosen |\n|---|---|---|---|---|---|\n",
            self.false_alert_budget_per_day
        ));
        for r in &self.training {
            s.push_str(&format!(
                "| {} | {} | {:.1} | {:.1} | {} | {} |\n",
                r.family,
                r.setting,
                r.capped_ttd_seconds,
                r.false_alerts_per_day,
                r.admissible,
                if r.chosen { "yes" } else { "" }
            ));
        }
        s
    }
}

/// The runs of `scenario` for each seed (in parallel, in seed order).
pub(super) fn simulate_all(scenario: &Scenario, seeds: &[u64]) -> Vec<SimulatedRun> {
    seeds.par_iter().map(|&s| simulate(scenario, s)).collect()
}

/// Each candidate's training row on `train`: mean capped TTD and false alerts per day, admissible
/// when its false alerts stay within `budget` (not yet chosen).
pub(super) fn training_rows(
    train: &[SimulatedRun],
    grid: &[Candidate],
    budget: f64,
) -> Result<Vec<TrainingRow>, mend_monitor::detectors::DetectorError> {
    grid.iter()
        .map(|c| {
            let m = measure(train, &c.rules)?;
            let fa = mean_of(&m, 3);
            Ok(TrainingRow {
                family: c.family.clone(),
                setting: c.setting.clone(),
                capped_ttd_seconds: mean_of(&m, 0),
                false_alerts_per_day: fa,
                admissible: fa <= budget,
                chosen: false,
            })
        })
        .collect()
}

/// (capped TTD, detected-only TTD, detection rate, false/day) of `rules` on each run.
pub(super) fn measure(
    runs: &[SimulatedRun],
    rules: &RuleSet,
) -> Result<Vec<[f64; 4]>, mend_monitor::detectors::DetectorError> {
    runs.par_iter()
        .map(|run| {
            detect_on_run(run, rules, AccountingConfig::default()).map(|o| {
                [
                    capped_ttd(&o),
                    o.mean_ttd(),
                    o.detection_rate(),
                    o.false_alerts_per_day(),
                ]
            })
        })
        .collect()
}

pub(super) fn mean_of(rows: &[[f64; 4]], k: usize) -> f64 {
    let v: Vec<f64> = rows
        .iter()
        .map(|r| r[k])
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Tunes every family of `grid` on `train_seeds` and measures the choices and the static baseline
/// on `test_seeds` (see the module docs). Deterministic whatever the thread count. Training and
/// held-out seeds must not overlap.
pub fn tuned_detection_study(
    scenario: &Scenario,
    grid: &[Candidate],
    train_seeds: &[u64],
    test_seeds: &[u64],
) -> Result<TunedDetectionReport, DetectionError> {
    if train_seeds.is_empty() || test_seeds.is_empty() {
        return Err(DetectionError::NoSeeds);
    }
    if let Some(s) = train_seeds.iter().find(|s| test_seeds.contains(s)) {
        return Err(DetectionError::OverlappingSeeds { seed: *s });
    }
    let baseline = RuleSet::static_baseline();
    let train = simulate_all(scenario, train_seeds);
    let base_train = measure(&train, &baseline)?;
    let budget = mean_of(&base_train, 3);
    let mut training = training_rows(&train, grid, budget)?;
    let chosen = choose_per_family(grid, &mut training);

    let test = simulate_all(scenario, test_seeds);
    let base = measure(&test, &baseline)?;
    let mut held_out = vec![held_out_row(
        BASELINE,
        "Prometheus-style rules",
        &base,
        &base,
    )];
    for &i in &chosen {
        let m = measure(&test, &grid[i].rules)?;
        held_out.push(held_out_row(&grid[i].family, &grid[i].setting, &m, &base));
    }
    Ok(TunedDetectionReport {
        scenario: scenario.name().to_owned(),
        train_seeds: train_seeds.to_vec(),
        test_seeds: test_seeds.to_vec(),
        false_alert_budget_per_day: budget,
        training,
        held_out,
    })
}

/// Marks and returns (grid indices, families in first-appearance order) one setting per family:
/// among settings within the budget (`admissible`) the lowest capped TTD; with none admissible,
/// the fewest false alerts.
pub(super) fn choose_per_family(grid: &[Candidate], training: &mut [TrainingRow]) -> Vec<usize> {
    let mut families: Vec<&str> = Vec::new();
    for c in grid {
        if !families.contains(&c.family.as_str()) {
            families.push(&c.family);
        }
    }
    let mut chosen: Vec<usize> = Vec::new();
    for f in families {
        let key = |i: usize| {
            let r = &training[i];
            if r.admissible {
                (0, r.capped_ttd_seconds)
            } else {
                (1, r.false_alerts_per_day)
            }
        };
        let best = (0..grid.len())
            .filter(|&i| grid[i].family == f)
            .min_by(|&a, &b| {
                let (ka, kb) = (key(a), key(b));
                ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
            });
        if let Some(b) = best {
            training[b].chosen = true;
            chosen.push(b);
        }
    }
    chosen
}

/// One detector's held-out row from its per-run measures `m` and the baseline's `base` (same
/// runs, same order: the differences are paired).
pub(super) fn held_out_row(
    family: &str,
    setting: &str,
    m: &[[f64; 4]],
    base: &[[f64; 4]],
) -> HeldOutRow {
    let column = |m: &[[f64; 4]], k: usize| -> Vec<f64> { m.iter().map(|r| r[k]).collect() };
    let detected: Vec<f64> = column(m, 1).into_iter().filter(|x| x.is_finite()).collect();
    HeldOutRow {
        family: family.to_owned(),
        setting: setting.to_owned(),
        capped_ttd_seconds: estimate(&column(m, 0)),
        ttd_detected_seconds: estimate(&detected),
        detection_rate: estimate(&column(m, 2)),
        false_alerts_per_day: estimate(&column(m, 3)),
        capped_ttd_vs_baseline: paired_difference(&column(m, 0), &column(base, 0)),
        false_alerts_vs_baseline: paired_difference(&column(m, 3), &column(base, 3)),
    }
}
