//! Telemetry: named samples with labels, noise that is seeded, and scrapes at the interval.

use mend_sim::telemetry::{EntityKind, ReplicaMetric, ServiceMetric};
use mend_sim::time::SimTime;
use mend_sim::{Scenario, Simulation};

#[test]
fn samples_carry_prometheus_names_and_labels() {
    let s = Scenario::builtin("tiny").unwrap();
    let mut sim = Simulation::new(&s, 3);
    sim.run_until(SimTime::from_secs(60));
    let topo = sim.topology();
    let samples: Vec<_> = sim.telemetry().samples(topo).collect();
    // 6 replicas x 7 metrics + 6 nodes x 4 + 3 services x 5.
    assert_eq!(samples.len(), 6 * 7 + 6 * 4 + 3 * 5);
    let up_web0 = samples
        .iter()
        .find(|x| x.metric == "up" && x.labels.name == "web-0")
        .expect("up{instance=web-0}");
    assert_eq!(up_web0.labels.entity, EntityKind::Replica);
    assert_eq!(up_web0.labels.service, Some("web"));
    assert!(up_web0.labels.zone.starts_with("us-east-1"));
    assert_eq!(up_web0.value, 1.0);
    for name in [
        "cpu_utilization",
        "memory_bytes",
        "memory_utilization",
        "request_rate",
        "error_ratio",
        "latency_p99_seconds",
        "disk_utilization",
        "replication_lag_seconds",
    ] {
        assert!(samples.iter().any(|x| x.metric == name), "no {name}");
    }
}

#[test]
fn scrapes_happen_at_the_interval_and_noise_is_seeded() {
    let s = Scenario::builtin("tiny").unwrap();
    let run = |seed| {
        let mut sim = Simulation::new(&s, seed);
        sim.run_until(SimTime::from_secs(40));
        (
            sim.telemetry().time,
            sim.telemetry().replica(0, ReplicaMetric::CpuUtilization),
        )
    };
    let (time, a) = run(1);
    assert_eq!(time, SimTime::from_secs(30), "scrape interval is 15 s");
    assert_eq!(a, run(1).1);
    assert_ne!(a, run(2).1);
}

#[test]
fn service_request_rate_follows_the_entry_rate() {
    let s = Scenario::builtin("tiny").unwrap();
    let mut sim = Simulation::new(&s, 9);
    sim.run_until(SimTime::from_secs(300));
    let web = sim.telemetry().service(0, ServiceMetric::RequestRate);
    // 150 rps x (1 + 0.3 cos(2 pi (0 - 14 h) / 24 h)) = about 124 rps at midnight, +- noise.
    assert!((web - 124.0).abs() < 20.0, "web rate {web}");
}
