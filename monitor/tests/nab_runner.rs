//! The NAB runner end to end on the realAWSCloudwatch subset: every registered detector runs
//! cold over every file and is scored; the Numenta HTM reference outputs are scored by the same
//! code. Run with `--nocapture` to print the comparison table.

use std::path::{Path, PathBuf};

use mend_monitor::detectors::DETECTOR_NAMES;
use mend_monitor::nab::{NabReport, Profile, run_nab, score_reference, write_file_results_csv};

fn nab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab")
}

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
