//! Verification of an audit log: walks the chain line by line and names the first broken record.

use std::fmt;
use std::path::{Path, PathBuf};

use super::record::{GENESIS_PREV, Payload, RecordBody, sha256_hex, split_line};
use super::signing::check_signature;
use super::writer::{Head, head_path, read_head};
use super::{AuditError, FORMAT_VERSION};

/// What [`verify_with`] demands beyond the chain itself.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Fail when the head file (`<log>.head`) is missing, so that cutting whole records from the end
    /// of the log is always detected.
    pub require_head: bool,
    /// Pinned ed25519 public key: every record must be signed by exactly this key.
    pub public_key: Option<[u8; 32]>,
}

/// Whether the head anchor was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadStatus {
    /// The head file exists and matches the log's last record.
    Matched,
    /// There is no head file: records cut from the end of the log would go unnoticed.
    Absent,
    /// The head names the record before the last one: the writer stopped between appending the
    /// last record and replacing the head (a crash). The last record is covered by its own hash
    /// (and signature) only; [`super::AuditWriter::open`] brings the head up to date.
    OneBehind,
}

/// A verified log's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records, the genesis record included.
    pub records: u64,
    /// Decision records.
    pub decisions: u64,
    /// Signed records.
    pub signed: u64,
    /// The last record's `seq`.
    pub last_seq: u64,
    /// SHA-256 (hex) of the last line's exact bytes.
    pub last_line_hash: String,
    /// Whether the head anchor was checked.
    pub head: HeadStatus,
}

/// The check a record failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainCheck {
    /// The file is empty: no genesis record.
    Empty,
    /// The last line has no terminating newline (the file was cut or appended to).
    Unterminated,
    /// The line does not have the `{"record":BODY,"hash":"..."[,"sig":"..."]}` layout.
    Layout(String),
    /// The body is not a valid record.
    Body(String),
    /// The stored hash is not the SHA-256 of the body's bytes.
    RecordHash {
        /// Hash written in the line.
        stored: String,
        /// Hash of the body as found.
        computed: String,
    },
    /// A signed log has an unsigned record, or a pinned key was given and the record is unsigned.
    MissingSignature,
    /// The signature is present and wrong.
    Signature(String),
    /// The record names another signer than the genesis record, or than the pinned key.
    Signer {
        /// Expected public key (hex), or "none".
        expected: String,
        /// Found public key (hex), or "none".
        found: String,
    },
    /// The sequence number is not the previous one plus one (records removed, inserted or reordered).
    Sequence {
        /// Expected seq.
        expected: u64,
        /// Found seq.
        found: u64,
    },
    /// `prev` is not the SHA-256 of the previous line.
    PrevHash {
        /// SHA-256 of the previous line as found.
        expected: String,
        /// Value written in the record.
        found: String,
    },
    /// The first record is not a genesis record of this format, or a later record is one.
    Payload(String),
    /// The head file disagrees with the log's end (records cut from, or added to, the end).
    Head {
        /// seq the head file names.
        head_seq: u64,
        /// The log's last seq.
        log_seq: u64,
        /// Whether the line hashes agree too.
        hash_matches: bool,
    },
}

impl fmt::Display for ChainCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainCheck::Empty => write!(f, "empty log: expected a genesis record"),
            ChainCheck::Unterminated => write!(
                f,
                "line has no terminating newline (file cut or appended to)"
            ),
            ChainCheck::Layout(m) => write!(f, "layout check failed: {m}"),
            ChainCheck::Body(m) => write!(f, "record body check failed: {m}"),
            ChainCheck::RecordHash { stored, computed } => write!(
                f,
                "record hash check failed: stored {stored}, SHA-256 of the body is {computed} (record changed)"
            ),
            ChainCheck::MissingSignature => {
                write!(f, "signature check failed: record is not signed")
            }
            ChainCheck::Signature(m) => write!(f, "signature check failed: {m}"),
            ChainCheck::Signer { expected, found } => {
                write!(f, "signer check failed: expected {expected}, found {found}")
            }
            ChainCheck::Sequence { expected, found } => write!(
                f,
                "sequence check failed: expected seq {expected}, found {found} (record removed, inserted or reordered)"
            ),
            ChainCheck::PrevHash { expected, found } => write!(
                f,
                "chain check failed: prev should be {expected} (SHA-256 of the previous line), found {found}"
            ),
            ChainCheck::Payload(m) => write!(f, "payload check failed: {m}"),
            ChainCheck::Head {
                head_seq,
                log_seq,
                hash_matches,
            } => write!(
                f,
                "head check failed: head file names seq {head_seq}, the log ends at seq {log_seq}{}",
                if *hash_matches {
                    ""
                } else {
                    " and the last line's hash differs"
                }
            ),
        }
    }
}

/// Verifies the log at `path`, checking its head file when there is one.
pub fn verify(path: &Path) -> Result<VerifyReport, AuditError> {
    verify_with(path, &VerifyOptions::default())
}

/// Verifies the log at `path` with explicit options.
pub fn verify_with(path: &Path, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
    let bytes = std::fs::read(path).map_err(|source| AuditError::Io {
        path: path.to_owned(),
        action: "read",
        source,
    })?;
    let head = read_head(&head_path(path))?;
    verify_bytes(path, &bytes, head.as_ref(), options)
}

/// Verifies a log held in memory. `path` only names the log in errors; `head` is its head anchor.
pub fn verify_bytes(
    path: &Path,
    bytes: &[u8],
    head: Option<&Head>,
    options: &VerifyOptions,
) -> Result<VerifyReport, AuditError> {
    let tampered = |line: usize, seq: Option<u64>, check: ChainCheck| AuditError::Tampered {
        path: PathBuf::from(path),
        line,
        seq,
        check,
    };
    if bytes.is_empty() {
        return Err(tampered(1, Some(0), ChainCheck::Empty));
    }
    let pinned = options.public_key.map(hex::encode);
    let mut signer: Option<Option<String>> = None; // set by the genesis record
    let mut prev_line_hash = GENESIS_PREV.to_owned();
    let mut second_last_line_hash: Option<String> = None;
    let mut expected_seq = 0u64;
    let (mut decisions, mut signed) = (0u64, 0u64);
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    let mut line_no = 0usize;
    while let Some(line) = lines.next() {
        let is_last_piece = lines.peek().is_none();
        if is_last_piece {
            if line.is_empty() {
                break; // the file ended with a newline
            }
            return Err(tampered(
                line_no + 1,
                Some(expected_seq),
                ChainCheck::Unterminated,
            ));
        }
        line_no += 1;
        let parts = split_line(line).map_err(|m| {
            tampered(
                line_no,
                Some(expected_seq),
                ChainCheck::Layout(m.to_owned()),
            )
        })?;
        let body: RecordBody = serde_json::from_slice(parts.body)
            .map_err(|e| tampered(line_no, Some(expected_seq), ChainCheck::Body(e.to_string())))?;
        let seq = Some(body.seq);
        let computed = sha256_hex(parts.body);
        if computed != parts.hash {
            let check = ChainCheck::RecordHash {
                stored: parts.hash.to_owned(),
                computed,
            };
            return Err(tampered(line_no, seq, check));
        }
        // Signatures: the genesis record fixes the signer; a pinned key must match it.
        let expected_signer = match &signer {
            Some(s) => s.clone(),
            None => {
                if let Some(pinned) = pinned
                    .as_ref()
                    .filter(|p| body.signer.as_deref() != Some(p.as_str()))
                {
                    let found = body.signer.clone().unwrap_or_else(|| "none".into());
                    let check = ChainCheck::Signer {
                        expected: pinned.clone(),
                        found,
                    };
                    return Err(tampered(line_no, seq, check));
                }
                signer = Some(body.signer.clone());
                body.signer.clone()
            }
        };
        if body.signer != expected_signer {
            let show = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".into());
            let check = ChainCheck::Signer {
                expected: show(&expected_signer),
                found: show(&body.signer),
            };
            return Err(tampered(line_no, seq, check));
        }
        match (&body.signer, parts.sig) {
            (Some(key), Some(sig)) => {
                check_signature(key, parts.hash, sig)
                    .map_err(|m| tampered(line_no, seq, ChainCheck::Signature(m)))?;
                signed += 1;
            }
            (Some(_), None) => return Err(tampered(line_no, seq, ChainCheck::MissingSignature)),
            (None, Some(_)) => {
                return Err(tampered(
                    line_no,
                    seq,
                    ChainCheck::Layout("signature without a signer".into()),
                ));
            }
            (None, None) => {}
        }
        if body.seq != expected_seq {
            return Err(tampered(
                line_no,
                seq,
                ChainCheck::Sequence {
                    expected: expected_seq,
                    found: body.seq,
                },
            ));
        }
        if body.prev != prev_line_hash {
            return Err(tampered(
                line_no,
                seq,
                ChainCheck::PrevHash {
                    expected: prev_line_hash,
                    found: body.prev,
                },
            ));
        }
        match (&body.payload, body.seq) {
            (Payload::Genesis { format_version }, 0) if *format_version == FORMAT_VERSION => {}
            (Payload::Genesis { format_version }, 0) => {
                let m =
                    format!("genesis format_version {format_version}, expected {FORMAT_VERSION}");
                return Err(tampered(line_no, seq, ChainCheck::Payload(m)));
            }
            (Payload::Decision(_), 0) => {
                return Err(tampered(
                    line_no,
                    seq,
                    ChainCheck::Payload("first record is not a genesis record".into()),
                ));
            }
            (Payload::Genesis { .. }, _) => {
                return Err(tampered(
                    line_no,
                    seq,
                    ChainCheck::Payload("genesis record after the first line".into()),
                ));
            }
            (Payload::Decision(_), _) => decisions += 1,
        }
        second_last_line_hash = Some(std::mem::replace(&mut prev_line_hash, sha256_hex(line)));
        expected_seq += 1;
    }
    // The loop returns on an empty file and on any unreadable line, so a record was read.
    let last_seq = expected_seq
        .checked_sub(1)
        .ok_or_else(|| tampered(1, Some(0), ChainCheck::Empty))?;
    let head_status = match head {
        Some(h) => {
            let hash_matches = h.line_sha256 == prev_line_hash;
            // A writer stopped between appending a record and replacing the head leaves the head
            // exactly one record behind; anything else is a disagreement.
            let one_behind = h.seq.checked_add(1) == Some(last_seq)
                && second_last_line_hash.as_deref() == Some(h.line_sha256.as_str());
            if (h.seq != last_seq || !hash_matches) && !one_behind {
                // Name the first record the head and the log disagree on.
                let (line, seq) = if h.seq > last_seq {
                    (line_no + 1, last_seq + 1)
                } else if h.seq < last_seq {
                    (h.seq as usize + 2, h.seq + 1)
                } else {
                    (line_no, last_seq)
                };
                let check = ChainCheck::Head {
                    head_seq: h.seq,
                    log_seq: last_seq,
                    hash_matches,
                };
                return Err(tampered(line, Some(seq), check));
            }
            if let Some(Some(key)) = &signer {
                h.check_signature(key)
                    .map_err(|message| AuditError::BadHead {
                        path: head_path(path),
                        message,
                    })?;
            }
            if one_behind {
                HeadStatus::OneBehind
            } else {
                HeadStatus::Matched
            }
        }
        None if options.require_head => {
            return Err(AuditError::BadHead {
                path: head_path(path),
                message:
                    "missing, and it was required (records cut from the end would go unnoticed)"
                        .into(),
            });
        }
        None => HeadStatus::Absent,
    };
    Ok(VerifyReport {
        records: expected_seq,
        decisions,
        signed,
        last_seq,
        last_line_hash: prev_line_hash,
        head: head_status,
    })
}
