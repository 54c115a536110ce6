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
pub mod actions;
pub mod behaviour;
pub mod faults;
pub mod telemetry;
pub mod trace;
pub mod traffic;
pub mod truth;
pub mod world;

pub use actions::{Action, ActionError, ActionId, ActionKind};
pub use scenario::Scenario;
pub use world::Simulation;
