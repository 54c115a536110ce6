//! The front proxy of the local-process actuator: a small TCP proxy on a loopback port that
//! spreads connections round-robin over a set of backend ports, skipping backends that refuse the
//! connection (a balancer's passive health check). Fail over switches which backends it uses
//! ([`FrontProxy::set_backends`]); clients keep talking to the same port.
//!
//! One thread accepts (a non-blocking listener polled every 10 ms, so that dropping the proxy stops
//! it promptly); each connection gets two copying threads, one per direction, ended by either side
//! closing or by [`IDLE_TIMEOUT`] without traffic. It proxies bytes, not HTTP: any TCP service works.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long a proxied connection may stay silent before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting to one backend may take before the next is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// A running front proxy; stopped on drop.
#[derive(Debug)]
pub struct FrontProxy {
    port: u16,
    backends: Arc<Mutex<Vec<u16>>>,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl FrontProxy {
    /// Listens on `127.0.0.1:port` (0: a free port) and forwards to `127.0.0.1:<backend>`.
    pub fn start(port: u16, backends: Vec<u16>) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let backends = Arc::new(Mutex::new(backends));
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (b, s, a) = (backends.clone(), stop.clone(), accepted.clone());
        let thread = thread::Builder::new()
            .name(format!("front-proxy-{port}"))
            .spawn(move || accept_loop(&listener, &b, &s, &a))?;
        Ok(FrontProxy {
            port,
            backends,
            stop,
            accepted,
            thread: Some(thread),
        })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends new connections to `backends` from now on (connections in flight are left alone).
    pub fn set_backends(&self, backends: Vec<u16>) {
        *self.backends.lock().unwrap_or_else(PoisonError::into_inner) = backends;
    }

    /// The backend ports new connections go to.
    pub fn backends(&self) -> Vec<u16> {
        self.backends
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for FrontProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    backends: &Mutex<Vec<u16>>,
    stop: &AtomicBool,
    accepted: &AtomicUsize,
) {
    let mut next = 0usize;
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let n = accepted.fetch_add(1, Ordering::Relaxed);
                let ports = backends
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                next = next.wrapping_add(1);
                let start = next;
                let _ = thread::Builder::new()
                    .name(format!("front-proxy-conn-{n}"))
                    .spawn(move || serve(client, &ports, start));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Connects `client` to the first backend (from index `start`, round-robin) that accepts, then
/// copies both ways until either side closes. With no backend reachable, the client is closed.
fn serve(client: TcpStream, ports: &[u16], start: usize) {
    let _ = client.set_nonblocking(false);
    let backend = (0..ports.len()).find_map(|i| {
        let port = ports[(start + i) % ports.len()];
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), CONNECT_TIMEOUT).ok()
    });
    let Some(backend) = backend else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    for s in [&client, &backend] {
        let _ = s.set_read_timeout(Some(IDLE_TIMEOUT));
        let _ = s.set_nodelay(true);
    }
    let (Ok(client2), Ok(backend2)) = (client.try_clone(), backend.try_clone()) else {
        return;
    };
    let upstream = thread::spawn(move || pipe(client2, backend2));
    pipe(backend, client);
    let _ = upstream.join();
}

/// Copies `from` to `to` until end of stream, error or idle timeout, then closes `to` for
/// writing (the peer sees end of stream) and `from` for reading.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
