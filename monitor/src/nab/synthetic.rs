//! A seeded synthetic tuning corpus in NAB's layout, for choosing detector settings on data
//! other than the NAB files a detector is scored on (session 8: nothing may be chosen on
//! realAWSCloudwatch but NAB's own per-profile threshold).
//!
//! Each file is a 14-day series at 5-minute steps (4,032 rows, the length of NAB's AWS
//! CloudWatch files, see [`CAD_OSE_REST_SAMPLES`](crate::detectors::CAD_OSE_REST_SAMPLES)) built
//! from a **base** and one to three labelled **changes**, with the change types of NAB's own
//! `artificialWithAnomaly` category (spikes, level shifts, drifts, variance changes; numenta/NAB
//! `data/artificialWithAnomaly`, A. Lavin and S. Ahmad, "Evaluating Real-time Anomaly Detection
//! Algorithms - the Numenta Anomaly Benchmark", ICMLA 2015, §III) plus two operational ones
//! (a temporary excursion and an outage to a floor). The base is what a cloud metric does
//! without an anomaly: a level on a random scale, Gaussian noise, optionally a daily cycle, a slow
//! random walk, integer quantisation, and **unlabelled** short bursts (so that not every large
//! sample is an anomaly and a detector that fires on any outlier pays for it).
//!
//! Labels follow NAB's labeller (numenta/NAB `nab/labeler.py`, `applyWindows`; the same rule in
//! Lavin and Ahmad §II.C): the label is the change's onset row; every window is
//! `floor(0.10 x rows / anomalies)` rows long, centred on its label. Onsets lie after the 15 %
//! probation plus half a window and are spaced so that windows never overlap.
//!
//! The generator is a pure function of [`SyntheticCorpusConfig`] (one `ChaCha8Rng` stream per
//! file, seeded from the corpus seed and the file's index), so a seed names a corpus.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use super::error::NabError;
use super::loader::{LabelledSeries, NabCorpus, NabSeries, WindowSpan};
use super::sweeper::PROBATIONARY_PERCENT;
use super::timestamp::Timestamp;

/// Category folder of the generated files (`<category>/<file>.csv`).
pub const SYNTHETIC_CATEGORY: &str = "syntheticCloud";

/// NAB's window size: 10 % of a file's rows, shared among its anomalies (`labeler.py`).
pub const NAB_WINDOW_SHARE: f64 = 0.10;

/// What the generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyntheticCorpusConfig {
    /// Names the corpus: the same seed gives the same files, byte for byte.
    pub seed: u64,
    /// Number of files.
    pub files: usize,
    /// Rows per file. Default 4,032 (14 days at 5 minutes).
    pub rows: usize,
    /// Seconds between rows. Default 300.
    pub step_seconds: i64,
}

impl Default for SyntheticCorpusConfig {
    fn default() -> Self {
        SyntheticCorpusConfig {
            seed: 0,
            files: 120,
            rows: 4_032,
            step_seconds: 300,
        }
    }
}

/// A labelled change type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    /// One to three samples far from the level, then back.
    Spike,
    /// A persistent step of the level, up or down.
    LevelShift,
    /// A linear ramp over half a day to two days, then the new level persists.
    Drift,
    /// The noise grows three- to six-fold and stays so.
    VarianceChange,
    /// A step that lasts two hours to a day, then returns.
    Excursion,
    /// The value drops to a floor near zero for one to twelve hours (a stopped process).
    Outage,
}

const KINDS: [ChangeKind; 6] = [
    ChangeKind::Spike,
    ChangeKind::LevelShift,
    ChangeKind::Drift,
    ChangeKind::VarianceChange,
    ChangeKind::Excursion,
    ChangeKind::Outage,
];

/// One generated file, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticFile {
    /// Name relative to the data folder (`syntheticCloud/synthetic_007.csv`).
    pub name: String,
    /// One timestamp per row.
    pub timestamps: Vec<Timestamp>,
    /// One value per row.
    pub values: Vec<f64>,
    /// Labelled onsets (row indices), in order.
    pub labels: Vec<usize>,
    /// Their kinds, one per label.
    pub kinds: Vec<ChangeKind>,
    /// NAB windows around the labels.
    pub windows: Vec<WindowSpan>,
}

/// NAB's windows for `labels` in a file of `rows` rows: `floor(0.1 x rows / labels)` rows
/// centred on each label, clipped to the file (numenta/NAB `nab/labeler.py`, `applyWindows`).
pub fn nab_windows(rows: usize, labels: &[usize]) -> Vec<WindowSpan> {
    if labels.is_empty() || rows == 0 {
        return Vec::new();
    }
    let length = (NAB_WINDOW_SHARE * rows as f64 / labels.len() as f64).floor() as usize;
    labels
        .iter()
        .map(|&a| WindowSpan {
            start: a.saturating_sub(length / 2),
            end: (a + length / 2).min(rows - 1),
        })
        .collect()
}

/// The start instant of every generated file: 2026-01-05 00:00:00 (a Monday; any fixed instant
/// would do, detectors see only differences).
fn start() -> Timestamp {
    Timestamp(1_767_571_200 * 1_000_000)
}

/// Generates the corpus (see the module docs).
pub fn generate(config: &SyntheticCorpusConfig) -> Vec<SyntheticFile> {
    (0..config.files)
        .map(|i| {
            // One stream per file: file i does not depend on how many files come before it.
            let stream = config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64 + 1);
            generate_file(config, i, &mut ChaCha8Rng::seed_from_u64(stream))
        })
        .collect()
}

fn generate_file(
    config: &SyntheticCorpusConfig,
    index: usize,
    rng: &mut ChaCha8Rng,
) -> SyntheticFile {
    let rows = config.rows;
    let per_day = (86_400 / config.step_seconds.max(1)) as f64;
    let std_normal = Normal::new(0.0, 1.0).unwrap_or_else(|_| unreachable!("unit normal"));

    // ---- base: level, noise, daily cycle, random walk, bursts, quantisation
    let level = 10f64.powf(rng.random_range(0.0..4.0));
    let sigma = level * rng.random_range(0.01..0.15);
    let daily = if rng.random_bool(0.5) {
        sigma * rng.random_range(1.0..8.0)
    } else {
        0.0
    };
    let phase = rng.random_range(0.0..std::f64::consts::TAU);
    let walk_sd = if rng.random_bool(0.3) {
        sigma * rng.random_range(0.02..0.1)
    } else {
        0.0
    };
    let burst_rate = if rng.random_bool(0.5) {
        rng.random_range(0.001..0.01)
    } else {
        0.0
    };
    let quantum = if rng.random_bool(0.3) {
        (sigma * rng.random_range(0.3..1.5)).max(f64::MIN_POSITIVE)
    } else {
        0.0
    };

    // ---- labelled changes: onsets after probation, windows disjoint
    let count = rng.random_range(1..=3usize);
    let window = (NAB_WINDOW_SHARE * rows as f64 / count as f64).floor() as usize;
    let first = (PROBATIONARY_PERCENT * rows as f64).ceil() as usize + window / 2 + 1;
    let last = rows.saturating_sub(window / 2 + 2);
    let mut labels: Vec<usize> = Vec::with_capacity(count);
    for _ in 0..count * 20 {
        if labels.len() == count || first >= last {
            break;
        }
        let at = rng.random_range(first..last);
        if labels.iter().all(|&l| l.abs_diff(at) > window + 1) {
            labels.push(at);
        }
    }
    labels.sort_unstable();
    let kinds: Vec<ChangeKind> = labels
        .iter()
        .map(|_| KINDS[rng.random_range(0..KINDS.len())])
        .collect();
    // Per change: (size in noise sd, sign, duration in rows).
    let params: Vec<(f64, f64, usize)> = kinds
        .iter()
        .map(|k| {
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            match k {
                ChangeKind::Spike => (rng.random_range(5.0..12.0), sign, rng.random_range(1..=3)),
                ChangeKind::LevelShift => (rng.random_range(3.0..10.0), sign, rows),
                ChangeKind::Drift => (
                    rng.random_range(4.0..10.0),
                    sign,
                    rng.random_range((per_day / 2.0) as usize..=(2.0 * per_day) as usize),
                ),
                ChangeKind::VarianceChange => (rng.random_range(3.0..6.0), 1.0, rows),
                ChangeKind::Excursion => (
                    rng.random_range(4.0..10.0),
                    sign,
                    rng.random_range((per_day / 12.0) as usize..=per_day as usize),
                ),
                ChangeKind::Outage => (
                    0.0,
                    -1.0,
                    rng.random_range((per_day / 24.0) as usize..=(per_day / 2.0) as usize),
                ),
            }
        })
        .collect();

    // ---- the series
    let floor = level * 0.01;
    let mut walk = 0.0;
    let mut values = Vec::with_capacity(rows);
    for t in 0..rows {
        walk += walk_sd * std_normal.sample(rng);
        let day = t as f64 / per_day;
        let mut noise_scale = 1.0;
        let mut offset = 0.0;
        let mut outage = false;
        for ((&at, kind), &(size, sign, duration)) in labels.iter().zip(&kinds).zip(&params) {
            if t < at {
                continue;
            }
            let since = t - at;
            match kind {
                ChangeKind::Spike | ChangeKind::Excursion if since < duration => {
                    offset += sign * size * sigma.max(daily * 0.2);
                }
                ChangeKind::LevelShift => offset += sign * size * sigma.max(daily * 0.2),
                ChangeKind::Drift => {
                    let share = (since as f64 / duration.max(1) as f64).min(1.0);
                    offset += sign * share * size * sigma.max(daily * 0.2);
                }
                ChangeKind::VarianceChange => noise_scale *= size,
                ChangeKind::Outage if since < duration => outage = true,
                _ => {}
            }
        }
        let burst = if burst_rate > 0.0 && rng.random_bool(burst_rate) {
            sigma * rng.random_range(2.0..5.0)
        } else {
            0.0
        };
        let noise = sigma * noise_scale * std_normal.sample(rng);
        let cycle = daily * (std::f64::consts::TAU * day + phase).sin();
        let mut v = if outage {
            floor * rng.random_range(0.0..1.0)
        } else {
            (level + cycle + walk + offset + noise + burst).max(0.0)
        };
        if quantum > 0.0 && !outage {
            v = (v / quantum).round() * quantum;
        }
        // Six significant decimals, as CloudWatch exports; the written text is what is read back.
        values.push(round_sig(v));
    }
    let timestamps = (0..rows)
        .map(|t| Timestamp(start().0 + t as i64 * config.step_seconds * 1_000_000))
        .collect();
    let windows = nab_windows(rows, &labels);
    SyntheticFile {
        name: format!("{SYNTHETIC_CATEGORY}/synthetic_{index:03}.csv"),
        timestamps,
        values,
        labels,
        kinds,
        windows,
    }
}

/// `v` rounded to six decimals (its written form parses back to the same `f64`).
fn round_sig(v: f64) -> f64 {
    let r = (v * 1e6).round() / 1e6;
    format!("{r}").parse().unwrap_or(r)
}

/// The generated files as an in-memory corpus (what [`load_corpus`](super::load_corpus) reads
/// back from [`write_corpus`]'s folder).
pub fn to_corpus(files: &[SyntheticFile], data_dir: &Path) -> NabCorpus {
    let mut labelled: Vec<LabelledSeries> = files
        .iter()
        .map(|f| LabelledSeries {
            series: NabSeries {
                name: f.name.clone(),
                path: data_dir.join(&f.name),
                timestamps: f.timestamps.clone(),
                values: f.values.clone(),
            },
            windows: f.windows.clone(),
        })
        .collect();
    labelled.sort_by(|a, b| a.series.name.cmp(&b.series.name));
    NabCorpus {
        data_dir: data_dir.to_path_buf(),
        windows_path: data_dir.join("combined_windows.json"),
        files: labelled,
        skipped: Vec::new(),
    }
}

fn write_whole(path: &Path, text: &str) -> Result<(), NabError> {
    let werr = |e: std::io::Error| NabError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(werr)?;
    f.write_all(text.as_bytes()).map_err(werr)?;
    f.sync_all().map_err(werr)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(werr)
}

/// Writes the files in NAB's layout under `data_dir`: `<category>/<file>.csv` (`timestamp,value`),
/// `combined_windows.json` (windows as `[start, end]` timestamps with NAB's six-digit fraction)
/// and `combined_labels.json` (the onsets), each whole or not at all. Returns the windows file.
pub fn write_corpus(files: &[SyntheticFile], data_dir: &Path) -> Result<PathBuf, NabError> {
    let category = data_dir.join(SYNTHETIC_CATEGORY);
    std::fs::create_dir_all(&category).map_err(|e| NabError::Write {
        path: category.clone(),
        source: e,
    })?;
    let nab_time = |t: Timestamp| format!("{t}.000000");
    let mut windows: BTreeMap<&str, Vec<[String; 2]>> = BTreeMap::new();
    let mut labels: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in files {
        let mut text = String::with_capacity(f.values.len() * 32);
        text.push_str("timestamp,value\n");
        for (t, v) in f.timestamps.iter().zip(&f.values) {
            text.push_str(&format!("{t},{v}\n"));
        }
        write_whole(&data_dir.join(&f.name), &text)?;
        windows.insert(
            &f.name,
            f.windows
                .iter()
                .map(|w| {
                    [
                        nab_time(f.timestamps[w.start]),
                        nab_time(f.timestamps[w.end]),
                    ]
                })
                .collect(),
        );
        labels.insert(
            &f.name,
            f.labels
                .iter()
                .map(|&l| nab_time(f.timestamps[l]))
                .collect(),
        );
    }
    let windows_path = data_dir.join("combined_windows.json");
    write_whole(&windows_path, &pretty(&windows))?;
    write_whole(&data_dir.join("combined_labels.json"), &pretty(&labels))?;
    Ok(windows_path)
}

/// Pretty JSON of a label map (serialising a map of strings cannot fail).
fn pretty<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}
