//! Failure prediction (issue 5, item 5): a small MLP over a window of an entity's feature rows
//! predicting "an incident on this entity within horizon H". Training data comes from outside
//! (the simulator's histories, labelled from its ground truth, in `experiments::detection`); this
//! module owns the model, its training and its metrics.
//!
//! ```text
//!  window of W feature rows ─► scale to [0, 1] by schema bounds ─► MLP (tanh hidden) ─► logit
//!                                                                     └ sigmoid = risk ∈ [0, 1]
//! ```
//! Inputs are scaled by the feature schema's fixed bounds, never by statistics of the data, so a
//! federated client needs to share nothing but model updates.

mod metrics;
mod model;
mod train;

pub use metrics::{PrQuality, average_precision, lead_times, pr_at_threshold};
pub use model::{PredictorModel, PredictorSpec};
pub use train::{TrainConfig, train};

/// Errors of predictor training.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PredictorError {
    /// The inputs and labels disagree in size with the model.
    #[error("predictor: field `{field}` has {found} values, expected {expected}")]
    Shape {
        /// The offending field.
        field: &'static str,
        /// What was expected.
        expected: usize,
        /// What was given.
        found: usize,
    },
    /// A configuration field is out of range.
    #[error("predictor: field `{field}` = {value}: expected {expected}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The valid range.
        expected: &'static str,
    },
    /// candle failed (a shape bug on our side, reported rather than panicking).
    #[error("predictor: tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
}
