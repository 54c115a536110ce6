//! Where the demo's traffic and Prometheus' scrapes go, following the live set of instances of
//! the local-process actuator: a scale-out adds a target, a stop removes one, a fail-over moves
//! the traffic to the other service.
//!
//! [`TrafficTargets::of`] reads the actuator's state; [`Follower::follow`] applies a change to the
//! load generator and to a Prometheus started with file discovery
//! ([`LocalPrometheus::start_discovered`]), and says what changed, so the demo can print it.
//!
//! - **Load**: when the service has a front proxy, the load goes to the proxy's port, and the
//!   actuator itself points the proxy at the replicas after a scale or a fail-over (the proxy skips
//!   backends that refuse connections, a balancer's passive health check). Without a proxy, the
//!   load goes to the *running* replicas of the service, or, when none runs and the service has a
//!   `failover_to`, to that service's running replicas. A hung (SIGSTOPped) process still runs: it
//!   keeps its share of the requests, which time out, as behind a real balancer until its health
//!   check fails.
//! - **Scrapes**: every replica port of every service, running or not, so that a replica that is
//!   down shows `up == 0` instead of disappearing.

use crate::actuator::{ActuatorError, LocalProcessActuator};
use crate::local_prometheus::{LocalPrometheus, PrometheusError};
use crate::run_loop::Executor;

use super::load::LoadGenerator;

/// Errors while following the instances.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// The executor does not run local processes.
    #[error("the demo follows local processes, but the executor's actuator is not `local`")]
    NotLocal,
    /// The actuator could not list a service's replicas.
    #[error(transparent)]
    Actuator(#[from] ActuatorError),
    /// Prometheus' target file could not be written.
    #[error(transparent)]
    Prometheus(#[from] PrometheusError),
}

/// The ports the load and Prometheus use (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrafficTargets {
    /// Where the load generator sends its requests.
    pub load: Vec<u16>,
    /// What Prometheus scrapes: every replica port of every service, sorted.
    pub scrape: Vec<u16>,
    /// Words for the operator: `front proxy :PORT` or `web-0 :PORT, web-2 :PORT`.
    pub load_description: String,
}

impl TrafficTargets {
    /// The targets for the traffic of `service` in `exec`'s current state.
    pub fn of(exec: &mut Executor, service: &str) -> Result<Self, FollowError> {
        let failover_to = exec
            .cluster()
            .service(service)
            .and_then(|s| s.failover_to.clone());
        let local = exec.local_actuator().ok_or(FollowError::NotLocal)?;
        Self::of_local(local, service, failover_to.as_deref())
    }

    /// As [`TrafficTargets::of`], from the actuator and the service's fail-over target.
    pub fn of_local(
        local: &mut LocalProcessActuator,
        service: &str,
        failover_to: Option<&str>,
    ) -> Result<Self, FollowError> {
        let mut scrape = Vec::new();
        for name in local.service_names() {
            scrape.extend(local.status(&name)?.iter().map(|s| s.port));
        }
        scrape.sort_unstable();
        if let Some(port) = local.front_port(service) {
            let serving = local
                .front_backends(service)
                .map_or_else(|| service.to_owned(), |(s, _)| s);
            return Ok(TrafficTargets {
                load: vec![port],
                scrape,
                load_description: format!("front proxy :{port} -> {serving}"),
            });
        }
        let mut running = running_replicas(local, service)?;
        if running.is_empty()
            && let Some(other) = failover_to
        {
            running = running_replicas(local, other)?;
        }
        let load_description = if running.is_empty() {
            "no running replica".to_owned()
        } else {
            running
                .iter()
                .map(|(name, port)| format!("{name} :{port}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Ok(TrafficTargets {
            load: running.iter().map(|(_, port)| *port).collect(),
            scrape,
            load_description,
        })
    }
}

/// `(replica name, port)` of each replica of `service` whose process runs.
fn running_replicas(
    local: &mut LocalProcessActuator,
    service: &str,
) -> Result<Vec<(String, u16)>, FollowError> {
    Ok(local
        .status(service)?
        .into_iter()
        .filter(|s| s.pid.is_some())
        .map(|s| (format!("{service}-{}", s.replica), s.port))
        .collect())
}

/// Keeps the load generator and Prometheus on the current [`TrafficTargets`].
#[derive(Debug)]
pub struct Follower {
    service: String,
    scrape_job: String,
    current: TrafficTargets,
}

/// What [`Follower::follow`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetChange {
    /// The targets before.
    pub before: TrafficTargets,
    /// The targets now.
    pub after: TrafficTargets,
}

impl Follower {
    /// Follows the traffic of `service`; Prometheus scrapes the replicas as job `scrape_job`.
    /// `current` is what the load and Prometheus were started with.
    pub fn new(service: &str, scrape_job: &str, current: TrafficTargets) -> Self {
        Follower {
            service: service.to_owned(),
            scrape_job: scrape_job.to_owned(),
            current,
        }
    }

    /// The targets in use.
    pub fn current(&self) -> &TrafficTargets {
        &self.current
    }

    /// Reads the targets from `exec` and, where they changed, points `load` and `prometheus` (if
    /// any) at them. Returns the change, if there was one.
    pub fn follow(
        &mut self,
        exec: &mut Executor,
        load: &LoadGenerator,
        prometheus: Option<&LocalPrometheus>,
    ) -> Result<Option<TargetChange>, FollowError> {
        let next = TrafficTargets::of(exec, &self.service)?;
        if next == self.current {
            return Ok(None);
        }
        if next.load != self.current.load {
            load.set_targets(&next.load);
        }
        if next.scrape != self.current.scrape
            && let Some(p) = prometheus
        {
            p.set_targets(&self.scrape_job, &next.scrape)?;
        }
        let before = std::mem::replace(&mut self.current, next.clone());
        Ok(Some(TargetChange {
            before,
            after: next,
        }))
    }
}
