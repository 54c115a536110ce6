//! A Prometheus server run as a child process on loopback, for `mend demo` and the end-to-end test:
//! the Debian package's binary (`apt-get install -y prometheus`, or `.ci/prometheus.sh`), a
//! generated config scraping the given local targets, its own storage folder, and a free port.
//! Prometheus runs fine this way without systemd. The child is killed and reaped on drop.
//!
//! Flags used (Prometheus 2.x): `--config.file`, `--storage.tsdb.path`, `--web.listen-address`,
//! `--log.level`; readiness is `GET /-/ready` answering 200
//! (<https://prometheus.io/docs/prometheus/latest/management_api/>). The scrape timeout is half
//! the interval: a hung (SIGSTOPped) target must show `up == 0` at the next scrape.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Errors starting Prometheus; each says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrometheusError {
    /// No `prometheus` binary on PATH.
    #[error(
        "no `prometheus` binary on PATH: install it with .ci/prometheus.sh (apt-get install -y prometheus)"
    )]
    NotInstalled,
    /// The config or storage folder could not be written.
    #[error("prometheus: {path}: {source}")]
    Io {
        /// File or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The process did not start or did not become ready.
    #[error("prometheus {binary}: {message}")]
    Start {
        /// The binary.
        binary: PathBuf,
        /// What happened.
        message: String,
    },
}

/// The first `name` on PATH that is a file.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A running Prometheus child.
#[derive(Debug)]
pub struct LocalPrometheus {
    child: Child,
    url: String,
}

impl LocalPrometheus {
    /// Writes `<dir>/prometheus.yml` (job `job`, the given loopback `targets` ports, scraped every
    /// `scrape_interval`), starts Prometheus on `127.0.0.1:<port>` with storage in `<dir>/tsdb`,
    /// and waits up to `ready_within` for it to be ready.
    pub fn start(
        dir: &Path,
        port: u16,
        job: &str,
        targets: &[u16],
        scrape_interval: Duration,
        ready_within: Duration,
    ) -> Result<Self, PrometheusError> {
        Self::start_jobs(dir, port, &[(job, targets)], scrape_interval, ready_within)
    }

    /// As [`LocalPrometheus::start`], with one scrape job per `(job, target ports)` pair (e.g. the
    /// demo replicas and the load generator, [`crate::demo::load`]).
    pub fn start_jobs(
        dir: &Path,
        port: u16,
        jobs: &[(&str, &[u16])],
        scrape_interval: Duration,
        ready_within: Duration,
    ) -> Result<Self, PrometheusError> {
        let binary = find_on_path("prometheus").ok_or(PrometheusError::NotInstalled)?;
        let ms = scrape_interval.as_millis().max(100);
        let mut config = format!(
            "# written by mend (executor::local_prometheus)\nglobal:\n  scrape_interval: {ms}ms\n  \
             scrape_timeout: {}ms\n  evaluation_interval: {ms}ms\nscrape_configs:\n",
            ms / 2,
        );
        for (job, targets) in jobs {
            let targets: Vec<String> = targets
                .iter()
                .map(|p| format!("\"127.0.0.1:{p}\""))
                .collect();
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ));
        }
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).map_err(|source| PrometheusError::Io {
            path: config_path.clone(),
            source,
        })?;
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| PrometheusError::Start {
                binary: binary.clone(),
                message: e.to_string(),
            })?;
        let mut prom = LocalPrometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(1)))
            .http_status_as_error(false)
            .build()
            .into();
        let start = Instant::now();
        loop {
            let ready = agent
                .get(&format!("{}/-/ready", prom.url))
                .call()
                .is_ok_and(|r| r.status().as_u16() == 200);
            if ready {
                return Ok(prom);
            }
            if let Ok(Some(status)) = prom.child.try_wait() {
                return Err(PrometheusError::Start {
                    binary,
                    message: format!("exited at start ({status}); is port {port} free?"),
                });
            }
            if start.elapsed() > ready_within {
                return Err(PrometheusError::Start {
                    binary,
                    message: format!("not ready after {} ms", ready_within.as_millis()),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:9090`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for LocalPrometheus {
    /// Kills and reaps the child.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
