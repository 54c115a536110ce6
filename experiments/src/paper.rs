//! The paper table (`mend report DIR --paper`, `paper.md` in a run folder): per held-out scenario,
//! the framework arm against the baseline arm on the seed paper's four claims (BRIEF §9: 40 %
//! shorter detection, 30 % shorter recovery, 25 % fewer failures, 99.99 % uptime), each as a relative
//! change with its 95 % interval over paired evaluation episodes, beside the claim, with a verdict
//! that says whether the interval supports it.
//!
//! ```text
//!   episodes.csv ─▶ units per (scenario, seed, episode) ─▶ pairs (framework, baseline)
//!                   (learned agents: mean over training seeds)      │
//!                                     ratio of means + delta-method interval ─▶ verdict ─▶ markdown
//! ```
//!
//! The relative change of a lower-is-better metric is `mean(framework) / mean(baseline) - 1` over
//! the pairs where both values exist; its interval is the ratio estimator's (delta method: the
//! residuals `f_i - R b_i` have variance `Var(R) n mean(b)^2`; W. G. Cochran, *Sampling Techniques*,
//! 3rd ed., 1977, §6.4), with Student's t on `n - 1` degrees of freedom as for the other intervals.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::experiment::Experiment;
use crate::results::EpisodeMetrics;
use crate::stats::{Estimate, estimate, paired_difference, t_quantile};

/// What a claim is about and what the seed paper says of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The framework's mean is lower than the baseline's by this share (e.g. 0.40 = 40 % shorter).
    Reduction(f64),
    /// The framework's mean reaches this level (e.g. 0.9999 uptime).
    Level(f64),
    /// No claim in the paper; shown for context.
    None,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// Row label with unit.
    pub label: &'static str,
    /// The metric (`episodes.csv` column).
    pub key: &'static str,
    /// What the seed paper reports, in words.
    pub paper: &'static str,
    /// The claim as a number.
    pub target: Target,
    /// Words for (better, worse) changes: "shorter"/"longer", "fewer"/"more"; for context rows
    /// ([`Target::None`]) the words of an increase and a decrease.
    pub words: (&'static str, &'static str),
    /// Decimals of the arm means.
    pub decimals: usize,
    /// Whether the metric is a share (differences then in percentage points).
    pub share: bool,
    /// Reads the metric.
    pub get: fn(&EpisodeMetrics) -> f64,
}

/// The seed paper's four claims (BRIEF §9), then two rows for context: the false alerts that
/// came with the detection times, and request-weighted availability. For context rows, `words` name
/// an increase and a decrease.
pub const CLAIMS: [Claim; 6] = [
    Claim {
        label: "detection time (TTD, s)",
        key: "ttd_s",
        paper: "40 % shorter",
        target: Target::Reduction(0.40),
        words: ("shorter", "longer"),
        decimals: 1,
        share: false,
        get: |m| m.ttd_s,
    },
    Claim {
        label: "false alerts (episodes of alerts)",
        key: "false_alerts",
        paper: "(not claimed)",
        target: Target::None,
        words: ("more", "fewer"),
        decimals: 1,
        share: false,
        get: |m| m.false_alerts,
    },
    Claim {
        label: "recovery time (MTTR, s)",
        key: "mttr_s",
        paper: "30 % shorter",
        target: Target::Reduction(0.30),
        words: ("shorter", "longer"),
        decimals: 1,
        share: false,
        get: |m| m.mttr_s,
    },
    Claim {
        label: "failures (incidents)",
        key: "incidents",
        paper: "25 % fewer",
        target: Target::Reduction(0.25),
        words: ("fewer", "more"),
        decimals: 2,
        share: false,
        get: |m| m.incidents,
    },
    Claim {
        label: "uptime (share of time)",
        key: "uptime",
        paper: "99.99 % uptime",
        target: Target::Level(0.9999),
        words: ("higher", "lower"),
        decimals: 5,
        share: true,
        get: |m| m.uptime,
    },
    Claim {
        label: "availability (share of requests)",
        key: "availability",
        paper: "(not claimed)",
        target: Target::None,
        words: ("higher", "lower"),
        decimals: 5,
        share: true,
        get: |m| m.availability,
    },
];

/// A relative change with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RelativeChange {
    /// Pairs used (both values present).
    pub n: usize,
    /// `mean(framework) / mean(baseline) - 1`.
    pub change: f64,
    /// Half-width of its 95 % interval (infinite when n < 2).
    pub half_width: f64,
}

impl RelativeChange {
    /// Lower end of the interval.
    pub fn low(&self) -> f64 {
        self.change - self.half_width
    }
    /// Upper end of the interval.
    pub fn high(&self) -> f64 {
        self.change + self.half_width
    }
}

/// The relative change of `framework` against `baseline` over pairs where both are numbers
/// (module docs); `None` with no pair or a zero baseline mean.
pub fn relative_change(framework: &[f64], baseline: &[f64]) -> Option<RelativeChange> {
    let pairs: Vec<(f64, f64)> = framework
        .iter()
        .zip(baseline)
        .filter(|(f, b)| f.is_finite() && b.is_finite())
        .map(|(f, b)| (*f, *b))
        .collect();
    let n = pairs.len();
    if n == 0 {
        return None;
    }
    let mean_f = pairs.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let mean_b = pairs.iter().map(|p| p.1).sum::<f64>() / n as f64;
    if mean_b == 0.0 {
        return None;
    }
    let ratio = mean_f / mean_b;
    let half_width = if n < 2 {
        f64::INFINITY
    } else {
        let residuals: Vec<f64> = pairs.iter().map(|(f, b)| f - ratio * b).collect();
        let mean_r = residuals.iter().sum::<f64>() / n as f64;
        let var = residuals.iter().map(|r| (r - mean_r).powi(2)).sum::<f64>() / (n - 1) as f64;
        t_quantile(n - 1) * var.sqrt() / ((n as f64).sqrt() * mean_b.abs())
    };
    Some(RelativeChange {
        n,
        change: ratio - 1.0,
        half_width,
    })
}

/// One claim's row for one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimRow {
    /// Row label.
    pub label: String,
    /// Metric key.
    pub key: String,
    /// The paper's claim in words.
    pub paper: String,
    /// The baseline arm's mean and interval over episodes.
    pub baseline: Estimate,
    /// The framework arm's.
    pub framework: Estimate,
    /// Relative change (reduction claims).
    pub relative: Option<RelativeChange>,
    /// Paired difference framework minus baseline (level rows).
    pub difference: Estimate,
    /// What the interval says about the claim.
    pub verdict: String,
}

/// The table of one held-out scenario (or of all pooled).
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioTable {
    /// Scenario as named in the experiment, or `all held-out scenarios`.
    pub scenario: String,
    /// Paired evaluation episodes.
    pub episodes: usize,
    /// One row per claim, in [`CLAIMS`] order.
    pub rows: Vec<ClaimRow>,
}

/// The whole paper table.
#[derive(Debug, Clone, Serialize)]
pub struct PaperTable {
    /// Run id.
    pub run_id: String,
    /// Baseline agent and the detector watching it.
    pub baseline: (String, String),
    /// Framework agent and the detector watching it.
    pub framework: (String, String),
    /// Training seeds of the framework agent (0 for a fixed policy).
    pub framework_train_seeds: usize,
    /// Per held-out scenario, then pooled when there are several.
    pub scenarios: Vec<ScenarioTable>,
}

/// Episode key: (scenario, seed, episode).
type Key = (String, u64, u64);

/// The agent's value per episode on `scenario` (all if `None`): mean over training seeds, NaNs
/// left out (as `results::summarise` takes its units).
fn units(
    rows: &[EpisodeMetrics],
    agent: &str,
    scenario: Option<&str>,
    get: fn(&EpisodeMetrics) -> f64,
) -> BTreeMap<Key, f64> {
    let mut acc: BTreeMap<Key, (f64, usize)> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| r.agent == agent && scenario.is_none_or(|s| r.scenario == s))
    {
        let e = acc
            .entry((r.scenario.clone(), r.seed, r.episode))
            .or_insert((0.0, 0));
        let v = get(r);
        if v.is_finite() {
            e.0 += v;
            e.1 += 1;
        }
    }
    acc.into_iter()
        .map(|(k, (sum, n))| (k, if n == 0 { f64::NAN } else { sum / n as f64 }))
        .collect()
}

/// Builds the table for `framework` against the experiment's baseline from the run's rows.
pub fn paper_table(
    experiment: &Experiment,
    rows: &[EpisodeMetrics],
    framework: &str,
) -> Result<PaperTable> {
    let names: Vec<&str> = experiment.agents.iter().map(|a| a.display_name()).collect();
    let baseline = experiment.baseline();
    let index = |name: &str| names.iter().position(|n| *n == name);
    let Some(f_index) = index(framework) else {
        bail!(
            "framework arm {framework:?} is not an agent of {} (agents: {})",
            experiment.run_id(),
            names.join(", ")
        );
    };
    if framework == baseline {
        bail!("framework arm {framework:?} is the baseline itself; name another agent");
    }
    let b_index = index(&baseline).unwrap_or(0);
    let mut scopes: Vec<Option<&str>> = experiment
        .scenarios
        .eval
        .iter()
        .map(|s| Some(s.as_str()))
        .collect();
    if scopes.len() > 1 {
        scopes.push(None);
    }
    let scenarios = scopes
        .into_iter()
        .map(|scope| scenario_table(rows, &baseline, framework, scope))
        .collect();
    let framework_train_seeds = {
        let mut seeds: Vec<u64> = rows
            .iter()
            .filter(|r| r.agent == framework)
            .filter_map(|r| r.train_seed)
            .collect();
        seeds.sort_unstable();
        seeds.dedup();
        seeds.len()
    };
    Ok(PaperTable {
        run_id: experiment.run_id(),
        baseline: (
            baseline.clone(),
            experiment.detector_of(b_index).to_string(),
        ),
        framework: (
            framework.to_string(),
            experiment.detector_of(f_index).to_string(),
        ),
        framework_train_seeds,
        scenarios,
    })
}

fn scenario_table(
    rows: &[EpisodeMetrics],
    baseline: &str,
    framework: &str,
    scope: Option<&str>,
) -> ScenarioTable {
    let mut episodes = 0;
    let rows = CLAIMS
        .iter()
        .map(|claim| {
            let b = units(rows, baseline, scope, claim.get);
            let f = units(rows, framework, scope, claim.get);
            let keys: Vec<&Key> = f.keys().filter(|k| b.contains_key(*k)).collect();
            episodes = keys.len();
            let fv: Vec<f64> = keys.iter().map(|k| f[*k]).collect();
            let bv: Vec<f64> = keys.iter().map(|k| b[*k]).collect();
            let relative = match claim.target {
                Target::Reduction(_) => relative_change(&fv, &bv),
                _ => None,
            };
            let difference = paired_difference(&fv, &bv);
            let framework_est = estimate(&fv);
            ClaimRow {
                label: claim.label.to_string(),
                key: claim.key.to_string(),
                paper: claim.paper.to_string(),
                baseline: estimate(&bv),
                framework: framework_est,
                relative,
                difference,
                verdict: verdict(claim, relative.as_ref(), &framework_est, &difference),
            }
        })
        .collect();
    ScenarioTable {
        scenario: scope.unwrap_or("all held-out scenarios").to_string(),
        episodes,
        rows,
    }
}

/// What the interval says about the claim.
fn verdict(
    claim: &Claim,
    relative: Option<&RelativeChange>,
    framework: &Estimate,
    difference: &Estimate,
) -> String {
    let (better, worse) = claim.words;
    match claim.target {
        Target::Reduction(claimed) => {
            let Some(r) = relative else {
                return "no pairs to compare".into();
            };
            if !r.half_width.is_finite() {
                return "too few pairs for an interval".into();
            }
            let target = -claimed;
            if r.high() < 0.0 {
                if r.low() > target {
                    format!("{better}, but by less than claimed")
                } else if r.high() < target {
                    format!("{better}, by more than claimed")
                } else {
                    "consistent with the claim".into()
                }
            } else if r.low() > 0.0 {
                format!("{worse} (contradicts the claim)")
            } else {
                "no significant difference".into()
            }
        }
        Target::Level(level) => {
            if framework.n < 2 || !framework.half_width.is_finite() {
                return "too few episodes for an interval".into();
            }
            let pct = level * 100.0;
            if framework.low() >= level {
                format!("meets {pct} %")
            } else if framework.high() < level {
                format!("below {pct} %")
            } else {
                format!("interval contains {pct} %")
            }
        }
        Target::None => {
            // Context rows: `words` are (increase, decrease), no judgement.
            let (up, down) = (better, worse);
            if difference.n < 2 || !difference.half_width.is_finite() {
                String::new()
            } else if difference.low() > 0.0 {
                up.into()
            } else if difference.high() < 0.0 {
                down.into()
            } else {
                "no significant difference".into()
            }
        }
    }
}

fn fmt_mean(e: &Estimate, decimals: usize) -> String {
    if e.n == 0 || !e.mean.is_finite() {
        return "n/a".into();
    }
    if !e.half_width.is_finite() {
        return format!("{:.decimals$} (n={})", e.mean, e.n);
    }
    format!("{:.decimals$} ± {:.decimals$}", e.mean, e.half_width)
}

/// The change column: a relative change in %, a difference of shares in percentage points, or a
/// difference of counts in the metric's unit.
fn fmt_change(row: &ClaimRow, claim: &Claim) -> String {
    if let Some(r) = &row.relative {
        if !r.half_width.is_finite() {
            return format!("{:+.1} % (n={})", r.change * 100.0, r.n);
        }
        return format!(
            "{:+.1} % [{:+.1}, {:+.1}] (n={})",
            r.change * 100.0,
            r.low() * 100.0,
            r.high() * 100.0,
            r.n
        );
    }
    let d = &row.difference;
    if d.n == 0 || !d.mean.is_finite() {
        return "n/a".into();
    }
    if !claim.share {
        let p = claim.decimals;
        if !d.half_width.is_finite() {
            return format!("{:+.p$} (n={})", d.mean, d.n);
        }
        return format!(
            "{:+.p$} [{:+.p$}, {:+.p$}] (n={})",
            d.mean,
            d.low(),
            d.high(),
            d.n
        );
    }
    if !d.half_width.is_finite() {
        return format!("{:+.3} pp (n={})", d.mean * 100.0, d.n);
    }
    format!(
        "{:+.3} pp [{:+.3}, {:+.3}] (n={})",
        d.mean * 100.0,
        d.low() * 100.0,
        d.high() * 100.0,
        d.n
    )
}

/// The table as markdown (what `mend report --paper` prints and writes to `paper.md`).
pub fn markdown(t: &PaperTable) -> String {
    let (b, b_det) = &t.baseline;
    let (f, f_det) = &t.framework;
    let trained = if t.framework_train_seeds > 0 {
        format!(
            " (learned; each episode's value is the mean over its {} training seeds)",
            t.framework_train_seeds
        )
    } else {
        String::new()
    };
    let mut out = format!(
        "# The seed paper's claims on held-out scenarios ({})\n\n\
         Framework arm: `{f}`{trained}, alerts from `{f_det}`. Baseline arm: `{b}`, alerts from \
         `{b_det}`. Every episode is paired (same seed: same faults and load). Arm columns: mean ± \
         half-width of the 95 % Student-t interval over episodes. Change: framework against \
         baseline, relative (ratio of means, delta-method 95 % interval) for the paper's relative \
         claims, in percentage points for shares; n = pairs where both arms have a value (TTD: \
         episodes where both detected a fault; MTTR: where faults ended). A verdict needs the whole \
         interval: \"consistent with the claim\" means the interval excludes zero and contains the \
         claimed change.\n",
        t.run_id
    );
    for s in &t.scenarios {
        out.push_str(&format!(
            "\n## {} ({} paired episodes)\n\n| claim | seed paper | `{b}` (baseline) | `{f}` (framework) | change [95 % CI] | verdict |\n|---|---|---:|---:|---:|---|\n",
            s.scenario, s.episodes
        ));
        for (row, claim) in s.rows.iter().zip(CLAIMS.iter()) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                row.label,
                row.paper,
                fmt_mean(&row.baseline, claim.decimals),
                fmt_mean(&row.framework, claim.decimals),
                fmt_change(row, claim),
                row.verdict
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_change_by_hand() {
        // Framework is exactly 0.6 x baseline: a 40 % reduction with no residual spread.
        let b = [100.0, 200.0, 300.0, f64::NAN];
        let f = [60.0, 120.0, 180.0, 10.0];
        let r = relative_change(&f, &b).unwrap();
        assert_eq!(r.n, 3);
        assert!((r.change + 0.4).abs() < 1e-12, "{r:?}");
        assert!(r.half_width.abs() < 1e-12, "{r:?}");
        // Residuals f - R b with R = 0.5: (1, -1, 0): sd 1; se = 1 / (sqrt(3) * 2); t(2) = 4.303.
        let r = relative_change(&[51.0, 99.0, 100.0], &[100.0, 200.0, 200.0]).unwrap();
        assert!((r.change + 0.5).abs() < 1e-12);
        let expected = 4.302_653 * 1.0 / (3f64.sqrt() * 500.0 / 3.0);
        assert!(
            (r.half_width - expected).abs() < 1e-6,
            "{r:?} vs {expected}"
        );
        assert!(relative_change(&[1.0], &[0.0]).is_none());
        assert!(relative_change(&[f64::NAN], &[1.0]).is_none());
    }

    fn claim(key: &str) -> &'static Claim {
        CLAIMS.iter().find(|c| c.key == key).unwrap()
    }

    fn rel(change: f64, half_width: f64) -> RelativeChange {
        RelativeChange {
            n: 20,
            change,
            half_width,
        }
    }

    #[test]
    fn verdicts_follow_the_interval() {
        let e = estimate(&[]);
        let ttd = claim("ttd_s");
        let v = |r: RelativeChange| verdict(ttd, Some(&r), &e, &e);
        assert_eq!(v(rel(-0.40, 0.1)), "consistent with the claim");
        assert_eq!(v(rel(-0.15, 0.1)), "shorter, but by less than claimed");
        assert_eq!(v(rel(-0.70, 0.1)), "shorter, by more than claimed");
        assert_eq!(v(rel(-0.05, 0.1)), "no significant difference");
        assert_eq!(v(rel(0.30, 0.1)), "longer (contradicts the claim)");
        let uptime = claim("uptime");
        let up = |xs: &[f64]| verdict(uptime, None, &estimate(xs), &e);
        assert_eq!(up(&[0.99995, 0.99996, 0.99994]), "meets 99.99 %");
        assert_eq!(up(&[0.95, 0.96, 0.97]), "below 99.99 %");
        assert!(up(&[0.9, 1.0, 1.0]).starts_with("interval contains"));
    }
}
