//! Corpus-level NAB scoring: threshold optimisation per profile over the whole corpus (NAB
//! `optimizer.py`), per-file scores at that threshold (NAB `scorer.py`), and normalisation
//! against the null detector (a constant 0.5, NAB `detectors/null`) and the perfect detector
//! (`tpWeight` per window, NAB `runner.py::normalize`).

use super::loader::{NabCorpus, Profile};
use super::sweeper::{
    AnomalyPoint, ThresholdScore, best_row, row_at_threshold, score_by_threshold, sweep_file,
};

/// One file's result at a profile's threshold (a row of NAB's `<detector>_<profile>_scores.csv`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileResult {
    /// Detector name.
    pub detector: String,
    /// Profile name.
    pub profile: String,
    /// Data file, relative to the data directory.
    pub file: String,
    /// The profile's optimised threshold.
    pub threshold: f64,
    /// NAB raw score of the file.
    pub score: f64,
    /// Detected rows in windows (probation excluded).
    pub tp: u64,
    /// Undetected rows outside windows (probation excluded).
    pub tn: u64,
    /// Detected rows outside windows (probation excluded).
    pub fp: u64,
    /// Undetected rows in windows (probation excluded).
    pub fn_: u64,
    /// Rows in the file, probation included (as in NAB's published `Total_Count`).
    pub total_count: u64,
}

/// A detector's result for one profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProfileScore {
    /// Profile name.
    pub profile: String,
    /// Threshold chosen by the corpus-wide optimisation.
    pub threshold: f64,
    /// Sum of the files' raw scores at that threshold.
    pub raw_score: f64,
    /// The null detector's raw score (its own optimised threshold).
    pub null_score: f64,
    /// The perfect detector's raw score: windows x `tpWeight`.
    pub perfect_score: f64,
    /// `100 * (raw - null) / (perfect - null)`.
    pub normalized_score: f64,
    /// Per-file results, in corpus order.
    pub files: Vec<FileResult>,
}

/// A detector's NAB results for every profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NabReport {
    /// Detector name.
    pub detector: String,
    /// One entry per profile, in profile order.
    pub profiles: Vec<ProfileScore>,
}

impl NabReport {
    /// The entry of the named profile.
    pub fn profile(&self, name: &str) -> Option<&ProfileScore> {
        self.profiles.iter().find(|p| p.profile == name)
    }

    /// All per-file rows of all profiles, ready to be written as CSV.
    pub fn file_rows(&self) -> impl Iterator<Item = &FileResult> {
        self.profiles.iter().flat_map(|p| p.files.iter())
    }
}

/// Every file's swept rows, windows numbered across the corpus (shared with the nested
/// leave-one-file-out).
pub(super) fn file_points(
    corpus: &NabCorpus,
    scores: &[Vec<f64>],
    profile: &Profile,
    probation_percent: f64,
) -> Vec<Vec<AnomalyPoint>> {
    let mut next_id = 0u32;
    corpus
        .files
        .iter()
        .zip(scores)
        .map(|(file, s)| {
            let points = sweep_file(s, &file.windows, &profile.cost, probation_percent, next_id);
            next_id += file.windows.len() as u32;
            points
        })
        .collect()
}

/// The corpus-wide best threshold for one profile (NAB `optimizeThreshold`).
/// `scores[i]` are the anomaly scores of `corpus.files[i]`, one per row.
pub fn optimize_threshold(
    corpus: &NabCorpus,
    scores: &[Vec<f64>],
    profile: &Profile,
    probation_percent: f64,
) -> ThresholdScore {
    let all: Vec<AnomalyPoint> = file_points(corpus, scores, profile, probation_percent)
        .into_iter()
        .flatten()
        .collect();
    let rows = score_by_threshold(&all, &profile.cost);
    // score_by_threshold always returns at least the no-detection row.
    best_row(&rows).unwrap_or(rows[0])
}

/// Every file's score and counts at `threshold` (NAB `scoreCorpus`).
pub fn score_files(
    corpus: &NabCorpus,
    detector: &str,
    scores: &[Vec<f64>],
    profile: &Profile,
    threshold: f64,
    probation_percent: f64,
) -> Vec<FileResult> {
    file_points(corpus, scores, profile, probation_percent)
        .iter()
        .zip(&corpus.files)
        .map(|(points, file)| {
            let row = row_at_threshold(&score_by_threshold(points, &profile.cost), threshold);
            FileResult {
                detector: detector.to_string(),
                profile: profile.name.clone(),
                file: file.series.name.clone(),
                threshold,
                score: row.score,
                tp: row.tp,
                tn: row.tn,
                fp: row.fp,
                fn_: row.fn_,
                total_count: points.len() as u64,
            }
        })
        .collect()
}

/// The null detector's raw score for a profile: a constant 0.5 on every row, threshold
/// optimised like any detector's (NAB `detectors/null/null_detector.py`).
pub fn null_score(corpus: &NabCorpus, profile: &Profile, probation_percent: f64) -> f64 {
    let scores: Vec<Vec<f64>> = corpus
        .files
        .iter()
        .map(|f| vec![0.5; f.series.timestamps.len()])
        .collect();
    // NAB optimises the null detector's threshold, scores each file at it and reads the total.
    let best = optimize_threshold(corpus, &scores, profile, probation_percent);
    score_files(
        corpus,
        "null",
        &scores,
        profile,
        best.threshold,
        probation_percent,
    )
    .iter()
    .fold(0.0, |acc, f| acc + f.score)
}

/// Scores one detector's output for one profile: at `threshold` when given (for example a
/// published one), else at the corpus-wide optimised threshold; then normalises.
pub fn score_profile(
    corpus: &NabCorpus,
    detector: &str,
    scores: &[Vec<f64>],
    profile: &Profile,
    threshold: Option<f64>,
    probation_percent: f64,
) -> ProfileScore {
    let threshold = threshold.unwrap_or_else(|| {
        optimize_threshold(corpus, scores, profile, probation_percent).threshold
    });
    let files = score_files(
        corpus,
        detector,
        scores,
        profile,
        threshold,
        probation_percent,
    );
    let raw_score = files.iter().fold(0.0, |acc, f| acc + f.score);
    let null = null_score(corpus, profile, probation_percent);
    let perfect = corpus.window_count() as f64 * profile.cost.tp_weight;
    let normalized_score = if perfect != null {
        100.0 * (raw_score - null) / (perfect - null)
    } else {
        0.0
    };
    ProfileScore {
        profile: profile.name.clone(),
        threshold,
        raw_score,
        null_score: null,
        perfect_score: perfect,
        normalized_score,
        files,
    }
}

/// Scores one detector's output on a corpus for every profile: optimised threshold, per-file
/// results, normalised score. `scores[i]` must have one value per row of `corpus.files[i]`
/// (the loader and the runner guarantee it).
pub fn score_detector(
    corpus: &NabCorpus,
    detector: &str,
    scores: &[Vec<f64>],
    profiles: &[Profile],
    probation_percent: f64,
) -> NabReport {
    NabReport {
        detector: detector.to_string(),
        profiles: profiles
            .iter()
            .map(|p| score_profile(corpus, detector, scores, p, None, probation_percent))
            .collect(),
    }
}
