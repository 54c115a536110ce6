//! Leave-one-file-out estimate of a detector's NAB score, for corpora too small to hold out a
//! separate tuning set (only the realAWSCloudwatch subset ships here). For each file, the
//! configuration (from a candidate list) and the threshold are chosen on the *other* files by
//! NAB's own optimiser; the held-out file is then scored at that choice. The held-out files'
//! raw scores add up to a corpus raw score, normalised against the whole corpus' null and
//! perfect detectors as NAB does. Unlike the usual NAB score, no file helped choose the
//! threshold or the setting it is scored with.

use serde::Serialize;

use crate::detectors::DetectorConfig;

use super::error::NabError;
use super::loader::{NabCorpus, Profile};
use super::runner::detector_scores_for;
use super::scoring::{null_score, optimize_threshold, score_files};

/// One held-out file's choice and score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOutFile {
    /// The file.
    pub file: String,
    /// Index of the configuration chosen on the other files.
    pub candidate: usize,
    /// Threshold chosen on the other files.
    pub threshold: f64,
    /// The held-out file's raw NAB score at that choice.
    pub score: f64,
}

/// Result of [`leave_one_file_out`] for one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossValidatedScore {
    /// Profile name.
    pub profile: String,
    /// Sum of the held-out raw scores.
    pub raw_score: f64,
    /// Normalised like NAB's final score (100 perfect, 0 null).
    pub normalized_score: f64,
    /// Per file, in corpus order.
    pub files: Vec<HeldOutFile>,
}

fn without(corpus: &NabCorpus, skip: usize) -> NabCorpus {
    NabCorpus {
        data_dir: corpus.data_dir.clone(),
        windows_path: corpus.windows_path.clone(),
        files: corpus
            .files
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .map(|(_, f)| f.clone())
            .collect(),
        skipped: corpus.skipped.clone(),
    }
}

fn only(corpus: &NabCorpus, keep: usize) -> NabCorpus {
    NabCorpus {
        files: vec![corpus.files[keep].clone()],
        ..without(corpus, usize::MAX)
    }
}

/// Leave-one-file-out NAB score of the best of `candidates` (one detector configuration each),
/// per profile (see the module docs). Ties between candidates go to the earlier one.
pub fn leave_one_file_out(
    corpus: &NabCorpus,
    candidates: &[DetectorConfig],
    profiles: &[Profile],
    probation_percent: f64,
) -> Result<Vec<CrossValidatedScore>, NabError> {
    let scores: Vec<Vec<Vec<f64>>> = candidates
        .iter()
        .map(|c| detector_scores_for(corpus, c))
        .collect::<Result<_, _>>()?;
    Ok(leave_one_file_out_scores(
        corpus,
        &scores,
        profiles,
        probation_percent,
    ))
}

/// [`leave_one_file_out`] over precomputed scores: `scores[c][f]` are candidate `c`'s anomaly
/// scores on `corpus.files[f]` (for example a published detector's results, one candidate).
pub fn leave_one_file_out_scores(
    corpus: &NabCorpus,
    scores: &[Vec<Vec<f64>>],
    profiles: &[Profile],
    probation_percent: f64,
) -> Vec<CrossValidatedScore> {
    let n = corpus.files.len();
    let mut out = Vec::with_capacity(profiles.len());
    for profile in profiles {
        let mut files = Vec::with_capacity(n);
        for held in 0..n {
            let rest = without(corpus, held);
            let mut best: Option<(usize, f64, f64)> = None;
            for (c, s) in scores.iter().enumerate() {
                let train: Vec<Vec<f64>> = s
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != held)
                    .map(|(_, v)| v.clone())
                    .collect();
                let t = optimize_threshold(&rest, &train, profile, probation_percent);
                if best.is_none_or(|(_, _, score)| t.score > score) {
                    best = Some((c, t.threshold, t.score));
                }
            }
            let Some((c, threshold, _)) = best else {
                continue;
            };
            let single = only(corpus, held);
            let result = score_files(
                &single,
                "cv",
                std::slice::from_ref(&scores[c][held]),
                profile,
                threshold,
                probation_percent,
            );
            files.push(HeldOutFile {
                file: corpus.files[held].series.name.clone(),
                candidate: c,
                threshold,
                score: result.iter().map(|r| r.score).sum(),
            });
        }
        let raw_score: f64 = files.iter().map(|f| f.score).sum();
        let null = null_score(corpus, profile, probation_percent);
        let perfect = corpus.window_count() as f64 * profile.cost.tp_weight;
        let normalized_score = if perfect != null {
            100.0 * (raw_score - null) / (perfect - null)
        } else {
            0.0
        };
        out.push(CrossValidatedScore {
            profile: profile.name.clone(),
            raw_score,
            normalized_score,
            files,
        });
    }
    out
}
