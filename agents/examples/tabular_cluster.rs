//! Tabular Q-learning on the cluster env against no-op and the reactive controller, paired on the same
//! evaluation seeds (issue 4): the learning rule of the last session (one-step values) beside the
//! current defaults (advantages over the no-op, acting only on entities with a symptom), each trained
//! on the training seeds only.
//!
//! ```text
//! cargo run --release -p mend-agents --example tabular_cluster -- [--scenario default]
//!     [--seeds START COUNT] [--train-seeds START COUNT] [--train-steps N] [--tabular "TOML; PAIRS"]
//! ```
//! Defaults: scenario `default`, evaluation seeds 1000..1020, training seeds 0..8 (disjoint; checked),
//! 72,000 training steps (100 episodes of `default`). `--tabular` overrides fields of the current
//! defaults (TOML pairs separated by `;`). Hyperparameters were chosen on validation seeds 500..520,
//! never on the evaluation seeds. Each row: mean ± 95 % t half-width over seeds; the `vs no-op`
//! columns are paired differences (same seed: same faults and load). Metrics come from the
//! simulator's ground truth; the policies see only observations and masks.

use mend_agents::baselines::reactive::{ReactiveConfig, ReactiveController};
use mend_agents::baselines::{NoOpPolicy, Stateful};
use mend_agents::tabular::{TabularConfig, TabularQ};
use mend_agents::{NullSink, Policy};
use mend_envs::{ClusterConfig, ClusterEnv, Env};
use mend_monitor::features::FeatureSchema;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Availability, incidents, return and actions of one evaluation episode.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    availability: f64,
    incidents: f64,
    reward: f64,
    actions: f64,
}

fn episode(scenario: &str, policy: &dyn Policy, seed: u64) -> anyhow::Result<Outcome> {
    let mut env = ClusterEnv::builtin(scenario, ClusterConfig::default())?;
    let (mut obs, _) = env.reset(Some(seed), None)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
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
    let summary = env
        .simulation()
        .ok_or_else(|| anyhow::anyhow!("no simulation after an episode"))?
        .summary();
    Ok(Outcome {
        availability: summary.availability,
        incidents: summary.incidents as f64,
        reward,
        actions,
    })
}

/// Mean ± 95 % t half-width (two-sided Student-t quantiles; 1.96 beyond 30 degrees of freedom).
fn ci(v: &[f64]) -> String {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return format!("{m:.4}");
    }
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let t = T.get(v.len() - 2).copied().unwrap_or(1.96);
    format!("{m:.4} ± {:.4}", t * sd / n.sqrt())
}

fn train(
    scenario: &str,
    config: TabularConfig,
    seeds: &[u64],
    steps: u64,
) -> anyhow::Result<TabularQ> {
    let mut env = ClusterEnv::builtin(scenario, ClusterConfig::default())?;
    env.reset(Some(seeds[0]), None)?;
    let n = env
        .layout()
        .ok_or_else(|| anyhow::anyhow!("no layout"))?
        .n_actions();
    let kinds = mend_envs::cluster::N_KINDS;
    let mut q = TabularQ::new(config, FeatureSchema::builtin(), kinds, n, seeds[0])?;
    q.learn(&mut env, seeds, steps, &mut NullSink)?;
    Ok(q)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut scenario = "default".to_string();
    let (mut start, mut count) = (1000u64, 20u64);
    let (mut train_start, mut train_count, mut steps) = (0u64, 8u64, 72_000u64);
    let mut current = TabularConfig::recommended();
    let mut i = 0;
    while i < args.len() {
        let val = |k: usize| {
            args.get(i + k)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("argument {} needs a value", args[i]))
        };
        match args[i].as_str() {
            "--scenario" => scenario = val(1)?,
            "--seeds" => {
                (start, count) = (val(1)?.parse()?, val(2)?.parse()?);
                i += 1;
            }
            "--train-seeds" => {
                (train_start, train_count) = (val(1)?.parse()?, val(2)?.parse()?);
                i += 1;
            }
            "--train-steps" => steps = val(1)?.parse()?,
            "--tabular" => {
                let mut table = toml::Table::try_from(&current)?;
                let extra: toml::Table = toml::from_str(&val(1)?.replace(';', "\n"))?;
                table.extend(extra);
                current = table.try_into()?;
            }
            other => anyhow::bail!("unknown argument {other:?}"),
        }
        i += 2;
    }
    let seeds: Vec<u64> = (start..start + count).collect();
    let train_seeds: Vec<u64> = (train_start..train_start + train_count).collect();
    anyhow::ensure!(
        seeds.iter().all(|s| !train_seeds.contains(s)),
        "evaluation seeds overlap training seeds"
    );
    let one_step = train(&scenario, TabularConfig::default(), &train_seeds, steps)?.policy();
    let learnt = train(&scenario, current.clone(), &train_seeds, steps)?.policy();
    println!(
        "scenario `{scenario}`, evaluation seeds {start}..{}, training seeds {train_start}..{}, {steps} training steps",
        start + count,
        train_start + train_count
    );
    println!(
        "current tabular settings: {}",
        serde_json::to_string(&current)?
    );
    let agents = ["no-op", "reactive", "tabular-one-step", "tabular"];
    let mut results: Vec<Vec<Outcome>> = Vec::new();
    for agent in agents {
        let rows = seeds
            .par_iter()
            .map(|&s| {
                let mut probe = ClusterEnv::builtin(&scenario, ClusterConfig::default())?;
                probe.reset(Some(s), None)?;
                let n = probe
                    .layout()
                    .ok_or_else(|| anyhow::anyhow!("no layout"))?
                    .n_actions();
                let kinds: Vec<String> = mend_sim::ActionKind::ALL
                    .iter()
                    .map(|k| k.name().to_string())
                    .collect();
                let policy: Box<dyn Policy> = match agent {
                    "no-op" => Box::new(NoOpPolicy { n_actions: n }),
                    "reactive" => Box::new(Stateful::new(
                        ReactiveController::new(
                            ReactiveConfig::tuned(),
                            FeatureSchema::builtin(),
                            kinds,
                        )?,
                        n,
                    )),
                    "tabular-one-step" => Box::new(one_step.with_n_actions(n)),
                    _ => Box::new(learnt.with_n_actions(n)),
                };
                episode(&scenario, policy.as_ref(), s)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        results.push(rows);
    }
    println!(
        "\n| agent | availability | incidents | return | actions | availability vs no-op | return vs no-op |\n|---|---|---|---|---|---|---|"
    );
    for (agent, rows) in agents.iter().zip(&results) {
        let col = |f: fn(&Outcome) -> f64| ci(&rows.iter().map(f).collect::<Vec<_>>());
        let diff = |f: fn(&Outcome) -> f64| {
            ci(&rows
                .iter()
                .zip(&results[0])
                .map(|(a, b)| f(a) - f(b))
                .collect::<Vec<_>>())
        };
        println!(
            "| {agent} | {} | {} | {} | {} | {} | {} |",
            col(|o| o.availability),
            col(|o| o.incidents),
            col(|o| o.reward),
            col(|o| o.actions),
            diff(|o| o.availability),
            diff(|o| o.reward),
        );
    }
    Ok(())
}
