//! The front proxy: it forwards to its backends round-robin, skips a backend that is down, and
//! fail over switches it: a client of the front port that got errors from a broken service is
//! served by the standby after the local actuator's fail over, on the same port.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use mend_executor::actuator::{Actuator, LocalProcessActuator, ServiceSpec};
use mend_executor::decision::{Action, ActionKind};
use mend_executor::proxy::FrontProxy;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A backend that answers every connection with `name` and closes it.
fn backend(name: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let mut buf = [0u8; 64];
            let n = c.read(&mut buf).unwrap_or(0);
            let _ =
                c.write_all(format!("{name}:{}", String::from_utf8_lossy(&buf[..n])).as_bytes());
        }
    });
    port
}

fn ask(port: u16, text: &str) -> String {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(text.as_bytes()).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}

#[test]
fn forwards_round_robin_skips_dead_backends_and_switches() {
    let (a, b, c) = (backend("a"), backend("b"), backend("c"));
    let dead = common::closed_port();
    let proxy = FrontProxy::start(0, vec![a, dead, b]).unwrap();
    let mut seen: Vec<String> = (0..6).map(|i| ask(proxy.port(), &i.to_string())).collect();
    // bytes go both ways unchanged
    assert!(
        seen.iter()
            .enumerate()
            .all(|(i, s)| s.ends_with(&format!(":{i}"))),
        "{seen:?}"
    );
    seen.sort();
    seen.dedup_by(|x, y| x[..1] == y[..1]);
    assert_eq!(
        seen.iter().map(|s| &s[..1]).collect::<Vec<_>>(),
        vec!["a", "b"],
        "both live backends used, the dead one skipped"
    );
    proxy.set_backends(vec![c]);
    assert_eq!(proxy.backends(), vec![c]);
    for _ in 0..3 {
        assert_eq!(ask(proxy.port(), "x"), "c:x");
    }
    assert_eq!(proxy.accepted(), 9);
    // no backend at all: the client is closed, nothing hangs
    proxy.set_backends(vec![dead]);
    assert_eq!(ask(proxy.port(), "y"), "");
}

fn spec(name: &str, replicas: usize, front_port: Option<u16>) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        command: env!("CARGO_BIN_EXE_mend-demo-service").into(),
        args: ["--port", "{port}", "--name", "{service}-{replica}"]
            .map(String::from)
            .to_vec(),
        base_port: 0,
        replicas,
        stop_grace_ms: 1000,
        health_path: "/healthz".into(),
        front_port,
    }
}

#[test]
fn fail_over_switches_the_front_proxy_to_the_standby() {
    let mut act =
        LocalProcessActuator::new("t", vec![spec("web", 2, Some(0)), spec("standby", 1, None)])
            .unwrap();
    act.start("web", None).unwrap();
    let timeout = Duration::from_secs(10);
    for r in 0..2 {
        act.wait_until_healthy("web", r, timeout).unwrap();
    }
    let front = act.front_port("web").unwrap();
    let url = format!("http://127.0.0.1:{front}/");
    let get = |url: &str| common::get(url, Duration::from_secs(5)).unwrap().0;
    assert_eq!(get(&url), 200);

    // one replica killed: the proxy skips it, every request still succeeds
    let status = act.status("web").unwrap();
    let pid = status[0].pid.unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..4 {
        assert_eq!(get(&url), 200);
    }

    // the service breaks (every request an error), seen through the front port
    for s in &status {
        let _ = common::get(
            &format!("http://127.0.0.1:{}/fault/errors?ratio=1", s.port),
            Duration::from_secs(2),
        );
    }
    assert_eq!(get(&url), 500);

    let action = Action {
        namespace: "t".into(),
        service: "web".into(),
        kind: ActionKind::FailOver {
            to: "standby".into(),
        },
    };
    act.apply(&action).unwrap();
    act.verify(&action, timeout).unwrap();
    let standby_ports: Vec<u16> = act
        .status("standby")
        .unwrap()
        .iter()
        .map(|s| s.port)
        .collect();
    assert_eq!(
        act.front_backends("web"),
        Some(("standby".to_owned(), standby_ports))
    );
    for _ in 0..3 {
        assert_eq!(get(&url), 200, "served by the standby on the same port");
    }
    assert!(act.status("web").unwrap().iter().all(|s| s.pid.is_none()));
    act.shutdown().unwrap();
}
