//! `mend demo`: watch the executor heal something on this machine. Starts three
//! `mend-demo-service` replicas (service `web`) behind a front proxy, a steady client load through
//! the proxy, Prometheus scraping the replicas and the load every second when it is installed
//! (else the executor scrapes the replicas directly), and the executor (auto mode by default) with
//! the built-in rule or a policy file. By default it then runs a script (kill -9, hang, memory
//! leak, one at a time) and prints a per-fault summary; `--interactive` waits for faults injected
//! by hand until Ctrl-C. Either way it ends by stopping everything and verifying the audit log.
//! The work is done by `mend_executor::demo` (session, script, narration); this is the CLI.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use mend_executor::decision::Action;
use mend_executor::demo::narrate::{Narrator, describe_action};
use mend_executor::demo::script::{ScriptSettings, run_script, run_until_stopped, summary_table};
use mend_executor::demo::session::{
    DemoConfig, DemoPolicy, DemoSession, Finished, MAX_REPLICAS, SERVICE,
};
use mend_executor::local_prometheus::find_on_path;
use mend_executor::pipeline::Mode;
use mend_executor::run_loop::stop_on_signals;

use super::execute::ModeArg;

/// `mend demo`.
#[derive(Debug, Args)]
#[command(after_help = "\
What happens: three replicas of a small HTTP service (`web`) start behind a front proxy; a load
generator sends 30 requests/s through the proxy; Prometheus (if installed: .ci/prometheus.sh)
scrapes the replicas and the load every second; the executor reads the metrics every second,
decides, passes each decision through its guards, acts, verifies and appends a hash-chained audit
record. The terminal shows what it sees (ALERT lines), what it decides (with the guards' verdicts),
how the traffic follows the instances, and a load heartbeat every 5 s.

By default a script injects kill -9 into web-0, a SIGSTOP hang into web-1 and a memory leak into
web-2, one at a time, and prints how long detection, decision and healing took (about 40 s).
With --interactive nothing is injected: the command prints how to inject faults yourself and runs
until Ctrl-C. Either way everything is stopped at the end and the audit log is verified
(as `mend audit verify FILE` does).")]
pub struct DemoArgs {
    /// Policy file to run instead of the built-in rule; `reference` writes and uses the hand-set
    /// reference policy (executor::reference_policy).
    #[arg(long)]
    pub policy: Option<String>,
    /// Execution mode (the demo acts by default; `shadow` only records).
    #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
    pub mode: ModeArg,
    /// Replicas of the demo service.
    #[arg(long, default_value_t = 3)]
    pub replicas: usize,
    /// Folder for the cluster file, Prometheus data and the audit log (default: a new folder
    /// under the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Use direct scrapes even when Prometheus is installed.
    #[arg(long)]
    pub no_prometheus: bool,
    /// No front proxy: the load goes straight to the running replicas.
    #[arg(long)]
    pub no_proxy: bool,
    /// Client load, requests per second.
    #[arg(long, default_value_t = 30.0)]
    pub rate: f64,
    /// Inject nothing: print how to inject faults by hand and run until Ctrl-C.
    #[arg(long)]
    pub interactive: bool,
    /// With --interactive: stop after this many loop iterations (default: run until Ctrl-C).
    #[arg(long, requires = "interactive")]
    pub max_steps: Option<u64>,
    /// Print only the faults, their results and the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `mend-demo-service`, built next to the `mend` binary.
fn demo_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the mend binary")?;
    let bin = exe.with_file_name("mend-demo-service");
    if !bin.is_file() {
        bail!(
            "{} not found: build it with `cargo build -p mend-executor --bin mend-demo-service` \
             (same profile as mend)",
            bin.display()
        );
    }
    Ok(bin)
}

/// The validated settings (flags are checked before anything starts).
fn config(args: &DemoArgs) -> Result<DemoConfig> {
    if !(1..=MAX_REPLICAS).contains(&args.replicas) {
        bail!(
            "--replicas: expected 1 to {MAX_REPLICAS}, found {}",
            args.replicas
        );
    }
    if !(args.rate.is_finite() && (0.1..=1000.0).contains(&args.rate)) {
        bail!(
            "--rate: expected 0.1 to 1000 requests/s, found {}",
            args.rate
        );
    }
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("mend-demo-{}", std::process::id())),
    };
    let mut config = DemoConfig::new(demo_binary()?, dir);
    config.replicas = args.replicas;
    config.mode = Mode::from(args.mode);
    config.front_proxy = !args.no_proxy;
    config.load.fresh_connections = config.front_proxy;
    config.load.rate_per_s = args.rate;
    config.prometheus = !args.no_prometheus && find_on_path("prometheus").is_some();
    if !args.no_prometheus && !config.prometheus {
        eprintln!(
            "Prometheus not installed (.ci/prometheus.sh): the executor scrapes the replicas directly"
        );
    }
    config.policy = match args.policy.as_deref() {
        None => DemoPolicy::Rule,
        Some("reference") => DemoPolicy::Reference,
        Some(path) => DemoPolicy::File(PathBuf::from(path)),
    };
    Ok(config)
}

/// Asks on stderr/stdin whether to carry `action` out (confirm mode).
fn ask(action: &Action) -> bool {
    eprint!("carry out `{}`? [y/N] ", describe_action(action));
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y")
}

fn banner(session: &mut DemoSession, narrator: &mut Narrator, args: &DemoArgs) -> Result<()> {
    let config = session.config().clone();
    let proposer = match &config.policy {
        DemoPolicy::Rule => "the built-in rule".to_owned(),
        DemoPolicy::Reference => "the reference policy".to_owned(),
        DemoPolicy::File(p) => format!("policy {}", p.display()),
    };
    let watch = match session.prometheus_url() {
        Some(url) => format!("Prometheus {url} scrapes them every 1 s"),
        None => "the executor scrapes them directly".to_owned(),
    };
    narrator.plain(&format!(
        "mend demo: {} replicas of `{SERVICE}`; {:.0} requests/s of client load -> {}; {watch};\n\
         the executor decides every {:.0} s in {} mode with {proposer}.\n\
         folder: {} (cluster.toml, audit.jsonl)",
        config.replicas,
        config.load.rate_per_s,
        session.targets().load_description,
        config.interval.as_secs_f64(),
        config.mode.name(),
        config.dir.display(),
    ));
    let status = session
        .executor()
        .local_actuator()
        .context("the demo runs local processes")?
        .status(SERVICE)?;
    for s in &status {
        narrator.plain(&format!(
            "  {SERVICE}-{}: http://127.0.0.1:{}  pid {}",
            s.replica,
            s.port,
            s.pid.unwrap_or(0)
        ));
    }
    if args.interactive {
        if let Some(first) = status.first() {
            let (port, pid) = (first.port, first.pid.unwrap_or(0));
            narrator.plain(&format!(
                "inject a fault from another terminal, e.g.:\n  kill -9 {pid}\n  kill -STOP {pid}\n  \
                 curl '127.0.0.1:{port}/fault/leak?mib_per_s=20&max_mib=300'\n  \
                 curl 127.0.0.1:{port}/fault/crash\nCtrl-C stops everything and verifies the audit log."
            ));
        }
    } else {
        narrator.plain("script: kill -9, hang, memory leak, one at a time (Ctrl-C stops early)");
    }
    Ok(())
}

fn closing(narrator: &mut Narrator, finished: &Finished) {
    let share = if finished.requests == 0 {
        0.0
    } else {
        100.0 * finished.errors as f64 / finished.requests as f64
    };
    narrator.plain(&format!(
        "load: {} requests, {} failed ({share:.1} %)\n\
         audit log {} verified: {} records ({} decisions), chain intact \
         (check again: mend audit verify {})",
        finished.requests,
        finished.errors,
        finished.audit_path.display(),
        finished.audit.records,
        finished.audit.decisions,
        finished.audit_path.display(),
    ));
}

/// Runs the command.
pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    let config = config(args)?;
    let stop = stop_on_signals().context("installing SIGINT/SIGTERM handlers")?;
    let mut session = DemoSession::start(&config)?;
    if config.mode == Mode::Confirm {
        session.executor().set_confirm(Box::new(ask));
    }
    let memory_threshold = session.executor().cluster().fallback.memory_threshold;
    let mut narrator = Narrator::new(
        Box::new(std::io::stdout()),
        args.quiet,
        SERVICE,
        memory_threshold,
        std::time::Duration::from_secs(5),
    );
    banner(&mut session, &mut narrator, args)?;
    let mut unhealed = 0;
    let result = if args.interactive {
        run_until_stopped(&mut session, &mut narrator, &stop, args.max_steps).map(|_| ())
    } else {
        run_script(
            &mut session,
            &mut narrator,
            &ScriptSettings::standard(config.replicas),
            &stop,
        )
        .map(|outcome| {
            if outcome.interrupted {
                narrator.plain("stopped early (Ctrl-C)");
            }
            unhealed = outcome.faults.iter().filter(|f| f.heal.is_none()).count();
            narrator.plain(&format!(
                "\nsummary (seconds from injection):\n{}",
                summary_table(&outcome.faults)
            ));
        })
    };
    // Stop everything and verify the log even when the loop failed.
    let finished = session.finish();
    result?;
    let finished = finished?;
    closing(&mut narrator, &finished);
    if unhealed > 0 && config.mode == Mode::Auto {
        eprintln!("{unhealed} fault(s) not healed by the executor");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
