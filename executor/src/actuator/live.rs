//! [`LiveActuator`]: the actuator the cluster file's `[actuator]` table chooses, and what differs
//! between them for the loop (who starts the services, how replicas' series are recognised).

use std::time::Duration;

use super::{Actuator, ActuatorError, KubernetesActuator, LocalProcessActuator};
use crate::cluster::{ActuatorKind, ClusterFile};
use crate::decision::Action;
use crate::observe::ReplicaId;

/// The live loop's actuator.
#[derive(Debug)]
pub enum LiveActuator {
    /// Local processes the executor starts and owns.
    Local(LocalProcessActuator),
    /// A Kubernetes cluster (the cluster runs the services; the executor only acts on them).
    Kubernetes(Box<KubernetesActuator>),
}

impl LiveActuator {
    /// Builds the actuator `cluster` chooses; the Kubernetes one connects to its API server (and
    /// fails cleanly without a configuration). Starts nothing.
    pub fn from_cluster(cluster: &ClusterFile) -> Result<Self, ActuatorError> {
        match cluster.actuator.kind {
            ActuatorKind::Local => Ok(LiveActuator::Local(LocalProcessActuator::new(
                &cluster.namespace,
                cluster.service_specs(),
            )?)),
            ActuatorKind::Kubernetes => {
                let (settings, services) = cluster.kube_settings();
                Ok(LiveActuator::Kubernetes(Box::new(
                    KubernetesActuator::connect(&cluster.namespace, services, settings)?,
                )))
            }
        }
    }

    /// The local-process actuator, if that is the one.
    pub fn local(&mut self) -> Option<&mut LocalProcessActuator> {
        match self {
            LiveActuator::Local(a) => Some(a),
            LiveActuator::Kubernetes(_) => None,
        }
    }

    /// Starts the services the executor owns (local processes) and waits until each replica is
    /// healthy; a Kubernetes cluster runs its own.
    pub fn start_services(&mut self, timeout: Duration) -> Result<(), ActuatorError> {
        let LiveActuator::Local(a) = self else {
            return Ok(());
        };
        a.start_all()?;
        let services: Vec<(String, usize)> = a
            .service_names()
            .into_iter()
            .map(|s| {
                let n = a.status(&s).map(|st| st.len()).unwrap_or(0);
                (s, n)
            })
            .collect();
        for (s, n) in services {
            for r in 0..n {
                a.wait_until_healthy(&s, r, timeout)?;
            }
        }
        Ok(())
    }

    /// How each replica of `service` is recognised in metrics, replica `i` at index `i`.
    pub fn replica_ids(&mut self, service: &str) -> Result<Vec<ReplicaId>, ActuatorError> {
        match self {
            LiveActuator::Local(a) => Ok(a
                .status(service)?
                .iter()
                .map(|i| ReplicaId::Port(i.port))
                .collect()),
            LiveActuator::Kubernetes(k) => {
                Ok(k.pods(service)?.into_iter().map(ReplicaId::Pod).collect())
            }
        }
    }

    /// Stops what the executor owns (local processes); leaves a Kubernetes cluster as it is.
    pub fn shutdown(&mut self) -> Result<(), ActuatorError> {
        match self {
            LiveActuator::Local(a) => a.shutdown(),
            LiveActuator::Kubernetes(_) => Ok(()),
        }
    }

    fn inner(&mut self) -> &mut dyn Actuator {
        match self {
            LiveActuator::Local(a) => a,
            LiveActuator::Kubernetes(k) => k.as_mut(),
        }
    }
}

impl Actuator for LiveActuator {
    fn name(&self) -> &str {
        match self {
            LiveActuator::Local(a) => a.name(),
            LiveActuator::Kubernetes(k) => k.name(),
        }
    }
    fn namespace(&self) -> &str {
        match self {
            LiveActuator::Local(a) => a.namespace(),
            LiveActuator::Kubernetes(k) => k.namespace(),
        }
    }
    fn replicas(&mut self, service: &str) -> Result<usize, ActuatorError> {
        self.inner().replicas(service)
    }
    fn restart(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        self.inner().restart(service, replica)
    }
    fn stop(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        self.inner().stop(service, replica)
    }
    fn start(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        self.inner().start(service, replica)
    }
    fn scale_to(&mut self, service: &str, replicas: usize) -> Result<(), ActuatorError> {
        self.inner().scale_to(service, replicas)
    }
    fn fail_over(&mut self, service: &str, to: &str) -> Result<(), ActuatorError> {
        self.inner().fail_over(service, to)
    }
    fn cordon(&mut self, service: &str, node: &str) -> Result<(), ActuatorError> {
        self.inner().cordon(service, node)
    }
    fn drain(&mut self, service: &str, node: &str) -> Result<(), ActuatorError> {
        self.inner().drain(service, node)
    }
    fn verify(&mut self, action: &Action, timeout: Duration) -> Result<Duration, ActuatorError> {
        self.inner().verify(action, timeout)
    }
}
