//! Metric sources: where the live loop reads the cluster's state from.
//!
//! A [`MetricSource`] returns timestamped [`Sample`]s (name, labels, value). Two sources:
//! - [`PrometheusSource`]: instant queries against the Prometheus HTTP API, one PromQL expression
//!   per feature, with a timeout and retries with exponential backoff;
//! - [`ScrapeSource`]: a direct scrape of an endpoint in the Prometheus text exposition format.
//!
//! Samples come back sorted by (name, labels), so downstream code sees a deterministic order.

mod prometheus_api;
mod scrape;

use std::collections::BTreeMap;

pub use prometheus_api::{PromQuery, PrometheusConfig, PrometheusSource};
pub use scrape::{ScrapeSource, parse_exposition};

/// One value of one series at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (the Prometheus source uses the feature name of the query).
    pub name: String,
    /// Labels, ordered by name.
    pub labels: BTreeMap<String, String>,
    /// Value. Finite for [`PrometheusSource`]; a scrape may carry NaN (e.g. an empty summary).
    pub value: f64,
    /// Sample time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

/// A source of samples.
pub trait MetricSource {
    /// Reads every sample this source is configured for, as of `now_ms` (milliseconds since the
    /// Unix epoch; the Prometheus source evaluates its queries at that time).
    fn fetch(&mut self, now_ms: u64) -> Result<Vec<Sample>, MetricError>;
}

/// Errors of metric sources; each names the URL and, where there is one, the query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricError {
    /// The server could not be reached or did not answer in time, after every retry.
    #[error("{url}: no answer after {attempts} attempt(s): {message}")]
    Transport {
        /// URL requested.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Last transport error.
        message: String,
    },
    /// The server answered with an HTTP error status and no Prometheus error object.
    #[error("{url}: HTTP status {status} (expected 200){}", query_suffix(query))]
    Http {
        /// URL requested.
        url: String,
        /// The query, if any.
        query: Option<String>,
        /// HTTP status.
        status: u16,
    },
    /// Prometheus answered `"status": "error"`.
    #[error("{url}: query `{query}` failed: {error_type}: {error} (HTTP {status})")]
    Query {
        /// URL requested.
        url: String,
        /// The PromQL expression.
        query: String,
        /// HTTP status.
        status: u16,
        /// Prometheus `errorType` (`bad_data`, `execution`, `timeout`...).
        error_type: String,
        /// Prometheus `error` message.
        error: String,
    },
    /// The answer is not of the documented shape.
    #[error("{url}: {what}{}: expected {expected}", query_suffix(query))]
    BadResponse {
        /// URL requested.
        url: String,
        /// The query, if any.
        query: Option<String>,
        /// What was found wrong (field path and found value).
        what: String,
        /// What was expected.
        expected: String,
    },
    /// A query returned no series.
    #[error("{url}: query `{query}` for feature `{feature}` returned no series (metric missing?)")]
    Empty {
        /// URL requested.
        url: String,
        /// Feature name.
        feature: String,
        /// The PromQL expression.
        query: String,
    },
    /// A query returned NaN or an infinity.
    #[error(
        "{url}: query `{query}` for feature `{feature}` returned {value} for {labels:?}: expected a finite number"
    )]
    NotFinite {
        /// URL requested.
        url: String,
        /// Feature name.
        feature: String,
        /// The PromQL expression.
        query: String,
        /// Labels of the series.
        labels: BTreeMap<String, String>,
        /// The value as sent.
        value: String,
    },
    /// The source's configuration is invalid.
    #[error("metric source config: field `{field}`: {message}")]
    Config {
        /// Field at fault.
        field: String,
        /// What was expected.
        message: String,
    },
}

fn query_suffix(query: &Option<String>) -> String {
    query
        .as_ref()
        .map(|q| format!(" (query `{q}`)"))
        .unwrap_or_default()
}

/// Sorts samples by (name, labels, timestamp) for a deterministic order.
pub(crate) fn sort_samples(samples: &mut [Sample]) {
    samples.sort_by(|a, b| {
        (&a.name, &a.labels, a.timestamp_ms).cmp(&(&b.name, &b.labels, b.timestamp_ms))
    });
}
