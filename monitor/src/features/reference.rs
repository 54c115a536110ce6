//! The name-based feature extractor of session 1, kept verbatim (test-only) as the reference the
//! planned extractor must match bit for bit.

use super::{Acc, FeatureSchema, Features, Source, Transform};
use crate::telemetry::{EntityKind, EntityRef, Snapshot};

/// The name-based extractor as it stood before plans (session 1), kept verbatim as the reference.
pub(super) fn extract_reference(schema: &FeatureSchema, snapshot: &Snapshot, out: &mut Features) {
    let width = schema.width();
    // `entities` is kept when unchanged from the previous call (no allocation); see the loop.
    out.rows.clear();
    out.global.clear();
    out.missing.clear();
    out.width = width;

    // Replica aggregates per (service position, column) and replica counts per service, in
    // flat vectors indexed by the service's position among services (sorted by name).
    let n_cols = schema.columns.len();
    let n_services = snapshot.count(EntityKind::Service);
    let mut counts = vec![0usize; n_services];
    let mut accs = vec![Acc::default(); n_services * n_cols];
    for (replica, m) in snapshot.entities_of(EntityKind::Replica) {
        let Some(s) = m
            .service
            .as_deref()
            .and_then(|svc| snapshot.position(EntityKind::Service, svc))
        else {
            continue;
        };
        counts[s] += 1;
        for (j, c) in schema.columns.iter().enumerate() {
            if let Source::Replicas { metric, .. } = &c.source {
                match m.get(metric).filter(|v| v.is_finite()) {
                    Some(v) => accs[s * n_cols + j].add(v),
                    None => out.missing.push(format!("replica/{replica}:{metric}")),
                }
            }
        }
    }
    let mut service_pos = 0;

    let mut request_total = 0.0;
    let mut row = 0;
    for (kind, name, m) in snapshot
        .entities()
        .filter(|(k, _, _)| *k != EntityKind::Replica)
    {
        if out
            .entities
            .get(row)
            .is_none_or(|e| e.kind != kind || e.name != name)
        {
            out.entities.truncate(row);
            out.entities.push(EntityRef::new(kind, name));
        }
        row += 1;
        for (j, c) in schema.columns.iter().enumerate() {
            let raw = match &c.source {
                Source::IsKind(k) => f64::from(u8::from(*k == kind)),
                Source::Metric { kind: k, metric } if *k == kind => {
                    match m.get(metric).filter(|v| v.is_finite()) {
                        Some(v) => v,
                        None => {
                            out.missing
                                .push(format!("{}/{name}:{metric}", kind.as_str()));
                            0.0
                        }
                    }
                }
                Source::Replicas { agg, .. } if kind == EntityKind::Service => {
                    accs[service_pos * n_cols + j].get(*agg)
                }
                Source::ReplicaCount if kind == EntityKind::Service => counts[service_pos] as f64,
                _ => 0.0,
            };
            out.rows.push(c.transform.apply(raw));
        }
        if kind == EntityKind::Service {
            service_pos += 1;
            request_total += m
                .get("request_rate")
                .filter(|v| v.is_finite())
                .unwrap_or(0.0)
                .max(0.0);
        }
    }
    out.entities.truncate(row);
    globals(schema, out, request_total);
}

fn globals(s: &FeatureSchema, out: &mut Features, request_total: f64) {
    let col = |name: &str| s.column_index(name);
    let rows_of = |kind: EntityKind, c: Option<usize>| -> Vec<f32> {
        match c {
            Some(c) => out
                .entities
                .iter()
                .enumerate()
                .filter(|(_, e)| e.kind == kind)
                .map(|(i, _)| out.rows[i * out.width + c])
                .collect(),
            None => Vec::new(),
        }
    };
    let mean = |v: &[f32]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f32>() / v.len() as f32
        }
    };
    let max = |v: &[f32]| v.iter().copied().fold(0.0f32, f32::max);
    let min = |v: &[f32]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().copied().fold(f32::MAX, f32::min)
        }
    };
    let n_services = out
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Service)
        .count();
    let n_nodes = out
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Node)
        .count();
    let errors = rows_of(EntityKind::Service, col("svc_error_ratio"));
    let mut global = Vec::with_capacity(s.global.len());
    for name in &s.global {
        let v = match name.as_str() {
            "n_services" => Transform::Log1p.apply(n_services as f64),
            "n_nodes" => Transform::Log1p.apply(n_nodes as f64),
            "svc_error_ratio_mean" => mean(&errors),
            "svc_error_ratio_max" => max(&errors),
            "svc_latency_p99_max" => max(&rows_of(EntityKind::Service, col("svc_latency_p99"))),
            "svc_replicas_up_ratio_min" => {
                min(&rows_of(EntityKind::Service, col("svc_replicas_up_ratio")))
            }
            "node_up_ratio" => mean(&rows_of(EntityKind::Node, col("node_up"))),
            "svc_request_rate_total" => Transform::Log1p.apply(request_total),
            "node_cpu_max" => max(&rows_of(EntityKind::Node, col("node_cpu_utilization"))),
            "node_memory_max" => max(&rows_of(EntityKind::Node, col("node_memory_utilization"))),
            "node_disk_max" => max(&rows_of(EntityKind::Node, col("node_disk_utilization"))),
            _ => 0.0,
        };
        global.push(v);
    }
    out.global = global;
}
