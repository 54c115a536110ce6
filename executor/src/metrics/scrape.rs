//! A direct scrape of the Prometheus text exposition format, parsed with `prometheus-parse`.
//!
//! Histograms become one sample per bucket (`<name>_bucket` with an `le` label) and summaries one
//! per quantile (`<name>` with a `quantile` label), as they appear on the wire. Timestamps written in
//! the exposition are ignored: every sample is stamped with the scrape's `now_ms`.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::Duration;

use prometheus_parse::{Scrape, Value};

use super::{MetricError, MetricSource, Sample, sort_samples};

/// Scrapes one `/metrics` URL.
#[derive(Debug)]
pub struct ScrapeSource {
    url: String,
    agent: ureq::Agent,
}

impl ScrapeSource {
    /// A scrape of `url` (plain `http://`) with a per-request `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, MetricError> {
        if !url.starts_with("http://") {
            return Err(MetricError::Config {
                field: "url".into(),
                message: format!("expected an http:// URL, found `{url}`"),
            });
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(ScrapeSource {
            url: url.to_owned(),
            agent,
        })
    }
}

impl MetricSource for ScrapeSource {
    fn fetch(&mut self, now_ms: u64) -> Result<Vec<Sample>, MetricError> {
        let transport = |message: String| MetricError::Transport {
            url: self.url.clone(),
            attempts: 1,
            message,
        };
        let mut response = self
            .agent
            .get(&self.url)
            .call()
            .map_err(|e| transport(e.to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(MetricError::Http {
                url: self.url.clone(),
                query: None,
                status,
            });
        }
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| transport(e.to_string()))?;
        parse_exposition(&self.url, &text, now_ms)
    }
}

/// Parses exposition-format `text` (from `url`, named in errors) into sorted samples stamped `now_ms`.
pub fn parse_exposition(url: &str, text: &str, now_ms: u64) -> Result<Vec<Sample>, MetricError> {
    let scrape = Scrape::parse(text.as_bytes().lines()).map_err(|e| MetricError::BadResponse {
        url: url.to_owned(),
        query: None,
        what: format!("exposition text unreadable ({e})"),
        expected: "the Prometheus text format".into(),
    })?;
    let mut samples = Vec::new();
    for s in scrape.samples {
        let labels: BTreeMap<String, String> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut push = |name: String, labels: BTreeMap<String, String>, value: f64| {
            samples.push(Sample {
                name,
                labels,
                value,
                timestamp_ms: now_ms,
            });
        };
        match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => push(s.metric, labels, v),
            Value::Histogram(buckets) => {
                for b in buckets {
                    let mut l = labels.clone();
                    l.insert("le".into(), format_bound(b.less_than));
                    push(format!("{}_bucket", s.metric), l, b.count);
                }
            }
            Value::Summary(quantiles) => {
                for q in quantiles {
                    let mut l = labels.clone();
                    l.insert("quantile".into(), format_bound(q.quantile));
                    push(s.metric.clone(), l, q.count);
                }
            }
        }
    }
    sort_samples(&mut samples);
    Ok(samples)
}

/// Writes a bucket bound as Prometheus does (`+Inf` for infinity).
fn format_bound(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gauges_counters_and_histograms_into_sorted_samples() {
        let text = "# TYPE b gauge\nb{x=\"1\"} 2.5\n# TYPE a_total counter\na_total 7\n\
                    # TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.5\nh_count 3\n";
        let s = parse_exposition("u", text, 42).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["a_total", "b", "h_bucket", "h_bucket", "h_count", "h_sum"]
        );
        assert_eq!(s[1].labels.get("x").map(String::as_str), Some("1"));
        assert_eq!(s[1].value, 2.5);
        assert!(s.iter().all(|s| s.timestamp_ms == 42));
        let inf = s
            .iter()
            .find(|s| s.labels.get("le").map(String::as_str) == Some("+Inf"))
            .unwrap();
        assert_eq!(inf.value, 3.0);
    }
}
