//! Agents and baselines on the cluster env, paired on the same evaluation seeds (issue 4, item 4).
//!
//! ```text
//! cargo run --release -p mend-agents --example cluster -- [--scenario tiny|default]
//!     [--seeds START COUNT] [--agents no-op,random,reactive,runbook,tabular]
//!     [--reactive "TOML; PAIRS"] [--runbook FILE]
//!     [--train-seeds START COUNT] [--train-steps N] [--tabular-steps N] [--train-scenario NAME]
//!     [--tabular-preset default|recommended|warm_started] [--tabular "TOML; PAIRS"]
//!     [--algo ppo] [--ppo-seeds K] [--ppo "TOML; PAIRS"] [--ppo-sampled]
//!     [--save-dir DIR] [--load-ppo FILE,FILE,...]
//! ```
//! Training speed (measured on `default`, 2-core machine under load, same policy bytes either way):
//! `CANDLE_NUM_THREADS=1` (candle's spin-waiting worker pool loses time when the cores are shared:
//! 105 -> 158 steps/s) and glibc settings that stop candle's large per-op buffers from being mapped
//! and unmapped on every operation, `MALLOC_MMAP_THRESHOLD_=1073741824
//! MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456` (337 -> 632 steps/s).
//! Warm start from the runbook (behaviour cloning, then PPO with a fading imitation term):
//! `--ppo "warm_start = { teacher = \"runbook\", steps = 23040 }"`; `--train-steps 0` gives the
//! behaviour-cloned policy alone. Each warm-started agent prints its fit and its agreement with the
//! teacher on held-out teacher states.
//! `--save-dir` writes each trained PPO policy to `DIR/ppo-<scenario>-seed<seed>.safetensors` as soon
//! as it is trained; `--load-ppo` evaluates policy files instead of (or beside) training (rows
//! `ppo#<file stem>`), so saved policies can be re-evaluated without retraining.
//! `--algo ppo` adds PPO with the entity network (`PpoConfig::cluster_default`, overridable with
//! `--ppo`): K agents (training seeds `START..START+K` of `--train-seeds`) each trained for
//! `--train-steps` on the training scenario, then evaluated deterministically on every evaluation
//! seed (rows `ppo#seed`, greedy = the no-op-first decision of `mend_agents::noop_first`;
//! `--ppo-sampled` adds rows `ppo#seed/sampled` acting on sampled actions). With several PPO policies,
//! rows `ppo mean of K (greedy|sampled)` average the K policies per evaluation seed. Paired tables
//! then give every agent's differences to no-op, random, reactive and runbook on the same seeds.
//! Defaults: scenario `default`, evaluation seeds 1000..1020, training/tuning seeds 0..8 (disjoint;
//! checked), tabular Q trained for 72,000 steps (100 episodes of `default`), all agents.
//! Tabular Q starts from `--tabular-preset` (`TabularConfig::default()`, `recommended()` or
//! `warm_started()`, the runbook warm start with timer buckets) and `--tabular` replaces top-level
//! fields of it (TOML pairs separated by `;`); a warm start prints its agreement with the teacher.
//! `--train-steps` sets both learners' budgets; `--tabular-steps` then overrides tabular Q's alone (so
//! PPO can run a short budget beside a fully trained table in one paired table). Each agent meets every seed once (common random numbers: same faults and load).
//! Metrics come from the simulator's ground truth, as `mend run` computes them: availability
//! (request-weighted share within SLO), incidents (SLO-violation episodes > 1 min), MTTR (mean fault
//! onset -> end over faults that ended), cost (infrastructure + actions, USD) and return. Columns show
//! mean ± half-width of the 95 % t-interval over seeds. Reading ground truth here is evaluation, not
//! acting: the policies see only observations and masks.

use std::time::Instant;

use mend_agents::baselines::reactive::{ReactiveConfig, ReactiveController};
use mend_agents::baselines::runbook::Runbook;
use mend_agents::baselines::{NoOpPolicy, RandomPolicy, Stateful};
use mend_agents::policy_file::TrainingInfo;
use mend_agents::tabular::{TabularConfig, TabularPolicy, TabularQ};
use mend_agents::{
    Agent, NullSink, Policy, PolicyFile, PolicyNet, Ppo, PpoConfig, VecSink, teacher_agreement,
};
use mend_envs::{AutoresetMode, ClusterConfig, ClusterEnv, Env, ParallelVectorEnv};
use mend_monitor::features::FeatureSchema;
use rayon::prelude::*;

mod common;

use common::{
    Metrics, kind_names, mean_over_policies, print_header, print_paired, print_row, run_episode,
};

/// Reset seed of the held-out teacher rollout on which a warm-started policy's agreement with its
/// teacher is measured (sub-env i uses this + i; disjoint from training and evaluation seeds).
const WARM_AGREEMENT_SEED: u64 = 777_000;

/// Suffix of the row of a warm-started PPO agent's behaviour-cloned policy (before PPO).
const BC_ONLY: &str = "/bc";

/// Writes `agent`'s policy file to `path` (directories created); `summary` of PPO's training, if
/// any ran.
fn save_policy(
    agent: &Ppo,
    path: &std::path::Path,
    scenario: &str,
    seed: u64,
    summary: Option<mend_agents::TrainSummary>,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let training = TrainingInfo {
        env_id: "mend/Cluster-v0".into(),
        scenario_family: Some(scenario.to_string()),
        seed,
        summary: summary.unwrap_or(mend_agents::TrainSummary {
            num_timesteps: 0,
            episodes: 0,
            mean_return_last_100: None,
            gradient_steps: 0,
        }),
        config: serde_json::to_value(agent.config())?,
    };
    agent
        .export(
            mend_agents::FeatureSchema::builtin_entities(),
            kind_names(),
            training,
        )
        .save(path)?;
    println!("  saved {}", path.display());
    Ok(())
}

/// Suffix of the row of a PPO policy evaluated with sampled rather than greedy actions.
const SAMPLED: &str = "/sampled";

/// Settings of the baselines under test.
struct Opts {
    reactive: ReactiveConfig,
    runbook: Option<String>,
    /// The trained tabular policy, if `tabular` is among the agents.
    tabular: Option<TabularPolicy>,
    /// Trained PPO policies by row name (`ppo#seed`).
    ppo: Vec<(String, PolicyNet)>,
}

/// A fresh policy for one episode of an env with `n` actions.
fn make_policy(agent: &str, n: usize, seed: u64, opts: &Opts) -> anyhow::Result<Box<dyn Policy>> {
    Ok(match agent {
        "no-op" => Box::new(NoOpPolicy { n_actions: n }),
        "random" => Box::new(RandomPolicy::new(n, seed)),
        "reactive" => Box::new(Stateful::new(
            ReactiveController::new(
                opts.reactive.clone(),
                FeatureSchema::builtin(),
                kind_names(),
            )?,
            n,
        )),
        "runbook" => Box::new(Stateful::new(
            match &opts.runbook {
                Some(path) => {
                    Runbook::from_file(path.as_ref(), FeatureSchema::builtin(), kind_names())?
                }
                None => Runbook::default_runbook(FeatureSchema::builtin(), kind_names())?,
            },
            n,
        )),
        "tabular" => Box::new(
            opts.tabular
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("tabular not trained"))?
                .with_n_actions(n),
        ),
        other => match opts.ppo.iter().find(|(name, _)| name == other) {
            Some((_, p)) => Box::new(p.clone()),
            None => anyhow::bail!("unknown agent {other:?}"),
        },
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut scenario = "default".to_string();
    let (mut start, mut count) = (1000u64, 20u64);
    let mut agents = "no-op,random,reactive,runbook,tabular".to_string();
    let mut opts = Opts {
        reactive: ReactiveConfig::tuned(),
        runbook: None,
        tabular: None,
        ppo: Vec::new(),
    };
    let mut ppo_seeds = 3u64;
    let mut ppo_sampled = false;
    let mut ppo_config = PpoConfig::cluster_default(0);
    let (mut train_start, mut train_count, mut train_steps) = (0u64, 8u64, 72_000u64);
    let mut tabular_steps: Option<u64> = None;
    let mut train_scenario: Option<String> = None;
    let mut save_dir: Option<std::path::PathBuf> = None;
    let mut load_ppo: Vec<std::path::PathBuf> = Vec::new();
    let mut tabular_preset = "default".to_string();
    let mut tabular_overrides = String::new();
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
            "--agents" => agents = val(1)?,
            // TOML key = value pairs separated by ';', e.g. "cooldown_s = 300.0; hpa_enabled = false".
            // Fields not given keep the documented Kubernetes defaults (not the tuned ones).
            "--reactive" => opts.reactive = toml::from_str(&val(1)?.replace(';', "\n"))?,
            "--runbook" => opts.runbook = Some(val(1)?),
            "--train-seeds" => {
                train_start = val(1)?.parse()?;
                train_count = val(2)?.parse()?;
                i += 1;
            }
            "--train-steps" => train_steps = val(1)?.parse()?,
            "--tabular-steps" => tabular_steps = Some(val(1)?.parse()?),
            // A flag: takes no value.
            "--ppo-sampled" => {
                ppo_sampled = true;
                i -= 1;
            }
            // TOML pairs separated by ';' overriding TabularConfig's defaults.
            "--tabular" => tabular_overrides = val(1)?.replace(';', "\n"),
            "--tabular-preset" => tabular_preset = val(1)?,
            "--train-scenario" => train_scenario = Some(val(1)?),
            "--algo" if val(1)? == "ppo" => agents.push_str(",ppo"),
            "--ppo-seeds" => ppo_seeds = val(1)?.parse()?,
            "--save-dir" => save_dir = Some(val(1)?.into()),
            "--load-ppo" => load_ppo.extend(val(1)?.split(',').map(std::path::PathBuf::from)),
            // TOML pairs separated by ';' overriding PpoConfig::cluster_default.
            "--ppo" => {
                let mut table = toml::Table::try_from(&ppo_config)?;
                table.extend(toml::from_str::<toml::Table>(&val(1)?.replace(';', "\n"))?);
                ppo_config = table.try_into()?;
            }
            other => anyhow::bail!("unknown argument {other:?}"),
        }
        i += 2;
    }
    let mut probe = ClusterEnv::builtin(&scenario, ClusterConfig::default())?;
    probe.reset(Some(start), None)?;
    let n_actions = probe
        .layout()
        .ok_or_else(|| anyhow::anyhow!("no layout"))?
        .n_actions();
    let seeds: Vec<u64> = (start..start + count).collect();
    let train_seeds: Vec<u64> = (train_start..train_start + train_count).collect();
    anyhow::ensure!(
        seeds.iter().all(|s| !train_seeds.contains(s)),
        "evaluation seeds {start}..{} overlap training seeds {train_start}..{}",
        start + count,
        train_start + train_count
    );
    if agents.split(',').any(|a| a == "tabular") {
        let scen = train_scenario.clone().unwrap_or_else(|| scenario.clone());
        let mut env = ClusterEnv::builtin(&scen, ClusterConfig::default())?;
        env.reset(Some(train_seeds[0]), None)?;
        let n = env
            .layout()
            .ok_or_else(|| anyhow::anyhow!("no layout"))?
            .n_actions();
        let mut q = TabularQ::new(
            tabular_config(&tabular_preset, &tabular_overrides)?,
            FeatureSchema::builtin(),
            mend_envs::cluster::N_KINDS,
            n,
            train_start,
        )?;
        let t0 = Instant::now();
        let steps = tabular_steps.unwrap_or(train_steps);
        let summary = q.learn(&mut env, &train_seeds, steps, &mut NullSink)?;
        println!(
            "tabular Q: {} steps on `{scen}` seeds {train_start}..{} in {:.1} s, mean return of the last \
             {} episodes {:.1}",
            summary.num_timesteps,
            train_start + train_count,
            t0.elapsed().as_secs_f64(),
            summary.episodes.min(100),
            summary.mean_return_last_100.unwrap_or(f64::NAN)
        );
        if let Some(r) = q.warm_start_report() {
            println!(
                "tabular warm start: {} teacher transitions (teacher acts on {:.3}), {} entries seeded \
                 ({} positive), greedy agreement {:.3}, act recall {:.3}",
                r.transitions,
                r.teacher_act_share,
                r.entries_seeded,
                r.entries_positive,
                r.agreement,
                r.act_recall
            );
        }
        opts.tabular = Some(q.policy());
    }
    let mut agent_list: Vec<String> = agents
        .split(',')
        .filter(|a| *a != "ppo")
        .map(str::to_string)
        .collect();
    if agents.split(',').any(|a| a == "ppo") {
        let scen = train_scenario.clone().unwrap_or_else(|| scenario.clone());
        for seed in train_start..train_start + ppo_seeds {
            let envs = (0..ppo_config.num_envs)
                .map(|_| -> anyhow::Result<Box<dyn Env>> {
                    Ok(Box::new(ClusterEnv::builtin(
                        &scen,
                        ClusterConfig::default(),
                    )?))
                })
                .collect::<anyhow::Result<_>>()?;
            // The persistent worker crew (envs' `with_threads`): faster than rayon's pool per step.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let mut env = ParallelVectorEnv::with_threads(envs, AutoresetMode::SameStep, threads)?;
            let config = PpoConfig {
                seed,
                total_timesteps: train_steps,
                ..ppo_config.clone()
            };
            let mut agent = Ppo::for_env(config, &env)?;
            let t0 = Instant::now();
            let mut sink = VecSink::default();
            let name = format!("ppo#{seed}");
            if agent.config().warm_start.is_some() {
                // The behaviour-cloned policy alone (row `ppo#seed/bc`), before PPO continues.
                agent.warm_start(&mut env, &mut sink)?;
                println!(
                    "ppo seed {seed}: warm start took {:.1} s",
                    t0.elapsed().as_secs_f64()
                );
                let bc_name = format!("{name}{BC_ONLY}");
                if let Some(dir) = &save_dir {
                    let path = dir.join(format!("ppo-{scen}-seed{seed}-bc.safetensors"));
                    save_policy(&agent, &path, &scen, seed, None)?;
                }
                opts.ppo.push((bc_name.clone(), agent.policy_net()));
                agent_list.push(bc_name);
            }
            let summary = agent.learn(&mut env, train_steps, &mut sink)?;
            let secs = t0.elapsed().as_secs_f64();
            if let Some(ws) = agent.config().warm_start.clone() {
                let last = |name: &str| sink.values(name).last().copied().unwrap_or(f64::NAN);
                println!(
                    "ppo seed {seed}: warm start from the {}: teacher acts on {:.3} of its steps, \
                     final bc loss {:.4}, value loss {:.4}, agreement on its training states {:.4}",
                    ws.teacher,
                    last("warm_start/teacher_act_share"),
                    last("warm_start/bc_loss"),
                    last("warm_start/value_loss"),
                    last("warm_start/train_agreement"),
                );
                // Held-out teacher states: the teacher drives 720 decisions per sub-env from
                // seed WARM_AGREEMENT_SEED (disjoint from training and evaluation seeds).
                let a = teacher_agreement(
                    &agent.policy_net(),
                    &mut env,
                    &ws,
                    720,
                    WARM_AGREEMENT_SEED,
                )?;
                println!(
                    "ppo seed {seed}: agreement with the teacher on held-out teacher states: accuracy \
                     {:.4} (always no-op {:.4}), acting steps matched {:.4} of {}, false acts {}",
                    a.accuracy(),
                    a.noop_accuracy(),
                    a.act_recall(),
                    a.teacher_acts,
                    a.false_acts
                );
            }
            println!(
                "ppo seed {seed}: {} steps on `{scen}` in {secs:.1} s ({:.0} steps/s), mean return of \
                 the last {} episodes {:.1}",
                summary.num_timesteps,
                summary.num_timesteps as f64 / secs,
                summary.episodes.min(100),
                summary.mean_return_last_100.unwrap_or(f64::NAN)
            );
            if let Some(dir) = &save_dir {
                let path = dir.join(format!("ppo-{scen}-seed{seed}.safetensors"));
                save_policy(&agent, &path, &scen, seed, Some(summary))?;
            }
            opts.ppo.push((name.clone(), agent.policy_net()));
            if ppo_sampled {
                agent_list.push(format!("{name}{SAMPLED}"));
            }
            agent_list.push(name);
        }
    }
    for path in &load_ppo {
        let file = PolicyFile::load(path, None)?;
        let stem = path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into(),
        );
        // `--save-dir`'s behaviour-cloned files (`...-bc`) come back as `/bc` rows.
        let name = match stem.strip_suffix("-bc") {
            Some(base) => format!("ppo#{base}{BC_ONLY}"),
            None => format!("ppo#{stem}"),
        };
        opts.ppo.push((name.clone(), file.policy));
        if ppo_sampled {
            agent_list.push(format!("{name}{SAMPLED}"));
        }
        agent_list.push(name);
    }
    println!(
        "scenario `{scenario}`, seeds {start}..{}, {} entities\n",
        start + count,
        (n_actions - 1) / mend_envs::cluster::N_KINDS
    );
    print_header(true);
    let mut kinds_used = Vec::new();
    let mut results: Vec<(String, Vec<Metrics>)> = Vec::new();
    for agent in agent_list.iter().map(String::as_str) {
        let t0 = Instant::now();
        let rows: Vec<Metrics> = seeds
            .par_iter()
            .map(|&s| {
                let (name, sampled) = match agent.strip_suffix(SAMPLED) {
                    Some(name) => (name, true),
                    None => (agent, false),
                };
                let p = make_policy(name, n_actions, s, &opts)?;
                run_episode(&scenario, p.as_ref(), s, !sampled)
            })
            .collect::<anyhow::Result<_>>()?;
        print_row(agent, &rows, Some(Some(t0.elapsed().as_secs_f64())));
        let names = kind_names();
        let used: Vec<String> = (0..names.len())
            .filter_map(|k| {
                let total: u64 = rows.iter().map(|m| m.by_kind[k]).sum();
                (total > 0).then(|| format!("{}={total}", names[k]))
            })
            .collect();
        kinds_used.push(format!("{agent}: {}", used.join(" ")));
        results.push((agent.to_string(), rows));
    }
    // PPO over its training seeds: per evaluation seed, the mean over the trained policies (the
    // runner's unit, so the interval is over evaluation seeds).
    for (label, suffix) in [
        ("greedy", ""),
        ("sampled", SAMPLED),
        ("behaviour-cloned", BC_ONLY),
    ] {
        let members: Vec<&Vec<Metrics>> = results
            .iter()
            .filter(|(a, _)| {
                let tail = a
                    .rsplit_once('/')
                    .map_or("", |(_, t)| &a[a.len() - t.len() - 1..]);
                a.starts_with("ppo#") && tail == suffix
            })
            .map(|(_, rows)| rows)
            .collect();
        if members.len() > 1 {
            let name = format!("ppo mean of {} ({label})", members.len());
            let rows = mean_over_policies(&members);
            print_row(&name, &rows, Some(None));
            results.push((name, rows));
        }
    }
    print_paired(
        &results,
        &["no-op", "random", "reactive", "runbook"],
        &|_| true,
    );
    println!("\nactions by kind (all seeds):");
    for line in kinds_used {
        println!("  {line}");
    }
    Ok(())
}

/// Tabular Q's config: the `preset` (`default`, `recommended`, `warm_started`) with the top-level
/// fields of `overrides` (TOML) replaced.
fn tabular_config(preset: &str, overrides: &str) -> anyhow::Result<TabularConfig> {
    let base = match preset {
        "default" => TabularConfig::default(),
        "recommended" => TabularConfig::recommended(),
        "warm_started" => TabularConfig::warm_started(),
        other => anyhow::bail!(
            "--tabular-preset {other:?}: expected default, recommended or warm_started"
        ),
    };
    let mut table = toml::Table::try_from(&base)?;
    let extra: toml::Table =
        toml::from_str(overrides).map_err(|e| anyhow::anyhow!("--tabular {overrides:?}: {e}"))?;
    table.extend(extra);
    Ok(table.try_into()?)
}
