//! Every fault kind, scripted on the tiny scenario from minute 10 to minute 30: its effect on
//! telemetry (against the same seed without the fault) and on the ground truth.

use mend_sim::telemetry::{NodeMetric, ReplicaMetric, ServiceMetric};
use mend_sim::time::SimTime;
use mend_sim::trace::EndCause;
use mend_sim::{Action, ActionError, Scenario, Simulation};

const TINY: &str = include_str!("../../scenarios/tiny.toml");
const SEED: u64 = 42;

fn with_fault(kind: &str, target: &str) -> Scenario {
    let text = TINY.replacen(
        "rate_multiplier = 1.0",
        &format!("rate_multiplier = 1.0\n[[faults.scripted]]\nat = \"10m\"\nkind = \"{kind}\"\ntarget = \"{target}\"\nduration = \"20m\""),
        1,
    );
    Scenario::from_toml_str(&text, "tiny-with-fault.toml").unwrap()
}

/// Runs both worlds to `minutes` and returns (with fault, baseline).
fn pair(kind: &str, target: &str, minutes: u64) -> (Simulation, Simulation) {
    let mut faulty = Simulation::new(&with_fault(kind, target), SEED);
    let mut base = Simulation::new(&Scenario::from_toml_str(TINY, "tiny.toml").unwrap(), SEED);
    faulty.run_until(SimTime::from_secs(minutes * 60));
    base.run_until(SimTime::from_secs(minutes * 60));
    (faulty, base)
}

fn id(sim: &Simulation, kind: mend_sim::scenario::TargetKind, name: &str) -> usize {
    sim.topology().find_target(kind, name).unwrap() as usize
}

fn svc(sim: &Simulation, name: &str) -> usize {
    id(sim, mend_sim::scenario::TargetKind::Service, name)
}

/// The truth records the fault with its onset, nominal end and (after minute 30) its end.
fn assert_recorded(kind: &str, target: &str) {
    let (mut sim, _) = pair(kind, target, 31);
    sim.run_until(SimTime::from_secs(31 * 60));
    let f = &sim.truth().faults[0];
    assert_eq!((f.kind.name(), f.target.as_str()), (kind, target));
    assert_eq!(f.onset, SimTime::from_secs(600));
    assert_eq!(f.end, Some(SimTime::from_secs(1800)));
    assert_eq!(f.cause, Some(EndCause::Expired));
    assert_eq!(sim.summary().faults_by_kind.get(kind), Some(&1));
}

/// SLO-violating requests grew against the baseline.
fn assert_truth_worse(faulty: &Simulation, base: &Simulation) {
    let (f, b) = (faulty.truth(), base.truth());
    assert!(
        f.reward.slo_violating_requests > b.reward.slo_violating_requests + 10.0,
        "{} vs {}",
        f.reward.slo_violating_requests,
        b.reward.slo_violating_requests
    );
    assert!(f.availability() < b.availability());
}

#[test]
fn process_crash_takes_the_replica_down() {
    let (f, b) = pair("process_crash", "web-0", 15);
    let r = id(&f, mend_sim::scenario::TargetKind::Replica, "web-0");
    assert_eq!(f.telemetry().replica(r, ReplicaMetric::Up), 0.0);
    assert_eq!(b.telemetry().replica(r, ReplicaMetric::Up), 1.0);
    let web = svc(&f, "web");
    assert_eq!(
        f.telemetry()
            .service(web, ServiceMetric::ReplicasInRotation),
        1.0
    );
    assert_eq!(f.truth().faults[0].affected_replicas, vec![r as u32]);
    assert_recorded("process_crash", "web-0");
}

/// The web service's (error ratio, p99 latency) and web-0's own p99 at the first scrape after a
/// fault that makes web-0 unreachable (onset 10 m, scraped at 600 s): still in rotation, since
/// the health checks (every 10 s, 2 failures) take it out only at 610 s.
fn first_scrape_symptoms(kind: &str, target: &str) -> (f64, f64, f64) {
    let mut sim = Simulation::new(&with_fault(kind, target), SEED);
    sim.run_until(SimTime::from_secs(601));
    let (web, r) = (
        svc(&sim, "web"),
        id(&sim, mend_sim::scenario::TargetKind::Replica, "web-0"),
    );
    let tel = sim.telemetry();
    assert_eq!(
        tel.replica(r, ReplicaMetric::Up),
        0.0,
        "{kind}: web-0 is down"
    );
    assert_eq!(
        tel.service(web, ServiceMetric::ReplicasInRotation),
        2.0,
        "{kind}: web-0 is still in rotation"
    );
    (
        tel.service(web, ServiceMetric::ErrorRatio),
        tel.service(web, ServiceMetric::LatencyP99Seconds),
        tel.replica(r, ReplicaMetric::LatencyP99Seconds),
    )
}

/// Regression (issue 7): a crashed process on a live node refuses connections (a TCP reset within
/// a round trip), so its share fails *fast*; the simulator used to make it fail at the timeout, as
/// an unreachable node does, and a policy trained on that did not recognise a live kill -9 (errors
/// with low latency). A crashed node or a partitioned zone still answers nothing: timeouts.
#[test]
fn a_crashed_process_fails_fast_while_an_unreachable_node_times_out() {
    let (_, b) = pair("process_crash", "web-0", 1);
    let web0 = id(&b, mend_sim::scenario::TargetKind::Replica, "web-0");
    let node = &b.topology().nodes[b.topology().replicas[web0].node.index()];
    let (node_name, zone_name) = (
        node.name.clone(),
        b.topology().zones[node.zone.index()].name.clone(),
    );
    let timeout = b.topology().services[svc(&b, "web")].timeout_seconds;
    let mut healthy = Simulation::new(&Scenario::from_toml_str(TINY, "tiny.toml").unwrap(), SEED);
    healthy.run_until(SimTime::from_secs(601));
    let healthy_p99 = healthy
        .telemetry()
        .service(svc(&healthy, "web"), ServiceMetric::LatencyP99Seconds);

    let (err, p99, own_p99) = first_scrape_symptoms("process_crash", "web-0");
    // One replica of two refuses: about half the attempts fail, with latency as if healthy.
    assert!((0.4..0.6).contains(&err), "crash: error ratio {err}");
    assert!(
        p99 < 2.0 * healthy_p99 && p99 < 0.1 * timeout,
        "crash: p99 {p99} s (healthy {healthy_p99} s, timeout {timeout} s)"
    );
    assert!(own_p99 < 0.1 * timeout, "crash: web-0's p99 {own_p99} s");

    for (kind, target) in [("node_crash", &node_name), ("partition", &zone_name)] {
        let (err, p99, own_p99) = first_scrape_symptoms(kind, target);
        assert!(err >= 0.4, "{kind}: error ratio {err}");
        assert!(
            p99 > 0.5 * timeout && p99 > 10.0 * healthy_p99,
            "{kind}: p99 {p99} s (healthy {healthy_p99} s, timeout {timeout} s)"
        );
        assert!(own_p99 > 0.9 * timeout, "{kind}: web-0's p99 {own_p99} s");
    }
}

/// A hung process (`process_hang`, SIGSTOP-like) on a live node: its scrape and health checks time
/// out (`up` 0, out of the rotation after two failed checks, as a crash), its node stays up and
/// keeps the hung process's memory, and until the balancer notices, its share of requests fails at
/// the timeout (the kernel accepted the connection; nothing answers), not fast as a refused one.
#[test]
fn process_hang_takes_the_replica_out_by_timeouts_with_its_node_up() {
    let (f, b) = pair("process_hang", "web-0", 15);
    let r = id(&f, mend_sim::scenario::TargetKind::Replica, "web-0");
    assert_eq!(f.telemetry().replica(r, ReplicaMetric::Up), 0.0);
    assert_eq!(b.telemetry().replica(r, ReplicaMetric::Up), 1.0);
    let web = svc(&f, "web");
    assert_eq!(
        f.telemetry()
            .service(web, ServiceMetric::ReplicasInRotation),
        1.0
    );
    let n = f.topology().replicas[r].node.index();
    assert_eq!(f.telemetry().node(n, NodeMetric::Up), 1.0, "the node is up");
    // The node's memory: as without the fault when hung (the process keeps its working set), lower
    // when the process is gone.
    let (crashed, _) = pair("process_crash", "web-0", 15);
    let mem = |s: &Simulation| s.telemetry().node(n, NodeMetric::MemoryUtilization);
    assert!(
        mem(&f) > mem(&crashed) * 1.02,
        "hung {} vs crashed {}",
        mem(&f),
        mem(&crashed)
    );
    assert_eq!(f.truth().faults[0].affected_replicas, vec![r as u32]);
    assert_truth_worse(&f, &b);
    assert_recorded("process_hang", "web-0");

    let timeout = b.topology().services[svc(&b, "web")].timeout_seconds;
    let (err, p99, own_p99) = first_scrape_symptoms("process_hang", "web-0");
    assert!(err >= 0.4, "hang: error ratio {err}");
    assert!(
        p99 > 0.5 * timeout,
        "hang: p99 {p99} s (timeout {timeout} s)"
    );
    assert!(own_p99 > 0.9 * timeout, "hang: web-0's p99 {own_p99} s");
}

/// A hung process does not allocate: a leak on the same replica pauses while it is hung.
#[test]
fn a_hung_process_leaks_nothing() {
    let text = TINY.replacen(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[[faults.scripted]]\nat = \"5m\"\nkind = \"memory_leak\"\ntarget = \"api-0\"\nduration = \"40m\"\n[[faults.scripted]]\nat = \"10m\"\nkind = \"process_hang\"\ntarget = \"api-0\"\nduration = \"10m\"",
        1,
    );
    let scenario = Scenario::from_toml_str(&text, "tiny-leak-hang.toml").unwrap();
    let mut sim = Simulation::new(&scenario, SEED);
    let r = id(&sim, mend_sim::scenario::TargetKind::Replica, "api-0");
    let n = sim.topology().replicas[r].node.index();
    let node_mem = |sim: &Simulation| sim.telemetry().node(n, NodeMetric::MemoryUtilization);
    sim.run_until(SimTime::from_secs(11 * 60));
    let early = node_mem(&sim);
    sim.run_until(SimTime::from_secs(19 * 60));
    let late = node_mem(&sim);
    assert_eq!(sim.telemetry().replica(r, ReplicaMetric::Up), 0.0);
    // Eight minutes of a 1 MiB/s leak would add 480 MiB; hung, only measurement noise moves it.
    assert!(
        (late - early).abs() < 0.05 * early,
        "node memory {early} -> {late} while hung"
    );
}

#[test]
fn node_crash_takes_the_node_and_its_replicas_down() {
    let (f, b) = pair("node_crash", "us-east-1a-n0", 15);
    let n = id(&f, mend_sim::scenario::TargetKind::Node, "us-east-1a-n0");
    assert_eq!(f.telemetry().node(n, NodeMetric::Up), 0.0);
    assert_eq!(b.telemetry().node(n, NodeMetric::Up), 1.0);
    let on_node: Vec<usize> = (0..f.topology().replicas.len())
        .filter(|&r| f.topology().replicas[r].node.index() == n)
        .collect();
    assert!(!on_node.is_empty());
    for r in on_node {
        assert_eq!(f.telemetry().replica(r, ReplicaMetric::Up), 0.0);
    }
    assert!(!f.truth().faults[0].affected_replicas.is_empty());
    assert_recorded("node_crash", "us-east-1a-n0");
}

#[test]
fn memory_leak_grows_memory() {
    let (f, b) = pair("memory_leak", "api-0", 15);
    let r = id(&f, mend_sim::scenario::TargetKind::Replica, "api-0");
    let grown = f.telemetry().replica(r, ReplicaMetric::MemoryBytes)
        - b.telemetry().replica(r, ReplicaMetric::MemoryBytes);
    // 1 MiB/s for about 300 s, minus noise.
    assert!(grown > 200.0 * 1_048_576.0, "grew {grown}");
    assert!(
        f.telemetry().replica(r, ReplicaMetric::MemoryUtilization)
            > b.telemetry().replica(r, ReplicaMetric::MemoryUtilization)
    );
    assert_recorded("memory_leak", "api-0");
}

#[test]
fn memory_leak_ends_in_an_oom_kill() {
    let text = TINY.replacen(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[faults.effects]\nmemory_leak_bytes_per_second = 20000000.0\n[[faults.scripted]]\nat = \"10m\"\nkind = \"memory_leak\"\ntarget = \"api-0\"\nduration = \"20m\"",
        1,
    );
    let mut sim = Simulation::new(&Scenario::from_toml_str(&text, "leak.toml").unwrap(), SEED);
    let r = sim
        .topology()
        .find_target(mend_sim::scenario::TargetKind::Replica, "api-0")
        .unwrap() as usize;
    let mut saw_down = false;
    for s in (615..1800).step_by(15) {
        sim.run_until(SimTime::from_secs(s));
        saw_down |= sim.telemetry().replica(r, ReplicaMetric::Up) == 0.0;
    }
    assert!(saw_down, "the leaking replica was never OOM-killed");
}

#[test]
fn cpu_hog_raises_node_cpu() {
    let (f, b) = pair("cpu_hog", "us-east-1a-n0", 15);
    let n = id(&f, mend_sim::scenario::TargetKind::Node, "us-east-1a-n0");
    let delta = f.telemetry().node(n, NodeMetric::CpuUtilization)
        - b.telemetry().node(n, NodeMetric::CpuUtilization);
    // 4 cores of 8.
    assert!((delta - 0.5).abs() < 0.1, "delta {delta}");
    assert_recorded("cpu_hog", "us-east-1a-n0");
}

#[test]
fn cpu_hog_beyond_capacity_slows_replicas() {
    let text = TINY.replacen(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[faults.effects]\ncpu_hog_cores = 64.0\n[[faults.scripted]]\nat = \"10m\"\nkind = \"cpu_hog\"\ntarget = \"us-east-1a-n0\"\nduration = \"20m\"",
        1,
    );
    let mut f = Simulation::new(&Scenario::from_toml_str(&text, "hog.toml").unwrap(), SEED);
    let (_, b) = pair("cpu_hog", "us-east-1a-n0", 15);
    f.run_until(SimTime::from_secs(900));
    let web = svc(&f, "web");
    assert!(
        f.telemetry().service(web, ServiceMetric::LatencyP99Seconds)
            > b.telemetry().service(web, ServiceMetric::LatencyP99Seconds) * 1.5
    );
}

#[test]
fn disk_full_fills_the_disk_and_fails_writes() {
    // db-0 runs on a node in us-east-1a; find it.
    let (_, b) = pair("disk_full", "us-east-1a-n0", 1);
    let db0 = id(&b, mend_sim::scenario::TargetKind::Replica, "db-0");
    let node = b.topology().nodes[b.topology().replicas[db0].node.index()]
        .name
        .clone();
    let (f, b) = pair("disk_full", &node, 15);
    let n = id(&f, mend_sim::scenario::TargetKind::Node, &node);
    assert_eq!(f.telemetry().node(n, NodeMetric::DiskUtilization), 1.0);
    assert!(b.telemetry().node(n, NodeMetric::DiskUtilization) < 0.5);
    assert!(f.telemetry().replica(db0, ReplicaMetric::ErrorRatio) > 0.9);
    assert_truth_worse(&f, &b);
    assert_recorded("disk_full", &node);
}

#[test]
fn network_delay_raises_latency_upstream() {
    let (f, b) = pair("network_delay", "api", 15);
    let web = svc(&f, "web");
    let delta = f.telemetry().service(web, ServiceMetric::LatencyP99Seconds)
        - b.telemetry().service(web, ServiceMetric::LatencyP99Seconds);
    assert!(delta > 0.15, "p99 grew {delta}");
    assert_recorded("network_delay", "api");
}

#[test]
fn packet_loss_causes_errors() {
    let (f, b) = pair("packet_loss", "api", 15);
    let api = svc(&f, "api");
    let e = f.telemetry().service(api, ServiceMetric::ErrorRatio);
    assert!((e - 0.1).abs() < 0.03, "error ratio {e}");
    assert!(b.telemetry().service(api, ServiceMetric::ErrorRatio) < 0.01);
    assert_truth_worse(&f, &b);
    assert_recorded("packet_loss", "api");
}

#[test]
fn partition_takes_a_zone_out_of_rotation() {
    let (f, b) = pair("partition", "us-east-1a", 15);
    let web = svc(&f, "web");
    assert_eq!(
        f.telemetry()
            .service(web, ServiceMetric::ReplicasInRotation),
        1.0
    );
    assert_eq!(
        b.telemetry()
            .service(web, ServiceMetric::ReplicasInRotation),
        2.0
    );
    let n = id(&f, mend_sim::scenario::TargetKind::Node, "us-east-1a-n0");
    assert_eq!(f.telemetry().node(n, NodeMetric::Up), 0.0);
    assert_recorded("partition", "us-east-1a");
}

#[test]
fn zone_outage_takes_its_nodes_down() {
    let (f, b) = pair("zone_outage", "us-east-1b", 15);
    for name in ["us-east-1b-n0", "us-east-1b-n1"] {
        let n = id(&f, mend_sim::scenario::TargetKind::Node, name);
        assert_eq!(f.telemetry().node(n, NodeMetric::Up), 0.0);
        assert_eq!(b.telemetry().node(n, NodeMetric::Up), 1.0);
    }
    assert_eq!(f.truth().faults[0].affected_nodes.len(), 2);
    assert_recorded("zone_outage", "us-east-1b");
}

#[test]
fn region_outage_fails_every_service_in_it() {
    let (f, b) = pair("region_outage", "us-east-1", 15);
    let web = svc(&f, "web");
    assert!(f.telemetry().service(web, ServiceMetric::ErrorRatio) > 0.95);
    assert_eq!(f.truth().faults[0].affected_services, vec![0, 1, 2]);
    assert_truth_worse(&f, &b);
    assert!(!f.truth().incidents_at(f.now()).is_empty());
    assert_recorded("region_outage", "us-east-1");
}

#[test]
fn region_outage_of_the_standby_grows_replication_lag() {
    let (f, b) = pair("region_outage", "us-west-2", 15);
    let db = svc(&f, "db");
    assert!(
        f.telemetry()
            .service(db, ServiceMetric::ReplicationLagSeconds)
            > 200.0
    );
    assert!(
        b.telemetry()
            .service(db, ServiceMetric::ReplicationLagSeconds)
            < 5.0
    );
}

#[test]
fn control_plane_outage_blocks_provisioning() {
    let (mut f, mut b) = pair("control_plane_outage", "aws", 15);
    let web = mend_sim::topology::ServiceId(svc(&f, "web") as u32);
    assert!(matches!(
        f.check(&Action::ScaleOut { service: web }),
        Err(ActionError::ControlPlaneDown { .. })
    ));
    assert!(b.check(&Action::ScaleOut { service: web }).is_ok());
    // Running replicas are not affected: telemetry is unchanged apart from noise.
    assert_eq!(
        f.telemetry().service(0, ServiceMetric::ReplicasInRotation),
        2.0
    );
    assert!(f.apply(Action::ScaleOut { service: web }).is_err());
    assert!(b.apply(Action::ScaleOut { service: web }).is_ok());
    assert_recorded("control_plane_outage", "aws");
}

#[test]
fn bad_deploy_causes_errors_until_rollback() {
    let (mut f, b) = pair("bad_deploy", "api", 15);
    let api = svc(&f, "api");
    let e = f.telemetry().service(api, ServiceMetric::ErrorRatio);
    assert!((e - 0.3).abs() < 0.05, "error ratio {e}");
    assert_truth_worse(&f, &b);
    f.apply(Action::Rollback {
        service: mend_sim::topology::ServiceId(api as u32),
    })
    .unwrap();
    f.run_until(SimTime::from_secs(15 * 60 + 200));
    let fault = &f.truth().faults[0];
    assert_eq!(
        fault.cause,
        Some(EndCause::Repaired),
        "rollback did not end the bad deploy"
    );
    assert!(f.telemetry().service(api, ServiceMetric::ErrorRatio) < 0.02);
    assert_recorded("bad_deploy", "api");
}

#[test]
fn dependency_failure_cascades_to_callers() {
    let (f, b) = pair("dependency_failure", "db", 15);
    let web = svc(&f, "web");
    assert!(f.telemetry().service(web, ServiceMetric::ErrorRatio) > 0.95);
    assert!(b.telemetry().service(web, ServiceMetric::ErrorRatio) < 0.01);
    assert_truth_worse(&f, &b);
    assert_recorded("dependency_failure", "db");
}

#[test]
fn load_surge_multiplies_entry_load() {
    let (f, b) = pair("load_surge", "web", 15);
    let web = svc(&f, "web");
    let ratio = f.telemetry().service(web, ServiceMetric::RequestRate)
        / b.telemetry().service(web, ServiceMetric::RequestRate);
    assert!(ratio > 2.5, "ratio {ratio}");
    assert_recorded("load_surge", "web");
}

#[test]
fn retry_storm_multiplies_attempts() {
    let (f, b) = pair("retry_storm", "api", 15);
    let api = svc(&f, "api");
    let ratio = f.telemetry().service(api, ServiceMetric::RequestRate)
        / b.telemetry().service(api, ServiceMetric::RequestRate);
    assert!(ratio > 3.5, "ratio {ratio}");
    assert_truth_worse(&f, &b);
    assert_recorded("retry_storm", "api");
}

#[test]
fn every_fault_kind_has_a_test_here() {
    let source = include_str!("faults.rs");
    for kind in mend_sim::scenario::FaultKind::ALL {
        assert!(
            source.contains(&format!("pair(\"{}\"", kind.name())),
            "no test for {}",
            kind.name()
        );
    }
}

/// Regression: uptime is the share of entry-service time within SLO (it once counted only the
/// time when every entry service met its SLO at once). A 20-minute outage of tiny's single entry
/// service's region within a 60-minute run leaves its uptime near 40/60, not 0 or 1.
#[test]
fn uptime_is_the_share_of_entry_service_time_within_slo() {
    let mut sim = Simulation::new(&with_fault("region_outage", "us-east-1"), SEED);
    sim.run_to_end();
    let uptime = sim.truth().uptime();
    assert!((0.55..0.75).contains(&uptime), "uptime {uptime}");
    let mut base = Simulation::new(&Scenario::from_toml_str(TINY, "tiny.toml").unwrap(), SEED);
    base.run_to_end();
    assert!(
        base.truth().uptime() > 0.99,
        "baseline uptime {}",
        base.truth().uptime()
    );
}
