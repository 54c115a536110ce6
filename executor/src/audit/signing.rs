//! Optional ed25519 signatures (RFC 8032) for audit records, keyed from a 32-byte seed file.
//!
//! The seed file holds exactly 32 bytes: either raw, or as 64 hex digits (a trailing newline is
//! allowed). Create one with `head -c 32 /dev/urandom > audit.key`; the executor itself never needs
//! OS randomness, since ed25519 signing is deterministic.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use super::AuditError;

/// Reads a 32-byte ed25519 seed (raw or hex) from `path`.
pub fn read_seed_file(path: &Path) -> Result<[u8; 32], AuditError> {
    let bytes = std::fs::read(path).map_err(|source| AuditError::Io {
        path: path.to_owned(),
        action: "read signing seed",
        source,
    })?;
    if let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) {
        return Ok(seed);
    }
    let text = std::str::from_utf8(&bytes)
        .unwrap_or("")
        .trim_end_matches(['\n', '\r']);
    let mut seed = [0u8; 32];
    match hex::decode_to_slice(text, &mut seed) {
        Ok(()) => Ok(seed),
        Err(_) => Err(AuditError::BadKey {
            path: path.to_owned(),
            message: format!(
                "expected exactly 32 raw bytes or 64 hex digits, found {} bytes",
                bytes.len()
            ),
        }),
    }
}

/// Signs record hashes with one ed25519 key.
#[derive(Debug, Clone)]
pub struct AuditSigner {
    key: SigningKey,
}

impl AuditSigner {
    /// A signer from a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        AuditSigner {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// A signer from a seed file (see [`read_seed_file`]).
    pub fn from_seed_file(path: &Path) -> Result<Self, AuditError> {
        Ok(Self::from_seed(&read_seed_file(path)?))
    }

    /// The public key, hex, as written in each record's `signer` field.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// The public key's 32 bytes (pin it in [`super::VerifyOptions::public_key`]).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Signature (hex) of the raw bytes of a hex-encoded SHA-256 `hash`.
    pub(crate) fn sign_hash(&self, hash_hex: &str) -> String {
        let mut raw = [0u8; 32];
        // The caller passes a hash this crate computed: always 64 hex digits.
        let _ = hex::decode_to_slice(hash_hex, &mut raw);
        hex::encode(self.key.sign(&raw).to_bytes())
    }
}

/// Checks `sig_hex` over the raw bytes of `hash_hex` against the hex public key `signer_hex`.
/// Returns a description of the failure.
pub(crate) fn check_signature(
    signer_hex: &str,
    hash_hex: &str,
    sig_hex: &str,
) -> Result<(), String> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(signer_hex, &mut key)
        .map_err(|_| "signer is not 64 hex digits".to_owned())?;
    let key =
        VerifyingKey::from_bytes(&key).map_err(|e| format!("signer is not an ed25519 key: {e}"))?;
    let mut raw = [0u8; 32];
    hex::decode_to_slice(hash_hex, &mut raw).map_err(|_| "hash is not 64 hex digits".to_owned())?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(sig_hex, &mut sig).map_err(|_| "sig is not 128 hex digits".to_owned())?;
    key.verify(&raw, &Signature::from_bytes(&sig))
        .map_err(|_| "ed25519 signature does not verify".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_verifies_and_a_changed_hash_does_not() {
        let signer = AuditSigner::from_seed(&[7u8; 32]);
        let hash = "11".repeat(32);
        let sig = signer.sign_hash(&hash);
        assert!(check_signature(&signer.public_key_hex(), &hash, &sig).is_ok());
        assert!(check_signature(&signer.public_key_hex(), &"12".repeat(32), &sig).is_err());
        let other = AuditSigner::from_seed(&[8u8; 32]);
        assert!(check_signature(&other.public_key_hex(), &hash, &sig).is_err());
    }

    #[test]
    fn seed_file_accepts_raw_and_hex_and_rejects_other_lengths() {
        let dir = std::env::temp_dir().join(format!("mend-seed-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let raw = dir.join("raw.key");
        std::fs::write(&raw, [3u8; 32]).unwrap();
        assert_eq!(read_seed_file(&raw).unwrap(), [3u8; 32]);
        let hexf = dir.join("hex.key");
        std::fs::write(&hexf, format!("{}\n", "03".repeat(32))).unwrap();
        assert_eq!(read_seed_file(&hexf).unwrap(), [3u8; 32]);
        let short = dir.join("short.key");
        std::fs::write(&short, [3u8; 31]).unwrap();
        let err = read_seed_file(&short).unwrap_err().to_string();
        assert!(err.contains("short.key") && err.contains("32"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
