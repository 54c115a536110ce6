//! ARTime (`detectors::artime`) against NAB's published outputs, row by row, and scored on
//! realAWSCloudwatch beside Numenta HTM with ARTime's published settings only (nothing chosen on
//! these files): as NAB feeds it (file range and length given before the first row) and cold
//! start (`--detector artime`). Run with `--nocapture` for the table; the figures are reported
//! whatever they show, so the test asserts the wiring, not a ranking.

mod common;
use common::*;

use std::path::Path;

use mend_monitor::detectors::{
    ArtimeConfig, DetectorConfig, DetectorError, artime_nab_scores, by_name,
};
use mend_monitor::nab::{
    NabCorpus, PROBATIONARY_PERCENT, Profile, load_corpus, load_detector_scores, score_profile,
};

/// The published non-zero scores of one file (`tests/fixtures/artime/`): (row count,
/// (timestamp, score) pairs).
fn published(file: &str) -> (usize, Vec<(String, f64)>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/artime")
        .join(format!("ARTime_{file}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rows = None;
    let mut scores = Vec::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("# rows: ") {
            rows = Some(n.parse().unwrap());
        } else if !line.starts_with('#') && !line.starts_with("timestamp") {
            let (t, s) = line.split_once(',').unwrap();
            scores.push((t.to_string(), s.parse().unwrap()));
        }
    }
    (rows.unwrap(), scores)
}

fn corpus() -> NabCorpus {
    let dir = nab_dir();
    load_corpus(&dir, &dir.join("combined_windows.json")).unwrap()
}

#[test]
fn scores_equal_nabs_published_outputs_row_by_row() {
    let corpus = corpus();
    for file in [
        "iio_us-east-1_i-a2eb1cd9_NetworkIn.csv",
        "ec2_cpu_utilization_77c1ca.csv",
    ] {
        let series = &corpus
            .files
            .iter()
            .find(|f| f.series.name.ends_with(file))
            .unwrap()
            .series;
        let (rows, nonzero) = published(file);
        assert_eq!(series.values.len(), rows, "{file}");
        let ours = artime_nab_scores(&series.values).unwrap();
        let mut expected = vec![0.0; rows];
        for (t, s) in &nonzero {
            let i = series
                .timestamps
                .iter()
                .position(|x| x.to_string() == *t)
                .unwrap_or_else(|| panic!("{file}: no row at {t}"));
            expected[i] = *s;
        }
        for (i, (a, b)) in ours.iter().zip(&expected).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6,
                "{file} row {i} ({}): ours {a}, published {b}",
                series.timestamps[i]
            );
        }
        assert!(
            nonzero.len() >= 3,
            "{file}: the comparison covers detections"
        );
    }
}

/// NAB's published per-file standard results of ARTime on the subset, at its whole-corpus
/// threshold (`tests/fixtures/artime/ARTime_standard_scores_realAWSCloudwatch.csv`).
fn published_file_results() -> Vec<(String, f64, f64, u64, u64, u64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/artime/ARTime_standard_scores_realAWSCloudwatch.csv");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("File,"))
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[0].to_string(),
                c[1].parse().unwrap(),
                c[2].parse().unwrap(),
                c[3].parse().unwrap(),
                c[4].parse().unwrap(),
                c[5].parse().unwrap(),
            )
        })
        .collect()
}

/// All 17 files, not only the two compared row by row: at NAB's published whole-corpus
/// threshold, our scores give every file's published Score, TP, FP and FN.
#[test]
fn every_file_gives_nabs_published_standard_results_at_its_threshold() {
    let corpus = corpus();
    let scores: Vec<Vec<f64>> = corpus
        .files
        .iter()
        .map(|f| artime_nab_scores(&f.series.values).unwrap())
        .collect();
    let published = published_file_results();
    assert_eq!(published.len(), corpus.files.len());
    let threshold = published[0].1;
    let ours = score_profile(
        &corpus,
        "ARTime",
        &scores,
        &Profile::standard(),
        Some(threshold),
        PROBATIONARY_PERCENT,
    );
    for (file, _, score, tp, fp, fn_) in &published {
        let r = ours.files.iter().find(|r| &r.file == file).unwrap();
        assert!(
            (r.score - score).abs() <= 1e-6,
            "{file}: score {} vs {score}",
            r.score
        );
        assert_eq!((r.tp, r.fp, r.fn_), (*tp, *fp, *fn_), "{file}");
    }
}

#[test]
fn scored_on_realawscloudwatch_beside_htm_with_published_settings_only() {
    let corpus = corpus();
    let dir = nab_dir();
    let htm = load_detector_scores(&dir.join("reference/numenta"), "numenta", &corpus).unwrap();
    // As NAB feeds it: raw scores (all in [0, 1]).
    let nab_fed: Vec<Vec<f64>> = corpus
        .files
        .iter()
        .map(|f| artime_nab_scores(&f.series.values).unwrap())
        .collect();
    // Cold start, through the registry, exactly as `mend detect nab --detector artime`.
    let cold = mend_monitor::nab::detector_scores(&corpus, "artime", None).unwrap();
    print_and_check_scores(
        &corpus,
        &[
            ("Numenta HTM (reference scores)", &htm),
            ("artime (NAB's feed: file range, length)", &nab_fed),
            ("artime (cold start, registry default)", &cold),
        ],
    );
    assert_scores_fit_the_files(&corpus, &nab_fed);
    assert_scores_fit_the_files(&corpus, &cold);
    let again = mend_monitor::nab::detector_scores(&corpus, "artime", None).unwrap();
    assert_eq!(again, cold, "scoring is deterministic");
}

#[test]
fn registry_builds_it_and_rejects_bad_settings() {
    let d = by_name("artime", None).unwrap();
    assert_eq!(d.name(), "artime");
    assert_eq!(
        DetectorConfig::default_for("artime").unwrap(),
        DetectorConfig::Artime(ArtimeConfig::default())
    );
    let bad = DetectorConfig::Artime(ArtimeConfig {
        input_range: Some([2.0, 1.0]),
        ..Default::default()
    });
    let err = by_name("artime", Some(&bad)).unwrap_err();
    assert!(matches!(
        err,
        DetectorError::InvalidConfig {
            field: "input_range[1]",
            ..
        }
    ));
    let short = DetectorConfig::Artime(ArtimeConfig {
        rows: 10,
        ..Default::default()
    });
    assert!(by_name("artime", Some(&short)).is_err());
}
