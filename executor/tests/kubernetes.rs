//! The Kubernetes actuator without an API server: every request it builds has the method, path,
//! content type and body the Kubernetes API reference documents (and that kubectl sends for the
//! same operation); answers are decoded from documented object shapes; the cluster file's
//! `[actuator]` table is validated with errors naming the field; and connecting without any
//! configuration fails cleanly.

use std::collections::BTreeMap;
use std::path::Path;

use mend_executor::actuator::kubernetes::requests::{self, Method};
use mend_executor::actuator::kubernetes::{is_dns1123_subdomain, rfc3339};
use mend_executor::actuator::{ActuatorError, KubeSettings, KubernetesActuator};
use mend_executor::cluster::{ActuatorKind, ClusterFile, ClusterFileError};
use serde_json::json;

#[test]
fn rollout_restart_patches_the_pod_template_annotation_like_kubectl() {
    let r = requests::rollout_restart("shop", "web", "2026-11-26T10:00:00Z");
    assert_eq!(r.method, Method::Patch);
    assert_eq!(r.path, "/apis/apps/v1/namespaces/shop/deployments/web");
    assert_eq!(
        r.content_type,
        Some("application/strategic-merge-patch+json")
    );
    assert_eq!(
        r.body,
        Some(json!({"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": "2026-11-26T10:00:00Z"}}}}}))
    );
}

#[test]
fn restarted_at_is_rfc3339_with_whole_seconds() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    // 1_700_000_000 s is 2023-11-14 22:13:20 UTC; milliseconds are dropped, as Go's time.RFC3339 does.
    assert_eq!(rfc3339(1_700_000_000_999), "2023-11-14T22:13:20Z");
}

#[test]
fn scale_goes_through_the_scale_subresource() {
    let get = requests::get_scale("shop", "web");
    assert_eq!(get.method, Method::Get);
    assert_eq!(
        get.path,
        "/apis/apps/v1/namespaces/shop/deployments/web/scale"
    );
    assert_eq!(get.body, None);
    let set = requests::scale("shop", "web", 4);
    assert_eq!(set.method, Method::Patch);
    assert_eq!(set.path, get.path);
    assert_eq!(set.content_type, Some("application/merge-patch+json"));
    assert_eq!(set.body, Some(json!({"spec": {"replicas": 4}})));
}

#[test]
fn a_scale_object_gives_replicas_and_selector() {
    // autoscaling/v1 Scale, as the API server returns it.
    let scale = json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 3},
        "status": {"replicas": 3, "selector": "app=web,tier=front"}
    });
    assert_eq!(
        requests::scale_of(&scale).unwrap(),
        (3, "app=web,tier=front".to_owned())
    );
    assert!(requests::scale_of(&json!({"spec": {"replicas": 3}})).is_err());
    // the selector is sent percent-encoded
    assert_eq!(
        requests::list_pods("shop", "app=web,tier=front").path,
        "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb%2Ctier%3Dfront"
    );
}

#[test]
fn cordon_patches_unschedulable() {
    let r = requests::cordon("node-7", true);
    assert_eq!(r.method, Method::Patch);
    assert_eq!(r.path, "/api/v1/nodes/node-7");
    assert_eq!(
        r.content_type,
        Some("application/strategic-merge-patch+json")
    );
    assert_eq!(r.body, Some(json!({"spec": {"unschedulable": true}})));
    assert_eq!(
        requests::cordon("node-7", false).body,
        Some(json!({"spec": {"unschedulable": false}}))
    );
}

#[test]
fn drain_lists_the_node_pods_and_posts_policy_v1_evictions() {
    let list = requests::pods_on_node("node-7");
    assert_eq!(list.method, Method::Get);
    assert_eq!(
        list.path,
        "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-7"
    );
    let e = requests::evict("shop", "web-5d9c-abcde");
    assert_eq!(e.method, Method::Post);
    assert_eq!(
        e.path,
        "/api/v1/namespaces/shop/pods/web-5d9c-abcde/eviction"
    );
    assert_eq!(
        e.body,
        Some(json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "web-5d9c-abcde", "namespace": "shop"}}))
    );
}

#[test]
fn drain_skips_daemonset_mirror_and_finished_pods() {
    let pod = |ns: &str, name: &str, extra: serde_json::Value, phase: &str| {
        let mut meta = json!({"namespace": ns, "name": name});
        if let (Some(m), Some(x)) = (meta.as_object_mut(), extra.as_object()) {
            m.extend(x.clone());
        }
        json!({"metadata": meta, "status": {"phase": phase}})
    };
    let list = json!({"kind": "PodList", "items": [
        pod("shop", "web-b", json!({"ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9c"}]}), "Running"),
        pod("kube-system", "fluentd-x", json!({"ownerReferences": [{"kind": "DaemonSet", "name": "fluentd"}]}), "Running"),
        pod("kube-system", "etcd-node-7", json!({"annotations": {"kubernetes.io/config.mirror": "abc"}}), "Running"),
        pod("shop", "job-1", json!({}), "Succeeded"),
        pod("shop", "job-2", json!({}), "Failed"),
        pod("default", "web-a", json!({}), "Pending"),
    ]});
    assert_eq!(
        requests::pods_to_evict(&list).unwrap(),
        vec![
            ("default".to_owned(), "web-a".to_owned()),
            ("shop".to_owned(), "web-b".to_owned())
        ]
    );
    assert!(requests::pods_to_evict(&json!({"kind": "Status"})).is_err());
    assert!(requests::pods_to_evict(&json!({"items": [{"metadata": {"name": "x"}}]})).is_err());
}

#[test]
fn pods_in_deletion_are_not_replicas_and_names_are_sorted() {
    let list = json!({"items": [
        {"metadata": {"name": "web-c"}},
        {"metadata": {"name": "web-a", "deletionTimestamp": "2026-11-26T10:00:00Z"}},
        {"metadata": {"name": "web-b"}},
    ]});
    assert_eq!(requests::pod_names(&list).unwrap(), vec!["web-b", "web-c"]);
}

#[test]
fn fail_over_replaces_the_whole_service_selector() {
    let selector = BTreeMap::from([
        ("app".to_owned(), "web".to_owned()),
        ("site".to_owned(), "standby".to_owned()),
    ]);
    let r = requests::switch_selector("shop", "web", &selector);
    assert_eq!(r.method, Method::Patch);
    assert_eq!(r.path, "/api/v1/namespaces/shop/services/web");
    assert_eq!(r.content_type, Some("application/json-patch+json"));
    assert_eq!(
        r.body,
        Some(json!([{"op": "replace", "path": "/spec/selector",
            "value": {"app": "web", "site": "standby"}}]))
    );
}

#[test]
fn one_replica_restart_deletes_its_pod() {
    let r = requests::delete_pod("shop", "web-b");
    assert_eq!(r.method, Method::Delete);
    assert_eq!(r.path, "/api/v1/namespaces/shop/pods/web-b");
    assert_eq!(r.body, None);
}

#[test]
fn rollout_status_follows_kubectl() {
    let dep = |generation: u64, observed: u64, updated: u64, total: u64, available: u64| {
        json!({"metadata": {"generation": generation}, "spec": {"replicas": 3},
            "status": {"observedGeneration": observed, "updatedReplicas": updated,
                "replicas": total, "availableReplicas": available}})
    };
    assert!(requests::rollout_complete(&dep(2, 2, 3, 3, 3)));
    assert!(
        !requests::rollout_complete(&dep(3, 2, 3, 3, 3)),
        "spec not yet observed"
    );
    assert!(
        !requests::rollout_complete(&dep(2, 2, 2, 3, 3)),
        "not all updated"
    );
    assert!(
        !requests::rollout_complete(&dep(2, 2, 3, 4, 3)),
        "old pod still terminating"
    );
    assert!(
        !requests::rollout_complete(&dep(2, 2, 3, 3, 2)),
        "not all available"
    );
}

#[test]
fn object_names_follow_dns_1123() {
    for ok in ["web", "web-1", "a.b-c", "0"] {
        assert!(is_dns1123_subdomain(ok), "{ok}");
    }
    for bad in ["", "Web", "-web", "web-", "web_1", "a/b", &"a".repeat(254)] {
        assert!(!is_dns1123_subdomain(bad), "{bad}");
    }
}

const KUBE: &str = r#"
namespace = "shop"
[prometheus]
url = "http://prometheus.monitoring:9090"
[actuator]
kind = "kubernetes"
[[services]]
name = "web"
failover_to = "web-standby"
kubernetes = { deployment = "web", service = "web", selector = { app = "web" } }
[services.replica_metrics]
up = { promql = 'up{job="web"}' }
[[services]]
name = "web-standby"
kubernetes = { deployment = "web-standby", selector = { app = "web", site = "standby" } }
[services.replica_metrics]
up = { promql = 'up{job="web-standby"}' }
"#;

fn parse(text: &str) -> Result<ClusterFile, ClusterFileError> {
    ClusterFile::parse(Path::new("k.toml"), text, Path::new("/etc/mend"))
}

fn invalid_field(text: &str) -> String {
    match parse(text) {
        Err(ClusterFileError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn a_kubernetes_cluster_file_loads_and_names_its_objects() {
    let c = parse(KUBE).unwrap();
    assert_eq!(c.actuator.kind, ActuatorKind::Kubernetes);
    let (settings, services) = c.kube_settings();
    assert_eq!(settings.kubeconfig, None);
    assert_eq!(services.len(), 2);
    assert_eq!(services[0].objects.deployment, "web");
    assert!(c.service_specs().is_empty(), "no local processes");
}

#[test]
fn kubernetes_cluster_file_errors_name_the_field() {
    // a service without its Kubernetes objects
    let missing = KUBE.replace(
        "kubernetes = { deployment = \"web-standby\", selector = { app = \"web\", site = \"standby\" } }\n",
        "",
    );
    assert_eq!(invalid_field(&missing), "services[1].kubernetes");
    // an invalid Deployment name
    let bad_name = KUBE.replace("deployment = \"web\",", "deployment = \"Web_1\",");
    assert_eq!(
        invalid_field(&bad_name),
        "services[0].kubernetes.deployment"
    );
    // a fail-over target without pod labels to switch to
    let no_selector = KUBE.replace(", selector = { app = \"web\", site = \"standby\" }", "");
    assert_eq!(
        invalid_field(&no_selector),
        "services[1].kubernetes.selector"
    );
    // pods cannot be scraped by port
    let scrape = KUBE.replace(
        "up = { promql = 'up{job=\"web\"}' }",
        "up = { scrape = \"up\" }",
    );
    assert_eq!(invalid_field(&scrape), "services[0].replica_metrics.up");
    // an invalid namespace
    assert_eq!(
        invalid_field(&KUBE.replace("namespace = \"shop\"", "namespace = \"Shop\"")),
        "namespace"
    );
    // unknown actuator kind and unknown field: parse errors naming them
    for (text, needle) in [
        (
            KUBE.replace("kind = \"kubernetes\"", "kind = \"nomad\""),
            "nomad",
        ),
        (
            KUBE.replace(
                "kind = \"kubernetes\"",
                "kind = \"kubernetes\"\ntimeout = 3",
            ),
            "timeout",
        ),
    ] {
        match parse(&text) {
            Err(ClusterFileError::Parse { message, .. }) => {
                assert!(message.contains(needle), "{message}")
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
    // the local actuator (the default) needs a process table
    let local = KUBE.replace("[actuator]\nkind = \"kubernetes\"\n", "");
    assert_eq!(invalid_field(&local), "services[0].process");
    // a kubeconfig with the local actuator is a mistake
    let kubeconfig_local = VALID_LOCAL.replace("[actuator]", "[actuator]\nkubeconfig = \"k\"");
    assert_eq!(invalid_field(&kubeconfig_local), "actuator.kubeconfig");
    let zero = KUBE.replace(
        "kind = \"kubernetes\"",
        "kind = \"kubernetes\"\ndrain_timeout_ms = 0",
    );
    assert_eq!(invalid_field(&zero), "actuator.drain_timeout_ms");
}

const VALID_LOCAL: &str = r#"
namespace = "demo"
[actuator]
kind = "local"
[[services]]
name = "web"
[services.process]
command = "bin/svc"
replicas = 1
[services.replica_metrics]
up = { scrape = "up" }
"#;

#[test]
fn a_missing_kubeconfig_fails_cleanly() {
    let settings = KubeSettings {
        kubeconfig: Some("/nonexistent/mend/kubeconfig".into()),
        request_timeout: std::time::Duration::from_secs(1),
        drain_timeout: std::time::Duration::from_secs(1),
    };
    match KubernetesActuator::connect("shop", Vec::new(), settings) {
        Err(ActuatorError::Kubernetes {
            request, message, ..
        }) => {
            assert_eq!(request, "connect");
            assert!(
                message.contains("/nonexistent/mend/kubeconfig"),
                "{message}"
            );
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
}

/// `Client::try_default()` without in-cluster variables, `$KUBECONFIG` or `~/.kube/config`: this
/// test re-runs itself in a child process with an empty environment of that kind, where the
/// actuator must return an error (not panic).
#[test]
fn try_default_without_any_configuration_fails_cleanly() {
    if std::env::var_os("MEND_KUBE_CHILD").is_some() {
        let settings = KubeSettings {
            kubeconfig: None,
            request_timeout: std::time::Duration::from_secs(1),
            drain_timeout: std::time::Duration::from_secs(1),
        };
        match KubernetesActuator::connect("shop", Vec::new(), settings) {
            Err(ActuatorError::Kubernetes {
                request, message, ..
            }) => {
                assert_eq!(request, "connect");
                assert!(message.contains("no Kubernetes configuration"), "{message}");
            }
            other => panic!("expected a connection error, got {other:?}"),
        }
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "try_default_without_any_configuration_fails_cleanly",
            "--nocapture",
        ])
        .env_clear()
        .env("MEND_KUBE_CHILD", "1")
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("absent"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran the test:\n{text}");
}

/// The cluster file shipped in `deploy/k8s/executor.yaml`'s ConfigMap is valid, uses the
/// Kubernetes actuator, and the Deployment runs in shadow mode with the kill switch on its volume.
#[test]
fn the_shipped_deployment_is_valid_and_in_shadow_mode() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let yaml = std::fs::read_to_string(root.join("deploy/k8s/executor.yaml")).unwrap();
    let mut lines = yaml
        .lines()
        .skip_while(|l| !l.trim_end().ends_with("cluster.toml: |"));
    lines.next();
    let toml: String = lines
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.get(4..).unwrap_or("")))
        .collect();
    let cluster = parse(&toml).unwrap();
    assert_eq!(cluster.actuator.kind, ActuatorKind::Kubernetes);
    let kill = cluster.guards.kill_switch.clone().unwrap();
    assert!(
        kill.starts_with("/var/lib/mend"),
        "kill switch on the audit volume"
    );
    assert!(yaml.contains("- --mode=shadow"));
    assert!(yaml.contains("mountPath: /var/lib/mend"));
    // the RBAC grants the verbs the requests use, and no wildcard
    let rbac = std::fs::read_to_string(root.join("deploy/k8s/rbac.yaml")).unwrap();
    assert!(!rbac.contains('*'));
    for needle in [
        r#"resources: ["deployments/scale"]"#,
        r#"resources: ["pods/eviction"]"#,
        r#"verbs: ["create"]"#,
        r#"resources: ["nodes"]"#,
    ] {
        assert!(rbac.contains(needle), "{needle}");
    }
}
