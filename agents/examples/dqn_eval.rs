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
//!
//! Session 5 (DQfD warm start from the runbook, `dqn_cluster` with `--dqn 'start_e = 0.01; end_e =
//! 0.01; learning_starts = 1000; warm_start = { teacher = "runbook", steps = 23040, pretrain_steps =
//! 3000, act_weight = 10.0 }'`, training seeds 0-2, `default`, test seeds 1000-1019, margin 0; busy
//! machine, provisional): pre-training alone (`--train-steps 0`), mean of 3 policies: availability
//! 0.877 vs no-op 0.854, paired +0.0226 ± 0.0124, incidents -7.2 ± 3.9, MTTR -159 ± 76 s, cost +9.8
//! USD; vs reactive -0.007 ± 0.017 (n.s.), vs runbook -0.041 ± 0.018. After 20,000 further DQN steps:
//! +0.0120 ± 0.0070 vs no-op (fine-tuning erodes the demonstrations' lesson: fewer actions, 53 vs 60).
//!
//! Session 6 (busy machine, provisional; train and evaluate with ONE build: the others' uncommitted
//! changes to the env or the forward moved the same files' scores by 0.02 between builds). One warm
//! start per training seed (`dqn_cluster --dqn 'start_e = 0.01; end_e = 0.01; learning_starts =
//! 1000; warm_start = { teacher = "runbook", steps = 23040, pretrain_steps = 3000, act_weight =
//! 10.0 }' --variants ...`), DQN phases of 20,000 steps from copies of it, seeds 0-2, test seeds
//! 1000-1019. Pre-trained only: 0.8978 (vs no-op +0.0434 ± 0.0204, vs reactive +0.0136 ± 0.0191
//! n.s., vs runbook -0.0205 ± 0.0085). After 20,000 steps: lr 3e-5 + demo_ratio 0.5 (the new
//! defaults) 0.8964 (10,000 steps: 0.9009), i.e. kept; the session-5 phase (lr 5e-4, ratio 0.25)
//! 0.8932 on seeds 0 and 2 (pre-trained 0.8909 on those; on the build before, seeds 0-2, it eroded
//! 0.8927 -> 0.8693 as in session 5); target period 8,000 0.8953 (seeds 0-1 only,
//! pre-trained 0.8956 on those); lr 1e-4 alone and demo_ratio 0.5 alone: seed 2 only, 0.8953 and
//! 0.8839 vs 0.9025 pre-trained. The dueling head pre-trains to a policy that acts twice as often
//! (216 actions per episode) and lower availability (0.821, seeds 0-1, another build).

use std::path::PathBuf;

use mend_agents::baselines::reactive::{ReactiveConfig, ReactiveController};
use mend_agents::baselines::runbook::Runbook;
use mend_agents::baselines::{NoOpPolicy, RandomPolicy, Stateful};
use mend_agents::dqn::decision::manifest_noop_margin;
use mend_agents::dqn::{DqnEntityPolicy, policy_from_file};
use mend_agents::{FeatureSchema, Policy, PolicyFile, PolicyNet};
use mend_envs::{ClusterConfig, ClusterEnv, Env};
use rayon::prelude::*;

mod common;

use common::{Metrics, kind_names, mean_over_policies, print_header, print_paired, print_row};

/// A fresh baseline policy for one episode of an env with `n` actions.
fn baseline(agent: &str, n: usize, seed: u64) -> anyhow::Result<Box<dyn Policy>> {
    let schema = mend_monitor::features::FeatureSchema::builtin();
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
                .map(|&s| {
                    common::run_episode(&scenario, baseline(agent, n_actions, s)?.as_ref(), s, true)
                })
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
                PolicyFile::load(f, Some(&FeatureSchema::builtin_entities()))?,
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
                .map(|&s| common::run_episode(&scenario, policy.as_ref(), s, true))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let label = margin.map_or(format!("file {recorded}"), |m| m.to_string());
            rows.push((format!("{stem} (margin {label})"), metrics));
            members.push(rows.len() - 1);
        }
        if members.len() > 1 {
            let refs: Vec<&Vec<Metrics>> = members.iter().map(|&k| &rows[k].1).collect();
            let label = margin.map_or("file".to_string(), |m| m.to_string());
            let mean = mean_over_policies(&refs);
            rows.push((
                format!("dqn mean of {} (margin {label})", members.len()),
                mean,
            ));
        }
    }
    println!(
        "scenario {scenario}, evaluation seeds {start}..{}",
        start + count
    );
    print_header(false);
    for (agent, m) in &rows {
        print_row(agent, m, None);
    }
    print_paired(&rows, &["no-op", "random", "reactive", "runbook"], &|a| {
        a.contains("dqn") || a.contains("margin")
    });
    Ok(())
}
