//! The nested leave-one-file-out (`nab/nested.rs`) and its grid (`nab/nested_grid.rs`): a toy
//! corpus whose right choice is known, equality with the plain leave-one-file-out over the same
//! candidates, the offline joins equal to the detectors they stand for, and determinism.

use std::path::Path;

use mend_monitor::detectors::{
    DetectorConfig, SHIFT_CAD_WEIGHT, ShiftConfig, shift_cad_apriori_config, shift_cad_config,
};
use mend_monitor::nab::{
    Join, NabCorpus, NestedGrid, NestedShiftAxes, PROBATIONARY_PERCENT, Profile,
    SyntheticCorpusConfig, WindowSpan, detector_scores_for, generate_synthetic, join_scores,
    leave_one_file_out_scores, nested_leave_one_file_out, nested_selection, to_corpus,
};

/// `files` synthetic series of `rows` rows (values only matter to real detectors).
fn synthetic(files: usize, rows: usize) -> NabCorpus {
    let generated = generate_synthetic(&SyntheticCorpusConfig {
        seed: 7,
        files,
        rows,
        ..Default::default()
    });
    to_corpus(&generated, Path::new("toy"))
}

/// One window per file, rows 600-700 of 1,000 (after the 150-row probation).
fn toy() -> NabCorpus {
    let mut corpus = synthetic(5, 1_000);
    for f in &mut corpus.files {
        f.windows = vec![WindowSpan {
            start: 600,
            end: 700,
        }];
    }
    corpus
}

/// A detector that scores 1 at `row` of every file and 0 elsewhere.
fn spike_at(corpus: &NabCorpus, row: usize) -> Vec<Vec<f64>> {
    corpus
        .files
        .iter()
        .map(|f| {
            (0..f.series.values.len())
                .map(|i| if i == row { 1.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

#[test]
fn every_fold_chooses_the_detector_that_fires_at_each_window_start() {
    let corpus = toy();
    // A false positive before the window, a late detection, the ideal one, a later duplicate
    // of the ideal one (a tie: the earlier candidate must win).
    let candidates = [
        spike_at(&corpus, 300),
        spike_at(&corpus, 690),
        spike_at(&corpus, 600),
        spike_at(&corpus, 600),
    ];
    let out = nested_selection(
        &corpus,
        candidates.len(),
        |c| Ok(candidates[c].clone()),
        &Profile::nab_defaults(),
        PROBATIONARY_PERCENT,
        |_| {},
    )
    .unwrap();
    assert_eq!(out.len(), 3);
    for p in &out {
        assert_eq!(p.folds.len(), corpus.files.len(), "{}", p.profile);
        for f in &p.folds {
            assert_eq!(f.candidate, 2, "{} {}", p.profile, f.file);
            assert_eq!(f.threshold, 1.0);
        }
        // A detection on each window's first row earns the true-positive weight: 100.
        assert!(
            (p.normalized_score - 100.0).abs() < 1e-9,
            "{}: {}",
            p.profile,
            p.normalized_score
        );
        assert_eq!(p.full_corpus.candidate, 2);
        assert!((p.full_corpus.normalized_score - 100.0).abs() < 1e-9);
    }
}

#[test]
fn equals_the_plain_leave_one_file_out_over_the_same_candidates() {
    let corpus = synthetic(8, 1_200);
    let mut candidates: Vec<Vec<Vec<f64>>> = [
        ShiftConfig::default(),
        ShiftConfig::a_priori(),
        ShiftConfig {
            long: 144,
            ..ShiftConfig::default()
        },
    ]
    .iter()
    .map(|s| detector_scores_for(&corpus, &DetectorConfig::Shift(*s)).unwrap())
    .collect();
    // Coarse scores make threshold ties, which must break the same way.
    candidates.push(
        candidates[0]
            .iter()
            .map(|f| f.iter().map(|s| (s * 4.0).round() / 4.0).collect())
            .collect(),
    );
    let profiles = Profile::nab_defaults();
    let plain = leave_one_file_out_scores(&corpus, &candidates, &profiles, PROBATIONARY_PERCENT);
    let nested = nested_selection(
        &corpus,
        candidates.len(),
        |c| Ok(candidates[c].clone()),
        &profiles,
        PROBATIONARY_PERCENT,
        |_| {},
    )
    .unwrap();
    for (p, n) in plain.iter().zip(&nested) {
        assert_eq!(p.profile, n.profile);
        assert_eq!(p.normalized_score, n.normalized_score, "{}", p.profile);
        for (pf, nf) in p.files.iter().zip(&n.folds) {
            assert_eq!(
                (&pf.file, pf.candidate, pf.threshold, pf.score),
                (&nf.file, nf.candidate, nf.threshold, nf.score)
            );
        }
    }
}

#[test]
fn the_grid_holds_the_past_choices_and_its_joins_equal_the_detectors() {
    let grid = NestedGrid::default();
    assert_eq!(grid.len(), 256 * 8);
    let all: Vec<DetectorConfig> = (0..grid.len()).filter_map(|c| grid.candidate(c)).collect();
    assert_eq!(all.len(), grid.len());
    assert!(grid.candidate(grid.len()).is_none());
    // Session 5's registered shift_cad, session 7's a-priori shift, and the a-priori fusion's
    // members and rest are all grid points.
    assert_eq!(SHIFT_CAD_WEIGHT, 0.35);
    assert!(all.contains(&DetectorConfig::Ensemble(shift_cad_config())));
    assert!(all.contains(&DetectorConfig::Shift(ShiftConfig::a_priori())));
    let apriori = shift_cad_apriori_config();
    assert!(all.iter().any(|c| matches!(c, DetectorConfig::Fusion(f)
        if f.members == apriori.members && f.rest_samples == apriori.rest_samples)));

    // The offline joins equal the detectors' own output, on a small corpus.
    let corpus = synthetic(3, 900);
    let shift = ShiftConfig::default();
    let cad = detector_scores_for(&corpus, &DetectorConfig::CadOse(Default::default())).unwrap();
    let shift_scores = detector_scores_for(&corpus, &DetectorConfig::Shift(shift)).unwrap();
    for join in [
        Join::ShiftAlone,
        Join::WeightedMax { weight: 0.3 },
        Join::Calibrated { rest_samples: 120 },
    ] {
        let live = detector_scores_for(&corpus, &mend_monitor::nab::candidate_config(shift, join))
            .unwrap();
        assert_eq!(
            live,
            join_scores(&shift, join, &shift_scores, &cad),
            "{join:?}"
        );
    }
}

fn small_grid() -> NestedGrid {
    NestedGrid {
        shift: NestedShiftAxes {
            warmup: vec![100],
            short: vec![6],
            long: vec![144, 2_016],
            quantile: vec![0.01],
            spread_floor: vec![0.02],
            range_scale: vec![0.2],
            alert_score: vec![0.3],
            rest_samples: vec![288],
        },
        joins: vec![
            Join::ShiftAlone,
            Join::WeightedMax { weight: 0.35 },
            Join::Calibrated { rest_samples: 120 },
        ],
    }
}

#[test]
fn the_grid_search_is_deterministic_and_reports_what_it_chose() {
    let corpus = synthetic(6, 1_000);
    let grid = small_grid();
    let run = || {
        let mut seen = Vec::new();
        let r = nested_leave_one_file_out(
            &corpus,
            &grid,
            &[Profile::standard()],
            PROBATIONARY_PERCENT,
            |done, total| seen.push((done, total)),
        )
        .unwrap();
        (r, seen)
    };
    let (a, seen) = run();
    let (b, _) = run();
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert_eq!(seen, (1..=6).map(|d| (d, 6)).collect::<Vec<_>>());
    assert_eq!(a.candidates, 6);
    let p = &a.profiles[0];
    assert_eq!(p.folds.len(), corpus.files.len());
    assert!(p.normalized_score.is_finite());
    // Every fold's choice and the all-files choice are listed with their configurations.
    for f in &p.folds {
        assert!(a.chosen.iter().any(|(c, _)| *c == f.candidate));
    }
    assert!(a.chosen.iter().any(|(c, _)| *c == p.full_corpus.candidate));
    // The live detectors of every candidate, through the plain leave-one-file-out, agree.
    let scores: Vec<Vec<Vec<f64>>> = (0..a.candidates)
        .map(|c| detector_scores_for(&corpus, &grid.candidate(c).unwrap()).unwrap())
        .collect();
    let plain = leave_one_file_out_scores(
        &corpus,
        &scores,
        &[Profile::standard()],
        PROBATIONARY_PERCENT,
    );
    assert_eq!(plain[0].normalized_score, p.normalized_score);
}
