//! The live loop: every interval, read metrics -> [`Pipeline`] (features, policy or rule, guards)
//! -> actuator -> verify (with a timeout; scaling is rolled back when its verification fails) ->
//! one audit record. [`Executor::step`] is one iteration (tests and the e2e test drive it
//! directly); [`run`] repeats it until a stop flag is raised ([`stop_on_signals`]: SIGINT,
//! SIGTERM), then stops the services and flushes the audit log.
//!
//! The actuator is the one the cluster file chooses ([`LiveActuator`]). With the local-process
//! actuator the services are the executor's children: [`Executor::start`] starts them (also in
//! shadow mode, where they are then only watched), and [`Executor::shutdown`] (or dropping the
//! executor) stops them. With the Kubernetes actuator the cluster runs them and the executor
//! only reads their pods.
//!
//! Every decision is recorded, acted on or not. If the audit log cannot be written the loop stops
//! with an error: the executor never acts without a record.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::actuator::{Actuator, ActuatorError, LiveActuator, LocalProcessActuator};
use crate::audit::{AuditError, AuditSigner, AuditWriter};
use crate::cluster::ClusterFile;
use crate::decision::{Action, ActionKind, Decision, Outcome};
use crate::guards::{ExecutedAction, GuardConfigError, replicas_touched};
use crate::metrics::MetricError;
use crate::observe::{MetricReader, Readings, ReplicaId};
use crate::pipeline::{Judged, Mode, Pipeline, Proposer};

/// Errors that stop the executor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError {
    /// The services could not be started.
    #[error("starting services: {0}")]
    Start(ActuatorError),
    /// The audit log could not be opened or written (the loop never acts unrecorded).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The guard settings are invalid.
    #[error(transparent)]
    Guards(#[from] GuardConfigError),
    /// The metric source is misconfigured.
    #[error(transparent)]
    Metrics(#[from] MetricError),
}

/// Asks an operator whether to carry an action out (confirm mode).
pub type Confirm = Box<dyn FnMut(&Action) -> bool + Send>;

/// What one iteration did.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Audit record seq.
    pub seq: u64,
    /// Time of the iteration, ms since the epoch.
    pub now_ms: u64,
    /// What the policy or rule proposed, before the guards.
    pub proposed: Action,
    /// The final action (after any replacement by the confidence gate).
    pub action: Action,
    /// Whether the guards allowed it.
    pub allowed: bool,
    /// What happened.
    pub outcome: Outcome,
    /// What was read.
    pub readings: Readings,
    /// Metrics received -> action issued (the pipeline, not the actuator).
    pub decision_latency: Duration,
}

/// The executor: services, metric reader, pipeline and audit log.
pub struct Executor {
    cluster: ClusterFile,
    mode: Mode,
    actuator: LiveActuator,
    reader: MetricReader,
    pipeline: Pipeline,
    audit: AuditWriter,
    confirm: Confirm,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("mode", &self.mode)
            .field("source", &self.pipeline.source())
            .field("audit", &self.audit.path())
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch (the executor's only clock; not used by sim, envs or agents).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Executor {
    /// Opens the audit log, builds the actuator the cluster file chooses, starts the services the
    /// executor owns (local processes) and waits (up to the verify timeout) until each replica is
    /// healthy. Proposals come from `proposer`. Confirm mode asks
    /// `confirm` (default: refuse everything, until [`Executor::set_confirm`]).
    pub fn start(
        cluster: ClusterFile,
        mode: Mode,
        proposer: Proposer,
        audit_path: &Path,
        signer: Option<AuditSigner>,
    ) -> Result<Self, ExecuteError> {
        let pipeline = Pipeline::new(&cluster, mode, proposer)?;
        let reader = MetricReader::new(&cluster)?;
        let audit = AuditWriter::open(audit_path, signer, now_ms())?;
        let mut actuator = LiveActuator::from_cluster(&cluster).map_err(ExecuteError::Start)?;
        actuator
            .start_services(Duration::from_millis(cluster.verify_timeout_ms))
            .map_err(ExecuteError::Start)?;
        Ok(Executor {
            cluster,
            mode,
            actuator,
            reader,
            pipeline,
            audit,
            confirm: Box::new(|_| false),
        })
    }

    /// Sets the operator prompt of confirm mode.
    pub fn set_confirm(&mut self, confirm: Confirm) {
        self.confirm = confirm;
    }

    /// The actuator.
    pub fn actuator(&mut self) -> &mut LiveActuator {
        &mut self.actuator
    }

    /// The local-process actuator, when that is the one (the e2e test injects faults into its
    /// processes).
    pub fn local_actuator(&mut self) -> Option<&mut LocalProcessActuator> {
        self.actuator.local()
    }

    /// The cluster file.
    pub fn cluster(&self) -> &ClusterFile {
        &self.cluster
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Each service's replica ports (local processes; empty with Kubernetes), by service name.
    pub fn ports(&mut self) -> BTreeMap<String, Vec<u16>> {
        self.replica_ids()
            .0
            .into_iter()
            .map(|(s, ids)| {
                let ports = ids
                    .into_iter()
                    .filter_map(|id| match id {
                        ReplicaId::Port(p) => Some(p),
                        ReplicaId::Pod(_) => None,
                    })
                    .collect();
                (s, ports)
            })
            .collect()
    }

    /// How each service's replicas are recognised in metrics, and the problems met listing them
    /// (a service whose replicas cannot be listed gets none: its `up` is then missing and the
    /// fresh-metrics guard refuses to act).
    pub fn replica_ids(&mut self) -> (BTreeMap<String, Vec<ReplicaId>>, Vec<String>) {
        let mut ids = BTreeMap::new();
        let mut problems = Vec::new();
        for s in self.cluster.service_names() {
            let list = self.actuator.replica_ids(&s).unwrap_or_else(|e| {
                problems.push(format!("{s}: listing replicas: {e}"));
                Vec::new()
            });
            ids.insert(s, list);
        }
        (ids, problems)
    }

    /// One iteration at `now_ms`: read, decide, act (if allowed), verify, record.
    pub fn step(&mut self, now_ms: u64) -> Result<StepReport, ExecuteError> {
        let (ids, problems) = self.replica_ids();
        let mut readings = self.reader.read(&self.cluster, &ids, now_ms);
        readings.problems.extend(problems);
        let received = Instant::now();
        let kill_switch = self.pipeline.guards().kill_switch_engaged();
        let judged = self
            .pipeline
            .decide(&self.cluster, &readings, now_ms, kill_switch);
        let decision_latency = received.elapsed();
        let judged = match judged {
            Ok(j) => j,
            Err(e) => {
                // A policy that fails at inference is a safe no-op with a record, never a panic.
                let action = Action::noop(&self.cluster.namespace, "");
                let decision = Decision {
                    obs_digest: String::new(),
                    action: action.clone(),
                    probabilities: Vec::new(),
                    verdicts: Vec::new(),
                    outcome: Outcome::Failed {
                        error: e.to_string(),
                    },
                    fields: self.fields(&readings, "", decision_latency),
                };
                let seq = self.audit.append(now_ms, &decision)?;
                return Ok(StepReport {
                    seq,
                    now_ms,
                    proposed: action.clone(),
                    action,
                    allowed: false,
                    outcome: decision.outcome,
                    readings,
                    decision_latency,
                });
            }
        };
        let mut fields = self.fields(&readings, &judged.proposed.reason, decision_latency);
        // The two stages of a probability policy's decision (decide.rs), and the gate's input.
        if let Some(p) = judged.proposed.act_probability {
            fields.insert("act_probability".into(), json!(p));
        }
        if let Some(p) = judged.proposed.choice_probability {
            fields.insert("choice_probability".into(), json!(p));
        }
        // The live action mask the choice was made under: the allowed flat indices (0 = no-op).
        if !judged.proposed.mask.is_empty() {
            fields.insert(
                "allowed_actions".into(),
                json!(crate::mask::allowed_indices(&judged.proposed.mask)),
            );
        }
        if judged.proposed.act_probability.is_some() || !judged.proposed.probabilities.is_empty() {
            fields.insert("confidence".into(), json!(judged.proposed.probability));
        }
        let outcome = self.act(&judged, &readings, now_ms, &mut fields);
        if !judged.missing.is_empty() {
            fields.insert("missing_features".into(), json!(judged.missing));
        }
        let decision = Decision {
            obs_digest: judged.obs_digest.clone(),
            action: judged.evaluation.action.clone(),
            probabilities: judged.proposed.probabilities.clone(),
            verdicts: judged.evaluation.verdicts.clone(),
            outcome: outcome.clone(),
            fields,
        };
        let seq = self.audit.append(now_ms, &decision)?;
        Ok(StepReport {
            seq,
            now_ms,
            proposed: judged.proposed.action,
            action: judged.evaluation.action,
            allowed: judged.evaluation.allowed,
            outcome,
            readings,
            decision_latency,
        })
    }

    fn fields(
        &self,
        readings: &Readings,
        reason: &str,
        latency: Duration,
    ) -> BTreeMap<String, serde_json::Value> {
        let mut fields = BTreeMap::new();
        fields.insert("mode".into(), json!(self.mode.name()));
        fields.insert("source".into(), json!(self.pipeline.source()));
        fields.insert("reason".into(), json!(reason));
        fields.insert(
            "decision_latency_us".into(),
            json!(latency.as_micros() as u64),
        );
        if !readings.problems.is_empty() {
            fields.insert("metric_problems".into(), json!(readings.problems));
        }
        fields
    }

    /// Carries out an allowed action (asking first in confirm mode), verifies it, and remembers it.
    fn act(
        &mut self,
        judged: &Judged,
        readings: &Readings,
        now_ms: u64,
        fields: &mut BTreeMap<String, serde_json::Value>,
    ) -> Outcome {
        let action = &judged.evaluation.action;
        if action.is_noop() {
            return Outcome::NotActed {
                reason: "no-op".into(),
            };
        }
        if !judged.evaluation.allowed {
            let reasons: Vec<String> = judged
                .evaluation
                .verdicts
                .iter()
                .filter_map(|v| match &v.verdict {
                    crate::decision::Verdict::Deny { reason } => {
                        Some(format!("{}: {reason}", v.guard))
                    }
                    _ => None,
                })
                .collect();
            return Outcome::NotActed {
                reason: reasons.join("; "),
            };
        }
        if self.mode == Mode::Confirm && !(self.confirm)(action) {
            return Outcome::NotActed {
                reason: "operator declined".into(),
            };
        }
        let before = readings.replicas.get(&action.service).copied().unwrap_or(0);
        self.pipeline.record_executed(ExecutedAction {
            time_ms: now_ms,
            action: action.clone(),
            replicas_touched: replicas_touched(&action.kind, before),
        });
        if let Err(e) = self.actuator.apply(action) {
            self.pipeline.record_finished(&action.service);
            return Outcome::Failed {
                error: e.to_string(),
            };
        }
        let timeout = Duration::from_millis(self.cluster.verify_timeout_ms);
        let verified = self.actuator.verify(action, timeout);
        // Verification blocks, so the next decision sees the action finished (not in flight).
        self.pipeline.record_finished(&action.service);
        match verified {
            Ok(took) => {
                fields.insert("verify_ms".into(), json!(took.as_millis() as u64));
                Outcome::Verified
            }
            Err(e) => {
                if let ActionKind::ScaleTo { .. } = action.kind {
                    // Scaling can be undone: go back to the count before.
                    let rollback = self.actuator.scale_to(&action.service, before);
                    fields.insert(
                        "rollback".into(),
                        json!(match rollback {
                            Ok(()) => format!("scaled back to {before}"),
                            Err(r) => format!("rollback failed: {r}"),
                        }),
                    );
                }
                Outcome::Failed {
                    error: e.to_string(),
                }
            }
        }
    }

    /// Stops every service and flushes the audit log.
    pub fn shutdown(mut self) -> Result<(), ExecuteError> {
        let stopped = self.actuator.shutdown();
        self.audit.close()?;
        stopped.map_err(ExecuteError::Start)
    }
}

/// A flag raised by SIGINT or SIGTERM (signal-hook; the handler only stores to the flag).
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// Runs `executor` every `cluster.interval_ms` until `stop` is raised (or `max_steps` iterations
/// ran), calling `on_step` after each; returns how many iterations ran. Does not shut it down.
pub fn run(
    executor: &mut Executor,
    stop: &AtomicBool,
    max_steps: Option<u64>,
    mut on_step: impl FnMut(&StepReport),
) -> Result<u64, ExecuteError> {
    let interval = Duration::from_millis(executor.cluster.interval_ms);
    let mut steps = 0;
    while !stop.load(Ordering::SeqCst) && max_steps.is_none_or(|m| steps < m) {
        let tick = Instant::now();
        let report = executor.step(now_ms())?;
        on_step(&report);
        steps += 1;
        // Sleep to the next tick in short slices, so a signal is noticed within 50 ms.
        while !stop.load(Ordering::SeqCst) && tick.elapsed() < interval {
            std::thread::sleep(
                (interval.saturating_sub(tick.elapsed())).min(Duration::from_millis(50)),
            );
        }
    }
    Ok(steps)
}
