//! Budgeted tuning of the framework's adaptive detector (`mend detect sim --study tune`): a small
//! grid of a z-score family's settings is searched on the *training* scenario and seeds; settings
//! whose false alerts per day stay within a budget (by default the static rules' own rate on the
//! same runs) are admissible, and the admissible one with the lowest mean capped TTD is chosen
//! (the selection rule of [`super::tuned`], fixed before looking at results). The choices are
//! then measured against the static rules on *held-out scenarios* (other sizes and fault mixes),
//! paired over seeds.
//!
//! ```text
//!  training scenario × train seeds ─► static rules ─► budget = ratio × false/day
//!                                   └► budget_grid(families) ─► (capped TTD, false/day) ─► choice per family
//!  each held-out scenario × test seeds ─► static rules + choices ─► paired rows (crate::stats)
//! ```
//! Runs have no agent acting (the faults run their course), as in every `detect sim` study; an
//! experiment's runner watches episodes in which an agent repairs, so its absolute false-alert
//! counts differ, but the same rules run there (the chosen spec goes into the experiment file).

use mend_monitor::alerting::{RuleSet, TunedDetector};
use mend_sim::Scenario;
use serde::Serialize;

use super::breakdown::{MetricFalseAlerts, false_alerts_by_metric};

use super::tuned::{
    Candidate, HeldOutRow, TTD_CAP_SECONDS, TrainingRow, choose_per_family, held_out_row, mean_of,
    measure, simulate_all, training_rows,
};
use super::{BASELINE, DetectionError};

/// Thresholds of [`budget_grid`]: round numbers from the 4-sigma default up to z = 32, far past
/// any Gaussian tail, because the simulated metrics are far from Gaussian (on `default`, two
/// training seeds, median/MAD at z = 16 held 300 s still raised 1.6x the static rules' false
/// alerts).
pub const BUDGET_Z: [f64; 6] = [4.0, 8.0, 12.0, 16.0, 24.0, 32.0];

/// `for` durations of [`budget_grid`], seconds: none, then the baseline rules' own `for` values
/// (1, 2 and 5 minutes; samber/awesome-prometheus-alerts).
pub const BUDGET_FOR_SECONDS: [f64; 4] = [0.0, 60.0, 120.0, 300.0];

/// The tuning grid: every family of `families` at every [`BUDGET_Z`] × [`BUDGET_FOR_SECONDS`]
/// (24 settings per family), in family, then `for`, then `z` order.
pub fn budget_grid(families: &[TunedFamily]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for family in families {
        for for_seconds in BUDGET_FOR_SECONDS {
            for z in BUDGET_Z {
                out.push(Candidate::tuned(family.name(), z, for_seconds));
            }
        }
    }
    out
}

/// A z-score family the tuning can search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TunedFamily {
    /// Exponentially weighted mean and variance.
    Ewma,
    /// Rolling median and MAD.
    MedianMad,
    /// Holt-Winters residuals.
    HoltWinters,
}

impl TunedFamily {
    /// The registry name.
    pub fn name(self) -> &'static str {
        match self {
            TunedFamily::Ewma => "ewma",
            TunedFamily::MedianMad => "median_mad",
            TunedFamily::HoltWinters => "holt_winters",
        }
    }
}

/// What to tune and where to measure it.
#[derive(Debug, Clone)]
pub struct BudgetStudy<'a> {
    /// Scenario the settings are chosen on.
    pub train_scenario: &'a Scenario,
    /// Seeds the settings are chosen on.
    pub train_seeds: Vec<u64>,
    /// Held-out scenarios the choices are measured on (none: tuning only).
    pub eval_scenarios: Vec<&'a Scenario>,
    /// Seeds of the held-out measurement (any; different scenarios make them held out).
    pub eval_seeds: Vec<u64>,
    /// Settings searched (e.g. [`budget_grid`]); one is chosen per family.
    pub grid: Vec<Candidate>,
    /// The budget as a multiple of the static rules' false alerts per day on the training runs
    /// (1.0: no more false alerts than the static rules).
    pub budget_ratio: f64,
}

/// The setting chosen for one family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChosenSetting {
    /// Family.
    pub family: String,
    /// The spec (`median_mad(z=8, for_s=120)`), as the runner and `--detector` take it.
    pub spec: String,
    /// The same as an experiment file's inline table.
    pub toml: String,
    /// Whether it is within the budget on the training runs (false: no setting of the family
    /// was, and this one has the fewest false alerts).
    pub within_budget: bool,
}

/// One held-out scenario: the static rules first, then each chosen setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOutScenario {
    /// Scenario name.
    pub scenario: String,
    /// Rows, paired with the static rules over the same seeds.
    pub rows: Vec<HeldOutRow>,
    /// Per row, each watched metric's false alerts alone ([`false_alerts_by_metric`]).
    pub by_metric: Vec<Vec<MetricFalseAlerts>>,
}

/// Result of [`budget_study`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetReport {
    /// Training scenario name.
    pub train_scenario: String,
    /// Training seeds.
    pub train_seeds: Vec<u64>,
    /// Held-out seeds.
    pub eval_seeds: Vec<u64>,
    /// Budget ratio asked for.
    pub budget_ratio: f64,
    /// The static rules' mean false alerts per day on the training runs.
    pub baseline_false_alerts_per_day: f64,
    /// The static rules' mean capped TTD on the training runs, seconds.
    pub baseline_capped_ttd_seconds: f64,
    /// The budget: `budget_ratio` × the baseline's false alerts per day.
    pub budget_per_day: f64,
    /// Every setting tried, in grid order.
    pub training: Vec<TrainingRow>,
    /// The choice per family.
    pub chosen: Vec<ChosenSetting>,
    /// Per held-out scenario.
    pub held_out: Vec<HeldOutScenario>,
}

impl BudgetReport {
    /// Markdown: the choices, the held-out tables, then the training grid.
    pub fn to_markdown(&self) -> String {
        let ci =
            |e: &crate::stats::Estimate| format!("{:.1} [{:.1}, {:.1}]", e.mean, e.low(), e.high());
        let mut s = format!(
            "Budgeted tuning on `{}` ({} training seeds): budget {:.1} false alerts/day = {} x the \
             static rules' {:.1} (their capped TTD {:.1} s); choice = lowest mean capped TTD (a miss \
             counts {TTD_CAP_SECONDS} s) within the budget\n\n| family | chosen | experiment file | \
             within budget |\n|---|---|---|---|\n",
            self.train_scenario,
            self.train_seeds.len(),
            self.budget_per_day,
            self.budget_ratio,
            self.baseline_false_alerts_per_day,
            self.baseline_capped_ttd_seconds,
        );
        for c in &self.chosen {
            s.push_str(&format!(
                "| {} | `{}` | `detector = {}` | {} |\n",
                c.family, c.spec, c.toml, c.within_budget
            ));
        }
        for h in &self.held_out {
            s.push_str(&format!(
                "\nHeld-out `{}` ({} seeds, paired with the static rules)\n\n| detector | setting | \
                 capped TTD s | TTD s (detected) | detected | false alerts/day | Δcapped TTD s | \
                 Δfalse/day |\n|---|---|---|---|---|---|---|---|\n",
                h.scenario,
                self.eval_seeds.len()
            ));
            for r in &h.rows {
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
            s.push_str("\nLargest false-alert sources (each metric's rule alone, per day)\n\n");
            for (r, metrics) in h.rows.iter().zip(&h.by_metric) {
                let mut top: Vec<&MetricFalseAlerts> = metrics.iter().collect();
                top.sort_by(|a, b| b.false_alerts_per_day.total_cmp(&a.false_alerts_per_day));
                let listed: Vec<String> = top
                    .iter()
                    .take(3)
                    .map(|m| format!("{} {:.1}", m.metric, m.false_alerts_per_day))
                    .collect();
                s.push_str(&format!("- {}: {}\n", r.setting, listed.join(", ")));
            }
        }
        s.push_str(
            "\nTraining grid\n\n| family | setting | capped TTD s | false/day | within budget | \
             chosen |\n|---|---|---|---|---|---|\n",
        );
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

/// Runs the budgeted tuning and the held-out measurement (see the module docs). Deterministic
/// whatever the thread count.
pub fn budget_study(study: &BudgetStudy<'_>) -> Result<BudgetReport, DetectionError> {
    if study.train_seeds.is_empty()
        || (!study.eval_scenarios.is_empty() && study.eval_seeds.is_empty())
    {
        return Err(DetectionError::NoSeeds);
    }
    if !(study.budget_ratio.is_finite() && study.budget_ratio >= 0.0) {
        return Err(DetectionError::InvalidBudget {
            ratio: study.budget_ratio,
        });
    }
    let grid = &study.grid;
    let baseline = RuleSet::static_baseline();
    let train = simulate_all(study.train_scenario, &study.train_seeds);
    let base_train = measure(&train, &baseline)?;
    let baseline_false = mean_of(&base_train, 3);
    let budget = study.budget_ratio * baseline_false;
    let mut training = training_rows(&train, grid, budget)?;
    let picks = choose_per_family(grid, &mut training);
    // Held out, each choice runs its candidate's own rules (its spec's, plus any change made to
    // the candidate such as `Candidate::with_replica_cpu_gate`).
    let chosen_specs: Vec<(usize, TunedDetector)> = picks
        .iter()
        .filter_map(|&i| grid[i].spec.clone().map(|s| (i, s)))
        .collect();
    let chosen = chosen_specs
        .iter()
        .map(|(i, spec)| ChosenSetting {
            family: spec.family.to_owned(),
            spec: spec.to_string(),
            toml: spec.toml_inline(),
            within_budget: training[*i].admissible,
        })
        .collect();

    let mut held_out = Vec::with_capacity(study.eval_scenarios.len());
    for scenario in &study.eval_scenarios {
        let runs = simulate_all(scenario, &study.eval_seeds);
        let base = measure(&runs, &baseline)?;
        let mut rows = vec![held_out_row(
            BASELINE,
            "Prometheus-style rules",
            &base,
            &base,
        )];
        let mut by_metric = vec![false_alerts_by_metric(&runs, &baseline)?];
        for (i, spec) in &chosen_specs {
            let rules = &grid[*i].rules;
            let m = measure(&runs, rules)?;
            let setting = match grid[*i].setting.split_once(" gate=") {
                Some((_, level)) => format!("{spec} gate={level}"),
                None => spec.to_string(),
            };
            rows.push(held_out_row(spec.family, &setting, &m, &base));
            by_metric.push(false_alerts_by_metric(&runs, rules)?);
        }
        held_out.push(HeldOutScenario {
            scenario: scenario.name().to_owned(),
            rows,
            by_metric,
        });
    }
    Ok(BudgetReport {
        train_scenario: study.train_scenario.name().to_owned(),
        train_seeds: study.train_seeds.clone(),
        eval_seeds: study.eval_seeds.clone(),
        budget_ratio: study.budget_ratio,
        baseline_false_alerts_per_day: baseline_false,
        baseline_capped_ttd_seconds: mean_of(&base_train, 0),
        budget_per_day: budget,
        training,
        chosen,
        held_out,
    })
}
