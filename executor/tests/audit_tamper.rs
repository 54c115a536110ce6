//! Exhaustive tamper tests of the audit log on a small log (a genesis record and 5 decisions):
//! every single-byte change, byte insertion, record deletion, adjacent swap, duplication/insertion
//! and truncation is caught, and the error names the first record (line) that was touched.

use std::collections::BTreeMap;
use std::path::Path;

use mend_executor::audit::{
    AuditError, AuditSigner, AuditWriter, ChainCheck, Head, HeadStatus, VerifyOptions, head_path,
    verify, verify_bytes, verify_with,
};
use mend_executor::decision::{
    Action, ActionKind, Decision, GuardVerdict, Outcome, Verdict, observation_digest,
};

fn decision(i: usize) -> Decision {
    let mut fields = BTreeMap::new();
    fields.insert("mode".to_owned(), serde_json::json!("shadow"));
    fields.insert("step".to_owned(), serde_json::json!(i));
    Decision {
        obs_digest: observation_digest(&[i as f64, 0.5]),
        action: Action {
            namespace: "shop".into(),
            service: "api".into(),
            kind: ActionKind::Restart {
                replica: Some(i % 3),
            },
        },
        probabilities: vec![0.125, 0.75, 0.125],
        verdicts: vec![
            GuardVerdict {
                guard: "allowlist".into(),
                verdict: Verdict::Allow,
            },
            GuardVerdict {
                guard: "shadow".into(),
                verdict: Verdict::Deny {
                    reason: "shadow mode".into(),
                },
            },
        ],
        outcome: Outcome::NotActed {
            reason: "shadow mode".into(),
        },
        fields,
    }
}

/// Writes a 6-record log; returns (log bytes, head).
fn small_log(dir: &Path, signer: Option<AuditSigner>) -> (Vec<u8>, Head) {
    let path = dir.join("audit.jsonl");
    let mut w = AuditWriter::open(&path, signer, 1_700_000_000_000).unwrap();
    for i in 1..=5 {
        assert_eq!(
            w.append(1_700_000_000_000 + i as u64 * 1000, &decision(i))
                .unwrap(),
            i as u64
        );
    }
    w.close().unwrap();
    let head: Head = serde_json::from_slice(&std::fs::read(head_path(&path)).unwrap()).unwrap();
    (std::fs::read(&path).unwrap(), head)
}

/// One small log shared by the property tests (writing one per case would fsync thousands of times).
fn shared_small_log() -> &'static (Vec<u8>, Head) {
    static LOG: std::sync::OnceLock<(Vec<u8>, Head)> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        small_log(dir.path(), None)
    })
}

/// 1-based line of each byte offset (a newline belongs to the line it ends).
fn line_of_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut line = 1;
    bytes
        .iter()
        .map(|&b| {
            let l = line;
            if b == b'\n' {
                line += 1;
            }
            l
        })
        .collect()
}

fn bad_line(bytes: &[u8], head: &Head, options: &VerifyOptions) -> usize {
    match verify_bytes(Path::new("audit.jsonl"), bytes, Some(head), options) {
        Err(AuditError::Tampered { line, .. }) => line,
        Ok(report) => panic!("tampered log verified: {report:?}"),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// First 1-based line where `changed` differs from `original`.
fn first_difference(original: &[Vec<u8>], changed: &[Vec<u8>]) -> usize {
    (0..original.len().max(changed.len()))
        .find(|&i| original.get(i) != changed.get(i))
        .map(|i| i + 1)
        .unwrap()
}

fn every_single_byte_change_is_caught(signer: Option<AuditSigner>, replacements: &[fn(u8) -> u8]) {
    let dir = tempfile::tempdir().unwrap();
    let options = VerifyOptions {
        require_head: true,
        public_key: signer.as_ref().map(AuditSigner::public_key),
    };
    let (bytes, head) = small_log(dir.path(), signer);
    let report = verify_bytes(Path::new("audit.jsonl"), &bytes, Some(&head), &options).unwrap();
    assert_eq!(
        (report.records, report.decisions, report.head),
        (6, 5, HeadStatus::Matched)
    );
    let line_of = line_of_offsets(&bytes);
    let mut checked = 0;
    for offset in 0..bytes.len() {
        for replace in replacements {
            let new = replace(bytes[offset]);
            if new == bytes[offset] {
                continue;
            }
            let mut changed = bytes.clone();
            changed[offset] = new;
            assert_eq!(
                bad_line(&changed, &head, &options),
                line_of[offset],
                "byte {offset} -> {new:#x}"
            );
            checked += 1;
        }
    }
    assert!(checked >= bytes.len() * 2, "only {checked} changes tried");
}

#[test]
fn every_single_byte_change_is_caught_unsigned() {
    every_single_byte_change_is_caught(
        None,
        &[
            |b| b ^ 0x01,
            |b| b ^ 0x20,
            |b| b ^ 0x80,
            |_| b' ',
            |_| b'\n',
            |_| b'0',
            |_| b'"',
            |_| b'}',
        ],
    );
}

#[test]
fn every_single_byte_change_is_caught_signed() {
    every_single_byte_change_is_caught(
        Some(AuditSigner::from_seed(&[42; 32])),
        &[|b| b ^ 0x01, |_| b' ', |_| b'\n'],
    );
}

#[test]
fn every_inserted_byte_is_caught_even_when_the_json_means_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, head) = small_log(dir.path(), None);
    let line_of = line_of_offsets(&bytes);
    let options = VerifyOptions::default();
    for offset in 0..=bytes.len() {
        for byte in [b' ', b'\n', b'0'] {
            let mut changed = bytes.clone();
            changed.insert(offset, byte);
            // A newline inserted just before a line's own newline adds an empty line after it.
            let empty_line_after = byte == b'\n' && bytes.get(offset) == Some(&b'\n');
            let expected = line_of
                .get(offset)
                .map_or(7, |&l| l + usize::from(empty_line_after));
            assert_eq!(
                bad_line(&changed, &head, &options),
                expected,
                "insert {byte:#x} at {offset}"
            );
        }
    }
    // Same meaning, other bytes: an escaped letter.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let third_line_start = text.match_indices('\n').nth(1).unwrap().0 + 1;
    let (before, after) = text.split_at(third_line_start);
    let changed = format!("{before}{}", after.replacen("\"api\"", "\"\\u0061pi\"", 1));
    assert_eq!(bad_line(changed.as_bytes(), &head, &options), 3);
}

#[test]
fn every_deletion_swap_duplication_and_insertion_of_records_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, head) = small_log(dir.path(), None);
    let original = lines(&bytes);
    let options = VerifyOptions::default();
    let mut variants: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    for k in 0..original.len() {
        let mut v = original.clone();
        v.remove(k);
        variants.push((format!("delete {k}"), v));
        if k + 1 < original.len() {
            let mut v = original.clone();
            v.swap(k, k + 1);
            variants.push((format!("swap {k}"), v));
        }
    }
    for position in 0..=original.len() {
        for source in 0..original.len() {
            let mut v = original.clone();
            v.insert(position, original[source].clone());
            variants.push((format!("insert copy of {source} at {position}"), v));
        }
    }
    assert_eq!(variants.len(), 6 + 5 + 7 * 6);
    for (what, v) in &variants {
        let expected = first_difference(&original, v);
        assert_eq!(bad_line(&v.concat(), &head, &options), expected, "{what}");
    }
}

#[test]
fn every_truncation_is_caught_with_the_head_and_whole_records_need_it() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, head) = small_log(dir.path(), None);
    let line_of = line_of_offsets(&bytes);
    let options = VerifyOptions::default();
    for cut in 0..bytes.len() {
        assert_eq!(
            bad_line(&bytes[..cut], &head, &options),
            line_of[cut],
            "cut at {cut}"
        );
    }
    // Without a head anchor, cutting whole records from the end is undetectable (documented limit)...
    let last_line_start = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let cut = &bytes[..last_line_start];
    let report = verify_bytes(Path::new("a"), cut, None, &options).unwrap();
    assert_eq!((report.records, report.head), (5, HeadStatus::Absent));
    // ...which is why `require_head` exists.
    let strict = VerifyOptions {
        require_head: true,
        public_key: None,
    };
    assert!(matches!(
        verify_bytes(Path::new("a"), cut, None, &strict),
        Err(AuditError::BadHead { .. })
    ));
}

#[test]
fn verify_reads_files_and_its_error_names_file_line_seq_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = small_log(dir.path(), None);
    let path = dir.path().join("audit.jsonl");
    assert_eq!(verify(&path).unwrap().records, 6);
    let mut v = lines(&bytes);
    v.swap(2, 3);
    std::fs::write(&path, v.concat()).unwrap();
    let err = verify(&path).unwrap_err();
    match &err {
        AuditError::Tampered {
            line, seq, check, ..
        } => {
            assert_eq!((*line, *seq), (3, Some(3)));
            assert_eq!(
                *check,
                ChainCheck::Sequence {
                    expected: 2,
                    found: 3
                }
            );
        }
        other => panic!("{other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("audit.jsonl") && message.contains("line 3") && message.contains("seq 3"),
        "{message}"
    );
    assert!(message.contains("sequence check failed"), "{message}");
}

#[test]
fn a_signed_log_rejects_another_pinned_key_and_a_forged_head() {
    let dir = tempfile::tempdir().unwrap();
    let signer = AuditSigner::from_seed(&[1; 32]);
    let (_, _) = small_log(dir.path(), Some(signer.clone()));
    let path = dir.path().join("audit.jsonl");
    let pinned = VerifyOptions {
        require_head: true,
        public_key: Some(signer.public_key()),
    };
    assert_eq!(verify_with(&path, &pinned).unwrap().signed, 6);
    let other = VerifyOptions {
        require_head: true,
        public_key: Some(AuditSigner::from_seed(&[2; 32]).public_key()),
    };
    let err = verify_with(&path, &other).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Tampered {
                line: 1,
                check: ChainCheck::Signer { .. },
                ..
            }
        ),
        "{err}"
    );
    // A head whose signature was dropped is refused.
    let mut head: Head = serde_json::from_slice(&std::fs::read(head_path(&path)).unwrap()).unwrap();
    head.sig = None;
    std::fs::write(head_path(&path), serde_json::to_vec(&head).unwrap()).unwrap();
    assert!(matches!(
        verify_with(&path, &pinned),
        Err(AuditError::BadHead { .. })
    ));
}

#[test]
fn the_writer_resumes_a_log_and_refuses_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut w = AuditWriter::open(&path, None, 5).unwrap();
    w.append(6, &decision(1)).unwrap();
    drop(w);
    let mut w = AuditWriter::open(&path, None, 7).unwrap();
    assert_eq!(w.next_seq(), 2);
    w.append(8, &decision(2)).unwrap();
    drop(w);
    assert_eq!(verify(&path).unwrap().records, 3);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        AuditWriter::open(&path, None, 9),
        Err(AuditError::Tampered { line: 3, .. })
    ));
}

#[test]
fn a_non_finite_probability_is_refused_with_its_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = AuditWriter::open(&dir.path().join("a.jsonl"), None, 0).unwrap();
    let mut d = decision(1);
    d.probabilities[1] = f64::NAN;
    let err = w.append(1, &d).unwrap_err().to_string();
    assert!(
        err.contains("probabilities[1]") && err.contains("finite"),
        "{err}"
    );
    assert_eq!(w.next_seq(), 1, "nothing was written");
}

#[test]
fn a_head_one_record_behind_is_a_crash_and_the_writer_brings_it_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut w = AuditWriter::open(&path, None, 0).unwrap();
    w.append(1, &decision(1)).unwrap();
    let head_after_1 = std::fs::read(head_path(&path)).unwrap();
    w.append(2, &decision(2)).unwrap();
    drop(w);
    // As if the writer died after appending record 2 but before replacing the head.
    std::fs::write(head_path(&path), &head_after_1).unwrap();
    assert_eq!(verify(&path).unwrap().head, HeadStatus::OneBehind);
    // Two behind is not a crash.
    let mut w = AuditWriter::open(&path, None, 3).unwrap();
    assert_eq!(
        verify(&path).unwrap().head,
        HeadStatus::Matched,
        "open repaired the head"
    );
    w.append(3, &decision(3)).unwrap();
    drop(w);
    std::fs::write(head_path(&path), &head_after_1).unwrap();
    let err = verify(&path).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Tampered {
                line: 3,
                seq: Some(2),
                check: ChainCheck::Head {
                    head_seq: 1,
                    log_seq: 3,
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// The verifier never panics, whatever the bytes and head.
    #[test]
    fn verify_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), seq in proptest::prelude::any::<u64>()) {
        let head = Head { seq, line_sha256: "0".repeat(64), sig: None };
        let _ = verify_bytes(Path::new("fuzz"), &bytes, Some(&head), &VerifyOptions::default());
        let _ = verify_bytes(Path::new("fuzz"), &bytes, None, &VerifyOptions { require_head: true, public_key: Some([7; 32]) });
    }

    /// Any splice of random bytes into a valid log is caught.
    #[test]
    fn random_splices_are_caught(at in 0usize..2000, cut in 0usize..8, insert in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8)) {
        proptest::prop_assume!(cut > 0 || !insert.is_empty());
        let (bytes, head) = shared_small_log();
        let at = at % bytes.len();
        let end = (at + cut).min(bytes.len());
        let mut changed = bytes[..at].to_vec();
        changed.extend_from_slice(&insert);
        changed.extend_from_slice(&bytes[end..]);
        proptest::prop_assume!(&changed != bytes);
        let result = verify_bytes(Path::new("a"), &changed, Some(head), &VerifyOptions::default());
        proptest::prop_assert!(result.is_err(), "splice at {} verified", at);
    }
}
