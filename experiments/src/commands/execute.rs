//! `mend execute`: run the live loop on the services of a cluster file, with a policy file or a
//! named baseline, in shadow (default), confirm or auto mode, until SIGINT/SIGTERM.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use mend_executor::audit::AuditSigner;
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::{BaselinePolicy, LivePolicy};
use mend_executor::decision::{Action, Outcome};
use mend_executor::pipeline::{Mode, Proposer};
use mend_executor::run_loop::{self, Executor, StepReport, stop_on_signals};

/// Names accepted by `--baseline`: `rule` (the executor's built-in liveness/memory rule,
/// `mend_executor::fallback`), `reactive` (the agents crate's Kubernetes-style controller; settings
/// from the cluster file's `[reactive]` table) and `runbook` (the agents crate's runbook; the file
/// named by the cluster file's `runbook` field).
pub const BASELINES: [&str; 3] = ["rule", "reactive", "runbook"];

/// How the executor may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Decide and record, never act.
    Shadow,
    /// Ask on stdin before each action.
    Confirm,
    /// Act on every action the guards allow.
    Auto,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Shadow => Mode::Shadow,
            ModeArg::Confirm => Mode::Confirm,
            ModeArg::Auto => Mode::Auto,
        }
    }
}

/// `mend execute`.
#[derive(Debug, Args)]
#[command(after_help = "\
The services of the cluster file are started as local processes and watched; every decision is
appended to the audit log (check it with `mend audit verify FILE`). Stop with Ctrl-C (SIGINT) or
SIGTERM: the services are stopped and the log flushed. While the guards' kill-switch file exists,
nothing is done.")]
pub struct ExecuteArgs {
    /// Policy file (safetensors with a mend manifest) to propose actions.
    #[arg(
        long,
        conflicts_with = "baseline",
        required_unless_present = "baseline"
    )]
    pub policy: Option<PathBuf>,
    /// Named baseline instead of a policy: rule, runbook or reactive.
    #[arg(long)]
    pub baseline: Option<String>,
    /// Cluster file (TOML): services, metric queries, actuator specs, guards.
    #[arg(long)]
    pub cluster: PathBuf,
    /// shadow: never act; confirm: ask before acting; auto: act when the guards allow.
    #[arg(long, value_enum, default_value_t = ModeArg::Shadow)]
    pub mode: ModeArg,
    /// Audit log to append to (created with a genesis record if absent).
    #[arg(long, default_value = "mend-audit.jsonl")]
    pub audit: PathBuf,
    /// 32-byte ed25519 seed file: sign every audit record.
    #[arg(long)]
    pub audit_key: Option<PathBuf>,
    /// Stop after this many iterations (default: run until a signal).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Print nothing per step.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Checks the flags and loads everything, before any process starts.
pub fn prepare(args: &ExecuteArgs) -> Result<(ClusterFile, Proposer, Option<AuditSigner>)> {
    let cluster = ClusterFile::load(&args.cluster)?;
    let policy = match (&args.policy, &args.baseline) {
        (Some(path), _) => Proposer::Policy(Box::new(LivePolicy::load(path, &cluster)?)),
        (None, Some(name)) if name == "rule" => Proposer::Rule,
        (None, Some(name)) if BASELINES.contains(&name.as_str()) => {
            Proposer::Baseline(BaselinePolicy::new(name, &cluster)?)
        }
        (None, Some(name)) => bail!(
            "--baseline: unknown baseline `{name}`: expected one of {}",
            BASELINES.join(", ")
        ),
        (None, None) => bail!("expected --policy FILE or --baseline NAME"),
    };
    let signer = match &args.audit_key {
        Some(path) => Some(AuditSigner::from_seed_file(path)?),
        None => None,
    };
    Ok((cluster, policy, signer))
}

/// Prints one line for each step that proposed or did something.
pub fn print_step(report: &StepReport) {
    if report.proposed.is_noop() && matches!(report.outcome, Outcome::NotActed { .. }) {
        return;
    }
    let outcome = match &report.outcome {
        Outcome::NotActed { reason } => format!("not acted ({reason})"),
        Outcome::Failed { error } => format!("FAILED: {error}"),
        other => format!("{other:?}").to_lowercase(),
    };
    println!(
        "seq {}: proposed {} -> {}: {outcome} [{} us]",
        report.seq,
        describe(&report.proposed),
        describe(&report.action),
        report.decision_latency.as_micros()
    );
}

fn describe(a: &Action) -> String {
    format!("{}/{} {:?}", a.namespace, a.service, a.kind)
}

/// Asks on stderr/stdin whether to carry `action` out.
fn ask(action: &Action) -> bool {
    eprint!("carry out {}? [y/N] ", describe(action));
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y")
}

/// Runs the command.
pub fn run(args: &ExecuteArgs) -> Result<ExitCode> {
    let (cluster, policy, signer) = prepare(args)?;
    let stop = stop_on_signals().context("installing SIGINT/SIGTERM handlers")?;
    let mode = Mode::from(args.mode);
    let mut executor = Executor::start(cluster, mode, policy, &args.audit, signer)?;
    executor.set_confirm(Box::new(ask));
    eprintln!(
        "mend execute: {} mode, {:?}; audit log {}; Ctrl-C to stop",
        mode.name(),
        executor,
        args.audit.display()
    );
    let quiet = args.quiet;
    let result = run_loop::run(&mut executor, &stop, args.max_steps, |r| {
        if !quiet {
            print_step(r);
        }
    });
    let shutdown = executor.shutdown();
    let steps = result?;
    shutdown?;
    eprintln!("stopped after {steps} iterations; audit log flushed");
    Ok(ExitCode::SUCCESS)
}
