//! Reads the decisions the executor appends to its audit log, as `tail -f` would, so the demo
//! shows exactly what was recorded: the proposal's reason, every guard's verdict and the outcome
//! (the loop's `StepReport` carries the action and outcome, not the verdicts).
//!
//! Only whole lines are read (the writer appends a line and its newline in one write, then
//! fsyncs; see [`crate::audit::AuditWriter::append`]); a partial last line waits for the next call.
//! The chain itself is checked by [`crate::audit::verify`] at the end of the demo, not here.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::audit::{Payload, RecordBody};
use crate::decision::Decision;

/// Errors reading the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TailError {
    /// The file could not be opened or read.
    #[error("audit log {path}: {source}")]
    Io {
        /// The log.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is not an audit record.
    #[error("audit log {path}, byte {offset}: expected a JSON line {{\"record\": ...}}: {message}")]
    Parse {
        /// The log.
        path: PathBuf,
        /// Byte offset of the line.
        offset: u64,
        /// What the parser said.
        message: String,
    },
}

/// One decision record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct TailedDecision {
    /// The record's `seq`.
    pub seq: u64,
    /// Its time, ms since the epoch.
    pub time_ms: u64,
    /// The decision.
    pub decision: Decision,
}

/// The part of a line that holds the record (the hash and signature are not needed here).
#[derive(serde::Deserialize)]
struct Line {
    record: RecordBody,
}

/// A reader positioned after the last whole line it returned.
#[derive(Debug)]
pub struct AuditTail {
    path: PathBuf,
    offset: u64,
}

impl AuditTail {
    /// Starts reading `path` from its current end (earlier records are skipped).
    pub fn from_end(path: &Path) -> Result<Self, TailError> {
        let offset = std::fs::metadata(path)
            .map_err(|source| TailError::Io {
                path: path.to_owned(),
                source,
            })?
            .len();
        Ok(AuditTail {
            path: path.to_owned(),
            offset,
        })
    }

    /// Decision records appended since the last call, in order.
    pub fn read_new(&mut self) -> Result<Vec<TailedDecision>, TailError> {
        let io = |source| TailError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = std::fs::File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(end) = bytes[start..].iter().position(|&b| b == b'\n') {
            let line = &bytes[start..start + end];
            let offset = self.offset + start as u64;
            let parsed: Line = serde_json::from_slice(line).map_err(|e| TailError::Parse {
                path: self.path.clone(),
                offset,
                message: e.to_string(),
            })?;
            if let Payload::Decision(decision) = parsed.record.payload {
                out.push(TailedDecision {
                    seq: parsed.record.seq,
                    time_ms: parsed.record.time_ms,
                    decision,
                });
            }
            start += end + 1;
        }
        self.offset += start as u64;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write;

    use super::*;
    use crate::audit::AuditWriter;
    use crate::decision::{Action, Outcome};

    fn decision(service: &str) -> Decision {
        Decision {
            obs_digest: String::new(),
            action: Action::noop("demo", service),
            probabilities: Vec::new(),
            verdicts: Vec::new(),
            outcome: Outcome::NotActed {
                reason: "no-op".into(),
            },
            fields: BTreeMap::new(),
        }
    }

    #[test]
    fn reads_only_new_whole_lines_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut writer = AuditWriter::open(&path, None, 1).unwrap();
        writer.append(2, &decision("before")).unwrap();
        let mut tail = AuditTail::from_end(&path).unwrap();
        assert!(tail.read_new().unwrap().is_empty());
        writer.append(3, &decision("a")).unwrap();
        writer.append(4, &decision("b")).unwrap();
        let got = tail.read_new().unwrap();
        let services: Vec<&str> = got
            .iter()
            .map(|d| d.decision.action.service.as_str())
            .collect();
        assert_eq!(services, ["a", "b"]);
        assert_eq!((got[0].seq, got[0].time_ms), (2, 3));
        assert!(tail.read_new().unwrap().is_empty(), "nothing read twice");
        // Half a line waits for its end; garbage with an end is an error naming the offset.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"record\":").unwrap();
        assert!(tail.read_new().unwrap().is_empty());
        file.write_all(b"42}\n").unwrap();
        let err = tail.read_new().unwrap_err().to_string();
        assert!(err.contains("audit.jsonl, byte "), "{err}");
    }
}
