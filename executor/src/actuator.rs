//! Actuators: what carries a guarded action out.
//!
//! The [`Actuator`] trait has one method per action kind plus [`Actuator::apply`], which dispatches
//! an [`Action`]. Implementations: [`LocalProcessActuator`] (real processes on this machine, for
//! demos and end-to-end tests), [`KubernetesActuator`] (Deployments, Services and nodes through
//! kube-rs) and [`DryRunActuator`] (records what it would do). [`LiveActuator`] is the one the
//! cluster file chooses.

mod dry_run;
pub mod kubernetes;
mod live;
mod local;
mod spec;

use std::time::Duration;

use crate::decision::{Action, ActionKind};

pub use dry_run::DryRunActuator;
pub use kubernetes::{KubeService, KubeServiceSettings, KubeSettings, KubernetesActuator};
pub use live::LiveActuator;
pub use local::{InstanceStatus, LocalProcessActuator};
pub use spec::{MAX_LOCAL_REPLICAS, ServiceSpec};

/// Errors of actuators; each names the service (and replica) concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActuatorError {
    /// The action's namespace is not the one this actuator manages.
    #[error("actuator `{actuator}` manages namespace `{expected}`, not `{found}`")]
    WrongNamespace {
        /// Actuator name.
        actuator: String,
        /// Its namespace.
        expected: String,
        /// The action's namespace.
        found: String,
    },
    /// No such service.
    #[error("unknown service `{service}` (known: {known})")]
    UnknownService {
        /// Service asked for.
        service: String,
        /// Services this actuator knows, comma-separated.
        known: String,
    },
    /// No such replica.
    #[error("service `{service}` has no replica {replica} (it has {replicas})")]
    UnknownReplica {
        /// Service.
        service: String,
        /// Replica asked for.
        replica: usize,
        /// Replicas it has.
        replicas: usize,
    },
    /// A service spec is invalid.
    #[error("service spec `{service}`: field `{field}`: {message}")]
    InvalidSpec {
        /// Service name (or its index when the name is the problem).
        service: String,
        /// Field at fault.
        field: String,
        /// What was expected.
        message: String,
    },
    /// A process could not be started.
    #[error("service `{service}` replica {replica}: cannot start `{command}`: {message}")]
    Spawn {
        /// Service.
        service: String,
        /// Replica.
        replica: usize,
        /// Command.
        command: String,
        /// The OS error.
        message: String,
    },
    /// A process could not be signalled or reaped.
    #[error("service `{service}` replica {replica} (pid {pid}): {message}")]
    Process {
        /// Service.
        service: String,
        /// Replica.
        replica: usize,
        /// Process id.
        pid: u32,
        /// What failed.
        message: String,
    },
    /// The instance did not become healthy in time.
    #[error("service `{service}` replica {replica}: not healthy at {url} after {waited_ms} ms")]
    Unhealthy {
        /// Service.
        service: String,
        /// Replica.
        replica: usize,
        /// Health URL polled.
        url: String,
        /// How long it was polled.
        waited_ms: u64,
    },
    /// A Kubernetes API request failed (no configuration, no answer, or an error status).
    #[error("service `{service}`: Kubernetes {request}: {}{message}", status.map(|s| format!("HTTP {s}: ")).unwrap_or_default())]
    Kubernetes {
        /// Service concerned (`*` for the connection).
        service: String,
        /// The request (method and path) or step.
        request: String,
        /// HTTP status, when the API server answered.
        status: Option<u16>,
        /// The server's message or the transport error.
        message: String,
    },
    /// This actuator cannot do this action.
    #[error("actuator `{actuator}` cannot {action}: {reason}")]
    Unsupported {
        /// Actuator name.
        actuator: String,
        /// Action kind.
        action: String,
        /// Why.
        reason: String,
    },
}

/// Carries out actions on services. Every method is idempotent where the action allows it
/// (starting a running replica, stopping a stopped one, scaling to the current count: no-ops).
pub trait Actuator {
    /// Short name for logs and errors (`"local"`, `"dry_run"`).
    fn name(&self) -> &str;
    /// The namespace this actuator manages; actions for others are refused by [`Actuator::apply`].
    fn namespace(&self) -> &str;
    /// Current number of replicas of `service` (running or not).
    fn replicas(&mut self, service: &str) -> Result<usize, ActuatorError>;
    /// Restarts one replica, or all of them one after the other.
    fn restart(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError>;
    /// Stops one replica, or all.
    fn stop(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError>;
    /// Starts one replica, or all that are not running.
    fn start(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError>;
    /// Scales to exactly `replicas` instances.
    fn scale_to(&mut self, service: &str, replicas: usize) -> Result<(), ActuatorError>;
    /// Moves the service's traffic to `to`.
    fn fail_over(&mut self, service: &str, to: &str) -> Result<(), ActuatorError>;
    /// Marks `node` unschedulable (on behalf of `service`). Only the Kubernetes actuator can.
    fn cordon(&mut self, service: &str, node: &str) -> Result<(), ActuatorError> {
        let _ = (service, node);
        Err(ActuatorError::Unsupported {
            actuator: self.name().to_owned(),
            action: "cordon".into(),
            reason: "no nodes to cordon".into(),
        })
    }
    /// Cordons `node` and evicts its pods, honouring PodDisruptionBudgets. Only Kubernetes can.
    fn drain(&mut self, service: &str, node: &str) -> Result<(), ActuatorError> {
        let _ = (service, node);
        Err(ActuatorError::Unsupported {
            actuator: self.name().to_owned(),
            action: "drain".into(),
            reason: "no nodes to drain".into(),
        })
    }
    /// Checks, within `timeout`, that an applied `action` had its effect (restarted or started
    /// replicas healthy, stopped ones gone, the fail-over target healthy); returns the time it took.
    fn verify(&mut self, action: &Action, timeout: Duration) -> Result<Duration, ActuatorError>;

    /// Carries out `action` (a no-op does nothing), after checking its namespace.
    fn apply(&mut self, action: &Action) -> Result<(), ActuatorError> {
        if action.namespace != self.namespace() {
            return Err(ActuatorError::WrongNamespace {
                actuator: self.name().to_owned(),
                expected: self.namespace().to_owned(),
                found: action.namespace.clone(),
            });
        }
        let service = action.service.as_str();
        match &action.kind {
            ActionKind::Noop => Ok(()),
            ActionKind::Restart { replica } => self.restart(service, *replica),
            ActionKind::Stop { replica } => self.stop(service, *replica),
            ActionKind::Start { replica } => self.start(service, *replica),
            ActionKind::ScaleTo { replicas } => self.scale_to(service, *replicas),
            ActionKind::FailOver { to } => self.fail_over(service, to),
            ActionKind::Cordon { node } => self.cordon(service, node),
            ActionKind::Drain { node } => self.drain(service, node),
        }
    }
}
