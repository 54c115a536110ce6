//! The cluster file: a valid file loads; each invalid field gives an error naming the file and the
//! field; the executor's action-kind names follow the simulator's order.

use std::path::Path;

use mend_executor::cluster::{ClusterFile, ClusterFileError};
use mend_executor::decide::SIM_ACTION_KINDS;

const VALID: &str = r#"
namespace = "demo"
interval_ms = 1000

[prometheus]
url = "http://127.0.0.1:9090"

[[services]]
name = "web"
[services.process]
command = "bin/mend-demo-service"
args = ["--port", "{port}"]
replicas = 3
[services.replica_metrics]
up = { promql = 'up{job="mend"}' }
memory_utilization = { scrape = "process_resident_memory_bytes", scale = 1e-8 }

[guards]
allowlist = ["demo/web"]
"#;

fn parse(text: &str) -> Result<ClusterFile, ClusterFileError> {
    ClusterFile::parse(Path::new("c.toml"), text, Path::new("/etc/mend"))
}

fn invalid_field(text: &str) -> String {
    match parse(text) {
        Err(ClusterFileError::Invalid { field, path, .. }) => {
            assert_eq!(path, Path::new("c.toml"));
            field
        }
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn a_valid_file_loads_with_defaults_and_resolved_commands() {
    let c = parse(VALID).unwrap();
    assert_eq!(c.interval_ms, 1000);
    assert!(c.guards.shadow, "shadow by default");
    let specs = c.service_specs();
    assert_eq!(
        specs[0].command,
        Path::new("/etc/mend/bin/mend-demo-service")
    );
    assert_eq!(specs[0].replicas, 3);
    assert_eq!(c.service_names(), ["web"]);
}

#[test]
fn unknown_fields_are_refused_with_their_line() {
    let text = VALID.replace("interval_ms = 1000", "interval_ms = 1000\nintervall = 3");
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("c.toml") && err.contains("intervall") && err.contains("line"),
        "{err}"
    );
    let text = VALID.replace("replicas = 3", "replicas = 3\nreplica = 2");
    assert!(parse(&text).unwrap_err().to_string().contains("replica"));
}

#[test]
fn each_invalid_field_is_named() {
    let cases = [
        (
            VALID.replace("namespace = \"demo\"", "namespace = \"a/b\""),
            "namespace",
        ),
        (
            VALID.replace("interval_ms = 1000", "interval_ms = 10"),
            "interval_ms",
        ),
        (
            VALID.replace("up = {", "cpu_utilization = {"),
            "services[0].replica_metrics",
        ),
        (
            VALID.replace("memory_utilization = {", "memory_usage = {"),
            "services[0].replica_metrics.memory_usage",
        ),
        (
            VALID.replace(
                "{ promql = 'up{job=\"mend\"}' }",
                "{ promql = 'up', scrape = 'up' }",
            ),
            "services[0].replica_metrics.up",
        ),
        (
            VALID.replace("[prometheus]\nurl = \"http://127.0.0.1:9090\"", ""),
            "prometheus",
        ),
        (VALID.replace("http://127", "https://127"), "prometheus.url"),
        (
            VALID.replace("\"demo/web\"", "\"web\""),
            "guards.allowlist[0]",
        ),
        (VALID.replace("replicas = 3", "replicas = 1000"), "services"),
        (
            VALID.replace("[guards]", "[fallback]\ndown_for = 0\n[guards]"),
            "fallback.down_for",
        ),
        (
            format!("{VALID}\n[services.service_metrics]\nrequest_rate = {{ scrape = 'x' }}"),
            "services[0].service_metrics.request_rate",
        ),
    ];
    for (text, field) in cases {
        assert_eq!(invalid_field(&text), field);
    }
    let no_services = "namespace = \"demo\"\nservices = []\n";
    assert_eq!(invalid_field(no_services), "services");
}

#[test]
fn action_kind_names_follow_the_simulator() {
    let sim: Vec<&str> = mend_sim::ActionKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(sim, SIM_ACTION_KINDS);
}

#[test]
fn agents_baselines_are_built_from_the_cluster_file() {
    use mend_executor::decide::BaselinePolicy;
    let reactive = format!("{VALID}\n[reactive]\nliveness_period_s = 1.0\nhpa_enabled = false\n");
    let c = parse(&reactive).unwrap();
    assert_eq!(
        BaselinePolicy::new("reactive", &c).unwrap().name(),
        "reactive"
    );
    let typo = reactive.replace("hpa_enabled", "hpa_enable");
    assert!(parse(&typo).unwrap_err().to_string().contains("hpa_enable"));

    let err = BaselinePolicy::new("runbook", &c).unwrap_err().to_string();
    assert!(err.contains("runbook"), "{err}");
    let runbook = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../agents/runbooks/default.toml"
    );
    let with_file = VALID.replace(
        "interval_ms = 1000",
        &format!("interval_ms = 1000\nrunbook = \"{runbook}\""),
    );
    let c = parse(&with_file).unwrap();
    assert_eq!(
        BaselinePolicy::new("runbook", &c).unwrap().name(),
        "runbook"
    );
    assert!(BaselinePolicy::new("oracle", &c).is_err());
}
