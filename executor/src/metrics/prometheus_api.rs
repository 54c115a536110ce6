//! Instant queries against the Prometheus HTTP API (`GET /api/v1/query`).
//!
//! Response shapes, from <https://prometheus.io/docs/prometheus/latest/querying/api/>:
//! the envelope is `{"status": "success"|"error", "data": ..., "errorType", "error", "warnings"}`;
//! errors come with HTTP 400 (bad parameters), 422 (expression cannot be executed) or 503 (timeout,
//! abort); `data` is `{"resultType": "vector"|"scalar"|..., "result": ...}`; a vector result is
//! `[{"metric": {labels}, "value": [unix_seconds, "value as string"]}]`, a scalar one
//! `[unix_seconds, "value"]`. Values are strings because they may be `NaN`, `+Inf` or `-Inf`.

use std::collections::BTreeMap;
use std::thread;
use std::time::Duration;

use serde::Deserialize;

use super::{MetricError, MetricSource, Sample, sort_samples};

/// One feature and the PromQL expression that computes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromQuery {
    /// Feature name; becomes the samples' name.
    pub feature: String,
    /// PromQL expression.
    pub expr: String,
}

/// Where and how to query.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusConfig {
    /// Base URL, e.g. `http://127.0.0.1:9090` (plain HTTP).
    pub base_url: String,
    /// One query per feature.
    pub queries: Vec<PromQuery>,
    /// Timeout of one HTTP request (connect + answer); also sent as the query's `timeout`.
    pub timeout: Duration,
    /// Retries after the first attempt, on transport errors and HTTP 5xx.
    pub retries: u32,
    /// Wait before the first retry; doubles at each further retry.
    pub backoff: Duration,
}

/// The Prometheus HTTP API as a [`MetricSource`].
#[derive(Debug)]
pub struct PrometheusSource {
    config: PrometheusConfig,
    agent: ureq::Agent,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

impl PrometheusSource {
    /// Validates the configuration and builds the HTTP client.
    pub fn new(config: PrometheusConfig) -> Result<Self, MetricError> {
        let bad = |field: &str, message: &str| MetricError::Config {
            field: field.into(),
            message: message.into(),
        };
        if !config.base_url.starts_with("http://") {
            return Err(bad(
                "base_url",
                "expected an http:// URL (plain HTTP to a loopback Prometheus)",
            ));
        }
        if config.queries.is_empty() {
            return Err(bad("queries", "expected at least one query"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, q) in config.queries.iter().enumerate() {
            if q.expr.trim().is_empty() {
                return Err(bad(
                    &format!("queries[{i}].expr"),
                    "expected a PromQL expression, found nothing",
                ));
            }
            if !seen.insert(q.feature.as_str()) {
                return Err(bad(
                    &format!("queries[{i}].feature"),
                    &format!("`{}` appears twice", q.feature),
                ));
            }
        }
        if config.timeout.is_zero() {
            return Err(bad("timeout", "expected a positive duration"));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(PrometheusSource { config, agent })
    }

    fn url(&self) -> String {
        format!(
            "{}/api/v1/query",
            self.config.base_url.trim_end_matches('/')
        )
    }

    /// Runs one instant query at `now_ms`, with retries; returns its samples.
    pub fn query(&self, query: &PromQuery, now_ms: u64) -> Result<Vec<Sample>, MetricError> {
        let url = self.url();
        let time = format!("{}.{:03}", now_ms / 1000, now_ms % 1000);
        let timeout = format!("{}ms", self.config.timeout.as_millis());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .agent
                .get(&url)
                .query("query", &query.expr)
                .query("time", &time)
                .query("timeout", &timeout)
                .call();
            let retryable = match result {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let body = response.body_mut().read_to_string();
                    match (status, body) {
                        (s, _) if s >= 500 && attempt <= self.config.retries => true,
                        (s, Ok(body)) => return self.decode(query, s, &body),
                        (s, Err(e)) if attempt > self.config.retries => {
                            return Err(MetricError::Transport {
                                url,
                                attempts: attempt,
                                message: format!("HTTP {s}, body unreadable: {e}"),
                            });
                        }
                        _ => true,
                    }
                }
                Err(e) if attempt > self.config.retries => {
                    return Err(MetricError::Transport {
                        url,
                        attempts: attempt,
                        message: e.to_string(),
                    });
                }
                Err(_) => true,
            };
            if retryable {
                thread::sleep(
                    self.config
                        .backoff
                        .saturating_mul(1 << (attempt - 1).min(16)),
                );
            }
        }
    }

    fn decode(
        &self,
        query: &PromQuery,
        status: u16,
        body: &str,
    ) -> Result<Vec<Sample>, MetricError> {
        let url = self.url();
        let bad = |what: String, expected: &str| MetricError::BadResponse {
            url: url.clone(),
            query: Some(query.expr.clone()),
            what,
            expected: expected.into(),
        };
        let envelope: Envelope = match serde_json::from_str(body) {
            Ok(e) => e,
            Err(_) if status != 200 => {
                return Err(MetricError::Http {
                    url: url.clone(),
                    query: Some(query.expr.clone()),
                    status,
                });
            }
            Err(e) => {
                return Err(bad(
                    format!("body is not the API envelope ({e})"),
                    "{\"status\":..,\"data\":..}",
                ));
            }
        };
        match envelope.status.as_str() {
            "success" if status == 200 => {}
            "success" => {
                return Err(MetricError::Http {
                    url: url.clone(),
                    query: Some(query.expr.clone()),
                    status,
                });
            }
            "error" => {
                return Err(MetricError::Query {
                    url: url.clone(),
                    query: query.expr.clone(),
                    status,
                    error_type: envelope.error_type.unwrap_or_else(|| "unknown".into()),
                    error: envelope.error.unwrap_or_default(),
                });
            }
            other => {
                return Err(bad(
                    format!("`status` is `{other}`"),
                    "\"success\" or \"error\"",
                ));
            }
        }
        let data = envelope
            .data
            .ok_or_else(|| bad("`data` is missing".into(), "a data object"))?;
        let items: Vec<VectorItem> = match data.result_type.as_str() {
            "vector" => serde_json::from_value(data.result).map_err(|e| {
                bad(
                    format!("`data.result` is not a vector ({e})"),
                    "[{\"metric\":{..},\"value\":[t,\"v\"]}]",
                )
            })?,
            "scalar" => {
                let value: (f64, String) = serde_json::from_value(data.result).map_err(|e| {
                    bad(format!("`data.result` is not a scalar ({e})"), "[t,\"v\"]")
                })?;
                vec![VectorItem {
                    metric: BTreeMap::new(),
                    value,
                }]
            }
            other => {
                return Err(bad(
                    format!("`data.resultType` is `{other}`"),
                    "\"vector\" or \"scalar\" (an instant query)",
                ));
            }
        };
        if items.is_empty() {
            return Err(MetricError::Empty {
                url: url.clone(),
                feature: query.feature.clone(),
                query: query.expr.clone(),
            });
        }
        let mut samples = Vec::with_capacity(items.len());
        for item in items {
            // Prometheus writes special values as "NaN", "+Inf", "-Inf"; Rust's parser reads them too.
            let value: f64 = item.value.1.parse().map_err(|_| {
                bad(
                    format!("sample value `{}` is not a number", item.value.1),
                    "a decimal number in a string",
                )
            })?;
            if !value.is_finite() {
                return Err(MetricError::NotFinite {
                    url: url.clone(),
                    feature: query.feature.clone(),
                    query: query.expr.clone(),
                    labels: item.metric,
                    value: item.value.1,
                });
            }
            let seconds = item.value.0;
            if !(seconds.is_finite() && seconds >= 0.0) {
                return Err(bad(
                    format!("sample time `{seconds}`"),
                    "a non-negative Unix time in seconds",
                ));
            }
            samples.push(Sample {
                name: query.feature.clone(),
                labels: item.metric,
                value,
                timestamp_ms: (seconds * 1000.0).round() as u64,
            });
        }
        Ok(samples)
    }
}

impl MetricSource for PrometheusSource {
    /// Runs every query; the first failing query's error is returned.
    fn fetch(&mut self, now_ms: u64) -> Result<Vec<Sample>, MetricError> {
        let mut samples = Vec::new();
        for query in &self.config.queries {
            samples.extend(self.query(query, now_ms)?);
        }
        sort_samples(&mut samples);
        Ok(samples)
    }
}
