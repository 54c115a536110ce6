//! Results of a run: the per-episode metrics table (`episodes.csv`) and the summary
//! (`summary.json`, `summary.md`): every agent's mean and 95 % interval per metric, and paired
//! differences against the baseline agent over the same (scenario, seed, episode) keys, so each
//! pair faced the same exogenous faults and load.
//!
//! Learned agents have one policy per training seed, each evaluated on every evaluation episode.
//! The statistical unit stays the evaluation episode: a learned agent's value for an episode is the
//! mean over its training seeds (NaNs left out), and means, intervals and paired differences are
//! taken over episodes exactly as for a fixed policy. The spread between training runs is reported
//! beside it (`across_train_seeds`): each training seed's mean over all episodes, summarised over
//! training seeds (mean, sd and 95 % interval with n = number of training seeds).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::stats::{Estimate, estimate, paired_difference};

/// One evaluation episode's metrics (one row of `episodes.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeMetrics {
    /// Scenario as named in the experiment.
    pub scenario: String,
    /// Agent name.
    pub agent: String,
    /// Evaluation seed of the job.
    pub seed: u64,
    /// Training seed of the evaluated policy (learned agents); empty for fixed policies.
    pub train_seed: Option<u64>,
    /// Episode index within the job.
    pub episode: u64,
    /// Master seed the simulator ran with.
    pub sim_seed: u64,
    /// Request-weighted availability: requests served within SLO over all, at entry services.
    pub availability: f64,
    /// Time-weighted uptime: share of time every entry service met its SLO.
    pub uptime: f64,
    /// SLO-violation episodes longer than a minute (sim `INCIDENT_MIN`).
    pub incidents: f64,
    /// Faults that began in the episode.
    pub faults: f64,
    /// Time to detect, seconds: mean over the episode's detected faults of (first alert on an
    /// affected entity - onset), by the experiment's alert rules; NaN when no fault was detected.
    pub ttd_s: f64,
    /// False-alert episodes of the alert rules (alerts on entities with no fault or incident).
    pub false_alerts: f64,
    /// Mean time to recovery over faults that ended (onset -> end), seconds; NaN if none ended.
    pub mttr_s: f64,
    /// Instance cost plus action cost, USD.
    pub cost_usd: f64,
    /// Writes lost on failover.
    pub data_lost_writes: f64,
    /// Decisions where the agent chose an action other than the no-op.
    pub actions_taken: f64,
    /// Undiscounted return.
    pub reward: f64,
}

/// A metric the summary reports.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Column name in `episodes.csv` and key in `summary.json`.
    pub key: &'static str,
    /// Human label with unit.
    pub label: &'static str,
    /// Decimals printed in `summary.md`.
    pub decimals: usize,
    /// Reads the metric from a row.
    pub get: fn(&EpisodeMetrics) -> f64,
}

/// The metrics summarised, in table order.
pub const METRICS: &[Metric] = &[
    Metric {
        key: "availability",
        label: "availability (req.)",
        decimals: 6,
        get: |m| m.availability,
    },
    Metric {
        key: "uptime",
        label: "uptime (time)",
        decimals: 6,
        get: |m| m.uptime,
    },
    Metric {
        key: "incidents",
        label: "incidents",
        decimals: 2,
        get: |m| m.incidents,
    },
    Metric {
        key: "ttd_s",
        label: "TTD (s)",
        decimals: 1,
        get: |m| m.ttd_s,
    },
    Metric {
        key: "false_alerts",
        label: "false alerts",
        decimals: 1,
        get: |m| m.false_alerts,
    },
    Metric {
        key: "mttr_s",
        label: "MTTR (s)",
        decimals: 1,
        get: |m| m.mttr_s,
    },
    Metric {
        key: "cost_usd",
        label: "cost (USD)",
        decimals: 2,
        get: |m| m.cost_usd,
    },
    Metric {
        key: "data_lost_writes",
        label: "data lost (writes)",
        decimals: 1,
        get: |m| m.data_lost_writes,
    },
    Metric {
        key: "actions_taken",
        label: "actions",
        decimals: 1,
        get: |m| m.actions_taken,
    },
    Metric {
        key: "reward",
        label: "reward",
        decimals: 2,
        get: |m| m.reward,
    },
];

/// Per-agent summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentSummary {
    /// Agent name.
    pub agent: String,
    /// Evaluation episodes (units; a learned agent's are averaged over training seeds).
    pub episodes: usize,
    /// Training seeds whose policies were evaluated (0 for fixed policies).
    pub train_seeds: usize,
    /// Mean and 95 % interval per metric key.
    pub metrics: BTreeMap<String, Estimate>,
    /// Paired difference (this agent minus the baseline) per metric key; absent for the baseline.
    pub vs_baseline: Option<BTreeMap<String, Estimate>>,
    /// Learned agents: per metric, the estimate over training seeds of each seed's mean over
    /// episodes (how much the result depends on the training run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub across_train_seeds: Option<BTreeMap<String, Estimate>>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Experiment name.
    pub experiment: String,
    /// Run id.
    pub run_id: String,
    /// Agent the differences are taken against.
    pub baseline: String,
    /// Confidence level of every interval.
    pub confidence: f64,
    /// Agents in experiment order.
    pub agents: Vec<AgentSummary>,
}

/// Mean of the non-NaN values (NaN if none).
fn nan_mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Builds the summary from every episode; `agents` gives the order. See the module docs for how
/// training seeds are averaged.
pub fn summarise(
    experiment: &str,
    run_id: &str,
    baseline: &str,
    agents: &[String],
    rows: &[EpisodeMetrics],
) -> Summary {
    type Key = (String, u64, u64);
    let by_agent = |agent: &str| -> BTreeMap<Key, Vec<&EpisodeMetrics>> {
        let mut units: BTreeMap<Key, Vec<&EpisodeMetrics>> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.agent == agent) {
            units
                .entry((r.scenario.clone(), r.seed, r.episode))
                .or_default()
                .push(r);
        }
        units
    };
    let unit = |rows: &[&EpisodeMetrics], m: &Metric| nan_mean(rows.iter().map(|r| (m.get)(r)));
    let base = by_agent(baseline);
    let summaries = agents
        .iter()
        .map(|agent| {
            let mine = by_agent(agent);
            let metrics = METRICS
                .iter()
                .map(|m| {
                    let xs: Vec<f64> = mine.values().map(|u| unit(u, m)).collect();
                    (m.key.to_string(), estimate(&xs))
                })
                .collect();
            let vs_baseline = (agent != baseline).then(|| {
                let keys: Vec<&Key> = mine.keys().filter(|k| base.contains_key(*k)).collect();
                METRICS
                    .iter()
                    .map(|m| {
                        let a: Vec<f64> = keys.iter().map(|k| unit(&mine[*k], m)).collect();
                        let b: Vec<f64> = keys.iter().map(|k| unit(&base[*k], m)).collect();
                        (m.key.to_string(), paired_difference(&a, &b))
                    })
                    .collect()
            });
            let mut by_train_seed: BTreeMap<u64, Vec<&EpisodeMetrics>> = BTreeMap::new();
            for r in rows.iter().filter(|r| &r.agent == agent) {
                if let Some(t) = r.train_seed {
                    by_train_seed.entry(t).or_default().push(r);
                }
            }
            let across_train_seeds = (!by_train_seed.is_empty()).then(|| {
                METRICS
                    .iter()
                    .map(|m| {
                        let xs: Vec<f64> = by_train_seed.values().map(|rs| unit(rs, m)).collect();
                        (m.key.to_string(), estimate(&xs))
                    })
                    .collect()
            });
            AgentSummary {
                agent: agent.clone(),
                episodes: mine.len(),
                train_seeds: by_train_seed.len(),
                metrics,
                vs_baseline,
                across_train_seeds,
            }
        })
        .collect();
    Summary {
        experiment: experiment.to_string(),
        run_id: run_id.to_string(),
        baseline: baseline.to_string(),
        confidence: crate::stats::CONFIDENCE,
        agents: summaries,
    }
}

/// `episodes.csv` text, rows in the given order.
pub fn episodes_csv(rows: &[EpisodeMetrics]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .serialize(row)
            .context("cannot write an episode row")?;
    }
    writer.into_inner().context("cannot finish episodes.csv")
}

/// Parses `episodes.csv` text (`origin` names the file in errors).
pub fn parse_episodes_csv(bytes: &[u8], origin: &str) -> Result<Vec<EpisodeMetrics>> {
    csv::Reader::from_reader(bytes)
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.with_context(|| format!("{origin}: row {}: not an episode row", i + 2)))
        .collect()
}

/// `summary.md`: a table of every agent and metric (mean ± half-width), then paired differences.
pub fn summary_markdown(s: &Summary) -> String {
    let mut out = format!(
        "# {} ({})\n\nMean ± half-width of the {:.0} % Student-t interval over evaluation episodes; \
         a learned agent's episode value is the mean over its training seeds. TTD and false alerts \
         come from the experiment's alert rules watching each episode.\n\n",
        s.experiment,
        s.run_id,
        s.confidence * 100.0
    );
    let header = |first: &str| {
        let mut h = format!("| {first} |");
        let mut rule = String::from("|---|");
        for m in METRICS {
            h.push_str(&format!(" {} |", m.label));
            rule.push_str("---:|");
        }
        format!("{h}\n{rule}\n")
    };
    out.push_str(&header("agent (episodes)"));
    for a in &s.agents {
        out.push_str(&format!("| {} ({}) |", a.agent, a.episodes));
        for m in METRICS {
            out.push_str(&format!(
                " {} |",
                fmt_estimate(&a.metrics[m.key], m.decimals, false)
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\n## Paired differences against `{}` (agent minus baseline, same seeds)\n\n\
         Mean [95 % interval]; `*` marks an interval that excludes zero.\n\n",
        s.baseline
    ));
    out.push_str(&header("agent"));
    for a in &s.agents {
        let Some(diffs) = &a.vs_baseline else {
            continue;
        };
        out.push_str(&format!("| {} |", a.agent));
        for m in METRICS {
            out.push_str(&format!(
                " {} |",
                fmt_estimate(&diffs[m.key], m.decimals, true)
            ));
        }
        out.push('\n');
    }
    let learned: Vec<&AgentSummary> = s
        .agents
        .iter()
        .filter(|a| a.across_train_seeds.is_some())
        .collect();
    if !learned.is_empty() {
        out.push_str(
            "\n## Spread over training seeds (learned agents)\n\n\
             Each training seed's mean over all evaluation episodes, summarised over training seeds \
             (mean ± half-width of the 95 % interval, n = training seeds).\n\n",
        );
        out.push_str(&header("agent (training seeds)"));
        for a in learned {
            let Some(spread) = &a.across_train_seeds else {
                continue;
            };
            out.push_str(&format!("| {} ({}) |", a.agent, a.train_seeds));
            for m in METRICS {
                out.push_str(&format!(
                    " {} |",
                    fmt_estimate(&spread[m.key], m.decimals, false)
                ));
            }
            out.push('\n');
        }
    }
    out
}

fn fmt_estimate(e: &Estimate, decimals: usize, as_interval: bool) -> String {
    if e.n == 0 || e.mean.is_nan() {
        return "n/a".into();
    }
    if !e.half_width.is_finite() {
        return format!("{:.decimals$} (n={})", e.mean, e.n);
    }
    if as_interval {
        let star = if e.excludes_zero() { " *" } else { "" };
        format!(
            "{:+.decimals$} [{:+.decimals$}, {:+.decimals$}]{star}",
            e.mean,
            e.low(),
            e.high()
        )
    } else {
        format!("{:.decimals$} ± {:.decimals$}", e.mean, e.half_width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(agent: &str, seed: u64, availability: f64) -> EpisodeMetrics {
        EpisodeMetrics {
            scenario: "s".into(),
            agent: agent.into(),
            seed,
            train_seed: None,
            episode: 0,
            sim_seed: seed,
            availability,
            uptime: 1.0,
            incidents: seed as f64,
            faults: 1.0,
            ttd_s: f64::NAN,
            false_alerts: 0.0,
            mttr_s: 60.0,
            cost_usd: 1.0,
            data_lost_writes: 0.0,
            actions_taken: 0.0,
            reward: -1.0,
        }
    }

    #[test]
    fn differences_pair_rows_by_seed() {
        let rows = vec![
            row("a", 1, 0.90),
            row("b", 2, 0.95),
            row("b", 1, 0.92),
            row("a", 2, 0.93),
        ];
        let s = summarise("e", "e-seed0", "a", &["a".into(), "b".into()], &rows);
        assert!(s.agents[0].vs_baseline.is_none());
        let d = s.agents[1].vs_baseline.as_ref().unwrap()["availability"];
        // b - a per seed: 0.02 and 0.02: mean 0.02, zero spread.
        assert_eq!(d.n, 2);
        assert!((d.mean - 0.02).abs() < 1e-12, "{d:?}");
        assert!(d.std_dev < 1e-12);
        assert!(s.agents[0].metrics["ttd_s"].mean.is_nan());
        let md = summary_markdown(&s);
        assert!(md.contains("| b |") && md.contains("+0.020000"), "{md}");
    }

    #[test]
    fn csv_round_trips_including_nan() {
        let rows = vec![row("a", 1, 0.5), row("b", 1, 0.25)];
        let bytes = episodes_csv(&rows).unwrap();
        let back = parse_episodes_csv(&bytes, "episodes.csv").unwrap();
        assert_eq!(back.len(), 2);
        assert!(back[0].ttd_s.is_nan());
        assert_eq!(back[1].availability, 0.25);
        assert_eq!(episodes_csv(&back).unwrap(), bytes);
    }
}
