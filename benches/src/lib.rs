//! Criterion benchmarks and the peer-comparison harness.
