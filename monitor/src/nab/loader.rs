//! Reading NAB files: data CSVs (`timestamp,value`), detector result CSVs (`timestamp,...,
//! anomaly_score,...`), the windows JSON (`{"cat/file.csv": [[start, end], ...]}`) and the
//! profiles JSON (`{"name": {"CostMatrix": {"tpWeight": ..}}}`), into a [`NabCorpus`] whose
//! windows are resolved to row indices. All validation happens here, so the scorer cannot fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::NabError;
use super::timestamp::Timestamp;

/// One NAB data file.
#[derive(Debug, Clone, PartialEq)]
pub struct NabSeries {
    /// Name relative to the data directory, with `/` separators (`realAWSCloudwatch/x.csv`):
    /// the key used by the windows file.
    pub name: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// One timestamp per row.
    pub timestamps: Vec<Timestamp>,
    /// One value per row.
    pub values: Vec<f64>,
}

/// An anomaly window as inclusive row indices of its data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpan {
    /// Row of the window's first timestamp.
    pub start: usize,
    /// Row of the window's last timestamp (inclusive).
    pub end: usize,
}

impl WindowSpan {
    /// Number of rows in the window.
    pub fn width(&self) -> usize {
        self.end - self.start + 1
    }
}

/// A data file with its label windows.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSeries {
    /// The data.
    pub series: NabSeries,
    /// Its windows, in time order, disjoint.
    pub windows: Vec<WindowSpan>,
}

/// A NAB-layout folder with its windows: every `*.csv` below `data_dir`, sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct NabCorpus {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The windows file the labels came from.
    pub windows_path: PathBuf,
    /// The files, sorted by relative name.
    pub files: Vec<LabelledSeries>,
    /// CSVs below `data_dir` that have no entry in the windows file (not scored).
    pub skipped: Vec<String>,
}

impl NabCorpus {
    /// Total number of label windows over the corpus' files (NAB's `tpCount`).
    pub fn window_count(&self) -> usize {
        self.files.iter().map(|f| f.windows.len()).sum()
    }
}

/// A window as written in the windows file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawWindow {
    /// Parsed start.
    pub start: Timestamp,
    /// Parsed end.
    pub end: Timestamp,
    /// The start as written.
    pub start_text: String,
    /// The end as written.
    pub end_text: String,
}

/// The weights of one NAB application profile (NAB `config/profiles.json`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
pub struct CostMatrix {
    /// Weight of the best detection in a window.
    #[serde(rename = "tpWeight")]
    pub tp_weight: f64,
    /// Weight of each detection outside windows.
    #[serde(rename = "fpWeight")]
    pub fp_weight: f64,
    /// Cost of a window with no detection.
    #[serde(rename = "fnWeight")]
    pub fn_weight: f64,
    /// Unused by NAB's scorer; kept for completeness.
    #[serde(rename = "tnWeight", default = "one")]
    pub tn_weight: f64,
}

fn one() -> f64 {
    1.0
}

/// A named NAB application profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// `standard`, `reward_low_FP_rate`, `reward_low_FN_rate`, ...
    pub name: String,
    /// Its weights.
    pub cost: CostMatrix,
}

impl Profile {
    /// NAB's three published profiles (numenta/NAB `config/profiles.json`), sorted by name.
    pub fn nab_defaults() -> Vec<Profile> {
        let p = |name: &str, fp: f64, fnw: f64| Profile {
            name: name.to_string(),
            cost: CostMatrix {
                tp_weight: 1.0,
                fp_weight: fp,
                fn_weight: fnw,
                tn_weight: 1.0,
            },
        };
        vec![
            p("reward_low_FN_rate", 0.11, 2.0),
            p("reward_low_FP_rate", 0.22, 1.0),
            p("standard", 0.11, 1.0),
        ]
    }

    /// NAB's standard profile (the one its headline scores use).
    pub fn standard() -> Profile {
        Profile::nab_defaults()
            .into_iter()
            .find(|p| p.name == "standard")
            .expect("nab_defaults lists the standard profile")
    }
}

fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>, NabError> {
    let file = std::fs::File::open(path).map_err(|e| NabError::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(file))
}

fn csv_error(path: &Path, e: csv::Error) -> NabError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    NabError::Csv {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    }
}

fn column(
    path: &Path,
    headers: &csv::StringRecord,
    name: &str,
    expected: &str,
) -> Result<usize, NabError> {
    headers
        .iter()
        .position(|h| h.trim_start_matches('\u{feff}') == name)
        .ok_or_else(|| NabError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            expected: expected.to_string(),
        })
}

/// Timestamps, values and the 1-based line of each record.
type TimestampedColumn = (Vec<Timestamp>, Vec<f64>, Vec<u64>);

/// Reads columns `timestamp` and `value_column` of a CSV; values must be finite and, when
/// `unit_interval`, inside [0, 1].
fn read_timestamped_column(
    path: &Path,
    value_column: &str,
    expected: &str,
    unit_interval: bool,
) -> Result<TimestampedColumn, NabError> {
    let mut reader = csv_reader(path)?;
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let t_col = column(path, &headers, "timestamp", expected)?;
    let v_col = column(path, &headers, value_column, expected)?;
    let (mut ts, mut vs, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let t_text = record.get(t_col).unwrap_or("");
        let t = Timestamp::parse(t_text).map_err(|reason| NabError::BadTimestamp {
            path: path.to_path_buf(),
            line,
            field: "timestamp".to_string(),
            value: t_text.to_string(),
            reason,
        })?;
        let v_text = record.get(v_col).unwrap_or("");
        let bad = || NabError::BadValue {
            path: path.to_path_buf(),
            line,
            field: value_column.to_string(),
            value: v_text.to_string(),
            expected: if unit_interval {
                "a number in [0, 1]".to_string()
            } else {
                "a finite number".to_string()
            },
        };
        let v: f64 = v_text.parse().map_err(|_| bad())?;
        if !v.is_finite() || (unit_interval && !(0.0..=1.0).contains(&v)) {
            return Err(bad());
        }
        ts.push(t);
        vs.push(v);
        lines.push(line);
    }
    Ok((ts, vs, lines))
}

/// Loads one NAB data file (`timestamp,value`). `name` is its key in the windows file.
pub fn load_series(path: &Path, name: &str) -> Result<NabSeries, NabError> {
    let (timestamps, values, _) = read_timestamped_column(path, "value", "timestamp,value", false)?;
    Ok(NabSeries {
        name: name.to_string(),
        path: path.to_path_buf(),
        timestamps,
        values,
    })
}

/// Loads the windows JSON: data-file name -> windows in file order.
pub fn load_windows(path: &Path) -> Result<BTreeMap<String, Vec<RawWindow>>, NabError> {
    let text = std::fs::read_to_string(path).map_err(|e| NabError::io(path, e))?;
    let raw: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_str(&text).map_err(|e| NabError::Json {
            path: path.to_path_buf(),
            message: format!(
                "{e} (expected an object mapping each data file to a list of [start, end] timestamp pairs)"
            ),
        })?;
    let mut out = BTreeMap::new();
    for (file, windows) in raw {
        let mut parsed = Vec::with_capacity(windows.len());
        for (index, pair) in windows.into_iter().enumerate() {
            let [start_text, end_text]: [String; 2] =
                pair.try_into()
                    .map_err(|p: Vec<String>| NabError::BadWindow {
                        path: path.to_path_buf(),
                        file: file.clone(),
                        index,
                        reason: format!("has {} timestamps, expected 2 ([start, end])", p.len()),
                    })?;
            let parse = |text: &str, edge: &str| {
                Timestamp::parse(text).map_err(|reason| NabError::BadTimestamp {
                    path: path.to_path_buf(),
                    line: 0,
                    field: format!("{file}[{index}].{edge}"),
                    value: text.to_string(),
                    reason,
                })
            };
            let start = parse(&start_text, "start")?;
            let end = parse(&end_text, "end")?;
            parsed.push(RawWindow {
                start,
                end,
                start_text,
                end_text,
            });
        }
        out.insert(file, parsed);
    }
    Ok(out)
}

/// Resolves a file's windows to row indices: each limit must be one of the file's timestamps
/// (NAB's labeler rejects any other), windows must be ordered and disjoint.
pub fn resolve_windows(
    windows_path: &Path,
    series: &NabSeries,
    raw: &[RawWindow],
) -> Result<Vec<WindowSpan>, NabError> {
    let find = |t: Timestamp, text: &str, index: usize, edge: &'static str| {
        // First occurrence, as Python's `list.index` in NAB's sweeper.
        series
            .timestamps
            .iter()
            .position(|&x| x == t)
            .ok_or_else(|| NabError::WindowOutsideFile {
                path: windows_path.to_path_buf(),
                file: series.name.clone(),
                index,
                edge,
                timestamp: text.to_string(),
                rows: match (series.timestamps.first(), series.timestamps.last()) {
                    (Some(a), Some(b)) => format!("{a} to {b}"),
                    _ => "none".to_string(),
                },
            })
    };
    let mut spans: Vec<WindowSpan> = Vec::with_capacity(raw.len());
    for (index, w) in raw.iter().enumerate() {
        let bad = |reason: String| NabError::BadWindow {
            path: windows_path.to_path_buf(),
            file: series.name.clone(),
            index,
            reason,
        };
        if w.end < w.start {
            return Err(bad(format!(
                "end {} is before start {}",
                w.end_text, w.start_text
            )));
        }
        let span = WindowSpan {
            start: find(w.start, &w.start_text, index, "start")?,
            end: find(w.end, &w.end_text, index, "end")?,
        };
        if span.end < span.start {
            return Err(bad(
                "end row precedes start row (timestamps out of order)".into()
            ));
        }
        if let Some(prev) = spans.last()
            && span.start <= prev.end
        {
            return Err(bad(format!(
                "starts at or before the end of window {} (windows must be ordered and disjoint)",
                index - 1
            )));
        }
        spans.push(span);
    }
    Ok(spans)
}

/// Every `*.csv` below `dir`, as (relative name with `/`, path), sorted by name.
pub fn list_csv_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, NabError> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), NabError> {
        let entries = std::fs::read_dir(dir).map_err(|e| NabError::io(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| NabError::io(dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| NabError::io(&path, e))?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if path.extension().is_some_and(|e| e == "csv") {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let name = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((name, path));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Loads a NAB-layout folder and its windows. `data_dir` is either NAB's data root (holding
/// `<category>/<file>.csv`) or one category folder. A CSV is part of the corpus when its name
/// relative to `data_dir` (or, for a category folder, `<category>/<name>`) is a key of the
/// windows file; other CSVs are listed in [`NabCorpus::skipped`]. Window entries for files that
/// are absent are ignored, so a subset of the corpus can be scored with NAB's full labels.
pub fn load_corpus(data_dir: &Path, windows_path: &Path) -> Result<NabCorpus, NabError> {
    let raw = load_windows(windows_path)?;
    let csvs = list_csv_files(data_dir)?;
    let category = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut files = Vec::with_capacity(csvs.len());
    let mut skipped = Vec::new();
    for (rel, path) in csvs {
        let prefixed = format!("{category}/{rel}");
        let (name, raw_windows) = match (raw.get(&rel), raw.get(&prefixed)) {
            (Some(w), _) => (rel, w),
            (None, Some(w)) => (prefixed, w),
            (None, None) => {
                skipped.push(rel);
                continue;
            }
        };
        let series = load_series(&path, &name)?;
        let windows = resolve_windows(windows_path, &series, raw_windows)?;
        files.push(LabelledSeries { series, windows });
    }
    if files.is_empty() {
        return Err(NabError::EmptyCorpus {
            path: data_dir.to_path_buf(),
            windows: windows_path.to_path_buf(),
        });
    }
    files.sort_by(|a, b| a.series.name.cmp(&b.series.name));
    Ok(NabCorpus {
        data_dir: data_dir.to_path_buf(),
        windows_path: windows_path.to_path_buf(),
        files,
        skipped,
    })
}

/// Loads a profiles JSON (NAB `config/profiles.json` layout), sorted by profile name.
pub fn load_profiles(path: &Path) -> Result<Vec<Profile>, NabError> {
    #[derive(Deserialize)]
    struct Entry {
        #[serde(rename = "CostMatrix")]
        cost_matrix: CostMatrix,
    }
    let text = std::fs::read_to_string(path).map_err(|e| NabError::io(path, e))?;
    let raw: BTreeMap<String, Entry> = serde_json::from_str(&text).map_err(|e| NabError::Json {
        path: path.to_path_buf(),
        message: format!(
            "{e} (expected {{\"<profile>\": {{\"CostMatrix\": {{\"tpWeight\": f, \"fpWeight\": f, \"fnWeight\": f}}}}}})"
        ),
    })?;
    Ok(raw
        .into_iter()
        .map(|(name, e)| Profile {
            name,
            cost: e.cost_matrix,
        })
        .collect())
}

/// Loads a detector's NAB results for every corpus file: `results_dir/<category>/<detector>_<file>.csv`,
/// column `anomaly_score` in [0, 1], with the same timestamps as the data file.
pub fn load_detector_scores(
    results_dir: &Path,
    detector: &str,
    corpus: &NabCorpus,
) -> Result<Vec<Vec<f64>>, NabError> {
    let mut all = Vec::with_capacity(corpus.files.len());
    for file in &corpus.files {
        let (dir, base) = match file.series.name.rsplit_once('/') {
            Some((d, b)) => (results_dir.join(d), b),
            None => (results_dir.to_path_buf(), file.series.name.as_str()),
        };
        let path = dir.join(format!("{detector}_{base}"));
        let (ts, scores, lines) =
            read_timestamped_column(&path, "anomaly_score", "timestamp,anomaly_score", true)?;
        if ts.len() != file.series.timestamps.len() {
            return Err(NabError::LengthMismatch {
                path,
                file: file.series.name.clone(),
                expected: file.series.timestamps.len(),
                found: ts.len(),
            });
        }
        for ((found, expected), line) in ts.iter().zip(&file.series.timestamps).zip(&lines) {
            if found != expected {
                return Err(NabError::TimestampMismatch {
                    path,
                    line: *line,
                    expected: expected.to_string(),
                    found: found.to_string(),
                });
            }
        }
        all.push(scores);
    }
    Ok(all)
}
