//! The `mend` command line as a library: flag definitions ([`cli`]), one module per command
//! ([`commands`]), and the shared plumbing every command uses (atomic output files, progress bars,
//! scenario lookup). The binary in `main.rs` only parses and dispatches.

pub mod agents_registry;
pub mod cli;
pub mod commands;
pub mod detection;
pub mod experiment;
pub mod output;
pub mod paper;
pub mod plots;
pub mod progress;
pub mod results;
pub mod runner;
pub mod scenarios;
pub mod stats;
pub mod traces;
