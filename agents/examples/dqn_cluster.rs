//! Trains DQN with the entity network (`EntityDqn`, `DqnConfig::cluster_default`) on a cluster
//! scenario, one agent per training seed, and writes each policy file, for the paired comparison of
//! issue 4. Evaluate them beside the baselines with the `dqn_eval` example, which acts as DQN decides
//! (Q-values without the size prior, the no-op margin of `mend_agents::dqn::decision`); the `cluster`
//! example's `--load-ppo` acts on the bare network's argmax instead.
//!
//! ```text
//! cargo run --release -p mend-agents --example dqn_cluster -- [--scenario tiny|default]
//!     [--train-seeds START COUNT] [--train-steps N] [--snapshots N1,N2,..] [--dqn "TOML; PAIRS"]
//!     [--variants "NAME: PAIRS | NAME: PAIRS"] [--out DIR]
//! cargo run --release -p mend-agents --example dqn_eval -- --scenario default --seeds 1000 20 \
//!     --files DIR/dqn-default-seed0.safetensors,... [--margins file|0.05,0.1]
//! ```
//! Defaults: scenario `tiny`, training seeds 0..3 (disjoint from the evaluation seeds 1000.. of the
//! `cluster` example), 100,000 steps, files in `results/dqn_cluster/`. Prints one line per seed
//! (steps/s, episodes, mean training return of the last 100 episodes, last logged TD loss and mean
//! Q). `--snapshots` also saves `dqn-SCENARIO-seedS-N.safetensors` after N DQN steps of the same run
//! (0 = the warm start alone), so one run gives a learning curve. `--variants` warm-starts once per
//! seed with `--dqn`'s config and then runs each named DQN phase (pairs laid over it; only
//! DQN-phase fields may differ, `EntityDqn::with_dqn_phase`) from a copy, files tagged `-NAME`. Wall-clock timing lives here, not in the library (which reads no clock).
//!
//! `--inspect FILE --seeds START COUNT` trains nothing: it runs the no-op policy on the scenario's
//! evaluation seeds and prints, for the policy file's Q-values at every step (as `load_policy` reads
//! them: no size prior), how far the best (entity, kind) action's Q-value lies above the no-op's
//! (greedy acting turns the gap into an action whenever it exceeds the no-op margin), as quantiles,
//! beside the spread of the no-op's Q-values.

use std::path::PathBuf;
use std::time::Instant;

use mend_agents::dqn::EntityDqn;
use mend_agents::policy_file::TrainingInfo;
use mend_agents::{ActionScores, Agent, DqnConfig, FeatureSchema, VecSink};
use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, SyncVectorEnv};

fn kind_names() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut scenario = "tiny".to_string();
    let (mut seed_start, mut seed_count) = (0u64, 3u64);
    let mut steps = 100_000u64;
    let mut config = DqnConfig::cluster_default(0);
    let mut out = PathBuf::from("results/dqn_cluster");
    let mut inspect: Option<PathBuf> = None;
    let (mut eval_start, mut eval_count) = (1_000u64, 20u64);
    let mut snapshots: Vec<u64> = Vec::new();
    let mut variants: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let val = |k: usize| {
            args.get(i + k)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{} needs a value", args[i]))
        };
        match args[i].as_str() {
            "--scenario" => scenario = val(1)?,
            "--train-seeds" => {
                seed_start = val(1)?.parse()?;
                seed_count = val(2)?.parse()?;
                i += 1;
            }
            "--train-steps" => steps = val(1)?.parse()?,
            // Policy files after these many DQN steps too (one run, saved on the way).
            "--snapshots" => {
                snapshots = val(1)?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--out" => out = PathBuf::from(val(1)?),
            "--inspect" => inspect = Some(PathBuf::from(val(1)?)),
            "--seeds" => {
                eval_start = val(1)?.parse()?;
                eval_count = val(2)?.parse()?;
                i += 1;
            }
            // TOML pairs separated by ';' overriding DqnConfig::cluster_default.
            "--dqn" => config = overlay(&config, &val(1)?)?,
            // `NAME: PAIRS | NAME: PAIRS`: DQN phases over one warm start (--dqn's) per seed.
            "--variants" => {
                variants = val(1)?
                    .split('|')
                    .map(|v| {
                        let (name, pairs) = v.split_once(':').unwrap_or((v, ""));
                        (name.trim().to_string(), pairs.trim().to_string())
                    })
                    .collect();
            }
            other => anyhow::bail!("unknown argument {other:?}"),
        }
        i += 2;
    }
    if let Some(file) = inspect {
        return inspect_gaps(&file, &scenario, eval_start..eval_start + eval_count);
    }
    std::fs::create_dir_all(&out)?;
    println!(
        "| seed | steps | seconds | steps/s | episodes | train return (last 100) | td_loss | mean Q | file |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for seed in seed_start..seed_start + seed_count {
        let cfg = DqnConfig {
            seed,
            total_timesteps: steps,
            ..config.clone()
        };
        let envs = (0..cfg.num_envs)
            .map(|_| {
                ClusterEnv::builtin(&scenario, ClusterConfig::default())
                    .map(|e| Box::new(e) as Box<dyn Env>)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut env = SyncVectorEnv::new(envs, AutoresetMode::SameStep)?;
        let mut agent = EntityDqn::for_env(cfg.clone(), &env)?;
        let mut sink = VecSink::default();
        let start = Instant::now();
        // Variants: one warm start (a `learn` of 0 steps), then each DQN phase from a copy of it.
        let runs: Vec<(String, DqnConfig)> = if variants.is_empty() {
            vec![(String::new(), cfg.clone())]
        } else {
            agent.learn(&mut env, 0, &mut sink)?;
            variants
                .iter()
                .map(|(name, pairs)| Ok((format!("-{name}"), overlay(&cfg, pairs)?)))
                .collect::<anyhow::Result<_>>()?
        };
        for (tag, run_cfg) in runs {
            let mut agent = if variants.is_empty() {
                agent.clone()
            } else {
                agent.with_dqn_phase(run_cfg)?
            };
            let mut sink = sink.clone();
            // Snapshots: learn up to each budget in turn (each call resets the envs and continues
            // the same agent: replay, counters, target), saving a policy file after each.
            let mut stages: Vec<u64> = snapshots.iter().copied().filter(|&s| s < steps).collect();
            stages.sort_unstable();
            stages.dedup();
            for stage in stages {
                let summary = agent.learn(&mut env, stage, &mut sink)?;
                let path = out.join(format!(
                    "dqn-{scenario}-seed{seed}{tag}-{stage}.safetensors"
                ));
                export(&agent, &scenario, seed, summary)?.save(&path)?;
                eprintln!(
                    "seed {seed}{tag}: snapshot at {stage} steps, {:.1} s: {}",
                    start.elapsed().as_secs_f64(),
                    path.display()
                );
            }
            let summary = agent.learn(&mut env, steps, &mut sink)?;
            let seconds = start.elapsed().as_secs_f64();
            let last = |name: &str| sink.values(name).last().copied().unwrap_or(f64::NAN);
            if agent.warm_started() {
                eprintln!(
                    "seed {seed}{tag}: warm start: teacher acts on {:.3} of its steps; after \
                     pre-training: loss {:.4} (margin {:.4}), Q {:.3}, agreement with the teacher \
                     on its states {:.4}, acting steps matched {:.4}",
                    last("warm_start/teacher_act_share"),
                    last("warm_start/loss"),
                    last("warm_start/margin_loss"),
                    last("warm_start/q_values"),
                    last("warm_start/train_agreement"),
                    last("warm_start/train_act_recall"),
                );
            }
            let path = out.join(format!("dqn-{scenario}-seed{seed}{tag}.safetensors"));
            export(&agent, &scenario, seed, summary.clone())?.save(&path)?;
            println!(
                "| {seed}{tag} | {} | {seconds:.1} | {:.0} | {} | {} | {:.4} | {:.3} | {} |",
                summary.num_timesteps,
                summary.num_timesteps as f64 / seconds,
                summary.episodes,
                summary
                    .mean_return_last_100
                    .map_or("-".into(), |r| format!("{r:.1}")),
                last("losses/td_loss"),
                last("losses/q_values"),
                path.display()
            );
        }
    }
    Ok(())
}

/// `config` with TOML `pairs` (separated by ';') laid over it key by key.
fn overlay(config: &DqnConfig, pairs: &str) -> anyhow::Result<DqnConfig> {
    let mut table = toml::Table::try_from(config)?;
    table.extend(toml::from_str::<toml::Table>(&pairs.replace(';', "\n"))?);
    Ok(table.try_into()?)
}

/// The policy file of `agent` trained on `scenario` with `seed`.
fn export(
    agent: &EntityDqn,
    scenario: &str,
    seed: u64,
    summary: mend_agents::TrainSummary,
) -> anyhow::Result<mend_agents::PolicyFile> {
    Ok(agent.export(
        FeatureSchema::builtin_entities(),
        kind_names(),
        TrainingInfo {
            env_id: mend_envs::cluster::CLUSTER_ID.into(),
            scenario_family: Some(scenario.to_string()),
            seed,
            summary,
            config: serde_json::to_value(agent.config())?,
        },
    ))
}

/// Quantiles of `max_a Q(a) - Q(no-op)` over every step of no-op episodes, and of `Q(no-op)`.
fn inspect_gaps(
    file: &std::path::Path,
    scenario: &str,
    seeds: std::ops::Range<u64>,
) -> anyhow::Result<()> {
    let policy = mend_agents::dqn::load_policy(file, Some(&FeatureSchema::builtin_entities()))?;
    let (mut gaps, mut noop_q) = (Vec::new(), Vec::new());
    for seed in seeds {
        let mut env = ClusterEnv::builtin(scenario, ClusterConfig::default())?;
        let (mut obs, _) = env.reset(Some(seed), None)?;
        loop {
            let mask = env.action_mask();
            if let ActionScores::QValues(q) = policy.action_scores(&obs, mask.as_deref())? {
                let best_act = q[1..].iter().copied().fold(f32::NEG_INFINITY, f32::max);
                gaps.push(f64::from(best_act - q[0]));
                noop_q.push(f64::from(q[0]));
            } else {
                anyhow::bail!("{}: not a Q-value policy", file.display());
            }
            let step = env.step(0)?;
            obs = step.obs;
            if step.terminated || step.truncated {
                break;
            }
        }
    }
    let quantiles = |v: &mut Vec<f64>| -> String {
        v.sort_by(f64::total_cmp);
        [0.0, 0.1, 0.5, 0.9, 1.0]
            .iter()
            .map(|p| format!("{:.5}", v[((v.len() - 1) as f64 * p).round() as usize]))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let positive = gaps.iter().filter(|&&g| g > 0.0).count();
    println!(
        "{} steps; best action above no-op on {positive}",
        gaps.len()
    );
    println!(
        "gap max_a Q - Q(no-op), min/p10/p50/p90/max: {}",
        quantiles(&mut gaps)
    );
    println!(
        "Q(no-op),               min/p10/p50/p90/max: {}",
        quantiles(&mut noop_q)
    );
    Ok(())
}
