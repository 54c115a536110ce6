//! Per-pod verification of the Kubernetes actuator's restarts and scalings: plain functions of a
//! `PodList` (the answer to [`super::requests::list_pods`]), so each is tested against the API's
//! documented object shapes without an API server.
//!
//! Sources, Kubernetes API reference v1.34, core/v1 `Pod`
//! (<https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/>):
//! - `metadata.deletionTimestamp` is set once a pod is being deleted (it then no longer counts);
//! - `status.conditions[]` holds `{type: "Ready", status: "True"}` when the pod serves traffic
//!   ("Pod Lifecycle", section "Pod conditions");
//! - pods created from a Deployment's template carry the template's annotations, so after
//!   `kubectl rollout restart` the new pods carry `kubectl.kubernetes.io/restartedAt` with the value
//!   the patch wrote (kubectl `polymorphichelpers/objectrestarter.go`).
//!
//! No clock is compared across machines: a rollout restart is checked against the `restartedAt`
//! value the executor itself wrote, a one-replica restart against the pod names seen before the
//! deletion (the replacement is a name not seen before).

use serde_json::Value;

use super::requests::RESTARTED_AT;

/// What verification needs of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodState {
    /// `metadata.name`.
    pub name: String,
    /// The `Ready` condition is `True`.
    pub ready: bool,
    /// `metadata.deletionTimestamp` is set (terminating).
    pub deleting: bool,
    /// The pod's `kubectl.kubernetes.io/restartedAt` annotation, parsed (RFC 3339).
    pub restarted_at: Option<jiff::Timestamp>,
}

/// Whether a verification holds yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The action had its effect.
    Done,
    /// Not yet: what is still missing, in words (the timeout error quotes the last one).
    Waiting(String),
}

/// The pods of a `PodList`, sorted by name; errors name the item and field that is missing.
pub fn pod_states(pod_list: &Value) -> Result<Vec<PodState>, String> {
    let items = pod_list
        .get("items")
        .and_then(Value::as_array)
        .ok_or("expected a PodList with an `items` array")?;
    let mut pods = Vec::with_capacity(items.len());
    for (i, pod) in items.iter().enumerate() {
        let meta = pod
            .get("metadata")
            .ok_or(format!("items[{i}]: expected `metadata`"))?;
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .ok_or(format!("items[{i}].metadata: expected `name`"))?;
        let ready = pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|conditions| {
                conditions.iter().any(|c| {
                    c.get("type").and_then(Value::as_str) == Some("Ready")
                        && c.get("status").and_then(Value::as_str) == Some("True")
                })
            });
        let restarted_at = match meta.get("annotations").and_then(|a| a.get(RESTARTED_AT)) {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                    .ok_or(format!(
                        "items[{i}].metadata.annotations.{RESTARTED_AT}: expected an RFC 3339 time, found {v}"
                    ))?,
            ),
        };
        pods.push(PodState {
            name: name.to_owned(),
            ready,
            deleting: meta.get("deletionTimestamp").is_some_and(|d| !d.is_null()),
            restarted_at,
        });
    }
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(pods)
}

fn live(pods: &[PodState]) -> impl Iterator<Item = &PodState> {
    pods.iter().filter(|p| !p.deleting)
}

fn names<'a>(pods: impl Iterator<Item = &'a PodState>) -> String {
    let v: Vec<&str> = pods.map(|p| p.name.as_str()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// A rollout restart (whose patch wrote `restarted_at`) is done when `desired` live pods are Ready
/// with a `restartedAt` at or after it, and no live pod of an older template is left.
pub fn rollout_restarted(
    pods: &[PodState],
    desired: usize,
    restarted_at: jiff::Timestamp,
) -> Check {
    let is_new = |p: &&PodState| p.restarted_at.is_some_and(|t| t >= restarted_at);
    let ready_new = live(pods).filter(is_new).filter(|p| p.ready).count();
    let old: Vec<&PodState> = live(pods).filter(|p| !is_new(p)).collect();
    if ready_new >= desired && old.is_empty() {
        Check::Done
    } else {
        Check::Waiting(format!(
            "{ready_new} of {desired} pods Ready with restartedAt >= {restarted_at}; \
             older pods still live: {}",
            names(old.into_iter())
        ))
    }
}

/// A one-replica restart (pod `deleted` deleted while the pods were `before`) is done when
/// `deleted` is no longer live, a pod not in `before` is Ready, and `desired` live pods are Ready.
pub fn replica_replaced(
    pods: &[PodState],
    desired: usize,
    deleted: &str,
    before: &[String],
) -> Check {
    let still_live = live(pods).any(|p| p.name == deleted);
    let replacement_ready = live(pods).any(|p| p.ready && !before.contains(&p.name));
    let ready = live(pods).filter(|p| p.ready).count();
    if !still_live && replacement_ready && ready >= desired {
        Check::Done
    } else {
        let not_ready = names(live(pods).filter(|p| !p.ready));
        Check::Waiting(format!(
            "deleted pod {deleted} {}; replacement Ready: {replacement_ready}; \
             {ready} of {desired} pods Ready (not Ready: {not_ready})",
            if still_live { "still live" } else { "gone" },
        ))
    }
}

/// A scaling to `desired` is done when exactly `desired` pods are live and all are Ready (pods
/// being deleted by a scale-in do not count).
pub fn scaled(pods: &[PodState], desired: usize) -> Check {
    let live_count = live(pods).count();
    let ready = live(pods).filter(|p| p.ready).count();
    if live_count == desired && ready == desired {
        Check::Done
    } else {
        Check::Waiting(format!(
            "{ready} Ready of {live_count} live pods, want {desired} (not Ready: {})",
            names(live(pods).filter(|p| !p.ready))
        ))
    }
}
