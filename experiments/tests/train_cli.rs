//! End-to-end tests of learned agents in experiments, through the real binary: `mend run` trains a
//! tabular agent, exports loadable policy files and learning curves and evaluates every training
//! seed's policy; `mend train` alone, then `mend eval`; an interrupted training resumes from its last
//! checkpoint to the same bytes; shards and merge equal a single run; results do not depend on the
//! thread count.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{MEND, mend, read};

/// Trains on `tiny`, evaluates on a held-out copy of it (a file, so a different scenario argument)
/// with small budgets: 2 training seeds x 3 checkpoints of 240 steps, 2 evaluation seeds.
fn experiment(heldout: &Path) -> String {
    format!(
        r#"
[experiment]
name = "learned"
seed = 4

[scenarios]
train = ["tiny"]
eval = ["{}"]

[seeds]
train = {{ start = 0, count = 2 }}
eval = {{ start = 100, count = 2 }}

[budget]
train_timesteps = 720
checkpoint_timesteps = 240

[[agents]]
kind = "no-op"

[[agents]]
kind = "tabular"
name = "q"
params = {{ num_envs = 2, min_visits = 1, exploration_fraction = 0.8 }}
"#,
        heldout.display()
    )
}

const RUN: &str = "learned/learned-seed4";

/// Files compared for byte identity.
const FILES: &[&str] = &[
    "config.toml",
    "policies/q-train0.safetensors",
    "policies/q-train1.safetensors",
    "learning_curves.csv",
    "episodes.csv",
    "summary.json",
    "summary.md",
];

/// Writes the experiment and its held-out scenario into `dir`; returns the experiment's path.
fn setup(dir: &Path) -> PathBuf {
    let heldout = dir.join("tiny-heldout.toml");
    std::fs::write(&heldout, include_str!("../../scenarios/tiny.toml")).unwrap();
    let path = dir.join("learned.toml");
    std::fs::write(&path, experiment(&heldout)).unwrap();
    path
}

fn run_all(exp: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mend(&args)
}

#[test]
fn run_trains_exports_loadable_policies_and_evaluates_each_training_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = setup(tmp.path());
    let out = tmp.path().join("r");
    run_all(&exp, &out, &[]);
    let run = out.join(RUN);
    for file in FILES {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    // Policy files load as tabular policies of the cluster's feature schema.
    for seed in [0, 1] {
        let path = run.join(format!("policies/q-train{seed}.safetensors"));
        let (manifest, _) = mend_agents::tabular::file::load(
            &path,
            &mend_monitor::features::FeatureSchema::builtin(),
            1 + mend_sim::ActionKind::ALL.len(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(manifest.training.seed, seed);
        assert!(manifest.training.summary.num_timesteps >= 720);
    }
    // Learning curves: exactly the agreed columns, CleanRL metric names, both seeds, steps in order.
    let curves = String::from_utf8(read(&run.join("learning_curves.csv"))).unwrap();
    let mut lines = curves.lines();
    assert_eq!(
        lines.next(),
        Some("agent,train_seed,global_step,metric,value")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 5 && r[0] == "q"));
    let returns: Vec<&Vec<&str>> = rows
        .iter()
        .filter(|r| r[3] == "charts/episodic_return")
        .collect();
    for seed in ["0", "1"] {
        let steps: Vec<u64> = returns
            .iter()
            .filter(|r| r[1] == seed)
            .map(|r| r[2].parse().unwrap())
            .collect();
        // 720 steps on 2 envs of 120-step episodes: at least 4 finished episodes per seed.
        assert!(steps.len() >= 4, "seed {seed}: {steps:?}");
        assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
        assert!(
            returns
                .iter()
                .all(|r| r[4].parse::<f64>().unwrap().is_finite())
        );
    }
    // Every training seed's policy met every evaluation seed: 2 x 2 rows for q, 2 for no-op.
    let episodes = String::from_utf8(read(&run.join("episodes.csv"))).unwrap();
    let header: Vec<&str> = episodes.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (agent, train_seed, ttd) = (col("agent"), col("train_seed"), col("ttd_s"));
    assert!(header.contains(&"false_alerts"));
    let body: Vec<Vec<&str>> = episodes
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let q: Vec<&Vec<&str>> = body.iter().filter(|r| r[agent] == "q").collect();
    assert_eq!(q.len(), 4);
    assert_eq!(
        q.iter().filter(|r| r[train_seed] == "1").count(),
        2,
        "{episodes}"
    );
    assert!(
        body.iter()
            .filter(|r| r[agent] == "no-op")
            .all(|r| r[train_seed].is_empty())
    );
    assert!(body.iter().all(|r| !r[ttd].is_empty()));
    // The summary averages over training seeds per evaluation episode and reports their spread.
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&run.join("summary.json"))).unwrap();
    let q = &summary["agents"][1];
    assert_eq!(q["agent"], "q");
    assert_eq!(q["episodes"], 2);
    assert_eq!(q["train_seeds"], 2);
    assert_eq!(q["across_train_seeds"]["reward"]["n"], 2);
    assert!(q["vs_baseline"]["reward"]["mean"].is_number());
    let md = String::from_utf8(read(&run.join("summary.md"))).unwrap();
    assert!(md.contains("Spread over training seeds"), "{md}");
}

#[test]
fn train_alone_then_eval_gives_the_same_results_as_run() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = setup(tmp.path());
    let whole = tmp.path().join("whole");
    run_all(&exp, &whole, &[]);
    let split = tmp.path().join("split");
    let e = exp.to_str().unwrap();
    let o = split.to_str().unwrap();
    // Evaluating before training names the missing policy file.
    let early = Command::new(MEND)
        .args(["eval", e, "-q", "--out", o])
        .output()
        .unwrap();
    assert!(!early.status.success());
    let log = String::from_utf8_lossy(&early.stderr);
    assert!(
        log.contains("q-train0.safetensors") && log.contains("mend train"),
        "{log}"
    );
    let trained = mend(&["train", e, "-q", "--out", o]);
    let log = String::from_utf8_lossy(&trained.stderr);
    assert!(
        log.contains("2 training jobs (2 run, 0 already done)"),
        "{log}"
    );
    assert!(split.join(RUN).join("learning_curves.csv").is_file());
    assert!(!split.join(RUN).join("summary.json").exists());
    mend(&["eval", e, "-q", "--out", o]);
    for file in FILES {
        assert_eq!(
            read(&split.join(RUN).join(file)),
            read(&whole.join(RUN).join(file)),
            "{file}: train + eval differs from run"
        );
    }
}

#[test]
fn interrupted_training_resumes_from_its_checkpoint_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = setup(tmp.path());
    let whole = tmp.path().join("whole");
    run_all(&exp, &whole, &[]);
    let killed = tmp.path().join("killed");
    let first = run_all(&exp, &killed, &["--stop-after-checkpoints", "1"]);
    let log = String::from_utf8_lossy(&first.stderr);
    assert!(log.contains("2 stopped at a checkpoint"), "{log}");
    let work = killed.join(RUN).join("train/q/train-0");
    assert!(work.join("checkpoint.safetensors").is_file());
    assert!(
        !killed
            .join(RUN)
            .join("policies/q-train0.safetensors")
            .exists()
    );
    assert!(!killed.join(RUN).join("summary.json").exists());
    // A second interruption moves on from the first checkpoint, not from scratch.
    run_all(&exp, &killed, &["--stop-after-checkpoints", "1"]);
    let curves = String::from_utf8(read(&work.join("curves.csv"))).unwrap();
    let last_step: u64 = curves
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(2)?.parse().ok())
        .max()
        .unwrap();
    assert!((480..720).contains(&last_step), "{last_step}");
    run_all(&exp, &killed, &[]);
    for file in FILES {
        assert_eq!(
            read(&killed.join(RUN).join(file)),
            read(&whole.join(RUN).join(file)),
            "{file}: resumed run differs from the uninterrupted one"
        );
    }
    // Everything done: a further run trains and evaluates nothing.
    let again = run_all(&exp, &killed, &[]);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(
        log.contains("2 training jobs (0 run, 2 already done)"),
        "{log}"
    );
    assert!(
        log.contains("6 evaluation jobs (0 run, 6 already done)"),
        "{log}"
    );
}

#[test]
fn shards_with_learned_agents_merge_to_the_single_run_and_threads_do_not_matter() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = setup(tmp.path());
    let single = tmp.path().join("single");
    run_all(&exp, &single, &["--threads", "1"]);
    let two = tmp.path().join("two");
    run_all(&exp, &two, &["--threads", "2"]);
    let mut shard_dirs = Vec::new();
    for i in 0..2 {
        let out = tmp.path().join(format!("shard{i}"));
        let shard = format!("{i}/2");
        mend(&[
            "sweep",
            exp.to_str().unwrap(),
            "-q",
            "--shard",
            &shard,
            "--out",
            out.to_str().unwrap(),
        ]);
        let dir = out.join(RUN);
        // Each shard trained only its own training seed's policy.
        let policies: Vec<_> = std::fs::read_dir(dir.join("policies"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(policies, vec![format!("q-train{i}.safetensors")]);
        shard_dirs.push(dir.to_str().unwrap().to_string());
    }
    let merged = tmp.path().join("merged");
    let mut args = vec!["merge", "--into", merged.to_str().unwrap()];
    args.extend(shard_dirs.iter().map(String::as_str));
    mend(&args);
    for file in FILES {
        let reference = read(&single.join(RUN).join(file));
        assert_eq!(
            read(&merged.join(file)),
            reference,
            "{file}: merged shards differ from the single run"
        );
        assert_eq!(
            read(&two.join(RUN).join(file)),
            reference,
            "{file}: --threads 2 differs from --threads 1"
        );
    }
}

#[test]
fn a_dqn_agent_trains_exports_a_q_value_entity_policy_and_is_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    let heldout = tmp.path().join("tiny-heldout.toml");
    std::fs::write(&heldout, include_str!("../../scenarios/tiny.toml")).unwrap();
    let exp = tmp.path().join("dqn.toml");
    let text = experiment(&heldout)
        .replace("[seeds]\ntrain = { start = 0, count = 2 }", "[seeds]\ntrain = { start = 0, count = 1 }")
        .replace(
            "kind = \"tabular\"\nname = \"q\"\nparams = { num_envs = 2, min_visits = 1, exploration_fraction = 0.8 }",
            "kind = \"dqn\"\nname = \"q\"\nparams = { num_envs = 2, learning_starts = 100, batch_size = 32 }",
        );
    assert!(text.contains("kind = \"dqn\""), "{text}");
    std::fs::write(&exp, text).unwrap();
    let out = tmp.path().join("r");
    run_all(&exp, &out, &[]);
    let run = out.join(RUN);
    let path = run.join("policies/q-train0.safetensors");
    let file =
        mend_agents::PolicyFile::load(&path, Some(&mend_agents::FeatureSchema::builtin_entities()))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(file.manifest.algorithm, "dqn");
    let mend_agents::PolicyNet::Entity(net) = &file.policy else {
        panic!("{}: not an entity network", path.display());
    };
    assert_eq!(net.output, mend_agents::policy::OutputKind::QValues);
    let episodes = String::from_utf8(read(&run.join("episodes.csv"))).unwrap();
    let q_rows = episodes.lines().filter(|l| l.contains(",q,")).count();
    assert_eq!(q_rows, 2, "{episodes}");
}

#[test]
fn an_agent_with_its_own_train_timesteps_trains_that_many_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let heldout = tmp.path().join("tiny-heldout.toml");
    std::fs::write(&heldout, include_str!("../../scenarios/tiny.toml")).unwrap();
    let exp = tmp.path().join("budgets.toml");
    let text = experiment(&heldout).replace(
        "[seeds]\ntrain = { start = 0, count = 2 }",
        "[seeds]\ntrain = { start = 0, count = 1 }",
    ) + "\n[[agents]]\nkind = \"tabular\"\nname = \"short\"\ntrain_timesteps = 480\nparams = { num_envs = 2, min_visits = 1 }\n";
    std::fs::write(&exp, text).unwrap();
    let out = tmp.path().join("r");
    run_all(&exp, &out, &[]);
    let run = out.join(RUN);
    let trained = |name: &str| {
        let path = run.join(format!("policies/{name}-train0.safetensors"));
        let (metadata, _) = mend_agents::store::read_file(&path).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_str(&metadata[mend_agents::policy_file::MANIFEST_KEY]).unwrap();
        manifest["training"]["summary"]["num_timesteps"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: {manifest}", path.display()))
    };
    assert_eq!(trained("q"), 720, "the [budget] default");
    assert_eq!(trained("short"), 480, "the agent's own budget");
}

#[test]
fn a_warm_started_agent_with_zero_steps_is_its_pre_trained_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let heldout = tmp.path().join("tiny-heldout.toml");
    std::fs::write(&heldout, include_str!("../../scenarios/tiny.toml")).unwrap();
    let exp = tmp.path().join("warm.toml");
    let text = experiment(&heldout).replace(
        "[seeds]\ntrain = { start = 0, count = 2 }",
        "[seeds]\ntrain = { start = 0, count = 1 }",
    ) + "\n[[agents]]\nkind = \"ppo\"\nname = \"cloned\"\ntrain_timesteps = 0\n\
           params = { num_envs = 2, num_steps = 16, warm_start = { teacher = \"runbook\", steps = 64, epochs = 1 } }\n";
    std::fs::write(&exp, text).unwrap();
    let out = tmp.path().join("r");
    run_all(&exp, &out, &[]);
    let run = out.join(RUN);
    let path = run.join("policies/cloned-train0.safetensors");
    let (metadata, _) =
        mend_agents::store::read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: serde_json::Value =
        serde_json::from_str(&metadata[mend_agents::policy_file::MANIFEST_KEY]).unwrap();
    assert_eq!(manifest["training"]["summary"]["num_timesteps"], 0);
    // The warm start ran: its curve rows are there, at step 0.
    let curves = String::from_utf8(read(&run.join("learning_curves.csv"))).unwrap();
    let warm: Vec<&str> = curves
        .lines()
        .filter(|l| l.contains("cloned") && l.contains("warm_start/train_agreement"))
        .collect();
    assert_eq!(warm.len(), 1, "{curves}");
    let episodes = String::from_utf8(read(&run.join("episodes.csv"))).unwrap();
    assert_eq!(
        episodes.lines().filter(|l| l.contains(",cloned,")).count(),
        2,
        "{episodes}"
    );
}
