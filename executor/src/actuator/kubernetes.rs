//! The Kubernetes actuator: each action becomes one or a few API requests, built by the plain
//! functions of [`requests`] and sent by the kube-rs client of [`client`] (the only code that
//! talks to an API server).
//!
//! | action | requests |
//! |---|---|
//! | restart a whole service | rollout restart: patch the pod template's `restartedAt` annotation |
//! | restart replica `i` | list the Deployment's pods (sorted by name), delete the `i`-th |
//! | scale to `n` | patch the `scale` subresource |
//! | fail over to `T` | replace the service's Service `spec.selector` by `T`'s pod labels |
//! | cordon node | patch the node's `spec.unschedulable` |
//! | drain node | cordon, then evict each pod (Eviction API, which honours PodDisruptionBudgets) |
//!
//! Verification polls (every 500 ms, up to the verify timeout) until the effect is visible pod by
//! pod ([`pod_check`]): a rollout restart when the desired number of pods are Ready with the
//! `restartedAt` the patch wrote and no older pod is left; a one-replica restart when the deleted
//! pod is gone and a new pod is Ready; a scaling when exactly the desired number of pods are live
//! and Ready; a fail over when the Service's selector is the target's; a cordon or drain when the
//! node is unschedulable or empty.
//!
//! Stop and start are not Kubernetes operations (a Deployment restarts what is stopped): they are
//! refused as [`ActuatorError::Unsupported`]; scale instead. RBAC for exactly these requests:
//! `deploy/k8s/rbac.yaml`.

mod client;
pub mod pod_check;
pub mod requests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

pub use client::{KubeClient, SendError};
use pod_check::Check;
use requests::KubeRequest;

use super::{Actuator, ActuatorError};
use crate::decision::{Action, ActionKind};

/// How one service of the cluster file maps to Kubernetes objects (`[services.kubernetes]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeServiceSettings {
    /// The Deployment that runs the service's pods.
    pub deployment: String,
    /// The Service (load balancer object) whose selector a fail-over of this service switches;
    /// default: the Deployment's name.
    pub service: Option<String>,
    /// Labels of this service's pods: what another service's fail-over to this one selects.
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
}

/// Actuator-wide Kubernetes settings (`[actuator]` with `kind = "kubernetes"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSettings {
    /// Kubeconfig file; `None`: in-cluster service account, then `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Timeout of one API request.
    pub request_timeout: Duration,
    /// How long a drain retries evictions a PodDisruptionBudget refuses (HTTP 429).
    pub drain_timeout: Duration,
}

/// A service the actuator manages: its name in the cluster file and its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeService {
    /// Name in the cluster file (and in actions).
    pub name: String,
    /// Its Kubernetes objects.
    pub objects: KubeServiceSettings,
}

/// What a restart changed, remembered until it is verified (per service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartMark {
    /// A rollout restart that wrote this `restartedAt` (RFC 3339).
    Rollout {
        /// The annotation value the patch wrote.
        restarted_at: String,
    },
    /// One pod deleted while the service had the pods `before`.
    Replica {
        /// The deleted pod.
        deleted: String,
        /// The live pod names just before the deletion.
        before: Vec<String>,
    },
}

/// Carries out actions on Deployments, Services and nodes of one namespace.
#[derive(Debug)]
pub struct KubernetesActuator {
    namespace: String,
    services: Vec<KubeService>,
    settings: KubeSettings,
    client: KubeClient,
    /// The last restart of each service, for [`Actuator::verify`].
    restarts: BTreeMap<String, RestartMark>,
}

/// Whether `name` is a valid DNS-1123 subdomain (the rule for Deployment, Service, node and
/// namespace names: lower-case alphanumerics, `-` and `.`, starting and ending alphanumeric, at
/// most 253 characters; Kubernetes docs, "Object Names and IDs").
pub fn is_dns1123_subdomain(name: &str) -> bool {
    let ok_end = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !name.is_empty()
        && name.len() <= 253
        && ok_end(name.chars().next())
        && ok_end(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// RFC 3339 UTC time with whole seconds, as kubectl writes `restartedAt` (Go's `time.RFC3339`).
pub fn rfc3339(unix_ms: u64) -> String {
    jiff::Timestamp::from_millisecond(unix_ms as i64)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

impl KubernetesActuator {
    /// Connects to the API server (see [`KubeClient::connect`]); fails cleanly without a
    /// configuration. Names are checked first.
    pub fn connect(
        namespace: &str,
        services: Vec<KubeService>,
        settings: KubeSettings,
    ) -> Result<Self, ActuatorError> {
        let bad = |service: &str, field: &str, message: String| ActuatorError::InvalidSpec {
            service: service.to_owned(),
            field: field.to_owned(),
            message,
        };
        if !is_dns1123_subdomain(namespace) {
            return Err(bad(
                "*",
                "namespace",
                format!("expected a DNS-1123 name, found `{namespace}`"),
            ));
        }
        for s in &services {
            if !is_dns1123_subdomain(&s.objects.deployment) {
                return Err(bad(
                    &s.name,
                    "kubernetes.deployment",
                    format!("expected a DNS-1123 name, found `{}`", s.objects.deployment),
                ));
            }
        }
        let client = KubeClient::connect(settings.kubeconfig.as_deref(), settings.request_timeout)
            .map_err(|message| ActuatorError::Kubernetes {
                service: "*".into(),
                request: "connect".into(),
                status: None,
                message,
            })?;
        Ok(KubernetesActuator {
            namespace: namespace.to_owned(),
            services,
            settings,
            client,
            restarts: BTreeMap::new(),
        })
    }

    fn service(&self, name: &str) -> Result<&KubeServiceSettings, ActuatorError> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .map(|s| &s.objects)
            .ok_or_else(|| ActuatorError::UnknownService {
                service: name.to_owned(),
                known: self
                    .services
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn send(&self, service: &str, request: &KubeRequest) -> Result<Value, ActuatorError> {
        self.client
            .send(request)
            .map_err(|e| ActuatorError::Kubernetes {
                service: service.to_owned(),
                request: format!("{:?} {}", request.method, request.path),
                status: e.status,
                message: e.message,
            })
    }

    /// The names of the service's live pods, sorted: replica `i` is the `i`-th.
    pub fn pods(&mut self, service: &str) -> Result<Vec<String>, ActuatorError> {
        let (_, list) = self.pod_list(service)?;
        requests::pod_names(&list).map_err(|m| self.shape(service, m))
    }

    /// The Deployment's desired replicas (`spec.replicas` of its scale) and its `PodList`.
    fn pod_list(&self, service: &str) -> Result<(usize, Value), ActuatorError> {
        let deployment = self.service(service)?.deployment.clone();
        let scale = self.send(service, &requests::get_scale(&self.namespace, &deployment))?;
        let (desired, selector) = requests::scale_of(&scale).map_err(|m| self.shape(service, m))?;
        let list = self.send(service, &requests::list_pods(&self.namespace, &selector))?;
        Ok((desired, list))
    }

    /// The last restart of `service` not yet forgotten (what [`Actuator::verify`] checks against).
    pub fn restart_mark(&self, service: &str) -> Option<&RestartMark> {
        self.restarts.get(service)
    }

    /// Polls the service's pods until `check` is [`Check::Done`] or `timeout` passes; the timeout
    /// error quotes what was still missing.
    fn poll_pods(
        &mut self,
        service: &str,
        timeout: Duration,
        check: impl Fn(usize, &[pod_check::PodState]) -> Check,
    ) -> Result<Duration, ActuatorError> {
        let mut last = String::new();
        let result = self.poll(service, "pods", timeout, |a| {
            let (desired, list) = a.pod_list(service)?;
            let pods = pod_check::pod_states(&list).map_err(|m| a.shape(service, m))?;
            match check(desired, &pods) {
                Check::Done => Ok(true),
                Check::Waiting(why) => {
                    last = why;
                    Ok(false)
                }
            }
        });
        result.map_err(|e| match e {
            ActuatorError::Kubernetes {
                service,
                request,
                status: None,
                message,
            } if request == "verify" => ActuatorError::Kubernetes {
                service,
                request,
                status: None,
                message: format!("{message}: {last}"),
            },
            other => other,
        })
    }

    fn shape(&self, service: &str, message: String) -> ActuatorError {
        ActuatorError::Kubernetes {
            service: service.to_owned(),
            request: "decode answer".into(),
            status: None,
            message,
        }
    }

    /// Polls `done` every 500 ms until it holds or `timeout` passes.
    fn poll(
        &mut self,
        service: &str,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&mut Self) -> Result<bool, ActuatorError>,
    ) -> Result<Duration, ActuatorError> {
        let start = Instant::now();
        loop {
            if done(self)? {
                return Ok(start.elapsed());
            }
            if start.elapsed() >= timeout {
                return Err(ActuatorError::Kubernetes {
                    service: service.to_owned(),
                    request: "verify".into(),
                    status: None,
                    message: format!("{what} not reached after {} ms", timeout.as_millis()),
                });
            }
            thread::sleep(Duration::from_millis(500));
        }
    }

    fn deployment_state(&self, service: &str) -> Result<Value, ActuatorError> {
        let deployment = &self.service(service)?.deployment;
        self.send(
            service,
            &requests::get_deployment(&self.namespace, deployment),
        )
    }
}

impl Actuator for KubernetesActuator {
    fn name(&self) -> &str {
        "kubernetes"
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn replicas(&mut self, service: &str) -> Result<usize, ActuatorError> {
        let deployment = self.service(service)?.deployment.clone();
        let scale = self.send(service, &requests::get_scale(&self.namespace, &deployment))?;
        requests::scale_of(&scale)
            .map(|(n, _)| n)
            .map_err(|m| self.shape(service, m))
    }

    fn restart(&mut self, service: &str, replica: Option<usize>) -> Result<(), ActuatorError> {
        let deployment = self.service(service)?.deployment.clone();
        match replica {
            None => {
                let restarted_at = rfc3339(crate::run_loop::now_ms());
                let request =
                    requests::rollout_restart(&self.namespace, &deployment, &restarted_at);
                self.send(service, &request)?;
                self.restarts
                    .insert(service.to_owned(), RestartMark::Rollout { restarted_at });
                Ok(())
            }
            Some(i) => {
                let pods = self.pods(service)?;
                let pod = pods.get(i).ok_or(ActuatorError::UnknownReplica {
                    service: service.to_owned(),
                    replica: i,
                    replicas: pods.len(),
                })?;
                self.send(service, &requests::delete_pod(&self.namespace, pod))?;
                let mark = RestartMark::Replica {
                    deleted: pod.clone(),
                    before: pods.clone(),
                };
                self.restarts.insert(service.to_owned(), mark);
                Ok(())
            }
        }
    }

    fn stop(&mut self, _service: &str, _replica: Option<usize>) -> Result<(), ActuatorError> {
        Err(self.unsupported(
            "stop",
            "a Deployment restarts stopped pods: scale down instead",
        ))
    }

    fn start(&mut self, _service: &str, _replica: Option<usize>) -> Result<(), ActuatorError> {
        Err(self.unsupported(
            "start",
            "a Deployment starts its pods itself: scale up instead",
        ))
    }

    fn scale_to(&mut self, service: &str, replicas: usize) -> Result<(), ActuatorError> {
        let deployment = self.service(service)?.deployment.clone();
        self.send(
            service,
            &requests::scale(&self.namespace, &deployment, replicas),
        )
        .map(drop)
    }

    fn fail_over(&mut self, service: &str, to: &str) -> Result<(), ActuatorError> {
        let from = self.service(service)?;
        let k8s_service = from
            .service
            .clone()
            .unwrap_or_else(|| from.deployment.clone());
        let selector = self.service(to)?.selector.clone();
        if selector.is_empty() {
            return Err(ActuatorError::InvalidSpec {
                service: to.to_owned(),
                field: "kubernetes.selector".into(),
                message: "expected the labels of its pods (a fail-over target)".into(),
            });
        }
        let request = requests::switch_selector(&self.namespace, &k8s_service, &selector);
        self.send(service, &request).map(drop)
    }

    fn cordon(&mut self, service: &str, node: &str) -> Result<(), ActuatorError> {
        self.send(service, &requests::cordon(node, true)).map(drop)
    }

    fn drain(&mut self, service: &str, node: &str) -> Result<(), ActuatorError> {
        self.cordon(service, node)?;
        let start = Instant::now();
        loop {
            let list = self.send(service, &requests::pods_on_node(node))?;
            let pods = requests::pods_to_evict(&list).map_err(|m| self.shape(service, m))?;
            let mut refused = Vec::new();
            for (namespace, pod) in &pods {
                match self.client.send(&requests::evict(namespace, pod)) {
                    Ok(_) => {}
                    // Gone already: nothing to evict.
                    Err(SendError {
                        status: Some(404), ..
                    }) => {}
                    // A PodDisruptionBudget forbids it now: retry, as kubectl drain does.
                    Err(SendError {
                        status: Some(429), ..
                    }) => refused.push(format!("{namespace}/{pod}")),
                    Err(e) => {
                        return Err(ActuatorError::Kubernetes {
                            service: service.to_owned(),
                            request: format!("evict {namespace}/{pod}"),
                            status: e.status,
                            message: e.message,
                        });
                    }
                }
            }
            if refused.is_empty() {
                return Ok(());
            }
            if start.elapsed() >= self.settings.drain_timeout {
                return Err(ActuatorError::Kubernetes {
                    service: service.to_owned(),
                    request: format!("drain {node}"),
                    status: Some(429),
                    message: format!(
                        "PodDisruptionBudget still refuses evicting {} after {} ms",
                        refused.join(", "),
                        self.settings.drain_timeout.as_millis()
                    ),
                });
            }
            thread::sleep(Duration::from_secs(1));
        }
    }

    fn verify(&mut self, action: &Action, timeout: Duration) -> Result<Duration, ActuatorError> {
        let service = action.service.clone();
        match &action.kind {
            ActionKind::Noop => Ok(Duration::ZERO),
            ActionKind::Restart { .. } => match self.restarts.get(&service).cloned() {
                Some(RestartMark::Rollout { restarted_at }) => {
                    let since = restarted_at.parse::<jiff::Timestamp>().map_err(|e| {
                        self.shape(&service, format!("restartedAt `{restarted_at}`: {e}"))
                    })?;
                    self.poll_pods(&service, timeout, |desired, pods| {
                        pod_check::rollout_restarted(pods, desired, since)
                    })
                }
                Some(RestartMark::Replica { deleted, before }) => {
                    self.poll_pods(&service, timeout, |desired, pods| {
                        pod_check::replica_replaced(pods, desired, &deleted, &before)
                    })
                }
                // Restarted by someone else: the Deployment's own rollout status is all we know.
                None => self.poll(&service, "rollout complete", timeout, |a| {
                    Ok(requests::rollout_complete(&a.deployment_state(&service)?))
                }),
            },
            ActionKind::ScaleTo { replicas } => {
                let want = *replicas;
                self.poll_pods(&service, timeout, |desired, pods| {
                    if desired != want {
                        Check::Waiting(format!(
                            "the Deployment wants {desired} replicas, not {want} (changed by another controller?)"
                        ))
                    } else {
                        pod_check::scaled(pods, want)
                    }
                })
            }
            ActionKind::FailOver { to } => {
                let from = self.service(&service)?;
                let name = from
                    .service
                    .clone()
                    .unwrap_or_else(|| from.deployment.clone());
                let want = serde_json::to_value(&self.service(to)?.selector).unwrap_or(Value::Null);
                let get = requests::get_service(&self.namespace, &name);
                self.poll(&service, "Service selector switched", timeout, |a| {
                    Ok(a.send(&service, &get)?.pointer("/spec/selector") == Some(&want))
                })
            }
            ActionKind::Cordon { node } => {
                let get = KubeRequest {
                    method: requests::Method::Get,
                    path: format!("/api/v1/nodes/{node}"),
                    content_type: None,
                    body: None,
                };
                self.poll(&service, "node unschedulable", timeout, |a| {
                    Ok(a.send(&service, &get)?.pointer("/spec/unschedulable")
                        == Some(&Value::Bool(true)))
                })
            }
            ActionKind::Drain { node } => {
                let list = requests::pods_on_node(node);
                self.poll(&service, "node drained", timeout, |a| {
                    let answer = a.send(&service, &list)?;
                    Ok(requests::pods_to_evict(&answer)
                        .map_err(|m| a.shape(&service, m))?
                        .is_empty())
                })
            }
            ActionKind::Stop { .. } | ActionKind::Start { .. } => {
                Err(self.unsupported(action.kind.name(), "not a Kubernetes operation"))
            }
        }
    }
}

impl KubernetesActuator {
    fn unsupported(&self, action: &str, reason: &str) -> ActuatorError {
        ActuatorError::Unsupported {
            actuator: "kubernetes".into(),
            action: action.into(),
            reason: reason.into(),
        }
    }
}
