//! End-to-end tests of `mend run`, `sweep`, `merge` and `report` through the real binary: the
//! results folder is complete, the summary parses, plots are non-empty PNGs, results do not depend
//! on the thread count, an interrupted run resumes, and merged shards equal a single run byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{MEND, mend, read};

/// An experiment on the `tiny` scenario with small budgets.
const TINY: &str = r#"
[experiment]
name = "tiny-e2e"
seed = 5

[scenarios]
eval = ["tiny"]

[seeds]
eval = { start = 10, count = 3 }

[[agents]]
kind = "no-op"

[[agents]]
kind = "random"
params = { act_probability = 0.2 }
"#;

/// An experiment on `default` (faults every episode), for comparisons that need varied numbers.
const FAULTY: &str = r#"
[experiment]
name = "faulty"
seed = 2

[scenarios]
eval = ["default"]

[seeds]
eval = { start = 500, count = 3 }

[[agents]]
kind = "no-op"

[[agents]]
kind = "random"
params = { act_probability = 0.05 }
"#;

fn write_experiment(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("experiment.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Result files compared for byte identity (plots included: rendering is deterministic).
const RESULT_FILES: &[&str] = &[
    "config.toml",
    "episodes.csv",
    "learning_curves.csv",
    "summary.json",
    "summary.md",
    "plots/availability.svg",
    "plots/mttr_cdf.svg",
    "plots/availability.png",
    "plots/mttr_cdf.png",
];

#[test]
fn run_on_tiny_writes_a_complete_results_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), TINY);
    let out = tmp.path().join("results");
    let output = mend(&["run", exp.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let run = out.join("tiny-e2e/tiny-e2e-seed5");
    for file in RESULT_FILES {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&run.join("summary.json"))).unwrap();
    assert_eq!(summary["run_id"], "tiny-e2e-seed5");
    assert_eq!(summary["baseline"], "no-op");
    let agents = summary["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 2);
    assert_eq!(agents[0]["episodes"], 3);
    assert!(agents[0]["vs_baseline"].is_null());
    assert!(agents[1]["vs_baseline"]["availability"]["mean"].is_number());
    // The random agent acted (20 % of 120 decisions per episode); the no-op never did.
    assert_eq!(agents[0]["metrics"]["actions_taken"]["mean"], 0.0);
    assert!(
        agents[1]["metrics"]["actions_taken"]["mean"]
            .as_f64()
            .unwrap()
            > 5.0
    );
    let csv = String::from_utf8(read(&run.join("episodes.csv"))).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 3);
    for png in ["plots/availability.png", "plots/mttr_cdf.png"] {
        let bytes = read(&run.join(png));
        assert!(bytes.len() > 1000, "{png} is {} bytes", bytes.len());
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png} is a PNG");
    }
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("| random (3) |"), "{table}");
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), FAULTY);
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    for (out, threads) in [(&one, "1"), (&two, "2")] {
        mend(&[
            "run",
            exp.to_str().unwrap(),
            "--quiet",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    let summary = read(&one.join("faulty/faulty-seed2/summary.json"));
    let text = String::from_utf8(summary.clone()).unwrap();
    assert!(text.contains("\"mttr_s\""), "{text}");
    for file in RESULT_FILES {
        assert_eq!(
            read(&one.join("faulty/faulty-seed2").join(file)),
            read(&two.join("faulty/faulty-seed2").join(file)),
            "{file} differs between --threads 1 and 2"
        );
    }
}

#[test]
fn a_different_seed_gives_a_different_run() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), FAULTY);
    let out = tmp.path().join("r");
    mend(&[
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    mend(&[
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let config = String::from_utf8(read(&out.join("faulty/faulty-seed3/config.toml"))).unwrap();
    assert!(config.contains("seed = 3"), "{config}");
}

#[test]
fn an_interrupted_run_resumes_and_skips_finished_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), FAULTY);
    let out = tmp.path().join("r");
    mend(&[
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = out.join("faulty/faulty-seed2");
    let complete: Vec<Vec<u8>> = RESULT_FILES.iter().map(|f| read(&run.join(f))).collect();
    // Simulate a kill part-way: two jobs never finished and no results were written.
    std::fs::remove_file(run.join("jobs/default/random/seed-501.csv")).unwrap();
    std::fs::remove_file(run.join("jobs/default/no-op/seed-502.csv")).unwrap();
    std::fs::remove_file(run.join("summary.json")).unwrap();
    std::fs::remove_file(run.join("episodes.csv")).unwrap();
    let output = mend(&[
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    let log = String::from_utf8(output.stderr).unwrap();
    assert!(
        log.contains("6 evaluation jobs (2 run, 4 already done)"),
        "{log}"
    );
    for (file, before) in RESULT_FILES.iter().zip(&complete) {
        assert_eq!(
            &read(&run.join(file)),
            before,
            "{file} differs after resuming"
        );
    }
}

#[test]
fn merged_shards_equal_a_single_run_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), FAULTY);
    let single = tmp.path().join("single");
    mend(&[
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--out",
        single.to_str().unwrap(),
    ]);
    let mut shard_dirs = Vec::new();
    for i in 0..3 {
        let out = tmp.path().join(format!("shard{i}"));
        let shard = format!("{i}/3");
        mend(&[
            "sweep",
            exp.to_str().unwrap(),
            "-q",
            "--shard",
            &shard,
            "--out",
            out.to_str().unwrap(),
        ]);
        let dir = out.join("faulty/faulty-seed2");
        assert!(
            !dir.join("summary.json").exists(),
            "a shard writes no summary"
        );
        shard_dirs.push(dir.to_str().unwrap().to_string());
    }
    let merged = tmp.path().join("merged");
    let mut args = vec!["merge", "--into", merged.to_str().unwrap()];
    args.extend(shard_dirs.iter().map(String::as_str));
    mend(&args);
    for file in RESULT_FILES {
        assert_eq!(
            read(&merged.join(file)),
            read(&single.join("faulty/faulty-seed2").join(file)),
            "{file}: merged shards differ from the single run"
        );
    }
}

#[test]
fn merging_an_incomplete_sweep_names_the_missing_job() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), TINY);
    let out = tmp.path().join("s");
    mend(&[
        "sweep",
        exp.to_str().unwrap(),
        "-q",
        "--shard",
        "0/2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let dir = out.join("tiny-e2e/tiny-e2e-seed5");
    let output = Command::new(MEND)
        .args(["merge", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains("has no results") && err.contains("seed 11"),
        "{err}"
    );
}

#[test]
fn a_malformed_experiment_fails_cleanly_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), &TINY.replace("count = 3", "count = 0"));
    let output = Command::new(MEND)
        .args([
            "run",
            exp.to_str().unwrap(),
            "--out",
            tmp.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains("experiment.toml") && err.contains("seeds.eval.count"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn report_rewrites_results_from_job_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), TINY);
    let out = tmp.path().join("r");
    mend(&[
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = out.join("tiny-e2e/tiny-e2e-seed5");
    let before = read(&run.join("summary.md"));
    std::fs::remove_dir_all(run.join("plots")).unwrap();
    let output = mend(&["report", run.to_str().unwrap()]);
    assert_eq!(output.stdout, before);
    assert!(run.join("plots/mttr_cdf.png").is_file());
}

#[test]
fn recorded_episodes_replay_exactly_and_report_differences() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write_experiment(tmp.path(), FAULTY);
    let out = tmp.path().join("r");
    mend(&[
        "eval",
        exp.to_str().unwrap(),
        "-q",
        "--record",
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = out.join("faulty/faulty-seed2");
    let trace = run.join("traces/default/random/seed-501-ep0.jsonl");
    assert!(trace.is_file(), "trace recorded");
    let output = mend(&[
        "replay",
        trace.to_str().unwrap(),
        "--agent",
        "random",
        "--against",
        "no-op",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // The no-op facing the recorded faults of seed 501 is the no-op's own evaluation episode of seed
    // 501: the same faults and the same traffic, so the same ground truth.
    let csv = String::from_utf8(read(&run.join("episodes.csv"))).unwrap();
    let noop_row = csv
        .lines()
        .find(|l| l.starts_with("default,no-op,501,"))
        .unwrap();
    let column = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "availability")
        .unwrap();
    let recorded_availability: f64 = noop_row.split(',').nth(column).unwrap().parse().unwrap();
    let replayed = report["reference"]["availability"].as_f64().unwrap();
    assert_eq!(replayed, recorded_availability, "{report}");
    let diff = report["difference"]["actions_taken"].as_f64().unwrap();
    assert!(
        diff > 0.0,
        "the random agent acted and the no-op did not: {report}"
    );
    let text =
        String::from_utf8(mend(&["replay", trace.to_str().unwrap(), "--agent", "random"]).stdout)
            .unwrap();
    assert!(
        text.contains("difference") && text.contains("MTTR (s)"),
        "{text}"
    );
}

/// The rows of `episodes.csv` as (header, rows).
fn episode_table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(read(path)).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn time_to_detect_comes_from_the_experiments_alert_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sums = Vec::new();
    for detector in ["static_threshold", "median_mad"] {
        let text = FAULTY.replacen(
            "[[agents]]",
            &format!("[detectors]\nalerting = \"{detector}\"\n\n[[agents]]"),
            1,
        );
        let dir = tmp.path().join(detector);
        std::fs::create_dir_all(&dir).unwrap();
        let exp = write_experiment(&dir, &text);
        let out = dir.join("r");
        mend(&[
            "run",
            exp.to_str().unwrap(),
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        let (header, rows) = episode_table(&out.join("faulty/faulty-seed2/episodes.csv"));
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (faults, ttd, false_alerts) = (col("faults"), col("ttd_s"), col("false_alerts"));
        let mut detected = 0;
        let mut false_sum = 0.0;
        for row in &rows {
            let ttd: f64 = row[ttd].parse().unwrap();
            let n_faults: f64 = row[faults].parse().unwrap();
            // Detection delays are within the 6 h episode; NaN only when nothing was detected.
            if !ttd.is_nan() {
                assert!((0.0..6.0 * 3600.0).contains(&ttd), "{ttd}");
                assert!(n_faults > 0.0);
                detected += 1;
            }
            false_sum += row[false_alerts].parse::<f64>().unwrap();
        }
        // `default` has faults in every episode and the rules catch some of them.
        assert!(
            detected >= rows.len() / 2,
            "{detector}: {detected} of {}",
            rows.len()
        );
        let summary: serde_json::Value =
            serde_json::from_slice(&read(&out.join("faulty/faulty-seed2/summary.json"))).unwrap();
        assert!(
            summary["agents"][0]["metrics"]["ttd_s"]["n"]
                .as_u64()
                .unwrap()
                > 0
        );
        sums.push(false_sum);
    }
    // A different detector raises a different number of false alerts on the same episodes.
    assert_ne!(sums[0], sums[1], "{sums:?}");
}

#[test]
fn each_agent_is_watched_by_its_own_detector() {
    // Two no-op agents see the same episodes; only their detectors differ (one from
    // `[detectors] alerting`, one its own `detector`), so only TTD and false alerts may differ.
    let tmp = tempfile::tempdir().unwrap();
    let text = FAULTY.replacen(
        "kind = \"random\"\nparams = { act_probability = 0.05 }",
        "kind = \"no-op\"\nname = \"no-op-mad\"\ndetector = \"median_mad\"",
        1,
    );
    assert_ne!(text, FAULTY);
    let exp = write_experiment(tmp.path(), &text);
    let out = tmp.path().join("r");
    mend(&[
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = out.join("faulty/faulty-seed2");
    let (header, rows) = episode_table(&run.join("episodes.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let of = |agent: &str| -> Vec<&Vec<String>> {
        rows.iter().filter(|r| r[col("agent")] == agent).collect()
    };
    let (fixed, own) = (of("no-op"), of("no-op-mad"));
    assert_eq!(fixed.len(), 3);
    assert_eq!(own.len(), 3);
    let mut false_alerts = (0.0, 0.0);
    for (a, b) in fixed.iter().zip(&own) {
        for same in ["seed", "availability", "incidents", "mttr_s", "faults"] {
            assert_eq!(a[col(same)], b[col(same)], "{same}");
        }
        false_alerts.0 += a[col("false_alerts")].parse::<f64>().unwrap();
        false_alerts.1 += b[col("false_alerts")].parse::<f64>().unwrap();
    }
    assert_ne!(false_alerts.0, false_alerts.1, "{false_alerts:?}");
    // The resolved config keeps the agent's detector.
    let config = String::from_utf8(read(&run.join("config.toml"))).unwrap();
    assert!(config.contains("detector = \"median_mad\""), "{config}");
}
