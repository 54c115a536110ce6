//! Metric sources against real HTTP: the Prometheus source against a scripted server serving
//! API answers (fixtures), the scrape source against the demo service.

mod common;

use std::time::Duration;

use common::{DemoProcess, ScriptedServer, closed_port, get};
use mend_executor::metrics::{
    MetricError, MetricSource, PromQuery, PrometheusConfig, PrometheusSource, ScrapeSource,
};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/prometheus/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn config(port: u16, queries: &[(&str, &str)], retries: u32) -> PrometheusConfig {
    PrometheusConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        queries: queries
            .iter()
            .map(|(f, e)| PromQuery {
                feature: (*f).into(),
                expr: (*e).into(),
            })
            .collect(),
        timeout: Duration::from_millis(500),
        retries,
        backoff: Duration::from_millis(5),
    }
}

fn ok(body: String) -> (u16, String, Duration) {
    (200, body, Duration::ZERO)
}

#[test]
fn a_vector_answer_becomes_sorted_samples_named_after_the_feature() {
    let server = ScriptedServer::start(vec![ok(fixture("vector.json"))]);
    let mut source = PrometheusSource::new(config(
        server.port,
        &[("up", "up{job=~\"node|prometheus\"}")],
        0,
    ))
    .unwrap();
    let samples = source.fetch(1_435_781_451_781).unwrap();
    assert_eq!(samples.len(), 2);
    assert!(
        samples
            .iter()
            .all(|s| s.name == "up" && s.timestamp_ms == 1_435_781_451_781)
    );
    // Sorted by labels: instance localhost:9090 before localhost:9100.
    assert_eq!(samples[0].labels["job"], "prometheus");
    assert_eq!((samples[0].value, samples[1].value), (1.0, 0.0));
    let url = &server.requests()[0];
    assert!(url.starts_with("/api/v1/query?"), "{url}");
    assert!(
        url.contains("time=1435781451.781") && url.contains("timeout=500ms"),
        "{url}"
    );
    assert!(
        url.contains("query=up%7Bjob%3D~%22node%7Cprometheus%22%7D"),
        "query not URL-encoded: {url}"
    );
}

#[test]
fn a_scalar_answer_is_one_unlabelled_sample() {
    let server = ScriptedServer::start(vec![ok(fixture("scalar.json"))]);
    let mut source =
        PrometheusSource::new(config(server.port, &[("ratio", "scalar(x)")], 0)).unwrap();
    let samples = source.fetch(0).unwrap();
    assert_eq!(samples.len(), 1);
    assert_eq!((samples[0].value, samples[0].labels.len()), (0.25, 0));
}

#[test]
fn status_error_is_reported_with_its_type_and_not_retried() {
    let server =
        ScriptedServer::start(vec![(422, fixture("error_execution.json"), Duration::ZERO)]);
    let mut source = PrometheusSource::new(config(server.port, &[("f", "a / b")], 3)).unwrap();
    let err = source.fetch(0).unwrap_err();
    assert!(
        matches!(&err, MetricError::Query { error_type, status: 422, .. } if error_type == "execution"),
        "{err}"
    );
    assert!(err.to_string().contains("a / b"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn http_503_is_retried_with_backoff_then_succeeds() {
    let unavailable = (503, fixture("error_timeout.json"), Duration::ZERO);
    let server = ScriptedServer::start(vec![
        unavailable.clone(),
        unavailable,
        ok(fixture("scalar.json")),
    ]);
    let mut source = PrometheusSource::new(config(server.port, &[("f", "x")], 2)).unwrap();
    assert_eq!(source.fetch(0).unwrap()[0].value, 0.25);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn retries_are_bounded_and_the_last_error_is_reported() {
    let server = ScriptedServer::start(vec![(503, "upstream down".into(), Duration::ZERO)]);
    let mut source = PrometheusSource::new(config(server.port, &[("f", "x")], 2)).unwrap();
    let err = source.fetch(0).unwrap_err();
    assert!(
        matches!(err, MetricError::Http { status: 503, .. }),
        "{err}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn prometheus_down_is_a_transport_error_after_every_attempt() {
    let mut source = PrometheusSource::new(config(closed_port(), &[("f", "x")], 1)).unwrap();
    let err = source.fetch(0).unwrap_err();
    assert!(
        matches!(err, MetricError::Transport { attempts: 2, .. }),
        "{err}"
    );
}

#[test]
fn a_slow_answer_times_out() {
    let server = ScriptedServer::start(vec![(
        200,
        fixture("scalar.json"),
        Duration::from_millis(1500),
    )]);
    let mut source = PrometheusSource::new(config(server.port, &[("f", "x")], 0)).unwrap();
    let err = source.fetch(0).unwrap_err();
    assert!(
        matches!(err, MetricError::Transport { attempts: 1, .. }),
        "{err}"
    );
}

#[test]
fn nan_empty_and_malformed_answers_are_errors_naming_the_feature() {
    let server = ScriptedServer::start(vec![ok(fixture("nan.json"))]);
    let err = PrometheusSource::new(config(server.port, &[("lat", "q")], 0))
        .unwrap()
        .fetch(0)
        .unwrap_err();
    assert!(
        matches!(&err, MetricError::NotFinite { feature, value, .. } if feature == "lat" && value == "NaN"),
        "{err}"
    );

    let server = ScriptedServer::start(vec![ok(fixture("empty.json"))]);
    let err = PrometheusSource::new(config(server.port, &[("cpu", "q")], 0))
        .unwrap()
        .fetch(0)
        .unwrap_err();
    assert!(
        matches!(&err, MetricError::Empty { feature, .. } if feature == "cpu"),
        "{err}"
    );

    let server = ScriptedServer::start(vec![
        ok("{\"status\":\"success\"}".into()),
        ok("<html>".into()),
    ]);
    let mut source = PrometheusSource::new(config(server.port, &[("a", "q")], 0)).unwrap();
    let err = source.fetch(0).unwrap_err();
    assert!(err.to_string().contains("`data` is missing"), "{err}");
    let err = source.fetch(0).unwrap_err();
    assert!(matches!(err, MetricError::BadResponse { .. }), "{err}");
}

#[test]
fn invalid_configs_name_the_field() {
    let err = PrometheusSource::new(config(1, &[("a", "x"), ("a", "y")], 0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("queries[1].feature"), "{err}");
    let err = PrometheusSource::new(config(1, &[("a", " ")], 0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("queries[0].expr"), "{err}");
    let err = PrometheusSource::new(config(1, &[], 0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("queries"), "{err}");
}

#[test]
fn scraping_the_demo_service_reads_its_counters_histogram_and_memory() {
    let demo = DemoProcess::start("web");
    for _ in 0..2 {
        get(&format!("{}/", demo.url()), Duration::from_secs(5)).unwrap();
    }
    let mut source =
        ScrapeSource::new(&format!("{}/metrics", demo.url()), Duration::from_secs(5)).unwrap();
    let samples = source.fetch(7).unwrap();
    let find = |name: &str| {
        samples
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(find("mend_demo_requests_total").value, 2.0);
    assert_eq!(find("mend_demo_requests_total").labels["service"], "web");
    assert!(find("process_resident_memory_bytes").value > 0.0);
    let buckets: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "mend_demo_request_duration_seconds_bucket")
        .collect();
    assert_eq!(buckets.len(), 12, "11 bounds and +Inf");
    assert!(
        buckets
            .iter()
            .any(|s| s.labels["le"] == "+Inf" && s.value == 2.0)
    );
    assert!(samples.iter().all(|s| s.timestamp_ms == 7));
    let mut sorted = samples.clone();
    sorted.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
    assert_eq!(sorted, samples);
    drop(demo);
    assert!(matches!(
        source.fetch(8),
        Err(MetricError::Transport { .. })
    ));
}
