//! Per-fault figures: time to detect, to decide and to heal each demo fault (kill -9, SIGSTOP
//! hang, memory leak), over several runs, for several decision sources, on real processes watched
//! by a real Prometheus (1 s scrapes, 0.5 s loop). Prints a table (medians, min-max).
//!
//! Sources: `rule` (the executor's built-in fallback rule), `reactive` (the agents crate's
//! Kubernetes-style controller: liveness faults only, it has no memory rule), `policy` (an entity
//! PPO policy trained here on `tiny` and exported as a policy file; the confidence gate falls back
//! to the rule when the policy's first-stage probability is below `--threshold`, default 0.99: a
//! briefly trained policy keeps its initial no-op bias, about 0.9, so at the cluster files' usual
//! 0.6 it would confidently do nothing; the rule and the baselines propose with probability 1 and
//! are never gated).
//!
//! ```text
//! cargo build --release -p mend-executor --bins --examples
//! nice -n 10 target/release/examples/fault_figures [--runs 3] [--sources rule,reactive,policy]
//!     [--train-steps 2048] [--threshold 0.99] [--policy FILE] [--fresh]
//! ```
//! `--fresh` starts a fresh executor (and demo cluster) for each fault, so every fault is the first
//! the loop sees (no action history): the drill fixture's policy heals a fault by itself only
//! then (`tests/fixtures/policy/README.md`, session 8).
//! `--policy FILE` runs the `policy` source with that policy file instead of training one on
//! `tiny` (e.g. the drill fixture `tests/fixtures/policy/ppo-drill-like.safetensors` with
//! `--threshold 0.8`, the drill's gate).
//! Needs `prometheus` on PATH (`.ci/prometheus.sh`). Every process it starts is stopped on exit.

#[path = "../tests/common/drill.rs"]
mod drill;
#[path = "../tests/common/trained.rs"]
mod trained;

use std::path::PathBuf;
use std::time::Duration;

use mend_executor::audit::verify;
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::{BaselinePolicy, LivePolicy};
use mend_executor::fault_drill::{Fault, FaultTimes, median};
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::run_loop::Executor;

/// The reactive controller at drill speed: liveness probe every 0.5 s, 2 failures (kubelet: 10 s,
/// 3), HPA off (no CPU metric), restart backoff from 0.5 s. Its backoff counts restarts per service
/// (one entity row), where the kubelet counts per container and resets after 10 min healthy: the
/// reset is 2 s here, so each drill starts from a fresh backoff, as a fault in another container
/// would (with the kubelet's 600 s, the backoff doubles from drill to drill: 14.5 s by the 6th).
const FAST_REACTIVE: &str = "[reactive]\nliveness_period_s = 0.5\nliveness_failure_threshold = 2\n\
    cooldown_s = 3.0\nhpa_enabled = false\nrestart_backoff_initial_s = 0.5\n\
    restart_backoff_reset_s = 2.0\n";

struct Args {
    runs: usize,
    sources: Vec<String>,
    train_steps: u64,
    threshold: f64,
    policy: Option<PathBuf>,
    /// Each fault on a fresh executor (no action history: every fault is the first it sees).
    fresh: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        runs: 3,
        sources: vec!["rule".into(), "reactive".into(), "policy".into()],
        train_steps: 2048,
        threshold: 0.99,
        policy: None,
        fresh: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--fresh" {
            args.fresh = true;
            continue;
        }
        let mut value = || it.next().ok_or(format!("{flag}: expected a value"));
        match flag.as_str() {
            "--runs" => args.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--sources" => args.sources = value()?.split(',').map(str::to_owned).collect(),
            "--train-steps" => {
                args.train_steps = value()?
                    .parse()
                    .map_err(|e| format!("--train-steps: {e}"))?
            }
            "--threshold" => {
                args.threshold = value()?.parse().map_err(|e| format!("--threshold: {e}"))?
            }
            "--policy" => args.policy = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if let Some(s) = args
        .sources
        .iter()
        .find(|s| !["rule", "reactive", "policy"].contains(&s.as_str()))
    {
        return Err(format!(
            "--sources: unknown `{s}`: expected rule, reactive, policy"
        ));
    }
    Ok(args)
}

fn demo_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/examples/fault_figures -> target/<profile>/mend-demo-service
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

/// Runs every fault `args.runs` times with `source` on one executor (faults one after the other,
/// as `e2e_policy_heals` injects them), or with `--fresh` each fault on its own executor; returns
/// the times.
fn measure(source: &str, args: &Args, dir: &std::path::Path) -> Result<Vec<FaultTimes>, String> {
    let faults: &[Fault] = if source == "reactive" {
        &Fault::ALL[..2]
    } else {
        &Fault::ALL
    };
    if !args.fresh {
        return measure_on_one_executor(source, args, dir, faults, args.runs);
    }
    let mut out = Vec::new();
    for run in 0..args.runs {
        for &fault in faults {
            let folder = dir.join(format!("{source}-{}-{run}", fault.name().replace(' ', "-")));
            out.extend(measure_on_one_executor(source, args, &folder, &[fault], 1)?);
        }
    }
    Ok(out)
}

/// Runs `faults` `runs` times with `source` on one executor started for them.
fn measure_on_one_executor(
    source: &str,
    args: &Args,
    dir: &std::path::Path,
    faults: &[Fault],
    runs: usize,
) -> Result<Vec<FaultTimes>, String> {
    let prom_port = drill::free_port();
    let extra = if source == "reactive" {
        FAST_REACTIVE
    } else {
        ""
    };
    let text = drill::cluster_text(&demo_binary()?, prom_port, args.threshold, extra);
    let folder = dir.join(source);
    std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
    let cluster = ClusterFile::parse(&folder.join("cluster.toml"), &text, &folder)
        .map_err(|e| e.to_string())?;
    let proposer = match source {
        "rule" => Proposer::Rule,
        "policy" => {
            let path = match &args.policy {
                Some(file) => file.clone(),
                None => {
                    let path = folder.join("ppo-tiny.safetensors");
                    trained::train_tiny_policy(&path, 11, args.train_steps);
                    path
                }
            };
            Proposer::Policy(Box::new(
                LivePolicy::load(&path, &cluster).map_err(|e| e.to_string())?,
            ))
        }
        name => Proposer::Baseline(BaselinePolicy::new(name, &cluster).map_err(|e| e.to_string())?),
    };
    let audit = folder.join("audit.jsonl");
    let mut exec =
        Executor::start(cluster, Mode::Auto, proposer, &audit, None).map_err(|e| e.to_string())?;
    let ports = exec.ports()["web"].clone();
    let _watch = drill::watch(&folder, prom_port, &ports).map_err(|e| e.to_string())?;
    let d = drill::drill(Duration::from_secs(30));
    d.wait_until_healthy(&mut exec, Duration::from_secs(60))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for run in 0..runs {
        for (i, &fault) in faults.iter().enumerate() {
            let replica = (run + i) % 3;
            let t = d
                .heal_one(&mut exec, fault, replica)
                .map_err(|e| e.to_string())?;
            eprintln!(
                "{source} run {run}: {} on web-{replica}: detect {} ms, decide {} ms, heal {} ms{}",
                fault.name(),
                t.detect.as_millis(),
                t.decide.as_millis(),
                t.heal.as_millis(),
                if t.by_proposer {
                    ""
                } else {
                    " (gate fallback)"
                }
            );
            out.push(t);
            // Let the cooldown pass, so each fault is judged alone.
            std::thread::sleep(Duration::from_secs(3));
            d.wait_until_healthy(&mut exec, Duration::from_secs(30))
                .map_err(|e| e.to_string())?;
        }
    }
    exec.shutdown().map_err(|e| e.to_string())?;
    let report = verify(&audit).map_err(|e| e.to_string())?;
    eprintln!("{source}: audit log verifies ({} records)", report.records);
    Ok(out)
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64()))
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fault_figures: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("mend-fault-figures-{}", std::process::id()));
    let mut rows = Vec::new();
    for source in &args.sources {
        match measure(source, &args, &dir) {
            Ok(times) => rows.push((source.clone(), times)),
            Err(e) => {
                eprintln!("fault_figures: {source}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    println!(
        "| source | fault | runs | detect s (median, min-max) | decide s (median) | heal s (median, min-max) | own action |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (source, times) in &rows {
        for fault in Fault::ALL {
            let t: Vec<&FaultTimes> = times.iter().filter(|t| t.fault == fault).collect();
            if t.is_empty() {
                continue;
            }
            let pick = |f: fn(&FaultTimes) -> Duration| t.iter().map(|x| f(x)).collect::<Vec<_>>();
            let (detect, decide, heal) = (pick(|x| x.detect), pick(|x| x.decide), pick(|x| x.heal));
            println!(
                "| {source} | {} | {} | {} ({}-{}) | {} | {} ({}-{}) | {}/{} |",
                fault.name(),
                t.len(),
                ms(median(&detect)),
                ms(detect.iter().min().copied()),
                ms(detect.iter().max().copied()),
                ms(median(&decide)),
                ms(median(&heal)),
                ms(heal.iter().min().copied()),
                ms(heal.iter().max().copied()),
                t.iter().filter(|x| x.by_proposer).count(),
                t.len()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::process::ExitCode::SUCCESS
}
