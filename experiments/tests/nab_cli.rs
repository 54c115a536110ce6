//! `mend detect nab` end to end on the NAB subset shipped beside the checkout: the published Numenta
//! HTM outputs scored by our scorer, ARTime as NAB feeds it and cold, the per-file files, and an
//! unknown detector's error.

mod common;

use std::path::{Path, PathBuf};

use common::{mend, run};

fn nab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab")
}

/// `(detector, standard, LOFO standard)` rows of a `summary.json`.
fn summary_rows(out: &Path) -> Vec<(String, f64, f64)> {
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    summary
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let name = row["detector"].as_str().unwrap().to_string();
            let standard = row["profiles"]["standard"]["normalized_score"]
                .as_f64()
                .unwrap();
            let lofo = row["standard_leave_one_file_out"]
                .as_f64()
                .unwrap_or(f64::NAN);
            (name, standard, lofo)
        })
        .collect()
}

#[test]
fn detect_nab_scores_htm_and_artime_with_nabs_feed_and_cold() {
    let nab = nab_dir();
    let out = tempfile::tempdir().unwrap();
    let data = nab.join("realAWSCloudwatch");
    let labels = nab.join("combined_windows.json");
    let reference = nab.join("reference/numenta");
    let stdout = mend(&[
        "detect",
        "nab",
        "--data",
        data.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--reference",
        reference.to_str().unwrap(),
        "--detector",
        "artime_nab",
        "--detector",
        "artime",
        "--out",
        out.path().to_str().unwrap(),
        "--quiet",
    ])
    .stdout;
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(stdout.contains("artime_nab"), "{stdout}");
    let rows = summary_rows(out.path());
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["numenta", "artime_nab", "artime"]);
    // HTM's published outputs: the score NAB's own scorer gives on this subset (monitor's golden
    // test pins every per-file row). ARTime with NAB's feed is the port the monitor tests check row
    // by row against NAB's published ARTime outputs; cold, it lacks the file's range and scores far
    // lower. Neither beats HTM here.
    let (htm, artime_nab, artime) = (rows[0].1, rows[1].1, rows[2].1);
    assert!((htm - 73.42).abs() < 0.01, "HTM {htm}");
    assert!(
        (artime_nab - 69.92).abs() < 0.01,
        "ARTime, NAB's feed {artime_nab}"
    );
    assert!(artime < artime_nab - 10.0, "cold {artime}");
    // HTM's leave-one-file-out, the yardstick of the nested estimate (`--nested`).
    assert!((rows[0].2 - 70.23).abs() < 0.01, "HTM LOFO {}", rows[0].2);
    assert!(
        rows[1].2 < artime_nab && rows[1].2 > 50.0,
        "LOFO {}",
        rows[1].2
    );
    for name in names {
        let csv = std::fs::read_to_string(out.path().join(format!("{name}_scores.csv"))).unwrap();
        // NAB's column order, then 17 files x 3 profiles.
        assert!(csv.starts_with("Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count"));
        assert_eq!(csv.lines().count(), 1 + 17 * 3, "{name}");
    }
}

#[test]
fn an_unknown_detector_is_named_once_with_the_known_ones() {
    let nab = nab_dir();
    let out = tempfile::tempdir().unwrap();
    let result = run(&[
        "detect",
        "nab",
        "--data",
        nab.join("realAWSCloudwatch").to_str().unwrap(),
        "--labels",
        nab.join("combined_windows.json").to_str().unwrap(),
        "--detector",
        "nope",
        "--out",
        out.path().to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8(result.stderr).unwrap();
    assert_eq!(
        stderr.matches("unknown detector `nope`").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("shift_cad_apriori"), "{stderr}");
    assert!(!out.path().join("summary.json").exists());
}
