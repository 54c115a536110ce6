//! How a local service is run: command, arguments, ports and replica count.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;

use super::ActuatorError;

/// A service run as local processes, one per replica.
///
/// In `args`, `{port}`, `{replica}` and `{service}` are replaced by the instance's port, its
/// index and the service name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Service name.
    pub name: String,
    /// Program to run.
    pub command: PathBuf,
    /// Its arguments, with placeholders.
    #[serde(default)]
    pub args: Vec<String>,
    /// Port of replica 0; replica i gets `base_port + i`. 0: each replica gets a free port.
    #[serde(default)]
    pub base_port: u16,
    /// Replicas at start.
    pub replicas: usize,
    /// How long a stop waits after SIGTERM before SIGKILL, milliseconds.
    #[serde(default = "default_stop_grace_ms")]
    pub stop_grace_ms: u64,
    /// Health path polled by `wait_until_healthy` (e.g. `/healthz`).
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// Port of a front proxy ([`crate::proxy::FrontProxy`]) spreading clients over the replicas,
    /// switched by fail over; 0: a free port; `None`: no proxy.
    #[serde(default)]
    pub front_port: Option<u16>,
}

fn default_stop_grace_ms() -> u64 {
    2000
}

fn default_health_path() -> String {
    "/healthz".into()
}

/// Most replicas one local service may have (a guard against typos that would fork-bomb the host).
pub const MAX_LOCAL_REPLICAS: usize = 64;

impl ServiceSpec {
    /// The arguments of replica `replica` listening on `port`.
    pub fn args_for(&self, replica: usize, port: u16) -> Vec<String> {
        self.args
            .iter()
            .map(|a| {
                a.replace("{port}", &port.to_string())
                    .replace("{replica}", &replica.to_string())
                    .replace("{service}", &self.name)
            })
            .collect()
    }

    /// Checks every spec and that names are unique; errors name the service and field.
    pub fn validate_all(specs: &[ServiceSpec]) -> Result<(), ActuatorError> {
        let mut names = BTreeSet::new();
        for (i, spec) in specs.iter().enumerate() {
            let bad = |field: &str, message: String| ActuatorError::InvalidSpec {
                service: if spec.name.is_empty() {
                    format!("#{i}")
                } else {
                    spec.name.clone()
                },
                field: field.into(),
                message,
            };
            if spec.name.is_empty()
                || !spec
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(bad(
                    "name",
                    format!("expected letters, digits, - or _, found `{}`", spec.name),
                ));
            }
            if !names.insert(spec.name.as_str()) {
                return Err(bad("name", "appears twice".into()));
            }
            if spec.command.as_os_str().is_empty() {
                return Err(bad("command", "expected a program path".into()));
            }
            if spec.replicas > MAX_LOCAL_REPLICAS {
                return Err(bad(
                    "replicas",
                    format!(
                        "expected at most {MAX_LOCAL_REPLICAS}, found {}",
                        spec.replicas
                    ),
                ));
            }
            if spec.base_port != 0
                && usize::from(spec.base_port) + MAX_LOCAL_REPLICAS > usize::from(u16::MAX)
            {
                return Err(bad(
                    "base_port",
                    format!(
                        "expected at most {}",
                        usize::from(u16::MAX) - MAX_LOCAL_REPLICAS
                    ),
                ));
            }
            if !spec.health_path.starts_with('/') {
                return Err(bad(
                    "health_path",
                    format!(
                        "expected a path starting with /, found `{}`",
                        spec.health_path
                    ),
                ));
            }
        }
        Ok(())
    }
}
