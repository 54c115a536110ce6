//! The live action mask: which flat actions (`0 = no-op, 1 + entity * K + kind`, the cluster env's
//! layout, `mend_envs::cluster::layout`) a policy may choose on the live cluster at this decision.
//!
//! It is the env's mask for service rows, restricted further to what the configured actuator can do
//! (the env builds its mask per (entity, kind) from `ActionLayout::resolve`, which masks
//! `replace_node` on every service row and any kind whose simulator preconditions fail). An
//! (entity, kind) pair is allowed here iff
//! 1. the env would ever allow the kind on a service row ([`SERVICE_ROW_KINDS`]: not `replace_node`);
//! 2. it has a live equivalent now ([`crate::decide::live_action`]: `restart_replica` needs a
//!    replica, `scale_in` at least two, `failover` a `failover_to`; `reallocate`, `rollback`,
//!    `shed_load` have none); and
//! 3. the configured actuator can carry it out for that service ([`actuator_can`]: the local
//!    actuator needs the service's `process` table and scales to at most
//!    [`MAX_LOCAL_REPLICAS`]; the Kubernetes one needs its `kubernetes` table).
//!
//! The no-op (index 0) is always allowed, so a mask is never empty. Live clusters have no node rows
//! (decide.rs), so the entities are the services in the monitor's order (sorted by name).

use mend_agents::ActionScores;

use crate::actuator::MAX_LOCAL_REPLICAS;
use crate::cluster::{ActuatorKind, ClusterFile};
use crate::decide::live_action;
use crate::decision::ActionKind;
use crate::observe::Readings;

/// The simulator kinds the cluster env can ever resolve on a service row: every kind of
/// `mend_sim::ActionKind::ALL` except `replace_node`, which targets nodes only
/// (`ActionLayout::resolve`: `(Target::Service(_), ActionKind::ReplaceNode) => return None`).
pub const SERVICE_ROW_KINDS: [&str; 8] = [
    "restart_replica",
    "restart_service",
    "scale_out",
    "scale_in",
    "reallocate",
    "failover",
    "rollback",
    "shed_load",
];

/// Whether the configured actuator can carry out `kind` on `service` of `cluster`.
pub fn actuator_can(cluster: &ClusterFile, service: &str, kind: &ActionKind) -> bool {
    let Some(entry) = cluster.service(service) else {
        return false;
    };
    let has_target = |name: &str| {
        cluster
            .service(name)
            .is_some_and(|s| match cluster.actuator.kind {
                ActuatorKind::Local => s.process.is_some(),
                ActuatorKind::Kubernetes => s.kubernetes.is_some(),
            })
    };
    if !has_target(&entry.name) {
        return false;
    }
    match (cluster.actuator.kind, kind) {
        (_, ActionKind::Noop) => true,
        (ActuatorKind::Local, ActionKind::ScaleTo { replicas }) => *replicas <= MAX_LOCAL_REPLICAS,
        (_, ActionKind::Restart { .. } | ActionKind::ScaleTo { .. }) => true,
        (_, ActionKind::FailOver { to }) => to != service && has_target(to),
        // Stop/start are not policy kinds; cordon/drain need nodes, which live rows do not have.
        (ActuatorKind::Local, _) => false,
        (ActuatorKind::Kubernetes, ActionKind::Start { .. } | ActionKind::Stop { .. }) => false,
        (ActuatorKind::Kubernetes, ActionKind::Cordon { .. } | ActionKind::Drain { .. }) => false,
    }
}

/// The live mask for `kinds` (the policy manifest's kind names, in its order) over `services`
/// (entity rows in order) given the latest `readings`: length `1 + services.len() * kinds.len()`.
pub fn live_mask(
    kinds: &[String],
    services: &[String],
    readings: &Readings,
    cluster: &ClusterFile,
) -> Vec<bool> {
    let mut mask = Vec::with_capacity(1 + services.len() * kinds.len());
    mask.push(true);
    for service in services {
        for kind in kinds {
            mask.push(
                SERVICE_ROW_KINDS.contains(&kind.as_str())
                    && live_action(kind, service, readings, cluster)
                        .is_some_and(|live| actuator_can(cluster, service, &live)),
            );
        }
    }
    mask
}

/// `scores` with every masked action removed, whatever the policy did with the mask: masked
/// probabilities set to 0 and the rest renormalised (what a masked softmax gives, Huang & Ontañón
/// 2022), masked Q-values set to `-inf`. A mask of another length masks everything but the no-op.
pub fn apply_mask(scores: ActionScores, mask: &[bool]) -> ActionScores {
    let keep = |i: usize, len: usize| i == 0 || (len == mask.len() && mask[i]);
    match scores {
        // A non-finite output is corrupt as a whole: left as it is, `decide_from_scores` turns it
        // into a no-op with no confidence.
        ActionScores::Probabilities(p) if p.iter().any(|x| !x.is_finite()) => {
            ActionScores::Probabilities(p)
        }
        ActionScores::Probabilities(p) => {
            let len = p.len();
            let mut kept: Vec<f32> = p
                .into_iter()
                .enumerate()
                .map(|(i, x)| if keep(i, len) { x } else { 0.0 })
                .collect();
            let sum: f32 = kept.iter().sum();
            if sum > 0.0 {
                kept.iter_mut().for_each(|x| *x /= sum);
            }
            ActionScores::Probabilities(kept)
        }
        ActionScores::QValues(q) => {
            let len = q.len();
            ActionScores::QValues(
                q.into_iter()
                    .enumerate()
                    .map(|(i, x)| if keep(i, len) { x } else { f32::NEG_INFINITY })
                    .collect(),
            )
        }
    }
}

/// The allowed flat action indices of `mask` (what the audit record keeps, compactly).
pub fn allowed_indices(mask: &[bool]) -> Vec<usize> {
    mask.iter()
        .enumerate()
        .filter_map(|(i, &ok)| ok.then_some(i))
        .collect()
}
