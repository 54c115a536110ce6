//! Running NAB end to end: feed each file of a NAB-layout folder to a fresh detector (cold, one
//! row at a time, no look-ahead), or read a detector's published result files, then score with
//! [`score_detector`](super::score_detector). Also writes the per-file rows as CSV.
//!
//! One exception to "no look-ahead", by name: [`ARTIME_NAB_FEED`] runs ARTime as NAB's own runner
//! feeds it, with the file's minimum, maximum and length before the first row (numenta/NAB
//! `nab/detectors/ARTime/ARTime_detector.py`: `ARTime.init(inputMin, inputMax, len(data))`; NAB's
//! base detector gives HTM the same range). It exists to score ARTime by NAB's protocol; a live
//! detector has no file to look ahead in (`artime` is its cold start).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::detectors::{DetectorConfig, artime_nab_scores, by_name};

use super::error::NabError;
use super::loader::{NabCorpus, Profile, load_corpus, load_detector_scores, load_profiles};
use super::scoring::{NabReport, score_detector};
use super::sweeper::PROBATIONARY_PERCENT;

/// Everything [`run_nab_with`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NabRunOptions {
    /// NAB data root (`<category>/<file>.csv`) or one category folder.
    pub data_dir: PathBuf,
    /// The windows JSON (NAB `labels/combined_windows.json`).
    pub windows_file: PathBuf,
    /// A profiles JSON; `None` uses NAB's three profiles ([`Profile::nab_defaults`]).
    pub profiles_file: Option<PathBuf>,
    /// Registry name of the detector.
    pub detector: String,
    /// Its configuration; `None` uses the defaults.
    pub config: Option<DetectorConfig>,
    /// Share of each file that is never scored (NAB: 0.15).
    pub probation_percent: f64,
}

impl NabRunOptions {
    /// Options with NAB's profiles, the detector's defaults and NAB's probation.
    pub fn new(data_dir: &Path, windows_file: &Path, detector: &str) -> Self {
        NabRunOptions {
            data_dir: data_dir.to_path_buf(),
            windows_file: windows_file.to_path_buf(),
            profiles_file: None,
            detector: detector.to_string(),
            config: None,
            probation_percent: PROBATIONARY_PERCENT,
        }
    }
}

/// Runs the named detector (default configuration) over a NAB-layout folder and scores it with
/// NAB's three profiles, each at its corpus-wide optimised threshold.
pub fn run_nab(
    data_dir: &Path,
    windows_file: &Path,
    detector: &str,
) -> Result<NabReport, NabError> {
    run_nab_with(&NabRunOptions::new(data_dir, windows_file, detector))
}

/// [`run_nab`] with every option.
pub fn run_nab_with(options: &NabRunOptions) -> Result<NabReport, NabError> {
    let profiles = match &options.profiles_file {
        Some(p) => load_profiles(p)?,
        None => Profile::nab_defaults(),
    };
    let corpus = load_corpus(&options.data_dir, &options.windows_file)?;
    let scores = detector_scores(&corpus, &options.detector, options.config.as_ref())?;
    Ok(score_detector(
        &corpus,
        &options.detector,
        &scores,
        &profiles,
        options.probation_percent,
    ))
}

/// Anomaly scores of a fresh detector per file, fed row by row (timestamp in seconds).
pub fn detector_scores(
    corpus: &NabCorpus,
    detector: &str,
    config: Option<&DetectorConfig>,
) -> Result<Vec<Vec<f64>>, NabError> {
    let mut out = Vec::with_capacity(corpus.files.len());
    for file in &corpus.files {
        let mut d = by_name(detector, config)?;
        let s = &file.series;
        out.push(
            s.timestamps
                .iter()
                .zip(&s.values)
                .map(|(t, &v)| d.update(t.as_seconds(), v).score)
                .collect(),
        );
    }
    Ok(out)
}

/// The name under which [`named_detector_scores`] runs ARTime with NAB's feed (see the module
/// docs): the file's range and length given before the first row.
pub const ARTIME_NAB_FEED: &str = "artime_nab";

/// Anomaly scores per file of the detector `name` with its default settings, fed row by row, or of
/// ARTime with NAB's look-ahead feed for [`ARTIME_NAB_FEED`].
pub fn named_detector_scores(corpus: &NabCorpus, name: &str) -> Result<Vec<Vec<f64>>, NabError> {
    if name != ARTIME_NAB_FEED {
        return detector_scores(corpus, name, None);
    }
    corpus
        .files
        .iter()
        .map(|file| Ok(artime_nab_scores(&file.series.values)?))
        .collect()
}

/// Anomaly scores of a fresh detector built from `config` per file, fed row by row.
pub fn detector_scores_for(
    corpus: &NabCorpus,
    config: &DetectorConfig,
) -> Result<Vec<Vec<f64>>, NabError> {
    detector_scores(corpus, config.name(), Some(config))
}

/// Scores a detector's NAB result files (`results_dir/<category>/<detector>_<file>.csv`, column
/// `anomaly_score`), for example the Numenta HTM detector's published outputs, with our scorer.
pub fn score_reference(
    data_dir: &Path,
    windows_file: &Path,
    results_dir: &Path,
    detector: &str,
    profiles: &[Profile],
) -> Result<NabReport, NabError> {
    let corpus = load_corpus(data_dir, windows_file)?;
    let scores = load_detector_scores(results_dir, detector, &corpus)?;
    Ok(score_detector(
        &corpus,
        detector,
        &scores,
        profiles,
        PROBATIONARY_PERCENT,
    ))
}

/// Writes every per-file row of `report` as CSV in NAB's column order (`Detector,Profile,File,
/// Threshold,Score,TP,TN,FP,FN,Total_Count`), whole or not at all (temp file, then rename).
pub fn write_file_results_csv(report: &NabReport, path: &Path) -> Result<(), NabError> {
    let werr = |e: std::io::Error| NabError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let mut text = String::from("Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count\n");
    for r in report.file_rows() {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            r.detector,
            r.profile,
            r.file,
            r.threshold,
            r.score,
            r.tp,
            r.tn,
            r.fp,
            r.fn_,
            r.total_count
        ));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "nab".to_string());
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(werr)?;
    f.write_all(text.as_bytes()).map_err(werr)?;
    f.sync_all().map_err(werr)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(werr)
}
