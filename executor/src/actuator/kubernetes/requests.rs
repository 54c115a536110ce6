//! The Kubernetes API requests the actuator sends, built by plain functions (method, path, content
//! type, body), so that each is tested against the API's documented shape without an API server.
//! The kube client only sends them (see `client.rs`).
//!
//! Sources, Kubernetes API reference v1.34 (<https://kubernetes.io/docs/reference/kubernetes-api/>):
//! - rollout restart: `kubectl rollout restart` patches the pod template annotation
//!   `kubectl.kubernetes.io/restartedAt` with the current time in RFC 3339, as a strategic merge
//!   patch (kubectl `polymorphichelpers/objectrestarter.go`);
//! - scale: the `deployments/{name}/scale` subresource (`autoscaling/v1` `Scale`: `spec.replicas`,
//!   `status.replicas`, `status.selector`), read with GET and written with a merge patch;
//! - cordon: `kubectl cordon` patches the node's `spec.unschedulable` to `true`;
//! - drain: `kubectl drain` cordons, lists the node's pods (`fieldSelector=spec.nodeName=NODE`),
//!   skips DaemonSet-owned and mirror (static) pods, and POSTs a `policy/v1` `Eviction` to each
//!   pod's `eviction` subresource; the API server answers 429 while a PodDisruptionBudget forbids it
//!   (<https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/>);
//! - fail over: replace a Service's `spec.selector` (a JSON patch `replace` swaps the whole map,
//!   where a merge patch would keep the old keys).

use serde_json::{Value, json};

/// JSON merge patch (RFC 7386).
pub const MERGE_PATCH: &str = "application/merge-patch+json";
/// Kubernetes strategic merge patch (what kubectl sends for `rollout restart` and `cordon`).
pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
/// JSON patch (RFC 6902).
pub const JSON_PATCH: &str = "application/json-patch+json";
/// The annotation `kubectl rollout restart` sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// HTTP methods the actuator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Read.
    Get,
    /// Partial update.
    Patch,
    /// Create (evictions).
    Post,
    /// Delete (one pod, to restart one replica).
    Delete,
}

/// One API request: what the kube client sends.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeRequest {
    /// HTTP method.
    pub method: Method,
    /// Path and query, e.g. `/apis/apps/v1/namespaces/shop/deployments/web/scale`.
    pub path: String,
    /// Content type of the body (patches name their patch type).
    pub content_type: Option<&'static str>,
    /// JSON body.
    pub body: Option<Value>,
}

impl KubeRequest {
    fn get(path: String) -> Self {
        KubeRequest {
            method: Method::Get,
            path,
            content_type: None,
            body: None,
        }
    }

    fn patch(path: String, content_type: &'static str, body: Value) -> Self {
        KubeRequest {
            method: Method::Patch,
            path,
            content_type: Some(content_type),
            body: Some(body),
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters are kept).
fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn deployment_path(namespace: &str, deployment: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}")
}

/// `GET` a Deployment (its `status` tells whether a rollout finished).
pub fn get_deployment(namespace: &str, deployment: &str) -> KubeRequest {
    KubeRequest::get(deployment_path(namespace, deployment))
}

/// `kubectl rollout restart deployment/NAME`: strategic merge patch of the pod template annotation
/// with `restarted_at` (RFC 3339).
pub fn rollout_restart(namespace: &str, deployment: &str, restarted_at: &str) -> KubeRequest {
    KubeRequest::patch(
        deployment_path(namespace, deployment),
        STRATEGIC_MERGE_PATCH,
        json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at}}}}}),
    )
}

/// `GET` the Deployment's scale subresource (`spec.replicas`, `status.selector`).
pub fn get_scale(namespace: &str, deployment: &str) -> KubeRequest {
    KubeRequest::get(format!("{}/scale", deployment_path(namespace, deployment)))
}

/// Sets `spec.replicas` through the scale subresource (merge patch).
pub fn scale(namespace: &str, deployment: &str, replicas: usize) -> KubeRequest {
    KubeRequest::patch(
        format!("{}/scale", deployment_path(namespace, deployment)),
        MERGE_PATCH,
        json!({"spec": {"replicas": replicas}}),
    )
}

/// Lists a namespace's pods matching a label selector (e.g. `app=web`, as `status.selector` gives it).
pub fn list_pods(namespace: &str, label_selector: &str) -> KubeRequest {
    KubeRequest::get(format!(
        "/api/v1/namespaces/{namespace}/pods?labelSelector={}",
        encode_query(label_selector)
    ))
}

/// Deletes one pod (its ReplicaSet starts a new one: a one-replica restart).
pub fn delete_pod(namespace: &str, pod: &str) -> KubeRequest {
    KubeRequest {
        method: Method::Delete,
        path: format!("/api/v1/namespaces/{namespace}/pods/{pod}"),
        content_type: None,
        body: None,
    }
}

/// `kubectl cordon` (`true`) or `uncordon` (`false`): strategic merge patch of `spec.unschedulable`.
pub fn cordon(node: &str, unschedulable: bool) -> KubeRequest {
    KubeRequest::patch(
        format!("/api/v1/nodes/{node}"),
        STRATEGIC_MERGE_PATCH,
        json!({"spec": {"unschedulable": unschedulable}}),
    )
}

/// Lists every pod bound to `node`, in all namespaces (field selector `spec.nodeName`).
pub fn pods_on_node(node: &str) -> KubeRequest {
    KubeRequest::get(format!(
        "/api/v1/pods?fieldSelector={}",
        encode_query(&format!("spec.nodeName={node}"))
    ))
}

/// Asks to evict one pod (`policy/v1` `Eviction`); the API server refuses with 429 while a
/// PodDisruptionBudget does not allow it.
pub fn evict(namespace: &str, pod: &str) -> KubeRequest {
    KubeRequest {
        method: Method::Post,
        path: format!("/api/v1/namespaces/{namespace}/pods/{pod}/eviction"),
        content_type: Some("application/json"),
        body: Some(json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace},
        })),
    }
}

/// `GET` a Service.
pub fn get_service(namespace: &str, service: &str) -> KubeRequest {
    KubeRequest::get(format!("/api/v1/namespaces/{namespace}/services/{service}"))
}

/// Replaces a Service's whole `spec.selector` (JSON patch), moving its traffic to the pods that
/// carry `selector`'s labels.
pub fn switch_selector(
    namespace: &str,
    service: &str,
    selector: &std::collections::BTreeMap<String, String>,
) -> KubeRequest {
    KubeRequest::patch(
        format!("/api/v1/namespaces/{namespace}/services/{service}"),
        JSON_PATCH,
        json!([{"op": "replace", "path": "/spec/selector", "value": selector}]),
    )
}

/// A pod a drain must evict: `(namespace, name)`.
pub type PodRef = (String, String);

/// The pods of a `PodList` (the answer to [`pods_on_node`]) that a drain evicts, as `kubectl drain`
/// chooses them: not DaemonSet-owned (the DaemonSet controller ignores `unschedulable` and would
/// recreate them), not mirror pods (annotation `kubernetes.io/config.mirror`: the kubelet owns them),
/// not finished (`status.phase` `Succeeded` or `Failed`). Sorted by (namespace, name).
pub fn pods_to_evict(pod_list: &Value) -> Result<Vec<PodRef>, String> {
    let items = pod_list
        .get("items")
        .and_then(Value::as_array)
        .ok_or("expected a PodList with an `items` array")?;
    let mut out = Vec::new();
    for (i, pod) in items.iter().enumerate() {
        let meta = pod
            .get("metadata")
            .ok_or(format!("items[{i}]: expected `metadata`"))?;
        let field = |f: &str| meta.get(f).and_then(Value::as_str);
        let (Some(namespace), Some(name)) = (field("namespace"), field("name")) else {
            return Err(format!(
                "items[{i}].metadata: expected `namespace` and `name`"
            ));
        };
        let daemon = meta
            .get("ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|owners| {
                owners
                    .iter()
                    .any(|o| o.get("kind").and_then(Value::as_str) == Some("DaemonSet"))
            });
        let mirror = meta
            .get("annotations")
            .and_then(|a| a.get("kubernetes.io/config.mirror"))
            .is_some();
        let phase = pod
            .get("status")
            .and_then(|s| s.get("phase"))
            .and_then(Value::as_str);
        let finished = matches!(phase, Some("Succeeded" | "Failed"));
        if !(daemon || mirror || finished) {
            out.push((namespace.to_owned(), name.to_owned()));
        }
    }
    out.sort();
    Ok(out)
}

/// The names of the pods in a `PodList` that are not being deleted, sorted: replica `i` of a
/// service is the `i`-th of them (the same order the metric reader uses).
pub fn pod_names(pod_list: &Value) -> Result<Vec<String>, String> {
    let items = pod_list
        .get("items")
        .and_then(Value::as_array)
        .ok_or("expected a PodList with an `items` array")?;
    let mut names = Vec::new();
    for (i, pod) in items.iter().enumerate() {
        let meta = pod
            .get("metadata")
            .ok_or(format!("items[{i}]: expected `metadata`"))?;
        if meta.get("deletionTimestamp").is_some() {
            continue;
        }
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .ok_or(format!("items[{i}].metadata: expected `name`"))?;
        names.push(name.to_owned());
    }
    names.sort();
    Ok(names)
}

/// From a `Scale` object: `(spec.replicas, status.selector)`.
pub fn scale_of(scale: &Value) -> Result<(usize, String), String> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let selector = scale
        .pointer("/status/selector")
        .and_then(Value::as_str)
        .ok_or("expected a Scale with `status.selector`")?;
    Ok((replicas as usize, selector.to_owned()))
}

/// Whether a Deployment's rollout is complete, with the rule `kubectl rollout status` applies
/// (`observedGeneration >= generation`, `updatedReplicas == replicas`,
/// `replicas <= updatedReplicas` (no old pods left) and `availableReplicas >= updatedReplicas`;
/// kubectl `polymorphichelpers/rollout_status.go`).
pub fn rollout_complete(deployment: &Value) -> bool {
    let n = |p: &str| deployment.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let want = deployment
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    n("/status/observedGeneration") >= n("/metadata/generation")
        && n("/status/updatedReplicas") >= want
        && n("/status/replicas") <= n("/status/updatedReplicas")
        && n("/status/availableReplicas") >= n("/status/updatedReplicas")
}
