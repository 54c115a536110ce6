//! Deterministic discrete-event simulator of multi-cloud clusters: time, event queue, topology,
//! traffic, faults, actions, telemetry, ground truth and traces. No I/O, no wall clock, no RL.

pub mod dist;
pub mod fault_process;
pub mod queue;
pub mod renewal;
pub mod rng;
pub mod time;

pub mod error;
pub mod scenario;
pub mod topology;
