//! Streaming anomaly detectors (being written).

/// Errors of detector construction and feeding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectorError {
    /// No detector has this name.
    #[error("unknown detector `{0}`")]
    UnknownDetector(String),
}
