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

// ---- per-pod verification (pod_check), on core/v1 Pod objects as the API server returns them ----

use mend_executor::actuator::kubernetes::pod_check::{self, Check};

/// A core/v1 Pod: `ready` sets the `Ready` condition, `restarted_at` the template annotation that a
/// rollout restart copies onto its pods, `deleting` the `deletionTimestamp` of a terminating pod.
fn pod(name: &str, ready: bool, restarted_at: Option<&str>, deleting: bool) -> serde_json::Value {
    let mut metadata = json!({
        "name": name, "namespace": "shop",
        "creationTimestamp": "2026-11-26T10:00:00Z",
        "labels": {"app": "web", "pod-template-hash": "5d8f7c9b6"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f7c9b6",
                              "uid": "0b1c", "controller": true}]
    });
    if let Some(t) = restarted_at {
        metadata["annotations"] = json!({"kubectl.kubernetes.io/restartedAt": t});
    }
    if deleting {
        metadata["deletionTimestamp"] = json!("2026-11-26T10:00:09Z");
        metadata["deletionGracePeriodSeconds"] = json!(30);
    }
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
        "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "web:1"}]},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "ContainersReady", "status": if ready { "True" } else { "False" }},
                {"type": "Ready", "status": if ready { "True" } else { "False" },
                 "lastTransitionTime": "2026-11-26T10:00:05Z"}
            ]
        }
    })
}

fn pod_list(pods: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "42"}, "items": pods})
}

fn states(pods: Vec<serde_json::Value>) -> Vec<pod_check::PodState> {
    pod_check::pod_states(&pod_list(pods)).unwrap()
}

#[test]
fn pod_states_read_ready_deletion_and_restarted_at() {
    let s = states(vec![
        pod("web-b", false, None, true),
        pod("web-a", true, Some("2026-11-26T10:00:00Z"), false),
    ]);
    assert_eq!(s[0].name, "web-a", "sorted by name");
    assert!(s[0].ready && !s[0].deleting);
    assert_eq!(
        s[0].restarted_at,
        Some("2026-11-26T10:00:00Z".parse().unwrap())
    );
    assert!(!s[1].ready && s[1].deleting && s[1].restarted_at.is_none());
    // A pod without conditions (Pending, not yet scheduled) is not Ready.
    let pending = json!({"metadata": {"name": "web-c"}, "status": {"phase": "Pending"}});
    assert!(!states(vec![pending])[0].ready);
    // Errors name the item and field.
    let e = pod_check::pod_states(&json!({"items": [{"metadata": {}}]})).unwrap_err();
    assert!(e.contains("items[0].metadata") && e.contains("name"), "{e}");
    let mut bad = pod("web-a", true, Some("yesterday"), false);
    bad["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = json!("yesterday");
    let e = pod_check::pod_states(&pod_list(vec![bad])).unwrap_err();
    assert!(e.contains("restartedAt") && e.contains("RFC 3339"), "{e}");
    assert!(pod_check::pod_states(&json!({"kind": "Status"})).is_err());
}

#[test]
fn a_rollout_restart_is_verified_only_when_every_pod_is_new_and_ready() {
    let at = "2026-11-26T10:00:07Z";
    let since: jiff::Timestamp = at.parse().unwrap();
    let older = Some("2026-11-26T09:00:00Z");
    // Mid-rollout: one new pod Ready, one new not Ready, one old still live, one old terminating.
    let mid = states(vec![
        pod("web-new1", true, Some(at), false),
        pod("web-new2", false, Some(at), false),
        pod("web-old1", true, older, false),
        pod("web-old2", true, None, true),
    ]);
    match pod_check::rollout_restarted(&mid, 2, since) {
        Check::Waiting(why) => assert!(why.contains("1 of 2") && why.contains("web-old1"), "{why}"),
        Check::Done => panic!("an old pod is still live"),
    }
    // Done: both new pods Ready; the old ones are terminating (they do not count).
    let done = states(vec![
        pod("web-new1", true, Some(at), false),
        pod("web-new2", true, Some(at), false),
        pod("web-old1", true, older, true),
    ]);
    assert_eq!(pod_check::rollout_restarted(&done, 2, since), Check::Done);
    // A later restart (newer restartedAt) also satisfies it; never-restarted pods do not.
    let later = states(vec![
        pod("a", true, Some("2026-11-26T10:05:00Z"), false),
        pod("b", true, Some("2026-11-26T10:05:00Z"), false),
    ]);
    assert_eq!(pod_check::rollout_restarted(&later, 2, since), Check::Done);
    let never = states(vec![
        pod("a", true, None, false),
        pod("b", true, None, false),
    ]);
    assert!(matches!(
        pod_check::rollout_restarted(&never, 2, since),
        Check::Waiting(_)
    ));
}

#[test]
fn a_one_replica_restart_is_verified_when_its_replacement_is_ready() {
    let before = vec!["web-a".to_owned(), "web-b".to_owned(), "web-c".to_owned()];
    // The deleted pod is terminating, its replacement not Ready yet.
    let starting = states(vec![
        pod("web-a", true, None, false),
        pod("web-b", true, None, true),
        pod("web-c", true, None, false),
        pod("web-d", false, None, false),
    ]);
    match pod_check::replica_replaced(&starting, 3, "web-b", &before) {
        Check::Waiting(why) => assert!(why.contains("web-d") && why.contains("2 of 3"), "{why}"),
        Check::Done => panic!("the replacement is not Ready"),
    }
    let done = states(vec![
        pod("web-a", true, None, false),
        pod("web-c", true, None, false),
        pod("web-d", true, None, false),
    ]);
    assert_eq!(
        pod_check::replica_replaced(&done, 3, "web-b", &before),
        Check::Done
    );
    // The delete not taken effect: the pod is still live and not terminating.
    let untouched = states(vec![
        pod("web-a", true, None, false),
        pod("web-b", true, None, false),
        pod("web-c", true, None, false),
    ]);
    match pod_check::replica_replaced(&untouched, 3, "web-b", &before) {
        Check::Waiting(why) => assert!(why.contains("web-b still live"), "{why}"),
        Check::Done => panic!("nothing was replaced"),
    }
}

#[test]
fn a_scaling_is_verified_when_ready_replicas_equal_the_desired_count() {
    let up = |n: usize, ready: usize| {
        states(
            (0..n)
                .map(|i| pod(&format!("web-{i}"), i < ready, None, false))
                .collect(),
        )
    };
    assert_eq!(pod_check::scaled(&up(4, 4), 4), Check::Done);
    assert!(matches!(pod_check::scaled(&up(4, 3), 4), Check::Waiting(w) if w.contains("web-3")));
    assert!(matches!(pod_check::scaled(&up(3, 3), 4), Check::Waiting(_)));
    // Scale-in: the pod being deleted does not count; five live pods for a target of four do.
    let mut shrinking = up(4, 4);
    shrinking.extend(states(vec![pod("web-9", true, None, true)]));
    assert_eq!(pod_check::scaled(&shrinking, 4), Check::Done);
    assert!(matches!(pod_check::scaled(&up(5, 5), 4), Check::Waiting(_)));
}
