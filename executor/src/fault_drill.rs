//! Fault drills on the local-process actuator: inject one fault into one replica of a running
//! [`Executor`], step the loop until the service is healthy again, and time it. Used by the
//! end-to-end tests and by the per-fault figures (`executor/examples/fault_figures.rs`).
//!
//! Times, from the moment the fault is injected:
//! - **detect**: the first loop iteration whose metrics show the replica unhealthy (`up` 0 or
//!   missing, or `memory_utilization` at or above the drill's threshold): the monitoring loop's
//!   alert;
//! - **decide**: the first iteration whose final action (after the guards, so possibly the
//!   confidence gate's fallback) restarts that replica;
//! - **heal**: the first iteration after a verified restart of that replica at which every replica
//!   of the service is up and below the memory threshold again.
//!
//! Faults: `kill -9` (crash), `SIGSTOP` (a hang: the process lives but answers nothing, so
//! Prometheus' scrape times out and `up` becomes 0), and the demo service's memory leak switch.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::decision::{ActionKind, Outcome};
use crate::run_loop::{ExecuteError, Executor, StepReport, now_ms};

/// Growth of the drill's memory leak. The drills' clusters compute `memory_utilization` against a
/// 64 MiB limit and scrape every second, so 8 MiB/s (1/8 of the limit per scrape) makes the first
/// reading past a 0.9 threshold fall between 0.9 and about 1.03 of the limit: the range in which
/// the simulator shows a leak (its replicas are OOM-killed at the limit, `sim/src/behaviour.rs`
/// step 7), so a policy trained there meets a familiar row. (At 40 MiB/s, the session-4 rate, the
/// first reading was already 1.17.)
pub const LEAK_MIB_PER_S: u32 = 8;

/// A fault the drill injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// `kill -9` of the replica's process.
    Kill9,
    /// `SIGSTOP`: the process hangs (never resumed by the drill; the restart kills it).
    Hang,
    /// The demo service's `/fault/leak` switch at [`LEAK_MIB_PER_S`] up to 300 MiB.
    Leak,
}

impl Fault {
    /// Every fault, in report order.
    pub const ALL: [Fault; 3] = [Fault::Kill9, Fault::Hang, Fault::Leak];

    /// Short name for tables (`kill -9`, `hang`, `leak`).
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill9 => "kill -9",
            Fault::Hang => "hang (SIGSTOP)",
            Fault::Leak => "memory leak",
        }
    }
}

/// Errors of a drill; each names the fault and replica.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrillError {
    /// The executor is not running local processes, or the replica is not running.
    #[error("{service} replica {replica}: {message}")]
    Target {
        /// Service.
        service: String,
        /// Replica.
        replica: usize,
        /// What is wrong.
        message: String,
    },
    /// The loop stopped with an error.
    #[error(transparent)]
    Execute(#[from] ExecuteError),
    /// Not healed within the bound.
    #[error(
        "{fault} on {service} replica {replica}: not healed within {bound_ms} ms \
         (detected: {detect:?}, restart decided: {decide:?}, verified: {verified}); last outcome {last}"
    )]
    NotHealed {
        /// Fault name.
        fault: &'static str,
        /// Service.
        service: String,
        /// Replica.
        replica: usize,
        /// The bound.
        bound_ms: u64,
        /// Detection time, if any.
        detect: Option<Duration>,
        /// Decision time, if any.
        decide: Option<Duration>,
        /// Whether a restart was verified.
        verified: bool,
        /// The last outcome, as text.
        last: String,
    },
}

/// What a drill watches and how long it waits.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    /// Service under drill.
    pub service: String,
    /// Its number of replicas.
    pub replicas: usize,
    /// `memory_utilization` at or above this is unhealthy (the fallback rule's threshold).
    pub memory_threshold: f64,
    /// Time between loop iterations.
    pub step: Duration,
    /// Give up (error) when not healed within this.
    pub heal_bound: Duration,
}

/// One drill's times (see the module doc) and who chose the restart.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultTimes {
    /// The fault.
    pub fault: Fault,
    /// The replica it hit.
    pub replica: usize,
    /// Injection -> metrics show it.
    pub detect: Duration,
    /// Injection -> the loop's final action restarts the replica.
    pub decide: Duration,
    /// Injection -> every replica healthy again after the verified restart.
    pub heal: Duration,
    /// Whether the restart was the proposer's own action (`false`: a guard's replacement, i.e.
    /// the confidence gate's fallback).
    pub by_proposer: bool,
    /// Restarts of the replica during the drill.
    pub restarts: u32,
    /// Audit record number (`seq`) of the iteration that decided the restart, to look its record
    /// up in the audit log; `None` when no iteration of the drill decided one.
    pub decide_seq: Option<u64>,
}

impl Drill {
    /// Whether `report` shows `replica` unhealthy.
    pub fn replica_unhealthy(&self, report: &StepReport, replica: usize) -> bool {
        !report.readings.replica_up(&self.service, replica)
            || report
                .readings
                .replica_value(&self.service, replica, "memory_utilization")
                .is_some_and(|m| m >= self.memory_threshold)
    }

    /// Whether every replica looks healthy in `report`'s metrics.
    pub fn all_healthy(&self, report: &StepReport) -> bool {
        (0..self.replicas).all(|r| {
            report.readings.replica_up(&self.service, r)
                && report
                    .readings
                    .replica_value(&self.service, r, "memory_utilization")
                    .is_some_and(|m| m < self.memory_threshold)
        })
    }

    /// Steps `exec` until every replica looks healthy (start-up, or settling after a heal).
    pub fn wait_until_healthy(
        &self,
        exec: &mut Executor,
        bound: Duration,
    ) -> Result<(), DrillError> {
        let start = Instant::now();
        loop {
            let report = exec.step(now_ms())?;
            if self.all_healthy(&report) {
                return Ok(());
            }
            if start.elapsed() >= bound {
                return Err(DrillError::Target {
                    service: self.service.clone(),
                    replica: 0,
                    message: format!(
                        "replicas not all healthy within {} ms: {:?}",
                        bound.as_millis(),
                        report.readings.replica
                    ),
                });
            }
            std::thread::sleep(self.step);
        }
    }

    fn instance(
        &self,
        exec: &mut Executor,
        replica: usize,
    ) -> Result<crate::actuator::InstanceStatus, DrillError> {
        let target = |message: String| DrillError::Target {
            service: self.service.clone(),
            replica,
            message,
        };
        let local = exec
            .local_actuator()
            .ok_or_else(|| target("the executor does not run local processes".into()))?;
        let status = local
            .status(&self.service)
            .map_err(|e| target(e.to_string()))?;
        status
            .into_iter()
            .nth(replica)
            .ok_or_else(|| target("no such replica".into()))
    }

    /// Injects `fault` into `replica`.
    pub fn inject(
        &self,
        exec: &mut Executor,
        fault: Fault,
        replica: usize,
    ) -> Result<(), DrillError> {
        let instance = self.instance(exec, replica)?;
        let target = |message: String| DrillError::Target {
            service: self.service.clone(),
            replica,
            message,
        };
        let pid = instance.pid.ok_or_else(|| target("not running".into()))?;
        let signal =
            |s: Signal| kill(Pid::from_raw(pid as i32), s).map_err(|e| target(format!("{s}: {e}")));
        match fault {
            Fault::Kill9 => signal(Signal::SIGKILL),
            Fault::Hang => signal(Signal::SIGSTOP),
            Fault::Leak => {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(2)))
                    .build()
                    .into();
                let url = format!(
                    "http://127.0.0.1:{}/fault/leak?mib_per_s={LEAK_MIB_PER_S}&max_mib=300",
                    instance.port
                );
                agent
                    .get(&url)
                    .call()
                    .map(drop)
                    .map_err(|e| target(format!("{url}: {e}")))
            }
        }
    }

    /// Injects `fault` into `replica` and steps until healed (see the module doc for the times).
    pub fn heal_one(
        &self,
        exec: &mut Executor,
        fault: Fault,
        replica: usize,
    ) -> Result<FaultTimes, DrillError> {
        let starts_before = self.instance(exec, replica)?.starts;
        self.inject(exec, fault, replica)?;
        let t0 = Instant::now();
        let (mut detect, mut decide, mut by_proposer) = (None, None, false);
        let mut decide_seq = None;
        let mut verified = false;
        let restart = ActionKind::Restart {
            replica: Some(replica),
        };
        loop {
            let tick = Instant::now();
            let report = exec.step(now_ms())?;
            if detect.is_none() && self.replica_unhealthy(&report, replica) {
                detect = Some(t0.elapsed());
            }
            let restarts_it =
                report.action.service == self.service && report.action.kind == restart;
            if decide.is_none() && restarts_it && report.allowed {
                decide = Some(t0.elapsed());
                decide_seq = Some(report.seq);
                by_proposer = report.proposed == report.action;
            }
            verified |= restarts_it && report.outcome == Outcome::Verified;
            if verified && self.all_healthy(&report) {
                let heal = t0.elapsed();
                let restarts = self.instance(exec, replica)?.starts - starts_before;
                return Ok(FaultTimes {
                    fault,
                    replica,
                    // A restart decided on the previous metrics still implies they showed it.
                    detect: detect.or(decide).unwrap_or(heal),
                    decide: decide.unwrap_or(heal),
                    heal,
                    by_proposer,
                    restarts,
                    decide_seq,
                });
            }
            if t0.elapsed() >= self.heal_bound {
                return Err(DrillError::NotHealed {
                    fault: fault.name(),
                    service: self.service.clone(),
                    replica,
                    bound_ms: self.heal_bound.as_millis() as u64,
                    detect,
                    decide,
                    verified,
                    last: format!("{:?}", report.outcome),
                });
            }
            std::thread::sleep(self.step.saturating_sub(tick.elapsed()));
        }
    }
}

/// Median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[Duration]) -> Option<Duration> {
    let mut v = values.to_vec();
    v.sort();
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(30), ms(10), ms(20)]), Some(ms(20)));
        assert_eq!(median(&[ms(40), ms(10), ms(20), ms(30)]), Some(ms(25)));
        assert_eq!(median(&[]), None);
    }
}
