//! The fluid model of one tick (BRIEF §4): node and replica availability, load-balancer health
//! checks, entry traffic, load through the dependency DAG with client retries, queueing latency
//! and errors per replica, end-to-end latency and errors bottom-up, memory and leaks, replication
//! lag, ground-truth accounting and the telemetry scrape. No allocation: it only walks the flat
//! state vectors.
//!
//! Unreachable replicas still in rotation fail their share of attempts: at once when their node
//! is up and connected but the process is not running (connection refused:
//! [`CONNECT_REFUSED_SECONDS`]), at the caller's timeout when the node is down or partitioned.
//! A hung process (`process_hang`, as under `SIGSTOP`) times out too although its node is up: the
//! kernel completes TCP handshakes for a listening socket and queues them in its accept backlog
//! whether or not the process ever calls `accept` (Linux listen(2): "the backlog argument ...
//! specifies the queue length for completely established sockets waiting to be accepted"), so the
//! client connects and then waits for an answer that never comes; the balancer's health checks
//! time out the same way and eject it after `failure_threshold` of them, and the telemetry scrape
//! times out (Prometheus sets `up` to 0 when a scrape fails: "Jobs and instances", Prometheus
//! docs). The stopped process allocates nothing (a leak pauses) but keeps its resident memory on
//! its node.
//!
//! Queueing: each replica is an M/M/1 server with service rate mu = capacity and arrival rate
//! lambda = its share of attempts; utilisation rho = lambda/mu; the sojourn time is exponential
//! with mean 1/(mu - lambda) = base/(1 - rho) (L. Kleinrock, "Queueing Systems" vol. 1, 1975,
//! §3.2), so its p99 is mean * ln(100) and the share slower than a timeout T is exp(-T/mean); along
//! a call path means and variances add (see `tail`).
//! Above capacity (rho >= 1) the excess 1 - 1/rho is rejected and latency saturates (rho capped
//! at 0.99, then at the timeout). Retries (by the clients of entry services): with error ratio e
//! and k attempts, a request makes
//! 1 + e + ... + e^(k-1) attempts and fails with probability e^k, so errors amplify load
//! (metastable failure: N. Bronson et al., "Metastable Failures in Distributed Systems",
//! HotOS 2021).

use rand_distr::{Distribution, StandardNormal};

use crate::actions::OOM_RESTART;
use crate::telemetry::{NodeMetric, ReplicaMetric, ServiceMetric};
use crate::time::SimTime;
use crate::world::{RepStatus, Simulation};

/// ln(100): p99 of an exponential distribution over its mean.
const LN_100: f64 = 4.605_170_185_988_091;
/// Utilisation cap for the latency formula.
const RHO_CAP: f64 = 0.99;
/// Relative standard deviation of measurement noise on continuous metrics.
pub const TELEMETRY_NOISE: f64 = 0.02;
/// Disk use of a healthy node (share of its disk).
pub const BASE_DISK_UTILIZATION: f64 = 0.3;
/// Error ratio of a stateless replica on a full disk (logging and temp files fail).
pub const DISK_FULL_STATELESS_ERROR: f64 = 0.1;
/// Latency of an attempt refused by a live node whose process is not running: one network round
/// trip, the SYN out and the RST back (RFC 9293 §3.10.7.1: a segment to a port with no listener is
/// answered with a reset). 0.5 ms, a round trip within a data centre (J. Dean, "Designs, Lessons
/// and Advice from Building Large Distributed Systems", LADIS 2009, "Numbers everyone should know").
pub const CONNECT_REFUSED_SECONDS: f64 = 0.0005;

/// Share of requests slower than `x` for a latency with this mean and standard deviation:
/// exp(-(x - mean)/sd - 1) above the mean, which is exactly the exponential tail exp(-x/mean)
/// when sd = mean (one M/M/1 hop) and shrinks as hops add up (a sum of independent hops has
/// variance the sum of their variances, so its tail is relatively thinner).
fn tail(x: f64, mean: f64, sd: f64) -> f64 {
    if x <= mean {
        1.0
    } else {
        (-(x - mean) / sd - 1.0).exp().min(1.0)
    }
}

/// The 99th percentile under the same tail: mean + sd (ln 100 - 1).
fn p99(mean: f64, sd: f64) -> f64 {
    mean + sd * (LN_100 - 1.0)
}

/// Attempts per request with error ratio `e` and `k` attempts at most.
fn retry_factor(e: f64, k: u32) -> f64 {
    let e = e.clamp(0.0, 1.0);
    if e > 0.999_999 {
        return f64::from(k);
    }
    (1.0 - e.powi(k as i32)) / (1.0 - e)
}

impl Simulation {
    /// One fluid step covering [t, t + tick).
    pub(crate) fn step(&mut self, t: SimTime) {
        let dt = self.tick.as_secs_f64();
        let k = self.max_attempts;
        let fx = &self.effects;

        // 1. Nodes and replicas: who can serve.
        for (n, node) in self.topo.nodes.iter().enumerate() {
            let st = &mut self.node[n];
            st.up = st.crash == 0
                && !st.replacing
                && self.zone_outage[node.zone.index()] == 0
                && self.region_outage[node.region.index()] == 0;
        }
        let check = self.health_interval.0 > 0 && t.0.is_multiple_of(self.health_interval.0);
        for (r, replica) in self.topo.replicas.iter().enumerate() {
            let node = &self.topo.nodes[replica.node.index()];
            let rs = &mut self.rep[r];
            rs.reachable = rs.status == RepStatus::Active
                && rs.crash == 0
                && rs.hang == 0
                && t >= rs.down_until
                && self.node[replica.node.index()].up
                && self.zone_partition[node.zone.index()] == 0;
            // 2. Health checks of the global load balancer.
            if check && rs.status == RepStatus::Active {
                if rs.reachable {
                    rs.failed_checks = 0;
                    rs.in_rotation = true;
                } else {
                    rs.failed_checks += 1;
                    if rs.failed_checks >= self.failure_threshold {
                        rs.in_rotation = false;
                    }
                }
            }
        }

        // 3. Entry traffic (one noise draw per entry per tick, whatever the state).
        for s in &mut self.svc {
            s.demand = 0.0;
            s.external = 0.0;
        }
        let seasonal = self.traffic.seasonal(t);
        for &e in &self.topo.entries {
            let noise = self.traffic.noise_factor();
            let s = &mut self.svc[e.index()];
            let surge = if s.surge > 0 {
                fx.load_surge_multiplier
            } else {
                1.0
            };
            let rate = self.topo.services[e.index()].entry_base_rps.unwrap_or(0.0)
                * seasonal
                * noise
                * surge;
            s.external = rate;
            let shed = if s.shed_until > t {
                self.shed_ratio
            } else {
                0.0
            };
            s.demand += rate * (1.0 - shed);
        }

        // 4. Load top-down with retries (callers before callees).
        for &sid in &self.topo.topo_order {
            let s = sid.index();
            let st = &self.svc[s];
            let storm = if st.storm > 0 {
                fx.retry_storm_multiplier
            } else {
                1.0
            };
            // Clients of entry services retry; internal calls do not (a retry at every hop would
            // multiply attempts by k per level of the DAG).
            let retries = if self.topo.services[s].entry_base_rps.is_some() {
                retry_factor(st.err_total, k)
            } else {
                1.0
            };
            let attempts = st.demand * retries * storm;
            self.svc[s].attempts = attempts;
            let calls = self.topo.services[s].calls_per_request;
            for &d in &self.topo.services[s].depends_on {
                self.svc[d.index()].demand += attempts * calls;
            }
        }

        // 5. Each service's own latency and errors, replica by replica.
        for (s, service) in self.topo.services.iter().enumerate() {
            let st = &self.svc[s];
            let stateful = service.replication.is_some();
            let mut extra_ok = 1.0;
            if st.bad_deploy > 0 {
                extra_ok *= 1.0 - fx.bad_deploy_error_ratio;
            }
            if st.packet_loss > 0 {
                extra_ok *= 1.0 - fx.packet_loss_ratio;
            }
            if st.dep_failure > 0 {
                extra_ok = 0.0;
            }
            let in_rot = st
                .replicas
                .iter()
                .filter(|r| {
                    self.rep[r.index()].in_rotation
                        && self.rep[r.index()].status == RepStatus::Active
                })
                .count() as u32;
            let share = if in_rot > 0 {
                st.attempts / f64::from(in_rot)
            } else {
                0.0
            };
            let (mut sum_err, mut sum_mean) = (0.0, 0.0);
            for &r in &st.replicas {
                let rs = &mut self.rep[r.index()];
                if rs.status != RepStatus::Active || !rs.in_rotation {
                    rs.load_rps = 0.0;
                    rs.err = 0.0;
                    rs.cpu_util = 0.0;
                    rs.mean_latency = 0.0;
                    continue;
                }
                rs.load_rps = share;
                let node_id = self.topo.replicas[r.index()].node.index();
                if !rs.reachable {
                    // Still in rotation until the health checks notice: its share fails, and how
                    // fast depends on why. A live, connected node whose process is not running
                    // (crashed, OOM-killed, restarting) refuses the connection at once; a node
                    // that is down or cut off, or a hung process, answers nothing, and the client
                    // waits its timeout.
                    let zone = self.topo.nodes[node_id].zone.index();
                    let refused =
                        !rs.hung(t) && self.node[node_id].up && self.zone_partition[zone] == 0;
                    rs.err = 1.0;
                    rs.mean_latency = if refused {
                        CONNECT_REFUSED_SECONDS
                    } else {
                        service.timeout_seconds
                    };
                    rs.cpu_util = 0.0;
                } else {
                    let node = &self.node[node_id];
                    let cores = self.topo.nodes[node_id].cpu_cores;
                    let contention = if node.cpu_demand > cores {
                        cores / node.cpu_demand
                    } else {
                        1.0
                    };
                    let cap = service.capacity_rps * contention;
                    let rho = share / cap;
                    let overload = if rho > 1.0 { 1.0 - 1.0 / rho } else { 0.0 };
                    let disk = if node.disk_full > 0 {
                        if stateful {
                            1.0
                        } else {
                            DISK_FULL_STATELESS_ERROR
                        }
                    } else {
                        0.0
                    };
                    rs.err = 1.0 - (1.0 - overload) * extra_ok * (1.0 - disk);
                    rs.mean_latency = (service.base_latency_seconds / (1.0 - rho.min(RHO_CAP)))
                        .min(service.timeout_seconds);
                    rs.cpu_util = rho.min(1.0);
                }
                sum_err += rs.err;
                sum_mean += rs.mean_latency;
            }
            let st = &mut self.svc[s];
            st.in_rotation = in_rot;
            if in_rot == 0 {
                st.err_own = 1.0;
                st.mean_own = service.timeout_seconds;
            } else {
                st.err_own = sum_err / f64::from(in_rot);
                let delay = if st.net_delay > 0 {
                    fx.network_delay_seconds
                } else {
                    0.0
                };
                st.mean_own = sum_mean / f64::from(in_rot) + delay;
            }
        }

        // 6. End-to-end latency and errors bottom-up (callees before callers).
        for &sid in self.topo.topo_order.iter().rev() {
            let s = sid.index();
            let service = &self.topo.services[s];
            let (mut dep_mean, mut dep_var, mut dep_success) = (0.0, 0.0, 1.0);
            for &d in &service.depends_on {
                let ds = &self.svc[d.index()];
                dep_mean += service.calls_per_request * ds.mean_total;
                dep_var += service.calls_per_request * ds.sd_total * ds.sd_total;
                // calls <= 1: that share of requests makes one call; calls > 1: every request makes
                // `calls` independent calls.
                let c = service.calls_per_request;
                dep_success *= if c <= 1.0 {
                    1.0 - c * ds.err_total
                } else {
                    (1.0 - ds.err_total).powf(c)
                };
            }
            let st = &mut self.svc[s];
            st.dep_mean = dep_mean;
            st.dep_var = dep_var;
            st.dep_success = dep_success;
            st.mean_total = (st.mean_own + dep_mean).max(1e-9);
            st.sd_total = (st.mean_own * st.mean_own + dep_var).sqrt().max(1e-9);
            let timed_out = tail(service.timeout_seconds, st.mean_total, st.sd_total);
            st.err_total = 1.0 - (1.0 - st.err_own) * dep_success * (1.0 - timed_out);
            st.p99 = p99(st.mean_total, st.sd_total).min(service.timeout_seconds);
        }

        // 7. Memory, leaks and OOM kills; node CPU and memory demand for the next tick.
        for (n, node) in self.node.iter_mut().enumerate() {
            node.cpu_demand = if node.hog > 0 { fx.cpu_hog_cores } else { 0.0 };
            node.mem_used = 0.0;
            let _ = n;
        }
        for (r, replica) in self.topo.replicas.iter().enumerate() {
            let rs = &mut self.rep[r];
            if rs.status == RepStatus::Removed {
                continue;
            }
            let service = &self.topo.services[replica.service.index()];
            if rs.leak > 0 && rs.reachable {
                rs.leaked_bytes += fx.memory_leak_bytes_per_second * dt;
            }
            rs.mem_bytes = if rs.reachable {
                service.memory_bytes * (0.8 + 0.2 * rs.cpu_util) + rs.leaked_bytes
            } else {
                0.0
            };
            // `mem_bytes` is what the replica's scrape reports (nothing when it fails); a hung
            // process still holds its idle working set and what it had leaked on a live node.
            let held = if rs.hung(t) && self.node[replica.node.index()].up {
                service.memory_bytes * 0.8 + rs.leaked_bytes
            } else {
                0.0
            };
            if rs.mem_bytes > service.memory_limit_bytes {
                // OOM kill: the container restarts with fresh memory; the leak goes on.
                rs.down_until = t + OOM_RESTART;
                rs.leaked_bytes = 0.0;
            }
            let node = &mut self.node[replica.node.index()];
            node.cpu_demand += service.cpu_cores * rs.cpu_util;
            node.mem_used += rs.mem_bytes + held;
        }

        // 8. Replication lag of stateful services.
        for (s, service) in self.topo.services.iter().enumerate() {
            let Some(rep) = &service.replication else {
                continue;
            };
            let st = &mut self.svc[s];
            let standby_down = st
                .standby
                .is_some_and(|r| self.region_outage[r.index()] > 0);
            if standby_down || st.in_rotation == 0 {
                st.lag_seconds += dt;
            } else {
                let cap = service.capacity_rps * f64::from(st.in_rotation);
                let rho = (st.attempts / cap).min(RHO_CAP);
                let delay = if st.net_delay > 0 {
                    fx.network_delay_seconds
                } else {
                    0.0
                };
                st.lag_seconds = rep.base_lag_seconds * (1.0 + 4.0 * rho * rho) + delay;
            }
        }

        // 9. Ground truth.
        for &e in &self.topo.entries {
            let st = &self.svc[e.index()];
            let service = &self.topo.services[e.index()];
            let offered = st.external * dt;
            let admitted = st.demand * dt;
            let within = 1.0 - tail(service.slo_latency_p99_seconds, st.mean_total, st.sd_total);
            let good = admitted * (1.0 - st.err_total.powi(k as i32)) * within;
            self.truth.requests_total += offered;
            self.truth.requests_good += good;
            self.truth.reward.slo_violating_requests += offered - good;
        }
        for (s, service) in self.topo.services.iter().enumerate() {
            let st = &self.svc[s];
            let violating =
                st.p99 > service.slo_latency_p99_seconds || st.err_total > service.slo_error_ratio;
            if service.entry_base_rps.is_some() {
                self.truth.time_total_ms += self.tick.0;
                if !violating {
                    self.truth.time_up_ms += self.tick.0;
                }
            }
            self.truth.set_violating(s, violating, t);
        }
        // Infrastructure: each replica pays its share of its node's price (cores reserved).
        let mut usd_per_hour = 0.0;
        for (r, replica) in self.topo.replicas.iter().enumerate() {
            if self.rep[r].status != RepStatus::Removed {
                let node = &self.topo.nodes[replica.node.index()];
                usd_per_hour += self.topo.services[replica.service.index()].cpu_cores
                    / node.cpu_cores
                    * node.price_usd_per_hour;
            }
        }
        self.truth.reward.infra_cost_usd += usd_per_hour * dt / 3600.0;

        // 10. Telemetry.
        if self.scrape.0 > 0 && t.0.is_multiple_of(self.scrape.0) {
            self.scrape(t);
        }
    }

    fn noisy(&mut self, v: f64) -> f64 {
        let z: f64 = StandardNormal.sample(&mut self.telemetry_rng);
        (v * (1.0 + TELEMETRY_NOISE * z)).max(0.0)
    }

    /// Writes the current state, with measurement noise, into the telemetry snapshot.
    fn scrape(&mut self, t: SimTime) {
        self.telemetry.time = t;
        for r in 0..self.topo.replicas.len() {
            let replica = &self.topo.replicas[r];
            let service = &self.topo.services[replica.service.index()];
            let st = &self.svc[replica.service.index()];
            let rs = &self.rep[r];
            let present = rs.status == RepStatus::Active;
            if !present {
                self.telemetry
                    .set_replica(r, false, [0.0; ReplicaMetric::ALL.len()]);
                continue;
            }
            let up = if rs.reachable { 1.0 } else { 0.0 };
            let err = 1.0 - (1.0 - rs.err) * st.dep_success;
            let sd = (rs.mean_latency * rs.mean_latency + st.dep_var).sqrt();
            let p99 = p99(rs.mean_latency + st.dep_mean, sd).min(service.timeout_seconds);
            let (load, cpu, mem) = (rs.load_rps, rs.cpu_util, rs.mem_bytes);
            let limit = service.memory_limit_bytes;
            let values = [
                up,
                self.noisy(cpu),
                self.noisy(mem),
                self.noisy(mem / limit),
                self.noisy(load),
                self.noisy(err).min(1.0),
                self.noisy(p99),
            ];
            self.telemetry.set_replica(r, true, values);
        }
        for n in 0..self.topo.nodes.len() {
            let node = &self.topo.nodes[n];
            let st = &self.node[n];
            let up = if st.up && self.zone_partition[node.zone.index()] == 0 {
                1.0
            } else {
                0.0
            };
            let (cpu, mem) = (
                st.cpu_demand / node.cpu_cores,
                st.mem_used / node.memory_bytes,
            );
            let disk = if st.disk_full > 0 {
                1.0
            } else {
                BASE_DISK_UTILIZATION
            };
            let values = [
                up,
                self.noisy(cpu),
                self.noisy(mem),
                self.noisy(disk).min(1.0),
            ];
            self.telemetry.set_node(n, values);
        }
        for s in 0..self.topo.services.len() {
            let st = &self.svc[s];
            let (rate, err, p99, lag, rot) = (
                st.attempts,
                st.err_total,
                st.p99,
                st.lag_seconds,
                st.in_rotation,
            );
            let values = [
                self.noisy(rate),
                self.noisy(err).min(1.0),
                self.noisy(p99),
                self.noisy(lag),
                f64::from(rot),
            ];
            self.telemetry.set_service(s, values);
        }
        let _ = (NodeMetric::Up, ServiceMetric::RequestRate);
    }
}
