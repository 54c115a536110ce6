//! Timed workloads for the benchmarks and the `mend bench` command, and the peer-comparison
//! harness (`peers/`: the same renewal model in SimPy).
//!
//! The criterion benchmarks (`benches/*.rs`) measure these workloads statistically; the
//! functions here run them once against the wall clock and return the figures a command
//! prints. The wall clock is allowed here and only here: the simulator crates never read it.
//!
//! ```text
//!  benches/benches/renewal.rs ─┐              ┌─> mend_sim::renewal::run_renewal_with
//!  mend bench (experiments) ───┼─> renewal ───┘
//!  benches/benches/event_queue.rs ─> event_queue ─> mend_sim::queue::EventQueue
//!                                              └──> BinaryHeapQueue (the baseline)
//! ```

pub mod event_queue;
pub mod renewal;
