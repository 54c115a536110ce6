//! Telemetry types, streaming anomaly detectors, feature extraction, failure prediction,
//! federated training and NAB scoring. Pure computation.

pub mod alerting;
pub mod detectors;
pub mod features;
pub mod federated;
pub mod nab;
pub mod predictor;
pub mod telemetry;
