//! Streaming anomaly detectors behind one trait, [`Detector`]: feed a timestamped value (or a
//! vector of values), get an anomaly score in [0, 1] and an alert decision. Every detector starts
//! cold, sees only the past (no look-ahead, no labels) and costs O(1) or O(window) per sample,
//! exactly as it would live; the same code runs on simulated telemetry, live metrics and NAB.
//!
//! ```text
//!  value ─► Univariate state (one per channel) ─► Detection { score ∈ [0,1], alert }
//!   ├ static_threshold  Prometheus alert rule: value > threshold held `for` a duration
//!   ├ ewma              EWMA mean/variance z-score (adaptive threshold)
//!   ├ median_mad        rolling median / MAD robust z-score
//!   ├ holt_winters      additive Holt-Winters forecast residual z-score (daily seasonality)
//!   ├ ensemble          several of the above, scores combined, alert by vote
//!   ├ onset             any of the above, repeated detections suppressed for a hold period
//!   ├ likelihood        Numenta's anomaly likelihood over any of the above's raw scores
//!   ├ persist           any of the above, alert only once it has held for a `for` duration
//!   ├ shift             value beyond its range, level or dispersion shift vs a reference window
//!   ├ autoencoder       multivariate: reconstruction error of a window of the whole vector
//!   ├ cad_ose           contextual anomaly detector (CAD OSE): sequence memory over a binary code
//!   ├ artime            ARTime: adaptive resonance (DVFA) over wavelet features (NAB's top)
//!   ├ shift_cad         an ensemble: max(shift, 0.35 x cad_ose), alert when either alerts
//!   └ fusion            members' scores calibrated by their own alert scores, max, joint rest
//!                       (`shift_cad_calibrated`: shift and cad_ose, no weight to tune;
//!                       `shift_cad_simtuned`: settings chosen on a synthetic NAB-layout corpus)
//! ```
//! [`by_name`] builds any of them from its name and an optional [`DetectorConfig`], for the CLI.
//! All but the autoencoder are univariate and run one state per channel ([`Channels`]); the
//! autoencoder implements [`Detector::update_vector`] natively, over all channels at once.

mod artime;
mod autoencoder;
mod cad_ose;
mod channels;
mod ensemble;
mod ewma;
mod fusion;
mod holt_winters;
mod likelihood;
mod median_mad;
mod onset;
mod persist;
mod registry;
mod score;
mod shift;
mod simtuned;
mod sorted_window;
mod static_threshold;

pub use artime::{ARTIME_MIN_ROWS, Artime, ArtimeConfig, ArtimeState, artime_nab_scores};
pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use cad_ose::{CadOse, CadOseConfig, CadOseState};
pub use channels::{Channels, Univariate};
pub use ensemble::{Combine, Ensemble, EnsembleConfig};
pub use ewma::{Ewma, EwmaConfig, SATURATION_LEVEL};
pub use fusion::{
    Fusion, FusionConfig, member_alert_score, shift_cad_apriori_config, shift_cad_calibrated_config,
};
pub use holt_winters::{HoltWinters, HoltWintersConfig};
pub use likelihood::{Likelihood, LikelihoodConfig};
pub use median_mad::{MedianMad, MedianMadConfig};
pub use onset::{Onset, OnsetConfig};
pub use persist::{Persist, PersistConfig};
pub use registry::{
    DETECTOR_NAMES, DetectorConfig, SEQUENCE_DETECTOR_NAMES, SHIFT_CAD_WEIGHT, by_name,
    shift_cad_config,
};
pub use score::{
    Direction, MetricDirections, gaussian_two_sided_tail, metric_direction, score_from_z,
};
pub use shift::{
    CAD_OSE_REST_SAMPLES, NUMENTA_SPATIAL_TOLERANCE, SHEWHART_TAIL, Shift, ShiftConfig, ShiftState,
};
pub use simtuned::{
    SIMTUNED_CORPUS_FILES, SIMTUNED_CORPUS_SEED, shift_cad_simtuned_config, shift_simtuned_config,
};
pub use static_threshold::{StaticThreshold, StaticThresholdConfig};

/// The output of a detector for one sample.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Detection {
    /// Anomaly score in [0, 1]; higher is more anomalous. NAB thresholds this.
    pub score: f64,
    /// The detector's own alert decision (its configured threshold, duration or vote).
    pub alert: bool,
}

/// A streaming anomaly detector.
pub trait Detector: std::fmt::Debug + Send {
    /// The registry name (`ewma`, `median_mad`, ...).
    fn name(&self) -> &'static str;

    /// Feeds one value observed at `timestamp` (seconds; non-decreasing). A non-finite value is
    /// treated as missing: state is unchanged and the result is a zero score without alert.
    fn update(&mut self, timestamp: f64, value: f64) -> Detection;

    /// Feeds one vector (one value per channel, e.g. an entity's metrics) observed at
    /// `timestamp`. The first call fixes the dimension; the score is the highest channel score
    /// and the alert is raised when any channel alerts.
    fn update_vector(&mut self, timestamp: f64, values: &[f64])
    -> Result<Detection, DetectorError>;

    /// Forgets everything: the detector is cold again.
    fn reset(&mut self);
}

/// Errors of detector construction and feeding.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DetectorError {
    /// No detector has this name.
    #[error("unknown detector `{name}` (expected one of: {expected})")]
    UnknownDetector {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        expected: String,
    },
    /// The configuration given is for another detector.
    #[error("detector `{name}` was given a `{config}` configuration")]
    ConfigMismatch {
        /// The detector asked for.
        name: String,
        /// The configuration's detector.
        config: String,
    },
    /// A configuration field is out of range.
    #[error("detector `{detector}`: field `{field}` = {value}: expected {expected}")]
    InvalidConfig {
        /// The detector.
        detector: &'static str,
        /// The field.
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// The valid range.
        expected: &'static str,
    },
    /// A vector's length differs from the dimension fixed by the first sample.
    #[error(
        "detector `{detector}`: vector of {found} values, expected {expected} (fixed by the first sample)"
    )]
    DimensionMismatch {
        /// The detector.
        detector: &'static str,
        /// The dimension fixed at the first sample.
        expected: usize,
        /// The dimension given.
        found: usize,
    },
}

/// Checks a configuration field, for the `validate` methods of the configs.
pub(crate) fn check(
    ok: bool,
    detector: &'static str,
    field: &'static str,
    value: f64,
    expected: &'static str,
) -> Result<(), DetectorError> {
    if ok {
        Ok(())
    } else {
        Err(DetectorError::InvalidConfig {
            detector,
            field,
            value: value.to_string(),
            expected,
        })
    }
}
