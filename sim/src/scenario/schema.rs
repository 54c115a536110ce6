//! The scenario file schema: plain serde structs mirroring the TOML document, one per section.
//! Units are in field names where a value is not a duration (`_rps`, `_usd_per_hour`, `_bytes`,
//! `_ratio`, `_seconds`); durations are strings such as `"15s"`, `"5m"`, `"6h"` (see
//! [`SimDuration::parse`]). Unknown fields are rejected everywhere. The documented version of this
//! schema, with units and calibration sources, is `scenarios/README.md`.

use serde::{Deserialize, Serialize};

use crate::dist::DurationDist;
use crate::renewal::RenewalConfig;
use crate::time::SimDuration;

/// The whole scenario document as parsed, before semantic validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// `[scenario]`: name, model kind and clock settings.
    pub scenario: HeaderSpec,
    /// `[[providers]]`: cloud providers.
    #[serde(default)]
    pub providers: Vec<ProviderSpec>,
    /// `[[regions]]`: regions, each in one provider, each listing its zones.
    #[serde(default)]
    pub regions: Vec<RegionSpec>,
    /// `[[node_pools]]`: identical nodes placed in one zone.
    #[serde(default)]
    pub node_pools: Vec<NodePoolSpec>,
    /// `[[services]]`: the services, forming a dependency DAG.
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    /// `[load_balancer]`: health checks of the global load balancer.
    #[serde(default)]
    pub load_balancer: LoadBalancerSpec,
    /// `[traffic]`: external request rates at entry services.
    #[serde(default)]
    pub traffic: TrafficSpec,
    /// `[faults]`: stochastic and scripted fault processes.
    #[serde(default)]
    pub faults: FaultsSpec,
    /// `[actions]`: overrides of recovery-action durations, costs and success probabilities.
    #[serde(default)]
    pub actions: ActionsSpec,
    /// `[reward]`: weights of the reward components.
    #[serde(default)]
    pub reward: RewardSpec,
    /// `[renewal]`: the renewal model (only with `model = "renewal"`).
    #[serde(default)]
    pub renewal: Option<RenewalConfig>,
}

/// Which simulation model a scenario describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The multi-cloud cluster world (topology, traffic, faults, actions).
    Cluster,
    /// N independent components alternating up and down (the speed reference against SimPy).
    Renewal,
}

/// `[scenario]`: identity and clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderSpec {
    /// Scenario name, used in traces and results.
    pub name: String,
    /// Model kind: `"cluster"` (default) or `"renewal"`.
    #[serde(default = "default_model")]
    pub model: ModelKind,
    /// Simulated length of an episode.
    pub horizon: SimDuration,
    /// Step of the fluid model (cluster only).
    #[serde(default = "default_tick")]
    pub tick: SimDuration,
    /// Telemetry scrape interval; a multiple of `tick`.
    #[serde(default = "default_scrape")]
    pub scrape_interval: SimDuration,
    /// Interval between agent decisions; a multiple of `tick`, at most `horizon`.
    #[serde(default = "default_decision")]
    pub decision_interval: SimDuration,
}

fn default_model() -> ModelKind {
    ModelKind::Cluster
}
fn default_tick() -> SimDuration {
    SimDuration::from_secs(5)
}
fn default_scrape() -> SimDuration {
    SimDuration::from_secs(15)
}
fn default_decision() -> SimDuration {
    SimDuration::from_secs(30)
}

/// `[[providers]]`: a cloud provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    /// Unique provider name (e.g. `aws`).
    pub name: String,
    /// Time to provision a new node through this provider's control plane.
    pub provisioning_delay: SimDuration,
}

/// `[[regions]]`: a region of one provider with its zones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// Unique region name.
    pub name: String,
    /// Name of the provider the region belongs to.
    pub provider: String,
    /// Names of the zones of the region (unique across the scenario).
    pub zones: Vec<String>,
}

/// `[[node_pools]]`: `count` identical nodes in one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePoolSpec {
    /// Zone the nodes live in.
    pub zone: String,
    /// Number of nodes (at least 1).
    pub count: u32,
    /// CPU cores per node.
    pub cpu_cores: f64,
    /// Memory per node, bytes.
    pub memory_bytes: u64,
    /// Disk per node, bytes.
    pub disk_bytes: u64,
    /// Instance price, US dollars per hour.
    pub price_usd_per_hour: f64,
}

/// How the replicas of a service are spread over failure domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Spread {
    /// Round-robin over zones (of the allowed regions).
    #[default]
    Zone,
    /// Round-robin over regions first, then zones within them.
    Region,
    /// Round-robin over providers first, then regions, then zones.
    Provider,
}

/// `[[services]]`: a service running as replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Unique service name.
    pub name: String,
    /// Initial number of replicas (at least 1).
    pub replicas: u32,
    /// Upper bound for scale-out (default: three times `replicas`).
    #[serde(default)]
    pub max_replicas: Option<u32>,
    /// How replicas are spread over failure domains.
    #[serde(default)]
    pub spread: Spread,
    /// Regions the service may be placed in (empty: all regions).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Services this one calls for every request it serves.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Calls made to each dependency per request served.
    #[serde(default = "one")]
    pub calls_per_request: f64,
    /// Requests per second one replica serves at 100 % utilisation.
    pub capacity_rps: f64,
    /// Mean service time of one request on an idle replica, seconds.
    pub base_latency_seconds: f64,
    /// Client timeout, seconds: slower requests fail.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// CPU cores one replica reserves on its node.
    pub cpu_cores: f64,
    /// Resident memory of one replica, bytes.
    pub memory_bytes: u64,
    /// Memory limit of one replica, bytes (OOM kill above it; default twice `memory_bytes`).
    #[serde(default)]
    pub memory_limit_bytes: Option<u64>,
    /// Asynchronous replication to a standby region (stateful services only).
    #[serde(default)]
    pub replication: Option<ReplicationSpec>,
    /// Service-level objective.
    pub slo: SloSpec,
}

fn one() -> f64 {
    1.0
}
fn default_timeout() -> f64 {
    2.0
}

/// `[services.replication]`: asynchronous replication of a stateful service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationSpec {
    /// Region holding the standby copy (must not be one the service is placed in).
    pub standby_region: String,
    /// Share of requests that write data.
    pub write_ratio: f64,
    /// Replication lag on a healthy, idle system, seconds.
    pub base_lag_seconds: f64,
}

/// `[services.slo]`: the service-level objective of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// 99th-percentile latency objective, seconds.
    pub latency_p99_seconds: f64,
    /// Highest acceptable error ratio.
    pub error_ratio: f64,
}

/// `[load_balancer]`: the global load balancer's health checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// Interval between health checks; a multiple of `tick`.
    pub health_check_interval: SimDuration,
    /// Consecutive failed checks before a replica is taken out of rotation.
    pub failure_threshold: u32,
}

impl Default for LoadBalancerSpec {
    fn default() -> Self {
        // AWS ALB defaults: interval 30 s, unhealthy threshold 2; we use 10 s as many operators do.
        Self {
            health_check_interval: SimDuration::from_secs(10),
            failure_threshold: 2,
        }
    }
}

/// `[traffic]`: external load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    /// Entry services and their mean external request rates.
    #[serde(default)]
    pub entries: Vec<EntrySpec>,
    /// Relative amplitude of the daily cycle, in [0, 1].
    #[serde(default)]
    pub daily_amplitude_ratio: f64,
    /// Time of day of the daily peak.
    #[serde(default = "default_peak")]
    pub peak_at: SimDuration,
    /// Relative standard deviation of per-tick noise, in [0, 1].
    #[serde(default)]
    pub noise_ratio: f64,
    /// Client retry policy.
    #[serde(default)]
    pub retry: RetrySpec,
}

impl Default for TrafficSpec {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            daily_amplitude_ratio: 0.0,
            peak_at: default_peak(),
            noise_ratio: 0.0,
            retry: RetrySpec::default(),
        }
    }
}

fn default_peak() -> SimDuration {
    SimDuration::from_secs(14 * 3600)
}

/// `[[traffic.entries]]`: one entry service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntrySpec {
    /// The entry service.
    pub service: String,
    /// Mean external rate, requests per second.
    pub base_rps: f64,
}

/// `[traffic.retry]`: client retries on errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts per request including the first (1 = no retries).
    pub max_attempts: u32,
}

impl Default for RetrySpec {
    fn default() -> Self {
        Self { max_attempts: 3 }
    }
}

/// The fault catalog (BRIEF §4; Chaos Mesh, LitmusChaos and AIOpsLab fault libraries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A replica's process dies (target: replica).
    ProcessCrash,
    /// A node dies with all its replicas (target: node).
    NodeCrash,
    /// A replica's memory grows until it is OOM-killed (target: replica).
    MemoryLeak,
    /// A noisy neighbour takes CPU from a node's replicas (target: node).
    CpuHog,
    /// A node's disk fills up: writes fail (target: node).
    DiskFull,
    /// Extra network latency on a service's replicas (target: service).
    NetworkDelay,
    /// Packet loss on a service's replicas (target: service).
    PacketLoss,
    /// A zone is cut off from the load balancer (target: zone).
    Partition,
    /// All nodes of a zone go down (target: zone).
    ZoneOutage,
    /// All nodes of a region go down (target: region).
    RegionOutage,
    /// A provider cannot provision nodes or move replicas (target: provider).
    ControlPlaneOutage,
    /// A faulty release makes a service fail requests until rolled back (target: service).
    BadDeploy,
    /// An external dependency of a service fails, cascading to its callers (target: service).
    DependencyFailure,
    /// External load on an entry service multiplies (target: service).
    LoadSurge,
    /// Clients of a service retry aggressively (target: service).
    RetryStorm,
    /// A replica's process hangs, as under `SIGSTOP` (target: replica): its node stays up and the
    /// kernel still accepts connections, but nothing answers, so requests and health checks time
    /// out (`behaviour.rs`). Last in the catalog so that earlier kinds keep their positions.
    ProcessHang,
}

impl FaultKind {
    /// Every fault kind, in catalog order.
    pub const ALL: [FaultKind; 16] = [
        FaultKind::ProcessCrash,
        FaultKind::NodeCrash,
        FaultKind::MemoryLeak,
        FaultKind::CpuHog,
        FaultKind::DiskFull,
        FaultKind::NetworkDelay,
        FaultKind::PacketLoss,
        FaultKind::Partition,
        FaultKind::ZoneOutage,
        FaultKind::RegionOutage,
        FaultKind::ControlPlaneOutage,
        FaultKind::BadDeploy,
        FaultKind::DependencyFailure,
        FaultKind::LoadSurge,
        FaultKind::RetryStorm,
        FaultKind::ProcessHang,
    ];

    /// The kind of entity this fault targets.
    pub fn target_kind(self) -> TargetKind {
        match self {
            FaultKind::ProcessCrash | FaultKind::ProcessHang | FaultKind::MemoryLeak => {
                TargetKind::Replica
            }
            FaultKind::NodeCrash | FaultKind::CpuHog | FaultKind::DiskFull => TargetKind::Node,
            FaultKind::Partition | FaultKind::ZoneOutage => TargetKind::Zone,
            FaultKind::RegionOutage => TargetKind::Region,
            FaultKind::ControlPlaneOutage => TargetKind::Provider,
            FaultKind::NetworkDelay
            | FaultKind::PacketLoss
            | FaultKind::BadDeploy
            | FaultKind::DependencyFailure
            | FaultKind::LoadSurge
            | FaultKind::RetryStorm => TargetKind::Service,
        }
    }

    /// The snake_case name used in files and traces.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ProcessCrash => "process_crash",
            FaultKind::NodeCrash => "node_crash",
            FaultKind::MemoryLeak => "memory_leak",
            FaultKind::CpuHog => "cpu_hog",
            FaultKind::DiskFull => "disk_full",
            FaultKind::NetworkDelay => "network_delay",
            FaultKind::PacketLoss => "packet_loss",
            FaultKind::Partition => "partition",
            FaultKind::ZoneOutage => "zone_outage",
            FaultKind::RegionOutage => "region_outage",
            FaultKind::ControlPlaneOutage => "control_plane_outage",
            FaultKind::BadDeploy => "bad_deploy",
            FaultKind::DependencyFailure => "dependency_failure",
            FaultKind::LoadSurge => "load_surge",
            FaultKind::RetryStorm => "retry_storm",
            FaultKind::ProcessHang => "process_hang",
        }
    }
}

/// The kind of entity a fault targets; names of targets are looked up among entities of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A replica, named `<service>-<index>`.
    Replica,
    /// A node, named `<zone>-n<index>`.
    Node,
    /// A service.
    Service,
    /// A zone.
    Zone,
    /// A region.
    Region,
    /// A provider.
    Provider,
}

/// `[faults]`: fault processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsSpec {
    /// Divides every stochastic time-to-failure, so that short scenarios see faults (documented
    /// in scenarios/README.md); 1 = field rates.
    #[serde(default = "one")]
    pub rate_multiplier: f64,
    /// Stochastic renewal processes, one independent process per matching target entity.
    #[serde(default)]
    pub processes: Vec<FaultProcessSpec>,
    /// Faults at fixed times.
    #[serde(default)]
    pub scripted: Vec<ScriptedFaultSpec>,
    /// Magnitudes of fault effects.
    #[serde(default)]
    pub effects: FaultEffectsSpec,
}

impl Default for FaultsSpec {
    fn default() -> Self {
        Self {
            rate_multiplier: 1.0,
            processes: Vec::new(),
            scripted: Vec::new(),
            effects: FaultEffectsSpec::default(),
        }
    }
}

/// `[[faults.processes]]`: a renewal process per target entity of `kind` (optionally only in
/// one provider): up time until the fault, then the fault lasts a down time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultProcessSpec {
    /// Fault kind; its target kind decides which entities get a process.
    pub kind: FaultKind,
    /// Only entities in this provider (default: all providers).
    #[serde(default)]
    pub provider: Option<String>,
    /// Time between the end of one fault and the onset of the next (field rate; divided by
    /// `rate_multiplier`).
    pub up: DurationDist,
    /// Duration of a fault if no action ends it first.
    pub down: DurationDist,
}

/// `[[faults.scripted]]`: one fault at a fixed time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedFaultSpec {
    /// Onset, from the start of the episode.
    pub at: SimDuration,
    /// Fault kind.
    pub kind: FaultKind,
    /// Target entity name (of the fault kind's target kind).
    pub target: String,
    /// Duration if no action ends it first.
    pub duration: SimDuration,
}

/// `[faults.effects]`: magnitudes of fault effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultEffectsSpec {
    /// Memory growth of a leaking replica, bytes per second.
    pub memory_leak_bytes_per_second: f64,
    /// CPU cores taken by a noisy neighbour on a node.
    pub cpu_hog_cores: f64,
    /// Extra latency of a network-delay fault, seconds.
    pub network_delay_seconds: f64,
    /// Share of packets (and so requests) lost under packet loss.
    pub packet_loss_ratio: f64,
    /// Error ratio of a bad deploy.
    pub bad_deploy_error_ratio: f64,
    /// Multiplier of external load during a surge.
    pub load_surge_multiplier: f64,
    /// Multiplier of retry attempts during a retry storm.
    pub retry_storm_multiplier: f64,
}

impl Default for FaultEffectsSpec {
    fn default() -> Self {
        Self {
            memory_leak_bytes_per_second: 1_048_576.0,
            cpu_hog_cores: 4.0,
            network_delay_seconds: 0.2,
            packet_loss_ratio: 0.1,
            bad_deploy_error_ratio: 0.3,
            load_surge_multiplier: 3.0,
            retry_storm_multiplier: 4.0,
        }
    }
}

/// `[actions.<kind>]`: overrides of one action kind's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionOverride {
    /// Time from apply to outcome.
    #[serde(default)]
    pub duration: Option<SimDuration>,
    /// Cost charged when applied, US dollars.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Probability that the action succeeds, in [0, 1].
    #[serde(default)]
    pub success_probability: Option<f64>,
}

/// `[actions]`: per-kind overrides (see `crate::actions::ActionKind::defaults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsSpec {
    /// Restart one replica.
    #[serde(default)]
    pub restart_replica: ActionOverride,
    /// Restart all replicas of a service (rolling).
    #[serde(default)]
    pub restart_service: ActionOverride,
    /// Add a replica.
    #[serde(default)]
    pub scale_out: ActionOverride,
    /// Remove a replica.
    #[serde(default)]
    pub scale_in: ActionOverride,
    /// Move a replica to another zone.
    #[serde(default)]
    pub reallocate: ActionOverride,
    /// Move a service to another region.
    #[serde(default)]
    pub failover: ActionOverride,
    /// Roll back a service's last deploy.
    #[serde(default)]
    pub rollback: ActionOverride,
    /// Drain a node and replace it with a fresh one.
    #[serde(default)]
    pub replace_node: ActionOverride,
    /// Shed part of an entry service's external load.
    #[serde(default)]
    pub shed_load: ActionOverride,
    /// Share of external load dropped while shedding, in (0, 1].
    #[serde(default)]
    pub shed_ratio: Option<f64>,
}

/// `[reward]`: weights of the reward components (reward = minus the weighted sum).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardSpec {
    /// Cost of one request not served within SLO (failed, too slow or shed), US dollars.
    pub slo_violation_usd_per_request: f64,
    /// Weight of infrastructure cost (US dollars of instance-hours).
    pub infra_cost_weight: f64,
    /// Weight of action cost (US dollars).
    pub action_cost_weight: f64,
    /// Cost of one write lost on failover, US dollars.
    pub data_loss_usd_per_write: f64,
}

impl Default for RewardSpec {
    fn default() -> Self {
        Self {
            slo_violation_usd_per_request: 0.001,
            infra_cost_weight: 1.0,
            action_cost_weight: 1.0,
            data_loss_usd_per_write: 0.01,
        }
    }
}
