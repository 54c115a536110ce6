//! Evaluates DQN policy files on a cluster scenario beside the baselines (no-op, random, reactive,
//! runbook), paired on the same evaluation seeds, as the DQN's own decision rule acts: Q-values
//! without the size prior and the no-op margin (`mend_agents::dqn::decision`), which the `cluster`
//! example's `--load-ppo` (a plain `PolicyNet`, argmax) does not apply.
//!
//! ```text
//! cargo run --release -p mend-agents --example dqn_eval -- --files A.safetensors,B.safetensors \
//!     [--scenario default] [--seeds 1000 20] [--margins file|0.05,0.1,...] [--no-baselines]
//! ```
//! `--margins`: the margins to act with (default `file`: the one each manifest records). Several
//! margins give one row per margin, so a margin can be chosen on validation seeds (say `--seeds 100
//! 10`, disjoint from training seeds 0.. and test seeds 1000..) and then reported on the test seeds.
//! Rows `dqn mean of K (margin m)` average the K files per evaluation seed (the unit of the interval
//! is the evaluation seed). Metrics are the `cluster` example's (simulator ground truth, read for
//! evaluation only): availability, incidents, MTTR (mean fault onset -> end), cost (infrastructure +
//! actions, USD), return, actions per episode; mean ± 95 % Student-t half-width over seeds; paired
//! differences against no-op, random, reactive and runbook.
//!
//! Measured (session 4, busy machine; `DqnConfig::cluster_default`, 100,000 steps, training seeds
//! 0-2, trained with margin 0): on validation seeds 100-109 the mean availability over the 3 policies
//! rose with the margin (0: 0.717 for 2 seeds; 0.05: 0.843; 0.2: 0.890 vs no-op 0.883), so 0.2 was
//! chosen there. On test seeds 1000-1019 (`default`): margin 0.2 = 0.855 ± 0.029 vs no-op 0.852,
//! paired +0.0034 ± 0.0060 (n.s.; 0.35 actions per episode): it does not beat no-op; margin 0 is
//! worse than no-op (-0.126 ± 0.036). Both beat random (+0.27 / +0.14). `tiny`: margin 0.2 ties
//! no-op exactly (never acts); margin 0 does not (seed 2: 0.542).

use std::path::PathBuf;

use mend_agents::baselines::reactive::{ReactiveConfig, ReactiveController};
use mend_agents::baselines::runbook::Runbook;
use mend_agents::baselines::{NoOpPolicy, RandomPolicy, Stateful};
use mend_agents::dqn::decision::manifest_noop_margin;
use mend_agents::dqn::{DqnEntityPolicy, policy_from_file};
use mend_agents::{FeatureSchema, Policy, PolicyFile, PolicyNet};
use mend_envs::{ClusterConfig, ClusterEnv, Env};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Metrics of one episode.
#[derive(Clone, Debug, Default)]
struct Metrics {
    availability: f64,
    incidents: f64,
    mttr_s: f64,
    cost_usd: f64,
    reward: f64,
    actions: f64,
}

fn kind_names() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

/// A fresh baseline policy for one episode of an env with `n` actions.
fn baseline(agent: &str, n: usize, seed: u64) -> anyhow::Result<Box<dyn Policy>> {
    let schema = mend_monitor::features::FeatureSchema::v1();
    Ok(match agent {
        "no-op" => Box::new(NoOpPolicy { n_actions: n }),
        "random" => Box::new(RandomPolicy::new(n, seed)),
        "reactive" => Box::new(Stateful::new(
            ReactiveController::new(ReactiveConfig::tuned(), schema, kind_names())?,
            n,
        )),
        "runbook" => Box::new(Stateful::new(
            Runbook::default_runbook(schema, kind_names())?,
            n,
        )),
        other => anyhow::bail!("unknown baseline {other:?}"),
    })
}

/// One deterministic episode of `scenario` with `seed`.
fn run_episode(scenario: &str, policy: &dyn Policy, seed: u64) -> anyhow::Result<Metrics> {
    let mut env = ClusterEnv::builtin(scenario, ClusterConfig::default())?;
    let (mut obs, _) = env.reset(Some(seed), None)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let (mut reward, mut actions) = (0.0, 0.0);
    loop {
        let mask = env.action_mask();
        let a = policy.predict(&obs, mask.as_deref(), true, &mut rng)?;
        actions += f64::from(u8::from(a != 0));
        let step = env.step(a)?;
        reward += step.reward;
        obs = step.obs;
        if step.terminated || step.truncated {
            break;
        }
    }
    let sim = env
        .simulation()
        .ok_or_else(|| anyhow::anyhow!("no simulation"))?;
    let summary = sim.summary();
    let repairs: Vec<f64> = sim
        .truth()
        .faults
        .iter()
        .filter_map(|f| f.end.map(|e| e.saturating_sub(f.onset).as_secs_f64()))
        .collect();
    let rc = summary.reward_components;
    Ok(Metrics {
        availability: summary.availability,
        incidents: summary.incidents as f64,
        mttr_s: if repairs.is_empty() {
            f64::NAN
        } else {
            repairs.iter().sum::<f64>() / repairs.len() as f64
        },
        cost_usd: rc.infra_cost_usd + rc.action_cost_usd,
        reward,
        actions,
    })
}

/// Two-sided 95 % Student-t quantile for `df` degrees of freedom (standard tables; 1.96 beyond 30).
fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.wrapping_sub(1)).copied().unwrap_or(1.96)
}

/// Mean ± 95 % half-width over the finite values.
fn ci(xs: impl Iterator<Item = f64>) -> String {
    let v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return "n/a".into();
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return format!("{m:.4}");
    }
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    format!("{m:.4} ± {:.4}", t95(v.len() - 1) * sd / n.sqrt())
}

/// Per seed, the mean of each metric over several policies (MTTR over those where it is defined).
fn mean_over(members: &[&Vec<Metrics>]) -> Vec<Metrics> {
    let n_seeds = members.first().map_or(0, |m| m.len());
    (0..n_seeds)
        .map(|s| {
            let mean = |f: fn(&Metrics) -> f64| {
                let v: Vec<f64> = members
                    .iter()
                    .map(|m| f(&m[s]))
                    .filter(|x| x.is_finite())
                    .collect();
                if v.is_empty() {
                    f64::NAN
                } else {
                    v.iter().sum::<f64>() / v.len() as f64
                }
            };
            Metrics {
                availability: mean(|m| m.availability),
                incidents: mean(|m| m.incidents),
                mttr_s: mean(|m| m.mttr_s),
                cost_usd: mean(|m| m.cost_usd),
                reward: mean(|m| m.reward),
                actions: mean(|m| m.actions),
            }
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut scenario = "default".to_string();
    let (mut start, mut count) = (1000u64, 20u64);
    let mut files: Vec<PathBuf> = Vec::new();
    let mut margins = "file".to_string();
    let mut baselines = true;
    let mut i = 0;
    while i < args.len() {
        let val = |k: usize| {
            args.get(i + k)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{} needs a value", args[i]))
        };
        match args[i].as_str() {
            "--scenario" => scenario = val(1)?,
            "--seeds" => {
                start = val(1)?.parse()?;
                count = val(2)?.parse()?;
                i += 1;
            }
            "--files" => files = val(1)?.split(',').map(PathBuf::from).collect(),
            "--margins" => margins = val(1)?,
            "--no-baselines" => {
                baselines = false;
                i -= 1;
            }
            other => anyhow::bail!("unknown argument {other:?}"),
        }
        i += 2;
    }
    let seeds: Vec<u64> = (start..start + count).collect();
    // Agents: (row name, policy factory input).
    let mut rows: Vec<(String, Vec<Metrics>)> = Vec::new();
    let n_actions = {
        let env = ClusterEnv::builtin(&scenario, ClusterConfig::default())?;
        mend_agents::obs::discrete_actions(&env.action_space())?
    };
    if baselines {
        for agent in ["no-op", "random", "reactive", "runbook"] {
            let metrics = seeds
                .par_iter()
                .map(|&s| run_episode(&scenario, baseline(agent, n_actions, s)?.as_ref(), s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            rows.push((agent.to_string(), metrics));
        }
    }
    let loaded: Vec<(String, PolicyFile)> = files
        .iter()
        .map(|f| {
            let stem = f
                .file_stem()
                .map_or("?".into(), |s| s.to_string_lossy().to_string());
            Ok((
                stem,
                PolicyFile::load(f, Some(&FeatureSchema::entities_v1()))?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let margin_list: Vec<Option<f32>> = if margins == "file" {
        vec![None]
    } else {
        margins
            .split(',')
            .map(|m| m.parse::<f32>().map(Some))
            .collect::<Result<_, _>>()?
    };
    for margin in margin_list {
        let mut members = Vec::new();
        for (stem, file) in &loaded {
            let recorded = manifest_noop_margin(&file.manifest.training.config);
            let policy: Box<dyn Policy> = match (&file.policy, margin) {
                (PolicyNet::Entity(inner), Some(m)) => Box::new(DqnEntityPolicy {
                    inner: inner.as_ref().clone(),
                    noop_margin: m,
                }),
                _ => policy_from_file(file.clone()),
            };
            let metrics = seeds
                .par_iter()
                .map(|&s| run_episode(&scenario, policy.as_ref(), s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let label = margin.map_or(format!("file {recorded}"), |m| m.to_string());
            rows.push((format!("{stem} (margin {label})"), metrics));
            members.push(rows.len() - 1);
        }
        if members.len() > 1 {
            let refs: Vec<&Vec<Metrics>> = members.iter().map(|&k| &rows[k].1).collect();
            let label = margin.map_or("file".to_string(), |m| m.to_string());
            let mean = mean_over(&refs);
            rows.push((
                format!("dqn mean of {} (margin {label})", members.len()),
                mean,
            ));
        }
    }
    println!(
        "scenario {scenario}, evaluation seeds {start}..{}\n\
         | agent | availability | incidents | MTTR s | cost USD | return | actions |\n\
         |---|---|---|---|---|---|---|",
        start + count
    );
    for (agent, m) in &rows {
        println!(
            "| {agent} | {} | {} | {} | {} | {} | {} |",
            ci(m.iter().map(|x| x.availability)),
            ci(m.iter().map(|x| x.incidents)),
            ci(m.iter().map(|x| x.mttr_s)),
            ci(m.iter().map(|x| x.cost_usd)),
            ci(m.iter().map(|x| x.reward)),
            ci(m.iter().map(|x| x.actions)),
        );
    }
    for base in ["no-op", "random", "reactive", "runbook"] {
        let Some((_, base_rows)) = rows.iter().find(|(a, _)| a == base) else {
            continue;
        };
        println!(
            "\npaired differences vs {base} (same seeds, mean ± 95 % t half-width):\n\
             | agent | Δ availability | Δ incidents | Δ MTTR s | Δ cost USD | Δ return |\n\
             |---|---|---|---|---|---|"
        );
        for (agent, m) in rows
            .iter()
            .filter(|(a, _)| a.contains("dqn") || a.contains("margin"))
        {
            let diff =
                |f: fn(&Metrics) -> f64| ci(m.iter().zip(base_rows).map(|(a, b)| f(a) - f(b)));
            println!(
                "| {agent} | {} | {} | {} | {} | {} |",
                diff(|x| x.availability),
                diff(|x| x.incidents),
                diff(|x| x.mttr_s),
                diff(|x| x.cost_usd),
                diff(|x| x.reward)
            );
        }
    }
    Ok(())
}
