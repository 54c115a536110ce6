//! The hash-chained, optionally signed audit log: one JSON line per decision.
//!
//! # Format (version 1)
//! Each line of the file is exactly
//! `{"record":BODY,"hash":"H"}` or `{"record":BODY,"hash":"H","sig":"S"}` followed by `\n`, where
//! - `BODY` is the compact serde_json serialisation of [`RecordBody`] (fields in declaration order,
//!   free-form maps in key order): `seq`, `time_ms`, `prev`, `signer`, `payload`;
//! - `H` is the SHA-256 (lower-case hex) of the exact bytes of `BODY`;
//! - `S` (optional) is the ed25519 signature (hex, RFC 8032) of the 32 raw bytes of `H`, by the key
//!   whose public half is the body's `signer`;
//! - `prev` is the SHA-256 of the previous line's exact bytes (without its `\n`); the first line
//!   (the genesis record, `seq` 0) holds [`GENESIS_PREV`], 64 zeros.
//!
//! Because both hashes cover exact bytes, any change, even one that leaves the JSON equal in
//! meaning (a space, `1` written `1.0`, an escaped letter), breaks the chain.
//!
//! # The head anchor, and the limit without it
//! A hash chain alone cannot reveal that whole records were cut from its end: the shorter file is
//! a valid chain. The writer therefore keeps a sidecar *head file* (`<log>.head`, written to a
//! temp file then renamed after every append) holding the last record's `seq` and line hash,
//! signed when a key is configured. [`verify`] checks it when present; [`VerifyOptions::require_head`]
//! makes its absence an error. A head exactly one record behind is what a crash between the two
//! writes leaves: [`verify`] reports it as [`HeadStatus::OneBehind`] (the last record then rests on
//! its own hash and signature only) and [`AuditWriter::open`] brings the head up to date. An attacker who can rewrite both files undetected can only be stopped
//! by keeping a copy of the head (or the signing key's public half plus the head) off the host.
//!
//! ```text
//!  genesis (seq 0)        record 1                record 2
//! +---------------+     +---------------+     +---------------+      log.head
//! | prev = 0000.. | <-- | prev = H(line0)| <-- | prev = H(line1)| <-- seq 2, H(line2)
//! | hash = H(body)|     | hash = H(body)|     | hash = H(body)|
//! +---------------+     +---------------+     +---------------+
//! ```

mod record;
mod signing;
mod verify;
mod writer;

use std::path::PathBuf;

pub use record::{GENESIS_PREV, Payload, RecordBody};
pub use signing::{AuditSigner, read_seed_file};
pub use verify::{
    ChainCheck, HeadStatus, VerifyOptions, VerifyReport, verify, verify_bytes, verify_with,
};
pub use writer::{AuditWriter, Head, head_path, read_head};

/// Version of the line format described in this module's documentation.
pub const FORMAT_VERSION: u32 = 1;

/// Everything that can go wrong writing, reading or verifying an audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading or writing a file failed.
    #[error("audit log {path}: {action}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// What was being done ("open", "append", "fsync", "rename head"...).
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The chain is broken: the first record (1-based line and, when readable, seq) that fails a check.
    #[error(
        "audit log {path}: line {line}{}: {check}",
        match seq { Some(s) => format!(" (seq {s})"), None => String::new() }
    )]
    Tampered {
        /// Log file.
        path: PathBuf,
        /// 1-based line number of the first bad record.
        line: usize,
        /// Its sequence number, or the one expected there when the line is unreadable.
        seq: Option<u64>,
        /// Which check failed.
        check: ChainCheck,
    },
    /// The head file is unreadable or malformed.
    #[error("audit head file {path}: {message}")]
    BadHead {
        /// Head file.
        path: PathBuf,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A signing seed file does not hold what is expected.
    #[error("audit signing key {path}: {message}")]
    BadKey {
        /// Seed file.
        path: PathBuf,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A decision cannot be recorded (e.g. a non-finite probability, which JSON cannot carry).
    #[error("audit log {path}: record seq {seq}: field `{field}`: {message}")]
    BadDecision {
        /// Log file.
        path: PathBuf,
        /// Sequence number the record would have had.
        seq: u64,
        /// Field at fault.
        field: String,
        /// What was expected.
        message: String,
    },
}
