//! Scorer edge cases against values worked by hand from NAB's rules
//! (shared/data/nab/README.md; numenta/NAB `nab/sweeper.py`):
//! - relative position in a window y = -(right - i + 1) / width, score 2*sigmoid(-5y) - 1,
//!   divided by 2*sigmoid(5) - 1 = 0.98661 (`maxTP`);
//! - after a window, p = (i - right) / (width - 1), score fpWeight * (2*sigmoid(-5p) - 1),
//!   -fpWeight when p > 3 or when no window precedes;
//! - probation = min(floor(0.15 n), 750) rows, never scored.

use std::path::PathBuf;

use mend_monitor::nab::{
    LabelledSeries, NabCorpus, NabSeries, PROBATIONARY_PERCENT, Profile, Timestamp, WindowSpan,
    optimize_threshold, probationary_length, row_at_threshold, score_by_threshold, score_files,
    score_profile, sweep_file,
};

fn standard() -> Profile {
    Profile::nab_defaults()
        .into_iter()
        .find(|p| p.name == "standard")
        .unwrap()
}

/// A one-file corpus of `n` five-minute rows with the given windows.
fn corpus(n: usize, windows: &[(usize, usize)]) -> NabCorpus {
    corpus_of(&[(n, windows)])
}

fn corpus_of(files: &[(usize, &[(usize, usize)])]) -> NabCorpus {
    NabCorpus {
        data_dir: PathBuf::from("mem"),
        windows_path: PathBuf::from("mem/windows.json"),
        files: files
            .iter()
            .enumerate()
            .map(|(k, (n, windows))| LabelledSeries {
                series: NabSeries {
                    name: format!("cat/f{k}.csv"),
                    path: PathBuf::from(format!("mem/cat/f{k}.csv")),
                    timestamps: (0..*n as i64).map(|i| Timestamp(i * 300_000_000)).collect(),
                    values: vec![0.0; *n],
                },
                windows: windows
                    .iter()
                    .map(|&(start, end)| WindowSpan { start, end })
                    .collect(),
            })
            .collect(),
        skipped: vec![],
    }
}

/// Scores of `n` rows, 1.0 at `hits`, 0.0 elsewhere.
fn detections(n: usize, hits: &[usize]) -> Vec<f64> {
    let mut v = vec![0.0; n];
    for &h in hits {
        v[h] = 1.0;
    }
    v
}

fn file_score(n: usize, windows: &[(usize, usize)], hits: &[usize]) -> (f64, u64, u64, u64, u64) {
    let c = corpus(n, windows);
    let r = &score_files(
        &c,
        "t",
        &[detections(n, hits)],
        &standard(),
        0.5,
        PROBATIONARY_PERCENT,
    )[0];
    (r.score, r.tp, r.tn, r.fp, r.fn_)
}

#[test]
fn probation_is_fifteen_percent_capped_at_750_rows() {
    assert_eq!(probationary_length(20, 0.15), 3.0);
    assert_eq!(probationary_length(4032, 0.15), 604.0);
    assert_eq!(probationary_length(10_000, 0.15), 750.0);
    assert_eq!(probationary_length(0, 0.15), 0.0);
}

#[test]
fn window_wholly_in_probation_is_not_scored() {
    // 20 rows: probation is rows 0..=2; the window [1, 2] lies inside it.
    let (score, tp, tn, fp, fn_) = file_score(20, &[(1, 2)], &[]);
    assert_eq!((score, tp, tn, fp, fn_), (0.0, 0, 17, 0, 0));
    // A detection in probation changes nothing either.
    assert_eq!(file_score(20, &[(1, 2)], &[1]).0, 0.0);
}

#[test]
fn window_straddling_probation_is_scored_from_its_first_scorable_row() {
    // Window [2, 5], width 4; probation rows 0..=2. Missed: -fnWeight.
    assert_eq!(file_score(20, &[(2, 5)], &[]), (-1.0, 0, 14, 0, 3));
    // Detection at row 3: y = -(5 - 3 + 1) / 4 = -0.75 -> tanh(1.875) / tanh(2.5) = 0.966989.
    let (score, tp, ..) = file_score(20, &[(2, 5)], &[3]);
    assert!((score - 0.966_989_087_800_060_5).abs() < 1e-12, "{score}");
    assert_eq!(tp, 1);
}

#[test]
fn only_the_earliest_detection_in_a_window_counts() {
    // Window [10, 14]: a detection at the left edge scores tpWeight exactly; adding later
    // ones adds rows to TP but nothing to the score.
    let (one, ..) = file_score(40, &[(10, 14)], &[10]);
    let (three, tp, ..) = file_score(40, &[(10, 14)], &[10, 12, 14]);
    assert!((one - 1.0).abs() < 1e-12);
    assert_eq!(one, three);
    assert_eq!(tp, 3);
    // At the right edge: y = -1/5 -> tanh(0.5) / tanh(2.5) = 0.468387.
    let (late, ..) = file_score(40, &[(10, 14)], &[14]);
    assert!((late - 0.468_386_843_902_278_1).abs() < 1e-12, "{late}");
}

#[test]
fn detection_after_the_last_window_is_weighted_by_its_distance() {
    // Window [10, 14] missed; detection at row 17: p = (17 - 14) / (5 - 1) = 0.75,
    // 0.11 * (2 sigmoid(-3.75) - 1) = -0.104945; plus -1 for the missed window.
    let (score, tp, tn, fp, fn_) = file_score(40, &[(10, 14)], &[17]);
    assert!((score - -1.104_944_978_619_794_5).abs() < 1e-12, "{score}");
    assert_eq!((tp, tn, fp, fn_), (0, 28, 1, 5));
    // Detection at row 30: p = 16 / 4 = 4 > 3 -> -fpWeight.
    let (far, ..) = file_score(40, &[(10, 14)], &[30]);
    assert!((far - (-1.0 - 0.11)).abs() < 1e-12, "{far}");
}

#[test]
fn file_without_windows_costs_fp_weight_per_detection() {
    assert_eq!(file_score(40, &[], &[]).0, 0.0);
    let (score, tp, tn, fp, fn_) = file_score(40, &[], &[20, 21]);
    assert!((score - -0.22).abs() < 1e-12);
    assert_eq!((tp, tn, fp, fn_), (0, 32, 2, 0));
}

#[test]
fn empty_file_scores_zero_and_does_not_panic() {
    let c = corpus(0, &[]);
    let r = &score_files(&c, "t", &[vec![]], &standard(), 0.5, PROBATIONARY_PERCENT)[0];
    assert_eq!(
        (r.score, r.tp, r.tn, r.fp, r.fn_, r.total_count),
        (0.0, 0, 0, 0, 0, 0)
    );
    let p = score_profile(&c, "t", &[vec![]], &standard(), None, PROBATIONARY_PERCENT);
    assert_eq!(p.raw_score, 0.0);
    // No window: perfect == null == 0, normalisation is defined as 0 instead of NaN.
    assert_eq!(p.normalized_score, 0.0);
}

#[test]
fn sweep_lists_thresholds_from_1_1_downwards_with_counts() {
    let c = corpus(20, &[(10, 12)]);
    let mut scores = vec![0.1; 20];
    scores[10] = 0.9;
    scores[15] = 0.7;
    let points = sweep_file(&scores, &c.files[0].windows, &standard().cost, 0.15, 0);
    let rows = score_by_threshold(&points, &standard().cost);
    let thresholds: Vec<f64> = rows.iter().map(|r| r.threshold).collect();
    assert_eq!(thresholds, vec![1.1, 0.9, 0.7, 0.1]);
    assert_eq!((rows[0].score, rows[0].fn_, rows[0].tn), (-1.0, 3, 14));
    assert!((rows[1].score - 1.0).abs() < 1e-12);
    // Between listed thresholds the row above applies; exact matches apply themselves.
    assert_eq!(row_at_threshold(&rows, 0.8).threshold, 0.9);
    assert_eq!(row_at_threshold(&rows, 0.7).threshold, 0.7);
    assert_eq!(row_at_threshold(&rows, 2.0).threshold, 1.1);
    assert_eq!(row_at_threshold(&rows, 0.0).threshold, 0.1);
}

#[test]
fn optimiser_breaks_ties_towards_the_highest_threshold() {
    // Window [10, 14] in a 40-row file. Detections at 0.9 (row 10) and 0.8 (row 12, same
    // window): both thresholds score 1.0; NAB keeps the first, i.e. 0.9.
    let c = corpus(40, &[(10, 14)]);
    let mut scores = vec![0.0; 40];
    scores[10] = 0.9;
    scores[12] = 0.8;
    let best = optimize_threshold(&c, &[scores], &standard(), PROBATIONARY_PERCENT);
    assert_eq!(best.threshold, 0.9);
    assert!((best.score - 1.0).abs() < 1e-12);
}

#[test]
fn optimiser_pools_files_and_normalises_against_null_and_perfect() {
    // Two files, one window each. A detector that hits both left edges and nothing else is
    // perfect: 100. The null detector misses both: -2; perfect is 2.
    let c = corpus_of(&[(40, &[(10, 14)]), (40, &[(20, 24)])]);
    let scores = vec![detections(40, &[10]), detections(40, &[20])];
    let p = score_profile(&c, "t", &scores, &standard(), None, PROBATIONARY_PERCENT);
    assert_eq!(p.null_score, -2.0);
    assert_eq!(p.perfect_score, 2.0);
    assert!((p.normalized_score - 100.0).abs() < 1e-9);
    // Hitting one of the two windows: raw 1 - 1 = 0, normalised 100 * 2 / 4 = 50.
    let half = vec![detections(40, &[10]), detections(40, &[])];
    let p = score_profile(&c, "t", &half, &standard(), None, PROBATIONARY_PERCENT);
    assert!((p.normalized_score - 50.0).abs() < 1e-9);
}
