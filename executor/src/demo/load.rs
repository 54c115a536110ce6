//! A steady request load on the demo replicas, measured from the client side, so live service rows
//! carry request rate, errors and latency as the simulator's do (issue 7, the fault drill).
//!
//! [`LoadGenerator`] runs `workers` threads that send `GET /` to the targets in round-robin, as a
//! front proxy without health checks would, each paced to `rate / workers` requests per second
//! (closed loop: a worker waits for its answer, or for the client timeout, before its next
//! request). Every request is counted as the client saw it: a transport error (connection refused
//! by a killed replica), a timeout (a hung one) or an HTTP status >= 500 is an error, and its
//! latency is the time until the answer or the failure. So with one of three replicas down, about
//! a third of the requests fail, as in the simulator's `default` scenario.
//!
//! The counts are served on `http://127.0.0.1:<port>/metrics` in the demo service's exposition
//! format ([`super::metrics::render`], service label `load`), for Prometheus to scrape as its own
//! job. Threads stop, and the listener closes, on [`LoadGenerator::stop`] or drop.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::DemoError;
use super::faults::Faults;
use super::metrics::{Counters, render};

/// How the load is shaped.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSettings {
    /// Total requests per second over all workers (when every answer is prompt).
    pub rate_per_s: f64,
    /// Concurrent clients.
    pub workers: usize,
    /// Client timeout of one request (a hung replica costs this much per request).
    pub timeout: Duration,
    /// Open a new connection for every request (`Connection: close`) instead of keeping one per
    /// target. Needed behind a front proxy, which balances connections, not requests: a kept
    /// connection would stay on one replica, and a replica added by a scale-out would get nothing.
    pub fresh_connections: bool,
}

impl Default for LoadSettings {
    /// 30 requests/s from 3 clients, 500 ms timeout, connections kept.
    fn default() -> Self {
        LoadSettings {
            rate_per_s: 30.0,
            workers: 3,
            timeout: Duration::from_millis(500),
            fresh_connections: false,
        }
    }
}

/// State shared by the workers and the metrics listener.
#[derive(Debug, Default)]
struct Shared {
    counters: Mutex<Counters>,
    targets: Mutex<Vec<u16>>,
    next: AtomicUsize,
    stop: AtomicBool,
}

/// A running load generator (see the module doc). Stopped on drop.
pub struct LoadGenerator {
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
    port: u16,
}

impl std::fmt::Debug for LoadGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadGenerator")
            .field("port", &self.port)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl LoadGenerator {
    /// Starts the workers on the loopback `targets` (ports) and the metrics listener on a free
    /// loopback port.
    pub fn start(targets: &[u16], settings: &LoadSettings) -> Result<Self, DemoError> {
        let addr = "127.0.0.1:0";
        let server = tiny_http::Server::http(addr).map_err(|e| DemoError::Bind {
            addr: addr.to_owned(),
            message: e.to_string(),
        })?;
        let port = server.server_addr().to_ip().map_or(0, |a| a.port());
        let server = Arc::new(server);
        let shared = Arc::new(Shared::default());
        *shared
            .targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = targets.to_vec();
        let mut threads = Vec::new();
        let workers = settings.workers.max(1);
        let period = Duration::from_secs_f64(workers as f64 / settings.rate_per_s.max(0.1));
        for _ in 0..workers {
            let shared = Arc::clone(&shared);
            let settings = settings.clone();
            threads.push(std::thread::spawn(move || {
                worker(&shared, period, &settings)
            }));
        }
        {
            let (shared, server) = (Arc::clone(&shared), Arc::clone(&server));
            threads.push(std::thread::spawn(move || serve_metrics(&shared, &server)));
        }
        Ok(LoadGenerator {
            shared,
            server,
            threads,
            port,
        })
    }

    /// Port of the `/metrics` listener.
    pub fn metrics_port(&self) -> u16 {
        self.port
    }

    /// Replaces the targets (e.g. after a scale out).
    pub fn set_targets(&self, targets: &[u16]) {
        *self
            .shared
            .targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = targets.to_vec();
    }

    /// The ports requests go to now.
    pub fn targets(&self) -> Vec<u16> {
        self.shared
            .targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every counter so far (requests, errors, latency histogram), as the metrics listener serves
    /// them.
    pub fn counters(&self) -> Counters {
        self.shared
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Requests and errors counted so far.
    pub fn counts(&self) -> (u64, u64) {
        let c = self
            .shared
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (c.requests, c.errors)
    }

    /// Stops the workers and the listener and waits for them (at most one client timeout).
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for LoadGenerator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One client: round-robin over the targets, paced to one request per `period`.
fn worker(shared: &Shared, period: Duration, settings: &LoadSettings) {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(settings.timeout))
        .http_status_as_error(false);
    if settings.fresh_connections {
        config = config.max_idle_connections(0);
    }
    let agent: ureq::Agent = config.build().into();
    let mut next = Instant::now();
    while !shared.stop.load(Ordering::SeqCst) {
        let target = {
            let targets = shared
                .targets
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if targets.is_empty() {
                None
            } else {
                let i = shared.next.fetch_add(1, Ordering::SeqCst) % targets.len();
                Some(targets[i])
            }
        };
        if let Some(port) = target {
            let start = Instant::now();
            let mut request = agent.get(&format!("http://127.0.0.1:{port}/"));
            if settings.fresh_connections {
                request = request.header("Connection", "close");
            }
            let failed = match request.call() {
                Ok(mut response) => {
                    // Read the body so the connection can be reused.
                    let _ = response.body_mut().read_to_string();
                    response.status().as_u16() >= 500
                }
                Err(_) => true,
            };
            shared
                .counters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .observe(start.elapsed().as_secs_f64(), failed);
        }
        // Closed loop: after a slow answer, start again from now rather than bursting.
        next = (next + period).max(Instant::now());
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// Serves `/metrics` until the server is unblocked.
fn serve_metrics(shared: &Shared, server: &tiny_http::Server) {
    for request in server.incoming_requests() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let (status, body) = if request.url().split('?').next() == Some("/metrics") {
            let c = shared
                .counters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            (200, render("load", &c, &Faults::default(), 0, 0))
        } else {
            (404, "not found\n".to_owned())
        };
        let _ = request.respond(tiny_http::Response::from_string(body).with_status_code(status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(text: &str, name: &str) -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    fn scrape(port: u16) -> String {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        agent
            .get(&format!("http://127.0.0.1:{port}/metrics"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    #[test]
    fn counts_answers_and_refused_connections_as_the_client_sees_them() {
        let demo = super::super::DemoServer::bind("127.0.0.1:0", "w-0").unwrap();
        let up = demo.port();
        // The demo server runs until the test process ends.
        std::thread::spawn(move || demo.run());
        // A port nobody listens on: every request to it is refused.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = LoadSettings {
            rate_per_s: 100.0,
            workers: 2,
            timeout: Duration::from_millis(500),
            fresh_connections: false,
        };
        let mut load = LoadGenerator::start(&[up, closed], &settings).unwrap();
        std::thread::sleep(Duration::from_millis(600));
        let text = scrape(load.metrics_port());
        let requests = metric(&text, "mend_demo_requests_total");
        let errors = metric(&text, "mend_demo_errors_total");
        assert!(requests >= 10.0, "{text}");
        // Round robin over one live and one closed port: about half fail.
        let ratio = errors / requests;
        assert!((0.3..=0.7).contains(&ratio), "error ratio {ratio}\n{text}");
        load.set_targets(&[up]);
        let (r0, e0) = load.counts();
        std::thread::sleep(Duration::from_millis(400));
        let (r1, e1) = load.counts();
        assert!(r1 > r0);
        // At most the one request in flight when the targets changed may still fail.
        assert!(e1 - e0 <= settings.workers as u64, "{e0} -> {e1}");
        load.stop();
        let (r2, _) = load.counts();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(load.counts().0, r2, "stopped");
    }
}
