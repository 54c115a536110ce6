//! `mend plot` through the real binary: every plot of a run folder is redrawn as a non-empty PNG and
//! SVG, learning curves come from `learning_curves.csv`, a recorded episode's timeline is drawn and
//! its re-simulation reproduces the recording exactly, and bad inputs give errors that name the file,
//! the row or line, and what was expected.

use std::path::{Path, PathBuf};

use mend_experiments::plots;

mod common;
use common::{mend, run};

/// Two seeds of `default` (faults in every episode), a baseline that never acts and one that does.
const EXPERIMENT: &str = r#"
[experiment]
name = "plots"
seed = 3

[scenarios]
eval = ["default"]

[seeds]
eval = { start = 1000, count = 2 }

[[agents]]
kind = "no-op"

[[agents]]
kind = "runbook"
"#;

/// `mend plot`'s error for `args` (it must fail).
fn mend_error(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "mend {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Evaluates [`EXPERIMENT`] with traces into `dir`; returns the run folder.
fn recorded_run(dir: &Path) -> PathBuf {
    let exp = dir.join("experiment.toml");
    std::fs::write(&exp, EXPERIMENT).unwrap();
    let out = dir.join("results");
    mend(&[
        "eval",
        exp.to_str().unwrap(),
        "-q",
        "--record",
        "--out",
        out.to_str().unwrap(),
    ]);
    out.join("plots/plots-seed3")
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len() > 1000, "{} is too small", path.display());
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is a PNG",
        path.display()
    );
}

fn svg_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.starts_with("<svg"), "{} is an SVG", path.display());
    text
}

#[test]
fn plot_run_dir_redraws_every_plot_including_learning_curves() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = recorded_run(tmp.path());
    let plots_dir = run_dir.join("plots");
    std::fs::remove_dir_all(&plots_dir).unwrap();
    // A learning-curves fixture in the runner's format: two agents, two training seeds each.
    let mut csv = String::from("agent,train_seed,global_step,metric,value\n");
    for (agent, slope) in [("ppo", 2.0), ("dqn", 1.0)] {
        for seed in 0..2u64 {
            for step in (0..5000u64).step_by(250) {
                let value = -100.0 + slope * step as f64 / 100.0 + seed as f64;
                csv.push_str(&format!(
                    "{agent},{seed},{step},charts/episodic_return,{value}\n"
                ));
            }
            csv.push_str(&format!("{agent},{seed},5000,charts/gradient_steps,40\n"));
        }
    }
    std::fs::write(run_dir.join("learning_curves.csv"), csv).unwrap();

    let out = mend(&["plot", run_dir.to_str().unwrap()]);
    let listed = String::from_utf8(out.stdout).unwrap();
    for name in plots::RUN_PLOTS {
        assert_png(&plots_dir.join(format!("{name}.png")));
        svg_text(&plots_dir.join(format!("{name}.svg")));
        assert!(listed.contains(&format!("{name}.png")), "{listed}");
    }
    let curves = svg_text(&plots_dir.join("learning_curves.svg"));
    assert!(
        curves.contains("ppo (2 seeds)") && curves.contains("dqn (2 seeds)"),
        "legend"
    );
    assert!(
        curves.contains("charts/episodic_return"),
        "one panel per metric"
    );
    assert!(
        !curves.contains("charts/gradient_steps"),
        "bookkeeping rows are not curves"
    );
    let ttd = svg_text(&plots_dir.join("ttd_box.svg"));
    assert!(ttd.contains("runbook (n="), "one box per agent");
}

#[test]
fn timeline_of_a_recorded_episode_matches_its_re_simulation() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = recorded_run(tmp.path());
    let trace = run_dir.join("traces/default/runbook/seed-1000-ep0.jsonl");
    let records = mend_experiments::traces::read(&trace).unwrap();
    let scenario = mend_sim::Scenario::builtin("default").unwrap();
    let re = plots::resimulate(&scenario, &records, "trace", Some("static_threshold")).unwrap();
    assert_eq!(
        re.divergence, None,
        "re-applying the actions reproduces the trace"
    );
    let t = &re.timeline;
    assert!(!t.faults.is_empty() && !t.actions.is_empty(), "{t:?}");
    assert!(
        t.slo_known && !t.slo.is_empty(),
        "faults cause SLO violations"
    );
    assert_eq!(t.services_total, 20);
    for s in &t.slo {
        assert!(
            s.violations
                .iter()
                .all(|(a, b)| a <= b && *b <= t.horizon_s)
        );
    }
    // The re-simulated ground truth equals the recorded episode's row.
    let episodes = std::fs::read(run_dir.join("episodes.csv")).unwrap();
    let rows = mend_experiments::results::parse_episodes_csv(&episodes, "episodes.csv").unwrap();
    let row = rows
        .iter()
        .find(|r| r.agent == "runbook" && r.seed == 1000)
        .unwrap();
    assert_eq!(re.metrics.availability, row.availability);
    assert_eq!(re.metrics.incidents, row.incidents);
    // The detector re-run over the re-simulated telemetry raises the alerts the runner saw beside
    // the agent: the same TTD and false alerts (the experiment's default static rules).
    assert!(!row.ttd_s.is_nan(), "default's faults are detected");
    assert_eq!(re.metrics.ttd_s, row.ttd_s);
    assert_eq!(re.metrics.false_alerts, row.false_alerts);
    assert!(!t.alerts.is_empty());
    assert_eq!(t.detector.as_deref(), Some("static_threshold"));
    for a in &t.alerts {
        assert!((0.0..=t.horizon_s).contains(&a.at_s));
        // Service and replica alerts belong to a service; node alerts to none.
        assert_eq!(a.service.is_none(), a.entity_kind == "node", "{a:?}");
    }
    let alerting = t.alerts.iter().find_map(|a| a.service.clone()).unwrap();
    assert!(t.services().contains(&alerting));
    let spans = t.alert_spans(&alerting, true);
    assert!(!spans.is_empty() && spans.iter().all(|(a, b)| a < b));
    // Without a detector there are no alerts.
    let quiet = plots::resimulate(&scenario, &records, "trace", None).unwrap();
    assert!(quiet.timeline.alerts.is_empty() && quiet.metrics.ttd_s.is_nan());

    for ext in ["png", "svg"] {
        let out = tmp.path().join(format!("timeline.{ext}"));
        let output = mend(&[
            "plot",
            trace.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("warning"),
            "no divergence warning"
        );
        if ext == "png" {
            assert_png(&out);
        } else {
            let svg = svg_text(&out);
            assert!(svg.contains("SLO state per service"), "SLO panel");
            assert!(svg.contains("restart_"), "action legend");
            assert!(svg.contains(&t.faults[0].kind), "fault legend");
            // The run folder's config names the agent's detector: its alerts are drawn.
            assert!(svg.contains("detector: static_threshold"), "alert legend");
        }
    }
    let out = tmp.path().join("quiet.svg");
    mend(&[
        "plot",
        trace.to_str().unwrap(),
        "--detector",
        "none",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!svg_text(&out).contains("detector:"), "no alerts asked for");
    let e = mend_error(&[
        "plot",
        trace.to_str().unwrap(),
        "--detector",
        "crystal_ball",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("crystal_ball"), "{e}");
}

#[test]
fn bad_inputs_name_the_file_and_what_was_expected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let e = mend_error(&["plot", dir.join("nothing-here").to_str().unwrap()]);
    assert!(e.contains("nothing-here: no such file or folder"), "{e}");

    // A folder that is not a run folder.
    let e = mend_error(&["plot", dir.to_str().unwrap()]);
    assert!(
        e.contains("not a run folder") && e.contains("config.toml"),
        "{e}"
    );

    let run_dir = recorded_run(dir);
    let trace = run_dir.join("traces/default/no-op/seed-1000-ep0.jsonl");
    let text = std::fs::read_to_string(&trace).unwrap();

    // A malformed trace line.
    let broken = dir.join("broken.jsonl");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{\"type\":\"fault_onset\",\"at_ms\":\"soon\"}");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let e = mend_error(&["plot", broken.to_str().unwrap()]);
    assert!(
        e.contains("broken.jsonl:2") && e.contains("not a trace record"),
        "{e}"
    );

    // An image format plotters cannot write.
    let e = mend_error(&["plot", trace.to_str().unwrap(), "--out", "x.gif"]);
    assert!(e.contains("x.gif") && e.contains(".png or .svg"), "{e}");

    // A trace from another scenario.
    let e = mend_error(&["plot", trace.to_str().unwrap(), "--scenario", "tiny"]);
    assert!(
        e.contains("recorded on scenario `default`") && e.contains("`tiny`"),
        "{e}"
    );

    // Malformed learning curves: the row and the column are named.
    std::fs::write(
        run_dir.join("learning_curves.csv"),
        "agent,train_seed,global_step,metric,value\nppo,0,100,charts/episodic_return,-1\nppo,zero,200,charts/episodic_return,-2\n",
    )
    .unwrap();
    let e = mend_error(&["plot", run_dir.to_str().unwrap()]);
    assert!(
        e.contains("learning_curves.csv: row 3") && e.contains("train_seed"),
        "{e}"
    );

    // Wrong learning-curve columns.
    std::fs::write(run_dir.join("learning_curves.csv"), "agent,step,return\n").unwrap();
    let e = mend_error(&["plot", run_dir.to_str().unwrap()]);
    assert!(e.contains("row 1") && e.contains("expected exactly"), "{e}");

    // A missing episodes.csv.
    std::fs::remove_file(run_dir.join("learning_curves.csv")).unwrap();
    std::fs::remove_file(run_dir.join("episodes.csv")).unwrap();
    let e = mend_error(&["plot", run_dir.to_str().unwrap()]);
    assert!(
        e.contains("episodes.csv") && e.contains("mend report"),
        "{e}"
    );
}
