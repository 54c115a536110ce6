//! What a policy file sees and proposes on the fault drill's live rows, fault by fault: the
//! executor runs in shadow mode (nothing is touched, so each fault stays on) against three
//! `mend-demo-service` replicas under the drill's request load, watched by a loopback Prometheus
//! (`tests/common/drill.rs`). For the healthy cluster and then each fault (kill -9, SIGSTOP hang,
//! memory leak; one replica each, restarted by the probe afterwards) it steps the loop for
//! `--seconds` and prints, per decision, the policy's P(act) (`1 - p[no-op]`), its proposal and the
//! service row's non-zero features; then the maximum P(act) per fault. This is how
//! `POLICY_HEALS` in `tests/e2e_policy_heals.rs` was checked.
//!
//! ```text
//! cargo build -p mend-executor --bins --examples
//! nice -n 10 target/debug/examples/policy_probe [--policy FILE] [--seconds 12]
//!     [--sim [--sim-scenario default|drill-like]] [--offline] [--no-health-checks]
//!     [--train OUT [--act-weight 6] [--ppo-steps 16384] [--teacher-steps 11520] [--seed 0]
//!         [--teacher runbook|RUNBOOK.toml] [--scenario SCENARIO.toml] [--detector SPEC]]
//! ```
//! `--train OUT` first trains the fixture's kind of policy on the drill-shaped scenario
//! (`tests/fixtures/policy/drill-like.toml`, `tests/common/trained.rs`), saves it to `OUT` and
//! probes that file (build in release for it: about 15 s of training). `--teacher` is the warm
//! start's teacher: by default the drill runbook `tests/fixtures/policy/drill-runbook.toml` (acts on
//! the first observation, session 7), `runbook` for the shipped one, or any runbook file.
//! `--scenario` trains on another scenario file than `drill-like.toml`; `--detector` runs that
//! alert detector behind the alert-age columns in training (e.g. `static_threshold`) and records
//! it in the file's `monitoring.alert_detector`, so the executor runs it live too.
//! The load goes through the drill's health-checking balancer (`drill::watch`);
//! `--no-health-checks` sends it round-robin to every replica, dead or hung ones included (the
//! session-4 drill).
//! `--sim` prints the simulator's side instead (no Prometheus): the same policy on the `default`
//! scenario's rows of the corresponding faults (process crash, process hang, node crash,
//! partition, memory leak of one of `catalog`'s three replicas; `tests/common/sim_rows.rs`), or
//! with `--sim-scenario drill-like` on the drill-shaped training scenario's (crash, hang, leak of
//! `web-0`), one decision per the scenario's `decision_interval` (30 s in `default`, 0.5 s in
//! `drill-like` since session 7) over `--seconds` simulated seconds.
//! `--offline` prints the policy on the drill's measured steady live rows without Prometheus
//! (`tests/common/live_rows.rs`, the rows `e2e_policy_heals`' offline test checks), one line per
//! fault: the quick check of a training sweep.
//! Default policy: the committed fixture `tests/fixtures/policy/ppo-default-warm.safetensors`.
//! Needs `prometheus` on PATH (`.ci/prometheus.sh`). Every process it starts is stopped on exit.

#[path = "../tests/common/drill.rs"]
mod drill;
#[path = "../tests/common/live_rows.rs"]
mod live_rows;
#[path = "../tests/common/sim_rows.rs"]
mod sim_rows;
#[path = "../tests/common/trained.rs"]
mod trained;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mend_executor::actuator::Actuator;
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::LivePolicy;
use mend_executor::fault_drill::Fault;
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::run_loop::{Executor, now_ms};
use mend_monitor::features::alert_age::AlertClock;
use mend_monitor::features::history::ActionValues;
use mend_monitor::features::{FeatureExtractor, FeatureSchema};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/policy/ppo-default-warm.safetensors"
);

fn demo_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("mend-demo-service"))
        .ok_or("cannot locate the target folder")?;
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: cargo build -p mend-executor --bins --examples (same profile)",
            bin.display()
        ))
    }
}

fn main() {
    if let Err(e) = probe() {
        eprintln!("policy_probe: {e}");
        std::process::exit(1);
    }
}

fn probe() -> Result<(), String> {
    let mut policy_path = PathBuf::from(FIXTURE);
    let mut seconds = 12.0_f64;
    let mut sim = false;
    let mut sim_probe = sim_rows::DEFAULT;
    let mut offline = false;
    let mut balanced = true;
    let mut train: Option<PathBuf> = None;
    let mut training = trained::DrillTraining::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--sim" {
            sim = true;
            continue;
        }
        if flag == "--offline" {
            offline = true;
            continue;
        }
        if flag == "--no-health-checks" {
            balanced = false;
            continue;
        }
        let value = it.next().ok_or(format!("{flag}: expected a value"))?;
        match flag.as_str() {
            "--policy" => policy_path = PathBuf::from(value),
            "--seconds" => seconds = value.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--train" => train = Some(PathBuf::from(value)),
            "--act-weight" => {
                training.act_weight = value.parse().map_err(|e| format!("--act-weight: {e}"))?
            }
            "--ppo-steps" => {
                training.ppo_steps = value.parse().map_err(|e| format!("--ppo-steps: {e}"))?
            }
            "--teacher-steps" => {
                training.teacher_steps =
                    value.parse().map_err(|e| format!("--teacher-steps: {e}"))?
            }
            "--seed" => training.seed = value.parse().map_err(|e| format!("--seed: {e}"))?,
            "--teacher" => training.teacher = value,
            "--scenario" => {
                let text = std::fs::read_to_string(&value)
                    .map_err(|e| format!("--scenario {value}: {e}"))?;
                training.scenario = (text, value);
            }
            "--detector" => training.alert_detector = Some(value),
            "--teacher-rows" => {
                let steps: usize = value.parse().map_err(|e| format!("--teacher-rows: {e}"))?;
                for line in trained::teacher_labels_after_actions(&training, steps, training.seed) {
                    println!("teacher rows: {line}");
                }
                return Ok(());
            }
            "--sim-scenario" => {
                sim_probe = match value.as_str() {
                    "default" => sim_rows::DEFAULT,
                    "drill-like" => sim_rows::DRILL_LIKE,
                    other => {
                        return Err(format!(
                            "--sim-scenario: expected default or drill-like, found {other}"
                        ));
                    }
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if let Some(out) = train {
        trained::train_drill_like_policy(&out, &training);
        println!("trained {} ({training:?})", out.display());
        policy_path = out;
    }
    if sim {
        return probe_sim(&policy_path, &sim_probe, seconds);
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let prom_port = drill::free_port();
    let demo = if offline {
        PathBuf::from("mend-demo-service")
    } else {
        demo_binary()?
    };
    let text = drill::cluster_text(&demo, prom_port, 0.8, "");
    let cluster = ClusterFile::parse(&dir.path().join("cluster.toml"), &text, dir.path())
        .map_err(|e| e.to_string())?;
    let policy = LivePolicy::load(&policy_path, &cluster).map_err(|e| e.to_string())?;
    if offline {
        for d in live_rows::decide_on_live_rows(&policy, &cluster) {
            println!(
                "offline {}: P(act) {:.3} `{}`{} | {}",
                d.fault.map_or("healthy", Fault::name),
                d.act_probability,
                d.reason,
                if d.restarts_the_faulty_replica && d.act_probability >= 0.8 {
                    " HEALS"
                } else {
                    ""
                },
                d.row
            );
        }
        // P(act) as the alert ages at the loop's 0.5 s cadence on each fault's live row: what the
        // confidence gate sees decision by decision (`e2e_policy_heals`' offline test).
        for fault in Fault::ALL {
            let steps = (live_rows::alert_age_for(&policy, Some(fault)) / drill::STEP.as_secs_f64())
                as usize;
            let trail: Vec<String> = (0..=steps)
                .map(|i| {
                    let age = i as f64 * drill::STEP.as_secs_f64();
                    let d = live_rows::decide_on_live_row(&policy, &cluster, Some(fault), age);
                    format!("{age:.1}s {:.3}", d.act_probability)
                })
                .collect();
            println!(
                "offline {} by alert age: {}",
                fault.name(),
                trail.join(", ")
            );
        }
        // After an earlier restart of the service (the drill's second and third faults): P(act)
        // on each fault's row by seconds since that action (one recent action, not in flight).
        // With the fault's steady alert age, and with no alert (an alert detector that no longer
        // fires on a second fault: the simulator's rows after an episode's first incident).
        for (fault, alert_age) in Fault::ALL
            .into_iter()
            .flat_map(|f| [(f, live_rows::alert_age_for(&policy, Some(f))), (f, 0.0)])
        {
            let trail: Vec<String> = [1.0, 2.0, 5.0, 10.0, 20.0, 60.0, 300.0]
                .iter()
                .map(|&age_s| {
                    let history = ActionValues {
                        age_s,
                        in_flight: false,
                        recent: 1,
                    };
                    let d = live_rows::decide_on_live_row_after(
                        &policy,
                        &cluster,
                        Some(fault),
                        alert_age,
                        history,
                    );
                    format!("{age_s}s {:.3}", d.act_probability)
                })
                .collect();
            println!(
                "offline {} (alert age {alert_age} s) by seconds since a restart: {}",
                fault.name(),
                trail.join(", ")
            );
        }
        return Ok(());
    }
    let shadow_policy = LivePolicy::load(&policy_path, &cluster).map_err(|e| e.to_string())?;
    let audit = dir.path().join("audit.jsonl");
    let mut exec = Executor::start(
        cluster.clone(),
        Mode::Shadow,
        Proposer::Policy(Box::new(shadow_policy)),
        &audit,
        None,
    )
    .map_err(|e| e.to_string())?;
    let ports = exec.ports()["web"].clone();
    let checks = balanced.then(drill::HealthChecks::default);
    let _watch =
        drill::watch_with(dir.path(), prom_port, &ports, checks).map_err(|e| e.to_string())?;
    let d = drill::drill(Duration::from_secs(30));
    d.wait_until_healthy(&mut exec, Duration::from_secs(60))
        .map_err(|e| e.to_string())?;
    let schema = FeatureSchema::builtin();
    let mut alerts = AlertClock::new(policy.monitoring().alert_detector_spec())
        .map_err(|e| format!("alert clock: {e}"))?;
    let span = Duration::from_secs_f64(seconds);
    let mut summary = Vec::new();
    for (case, fault) in [None].into_iter().chain(Fault::ALL.map(Some)).enumerate() {
        let name = fault.map_or("healthy", Fault::name);
        let replica = case.saturating_sub(1);
        if let Some(f) = fault {
            d.inject(&mut exec, f, replica).map_err(|e| e.to_string())?;
        }
        let start = Instant::now();
        let mut max_act = 0.0_f64;
        let mut best = String::new();
        while start.elapsed() < span {
            let report = exec.step(now_ms()).map_err(|e| e.to_string())?;
            // The features the shadow pipeline decided on: its alert clock beside it (the same
            // detector, fed the same snapshots), so the printed row has the live alert age.
            let mut snapshot = report.readings.to_snapshot(report.now_ms);
            alerts.observe_snapshot(&mut snapshot);
            let features = FeatureExtractor::builtin().extract(&snapshot);
            let p = policy
                .decide(&features, &report.readings, &cluster)
                .map_err(|e| e.to_string())?;
            let act = p.act_probability.unwrap_or(0.0);
            if act > max_act {
                max_act = act;
                best = p.reason.clone();
            }
            let row: Vec<String> = schema
                .columns
                .iter()
                .zip(&features.rows)
                .filter(|(_, v)| **v != 0.0)
                .map(|(c, v)| format!("{}={v:.3}", c.name))
                .collect();
            println!(
                "{name} t={:>5.1}s P(act) {act:.3} `{}` | {}",
                start.elapsed().as_secs_f64(),
                p.reason,
                row.join(" ")
            );
            std::thread::sleep(drill::STEP);
        }
        summary.push(format!("{name}: max P(act) {max_act:.3} ({best})"));
        if fault.is_some() {
            exec.actuator()
                .restart("web", Some(replica))
                .map_err(|e| e.to_string())?;
            d.wait_until_healthy(&mut exec, Duration::from_secs(60))
                .map_err(|e| e.to_string())?;
            // Let the request-rate window forget the fault.
            std::thread::sleep(Duration::from_secs(6));
        }
    }
    println!("\n{}", summary.join("\n"));
    exec.shutdown().map_err(|e| e.to_string())
}

/// `--sim`: the simulator's rows of the corresponding faults in `probe`'s world
/// (`tests/common/sim_rows.rs`), one decision per the scenario's decision interval over `seconds`
/// simulated seconds from one decision before the onset; then P(act) in the quiet world before the
/// onset.
fn probe_sim(
    policy_path: &std::path::Path,
    probe: &sim_rows::SimProbe,
    seconds: f64,
) -> Result<(), String> {
    let file = mend_agents::PolicyFile::load(policy_path, None).map_err(|e| e.to_string())?;
    let scenario =
        mend_sim::Scenario::from_toml_str(probe.text, probe.name).map_err(|e| e.to_string())?;
    let interval_s = scenario.spec().scenario.decision_interval.0 as f64 / 1000.0;
    let decisions = (seconds / interval_s).ceil() as usize + 1;
    let mut summary = Vec::new();
    for fault in probe.faults {
        let rows = sim_rows::probe_sim(&file, probe, fault, decisions, 0)?;
        if let Some(before) = rows.first() {
            summary.push(format!(
                "sim {} healthy (before the {}): P(act) {:.3} ({})",
                probe.name, fault.kind, before.act_probability, before.proposal
            ));
        }
        let mut max_act = 0.0_f64;
        let mut best = String::new();
        for d in &rows {
            if d.act_probability > max_act {
                max_act = d.act_probability;
                best = format!("{} at {:+.1} s", d.proposal, d.since_onset_s);
            }
            println!(
                "sim {} t={:+.1}s P(act) {:.3} `{}` | {}",
                fault.kind, d.since_onset_s, d.act_probability, d.proposal, d.row
            );
        }
        // P(act) of the policy's decisions once the balancer has ejected the replica (from 30 s).
        let after: Vec<f64> = rows
            .iter()
            .filter(|d| d.since_onset_s >= 30.0)
            .map(|d| d.act_probability)
            .collect();
        let mean_after = after.iter().sum::<f64>() / after.len().max(1) as f64;
        summary.push(format!(
            "sim {} {}: max P(act) {max_act:.3} ({best}), mean from +30 s {mean_after:.3}",
            probe.name, fault.kind
        ));
    }
    println!("\n{}", summary.join("\n"));
    Ok(())
}
