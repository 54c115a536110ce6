//! The appending writer and the head anchor file it keeps beside the log.
//!
//! Every append writes one whole line with a single `write_all` on a file opened in append mode,
//! then `fsync`s it, then replaces the head file (temp file, fsync, rename). Nothing is buffered in
//! memory, so dropping the writer (or a shutdown) loses nothing that `append` reported as written.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::{GENESIS_PREV, Payload, RecordBody, encode_line, sha256_hex};
use super::signing::{AuditSigner, check_signature};
use super::verify::{HeadStatus, VerifyOptions, verify_with};
use super::{AuditError, FORMAT_VERSION};
use crate::decision::Decision;

/// The head anchor: the last record's seq and the SHA-256 of its exact line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// seq of the last record.
    pub seq: u64,
    /// SHA-256 (hex) of the last line's exact bytes (without its newline).
    pub line_sha256: String,
    /// ed25519 signature (hex) over [`Head::signed_hash`], when the log is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

impl Head {
    /// The hash the head's signature covers: SHA-256 of `"mend-audit-head {seq} {line_sha256}"`.
    pub fn signed_hash(&self) -> String {
        sha256_hex(format!("mend-audit-head {} {}", self.seq, self.line_sha256).as_bytes())
    }

    /// Checks the head's signature against the log's signer (hex public key).
    pub(crate) fn check_signature(&self, signer_hex: &str) -> Result<(), String> {
        match &self.sig {
            None => Err("not signed, but the log is".into()),
            Some(sig) => check_signature(signer_hex, &self.signed_hash(), sig),
        }
    }
}

/// The head file's path for a log: `<log>.head`.
pub fn head_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// Reads a head file; `Ok(None)` when it does not exist.
pub fn read_head(path: &Path) -> Result<Option<Head>, AuditError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuditError::BadHead {
                path: path.to_owned(),
                message: format!(
                    "expected {{\"seq\":N,\"line_sha256\":\"HEX\"[,\"sig\":\"HEX\"]}}: {e}"
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuditError::Io {
            path: path.to_owned(),
            action: "read head",
            source,
        }),
    }
}

/// Appends decisions to a hash-chained audit log.
#[derive(Debug)]
pub struct AuditWriter {
    path: PathBuf,
    file: File,
    signer: Option<AuditSigner>,
    next_seq: u64,
    prev_line_hash: String,
}

impl AuditWriter {
    /// Opens the log at `path`: creates it with a genesis record stamped `now_ms` when it does not
    /// exist, or verifies it (against `signer`'s key when given) and appends after its last record.
    pub fn open(path: &Path, signer: Option<AuditSigner>, now_ms: u64) -> Result<Self, AuditError> {
        let io = |action: &'static str| {
            move |source| AuditError::Io {
                path: path.to_owned(),
                action,
                source,
            }
        };
        if path.exists() {
            let options = VerifyOptions {
                require_head: true,
                public_key: signer.as_ref().map(AuditSigner::public_key),
            };
            let report = verify_with(path, &options)?;
            if report.head == HeadStatus::OneBehind {
                let mut head = Head {
                    seq: report.last_seq,
                    line_sha256: report.last_line_hash.clone(),
                    sig: None,
                };
                head.sig = signer.as_ref().map(|s| s.sign_hash(&head.signed_hash()));
                write_head(&head_path(path), &head)?;
            }
            let file = OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(io("open for append"))?;
            return Ok(AuditWriter {
                path: path.to_owned(),
                file,
                signer,
                next_seq: report.last_seq + 1,
                prev_line_hash: report.last_line_hash,
            });
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(io("create"))?;
        let mut writer = AuditWriter {
            path: path.to_owned(),
            file,
            signer,
            next_seq: 0,
            prev_line_hash: GENESIS_PREV.to_owned(),
        };
        writer.write_record(
            now_ms,
            Payload::Genesis {
                format_version: FORMAT_VERSION,
            },
        )?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the new file's directory entry durable too.
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io("fsync directory"))?;
        }
        Ok(writer)
    }

    /// Appends one decision stamped `time_ms`; returns its seq.
    pub fn append(&mut self, time_ms: u64, decision: &Decision) -> Result<u64, AuditError> {
        if let Some(i) = decision.probabilities.iter().position(|p| !p.is_finite()) {
            return Err(AuditError::BadDecision {
                path: self.path.clone(),
                seq: self.next_seq,
                field: format!("probabilities[{i}]"),
                message: "expected a finite number (JSON cannot carry NaN or infinity)".into(),
            });
        }
        self.write_record(time_ms, Payload::Decision(decision.clone()))
    }

    /// The seq the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes file data and metadata to disk (appends already `fsync` their data); call at shutdown.
    pub fn close(self) -> Result<(), AuditError> {
        self.file.sync_all().map_err(|source| AuditError::Io {
            path: self.path.clone(),
            action: "fsync",
            source,
        })
    }

    fn write_record(&mut self, time_ms: u64, payload: Payload) -> Result<u64, AuditError> {
        let seq = self.next_seq;
        let body = RecordBody {
            seq,
            time_ms,
            prev: self.prev_line_hash.clone(),
            signer: self.signer.as_ref().map(AuditSigner::public_key_hex),
            payload,
        };
        let body = serde_json::to_vec(&body).map_err(|e| AuditError::BadDecision {
            path: self.path.clone(),
            seq,
            field: "payload".into(),
            message: format!("cannot be serialised as JSON: {e}"),
        })?;
        let hash = sha256_hex(&body);
        let sig = self.signer.as_ref().map(|s| s.sign_hash(&hash));
        let mut line = encode_line(&body, &hash, sig.as_deref());
        let line_hash = sha256_hex(&line);
        line.push(b'\n');
        let io = |action: &'static str| {
            let path = self.path.clone();
            move |source| AuditError::Io {
                path,
                action,
                source,
            }
        };
        self.file.write_all(&line).map_err(io("append"))?;
        self.file.sync_data().map_err(io("fsync"))?;
        let mut head = Head {
            seq,
            line_sha256: line_hash.clone(),
            sig: None,
        };
        head.sig = self
            .signer
            .as_ref()
            .map(|s| s.sign_hash(&head.signed_hash()));
        write_head(&head_path(&self.path), &head)?;
        self.next_seq += 1;
        self.prev_line_hash = line_hash;
        Ok(seq)
    }
}

/// Writes the head file whole or not at all: temp file, fsync, rename.
fn write_head(path: &Path, head: &Head) -> Result<(), AuditError> {
    let io = |action: &'static str| {
        move |source| AuditError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut bytes = serde_json::to_vec(head).map_err(|e| AuditError::BadHead {
        path: path.to_owned(),
        message: format!("cannot serialise: {e}"),
    })?;
    bytes.push(b'\n');
    let mut file = File::create(&tmp).map_err(io("create head temp file"))?;
    file.write_all(&bytes).map_err(io("write head temp file"))?;
    file.sync_data().map_err(io("fsync head temp file"))?;
    std::fs::rename(&tmp, path).map_err(io("rename head temp file"))?;
    Ok(())
}
