//! What the NAB test files share: where the NAB subset lives and a detector's four headline scores.
// Each test file uses part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mend_monitor::nab::{
    NabCorpus, PROBATIONARY_PERCENT, Profile, leave_one_file_out_scores, score_detector,
};

/// Per-file, per-row anomaly scores of one detector.
pub(crate) type Scores = Vec<Vec<f64>>;

/// The NAB subset shipped beside the checkout (../shared/data/nab).
pub(crate) fn nab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab")
}

/// NAB's standard profile alone.
pub(crate) fn standard() -> Vec<Profile> {
    vec![Profile::standard()]
}

/// (standard, reward_low_FP_rate, reward_low_FN_rate, LOFO standard).
pub(crate) fn scores_of(corpus: &NabCorpus, scores: &Scores) -> [f64; 4] {
    let r = score_detector(
        corpus,
        "d",
        scores,
        &Profile::nab_defaults(),
        PROBATIONARY_PERCENT,
    );
    let s = |name: &str| r.profile(name).map_or(f64::NAN, |p| p.normalized_score);
    let lofo = leave_one_file_out_scores(
        corpus,
        std::slice::from_ref(scores),
        &standard(),
        PROBATIONARY_PERCENT,
    );
    [
        s("standard"),
        s("reward_low_FP_rate"),
        s("reward_low_FN_rate"),
        lofo[0].normalized_score,
    ]
}

/// Prints each detector's four scores (see [`scores_of`]) as a table on the NAB subset and checks
/// that each is a normalised NAB score (finite, above -100, at most 100: 0 is the null detector,
/// 100 the perfect one).
pub(crate) fn print_and_check_scores(corpus: &NabCorpus, rows: &[(&str, &Scores)]) {
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>10}",
        "detector (realAWSCloudwatch)", "standard", "low_FP", "low_FN", "LOFO std"
    );
    let mut table = Vec::new();
    for (name, s) in rows {
        let r = scores_of(corpus, s);
        println!(
            "{name:<44} {:>8.2} {:>8.2} {:>8.2} {:>10.2}",
            r[0], r[1], r[2], r[3]
        );
        table.push(r);
    }
    for r in &table {
        for v in r {
            assert!(v.is_finite() && *v > -100.0 && *v <= 100.0, "{r:?}");
        }
    }
}

/// Each file's scores are in [0, 1] and as long as the file.
pub(crate) fn assert_scores_fit_the_files(corpus: &NabCorpus, scores: &Scores) {
    for (f, s) in corpus.files.iter().zip(scores) {
        assert_eq!(s.len(), f.series.values.len());
        assert!(s.iter().all(|x| (0.0..=1.0).contains(x)));
    }
}
