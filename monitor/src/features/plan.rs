//! Extraction plans: the name lookups of feature extraction done once per snapshot *structure*
//! (its entities and metric names) instead of once per scrape.
//!
//! A [`FeaturePlan`] is built from a [`Snapshot`] by [`FeatureExtractor::plan`]. It records, for
//! every raw input a feature needs, its index in the snapshot's *flat value order*: entities sorted
//! by kind then name, each entity's metrics sorted by name (the order of [`Snapshot::samples`]).
//! [`FeatureExtractor::extract_planned`] then computes the features from a plain `&[f64]` in that
//! order, with no string comparison and no allocation once the output buffers exist. Producers that
//! refill the same structure every scrape (the cluster env) write values straight into that slice;
//! others call [`flat_values`] or simply [`FeatureExtractor::extract_into`].
//!
//! The arithmetic (order of sums, transforms, aggregates) is exactly the name-based extractor's, so
//! a planned extraction is bit-for-bit the one the schema documents.

use crate::telemetry::{EntityKind, EntityRef, Snapshot};

use super::{Acc, Agg, FeatureExtractor, Features, GlobalRule, Source, Transform};

/// Where one raw input sits in the flat values (`None`: the snapshot lacks the metric).
type Input = Option<u32>;

/// How one cell of an entity row is computed.
#[derive(Clone, Copy, Debug)]
enum Cell {
    /// Known when the plan is built (entity kind flags, replica counts, other kinds' columns).
    Fixed(f32),
    /// A metric of the entity itself; `label` indexes [`FeaturePlan::labels`] for `missing`.
    Metric {
        input: Input,
        label: u32,
        transform: Transform,
    },
    /// An aggregate of the service's replicas, from accumulator `acc`.
    Replicas {
        acc: u32,
        agg: Agg,
        transform: Transform,
    },
}

/// One replica metric feeding one service accumulator.
#[derive(Clone, Copy, Debug)]
struct ReplicaInput {
    acc: u32,
    input: Input,
    label: u32,
}

/// The lookups of one snapshot structure, resolved to flat value indices (see the module doc).
/// Valid for any snapshot with the same entities and metric names as the one it was built from.
#[derive(Clone, Debug, Default)]
pub struct FeaturePlan {
    /// Number of flat values the plan was built for.
    n_values: usize,
    /// Row width.
    width: usize,
    /// Row entities, in row order.
    entities: Vec<EntityRef>,
    /// Kind of each row.
    row_kinds: Vec<EntityKind>,
    /// `entities.len() x width` cells, row-major.
    cells: Vec<Cell>,
    /// Replica inputs in the name-based extractor's order (replicas by name, then columns).
    replica_inputs: Vec<ReplicaInput>,
    /// Each service's `request_rate`, in service order (for `svc_request_rate_total`).
    service_requests: Vec<Input>,
    /// `kind/name:metric` of each input that can be reported missing.
    labels: Vec<String>,
    /// Scratch accumulators, `n_services x width`.
    accs: Vec<Acc>,
}

impl FeaturePlan {
    /// Number of flat values it expects (the snapshot's sample count when it was built).
    pub fn n_values(&self) -> usize {
        self.n_values
    }

    /// The row entities, in row order.
    pub fn entities(&self) -> &[EntityRef] {
        &self.entities
    }

    /// Would this plan serve `snapshot`: same entities, same metric names, in the same order?
    /// (Compares names: meant for tests and assertions, not for every scrape.)
    pub fn fits(&self, snapshot: &Snapshot, extractor: &FeatureExtractor) -> bool {
        let other = extractor.plan(snapshot);
        other.n_values == self.n_values
            && other.entities == self.entities
            && other.labels == self.labels
    }
}

/// Every value of `snapshot` in flat order (entities by kind then name, metrics by name), into `out`.
pub fn flat_values(snapshot: &Snapshot, out: &mut Vec<f64>) {
    out.clear();
    for (_, _, m) in snapshot.entities() {
        out.extend(m.values().map(|(_, v)| v));
    }
}

/// The flat index of each metric of one entity, by name.
fn input_of(offset: usize, m: &crate::telemetry::EntityMetrics, metric: &str) -> Input {
    m.values()
        .position(|(name, _)| name == metric)
        .map(|i| (offset + i) as u32)
}

impl FeatureExtractor {
    /// Resolves every name lookup of this schema against `snapshot`'s structure (see the module doc).
    pub fn plan(&self, snapshot: &Snapshot) -> FeaturePlan {
        let columns = &self.schema.columns;
        let width = columns.len();
        let n_services = snapshot.count(EntityKind::Service);
        let mut plan = FeaturePlan {
            width,
            accs: vec![Acc::default(); n_services * width],
            ..FeaturePlan::default()
        };
        let label = |plan: &mut FeaturePlan, text: String| {
            plan.labels.push(text);
            (plan.labels.len() - 1) as u32
        };

        // Replicas, folded into their service's accumulators (replicas of unknown services skipped).
        let mut counts = vec![0usize; n_services];
        let mut offset = 0;
        for (kind, name, m) in snapshot.entities() {
            let start = offset;
            offset += m.len();
            if kind != EntityKind::Replica {
                continue;
            }
            let Some(s) = m
                .service
                .as_deref()
                .and_then(|svc| snapshot.position(EntityKind::Service, svc))
            else {
                continue;
            };
            counts[s] += 1;
            for (j, c) in columns.iter().enumerate() {
                if let Source::Replicas { metric, .. } = &c.source {
                    let l = label(&mut plan, format!("replica/{name}:{metric}"));
                    plan.replica_inputs.push(ReplicaInput {
                        acc: (s * width + j) as u32,
                        input: input_of(start, m, metric),
                        label: l,
                    });
                }
            }
        }
        plan.n_values = offset;

        // Rows: services, then nodes (the snapshot's kind order), each by name.
        let mut offset = 0;
        let mut service_pos = 0;
        for (kind, name, m) in snapshot.entities() {
            let start = offset;
            offset += m.len();
            if kind == EntityKind::Replica {
                continue;
            }
            plan.entities.push(EntityRef::new(kind, name));
            plan.row_kinds.push(kind);
            for (j, c) in columns.iter().enumerate() {
                let transform = c.transform;
                let cell = match &c.source {
                    Source::IsKind(k) => {
                        Cell::Fixed(transform.apply(f64::from(u8::from(*k == kind))))
                    }
                    Source::Metric { kind: k, metric } if *k == kind => Cell::Metric {
                        input: input_of(start, m, metric),
                        label: label(&mut plan, format!("{}/{name}:{metric}", kind.as_str())),
                        transform,
                    },
                    Source::Replicas { agg, .. } if kind == EntityKind::Service => Cell::Replicas {
                        acc: (service_pos * width + j) as u32,
                        agg: *agg,
                        transform,
                    },
                    Source::ReplicaCount if kind == EntityKind::Service => {
                        Cell::Fixed(transform.apply(counts[service_pos] as f64))
                    }
                    _ => Cell::Fixed(transform.apply(0.0)),
                };
                plan.cells.push(cell);
            }
            if kind == EntityKind::Service {
                service_pos += 1;
                plan.service_requests
                    .push(input_of(start, m, "request_rate"));
            }
        }
        plan
    }

    /// Extracts the features of the snapshot whose flat values (see the module doc) are `values`,
    /// under `plan` (built by [`Self::plan`] from a snapshot of the same structure), into `out`,
    /// reusing its buffers. A value that is not finite, or an index past `values`, counts as
    /// missing, exactly as an absent metric does.
    pub fn extract_planned(&self, plan: &mut FeaturePlan, values: &[f64], out: &mut Features) {
        let value = |input: Input| -> Option<f64> {
            input
                .and_then(|i| values.get(i as usize).copied())
                .filter(|v| v.is_finite())
        };
        out.width = plan.width;
        out.missing.clear();
        if out.entities != plan.entities {
            out.entities.clone_from(&plan.entities);
        }

        plan.accs.fill(Acc::default());
        for r in &plan.replica_inputs {
            match value(r.input) {
                Some(v) => plan.accs[r.acc as usize].add(v),
                None => out.missing.push(plan.labels[r.label as usize].clone()),
            }
        }

        out.rows.clear();
        out.rows.reserve(plan.cells.len());
        for cell in &plan.cells {
            let feature = match *cell {
                Cell::Fixed(f) => f,
                Cell::Metric {
                    input,
                    label,
                    transform,
                } => {
                    let raw = value(input).unwrap_or_else(|| {
                        out.missing.push(plan.labels[label as usize].clone());
                        0.0
                    });
                    transform.apply(raw)
                }
                Cell::Replicas {
                    acc,
                    agg,
                    transform,
                } => transform.apply(plan.accs[acc as usize].get(agg)),
            };
            out.rows.push(feature);
        }

        let mut request_total = 0.0;
        for &input in &plan.service_requests {
            request_total += value(input).unwrap_or(0.0).max(0.0);
        }
        self.globals_planned(plan, out, request_total);
    }

    /// Global features from the rows, as documented in the module doc of `features`.
    fn globals_planned(&self, plan: &FeaturePlan, out: &mut Features, request_total: f64) {
        let width = out.width;
        let rows = &out.rows;
        // Each helper reads column `c` of the rows of `kind`, in row order (the reference
        // extractor's order, so f32 sums round identically).
        let column = |kind: EntityKind, c: usize| {
            plan.row_kinds
                .iter()
                .enumerate()
                .filter(move |(_, k)| **k == kind)
                .map(move |(i, _)| rows[i * width + c])
        };
        let count = |kind: EntityKind| plan.row_kinds.iter().filter(|k| **k == kind).count();
        out.global.clear();
        for rule in &self.globals {
            let v = match *rule {
                GlobalRule::Count(kind) => Transform::Log1p.apply(count(kind) as f64),
                GlobalRule::RequestTotal => Transform::Log1p.apply(request_total),
                GlobalRule::Mean(kind, Some(c)) => match count(kind) {
                    0 => 0.0,
                    n => column(kind, c).sum::<f32>() / n as f32,
                },
                GlobalRule::Max(kind, Some(c)) => column(kind, c).fold(0.0f32, f32::max),
                GlobalRule::Min(kind, Some(c)) => match count(kind) {
                    0 => 0.0,
                    _ => column(kind, c).fold(f32::MAX, f32::min),
                },
                GlobalRule::Mean(_, None)
                | GlobalRule::Max(_, None)
                | GlobalRule::Min(_, None)
                | GlobalRule::Unknown => 0.0,
            };
            out.global.push(v);
        }
    }
}
