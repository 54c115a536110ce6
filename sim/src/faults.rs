//! Fault processes and fault effects. Stochastic faults come from one renewal process per
//! (`[[faults.processes]]` entry, target entity), each with its own substream of the Faults
//! stream, so onset times depend on nothing but the seed: no action can change them (BRIEF §3.2).
//! A fault's nominal end is onset + duration; the next onset of the same process is that nominal
//! end plus a fresh time to failure divided by `rate_multiplier`. Scripted faults come from the
//! scenario, replayed faults from a trace. Effects are counters on the target's state, so
//! overlapping faults compose; actions can end some faults early ([`RepairScope`]).
//! Replica processes run per replica seat instead of per replica ([`seat`]).

mod seat;

pub(crate) use seat::{Seat, resolve as resolve_seat};

use crate::fault_process::{RenewalProcess, RenewalSampler};
use crate::queue::EventId;
use crate::rng::{RngStreams, SimRng, Stream};
use crate::scenario::schema::{FaultKind, TargetKind};
use crate::time::{SimDuration, SimTime};
use crate::topology::{NodeId, ProviderId, ReplicaId, ServiceId, Topology};
use crate::trace::{EndCause, FaultOrigin, SeatRef, TraceRecord};
use crate::truth::FaultRecord;
use crate::world::{Event, RepStatus, Simulation};

/// One stochastic process on one target (or one replica seat).
#[derive(Debug, Clone)]
pub(crate) struct FaultSource {
    pub(crate) kind: FaultKind,
    /// The target entity (unused for seats).
    pub(crate) target: u32,
    /// For replica processes: the seat whose occupant the onsets hit.
    seat: Option<Seat>,
    sampler: RenewalSampler,
    rng: SimRng,
    rate_multiplier: f64,
}

impl FaultSource {
    fn time_to_failure(&mut self) -> SimDuration {
        let d = self.sampler.time_to_failure(&mut self.rng);
        SimDuration(((d.0 as f64) / self.rate_multiplier).round().max(1.0) as u64)
    }
}

/// A fault whose onset time and parameters are known in advance (scripted or replayed).
#[derive(Debug, Clone)]
pub(crate) struct PlannedFault {
    pub(crate) at: SimTime,
    pub(crate) kind: FaultKind,
    pub(crate) target: Option<u32>,
    pub(crate) target_name: String,
    pub(crate) duration: SimDuration,
    pub(crate) origin: FaultOrigin,
    /// A replayed seat onset: the seat as traced, and resolved here (`None`: no such seat).
    pub(crate) seat: Option<(SeatRef, Option<Seat>)>,
}

/// A fault about to start: what its onset record will say, with the target resolved.
#[derive(Debug)]
struct Starting {
    kind: FaultKind,
    target: Option<u32>,
    target_name: String,
    duration: SimDuration,
    origin: FaultOrigin,
    seat: Option<SeatRef>,
}

/// A fault in effect.
#[derive(Debug, Clone)]
pub(crate) struct ActiveFault {
    pub(crate) id: u32,
    pub(crate) kind: FaultKind,
    pub(crate) target: Option<u32>,
    pub(crate) end_event: EventId,
}

/// Which active faults an action ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RepairScope {
    /// Process crash, process hang and memory leak on a replica (restart, reallocation).
    Replica(ReplicaId),
    /// Node crash, CPU hog and disk full on a node (replacement).
    Node(NodeId),
    /// Bad deploy on a service (rollback).
    BadDeploy(ServiceId),
}

/// Builds the stochastic sources: one per process and matching target, in process order then
/// target order; each gets substream `process_index << 32 | target_index` of the Faults stream.
/// Replica processes run per seat: their initial replicas' seats keep those places and
/// substreams, and their other seats come after every other source ([`seat`]).
pub(crate) fn build_sources(
    topo: &Topology,
    spec: &crate::scenario::schema::FaultsSpec,
    streams: &RngStreams,
) -> Vec<FaultSource> {
    let mut sources = Vec::new();
    let mut other_seats = Vec::new();
    for (pi, p) in spec.processes.iter().enumerate() {
        let provider = p
            .provider
            .as_deref()
            .and_then(|name| topo.providers.iter().position(|x| x.name == name));
        let kind = p.kind.target_kind();
        let sampler = RenewalProcess {
            up: p.up.clone(),
            down: p.down.clone(),
        }
        .sampler();
        let source = |target: u32, seat: Option<Seat>, substream: u64| FaultSource {
            kind: p.kind,
            target,
            seat,
            sampler: sampler.clone(),
            rng: streams.substream(Stream::Faults, ((pi as u64) << 32) | substream),
            rate_multiplier: spec.rate_multiplier,
        };
        let initial_seats = (kind == TargetKind::Replica)
            .then(|| seat::initial_seats(topo, provider.map(|p| ProviderId(p as u32))));
        let mut covered = Vec::new();
        for e in 0..topo.count(kind) as u32 {
            if let Some(want) = provider {
                match topo.provider_of(kind, e) {
                    Some(have) if have.index() == want => {}
                    Some(_) => continue,
                    // Services may span providers: keep those with a replica in the provider.
                    None => {
                        let any = topo.replicas.iter().any(|r| {
                            r.service.0 == e && topo.nodes[r.node.index()].provider.index() == want
                        });
                        if !any {
                            continue;
                        }
                    }
                }
            }
            if p.kind == FaultKind::LoadSurge && topo.services[e as usize].entry_base_rps.is_none()
            {
                continue; // surges hit external load, so only entry services
            }
            let initial = initial_seats.as_ref().map(|seats| seats[e as usize]);
            covered.extend(initial);
            sources.push(source(e, initial, u64::from(e)));
        }
        if initial_seats.is_some() {
            let seats = seat::other_seats(topo, provider.map(|p| ProviderId(p as u32)), &covered);
            for (j, s) in seats.into_iter().enumerate() {
                other_seats.push(source(u32::MAX, Some(s), seat::OTHER_SEAT_FLAG | j as u64));
            }
        }
    }
    sources.extend(other_seats);
    sources
}

impl Simulation {
    /// Schedules the first onset of every source and every planned fault.
    pub(crate) fn schedule_initial_faults(&mut self) {
        for i in 0..self.sources.len() {
            let at = SimTime::ZERO + self.sources[i].time_to_failure();
            if at < self.horizon {
                self.queue
                    .schedule(at, Event::StochasticOnset { source: i as u32 });
            }
        }
        for i in 0..self.planned.len() {
            if self.planned[i].at < self.horizon {
                self.queue
                    .schedule(self.planned[i].at, Event::PlannedOnset { index: i as u32 });
            }
        }
    }

    /// A stochastic onset: draw its duration and the next onset from the source's own stream.
    pub(crate) fn stochastic_onset(&mut self, source: u32, now: SimTime) {
        let s = &mut self.sources[source as usize];
        let duration = s.sampler.time_to_repair(&mut s.rng);
        let next = now + duration + s.time_to_failure();
        let (kind, target, seat) = (s.kind, s.target, s.seat);
        if next < self.horizon {
            self.queue.schedule(next, Event::StochasticOnset { source });
        }
        if let Some(seat) = seat {
            let record = self.seat_ref(seat);
            self.seat_onset(
                kind,
                Some(seat),
                record,
                duration,
                FaultOrigin::Stochastic,
                now,
            );
            return;
        }
        let target_name = self
            .topo
            .target_name(kind.target_kind(), target)
            .to_string();
        let fault = Starting {
            kind,
            target: Some(target),
            target_name,
            duration,
            origin: FaultOrigin::Stochastic,
            seat: None,
        };
        self.start_fault(fault, now);
    }

    /// A scripted or replayed onset.
    pub(crate) fn planned_onset(&mut self, index: u32, now: SimTime) {
        let p = self.planned[index as usize].clone();
        match p.seat {
            Some((record, seat)) => {
                self.seat_onset(p.kind, seat, record, p.duration, p.origin, now);
            }
            None => {
                let fault = Starting {
                    kind: p.kind,
                    target: p.target,
                    target_name: p.target_name,
                    duration: p.duration,
                    origin: p.origin,
                    seat: None,
                };
                self.start_fault(fault, now);
            }
        }
    }

    /// An onset on a replica seat: fails the seat's occupant, or is traced as an empty-seat onset.
    fn seat_onset(
        &mut self,
        kind: FaultKind,
        seat: Option<Seat>,
        record: SeatRef,
        duration: SimDuration,
        origin: FaultOrigin,
        now: SimTime,
    ) {
        match seat.and_then(|s| self.seat_replica(s)) {
            Some(r) => {
                let fault = Starting {
                    kind,
                    target: Some(r.0),
                    target_name: self.topo.replicas[r.index()].name.clone(),
                    duration,
                    origin,
                    seat: Some(record),
                };
                self.start_fault(fault, now);
            }
            None => self.trace.push(TraceRecord::EmptySeatOnset {
                at_ms: now.millis(),
                kind,
                seat: record,
                duration_ms: duration.0,
            }),
        }
    }

    fn start_fault(&mut self, fault: Starting, now: SimTime) {
        let Starting {
            kind,
            target,
            target_name,
            duration,
            origin,
            seat,
        } = fault;
        let id = self.truth.faults.len() as u32;
        let end_event = self
            .queue
            .schedule(now + duration, Event::FaultEnd { fault: id });
        let mut record = FaultRecord {
            id,
            kind,
            target: target_name.clone(),
            origin,
            onset: now,
            nominal_end: now + duration,
            end: None,
            cause: None,
            affected_services: Vec::new(),
            affected_replicas: Vec::new(),
            affected_nodes: Vec::new(),
        };
        if let Some(t) = target {
            self.affected(kind.target_kind(), t, &mut record);
            self.apply_effect(kind, t, 1);
        }
        self.trace.push(TraceRecord::FaultOnset {
            at_ms: now.millis(),
            fault: id,
            kind,
            target: target_name,
            duration_ms: duration.0,
            origin,
            seat,
        });
        self.truth.faults.push(record);
        self.active.push(ActiveFault {
            id,
            kind,
            target,
            end_event,
        });
    }

    /// Ends a fault that expired.
    pub(crate) fn fault_expired(&mut self, fault: u32, now: SimTime) {
        if let Some(pos) = self.active.iter().position(|a| a.id == fault) {
            let a = self.active.remove(pos);
            self.end_fault(a, EndCause::Expired, now);
        }
    }

    fn end_fault(&mut self, a: ActiveFault, cause: EndCause, now: SimTime) {
        if let Some(t) = a.target {
            self.apply_effect(a.kind, t, -1);
        }
        let rec = &mut self.truth.faults[a.id as usize];
        rec.end = Some(now);
        rec.cause = Some(cause);
        self.trace.push(TraceRecord::FaultEnd {
            at_ms: now.millis(),
            fault: a.id,
            cause,
        });
    }

    /// Ends the active faults an action repaired.
    pub(crate) fn repair_faults(&mut self, scope: RepairScope, now: SimTime) {
        let mut i = 0;
        while i < self.active.len() {
            let a = &self.active[i];
            let hit = match (scope, a.kind, a.target) {
                (
                    RepairScope::Replica(r),
                    FaultKind::ProcessCrash | FaultKind::ProcessHang | FaultKind::MemoryLeak,
                    Some(t),
                ) => t == r.0,
                (
                    RepairScope::Node(n),
                    FaultKind::NodeCrash | FaultKind::CpuHog | FaultKind::DiskFull,
                    Some(t),
                ) => t == n.0,
                (RepairScope::BadDeploy(s), FaultKind::BadDeploy, Some(t)) => t == s.0,
                _ => false,
            };
            if hit {
                let a = self.active.remove(i);
                self.queue.cancel(a.end_event);
                self.end_fault(a, EndCause::Repaired, now);
            } else {
                i += 1;
            }
        }
    }

    /// Adds (`delta = 1`) or removes (`-1`) a fault's effect on its target's state.
    fn apply_effect(&mut self, kind: FaultKind, target: u32, delta: i32) {
        let t = target as usize;
        let bump = |c: &mut u16| *c = (i32::from(*c) + delta).max(0) as u16;
        match kind {
            FaultKind::ProcessCrash => bump(&mut self.rep[t].crash),
            FaultKind::ProcessHang => bump(&mut self.rep[t].hang),
            FaultKind::MemoryLeak => bump(&mut self.rep[t].leak),
            FaultKind::NodeCrash => bump(&mut self.node[t].crash),
            FaultKind::CpuHog => bump(&mut self.node[t].hog),
            FaultKind::DiskFull => bump(&mut self.node[t].disk_full),
            FaultKind::Partition => bump(&mut self.zone_partition[t]),
            FaultKind::ZoneOutage => bump(&mut self.zone_outage[t]),
            FaultKind::RegionOutage => bump(&mut self.region_outage[t]),
            FaultKind::ControlPlaneOutage => bump(&mut self.provider_cp_down[t]),
            FaultKind::NetworkDelay => bump(&mut self.svc[t].net_delay),
            FaultKind::PacketLoss => bump(&mut self.svc[t].packet_loss),
            FaultKind::BadDeploy => bump(&mut self.svc[t].bad_deploy),
            FaultKind::DependencyFailure => bump(&mut self.svc[t].dep_failure),
            FaultKind::LoadSurge => bump(&mut self.svc[t].surge),
            FaultKind::RetryStorm => bump(&mut self.svc[t].storm),
        }
    }

    /// Fills the entities a fault affects at onset.
    fn affected(&self, kind: TargetKind, target: u32, rec: &mut FaultRecord) {
        let topo = &self.topo;
        let node_in = |n: usize| -> bool {
            let node = &topo.nodes[n];
            match kind {
                TargetKind::Node => n == target as usize,
                TargetKind::Zone => node.zone.0 == target,
                TargetKind::Region => node.region.0 == target,
                _ => false,
            }
        };
        match kind {
            TargetKind::Node | TargetKind::Zone | TargetKind::Region => {
                rec.affected_nodes = (0..topo.nodes.len())
                    .filter(|&n| node_in(n))
                    .map(|n| n as u32)
                    .collect();
                for (r, rep) in topo.replicas.iter().enumerate() {
                    if self.rep[r].status != RepStatus::Removed && node_in(rep.node.index()) {
                        rec.affected_replicas.push(r as u32);
                        if !rec.affected_services.contains(&rep.service.0) {
                            rec.affected_services.push(rep.service.0);
                        }
                    }
                }
                rec.affected_services.sort_unstable();
            }
            TargetKind::Replica => {
                rec.affected_replicas = vec![target];
                rec.affected_services = vec![topo.replicas[target as usize].service.0];
            }
            TargetKind::Service => {
                rec.affected_services = vec![target];
                rec.affected_replicas = self.svc[target as usize]
                    .replicas
                    .iter()
                    .map(|r| r.0)
                    .collect();
            }
            TargetKind::Provider => {}
        }
    }
}
