//! The demo workload: a small HTTP service with Prometheus metrics and fault switches, so that
//! anyone can watch the executor heal something on their own machine.
//!
//! Routes: `/` (a little CPU work), `/healthz`, `/metrics` (exposition format, see
//! [`metrics::render`]), and the fault switches `/fault/crash`, `/fault/hang`, `/fault/leak`,
//! `/fault/slow`, `/fault/errors`, `/fault/clear` (parameters in [`faults::FaultRequest`]).
//! Requests are served one at a time, so a hang blocks `/healthz` too, as a real hang does.
//! The binary `mend-demo-service` wraps [`DemoServer`]; [`load::LoadGenerator`] drives a steady
//! request load at the replicas and counts what the clients saw.
//!
//! `mend demo` is built from the rest: [`session::DemoSession`] starts the replicas, the load,
//! Prometheus and the executor; [`follow`] keeps the load and Prometheus on the live set of
//! instances; [`script`] injects faults and times their healing; [`narrate`] writes what the
//! executor sees and does, reading its decisions back from the audit log ([`audit_tail`]).

pub mod audit_tail;
pub mod faults;
pub mod follow;
pub mod load;
pub mod metrics;
pub mod narrate;
pub mod script;
pub mod session;

use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use faults::{FaultRequest, Faults, request_fails};
use metrics::Counters;

/// Errors of the demo service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The listening socket could not be bound.
    #[error("demo service: cannot listen on {addr}: {message}")]
    Bind {
        /// Address asked for.
        addr: String,
        /// The OS error.
        message: String,
    },
}

/// State shared by the request loop and the leak thread.
#[derive(Debug, Default)]
struct Shared {
    counters: Counters,
    faults: Faults,
    leaked: Vec<Vec<u8>>,
}

impl Shared {
    fn leaked_bytes(&self) -> u64 {
        self.leaked.iter().map(|b| b.len() as u64).sum()
    }
}

/// A bound demo service, ready to [`run`](DemoServer::run).
pub struct DemoServer {
    server: tiny_http::Server,
    name: String,
    port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl std::fmt::Debug for DemoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoServer")
            .field("name", &self.name)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl DemoServer {
    /// Binds `addr` (`127.0.0.1:0` picks a free port). `name` labels every metric (`service`).
    pub fn bind(addr: &str, name: &str) -> Result<Self, DemoError> {
        let server = tiny_http::Server::http(addr).map_err(|e| DemoError::Bind {
            addr: addr.to_owned(),
            message: e.to_string(),
        })?;
        let port = server.server_addr().to_ip().map_or(0, |a| a.port());
        Ok(DemoServer {
            server,
            name: name.to_owned(),
            port,
            shared: Arc::default(),
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves requests until the process ends (crash fault, signal or kill).
    pub fn run(self) {
        let leaker = Arc::clone(&self.shared);
        thread::spawn(move || leak_loop(&leaker));
        for request in self.server.incoming_requests() {
            let url = request.url().to_owned();
            let (status, body, after) = self.route(&url);
            let response = tiny_http::Response::from_string(body).with_status_code(status);
            // A client that went away is not the service's problem.
            let _ = request.respond(response);
            match after {
                After::Nothing => {}
                After::Crash => std::process::exit(70),
                After::Hang => loop {
                    thread::sleep(Duration::from_secs(3600));
                },
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn route(&self, url: &str) -> (u16, String, After) {
        let path = url.split('?').next().unwrap_or("");
        match path {
            "/" => self.work(),
            "/healthz" => (200, "ok\n".into(), After::Nothing),
            "/metrics" => {
                let rss = metrics::resident_memory_bytes();
                let s = self.lock();
                let text =
                    metrics::render(&self.name, &s.counters, &s.faults, s.leaked_bytes(), rss);
                (200, text, After::Nothing)
            }
            _ => match url.strip_prefix("/fault/") {
                Some(rest) => match FaultRequest::parse(rest) {
                    Ok(fault) => self.switch(fault),
                    Err(message) => (400, format!("{message}\n"), After::Nothing),
                },
                None => (404, "not found\n".into(), After::Nothing),
            },
        }
    }

    /// `/`: hashes 64 KiB (about a millisecond of CPU), plus the slow and error faults.
    fn work(&self) -> (u16, String, After) {
        let start = Instant::now();
        let (slow_ms, fails) = {
            let s = self.lock();
            (
                s.faults.slow_ms,
                request_fails(s.counters.requests, s.faults.error_ratio),
            )
        };
        let digest = Sha256::digest(vec![0x5a_u8; 64 * 1024]);
        thread::sleep(Duration::from_millis(slow_ms));
        self.lock()
            .counters
            .observe(start.elapsed().as_secs_f64(), fails);
        if fails {
            (500, "injected error\n".into(), After::Nothing)
        } else {
            (
                200,
                format!("ok {}\n", hex::encode(&digest[..4])),
                After::Nothing,
            )
        }
    }

    fn switch(&self, fault: FaultRequest) -> (u16, String, After) {
        let mut s = self.lock();
        let after = match fault {
            FaultRequest::Crash => After::Crash,
            FaultRequest::Hang => After::Hang,
            FaultRequest::Leak { mib_per_s, max_mib } => {
                s.faults.leak_mib_per_s = mib_per_s;
                s.faults.leak_max_mib = max_mib;
                After::Nothing
            }
            FaultRequest::Slow { ms } => {
                s.faults.slow_ms = ms;
                After::Nothing
            }
            FaultRequest::Errors { ratio } => {
                s.faults.error_ratio = ratio;
                After::Nothing
            }
            FaultRequest::Clear => {
                s.faults = Faults::default();
                s.leaked = Vec::new();
                After::Nothing
            }
        };
        (200, format!("fault {fault:?} on\n"), after)
    }
}

/// What the request loop does after answering.
enum After {
    Nothing,
    Crash,
    Hang,
}

/// Every 100 ms, leaks a tenth of the configured rate (touched, so it is resident), up to the cap.
fn leak_loop(shared: &Mutex<Shared>) {
    loop {
        thread::sleep(Duration::from_millis(100));
        let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
        let step = s.faults.leak_mib_per_s * 1024 * 1024 / 10;
        if step > 0 && s.leaked_bytes() + step <= s.faults.leak_max_mib * 1024 * 1024 {
            s.leaked.push(vec![0xa5; step as usize]);
        }
    }
}
