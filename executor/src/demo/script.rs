//! The demo's scripted sequence and its interactive alternative.
//!
//! [`run_script`]: a short look at healthy traffic, then one fault at a time (by default kill -9
//! of `web-0`, a SIGSTOP hang of `web-1`, a memory leak in `web-2`), each injected by the same
//! code as the fault drills ([`crate::fault_drill::Drill::inject`]) and watched until healed,
//! with a pause between faults longer than the guards' cooldown. It times each fault as the drills
//! do, from the injection:
//! - **detect**: the first iteration whose metrics show the replica unhealthy (the alert);
//! - **decide**: the first iteration whose final action on the service is allowed (restart,
//!   or whatever the policy chose), with who chose it;
//! - **heal**: the first iteration after a verified action at which every replica is up and below
//!   the memory threshold again.
//!
//! A fault not healed within the bound is reported as such, and the demo restarts the replica
//! itself (said on the terminal; not an executor action, so not in the audit log) before the next
//! one. [`run_until_stopped`] only watches, for faults an operator injects by hand.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::actuator::Actuator;
use crate::fault_drill::{Drill, Fault};

use super::narrate::{Narrator, decision_source, describe_action};
use super::session::{DemoRunError, DemoSession, SERVICE, Tick};

/// One scripted fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptedFault {
    /// The fault.
    pub fault: Fault,
    /// The replica it hits.
    pub replica: usize,
}

/// The script's timing.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptSettings {
    /// Faults, in order.
    pub faults: Vec<ScriptedFault>,
    /// Healthy traffic watched before the first fault.
    pub warm_up: Duration,
    /// Watching between a heal and the next fault (longer than the guards' cooldown).
    pub pause: Duration,
    /// A fault not healed within this is reported as not healed.
    pub heal_bound: Duration,
}

impl ScriptSettings {
    /// kill -9, hang and leak on replicas 0, 1 and 2 (modulo `replicas`); 5 s warm-up, 4 s
    /// pauses, 30 s heal bound.
    pub fn standard(replicas: usize) -> Self {
        let n = replicas.max(1);
        ScriptSettings {
            faults: Fault::ALL
                .iter()
                .enumerate()
                .map(|(i, &fault)| ScriptedFault {
                    fault,
                    replica: i % n,
                })
                .collect(),
            warm_up: Duration::from_secs(5),
            pause: Duration::from_secs(4),
            heal_bound: Duration::from_secs(30),
        }
    }
}

/// What became of one fault (times from its injection).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultResult {
    /// The fault and its replica.
    pub fault: ScriptedFault,
    /// Injection -> metrics show it.
    pub detect: Option<Duration>,
    /// Injection -> an allowed action on the service.
    pub decide: Option<Duration>,
    /// Injection -> every replica healthy after a verified action.
    pub heal: Option<Duration>,
    /// The first allowed action, in words.
    pub action: Option<String>,
    /// Who chose it: the proposer's source (`rule`, `policy`, ...) or the guard that replaced it.
    pub chosen_by: Option<String>,
}

/// What [`run_script`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptOutcome {
    /// One result per fault injected.
    pub faults: Vec<FaultResult>,
    /// Whether a stop request (Ctrl-C) ended it early.
    pub interrupted: bool,
}

/// Runs one iteration, narrates it, and sleeps the rest of the loop interval in short slices
/// (so a stop request is seen within 50 ms). Returns `None` when stopped.
fn paced_step(
    session: &mut DemoSession,
    narrator: &mut Narrator,
    stop: &AtomicBool,
) -> Result<Option<Tick>, DemoRunError> {
    if stop.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let start = Instant::now();
    let tick = session.step()?;
    narrator.tick(&tick, &session.load().counters());
    let interval = session.config().interval;
    while !stop.load(Ordering::SeqCst) && start.elapsed() < interval {
        std::thread::sleep(
            interval
                .saturating_sub(start.elapsed())
                .min(Duration::from_millis(50)),
        );
    }
    Ok(Some(tick))
}

/// Steps for `duration` (or until stopped); `false` when stopped.
fn watch_for(
    session: &mut DemoSession,
    narrator: &mut Narrator,
    stop: &AtomicBool,
    duration: Duration,
) -> Result<bool, DemoRunError> {
    let start = Instant::now();
    while start.elapsed() < duration {
        if paced_step(session, narrator, stop)?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Steps until every replica looks healthy (at most the drill's heal bound); `false` when stopped.
fn until_healthy(
    session: &mut DemoSession,
    narrator: &mut Narrator,
    drill: &Drill,
    stop: &AtomicBool,
) -> Result<bool, DemoRunError> {
    let start = Instant::now();
    loop {
        let Some(tick) = paced_step(session, narrator, stop)? else {
            return Ok(false);
        };
        if drill.all_healthy(&tick.report) {
            return Ok(true);
        }
        if start.elapsed() >= drill.heal_bound {
            return Err(DemoRunError::Fault(format!(
                "the replicas of {SERVICE} are not all healthy after {:.0} s: {:?}",
                drill.heal_bound.as_secs_f64(),
                tick.report.readings.replica
            )));
        }
    }
}

/// The drill's view of the demo service (its health rules and fault injection).
fn drill_of(session: &mut DemoSession, heal_bound: Duration) -> Drill {
    let configured = session.config().replicas;
    let replicas = session
        .executor()
        .cluster()
        .service(SERVICE)
        .and_then(|s| s.process.as_ref())
        .map_or(configured, |p| p.replicas);
    Drill {
        service: SERVICE.to_owned(),
        replicas,
        memory_threshold: session.executor().cluster().fallback.memory_threshold,
        step: session.config().interval,
        heal_bound,
    }
}

/// Runs the script (see the module doc), narrating on `narrator`, until done or `stop` is raised.
pub fn run_script(
    session: &mut DemoSession,
    narrator: &mut Narrator,
    settings: &ScriptSettings,
    stop: &AtomicBool,
) -> Result<ScriptOutcome, DemoRunError> {
    let mut outcome = ScriptOutcome {
        faults: Vec::new(),
        interrupted: false,
    };
    let drill = drill_of(session, settings.heal_bound);
    narrator.detail("waiting for the first scrapes to show every replica up");
    if !until_healthy(session, narrator, &drill, stop)? {
        outcome.interrupted = true;
        return Ok(outcome);
    }
    narrator.detail("every replica up: watching healthy traffic first");
    if !watch_for(session, narrator, stop, settings.warm_up)? {
        outcome.interrupted = true;
        return Ok(outcome);
    }
    for (i, &scripted) in settings.faults.iter().enumerate() {
        let ready = (i == 0 || watch_for(session, narrator, stop, settings.pause)?)
            && until_healthy(session, narrator, &drill, stop)?;
        if !ready {
            outcome.interrupted = true;
            break;
        }
        match one_fault(session, narrator, &drill, scripted, i, settings, stop)? {
            Some(result) => outcome.faults.push(result),
            None => {
                outcome.interrupted = true;
                break;
            }
        }
    }
    Ok(outcome)
}

/// Injects one fault and steps until healed or the bound passes; `None` when stopped.
fn one_fault(
    session: &mut DemoSession,
    narrator: &mut Narrator,
    drill: &Drill,
    scripted: ScriptedFault,
    index: usize,
    settings: &ScriptSettings,
    stop: &AtomicBool,
) -> Result<Option<FaultResult>, DemoRunError> {
    let ScriptedFault { fault, replica } = scripted;
    let name = format!("{SERVICE}-{replica}");
    narrator.say(&format!(
        "--- fault {}/{}: {} on {name}",
        index + 1,
        settings.faults.len(),
        fault.name()
    ));
    drill
        .inject(session.executor(), fault, replica)
        .map_err(|e| DemoRunError::Fault(e.to_string()))?;
    let t0 = Instant::now();
    let mut result = FaultResult {
        fault: scripted,
        detect: None,
        decide: None,
        heal: None,
        action: None,
        chosen_by: None,
    };
    let mut verified = false;
    while t0.elapsed() < settings.heal_bound {
        let Some(tick) = paced_step(session, narrator, stop)? else {
            return Ok(None);
        };
        let report = &tick.report;
        if result.detect.is_none() && drill.replica_unhealthy(report, replica) {
            result.detect = Some(t0.elapsed());
        }
        let acts = report.allowed && !report.action.is_noop() && report.action.service == SERVICE;
        if acts && result.decide.is_none() {
            result.decide = Some(t0.elapsed());
            result.action = Some(describe_action(&report.action));
            result.chosen_by = Some(chooser(&tick));
        }
        verified |= acts && report.outcome == crate::decision::Outcome::Verified;
        if verified && drill.all_healthy(report) {
            result.heal = Some(t0.elapsed());
            // An action decided on the metrics before still means they showed the fault.
            result.detect = result.detect.or(result.decide);
            break;
        }
    }
    narrator.say(&fault_line(&result));
    if result.heal.is_none() {
        narrator.say(&format!(
            "demo: {name} not healed within {:.0} s; the demo restarts it itself \
             (not an executor action, not in the audit log)",
            settings.heal_bound.as_secs_f64()
        ));
        session
            .executor()
            .actuator()
            .restart(SERVICE, Some(replica))
            .map_err(|e| DemoRunError::Fault(format!("restarting {name}: {e}")))?;
        session.follow()?;
    }
    Ok(Some(result))
}

/// Who chose the iteration's action: the decision's `source` field, or the guard that replaced
/// the proposal.
fn chooser(tick: &Tick) -> String {
    let Some(d) = tick.decisions.last() else {
        return "?".to_owned();
    };
    let replaced = d.decision.verdicts.iter().find_map(|v| match &v.verdict {
        crate::decision::Verdict::Replace { .. } => Some(v.guard.clone()),
        _ => None,
    });
    match replaced {
        Some(guard) => format!("{guard} fallback"),
        None => decision_source(&d.decision.fields).to_owned(),
    }
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".to_owned(), |d| format!("{:.1}", d.as_secs_f64()))
}

/// One fault's result in a line.
pub fn fault_line(r: &FaultResult) -> String {
    let name = format!("{SERVICE}-{}", r.fault.replica);
    match r.heal {
        Some(heal) => format!(
            "HEALED {} on {name}: detected after {} s, {} decided after {} s by {}, healthy after {:.1} s",
            r.fault.fault.name(),
            secs(r.detect),
            r.action.as_deref().unwrap_or("?"),
            secs(r.decide),
            r.chosen_by.as_deref().unwrap_or("?"),
            heal.as_secs_f64()
        ),
        None => format!(
            "NOT HEALED {} on {name}: detected after {} s, action {} after {} s",
            r.fault.fault.name(),
            secs(r.detect),
            r.action.as_deref().unwrap_or("none"),
            secs(r.decide),
        ),
    }
}

/// The per-fault table of the summary (seconds from injection).
pub fn summary_table(faults: &[FaultResult]) -> String {
    let mut out = format!(
        "{:<16} {:<8} {:>8} {:>8} {:>8}  {}\n",
        "fault", "replica", "detect s", "decide s", "heal s", "action (chosen by)"
    );
    for r in faults {
        out.push_str(&format!(
            "{:<16} {:<8} {:>8} {:>8} {:>8}  {} ({})\n",
            r.fault.fault.name(),
            format!("{SERVICE}-{}", r.fault.replica),
            secs(r.detect),
            secs(r.decide),
            secs(r.heal),
            r.action.as_deref().unwrap_or("none"),
            r.chosen_by.as_deref().unwrap_or("-"),
        ));
    }
    out
}

/// Watches (narrating) until `stop` is raised or `max_steps` iterations ran; returns how many ran.
pub fn run_until_stopped(
    session: &mut DemoSession,
    narrator: &mut Narrator,
    stop: &AtomicBool,
    max_steps: Option<u64>,
) -> Result<u64, DemoRunError> {
    let mut steps = 0;
    while max_steps.is_none_or(|m| steps < m) {
        if paced_step(session, narrator, stop)?.is_none() {
            break;
        }
        steps += 1;
    }
    Ok(steps)
}
