//! Golden test: our scorer, fed the Numenta HTM detector's published anomaly scores, reproduces
//! every per-file row of NAB's published result tables for the realAWSCloudwatch subset.
//! (The published per-row `S(t)_*` columns come from an older NAB scorer that wrote a value only
//! at detections, so they are not compared; the per-file tables are what NAB publishes.)

mod common;
use common::*;

use mend_monitor::nab::{
    NabCorpus, PROBATIONARY_PERCENT, Profile, load_corpus, load_detector_scores, load_profiles,
    probationary_length, score_profile,
};

fn corpus() -> NabCorpus {
    let dir = nab_dir();
    load_corpus(&dir, &dir.join("combined_windows.json")).unwrap()
}

#[derive(Debug, serde::Deserialize)]
struct PublishedRow {
    #[serde(rename = "Profile")]
    profile: String,
    #[serde(rename = "File")]
    file: String,
    #[serde(rename = "Threshold")]
    threshold: f64,
    #[serde(rename = "Score")]
    score: f64,
    #[serde(rename = "TP")]
    tp: u64,
    #[serde(rename = "TN")]
    tn: u64,
    #[serde(rename = "FP")]
    fp: u64,
    #[serde(rename = "FN")]
    fn_: u64,
    #[serde(rename = "Total_Count")]
    total: u64,
}

fn published(profile: &str) -> Vec<PublishedRow> {
    let path = nab_dir().join(format!(
        "reference/numenta/numenta_{profile}_scores_realAWSCloudwatch.csv"
    ));
    csv::Reader::from_path(&path)
        .unwrap()
        .deserialize()
        .map(|r| r.unwrap())
        .collect()
}

fn profiles() -> Vec<Profile> {
    load_profiles(&nab_dir().join("profiles.json")).unwrap()
}

#[test]
fn corpus_holds_the_17_labelled_aws_files_and_skips_reference_csvs() {
    let c = corpus();
    assert_eq!(c.files.len(), 17);
    assert_eq!(c.window_count(), 30);
    assert!(
        c.skipped.iter().all(|s| s.starts_with("reference/")),
        "{:?}",
        c.skipped
    );
    assert_eq!(profiles(), Profile::nab_defaults());
}

#[test]
fn reproduces_every_published_file_row_for_all_three_profiles() {
    let c = corpus();
    let scores = load_detector_scores(&nab_dir().join("reference/numenta"), "numenta", &c).unwrap();
    for profile in profiles() {
        let rows = published(&profile.name);
        assert_eq!(rows.len(), c.files.len(), "{}", profile.name);
        let threshold = rows[0].threshold;
        let ours = score_profile(
            &c,
            "numenta",
            &scores,
            &profile,
            Some(threshold),
            PROBATIONARY_PERCENT,
        );
        for row in &rows {
            assert_eq!(row.profile, profile.name);
            let f = ours.files.iter().find(|f| f.file == row.file).unwrap();
            let ctx = format!("{} {}", profile.name, row.file);
            assert!(
                (f.score - row.score).abs() < 1e-6,
                "{ctx}: score {} vs published {}",
                f.score,
                row.score
            );
            assert_eq!(
                (f.tp, f.tn, f.fp, f.fn_, f.total_count),
                (row.tp, row.tn, row.fp, row.fn_, row.total),
                "{ctx}: TP TN FP FN Total"
            );
        }
        // Normalised score, worked independently: the null detector never detects, so it
        // loses fnWeight per window that has a row after probation; perfect = tpWeight * windows.
        let scorable_windows = c
            .files
            .iter()
            .map(|f| {
                let p = probationary_length(f.series.timestamps.len(), PROBATIONARY_PERCENT);
                f.windows.iter().filter(|w| w.end as f64 >= p).count()
            })
            .sum::<usize>() as f64;
        let null = -profile.cost.fn_weight * scorable_windows;
        let perfect = 30.0 * profile.cost.tp_weight;
        let raw: f64 = rows.iter().map(|r| r.score).sum();
        let expected = 100.0 * (raw - null) / (perfect - null);
        assert!((ours.null_score - null).abs() < 1e-9, "{}", profile.name);
        assert!(
            (ours.normalized_score - expected).abs() < 1e-6,
            "{}: normalised {} vs {}",
            profile.name,
            ours.normalized_score,
            expected
        );
    }
}
