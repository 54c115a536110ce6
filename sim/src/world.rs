//! The [`Simulation`]: the world's state, its construction from a validated scenario, the event
//! loop and the public API the envs and the CLI use. The fluid dynamics of one tick live in
//! `behaviour`, fault effects in `faults`, actions in `actions`.
//!
//! ```text
//!   run_until(t) ── for each tick boundary k*tick <= t:
//!        ├─ pop events due (fault onsets/ends, action outcomes) from the EventQueue
//!        ├─ health checks (every health_check_interval)
//!        ├─ fluid step over [k*tick, (k+1)*tick): traffic -> load -> latency/errors -> truth
//!        └─ scrape telemetry (every scrape_interval)
//! ```

use crate::actions::{ActionParams, ActionRecord, resolve_params};
use crate::faults::{ActiveFault, FaultSource, PlannedFault, build_sources, resolve_seat};
use crate::queue::EventQueue;
use crate::rng::{RngStreams, SimRng, Stream};
use crate::scenario::schema::{FaultEffectsSpec, FaultKind};
use crate::scenario::{ModelKind, Scenario};
use crate::telemetry::TelemetrySnapshot;
use crate::time::{SimDuration, SimTime};
use crate::topology::{NodeId, RegionId, Replica, ReplicaId, ServiceId, Topology, ZoneId};
use crate::trace::{FaultOrigin, TRACE_FORMAT_VERSION, TraceRecord};
use crate::traffic::TrafficModel;
use crate::truth::{GroundTruth, TruthSummary};

/// Discrete events of the world (ticks are not events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    StochasticOnset { source: u32 },
    PlannedOnset { index: u32 },
    FaultEnd { fault: u32 },
    ActionDone { action: u32 },
}

/// Lifecycle of a replica slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RepStatus {
    Active,
    Pending,
    Removed,
}

#[derive(Debug, Clone)]
pub(crate) struct ReplicaState {
    pub(crate) status: RepStatus,
    pub(crate) crash: u16,
    /// Active `process_hang` faults: the process runs but answers nothing.
    pub(crate) hang: u16,
    pub(crate) leak: u16,
    pub(crate) leaked_bytes: f64,
    pub(crate) down_until: SimTime,
    pub(crate) in_rotation: bool,
    pub(crate) failed_checks: u32,
    pub(crate) busy: bool,
    // outputs of the last tick
    pub(crate) load_rps: f64,
    pub(crate) cpu_util: f64,
    pub(crate) err: f64,
    pub(crate) mean_latency: f64,
    pub(crate) reachable: bool,
    pub(crate) mem_bytes: f64,
}

impl ReplicaState {
    /// Whether the replica's process is present but hung (`process_hang`): not crashed, not
    /// restarting. Whether it answers anything is then a matter of its node (`behaviour.rs`).
    pub(crate) fn hung(&self, t: SimTime) -> bool {
        self.hang > 0 && self.crash == 0 && t >= self.down_until
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct NodeState {
    pub(crate) crash: u16,
    pub(crate) hog: u16,
    pub(crate) disk_full: u16,
    pub(crate) replacing: bool,
    pub(crate) busy: bool,
    pub(crate) up: bool,
    pub(crate) cpu_demand: f64,
    pub(crate) mem_used: f64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceState {
    pub(crate) net_delay: u16,
    pub(crate) packet_loss: u16,
    pub(crate) bad_deploy: u16,
    pub(crate) dep_failure: u16,
    pub(crate) surge: u16,
    pub(crate) storm: u16,
    pub(crate) shed_until: SimTime,
    pub(crate) busy: bool,
    pub(crate) replicas: Vec<ReplicaId>,
    pub(crate) standby: Option<RegionId>,
    // outputs of the last tick
    pub(crate) external: f64,
    pub(crate) demand: f64,
    pub(crate) attempts: f64,
    pub(crate) err_own: f64,
    pub(crate) mean_own: f64,
    pub(crate) err_total: f64,
    pub(crate) mean_total: f64,
    pub(crate) p99: f64,
    pub(crate) lag_seconds: f64,
    pub(crate) in_rotation: u32,
    pub(crate) dep_mean: f64,
    pub(crate) dep_var: f64,
    pub(crate) sd_total: f64,
    pub(crate) dep_success: f64,
}

/// A running simulation of one scenario and seed.
#[derive(Debug)]
pub struct Simulation {
    pub(crate) scenario_name: String,
    pub(crate) seed: u64,
    pub(crate) topo: Topology,
    pub(crate) queue: EventQueue<Event>,
    pub(crate) now: SimTime,
    pub(crate) next_tick: SimTime,
    pub(crate) horizon: SimTime,
    pub(crate) tick: SimDuration,
    pub(crate) scrape: SimDuration,
    pub(crate) health_interval: SimDuration,
    pub(crate) failure_threshold: u32,
    pub(crate) max_attempts: u32,
    pub(crate) effects: FaultEffectsSpec,
    pub(crate) shed_ratio: f64,
    pub(crate) reward_spec: crate::scenario::schema::RewardSpec,
    pub(crate) traffic: TrafficModel,
    pub(crate) telemetry_rng: SimRng,
    pub(crate) action_rng: SimRng,
    pub(crate) sources: Vec<FaultSource>,
    pub(crate) planned: Vec<PlannedFault>,
    pub(crate) active: Vec<ActiveFault>,
    pub(crate) rep: Vec<ReplicaState>,
    pub(crate) node: Vec<NodeState>,
    pub(crate) zone_outage: Vec<u16>,
    pub(crate) zone_partition: Vec<u16>,
    pub(crate) region_outage: Vec<u16>,
    pub(crate) provider_cp_down: Vec<u16>,
    pub(crate) svc: Vec<ServiceState>,
    pub(crate) free_cpu: Vec<f64>,
    pub(crate) free_mem: Vec<f64>,
    pub(crate) action_params: [ActionParams; 9],
    pub(crate) actions: Vec<ActionRecord>,
    pub(crate) telemetry: TelemetrySnapshot,
    pub(crate) truth: GroundTruth,
    pub(crate) trace: Vec<TraceRecord>,
}

impl Simulation {
    /// A fresh simulation of a validated cluster scenario. (A renewal scenario has no cluster:
    /// run it with [`crate::renewal::run_renewal`]; here it yields an empty world that finishes
    /// at once.)
    pub fn new(scenario: &Scenario, seed: u64) -> Simulation {
        let mut sim = Self::build(scenario, seed);
        for (i, f) in scenario.spec().faults.scripted.iter().enumerate() {
            let _ = i;
            let kind = f.kind.target_kind();
            sim.planned.push(PlannedFault {
                at: SimTime::ZERO + f.at,
                kind: f.kind,
                target: sim.topo.find_target(kind, &f.target),
                target_name: f.target.clone(),
                duration: f.duration,
                origin: FaultOrigin::Scripted,
                seat: None,
            });
        }
        sim.sources = build_sources(&sim.topo, &scenario.spec().faults, &RngStreams::new(seed));
        sim.schedule_initial_faults();
        sim
    }

    /// A simulation whose faults are the onset records of a trace (`fault_onset` and
    /// `empty_seat_onset`; other records are ignored): the same exogenous faults whatever actions
    /// are taken. A seat onset hits whichever replica occupies its seat in this run (or nothing);
    /// other onsets hit their target by name, and are recorded without effect when this scenario
    /// has no such target.
    pub fn replay(scenario: &Scenario, seed: u64, records: &[TraceRecord]) -> Simulation {
        let mut sim = Self::build(scenario, seed);
        for r in records {
            let planned = match r {
                TraceRecord::FaultOnset {
                    at_ms,
                    kind,
                    target,
                    duration_ms,
                    origin,
                    seat,
                    ..
                } => PlannedFault {
                    at: SimTime(*at_ms),
                    kind: *kind,
                    target: sim.topo.find_target(kind.target_kind(), target),
                    target_name: target.clone(),
                    duration: SimDuration(*duration_ms),
                    origin: *origin,
                    seat: seat
                        .as_ref()
                        .map(|s| (s.clone(), resolve_seat(&sim.topo, s))),
                },
                TraceRecord::EmptySeatOnset {
                    at_ms,
                    kind,
                    seat,
                    duration_ms,
                } => PlannedFault {
                    at: SimTime(*at_ms),
                    kind: *kind,
                    target: None,
                    target_name: String::new(),
                    duration: SimDuration(*duration_ms),
                    origin: FaultOrigin::Stochastic,
                    seat: Some((seat.clone(), resolve_seat(&sim.topo, seat))),
                },
                _ => continue,
            };
            sim.planned.push(planned);
        }
        sim.schedule_initial_faults();
        sim
    }

    fn build(scenario: &Scenario, seed: u64) -> Simulation {
        let spec = scenario.spec();
        let topo = match spec.scenario.model {
            // Validation built it once already, so this cannot fail; fall back to empty anyway.
            ModelKind::Cluster => Topology::build(spec).unwrap_or_else(|_| Topology::empty()),
            ModelKind::Renewal => Topology::empty(),
        };
        let streams = RngStreams::new(seed);
        let horizon = match spec.scenario.model {
            ModelKind::Cluster => SimTime::ZERO + spec.scenario.horizon,
            ModelKind::Renewal => SimTime::ZERO,
        };
        let mut free_cpu: Vec<f64> = topo.nodes.iter().map(|n| n.cpu_cores).collect();
        let mut free_mem: Vec<f64> = topo.nodes.iter().map(|n| n.memory_bytes).collect();
        let mut svc: Vec<ServiceState> = topo
            .services
            .iter()
            .map(|s| ServiceState {
                standby: s.replication.as_ref().map(|r| r.standby_region),
                ..Default::default()
            })
            .collect();
        let mut rep = Vec::with_capacity(topo.replicas.len());
        for (i, r) in topo.replicas.iter().enumerate() {
            let s = &topo.services[r.service.index()];
            free_cpu[r.node.index()] -= s.cpu_cores;
            free_mem[r.node.index()] -= s.memory_bytes;
            svc[r.service.index()].replicas.push(ReplicaId(i as u32));
            rep.push(new_replica_state(RepStatus::Active, true));
        }
        let mut truth = GroundTruth::new(topo.services.len());
        truth.violating_since = vec![None; topo.services.len()];
        let trace = vec![TraceRecord::Header {
            format_version: TRACE_FORMAT_VERSION,
            scenario: spec.scenario.name.clone(),
            seed,
        }];
        let telemetry =
            TelemetrySnapshot::new(topo.replicas.len(), topo.nodes.len(), topo.services.len());
        Simulation {
            scenario_name: spec.scenario.name.clone(),
            seed,
            queue: EventQueue::with_capacity(1024),
            now: SimTime::ZERO,
            next_tick: SimTime::ZERO,
            horizon,
            tick: spec.scenario.tick,
            scrape: spec.scenario.scrape_interval,
            health_interval: spec.load_balancer.health_check_interval,
            failure_threshold: spec.load_balancer.failure_threshold,
            max_attempts: spec.traffic.retry.max_attempts,
            effects: spec.faults.effects.clone(),
            shed_ratio: spec.actions.shed_ratio.unwrap_or(0.5),
            reward_spec: spec.reward.clone(),
            traffic: TrafficModel::new(&spec.traffic, streams.stream(Stream::Traffic)),
            telemetry_rng: streams.stream(Stream::Telemetry),
            action_rng: streams.stream(Stream::Actions),
            sources: Vec::new(),
            planned: Vec::new(),
            active: Vec::new(),
            rep,
            node: vec![
                NodeState {
                    up: true,
                    ..Default::default()
                };
                topo.nodes.len()
            ],
            zone_outage: vec![0; topo.zones.len()],
            zone_partition: vec![0; topo.zones.len()],
            region_outage: vec![0; topo.regions.len()],
            provider_cp_down: vec![0; topo.providers.len()],
            svc,
            free_cpu,
            free_mem,
            action_params: resolve_params(&spec.actions),
            actions: Vec::new(),
            telemetry,
            truth,
            trace,
            topo,
        }
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// End of the episode.
    pub fn horizon(&self) -> SimTime {
        self.horizon
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether the horizon has been reached.
    pub fn is_finished(&self) -> bool {
        self.now >= self.horizon
    }

    /// The topology (replicas grow with scale-out; removed ones keep their slot).
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// The last telemetry scrape.
    pub fn telemetry(&self) -> &TelemetrySnapshot {
        &self.telemetry
    }

    /// Ground truth so far.
    pub fn truth(&self) -> &GroundTruth {
        &self.truth
    }

    /// Whether a replica slot currently runs (not removed, not a pending scale-out).
    pub fn replica_active(&self, replica: ReplicaId) -> bool {
        self.rep
            .get(replica.index())
            .is_some_and(|r| r.status == RepStatus::Active)
    }

    /// Whether an action applied to `service` or one of its replicas is still running (started
    /// by `apply`, its completion event not yet processed). Out-of-range ids read false.
    pub fn service_action_running(&self, service: ServiceId) -> bool {
        self.svc.get(service.index()).is_some_and(|s| s.busy)
    }

    /// Whether an action applied to `node` (a replacement) is still running. Out-of-range ids
    /// read false.
    pub fn node_action_running(&self, node: NodeId) -> bool {
        self.node.get(node.index()).is_some_and(|n| n.busy)
    }

    /// Kinds of the faults in effect now, with their target index (for tests and baselines
    /// that peek at the truth).
    pub fn active_faults(&self) -> impl Iterator<Item = (FaultKind, Option<u32>)> + '_ {
        self.active.iter().map(|a| (a.kind, a.target))
    }

    /// Drains the trace records produced since the last call.
    pub fn take_trace(&mut self) -> Vec<TraceRecord> {
        std::mem::take(&mut self.trace)
    }

    /// Advances the world to `until` (clamped to the horizon): processes due events, then one
    /// fluid step per tick boundary.
    pub fn run_until(&mut self, until: SimTime) {
        let until = until.min(self.horizon);
        while self.next_tick <= until && self.next_tick < self.horizon {
            let t = self.next_tick;
            while let Some((at, event)) = self.queue.pop_until(t) {
                self.handle(event, at);
            }
            self.now = t;
            self.step(t);
            self.next_tick = t + self.tick;
        }
        while let Some((at, event)) = self.queue.pop_until(until) {
            self.handle(event, at);
        }
        if until > self.now {
            self.now = until;
        }
    }

    /// Runs to the horizon.
    pub fn run_to_end(&mut self) {
        self.run_until(self.horizon);
    }

    fn handle(&mut self, event: Event, at: SimTime) {
        self.now = self.now.max(at);
        match event {
            Event::StochasticOnset { source } => self.stochastic_onset(source, at),
            Event::PlannedOnset { index } => self.planned_onset(index, at),
            Event::FaultEnd { fault } => self.fault_expired(fault, at),
            Event::ActionDone { action } => self.complete_action(action, at),
        }
    }

    /// The serialisable summary of the run so far.
    pub fn summary(&self) -> TruthSummary {
        let mut faults_by_kind = std::collections::BTreeMap::new();
        for f in &self.truth.faults {
            *faults_by_kind.entry(f.kind.name().to_string()).or_insert(0) += 1;
        }
        TruthSummary {
            scenario: self.scenario_name.clone(),
            seed: self.seed,
            simulated_seconds: self.now.as_secs_f64(),
            faults_by_kind,
            incidents: self.truth.incidents_at(self.now).len() as u64,
            availability: self.truth.availability(),
            uptime: self.truth.uptime(),
            requests_total: self.truth.requests_total,
            actions_applied: self.truth.actions_applied,
            actions_succeeded: self.truth.actions_succeeded,
            reward_components: self.truth.reward,
            reward: self.truth.reward.reward(&self.reward_spec),
        }
    }

    /// The scenario's reward weights.
    pub fn reward_weights(&self) -> &crate::scenario::schema::RewardSpec {
        &self.reward_spec
    }

    // ---- placement helpers used by actions ----

    pub(crate) fn active_replicas(&self, service: ServiceId) -> usize {
        self.svc[service.index()]
            .replicas
            .iter()
            .filter(|r| self.rep[r.index()].status != RepStatus::Removed)
            .count()
    }

    /// A node with room that is up, in the given zones (or the service's placement order for its
    /// `k`th replica).
    pub(crate) fn find_node(
        &self,
        service: ServiceId,
        k: usize,
        zones: Option<&[ZoneId]>,
    ) -> Option<NodeId> {
        let s = &self.topo.services[service.index()];
        let order = match zones {
            Some(z) => z.to_vec(),
            None => self.topo.placement_order(service, k),
        };
        order.iter().find_map(|&z| {
            self.usable_node(
                z,
                s.cpu_cores,
                s.memory_bytes,
                &self.free_cpu,
                &self.free_mem,
            )
        })
    }

    pub(crate) fn usable_node(
        &self,
        zone: ZoneId,
        cpu: f64,
        mem: f64,
        free_cpu: &[f64],
        free_mem: &[f64],
    ) -> Option<NodeId> {
        let mut best: Option<NodeId> = None;
        for &n in &self.topo.zones[zone.index()].nodes {
            let ok = self.node[n.index()].up && !self.node[n.index()].replacing;
            if ok
                && free_cpu[n.index()] + 1e-9 >= cpu
                && free_mem[n.index()] >= mem
                && best.is_none_or(|b| free_cpu[n.index()] > free_cpu[b.index()])
            {
                best = Some(n);
            }
        }
        best
    }

    pub(crate) fn reserve(&mut self, node: NodeId, service: ServiceId) {
        let s = &self.topo.services[service.index()];
        self.free_cpu[node.index()] -= s.cpu_cores;
        self.free_mem[node.index()] -= s.memory_bytes;
    }

    pub(crate) fn release(&mut self, node: NodeId, service: ServiceId) {
        let s = &self.topo.services[service.index()];
        self.free_cpu[node.index()] += s.cpu_cores;
        self.free_mem[node.index()] += s.memory_bytes;
    }

    pub(crate) fn add_replica(&mut self, service: ServiceId, node: NodeId) -> ReplicaId {
        let id = ReplicaId(self.topo.replicas.len() as u32);
        let k = self.svc[service.index()].replicas.len();
        let name = format!("{}-{k}", self.topo.services[service.index()].name);
        self.topo.replicas.push(Replica {
            name,
            service,
            node,
        });
        self.rep.push(new_replica_state(RepStatus::Pending, false));
        self.svc[service.index()].replicas.push(id);
        self.reserve(node, service);
        self.telemetry.ensure_replicas(self.topo.replicas.len());
        id
    }

    pub(crate) fn remove_replica(&mut self, r: ReplicaId) {
        let rep = &self.topo.replicas[r.index()];
        let (node, service) = (rep.node, rep.service);
        self.rep[r.index()].status = RepStatus::Removed;
        self.rep[r.index()].in_rotation = false;
        self.release(node, service);
    }

    /// Moves a replica to a node already reserved for it; frees its old place.
    pub(crate) fn move_replica(&mut self, r: ReplicaId, dest: NodeId) {
        let old = self.topo.replicas[r.index()].node;
        let service = self.topo.replicas[r.index()].service;
        self.release(old, service);
        self.topo.replicas[r.index()].node = dest;
        let rs = &mut self.rep[r.index()];
        rs.in_rotation = false;
        rs.failed_checks = 0;
    }
}

fn new_replica_state(status: RepStatus, in_rotation: bool) -> ReplicaState {
    ReplicaState {
        status,
        crash: 0,
        hang: 0,
        leak: 0,
        leaked_bytes: 0.0,
        down_until: SimTime::ZERO,
        in_rotation,
        failed_checks: 0,
        busy: false,
        load_rps: 0.0,
        cpu_util: 0.0,
        err: 0.0,
        mean_latency: 0.0,
        reachable: true,
        mem_bytes: 0.0,
    }
}
