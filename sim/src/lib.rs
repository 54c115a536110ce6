//! Deterministic discrete-event simulator of multi-cloud clusters: time, event queue, topology, traffic, faults, actions, telemetry, ground truth and traces. No I/O, no wall clock, no RL.
