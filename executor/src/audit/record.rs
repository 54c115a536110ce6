//! One audit record: its body type and the exact byte layout of its line (see the parent module).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::decision::Decision;

/// The `prev` value of the genesis record: 64 zeros.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed part of a record. Serialised compactly by serde_json, fields in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// Sequence number: 0 for the genesis record, then 1, 2, ...
    pub seq: u64,
    /// Time of the record, milliseconds since the Unix epoch, as given by the caller.
    pub time_ms: u64,
    /// SHA-256 (hex) of the previous line's exact bytes; [`GENESIS_PREV`] for the genesis record.
    pub prev: String,
    /// Public key (hex) of the ed25519 signer, when the log is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// What the record says.
    pub payload: Payload,
}

/// The content of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// One record per loop iteration: the size of a Genesis record does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Payload {
    /// First record of every log.
    Genesis {
        /// Line format version ([`super::FORMAT_VERSION`]).
        format_version: u32,
    },
    /// One decision of the live loop.
    Decision(Decision),
}

const PREFIX: &[u8] = br#"{"record":"#;
const HASH_OPEN: &[u8] = br#","hash":""#;
const SIG_OPEN: &[u8] = br#"","sig":""#;
const CLOSE: &[u8] = br#""}"#;

/// A line split into its three parts, borrowed from the file's bytes.
#[derive(Debug)]
pub(crate) struct LineParts<'a> {
    /// Exact bytes of the body.
    pub(crate) body: &'a [u8],
    /// Record hash (64 lower-case hex digits).
    pub(crate) hash: &'a str,
    /// Signature (128 lower-case hex digits), if any.
    pub(crate) sig: Option<&'a str>,
}

/// SHA-256 of `bytes`, lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Builds a line (without its trailing newline) from its parts.
pub(crate) fn encode_line(body: &[u8], hash: &str, sig: Option<&str>) -> Vec<u8> {
    let mut line = Vec::with_capacity(body.len() + 220);
    line.extend_from_slice(PREFIX);
    line.extend_from_slice(body);
    line.extend_from_slice(HASH_OPEN);
    line.extend_from_slice(hash.as_bytes());
    if let Some(sig) = sig {
        line.extend_from_slice(SIG_OPEN);
        line.extend_from_slice(sig.as_bytes());
    }
    line.extend_from_slice(CLOSE);
    line
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Splits a line by the exact layout; `Err` says which part of the layout is wrong.
pub(crate) fn split_line(line: &[u8]) -> Result<LineParts<'_>, &'static str> {
    let rest = line
        .strip_prefix(PREFIX)
        .ok_or(r#"line does not start with {"record":"#)?;
    let rest = rest
        .strip_suffix(CLOSE)
        .ok_or(r#"line does not end with "}"#)?;
    // Signed form: BODY ,"hash":" H64 ","sig":" S128
    let signed_tail = HASH_OPEN.len() + 64 + SIG_OPEN.len() + 128;
    if rest.len() > signed_tail {
        let (body, tail) = rest.split_at(rest.len() - signed_tail);
        let (hash_open, tail) = tail.split_at(HASH_OPEN.len());
        let (hash, tail) = tail.split_at(64);
        let (sig_open, sig) = tail.split_at(SIG_OPEN.len());
        if hash_open == HASH_OPEN && sig_open == SIG_OPEN && is_lower_hex(hash) && is_lower_hex(sig)
        {
            return Ok(LineParts {
                body,
                hash: std::str::from_utf8(hash).map_err(|_| "hash is not UTF-8")?,
                sig: Some(std::str::from_utf8(sig).map_err(|_| "sig is not UTF-8")?),
            });
        }
    }
    // Unsigned form: BODY ,"hash":" H64
    let unsigned_tail = HASH_OPEN.len() + 64;
    if rest.len() <= unsigned_tail {
        return Err("line too short for a record");
    }
    let (body, tail) = rest.split_at(rest.len() - unsigned_tail);
    let (hash_open, hash) = tail.split_at(HASH_OPEN.len());
    if hash_open != HASH_OPEN {
        return Err(r#"no ,"hash":" field of 64 hex digits before the end of the line"#);
    }
    if !is_lower_hex(hash) {
        return Err("hash is not 64 lower-case hex digits");
    }
    Ok(LineParts {
        body,
        hash: std::str::from_utf8(hash).map_err(|_| "hash is not UTF-8")?,
        sig: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_inverts_encode_with_and_without_signature() {
        let body = br#"{"seq":0}"#;
        let hash = "ab".repeat(32);
        let sig = "cd".repeat(64);
        let plain = encode_line(body, &hash, None);
        let parts = split_line(&plain).unwrap();
        assert_eq!(
            (parts.body, parts.hash, parts.sig),
            (&body[..], hash.as_str(), None)
        );
        let signed = encode_line(body, &hash, Some(&sig));
        let parts = split_line(&signed).unwrap();
        assert_eq!(
            (parts.body, parts.hash, parts.sig),
            (&body[..], hash.as_str(), Some(sig.as_str()))
        );
    }

    #[test]
    fn split_rejects_upper_case_hex() {
        let line = encode_line(b"{}", &"AB".repeat(32), None);
        assert!(split_line(&line).is_err());
    }
}
