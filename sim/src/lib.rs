//! Deterministic discrete-event simulator of multi-cloud clusters: time, event queue, topology,
//! traffic, faults, actions, telemetry, ground truth and traces. No I/O, no wall clock, no RL.
//!
//! ```text
//!  scenarios/*.toml ──► Scenario::from_toml_str (schema + validation: file, field, line)
//!                           │
//!                           ▼
//!   seed ──► RngStreams ─► Simulation::new ◄── or Simulation::replay(trace records)
//!            (Faults, Traffic,  │
//!             Actions, ...)     │  run_until(t): EventQueue (fault onsets/ends, action outcomes)
//!                               │                + fluid tick (traffic -> load -> latency/errors)
//!        apply(Action) ────────►│
//!        check(&Action)         ├──► telemetry()  TelemetrySnapshot (Prometheus-like metrics)
//!                               ├──► truth()      GroundTruth (faults, incidents, availability,
//!                               │                 cost, data lost, reward components)
//!                               ├──► summary()    TruthSummary (serialisable)
//!                               └──► take_trace() Vec<TraceRecord> (JSON Lines for the CLI)
//! ```
//!
//! A renewal scenario (`model = "renewal"`) is run by [`renewal::run_renewal`] with the config
//! from [`Scenario::renewal`].
//!
//! ```
//! use mend_sim::{Scenario, Simulation};
//! let scenario = Scenario::builtin("tiny").unwrap();
//! let mut sim = Simulation::new(&scenario, 42);
//! sim.run_to_end();
//! assert!(sim.summary().availability > 0.9);
//! ```

pub mod dist;
pub mod fault_process;
pub mod queue;
pub mod renewal;
pub mod rng;
pub mod time;

pub mod actions;
pub mod behaviour;
pub mod error;
mod faults;
pub mod scenario;
pub mod telemetry;
pub mod topology;
pub mod trace;
pub mod traffic;
pub mod truth;
pub mod world;

pub use actions::{Action, ActionError, ActionId, ActionKind};
pub use error::ScenarioError;
pub use scenario::Scenario;
pub use world::Simulation;
