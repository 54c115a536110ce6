//! `mend report DIR --paper` end to end on a small run: the table has every held-out scenario and
//! every claim beside the seed paper's figures, its arm means agree with `episodes.csv`, it is
//! written to `paper.md`, and a run whose experiment names no framework arm asks for one.

use std::path::Path;

mod common;
use common::{mend, read, run};

/// Reactive baseline vs the runbook (with its own detector) on two scenarios, 3 seeds.
const SMALL: &str = r#"
[experiment]
name = "paper-e2e"
seed = 3
baseline = "reactive"

[scenarios]
eval = ["default", "eval-mid-network"]

[seeds]
eval = { start = 700, count = 3 }

[[agents]]
kind = "reactive"

[[agents]]
kind = "runbook"
detector = "ewma"
"#;

fn run_small(dir: &Path, text: &str) -> std::path::PathBuf {
    let exp = dir.join("experiment.toml");
    std::fs::write(&exp, text).unwrap();
    let out = dir.join("r");
    mend(&[
        "run",
        exp.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    out.join("paper-e2e/paper-e2e-seed3")
}

/// Mean of a column of `episodes.csv` over one agent's rows on one scenario.
fn column_mean(run: &Path, agent: &str, scenario: &str, column: &str) -> f64 {
    let text = String::from_utf8(read(&run.join("episodes.csv"))).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let values: Vec<f64> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[col("agent")] == agent && r[col("scenario")] == scenario)
        .map(|r| r[col(column)].parse().unwrap())
        .collect();
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn paper_table_compares_the_arms_on_every_claim() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = run_small(tmp.path(), SMALL);
    // No framework named: a clear error listing the agents.
    let out = run(&["report", run_dir.to_str().unwrap(), "--paper"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--framework") && err.contains("reactive, runbook"),
        "{err}"
    );

    let out = mend(&[
        "report",
        run_dir.to_str().unwrap(),
        "--paper",
        "--framework",
        "runbook",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.as_bytes(), read(&run_dir.join("paper.md")));
    for needle in [
        "## default (3 paired episodes)",
        "## eval-mid-network (3 paired episodes)",
        "## all held-out scenarios (6 paired episodes)",
        "alerts from `ewma`",
        "alerts from `static_threshold`",
        "| 40 % shorter |",
        "| 30 % shorter |",
        "| 25 % fewer |",
        "| 99.99 % uptime |",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // The incidents row's arm means are the means of episodes.csv.
    let section = text.split("## default").nth(1).unwrap();
    let row = section
        .lines()
        .find(|l| l.starts_with("| failures (incidents)"))
        .unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    for (cell, agent) in [(cells[3], "reactive"), (cells[4], "runbook")] {
        let mean = column_mean(&run_dir, agent, "default", "incidents");
        assert!(cell.starts_with(&format!("{mean:.2}")), "{cell} vs {mean}");
    }
    // Relative change = framework mean / baseline mean - 1 (every episode has incidents here).
    let (b, f) = (
        column_mean(&run_dir, "reactive", "default", "incidents"),
        column_mean(&run_dir, "runbook", "default", "incidents"),
    );
    assert!(
        cells[5].starts_with(&format!("{:+.1} %", (f / b - 1.0) * 100.0)),
        "{}",
        cells[5]
    );
}

#[test]
fn a_run_naming_its_framework_writes_the_paper_table() {
    let tmp = tempfile::tempdir().unwrap();
    let text = SMALL.replacen(
        "baseline = \"reactive\"",
        "baseline = \"reactive\"\nframework = \"runbook\"",
        1,
    );
    let run_dir = run_small(tmp.path(), &text);
    let paper = String::from_utf8(read(&run_dir.join("paper.md"))).unwrap();
    assert!(paper.contains("Framework arm: `runbook`"), "{paper}");
    // `mend report --paper` rewrites the same table.
    let out = mend(&["report", run_dir.to_str().unwrap(), "--paper"]);
    assert_eq!(out.stdout, paper.as_bytes());
}

#[test]
fn report_against_another_baseline_on_one_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = run_small(tmp.path(), SMALL);
    let summary_before = read(&run_dir.join("summary.json"));
    let out = mend(&[
        "report",
        run_dir.to_str().unwrap(),
        "--baseline",
        "runbook",
        "--scenario",
        "eval-mid-network",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.as_bytes(),
        read(&run_dir.join("summary-vs-runbook-eval-mid-network.md"))
    );
    assert!(text.contains("against `runbook`"), "{text}");
    // One scenario: 3 episodes per agent, and the reactive row is the paired difference.
    assert!(text.contains("| reactive (3) |"), "{text}");
    let diff_row = text
        .split("## Paired differences")
        .nth(1)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("| reactive |"))
        .unwrap()
        .to_string();
    let cells: Vec<&str> = diff_row.split('|').map(str::trim).collect();
    let incidents = column_mean(&run_dir, "reactive", "eval-mid-network", "incidents")
        - column_mean(&run_dir, "runbook", "eval-mid-network", "incidents");
    assert!(
        cells[4].starts_with(&format!("{incidents:+.2}")),
        "{} vs {incidents}",
        cells[4]
    );
    // The experiment's own summary is left as it was.
    assert_eq!(read(&run_dir.join("summary.json")), summary_before);

    for (args, needle) in [
        (["--baseline", "nope"], "--baseline nope: not an agent"),
        (["--scenario", "nope"], "--scenario nope: no episode"),
    ] {
        let mut full = vec!["report", run_dir.to_str().unwrap()];
        full.extend(args);
        let out = run(&full);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
    }
}
