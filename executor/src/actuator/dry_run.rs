//! The dry-run actuator: checks each action like a real one would, records it, and touches nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Actuator, ActuatorError};
use crate::decision::{Action, ActionKind};

/// Records the actions it would carry out. Knows each service's replica count, so that it refuses
/// what a real actuator would refuse (unknown service or replica) and scaling changes the count.
#[derive(Debug, Clone)]
pub struct DryRunActuator {
    namespace: String,
    replicas: BTreeMap<String, usize>,
    recorded: Vec<Action>,
}

impl DryRunActuator {
    /// A dry run over `services` (name, replicas) in `namespace`.
    pub fn new(namespace: &str, services: &[(&str, usize)]) -> Self {
        DryRunActuator {
            namespace: namespace.to_owned(),
            replicas: services
                .iter()
                .map(|(s, n)| ((*s).to_owned(), *n))
                .collect(),
            recorded: Vec::new(),
        }
    }

    /// The actions it would have carried out, in order.
    pub fn recorded(&self) -> &[Action] {
        &self.recorded
    }

    fn check(&self, service: &str, replica: Option<usize>) -> Result<usize, ActuatorError> {
        let n = *self
            .replicas
            .get(service)
            .ok_or_else(|| ActuatorError::UnknownService {
                service: service.to_owned(),
                known: self.replicas.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        match replica {
            Some(r) if r >= n => Err(ActuatorError::UnknownReplica {
                service: service.to_owned(),
                replica: r,
                replicas: n,
            }),
            _ => Ok(n),
        }
    }

    fn record(&mut self, service: &str, kind: ActionKind) {
        self.recorded.push(Action {
            namespace: self.namespace.clone(),
            service: service.to_owned(),
            kind,
        });
    }
}

impl Actuator for DryRunActuator {
    fn name(&self) -> &str {
        "dry_run"
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn replicas(&mut self, service: &str) -> Result<usize, ActuatorError> {
        self.check(service, None)
    }

    fn restart(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        self.check(service, replica)?;
        self.record(service, ActionKind::Restart { replica });
        Ok(())
    }

    fn stop(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        self.check(service, replica)?;
        self.record(service, ActionKind::Stop { replica });
        Ok(())
    }

    fn start(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        self.check(service, replica)?;
        self.record(service, ActionKind::Start { replica });
        Ok(())
    }

    fn scale_to(&mut self, service: &str, replicas: usize) -> Result<(), ActuatorError> {
        self.check(service, None)?;
        self.replicas.insert(service.to_owned(), replicas);
        self.record(service, ActionKind::ScaleTo { replicas });
        Ok(())
    }

    fn fail_over(&mut self, service: &str, to: &str) -> Result<(), ActuatorError> {
        self.check(service, None)?;
        self.check(to, None)?;
        self.record(service, ActionKind::FailOver { to: to.to_owned() });
        Ok(())
    }

    fn cordon(&mut self, service: &str, node: &str) -> Result<(), ActuatorError> {
        self.check(service, None)?;
        self.record(
            service,
            ActionKind::Cordon {
                node: node.to_owned(),
            },
        );
        Ok(())
    }

    fn drain(&mut self, service: &str, node: &str) -> Result<(), ActuatorError> {
        self.check(service, None)?;
        self.record(
            service,
            ActionKind::Drain {
                node: node.to_owned(),
            },
        );
        Ok(())
    }

    /// Nothing was done, so there is nothing to wait for: checks the target exists.
    fn verify(&mut self, action: &Action, _timeout: Duration) -> Result<Duration, ActuatorError> {
        self.check(&action.service, None)?;
        Ok(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_valid_actions_and_refuses_what_a_real_actuator_would() {
        let mut dry = DryRunActuator::new("shop", &[("api", 3), ("db", 1)]);
        let restart = Action {
            namespace: "shop".into(),
            service: "api".into(),
            kind: ActionKind::Restart { replica: Some(2) },
        };
        dry.apply(&restart).unwrap();
        dry.apply(&Action {
            kind: ActionKind::ScaleTo { replicas: 5 },
            ..restart.clone()
        })
        .unwrap();
        assert_eq!(dry.replicas("api").unwrap(), 5);
        dry.apply(&Action::noop("shop", "api")).unwrap();
        assert_eq!(dry.recorded().len(), 2, "a no-op is not an action");
        assert_eq!(dry.recorded()[0], restart);

        let bad_replica = Action {
            kind: ActionKind::Restart { replica: Some(1) },
            service: "db".into(),
            ..restart.clone()
        };
        assert!(matches!(
            dry.apply(&bad_replica),
            Err(ActuatorError::UnknownReplica {
                replica: 1,
                replicas: 1,
                ..
            })
        ));
        let other_ns = Action {
            namespace: "prod".into(),
            ..restart.clone()
        };
        assert!(matches!(
            dry.apply(&other_ns),
            Err(ActuatorError::WrongNamespace { .. })
        ));
        let unknown = Action {
            service: "web".into(),
            ..restart
        };
        let err = dry.apply(&unknown).unwrap_err().to_string();
        assert!(err.contains("web") && err.contains("api, db"), "{err}");
        assert_eq!(dry.recorded().len(), 2, "refused actions are not recorded");
        assert_eq!(
            dry.verify(&dry.recorded()[0].clone(), Duration::from_secs(1))
                .unwrap(),
            Duration::ZERO
        );
    }
}
