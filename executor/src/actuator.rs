//! Actuators: what carries a guarded action out.
//!
//! The [`Actuator`] trait has one method per action kind plus [`Actuator::apply`], which dispatches
//! an [`Action`]. Implementations: [`LocalProcessActuator`] (real processes on this machine, for
//! demos and end-to-end tests) and [`DryRunActuator`] (records what it would do). The Kubernetes
//! actuator comes next (issue 7).

mod dry_run;
mod local;
mod spec;

use std::time::Duration;

use crate::decision::{Action, ActionKind};

pub use dry_run::DryRunActuator;
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
        }
    }
}
