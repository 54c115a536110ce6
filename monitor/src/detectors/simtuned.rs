//! `shift_simtuned` and `shift_cad_simtuned`: `shift` and its fusion with CAD OSE with every
//! setting chosen on a **synthetic** tuning corpus, none on NAB's data (session 8).
//!
//! Protocol (re-run: `mend detect sim --study nab-tune --seed 0`, about 1.5 min in release; it
//! exits 0 only if it re-derives exactly these values):
//! - corpus: [`generate_synthetic`](crate::nab::generate_synthetic) with seed
//!   [`SIMTUNED_CORPUS_SEED`] and [`SIMTUNED_CORPUS_FILES`] files (120 files of 4,032 rows at 5
//!   minutes, 235 windows; change types of NAB's `artificialWithAnomaly` plus excursions and
//!   outages, unlabelled bursts, windows built as NAB's labeller builds them: see that module);
//! - search: [`tune_shift_cad`](crate::nab::tune_shift_cad) with the default
//!   [`TuningConfig`](crate::nab::TuningConfig): coordinate search over `shift`'s ten settings
//!   from [`ShiftConfig::a_priori`] (at most 3 passes; it settled after 2), then CAD OSE's weight
//!   (its alert score in the calibration) and the joint rest of the fusion; every candidate
//!   scored by NAB's standard profile with its threshold optimised on the tuning corpus, as NAB
//!   does;
//! - result on the tuning corpus (standard): `shift_apriori` 53.12, [`shift_simtuned_config`]
//!   65.42, [`shift_cad_simtuned_config`] 66.58. The fusion scored higher, so it is *the* chosen
//!   detector, declared before any score on NAB was computed.
//!
//! The grid's edges were widened once (on the tuning corpus only) after a first search chose the
//! then shortest windows and widest tail; the second search again chose the shortest windows
//! (`short` 2, `long` 72 = 6 hours), i.e. the synthetic corpus rewards a fast-forgetting
//! reference. That is a property of the corpus, kept as it came out rather than chased further.
//!
//! Scored once on NAB realAWSCloudwatch (`tests/nab_simtuned.rs`; standard / low_FP / low_FN /
//! LOFO standard): **`shift_cad_simtuned` 55.79** / 31.76 / 66.08 / 52.55; `shift_simtuned`
//! 58.78 / 37.76 / 68.08 / 55.55; beside Numenta HTM 73.42 / 68.75 / 76.72 / 70.23 and the
//! a-priori `shift_cad_apriori` 62.35 / 56.97 / 66.49 / 57.49. The settings chosen on the
//! synthetic corpus do **not** transfer: they score below the a-priori ones, and far below HTM,
//! most on the low-FP profile (a likely cause, not checked: the 6-hour reference window forgets
//! the normal range quickly, so a real series' recurring bursts alert again). Nothing was
//! changed after this score.

use super::cad_ose::CadOseConfig;
use super::fusion::FusionConfig;
use super::registry::DetectorConfig;
use super::shift::ShiftConfig;

/// Seed of the synthetic tuning corpus the settings were chosen on.
pub const SIMTUNED_CORPUS_SEED: u64 = 0;

/// Files in that corpus.
pub const SIMTUNED_CORPUS_FILES: usize = 120;

/// `shift_simtuned`: `shift` as chosen on the synthetic corpus (standard 65.42 there).
pub fn shift_simtuned_config() -> ShiftConfig {
    ShiftConfig {
        warmup: 388,
        short: 2,
        long: 72,
        quantile: 0.02,
        spread_floor: 0.1,
        range_scale: 0.05,
        shift_scale: 1.0,
        dispersion_weight: 1.0,
        alert_score: 0.5,
        rest_samples: 60,
    }
}

/// `shift_cad_simtuned`: [`shift_simtuned_config`] fused with CAD OSE at its reference defaults,
/// CAD calibrated by its own alert score 0.75 (no down-weighting), no joint rest (standard 66.58
/// on the synthetic corpus; the chosen detector).
pub fn shift_cad_simtuned_config() -> FusionConfig {
    FusionConfig {
        members: vec![
            DetectorConfig::Shift(shift_simtuned_config()),
            DetectorConfig::CadOse(CadOseConfig::default()),
        ],
        alert_scores: vec![0.5, 0.75],
        rest_samples: 0,
    }
}
