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
//! - [`actuator`]: the [`actuator::Actuator`] trait, local processes and dry run;
//! - [`audit`]: the JSON Lines audit log, hash-chained and optionally signed, and its verifier;
//! - [`demo`]: the demo HTTP workload with fault switches (binary `mend-demo-service`);
//! - [`guards`]: the safety guards, pure functions of a proposal and the state;
//! - [`metrics`]: metric sources (Prometheus HTTP API, exposition-format scrape).

pub mod actuator;
pub mod audit;
pub mod decision;
pub mod demo;
pub mod guards;
pub mod metrics;
