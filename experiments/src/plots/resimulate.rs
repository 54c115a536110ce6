//! Re-running a recorded episode to recover what its trace does not store: the SLO state of every
//! service over time. The trace holds the exogenous faults and every accepted action with its time;
//! the simulator is deterministic (a scenario, a seed and the same actions at the same times give
//! the same world: BRIEF invariant 1), so replaying the faults and re-applying the actions at their
//! recorded times reproduces the episode. The re-run's own trace is compared with the recording, so
//! a trace from a different scenario or build is reported instead of drawn wrongly.
//!
//! Given a detector, the re-run also runs its alert rules over the telemetry exactly as the runner
//! does beside the agent ([`crate::runner::ttd::AlertTracker`], fed at every decision time), so the
//! timeline shows the alerts the agent's detector raised and the metrics carry its TTD and false
//! alerts, equal to the recorded episode's row.

use anyhow::{Context, Result, bail};
use mend_monitor::alerting::RuleSet;
use mend_monitor::telemetry::EntityKind;
use mend_sim::scenario::schema::TargetKind;
use mend_sim::time::SimTime;
use mend_sim::topology::{NodeId, RegionId, ReplicaId, ServiceId, Topology, ZoneId};
use mend_sim::trace::TraceRecord;
use mend_sim::{Action, ActionKind, Scenario, Simulation};

use super::timeline::{AlertMark, ServiceSlo, Timeline};
use crate::results::EpisodeMetrics;
use crate::runner::episode::ground_truth_metrics;
use crate::runner::ttd::AlertTracker;

/// A re-simulated episode.
#[derive(Debug, Clone)]
pub struct Resimulated {
    /// Its timeline, SLO state included.
    pub timeline: Timeline,
    /// Its ground-truth metrics (agent named by the caller's `origin`; `ttd_s` and
    /// `false_alerts` from the detector's alerts, NaN without one; `actions_taken` = actions the
    /// simulator accepted).
    pub metrics: EpisodeMetrics,
    /// Where the re-run departed from the recording (record number and what differed), if it did;
    /// the timeline's SLO state is then approximate.
    pub divergence: Option<String>,
}

/// Re-runs the episode of `records` on `scenario` and builds its timeline, with the alerts of
/// `detector` (a `mend_monitor` registry name; `None`: no alerts). Errors (naming `origin`) when
/// the trace has no header, was recorded on another scenario, or names entities the scenario does
/// not have, or when the detector is unknown.
pub fn resimulate(
    scenario: &Scenario,
    records: &[TraceRecord],
    origin: &str,
    detector: Option<&str>,
) -> Result<Resimulated> {
    let seed = check_scenario(scenario, records, origin)?;
    let mut tracker = detector
        .map(|name| {
            RuleSet::for_detector(name)
                .and_then(|rules| AlertTracker::new(&rules))
                .with_context(|| format!("detector {name:?} for the alerts of {origin}"))
        })
        .transpose()?;
    // The runner feeds its detectors at every decision (after reset and after each step).
    let decision_ms = scenario.spec().scenario.decision_interval.0.max(1);
    let mut watch = |sim: &Simulation| {
        if let Some(t) = tracker.as_mut()
            && sim.now().0.is_multiple_of(decision_ms)
        {
            t.observe(sim);
        }
    };
    let mut sim = Simulation::replay(scenario, seed, records);
    watch(&sim);
    let services = sim.topology().services.len();
    let tick = scenario.spec().scenario.tick;
    let horizon = sim.horizon();
    let mut since: Vec<Option<f64>> = vec![None; services];
    let mut slo: Vec<Vec<(f64, f64)>> = vec![Vec::new(); services];
    let mut sample = |sim: &Simulation, since: &mut Vec<Option<f64>>| {
        let now = sim.now().as_secs_f64();
        for (s, state) in sim.truth().violating_since.iter().enumerate() {
            match (since[s], state) {
                (None, Some(start)) => since[s] = Some(start.as_secs_f64()),
                (Some(start), None) => {
                    slo[s].push((start, now));
                    since[s] = None;
                }
                _ => {}
            }
        }
    };
    let mut divergence = None;
    let mut actions = records.iter().enumerate().filter_map(|(i, r)| match r {
        TraceRecord::ActionApplied {
            at_ms,
            kind,
            target,
            ..
        } => Some((i, *at_ms, *kind, target.as_str())),
        _ => None,
    });
    let mut next = actions.next();
    while sim.now() < horizon {
        let next_tick = sim.now() + tick;
        match next {
            Some((i, at_ms, kind, target)) if SimTime(at_ms) <= next_tick => {
                sim.run_until(SimTime(at_ms));
                sample(&sim, &mut since);
                watch(&sim);
                let applied = parse_action(sim.topology(), kind, target)
                    .map(|a| sim.apply(a).map_err(|e| e.to_string()));
                match applied {
                    Some(Ok(_)) => {}
                    Some(Err(e)) if divergence.is_none() => {
                        divergence = Some(format!(
                            "{origin}:{}: the recorded {} on {target} was rejected on re-run: {e}",
                            i + 1,
                            kind.name()
                        ));
                    }
                    None if divergence.is_none() => {
                        divergence = Some(format!(
                            "{origin}:{}: the scenario has no target {target:?} for {}",
                            i + 1,
                            kind.name()
                        ));
                    }
                    _ => {}
                }
                next = actions.next();
            }
            _ => {
                sim.run_until(next_tick);
                sample(&sim, &mut since);
                watch(&sim);
            }
        }
    }
    let end = sim.now().as_secs_f64();
    for (s, start) in since.iter().enumerate() {
        if let Some(start) = start {
            slo[s].push((*start, end));
        }
    }
    let rerun = sim.take_trace();
    if divergence.is_none() {
        divergence = first_difference(records, &rerun, origin);
    }
    let mut timeline = Timeline::from_records(records, horizon.as_secs_f64());
    timeline.services_total = services;
    timeline.slo_known = true;
    timeline.slo = slo
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(s, violations)| ServiceSlo {
            service: sim.topology().services[s].name.clone(),
            violations,
        })
        .collect();
    let mut metrics = ground_truth_metrics(&sim, origin);
    if let Some(tracker) = &tracker {
        let outcome = tracker.finish(&sim);
        metrics.ttd_s = outcome.mean_ttd();
        metrics.false_alerts = outcome.false_episodes as f64;
        timeline.alerts = alert_marks(&sim, tracker);
        timeline.detector = detector.map(str::to_string);
        timeline.alert_interval_s = decision_ms as f64 / 1000.0;
    }
    Ok(Resimulated {
        timeline,
        metrics,
        divergence,
    })
}

/// The tracker's alerts as timeline marks, each with the service it concerns (a service, or the
/// service of a replica; none for a node).
fn alert_marks(sim: &Simulation, tracker: &AlertTracker) -> Vec<AlertMark> {
    let topo = sim.topology();
    tracker
        .alerts()
        .iter()
        .map(|a| {
            let name = a.entity.name.as_str();
            let (kind, service) = match a.entity.kind {
                EntityKind::Service => ("service", Some(name.to_string())),
                EntityKind::Replica => (
                    "replica",
                    topo.replicas
                        .iter()
                        .find(|r| r.name == name)
                        .map(|r| topo.services[r.service.index()].name.clone()),
                ),
                _ => ("node", None),
            };
            AlertMark {
                at_s: a.timestamp,
                entity: name.to_string(),
                entity_kind: kind.to_string(),
                service,
            }
        })
        .collect()
}

/// Checks the trace's header against the scenario and that every fault target exists; returns the
/// trace's master seed.
pub fn check_scenario(scenario: &Scenario, records: &[TraceRecord], origin: &str) -> Result<u64> {
    let Some(TraceRecord::Header {
        scenario: name,
        seed,
        ..
    }) = records.first()
    else {
        bail!("{origin}:1: the first record is not a header; expected {{\"type\":\"header\",...}}");
    };
    if name != scenario.name() {
        bail!(
            "{origin}:1: the trace was recorded on scenario `{name}`, but the scenario given ({}) is `{}`; \
             pass the trace's own scenario with --scenario",
            scenario.origin(),
            scenario.name()
        );
    }
    let probe = Simulation::new(scenario, 0);
    for (i, r) in records.iter().enumerate() {
        if let TraceRecord::FaultOnset { kind, target, .. } = r
            && !target_exists(probe.topology(), kind.target_kind(), target)
        {
            bail!(
                "{origin}:{}: fault target `{target}` ({}) does not exist in scenario `{}` ({}); \
                 the trace belongs to another version of the scenario",
                i + 1,
                kind.name(),
                scenario.name(),
                scenario.origin()
            );
        }
    }
    Ok(*seed)
}

/// Whether `name` can be a target of this scenario: an entity of the initial topology, or a replica
/// `<service>-<index>` of an existing service (scale-outs add replicas, and their faults are traced).
fn target_exists(topo: &Topology, kind: TargetKind, name: &str) -> bool {
    if topo.find_target(kind, name).is_some() {
        return true;
    }
    kind == TargetKind::Replica
        && name.rsplit_once('-').is_some_and(|(service, index)| {
            index.parse::<u32>().is_ok() && topo.find_target(TargetKind::Service, service).is_some()
        })
}

/// The action a trace's `action_applied` record names (`target` or `target->destination`).
pub fn parse_action(topo: &Topology, kind: ActionKind, target: &str) -> Option<Action> {
    let find = |k: TargetKind, name: &str| topo.find_target(k, name);
    let (what, dest) = match target.split_once("->") {
        Some((a, b)) => (a, Some(b)),
        None => (target, None),
    };
    Some(match kind {
        ActionKind::RestartReplica => Action::RestartReplica {
            replica: ReplicaId(find(TargetKind::Replica, what)?),
        },
        ActionKind::Reallocate => Action::Reallocate {
            replica: ReplicaId(find(TargetKind::Replica, what)?),
            zone: ZoneId(find(TargetKind::Zone, dest?)?),
        },
        ActionKind::Failover => Action::Failover {
            service: ServiceId(find(TargetKind::Service, what)?),
            region: RegionId(find(TargetKind::Region, dest?)?),
        },
        ActionKind::ReplaceNode => Action::ReplaceNode {
            node: NodeId(find(TargetKind::Node, what)?),
        },
        ActionKind::RestartService => Action::RestartService {
            service: ServiceId(find(TargetKind::Service, what)?),
        },
        ActionKind::ScaleOut => Action::ScaleOut {
            service: ServiceId(find(TargetKind::Service, what)?),
        },
        ActionKind::ScaleIn => Action::ScaleIn {
            service: ServiceId(find(TargetKind::Service, what)?),
        },
        ActionKind::Rollback => Action::Rollback {
            service: ServiceId(find(TargetKind::Service, what)?),
        },
        ActionKind::ShedLoad => Action::ShedLoad {
            service: ServiceId(find(TargetKind::Service, what)?),
        },
    })
}

/// The first record where the re-run differs from the recording, described.
fn first_difference(
    recorded: &[TraceRecord],
    rerun: &[TraceRecord],
    origin: &str,
) -> Option<String> {
    for (i, (a, b)) in recorded.iter().zip(rerun).enumerate() {
        if a != b {
            return Some(format!(
                "{origin}:{}: the re-run departs from the recording here (recorded {a:?}, re-run {b:?})",
                i + 1
            ));
        }
    }
    (recorded.len() != rerun.len()).then(|| {
        format!(
            "{origin}: the recording has {} records, the re-run {}",
            recorded.len(),
            rerun.len()
        )
    })
}
