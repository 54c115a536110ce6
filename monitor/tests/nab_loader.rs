//! Malformed NAB input gives an error that names the file, the line or window, and the field.

use std::path::{Path, PathBuf};

use mend_monitor::nab::{NabError, load_corpus, load_detector_scores, load_series, load_windows};

/// A fresh folder under cargo's per-test temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nab_loader_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("cat")).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

const GOOD: &str =
    "timestamp,value\n2014-02-14 14:30:00,1.0\n2014-02-14 14:35:00,2.0\n2014-02-14 14:40:00,3.0\n";

#[test]
fn bad_timestamp_names_file_line_and_field() {
    let dir = scratch("bad_ts");
    let file = dir.join("cat/a.csv");
    write(
        &file,
        "timestamp,value\n2014-02-14 14:30:00,1.0\n2014-02-31 14:35:00,2.0\n",
    );
    let err = load_series(&file, "cat/a.csv").unwrap_err();
    assert!(
        matches!(&err, NabError::BadTimestamp { line: 3, field, .. } if field == "timestamp"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("a.csv") && msg.contains("line 3") && msg.contains("2014-02-31"));
}

#[test]
fn missing_column_names_file_and_column() {
    let dir = scratch("missing_col");
    let file = dir.join("cat/a.csv");
    write(&file, "timestamp,val\n2014-02-14 14:30:00,1.0\n");
    let err = load_series(&file, "cat/a.csv").unwrap_err();
    assert!(
        matches!(&err, NabError::MissingColumn { column, .. } if column == "value"),
        "{err:?}"
    );
    assert!(err.to_string().contains("a.csv"));
}

#[test]
fn bad_value_and_short_record_name_the_line() {
    let dir = scratch("bad_value");
    let file = dir.join("cat/a.csv");
    write(&file, "timestamp,value\n2014-02-14 14:30:00,abc\n");
    let err = load_series(&file, "cat/a.csv").unwrap_err();
    assert!(
        matches!(&err, NabError::BadValue { line: 2, .. }),
        "{err:?}"
    );
    write(
        &file,
        "timestamp,value\n2014-02-14 14:30:00,1\n2014-02-14 14:35:00\n",
    );
    let err = load_series(&file, "cat/a.csv").unwrap_err();
    assert!(matches!(&err, NabError::Csv { line: 3, .. }), "{err:?}");
}

#[test]
fn window_outside_the_file_names_windows_file_data_file_and_window() {
    let dir = scratch("outside");
    write(&dir.join("cat/a.csv"), GOOD);
    let windows = dir.join("windows.json");
    write(
        &windows,
        r#"{"cat/a.csv": [["2014-02-14 14:30:00.000000", "2014-02-14 14:35:00.000000"],
                          ["2014-02-14 14:40:00.000000", "2014-02-15 00:00:00.000000"]]}"#,
    );
    let err = load_corpus(&dir, &windows).unwrap_err();
    match &err {
        NabError::WindowOutsideFile {
            file, index, edge, ..
        } => {
            assert_eq!((file.as_str(), *index, *edge), ("cat/a.csv", 1, "end"));
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("windows.json") && msg.contains("2014-02-15 00:00:00"));
}

#[test]
fn overlapping_or_reversed_windows_are_rejected() {
    let dir = scratch("overlap");
    write(&dir.join("cat/a.csv"), GOOD);
    let windows = dir.join("windows.json");
    write(
        &windows,
        r#"{"cat/a.csv": [["2014-02-14 14:30:00", "2014-02-14 14:35:00"], ["2014-02-14 14:35:00", "2014-02-14 14:40:00"]]}"#,
    );
    let err = load_corpus(&dir, &windows).unwrap_err();
    assert!(
        matches!(&err, NabError::BadWindow { index: 1, .. }),
        "{err:?}"
    );
    write(
        &windows,
        r#"{"cat/a.csv": [["2014-02-14 14:40:00", "2014-02-14 14:30:00"]]}"#,
    );
    let err = load_corpus(&dir, &windows).unwrap_err();
    assert!(
        matches!(&err, NabError::BadWindow { index: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn malformed_windows_json_names_the_file_and_position() {
    let dir = scratch("bad_json");
    let windows = dir.join("windows.json");
    write(&windows, r#"{"cat/a.csv": [["2014-02-14 14:30:00"]}"#);
    let err = load_windows(&windows).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("windows.json") && msg.contains("line 1"),
        "{msg}"
    );
}

#[test]
fn category_folder_works_as_data_dir_and_results_must_match_rows() {
    let dir = scratch("category");
    write(&dir.join("cat/a.csv"), GOOD);
    let windows = dir.join("windows.json");
    write(
        &windows,
        r#"{"cat/a.csv": [["2014-02-14 14:35:00", "2014-02-14 14:40:00"]]}"#,
    );
    let corpus = load_corpus(&dir.join("cat"), &windows).unwrap();
    assert_eq!(corpus.files[0].series.name, "cat/a.csv");
    assert_eq!(corpus.files[0].windows[0].start, 1);

    let results = dir.join("results");
    std::fs::create_dir_all(results.join("cat")).unwrap();
    write(
        &results.join("cat/det_a.csv"),
        "timestamp,anomaly_score\n2014-02-14 14:30:00,0.5\n",
    );
    let err = load_detector_scores(&results, "det", &corpus).unwrap_err();
    assert!(
        matches!(
            &err,
            NabError::LengthMismatch {
                expected: 3,
                found: 1,
                ..
            }
        ),
        "{err:?}"
    );
    write(
        &results.join("cat/det_a.csv"),
        "timestamp,anomaly_score\n2014-02-14 14:30:00,0.5\n2014-02-14 14:35:00,1.5\n2014-02-14 14:40:00,0\n",
    );
    let err = load_detector_scores(&results, "det", &corpus).unwrap_err();
    assert!(
        matches!(&err, NabError::BadValue { line: 3, .. }),
        "{err:?}"
    );
}
