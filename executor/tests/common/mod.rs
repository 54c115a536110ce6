//! Helpers shared by the integration tests: a demo-service child that is always killed, and a
//! plain HTTP GET.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `mend-demo-service` child, killed and reaped on drop (also when a test panics).
#[derive(Debug)]
pub struct DemoProcess {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
}

impl DemoProcess {
    /// Starts the demo service on a free loopback port and waits for its `listening on` line.
    pub fn start(name: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mend-demo-service"))
            .args(["--port", "0", "--name", name])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn mend-demo-service");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        // Construct the guard before anything can panic, so the child is always killed.
        let mut guard = DemoProcess { child, port: 0 };
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        guard.port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        guard
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Exit status if the child has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `url` with a timeout: `Ok((status, body))`, or `Err` on a transport error or timeout.
pub fn get(url: &str, timeout: Duration) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// A tiny HTTP server for tests: answers each request with the next scripted
/// `(status, body, delay)` (repeating the last one) and records the request URLs. Stopped on drop.
pub struct ScriptedServer {
    server: std::sync::Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The loopback port it listens on.
    pub port: u16,
}

impl ScriptedServer {
    /// Starts serving `script` on a free loopback port.
    pub fn start(script: Vec<(u16, String, Duration)>) -> Self {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().expect("ip listener").port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, r) = (server.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            for (i, request) in s.incoming_requests().enumerate() {
                r.lock().unwrap().push(request.url().to_owned());
                let (status, body, delay) = script[i.min(script.len() - 1)].clone();
                std::thread::sleep(delay);
                let _ = request
                    .respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
        });
        ScriptedServer {
            server,
            thread: Some(thread),
            requests,
            port,
        }
    }

    /// URLs requested so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback port on which nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
