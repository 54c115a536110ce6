//! The local-process actuator: each replica of a service is a child process of the executor.
//!
//! Every child is reaped: each call first collects exited children (`try_wait`), stops wait for
//! their child, and dropping the actuator kills and reaps whatever still runs. A stop sends SIGTERM
//! (and SIGCONT, so that a stopped, i.e. hung, process gets it), waits `stop_grace_ms`, then sends
//! SIGKILL. Free ports are found by binding port 0 and releasing it; another process could take
//! the port in between (a small race, acceptable for demos and tests).
//!
//! A service with a `front_port` gets a front proxy ([`FrontProxy`]) spreading its clients over
//! its replicas; scaling updates the proxy's backends. Fail over is between two services of this
//! actuator: `fail_over(a, b)` starts every replica of `b`, switches `a`'s front proxy (if any)
//! to `b`'s replicas, then stops every replica of `a`; clients of `a`'s front port are then
//! served by `b`.

use std::collections::BTreeMap;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::spec::ServiceSpec;
use super::{Actuator, ActuatorError};
use crate::decision::{Action, ActionKind};
use crate::proxy::FrontProxy;

/// A service's front proxy and the service whose replicas it currently sends to.
#[derive(Debug)]
struct Front {
    proxy: FrontProxy,
    serving: String,
}

/// One replica: its port and, while it runs, its child process.
#[derive(Debug)]
struct Instance {
    port: u16,
    child: Option<Child>,
    last_exit: Option<ExitStatus>,
    starts: u32,
}

#[derive(Debug)]
struct Service {
    spec: ServiceSpec,
    instances: Vec<Instance>,
}

/// What an instance is doing, for inspection and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    /// Replica index.
    pub replica: usize,
    /// Port it listens on.
    pub port: u16,
    /// Process id while it runs.
    pub pid: Option<u32>,
    /// How the last process of this replica ended, if one did (e.g. `signal: 9 (SIGKILL)`).
    pub last_exit: Option<String>,
    /// How many times it was started.
    pub starts: u32,
}

/// Runs services as local child processes.
#[derive(Debug)]
pub struct LocalProcessActuator {
    namespace: String,
    services: BTreeMap<String, Service>,
    fronts: BTreeMap<String, Front>,
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl LocalProcessActuator {
    /// Validates `specs` and assigns ports; starts nothing (call [`Actuator::start`] or
    /// [`LocalProcessActuator::start_all`]).
    pub fn new(namespace: &str, specs: Vec<ServiceSpec>) -> Result<Self, ActuatorError> {
        ServiceSpec::validate_all(&specs)?;
        let mut services = BTreeMap::new();
        for spec in specs {
            let mut service = Service {
                spec,
                instances: Vec::new(),
            };
            for i in 0..service.spec.replicas {
                service.instances.push(new_instance(&service.spec, i)?);
            }
            services.insert(service.spec.name.clone(), service);
        }
        let mut fronts = BTreeMap::new();
        for (name, service) in &services {
            let Some(port) = service.spec.front_port else {
                continue;
            };
            let ports = service.instances.iter().map(|i| i.port).collect();
            let proxy = FrontProxy::start(port, ports).map_err(|e| ActuatorError::InvalidSpec {
                service: name.clone(),
                field: "front_port".into(),
                message: format!("cannot listen on 127.0.0.1:{port}: {e}"),
            })?;
            fronts.insert(
                name.clone(),
                Front {
                    proxy,
                    serving: name.clone(),
                },
            );
        }
        Ok(LocalProcessActuator {
            namespace: namespace.to_owned(),
            services,
            fronts,
        })
    }

    /// The port of `service`'s front proxy, if it has one.
    pub fn front_port(&self, service: &str) -> Option<u16> {
        self.fronts.get(service).map(|f| f.proxy.port())
    }

    /// The service whose replicas `service`'s front proxy sends to, and their ports.
    pub fn front_backends(&self, service: &str) -> Option<(String, Vec<u16>)> {
        self.fronts
            .get(service)
            .map(|f| (f.serving.clone(), f.proxy.backends()))
    }

    /// Points every front proxy that serves `service` at its current replicas' ports.
    fn refresh_fronts(&mut self, service: &str) {
        let Some(s) = self.services.get(service) else {
            return;
        };
        let ports: Vec<u16> = s.instances.iter().map(|i| i.port).collect();
        for front in self.fronts.values().filter(|f| f.serving == service) {
            front.proxy.set_backends(ports.clone());
        }
    }

    /// The services' names, sorted.
    pub fn service_names(&self) -> Vec<String> {
        self.services.keys().cloned().collect()
    }

    /// Starts every replica of every service.
    pub fn start_all(&mut self) -> Result<(), ActuatorError> {
        let names: Vec<String> = self.services.keys().cloned().collect();
        for name in names {
            self.start(&name, None)?;
        }
        Ok(())
    }

    /// Each replica's state; reaps exited children first.
    pub fn status(&mut self, service: &str) -> Result<Vec<InstanceStatus>, ActuatorError> {
        let s = self.service_mut(service)?;
        reap(s);
        Ok(s.instances
            .iter()
            .enumerate()
            .map(|(replica, i)| InstanceStatus {
                replica,
                port: i.port,
                pid: i.child.as_ref().map(Child::id),
                last_exit: i.last_exit.map(|e| e.to_string()),
                starts: i.starts,
            })
            .collect())
    }

    /// Kills one replica with SIGKILL at once and reaps it.
    pub fn kill(&mut self, service: &str, replica: usize) -> Result<(), ActuatorError> {
        let s = self.service_mut(service)?;
        let name = s.spec.name.clone();
        let instance = instance_mut(s, replica)?;
        if let Some(mut child) = instance.child.take() {
            let pid = child.id();
            let _ = child.kill(); // fails only if it already exited
            let status = child
                .wait()
                .map_err(|e| process_error(&name, replica, pid, format!("wait: {e}")))?;
            instance.last_exit = Some(status);
        }
        Ok(())
    }

    /// Polls `http://127.0.0.1:<port><health_path>` until it answers 200 or `timeout` passes;
    /// returns how long it took.
    pub fn wait_until_healthy(
        &mut self,
        service: &str,
        replica: usize,
        timeout: Duration,
    ) -> Result<Duration, ActuatorError> {
        let s = self.service_mut(service)?;
        let port = instance_mut(s, replica)?.port;
        let url = format!("http://127.0.0.1:{port}{}", s.spec.health_path);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(500)))
            .http_status_as_error(false)
            .build()
            .into();
        let start = Instant::now();
        loop {
            if agent
                .get(&url)
                .call()
                .is_ok_and(|r| r.status().as_u16() == 200)
            {
                return Ok(start.elapsed());
            }
            if start.elapsed() >= timeout {
                return Err(ActuatorError::Unhealthy {
                    service: service.to_owned(),
                    replica,
                    url,
                    waited_ms: start.elapsed().as_millis() as u64,
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops every replica of every service (SIGTERM, grace, SIGKILL) and reaps them.
    pub fn shutdown(&mut self) -> Result<(), ActuatorError> {
        let names: Vec<String> = self.services.keys().cloned().collect();
        for name in names {
            self.stop(&name, None)?;
        }
        Ok(())
    }

    fn service_mut(&mut self, service: &str) -> Result<&mut Service, ActuatorError> {
        let known = self.services.keys().cloned().collect::<Vec<_>>().join(", ");
        self.services
            .get_mut(service)
            .ok_or_else(|| ActuatorError::UnknownService {
                service: service.to_owned(),
                known,
            })
    }

    fn targets(
        &mut self,
        service: &str,
        replica: Option<usize>,
    ) -> Result<Vec<usize>, ActuatorError> {
        let s = self.service_mut(service)?;
        reap(s);
        match replica {
            Some(r) => instance_mut(s, r).map(|_| vec![r]),
            None => Ok((0..s.instances.len()).collect()),
        }
    }
}

fn new_instance(spec: &ServiceSpec, replica: usize) -> Result<Instance, ActuatorError> {
    let port = if spec.base_port == 0 {
        free_port().map_err(|e| ActuatorError::Spawn {
            service: spec.name.clone(),
            replica,
            command: spec.command.display().to_string(),
            message: format!("no free loopback port: {e}"),
        })?
    } else {
        // validate_all bounds base_port + MAX_LOCAL_REPLICAS below u16::MAX.
        spec.base_port + replica as u16
    };
    Ok(Instance {
        port,
        child: None,
        last_exit: None,
        starts: 0,
    })
}

fn instance_mut(s: &mut Service, replica: usize) -> Result<&mut Instance, ActuatorError> {
    let replicas = s.instances.len();
    s.instances
        .get_mut(replica)
        .ok_or_else(|| ActuatorError::UnknownReplica {
            service: s.spec.name.clone(),
            replica,
            replicas,
        })
}

fn process_error(service: &str, replica: usize, pid: u32, message: String) -> ActuatorError {
    ActuatorError::Process {
        service: service.to_owned(),
        replica,
        pid,
        message,
    }
}

/// Collects children that have exited, so none stays a zombie.
fn reap(s: &mut Service) {
    for instance in &mut s.instances {
        let exited = instance
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            instance.last_exit = Some(status);
            instance.child = None;
        }
    }
}

fn start_instance(
    spec: &ServiceSpec,
    replica: usize,
    instance: &mut Instance,
) -> Result<(), ActuatorError> {
    if instance.child.is_some() {
        return Ok(());
    }
    let child = Command::new(&spec.command)
        .args(spec.args_for(replica, instance.port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| ActuatorError::Spawn {
            service: spec.name.clone(),
            replica,
            command: spec.command.display().to_string(),
            message: e.to_string(),
        })?;
    instance.child = Some(child);
    instance.starts += 1;
    Ok(())
}

fn stop_instance(
    spec: &ServiceSpec,
    replica: usize,
    instance: &mut Instance,
) -> Result<(), ActuatorError> {
    let Some(mut child) = instance.child.take() else {
        return Ok(());
    };
    let pid = child.id();
    let err = |m: String| process_error(&spec.name, replica, pid, m);
    if let Some(status) = child
        .try_wait()
        .map_err(|e| err(format!("try_wait: {e}")))?
    {
        instance.last_exit = Some(status);
        return Ok(());
    }
    let nix_pid = Pid::from_raw(i32::try_from(pid).map_err(|_| err("pid out of range".into()))?);
    // The child is ours and not yet reaped, so the pid cannot have been reused.
    let _ = kill(nix_pid, Signal::SIGTERM);
    let _ = kill(nix_pid, Signal::SIGCONT);
    let deadline = Instant::now() + Duration::from_millis(spec.stop_grace_ms);
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| err(format!("try_wait: {e}")))?
        {
            instance.last_exit = Some(status);
            return Ok(());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let status = child
                .wait()
                .map_err(|e| err(format!("wait after SIGKILL: {e}")))?;
            instance.last_exit = Some(status);
            return Ok(());
        }
        thread::sleep(Duration::from_millis(10));
    }
}

impl Actuator for LocalProcessActuator {
    fn name(&self) -> &str {
        "local"
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn replicas(&mut self, service: &str) -> Result<usize, ActuatorError> {
        Ok(self.service_mut(service)?.instances.len())
    }

    fn restart(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        for r in self.targets(service, replica)? {
            let s = self.service_mut(service)?;
            stop_instance(&s.spec, r, &mut s.instances[r])?;
            start_instance(&s.spec, r, &mut s.instances[r])?;
        }
        Ok(())
    }

    fn stop(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        for r in self.targets(service, replica)? {
            let s = self.service_mut(service)?;
            stop_instance(&s.spec, r, &mut s.instances[r])?;
        }
        Ok(())
    }

    fn start(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        for r in self.targets(service, replica)? {
            let s = self.service_mut(service)?;
            start_instance(&s.spec, r, &mut s.instances[r])?;
        }
        Ok(())
    }

    fn scale_to(&mut self, service: &str, replicas: usize) -> Result<(), ActuatorError> {
        let s = self.service_mut(service)?;
        if replicas > super::spec::MAX_LOCAL_REPLICAS {
            return Err(ActuatorError::InvalidSpec {
                service: service.to_owned(),
                field: "replicas".into(),
                message: format!(
                    "expected at most {}, asked {replicas}",
                    super::spec::MAX_LOCAL_REPLICAS
                ),
            });
        }
        reap(s);
        while s.instances.len() > replicas {
            let r = s.instances.len() - 1;
            stop_instance(&s.spec, r, &mut s.instances[r])?;
            s.instances.pop();
        }
        while s.instances.len() < replicas {
            let r = s.instances.len();
            let mut instance = new_instance(&s.spec, r)?;
            start_instance(&s.spec, r, &mut instance)?;
            s.instances.push(instance);
        }
        self.refresh_fronts(service);
        Ok(())
    }

    fn verify(&mut self, action: &Action, timeout: Duration) -> Result<Duration, ActuatorError> {
        let service = action.service.as_str();
        match &action.kind {
            ActionKind::Noop => Ok(Duration::ZERO),
            ActionKind::Restart { replica } | ActionKind::Start { replica } => {
                let targets = self.targets(service, *replica)?;
                self.wait_all_healthy(service, targets, timeout)
            }
            ActionKind::ScaleTo { .. } => {
                let targets = self.targets(service, None)?;
                self.wait_all_healthy(service, targets, timeout)
            }
            ActionKind::FailOver { to } => {
                let targets = self.targets(to, None)?;
                let took = self.wait_all_healthy(to, targets, timeout)?;
                match self.fronts.get(service) {
                    Some(front) if front.serving != *to => Err(ActuatorError::Unsupported {
                        actuator: "local".into(),
                        action: "fail_over".into(),
                        reason: format!(
                            "front proxy of `{service}` still sends to `{}`",
                            front.serving
                        ),
                    }),
                    _ => Ok(took),
                }
            }
            ActionKind::Stop { replica } => {
                // `stop` reaps what it stops; a replica still running was restarted by someone else.
                let targets = self.targets(service, *replica)?;
                let status = self.status(service)?;
                match targets.into_iter().find(|&r| status[r].pid.is_some()) {
                    None => Ok(Duration::ZERO),
                    Some(r) => Err(process_error(
                        service,
                        r,
                        status[r].pid.unwrap_or(0),
                        "still running after stop".into(),
                    )),
                }
            }
            ActionKind::Cordon { .. } | ActionKind::Drain { .. } => {
                Err(ActuatorError::Unsupported {
                    actuator: "local".into(),
                    action: action.kind.name().into(),
                    reason: "local processes run on no nodes".into(),
                })
            }
        }
    }

    fn fail_over(&mut self, service: &str, to: &str) -> Result<(), ActuatorError> {
        if service == to {
            return Err(ActuatorError::Unsupported {
                actuator: "local".into(),
                action: "fail_over".into(),
                reason: format!("`{service}` cannot fail over to itself"),
            });
        }
        self.service_mut(service)?;
        self.start(to, None)?;
        if let Some(front) = self.fronts.get_mut(service) {
            front.serving = to.to_owned();
        }
        self.refresh_fronts(to);
        self.stop(service, None)
    }
}

impl LocalProcessActuator {
    /// Waits until every replica in `replicas` of `service` is healthy, sharing one deadline.
    fn wait_all_healthy(
        &mut self,
        service: &str,
        replicas: Vec<usize>,
        timeout: Duration,
    ) -> Result<Duration, ActuatorError> {
        let start = Instant::now();
        for r in replicas {
            self.wait_until_healthy(service, r, timeout.saturating_sub(start.elapsed()))?;
        }
        Ok(start.elapsed())
    }
}

impl Drop for LocalProcessActuator {
    /// Kills (SIGKILL) and reaps every child still running, so none outlives the actuator.
    fn drop(&mut self) {
        for s in self.services.values_mut() {
            for instance in &mut s.instances {
                if let Some(mut child) = instance.child.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }
}
