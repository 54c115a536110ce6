//! The local-process actuator against real demo-service processes. The actuator kills and reaps
//! its children on drop, so every process a test starts is stopped even when the test fails.

mod common;

use std::time::Duration;

use common::get;
use mend_executor::actuator::{Actuator, ActuatorError, LocalProcessActuator, ServiceSpec};
use mend_executor::decision::{Action, ActionKind};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const HEALTHY_WITHIN: Duration = Duration::from_secs(10);

fn demo_spec(name: &str, replicas: usize) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        command: env!("CARGO_BIN_EXE_mend-demo-service").into(),
        args: ["--port", "{port}", "--name", "{service}-{replica}"]
            .map(String::from)
            .to_vec(),
        base_port: 0,
        replicas,
        stop_grace_ms: 2000,
        health_path: "/healthz".into(),
        front_port: None,
    }
}

fn signal(pid: u32, sig: Signal) {
    kill(Pid::from_raw(pid as i32), sig).unwrap();
}

fn process_exists(pid: u32) -> bool {
    kill(Pid::from_raw(pid as i32), None).is_ok()
}

fn healthz(port: u16, timeout: Duration) -> Result<(u16, String), String> {
    get(&format!("http://127.0.0.1:{port}/healthz"), timeout)
}

fn restart(service: &str, replica: usize) -> Action {
    Action {
        namespace: "local".into(),
        service: service.into(),
        kind: ActionKind::Restart {
            replica: Some(replica),
        },
    }
}

#[test]
fn three_instances_one_killed_with_sigkill_is_restarted_and_serves_again() {
    let mut act = LocalProcessActuator::new("local", vec![demo_spec("web", 3)]).unwrap();
    act.start_all().unwrap();
    for r in 0..3 {
        act.wait_until_healthy("web", r, HEALTHY_WITHIN).unwrap();
    }
    let before: Vec<_> = act.status("web").unwrap();
    let ports: std::collections::BTreeSet<u16> = before.iter().map(|s| s.port).collect();
    assert_eq!(ports.len(), 3, "distinct ports: {before:?}");

    // kill -9 from outside, as an operator or the OOM killer would.
    let victim = before[1].pid.unwrap();
    signal(victim, Signal::SIGKILL);
    let port = before[1].port;
    let mut reaped = false;
    for _ in 0..250 {
        if act.status("web").unwrap()[1].last_exit.is_some() {
            reaped = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(reaped, "the killed child was not reaped");
    assert_eq!(act.status("web").unwrap()[1].pid, None);
    assert!(
        healthz(port, Duration::from_millis(500)).is_err(),
        "a killed instance answered"
    );

    act.apply(&restart("web", 1)).unwrap();
    act.verify(&restart("web", 1), HEALTHY_WITHIN).unwrap();
    assert_eq!(
        healthz(port, Duration::from_secs(2)).unwrap().0,
        200,
        "same port after restart"
    );
    let after = act.status("web").unwrap();
    assert_ne!(after[1].pid, Some(victim));
    assert_eq!(after[1].starts, 2);
    assert_eq!(
        (after[0].pid, after[2].pid),
        (before[0].pid, before[2].pid),
        "others untouched"
    );
}

#[test]
fn a_hung_instance_stopped_with_sigstop_is_restarted() {
    let mut act = LocalProcessActuator::new("local", vec![demo_spec("api", 1)]).unwrap();
    act.start_all().unwrap();
    act.wait_until_healthy("api", 0, HEALTHY_WITHIN).unwrap();
    let st = act.status("api").unwrap()[0].clone();
    signal(st.pid.unwrap(), Signal::SIGSTOP);
    assert!(
        healthz(st.port, Duration::from_millis(300)).is_err(),
        "a stopped process answered"
    );
    act.restart("api", Some(0)).unwrap();
    act.wait_until_healthy("api", 0, HEALTHY_WITHIN).unwrap();
    let now = act.status("api").unwrap()[0].clone();
    assert_ne!(now.pid, st.pid);
    assert!(
        now.last_exit.as_ref().is_some_and(|e| e.contains("15")),
        "ended by SIGTERM after SIGCONT: {now:?}"
    );
}

#[test]
fn scale_up_starts_instances_on_new_ports_and_scale_down_reaps_them() {
    let mut act = LocalProcessActuator::new("local", vec![demo_spec("web", 2)]).unwrap();
    act.start_all().unwrap();
    let scale = Action {
        namespace: "local".into(),
        service: "web".into(),
        kind: ActionKind::ScaleTo { replicas: 4 },
    };
    act.apply(&scale).unwrap();
    assert_eq!(act.replicas("web").unwrap(), 4);
    act.verify(&scale, HEALTHY_WITHIN).unwrap();
    let status = act.status("web").unwrap();
    let removed: Vec<u32> = status[1..].iter().map(|s| s.pid.unwrap()).collect();
    act.scale_to("web", 1).unwrap();
    assert_eq!(act.status("web").unwrap().len(), 1);
    for pid in removed {
        assert!(
            !process_exists(pid),
            "pid {pid} still exists after scale-down"
        );
    }
    assert!(matches!(
        act.scale_to("web", 65),
        Err(ActuatorError::InvalidSpec { .. })
    ));
}

#[test]
fn stop_start_and_fail_over_between_two_services() {
    let mut act = LocalProcessActuator::new(
        "local",
        vec![demo_spec("db", 1), demo_spec("db-standby", 1)],
    )
    .unwrap();
    act.start("db", None).unwrap();
    act.wait_until_healthy("db", 0, HEALTHY_WITHIN).unwrap();
    assert_eq!(
        act.status("db-standby").unwrap()[0].pid,
        None,
        "standby not started yet"
    );
    let fail_over = Action {
        namespace: "local".into(),
        service: "db".into(),
        kind: ActionKind::FailOver {
            to: "db-standby".into(),
        },
    };
    act.apply(&fail_over).unwrap();
    act.verify(&fail_over, HEALTHY_WITHIN).unwrap();
    assert_eq!(
        act.status("db").unwrap()[0].pid,
        None,
        "primary stopped after fail over"
    );
    let stop = Action {
        namespace: "local".into(),
        service: "db-standby".into(),
        kind: ActionKind::Stop { replica: Some(0) },
    };
    act.apply(&stop).unwrap();
    act.verify(&stop, HEALTHY_WITHIN).unwrap();
    act.start("db", Some(0)).unwrap();
    act.wait_until_healthy("db", 0, HEALTHY_WITHIN).unwrap();
    // A replica that never becomes healthy fails verification within its timeout.
    let pid = act.status("db").unwrap()[0].pid.unwrap();
    signal(pid, Signal::SIGSTOP);
    let start = Action {
        namespace: "local".into(),
        service: "db".into(),
        kind: ActionKind::Start { replica: Some(0) },
    };
    let err = act.verify(&start, Duration::from_millis(700)).unwrap_err();
    assert!(
        matches!(err, ActuatorError::Unhealthy { replica: 0, .. }),
        "{err}"
    );
}

#[test]
fn dropping_the_actuator_kills_and_reaps_every_child() {
    let pids: Vec<u32> = {
        let mut act = LocalProcessActuator::new("local", vec![demo_spec("web", 3)]).unwrap();
        act.start_all().unwrap();
        act.status("web")
            .unwrap()
            .iter()
            .map(|s| s.pid.unwrap())
            .collect()
    };
    for pid in pids {
        assert!(!process_exists(pid), "pid {pid} outlived the actuator");
    }
}

#[test]
fn bad_specs_and_targets_are_refused_with_names() {
    let mut bad = demo_spec("web", 1);
    bad.health_path = "healthz".into();
    let err = LocalProcessActuator::new("local", vec![bad])
        .unwrap_err()
        .to_string();
    assert!(err.contains("web") && err.contains("health_path"), "{err}");
    let err = LocalProcessActuator::new("local", vec![demo_spec("a", 1), demo_spec("a", 1)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("appears twice"), "{err}");
    let mut missing = demo_spec("ghost", 1);
    missing.command = "/nonexistent/mend-demo".into();
    let mut act = LocalProcessActuator::new("local", vec![missing]).unwrap();
    let err = act.start("ghost", None).unwrap_err().to_string();
    assert!(
        err.contains("ghost") && err.contains("/nonexistent/mend-demo"),
        "{err}"
    );
    assert!(matches!(
        act.restart("ghost", Some(3)),
        Err(ActuatorError::UnknownReplica { replica: 3, .. })
    ));
    assert!(matches!(
        act.apply(&restart("nope", 0)),
        Err(ActuatorError::UnknownService { .. })
    ));
}
