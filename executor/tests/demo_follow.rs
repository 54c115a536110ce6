//! `mend demo`'s traffic follows the live set of instances, with real demo processes: a scale-out
//! adds a load target that then gets requests, a stop removes one (no request goes to it any more),
//! through the front proxy too; and with Prometheus, a replica added by a scale-out is scraped, so
//! the executor reads its `up`. Sessions run in shadow mode (the executor only watches); the tests
//! change the instances through the actuator, as an executor action would. Every process is
//! stopped when the session is dropped, also when an assertion fails.
//!
//! The Prometheus test needs the Debian package (`.ci/prometheus.sh`); missing is a failure.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::get;
use mend_executor::actuator::Actuator;
use mend_executor::demo::session::{DemoConfig, DemoSession, SERVICE, Tick};
use mend_executor::local_prometheus::find_on_path;
use mend_executor::pipeline::Mode;

/// A scratch folder removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mend-demo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &Scratch, replicas: usize, front_proxy: bool, prometheus: bool) -> DemoConfig {
    let mut c = DemoConfig::new(
        env!("CARGO_BIN_EXE_mend-demo-service").into(),
        dir.0.clone(),
    );
    c.replicas = replicas;
    c.mode = Mode::Shadow;
    c.front_proxy = front_proxy;
    c.load.fresh_connections = front_proxy;
    c.load.rate_per_s = 60.0;
    c.prometheus = prometheus;
    c
}

/// `/` requests a replica has served, from its own `/metrics` (0 while it does not answer yet:
/// a scale-out starts a replica without waiting for it).
fn served(port: u16) -> f64 {
    let Ok((_, text)) = get(
        &format!("http://127.0.0.1:{port}/metrics"),
        Duration::from_secs(2),
    ) else {
        return 0.0;
    };
    text.lines()
        .find(|l| l.starts_with("mend_demo_requests_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no request counter on :{port}:\n{text}"))
}

fn ports(session: &mut DemoSession) -> Vec<u16> {
    session.executor().ports()[SERVICE].clone()
}

/// Waits until replica `port` has served at least `n` requests more than `before`.
fn gets_requests(port: u16, before: f64, n: f64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if served(port) >= before + n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn load_targets_follow_a_scale_out_and_a_stop_without_a_proxy() {
    let dir = Scratch::new("follow-direct");
    let mut session = DemoSession::start(&config(&dir, 2, false, false)).unwrap();
    let initial = ports(&mut session);
    assert_eq!(session.targets().load, initial);
    assert_eq!(session.load().targets(), initial);
    assert_eq!(session.follow().unwrap(), None, "nothing changed yet");

    // Scale-out: the new replica becomes a target and gets its share of the requests.
    session.executor().actuator().scale_to(SERVICE, 3).unwrap();
    let change = session
        .follow()
        .unwrap()
        .expect("a scale-out changes the targets");
    let after = ports(&mut session);
    assert_eq!(after.len(), 3);
    assert_eq!(change.before.load, initial);
    assert_eq!(change.after.load, after);
    assert_eq!(session.load().targets(), after);
    assert_eq!(change.after.scrape.len(), 3);
    let new = after[2];
    assert!(gets_requests(new, 0.0, 10.0), "web-2 got no requests");

    // Stop: the stopped replica is no target any more, and no request fails on it.
    session
        .executor()
        .actuator()
        .stop(SERVICE, Some(0))
        .unwrap();
    let change = session
        .follow()
        .unwrap()
        .expect("a stop changes the targets");
    assert_eq!(change.after.load, after[1..].to_vec());
    assert_eq!(
        change.after.scrape.len(),
        3,
        "a stopped replica is still scraped (up 0)"
    );
    // At most the requests in flight when the targets changed may fail.
    std::thread::sleep(Duration::from_millis(300));
    let (r0, e0) = session.load().counts();
    std::thread::sleep(Duration::from_secs(1));
    let (r1, e1) = session.load().counts();
    assert!(r1 >= r0 + 20, "load went on: {r0} -> {r1}");
    assert_eq!(e1, e0, "requests failed after the stop: {e0} -> {e1}");

    let finished = session.finish().unwrap();
    assert!(finished.audit.records >= 1);
}

#[test]
fn through_the_front_proxy_a_replica_added_by_a_scale_out_gets_requests() {
    let dir = Scratch::new("follow-proxy");
    let mut session = DemoSession::start(&config(&dir, 2, true, false)).unwrap();
    let front = session.targets().load.clone();
    assert_eq!(front.len(), 1, "the load goes to the proxy only");
    assert!(!ports(&mut session).contains(&front[0]));
    let initial = ports(&mut session);
    assert!(gets_requests(initial[0], 0.0, 5.0));
    assert!(gets_requests(initial[1], 0.0, 5.0));

    session.executor().actuator().scale_to(SERVICE, 3).unwrap();
    let change = session
        .follow()
        .unwrap()
        .expect("Prometheus' targets change");
    assert_eq!(change.after.load, front, "the load stays on the proxy");
    let new = ports(&mut session)[2];
    assert!(
        gets_requests(new, 0.0, 10.0),
        "the proxy sent nothing to web-2"
    );
    session.finish().unwrap();
}

/// Steps the session until `ok` holds for an iteration (at most 30 s).
fn step_until(session: &mut DemoSession, what: &str, ok: impl Fn(&Tick) -> bool) {
    let start = Instant::now();
    loop {
        let tick = session.step().unwrap();
        if ok(&tick) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: not within 30 s; last readings {:?}",
            tick.report.readings.replica
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn with_prometheus_a_replica_added_by_a_scale_out_is_scraped() {
    assert!(
        find_on_path("prometheus").is_some(),
        "this test needs Prometheus: run .ci/prometheus.sh"
    );
    let dir = Scratch::new("follow-prometheus");
    let mut session = DemoSession::start(&config(&dir, 2, true, true)).unwrap();
    step_until(&mut session, "both replicas up", |tick| {
        (0..2).all(|r| tick.report.readings.replica_up(SERVICE, r))
    });
    session.executor().actuator().scale_to(SERVICE, 3).unwrap();
    step_until(&mut session, "web-2 up in Prometheus", |tick| {
        tick.report.readings.replica_up(SERVICE, 2)
    });
    let finished = session.finish().unwrap();
    assert!(finished.audit.decisions >= 2);
}
