//! The live loop's parts: metric sources, actuators, safety guards and the hash-chained audit log.
//!
//! ```text
//!  MetricSource ──samples──> (monitor features) ──> Policy ──Action──> guards ──> Actuator
//!   (Prometheus API,                                                  │            (local processes,
//!    exposition scrape)                                               │             dry run)
//!                                                                     └──Decision──> AuditWriter
//! ```
//!
//! This crate never calls the simulator. Time always comes in as a parameter (milliseconds since
//! the Unix epoch) so that guards and the audit log are exact under test; only the metric sources
//! and actuators, which talk to the real world, wait on a clock.
//!
//! Modules:
//! - [`decision`]: the [`decision::Action`] and [`decision::Decision`] records shared by all parts;
//! - [`actuator`]: the [`actuator::Actuator`] trait, local processes, Kubernetes and dry run;
//! - [`cluster`]: the cluster file (services, metric queries, actuator specs, guards), validated;
//! - [`observe`]: reading metrics into the monitor's telemetry snapshot;
//! - [`decide`]: proposals from a policy file; [`mask`]: the live action mask it chooses under; [`fallback`]: the built-in liveness/memory rule;
//! - [`reference_policy`]: a hand-set policy file for tests, demos and benchmarks;
//! - [`local_prometheus`]: a loopback Prometheus child for the demo and the e2e test;
//! - [`pipeline`]: snapshot -> features -> policy -> guards, without I/O;
//! - [`proxy`]: the local front proxy that fail over switches;
//! - [`run_loop`]: the loop itself ([`run_loop::Executor`], [`run_loop::run`]), modes and signals;
//! - [`audit`]: the JSON Lines audit log, hash-chained and optionally signed, and its verifier;
//! - [`demo`]: the demo HTTP workload with fault switches (binary `mend-demo-service`);
//! - [`fault_drill`]: inject a fault into a local replica, step until healed, time detection and healing;
//! - [`guards`]: the safety guards, pure functions of a proposal and the state;
//! - [`metrics`]: metric sources (Prometheus HTTP API, exposition-format scrape).

pub mod actuator;
pub mod audit;
pub mod cluster;
pub mod decide;
pub mod decision;
pub mod demo;
pub mod fallback;
pub mod fault_drill;
pub mod guards;
pub mod local_prometheus;
pub mod mask;
pub mod metrics;
pub mod observe;
pub mod pipeline;
pub mod proxy;
pub mod reference_policy;
pub mod run_loop;
