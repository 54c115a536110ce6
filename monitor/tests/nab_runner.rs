//! The NAB runner end to end on the realAWSCloudwatch subset: every registered detector runs
//! cold over every file and is scored; the Numenta HTM reference outputs are scored by the same
//! code. Run with `--nocapture` to print the comparison table.

mod common;
use common::*;

use std::path::Path;

use mend_monitor::detectors::DETECTOR_NAMES;
use mend_monitor::nab::{NabReport, Profile, run_nab, score_reference, write_file_results_csv};

fn line(r: &NabReport) -> String {
    let s = |p: &str| r.profile(p).map_or(f64::NAN, |x| x.normalized_score);
    format!(
        "{:<18} standard {:>7.2}  reward_low_FP {:>7.2}  reward_low_FN {:>7.2}",
        r.detector,
        s("standard"),
        s("reward_low_FP_rate"),
        s("reward_low_FN_rate")
    )
}

#[test]
fn every_detector_scores_on_the_aws_subset_next_to_htm() {
    let dir = nab_dir();
    let windows = dir.join("combined_windows.json");
    let htm = score_reference(
        &dir,
        &windows,
        &dir.join("reference/numenta"),
        "numenta",
        &Profile::nab_defaults(),
    )
    .unwrap();
    println!("{}", line(&htm));
    // HTM beats the null detector on every profile but is not perfect.
    for p in &htm.profiles {
        assert!(
            p.normalized_score > 0.0 && p.normalized_score < 100.0,
            "{p:?}"
        );
    }
    let wrapped = ["onset:ewma", "onset:median_mad", "onset:holt_winters"];
    for name in DETECTOR_NAMES.iter().chain(&wrapped) {
        let report = run_nab(&dir, &windows, name).unwrap();
        println!("{}", line(&report));
        assert_eq!(report.profiles.len(), 3);
        for p in &report.profiles {
            assert_eq!(p.files.len(), 17);
            assert_eq!(report.detector, *name);
            // The optimiser can always fall back to "never detect", the null detector's score.
            assert!(p.normalized_score >= -1e-9, "{name} {p:?}");
            assert!(p.normalized_score <= 100.0, "{name} {p:?}");
        }
    }
}

#[test]
fn runs_are_deterministic_and_results_write_atomically() {
    let dir = nab_dir();
    let windows = dir.join("combined_windows.json");
    let a = run_nab(&dir, &windows, "ewma").unwrap();
    let b = run_nab(&dir, &windows, "ewma").unwrap();
    assert_eq!(a, b);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nab_runner_ewma.csv");
    write_file_results_csv(&a, &out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count\n"));
    assert_eq!(text.lines().count(), 1 + 3 * 17);
}

#[test]
fn unknown_detector_is_an_error_not_a_panic() {
    let dir = nab_dir();
    let err = run_nab(&dir, &dir.join("combined_windows.json"), "oracle").unwrap_err();
    assert!(err.to_string().contains("oracle"), "{err}");
}

#[test]
fn leave_one_file_out_chooses_on_the_other_files_only() {
    use mend_monitor::nab::{
        PROBATIONARY_PERCENT, leave_one_file_out_scores, load_corpus, load_detector_scores,
        optimize_threshold,
    };
    let dir = nab_dir();
    let corpus = load_corpus(&dir, &dir.join("combined_windows.json")).unwrap();
    let htm = load_detector_scores(&dir.join("reference/numenta"), "numenta", &corpus).unwrap();
    // A detector that never fires: it can only tie the null detector, so HTM is chosen.
    let silent: Vec<Vec<f64>> = htm.iter().map(|f| vec![0.0; f.len()]).collect();
    let profiles = Profile::nab_defaults();
    let standard = profiles.iter().find(|p| p.name == "standard").unwrap();
    let cv = leave_one_file_out_scores(
        &corpus,
        &[silent, htm.clone()],
        std::slice::from_ref(standard),
        PROBATIONARY_PERCENT,
    );
    let cv = &cv[0];
    println!("HTM leave-one-file-out standard {:.2}", cv.normalized_score);
    assert_eq!(cv.files.len(), corpus.files.len());
    let total: f64 = cv.files.iter().map(|f| f.score).sum();
    assert!((total - cv.raw_score).abs() < 1e-9);
    assert!(cv.files.iter().all(|f| f.candidate == 1));
    // Each threshold is the optimum of the other files alone.
    for (held, f) in cv.files.iter().enumerate().take(3) {
        let mut rest = corpus.clone();
        rest.files.remove(held);
        let mut scores = htm.clone();
        scores.remove(held);
        let t = optimize_threshold(&rest, &scores, standard, PROBATIONARY_PERCENT);
        assert_eq!(t.threshold, f.threshold, "{}", f.file);
    }
    assert!(cv.normalized_score > 0.0 && cv.normalized_score < 100.0);
}
