//! NAB (the Numenta Anomaly Benchmark), faithfully: loading a NAB-layout folder and its label
//! windows, NAB's scorer (probation, scaled sigmoid, best detection per window, false positives
//! weighted by their distance past the previous window, missed windows), threshold optimisation
//! per application profile over the corpus, and normalisation against the null and perfect
//! detectors. The Python reference is numenta/NAB (commit ea702d75): `nab/sweeper.py`,
//! `nab/scorer.py`, `nab/optimizer.py`, `nab/runner.py`; the rules are summarised in
//! `shared/data/nab/README.md`.
//!
//! ```text
//!  data dir ──┐                      ┌─ sweeper: per-row S(t), sweep over thresholds
//!  windows ───┼─ loader ─ NabCorpus ─┼─ scoring: optimise per profile, per-file rows, normalise
//!  results ───┘  (rows resolved)     └─ runner: run a detector (or read results) -> NabReport
//! ```

mod cross_validation;
mod error;
mod loader;
mod nested;
mod nested_grid;
mod runner;
mod scoring;
mod sweeper;
mod synthetic;
mod timestamp;
mod tuning;

pub use cross_validation::{
    CrossValidatedScore, HeldOutFile, leave_one_file_out, leave_one_file_out_scores,
};
pub use error::NabError;
pub use loader::{
    CostMatrix, LabelledSeries, NabCorpus, NabSeries, Profile, RawWindow, WindowSpan,
    list_csv_files, load_corpus, load_detector_scores, load_profiles, load_series, load_windows,
    resolve_windows,
};
pub use nested::{
    FullCorpusChoice, NestedFold, NestedReport, NestedScore, nested_leave_one_file_out,
    nested_selection,
};
pub use nested_grid::{Join, NestedGrid, NestedShiftAxes, candidate_config, join_scores};
pub use runner::{
    ARTIME_NAB_FEED, NabRunOptions, detector_scores, detector_scores_for, named_detector_scores,
    run_nab, run_nab_with, score_reference, write_file_results_csv,
};
pub use scoring::{
    FileResult, NabReport, ProfileScore, null_score, optimize_threshold, score_detector,
    score_files, score_profile,
};
pub use sweeper::{
    AnomalyPoint, PROBATIONARY_PERCENT, PointLabel, ThresholdScore, best_row, probationary_length,
    row_at_threshold, scaled_sigmoid, score_by_threshold, sweep_file,
};
pub use synthetic::{
    ChangeKind, NAB_WINDOW_SHARE, SYNTHETIC_CATEGORY, SyntheticCorpusConfig, SyntheticFile,
    generate as generate_synthetic, nab_windows, to_corpus, write_corpus,
};
pub use timestamp::Timestamp;
pub use tuning::{
    FusionGrid, ShiftGrid, TuningConfig, TuningReport, TuningStep, fuse_scores, normalized_score,
    tune_shift_cad,
};
