//! `mend demo`: watch the executor heal something on this machine. Starts three
//! `mend-demo-service` replicas (service `web`), Prometheus scraping them every second when it is
//! installed (else the executor scrapes them directly), and the executor (auto mode by default)
//! with the built-in rule or a policy file; prints how to inject faults; runs until Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::LivePolicy;
use mend_executor::local_prometheus::{LocalPrometheus, find_on_path};
use mend_executor::pipeline::Mode;
use mend_executor::reference_policy::reference_policy_file;
use mend_executor::run_loop::{self, Executor, stop_on_signals};

use super::execute::{ModeArg, print_step};

/// Memory limit the demo's `memory_utilization` is computed against (RSS / limit).
const MEMORY_LIMIT_BYTES: u64 = 128 * 1024 * 1024;

/// `mend demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Policy file to run instead of the built-in rule; `reference` writes and uses the hand-set
    /// reference policy (executor::reference_policy).
    #[arg(long)]
    pub policy: Option<String>,
    /// Execution mode (the demo acts by default).
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
    /// Stop after this many iterations (default: run until Ctrl-C).
    #[arg(long)]
    pub max_steps: Option<u64>,
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

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn cluster_text(demo: &Path, replicas: usize, prometheus: Option<u16>) -> String {
    let scale = 1.0 / MEMORY_LIMIT_BYTES as f64;
    let (source, metrics) = match prometheus {
        Some(port) => (
            format!("[prometheus]\nurl = \"http://127.0.0.1:{port}\"\n"),
            format!(
                "up = {{ promql = 'up{{job=\"mend-demo\"}}' }}\n\
                 memory_utilization = {{ promql = 'process_resident_memory_bytes{{job=\"mend-demo\"}}', scale = {scale} }}\n"
            ),
        ),
        None => (
            String::new(),
            format!(
                "up = {{ scrape = 'up' }}\n\
                 memory_utilization = {{ scrape = 'process_resident_memory_bytes', scale = {scale} }}\n"
            ),
        ),
    };
    format!(
        "# written by `mend demo`\nnamespace = \"demo\"\ninterval_ms = 1000\n{source}\n\
         [[services]]\nname = \"web\"\n[services.process]\ncommand = \"{}\"\n\
         args = [\"--port\", \"{{port}}\", \"--name\", \"{{service}}-{{replica}}\"]\nreplicas = {replicas}\n\
         [services.replica_metrics]\n{metrics}\n\
         [guards]\nallowlist = [\"demo/web\"]\ndefault_cooldown_ms = 5000\nmax_actions = 30\n\
         window_ms = 600000\nsettle_ms = 2000\n",
        demo.display()
    )
}

/// Runs the command.
pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    if !(1..=16).contains(&args.replicas) {
        bail!("--replicas: expected 1 to 16, found {}", args.replicas);
    }
    let demo = demo_binary()?;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("mend-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let use_prometheus = !args.no_prometheus && find_on_path("prometheus").is_some();
    if !args.no_prometheus && !use_prometheus {
        eprintln!(
            "Prometheus not installed (.ci/prometheus.sh): the executor scrapes the replicas directly"
        );
    }
    let prom_port = if use_prometheus {
        Some(free_port()?)
    } else {
        None
    };
    let cluster_path = dir.join("cluster.toml");
    std::fs::write(&cluster_path, cluster_text(&demo, args.replicas, prom_port))
        .with_context(|| format!("writing {}", cluster_path.display()))?;
    let cluster = ClusterFile::load(&cluster_path)?;
    let policy = match args.policy.as_deref() {
        None => None,
        Some("reference") => {
            let path = dir.join("reference-policy.safetensors");
            reference_policy_file(&cluster.service_names()).save(&path)?;
            Some(LivePolicy::load(&path, &cluster)?)
        }
        Some(path) => Some(LivePolicy::load(Path::new(path), &cluster)?),
    };
    let stop = stop_on_signals().context("installing SIGINT/SIGTERM handlers")?;
    let audit = dir.join("audit.jsonl");
    let mut executor =
        Executor::start(cluster, Mode::from(args.mode), policy.into(), &audit, None)?;
    let status = executor
        .local_actuator()
        .context("the demo cluster file uses the local-process actuator")?
        .status("web")?;
    let _prometheus = match prom_port {
        Some(port) => {
            let ports: Vec<u16> = status.iter().map(|s| s.port).collect();
            let p = LocalPrometheus::start(
                &dir,
                port,
                "mend-demo",
                &ports,
                Duration::from_secs(1),
                Duration::from_secs(30),
            )?;
            println!("Prometheus: {} (query up{{job=\"mend-demo\"}})", p.url());
            Some(p)
        }
        None => None,
    };
    println!("demo folder: {} (cluster.toml, audit.jsonl)", dir.display());
    for s in &status {
        println!(
            "web-{}: http://127.0.0.1:{}  pid {}",
            s.replica,
            s.port,
            s.pid.unwrap_or(0)
        );
    }
    if let Some(first) = status.first() {
        let (port, pid) = (first.port, first.pid.unwrap_or(0));
        println!(
            "inject a fault, e.g.:\n  kill -9 {pid}\n  kill -STOP {pid}\n  \
             curl '127.0.0.1:{port}/fault/leak?mib_per_s=20&max_mib=300'\n  curl 127.0.0.1:{port}/fault/crash\n\
             Ctrl-C stops everything; then: mend audit verify {}",
            audit.display()
        );
    }
    let result = run_loop::run(&mut executor, &stop, args.max_steps, print_step);
    let shutdown = executor.shutdown();
    result?;
    shutdown?;
    println!("stopped; audit log {}", audit.display());
    Ok(ExitCode::SUCCESS)
}
