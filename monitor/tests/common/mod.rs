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
    Profile::nab_defaults()
        .into_iter()
        .filter(|p| p.name == "standard")
        .collect()
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
