//! Helpers the end-to-end tests share: running the real `mend` binary and reading files.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// The `mend` binary cargo built for these tests.
pub(crate) const MEND: &str = env!("CARGO_BIN_EXE_mend");

/// Runs `mend args...`, whatever its exit status.
pub(crate) fn run(args: &[&str]) -> Output {
    Command::new(MEND)
        .args(args)
        .output()
        .expect("the mend binary runs")
}

/// Runs `mend args...` and asserts it succeeded (its stderr in the failure message).
pub(crate) fn mend(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "mend {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The bytes of `path`, panicking with the path on error.
pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
