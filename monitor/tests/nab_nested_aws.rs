//! The nested leave-one-file-out on NAB's realAWSCloudwatch subset with a small grid: session 4's
//! `shift` alone or joined with CAD OSE at session 5's weights. It must reproduce the plain
//! leave-one-file-out over the same candidates (session 5's "weight chosen per fold" figure,
//! `tests/nab_shift_cad.rs`), and its all-files choice must be the best candidate on the corpus.
//! The full grid (2,048 candidates) runs in release: `examples/nab_nested.rs`. Run with
//! `--nocapture` for the figures.

mod common;
use common::*;

use mend_monitor::detectors::{DetectorConfig, ShiftConfig};
use mend_monitor::nab::{
    Join, NestedGrid, NestedShiftAxes, PROBATIONARY_PERCENT, Profile, detector_scores_for,
    join_scores, leave_one_file_out_scores, load_corpus, load_detector_scores, nested_selection,
    normalized_score,
};

#[test]
fn nested_selection_reproduces_the_weight_per_fold_estimate_on_real_aws() {
    let dir = nab_dir();
    let corpus = load_corpus(&dir, &dir.join("combined_windows.json")).unwrap();
    let shift = ShiftConfig::default();
    let grid = NestedGrid {
        shift: NestedShiftAxes {
            warmup: vec![shift.warmup],
            short: vec![shift.short],
            long: vec![shift.long],
            quantile: vec![shift.quantile],
            spread_floor: vec![shift.spread_floor],
            range_scale: vec![shift.range_scale],
            alert_score: vec![shift.alert_score],
            rest_samples: vec![shift.rest_samples],
        },
        joins: [0.25, 0.3, 0.35, 0.4]
            .into_iter()
            .map(|weight| Join::WeightedMax { weight })
            .chain(std::iter::once(Join::ShiftAlone))
            .collect(),
    };
    let shift_scores = detector_scores_for(&corpus, &DetectorConfig::Shift(shift)).unwrap();
    let cad = detector_scores_for(&corpus, &DetectorConfig::CadOse(Default::default())).unwrap();
    let candidates: Vec<Vec<Vec<f64>>> = grid
        .joins
        .iter()
        .map(|&j| join_scores(&shift, j, &shift_scores, &cad))
        .collect();
    let profiles = Profile::nab_defaults();
    let nested = nested_selection(
        &corpus,
        candidates.len(),
        |c| Ok(candidates[c].clone()),
        &profiles,
        PROBATIONARY_PERCENT,
        |_| {},
    )
    .unwrap();
    let plain = leave_one_file_out_scores(&corpus, &candidates, &profiles, PROBATIONARY_PERCENT);
    let htm = load_detector_scores(&dir.join("reference/numenta"), "numenta", &corpus).unwrap();
    for ((n, p), profile) in nested.iter().zip(&plain).zip(&profiles) {
        assert_eq!(n.normalized_score, p.normalized_score, "{}", n.profile);
        let picked: Vec<usize> = n.folds.iter().map(|f| f.candidate).collect();
        assert_eq!(
            picked,
            p.files.iter().map(|f| f.candidate).collect::<Vec<_>>()
        );
        // The all-files choice is the corpus optimum among the candidates.
        let each: Vec<f64> = candidates
            .iter()
            .map(|s| normalized_score(&corpus, s, profile, PROBATIONARY_PERCENT))
            .collect();
        let top = each.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(n.full_corpus.normalized_score, top, "{}", n.profile);
        assert_eq!(each[n.full_corpus.candidate], top);
        let htm_lofo = leave_one_file_out_scores(
            &corpus,
            std::slice::from_ref(&htm),
            std::slice::from_ref(profile),
            PROBATIONARY_PERCENT,
        );
        println!(
            "{}: nested {:.2} (joins picked {:?}), all-files choice {:?} {:.2}; HTM LOFO {:.2}",
            n.profile,
            n.normalized_score,
            picked,
            grid.joins[n.full_corpus.candidate],
            top,
            htm_lofo[0].normalized_score
        );
        assert!(n.normalized_score > 0.0 && n.normalized_score < 100.0);
    }
}
