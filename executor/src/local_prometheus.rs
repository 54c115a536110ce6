//! A Prometheus server run as a child process on loopback, for `mend demo` and the end-to-end test:
//! the Debian package's binary (`apt-get install -y prometheus`, or `.ci/prometheus.sh`), a
//! generated config scraping the given local targets, its own storage folder, and a free port.
//! Prometheus runs fine this way without systemd. The child is killed and reaped on drop.
//!
//! [`LocalPrometheus::start_discovered`] lists each job's targets in a file-based service discovery
//! file (`file_sd_configs`), so that [`LocalPrometheus::set_targets`] can follow a scale-out or a
//! fail-over without a restart: Prometheus watches those files and applies a change at once
//! (<https://prometheus.io/docs/prometheus/latest/configuration/configuration/#file_sd_config>;
//! `refresh_interval` re-reads them as a fallback). The files are replaced atomically (temporary
//! file, then rename), so Prometheus never reads half a list.
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
    /// [`LocalPrometheus::set_targets`] on a server started with static targets.
    #[error(
        "prometheus job `{job}`: its targets are static; start with LocalPrometheus::start_discovered to change them"
    )]
    StaticTargets {
        /// The job.
        job: String,
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
    /// Folder of the target files, when started with file discovery.
    discovery_dir: Option<PathBuf>,
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

    /// As [`LocalPrometheus::start_jobs`], but each job's targets are discovered from the file
    /// `<dir>/targets-<job>.json` (see the module doc), which [`LocalPrometheus::set_targets`]
    /// rewrites.
    pub fn start_discovered(
        dir: &Path,
        port: u16,
        jobs: &[(&str, &[u16])],
        scrape_interval: Duration,
        ready_within: Duration,
    ) -> Result<Self, PrometheusError> {
        for (job, targets) in jobs {
            write_targets(dir, job, targets)?;
        }
        let mut prom = Self::launch(dir, port, jobs, scrape_interval, ready_within, true)?;
        prom.discovery_dir = Some(dir.to_path_buf());
        Ok(prom)
    }

    /// Replaces the targets of `job` (a job of [`LocalPrometheus::start_discovered`]); Prometheus
    /// scrapes the new set from its next discovery update, about at once.
    pub fn set_targets(&self, job: &str, targets: &[u16]) -> Result<(), PrometheusError> {
        match &self.discovery_dir {
            Some(dir) => write_targets(dir, job, targets),
            None => Err(PrometheusError::StaticTargets {
                job: job.to_owned(),
            }),
        }
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
        Self::launch(dir, port, jobs, scrape_interval, ready_within, false)
    }

    /// Writes the config (static targets, or file discovery when `discovered`) and starts the child.
    fn launch(
        dir: &Path,
        port: u16,
        jobs: &[(&str, &[u16])],
        scrape_interval: Duration,
        ready_within: Duration,
        discovered: bool,
    ) -> Result<Self, PrometheusError> {
        let binary = find_on_path("prometheus").ok_or(PrometheusError::NotInstalled)?;
        let ms = scrape_interval.as_millis().max(100);
        let mut config = format!(
            "# written by mend (executor::local_prometheus)\nglobal:\n  scrape_interval: {ms}ms\n  \
             scrape_timeout: {}ms\n  evaluation_interval: {ms}ms\nscrape_configs:\n",
            ms / 2,
        );
        for (job, targets) in jobs {
            if discovered {
                config.push_str(&format!(
                    "  - job_name: {job}\n    file_sd_configs:\n      - files: [\"{}\"]\n        \
                     refresh_interval: 1s\n",
                    targets_path(dir, job).display()
                ));
            } else {
                config.push_str(&format!(
                    "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
                    quoted_targets(targets).join(", ")
                ));
            }
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
            discovery_dir: None,
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

/// `"127.0.0.1:<port>"` for each port, quoted for YAML and JSON alike.
fn quoted_targets(ports: &[u16]) -> Vec<String> {
    ports.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect()
}

/// The file discovery file of `job`.
fn targets_path(dir: &Path, job: &str) -> PathBuf {
    dir.join(format!("targets-{job}.json"))
}

/// Writes `job`'s target list in the file discovery format (`[{"targets": [...]}]`), whole: a
/// temporary file renamed over the old one.
fn write_targets(dir: &Path, job: &str, ports: &[u16]) -> Result<(), PrometheusError> {
    let path = targets_path(dir, job);
    let tmp = dir.join(format!(".targets-{job}.json.tmp"));
    let text = format!(
        "[{{\"targets\": [{}]}}]\n",
        quoted_targets(ports).join(", ")
    );
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|source| PrometheusError::Io { path, source })
}

impl Drop for LocalPrometheus {
    /// Kills and reaps the child.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_files_are_the_file_discovery_format_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        write_targets(dir.path(), "web", &[9001, 9002]).unwrap();
        let read = || -> serde_json::Value {
            serde_json::from_str(
                &std::fs::read_to_string(dir.path().join("targets-web.json")).unwrap(),
            )
            .unwrap()
        };
        assert_eq!(
            read(),
            serde_json::json!([{"targets": ["127.0.0.1:9001", "127.0.0.1:9002"]}])
        );
        write_targets(dir.path(), "web", &[]).unwrap();
        assert_eq!(read(), serde_json::json!([{"targets": []}]));
        // Only the target file is left: the temporary file was renamed.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["targets-web.json"]);
    }
}
