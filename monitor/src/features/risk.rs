//! Failure risk as an observation column (feature schema v4, issues 5 item 5 and 6 item 8): the
//! failure predictor ([`crate::predictor`]) scores every service at every observation and its
//! risk ("an incident on this service starts within the horizon") becomes the row's
//! [`RISK_COLUMN`], so the recovery policy can act before a failure.
//!
//! ```text
//!  feature rows ─► RiskInputs per service ─► PredictorModel::risk ─► row[svc_failure_risk]
//!  (extracted)     (current row without the      (one tanh MLP)        (node rows: 0)
//!                   alert ages and the risk,
//!                   + trends over trend_seconds)
//! ```
//! - [`RiskModel`]: the predictor plus what it needs to be used (its trend window, the horizon it
//!   was trained for, the schema of the rows it reads). Serialisable: it travels in the run folder
//!   and in policy manifests.
//! - [`RiskInputs`] ([`inputs`]): one service's input, shared by training-data cutting (the
//!   experiments runner) and the tracker, so a model sees at use what it saw in training.
//! - [`RiskTracker`]: runs a model over the services of successive observations and writes the
//!   column; the cluster env and the live executor's pipeline both run it after extraction.
//! - [`trend`]: the time-based trends (cadence-independent: the env observes every 30 s, the
//!   simulator scrapes every 15 s, the live loop every 0.5-15 s).
//!
//! The column's schema source is [`Source::Written`](crate::features::Source::Written): extraction
//! leaves 0 and the tracker writes it, so without a model the column is 0 and nothing else
//! changes. No random number is drawn anywhere here.

pub mod inputs;
pub mod trend;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use inputs::{EXCLUDED_COLUMNS, RiskInputs};
pub use trend::{TREND_COLUMNS, TREND_INPUTS, least_squares_slope, trend_bounds};

use crate::features::{FeatureSchema, Features};
use crate::predictor::{PredictorModel, PredictorSpec};
use crate::telemetry::EntityKind;

/// Name under which a writer exports the risk as a named value in `[0, 1]` (e.g. a metrics
/// exposition or an audit record); the feature column is not read from it.
pub const RISK_METRIC: &str = "mend_failure_risk";

/// The schema v4 service column holding the risk, in `[0, 1]` (0 on node rows and without a model).
pub const RISK_COLUMN: &str = "svc_failure_risk";

/// The default trend window, seconds (ten minutes: the memory leaks of the shipped scenarios grow
/// to OOM over tens of minutes, so a leak's slope shows within it).
pub const DEFAULT_TREND_SECONDS: f64 = 600.0;

/// A failure predictor ready to score observations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskModel {
    /// The trained predictor; its input is [`RiskInputs`]' for the schema `schema_id` names.
    pub predictor: PredictorModel,
    /// Trend window, seconds ([`DEFAULT_TREND_SECONDS`] unless trained otherwise).
    pub trend_seconds: f64,
    /// The horizon it was trained to predict, seconds: "an incident starts within it"
    /// (documentation for manifests and reports; the model does not use it).
    pub horizon_seconds: f64,
    /// [`FeatureSchema::hash`] of the rows it reads; checked at use ([`RiskModel::check`]).
    pub schema_id: String,
}

/// A risk model that cannot be used with a schema.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RiskError {
    /// The model was trained on rows of another feature schema.
    #[error(
        "failure risk model: field `schema_id` is {found:?}: expected the observation's feature schema {expected:?} (retrain the predictor on rows of this schema)"
    )]
    SchemaMismatch {
        /// The observation schema's hash.
        expected: String,
        /// The model's `schema_id`.
        found: String,
    },
    /// The observation schema has no [`RISK_COLUMN`] to write.
    #[error(
        "failure risk model: feature schema {schema:?} has no column \"{RISK_COLUMN}\": expected schema v4 or later"
    )]
    NoRiskColumn {
        /// The schema's hash.
        schema: String,
    },
    /// A field of the model is out of range or disagrees with the schema.
    #[error("failure risk model: field `{field}` is {found}: expected {expected}")]
    InvalidModel {
        /// The field (`trend_seconds`, `predictor.spec.input`, ...).
        field: &'static str,
        /// What it is.
        found: String,
        /// What it should be.
        expected: String,
    },
}

impl RiskModel {
    /// An untrained model for rows of `schema` (`hidden` tanh units, weights from `seed`:
    /// [`PredictorModel::init`]), inputs scaled by [`RiskInputs::input_bounds`].
    pub fn init(
        schema: &FeatureSchema,
        hidden: usize,
        trend_seconds: f64,
        horizon_seconds: f64,
        seed: u64,
    ) -> Self {
        let spec = PredictorSpec {
            input: RiskInputs::input_width(schema),
            hidden,
        };
        Self {
            predictor: PredictorModel::init(spec, RiskInputs::input_bounds(schema), seed),
            trend_seconds,
            horizon_seconds,
            schema_id: schema.hash(),
        }
    }

    /// Checks that the model can score rows of `schema`: the same schema hash, a risk column to
    /// write, a finite trend window and horizon > 0, and a predictor whose input width, bounds
    /// and parameter count fit [`RiskInputs`] with finite parameters.
    pub fn check(&self, schema: &FeatureSchema) -> Result<(), RiskError> {
        let invalid = |field, found: String, expected: String| {
            Err(RiskError::InvalidModel {
                field,
                found,
                expected,
            })
        };
        if self.schema_id != schema.hash() {
            return Err(RiskError::SchemaMismatch {
                expected: schema.hash(),
                found: self.schema_id.clone(),
            });
        }
        if schema.column_index(RISK_COLUMN).is_none() {
            return Err(RiskError::NoRiskColumn {
                schema: schema.hash(),
            });
        }
        for (field, v) in [
            ("trend_seconds", self.trend_seconds),
            ("horizon_seconds", self.horizon_seconds),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return invalid(
                    field,
                    v.to_string(),
                    "a finite number of seconds > 0".into(),
                );
            }
        }
        let p = &self.predictor;
        let width = RiskInputs::input_width(schema);
        if p.spec.input != width {
            return invalid(
                "predictor.spec.input",
                p.spec.input.to_string(),
                format!("{width} (the risk input width of the schema's rows)"),
            );
        }
        if p.spec.hidden == 0 {
            return invalid("predictor.spec.hidden", "0".into(), "at least 1".into());
        }
        if p.bounds.len() != width {
            return invalid(
                "predictor.bounds",
                format!("{} pairs", p.bounds.len()),
                format!("{width} pairs, one per input"),
            );
        }
        if p.params.len() != p.spec.num_params() {
            return invalid(
                "predictor.params",
                format!("{} values", p.params.len()),
                format!("{} values for its spec", p.spec.num_params()),
            );
        }
        if let Some(i) = p.params.iter().position(|x| !x.is_finite()) {
            return invalid(
                "predictor.params",
                format!("{} at index {i}", p.params[i]),
                "finite numbers".into(),
            );
        }
        Ok(())
    }
}

/// Runs a [`RiskModel`] over every service of successive observations and writes each service
/// row's [`RISK_COLUMN`]. Each service (by name) keeps its own [`RiskInputs`]; a service that
/// disappears from the observations is forgotten.
#[derive(Clone, Debug)]
pub struct RiskTracker {
    model: Arc<RiskModel>,
    /// The schema's row width and risk column.
    width: usize,
    risk_column: usize,
    /// A fresh input builder (cloned for each new service).
    blank: RiskInputs,
    /// Per service, in the order of the last observation.
    services: Vec<(String, RiskInputs)>,
    /// Scratch input vector.
    scratch: Vec<f32>,
}

impl RiskTracker {
    /// A tracker of `model` over rows of `schema`; refuses a model trained on another schema or
    /// otherwise unusable ([`RiskModel::check`]).
    pub fn new(model: Arc<RiskModel>, schema: &FeatureSchema) -> Result<Self, RiskError> {
        model.check(schema)?;
        let risk_column =
            schema
                .column_index(RISK_COLUMN)
                .ok_or_else(|| RiskError::NoRiskColumn {
                    schema: schema.hash(),
                })?;
        Ok(Self {
            width: schema.width(),
            risk_column,
            blank: RiskInputs::new(schema, model.trend_seconds),
            model,
            services: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// The model.
    pub fn model(&self) -> &Arc<RiskModel> {
        &self.model
    }

    /// Index of [`RISK_COLUMN`] in the rows.
    pub fn risk_column(&self) -> usize {
        self.risk_column
    }

    /// Forgets every service's samples (an episode reset).
    pub fn reset(&mut self) {
        self.services.clear();
    }

    /// Scores one observation at `t` (seconds): `rows` holds the service rows, `service_names.len()
    /// x width`, row-major, in the order of `service_names`; each row's risk column is written
    /// (pairs past the shorter of the two are left alone).
    pub fn fill(&mut self, t: f64, service_names: &[&str], rows: &mut [f32]) {
        self.fill_rows(t, service_names.iter().copied(), rows);
    }

    /// Scores the service rows of `features` (its leading rows: services come first) at `t`.
    pub fn fill_features(&mut self, t: f64, features: &mut Features) {
        let n = features
            .entities
            .iter()
            .take_while(|e| e.kind == EntityKind::Service)
            .count();
        let end = (n * self.width).min(features.rows.len());
        let names = features.entities[..n].iter().map(|e| e.name.as_str());
        self.fill_rows(t, names, &mut features.rows[..end]);
    }

    fn fill_rows<'a, I>(&mut self, t: f64, names: I, rows: &mut [f32])
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        self.align(names.clone());
        for ((_, inputs), row) in self
            .services
            .iter_mut()
            .zip(rows.chunks_exact_mut(self.width))
        {
            inputs.push(t, row);
            self.scratch.clear();
            inputs.write_input(&mut self.scratch);
            let risk = self.model.predictor.risk(&self.scratch);
            row[self.risk_column] = if risk.is_finite() {
                risk.clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
    }

    /// Puts `services` in the order of `names`, keeping the inputs of services seen before.
    fn align<'a>(&mut self, names: impl Iterator<Item = &'a str> + Clone) {
        let same = self.services.len() == names.clone().count()
            && self
                .services
                .iter()
                .zip(names.clone())
                .all(|((n, _), m)| n == m);
        if same {
            return;
        }
        let mut old = std::mem::take(&mut self.services);
        for name in names {
            let inputs = match old.iter().position(|(n, _)| n == name) {
                Some(i) => old.swap_remove(i).1,
                None => self.blank.clone(),
            };
            self.services.push((name.to_owned(), inputs));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::EntityRef;

    /// Features of two services and one node, with rising memory on `api`.
    fn features(schema: &FeatureSchema, step: u32) -> Features {
        let width = schema.width();
        let mut rows = vec![0.0; 3 * width];
        let memory = schema.column_index("svc_replica_memory_max").unwrap();
        let errors = schema.column_index("svc_error_ratio").unwrap();
        rows[memory] = 0.2 + 0.1 * step as f32;
        rows[width + errors] = 0.05;
        rows[width + memory] = 0.5;
        rows[2 * width + schema.column_index("is_node").unwrap()] = 1.0;
        Features {
            entities: vec![
                EntityRef::new(EntityKind::Service, "api"),
                EntityRef::new(EntityKind::Service, "db"),
                EntityRef::new(EntityKind::Node, "n1"),
            ],
            width,
            rows,
            global: Vec::new(),
            missing: Vec::new(),
        }
    }

    #[test]
    fn the_tracker_writes_the_predictors_risk_of_each_services_input() {
        let schema = FeatureSchema::builtin();
        let model = Arc::new(RiskModel::init(&schema, 8, 600.0, 900.0, 3));
        let mut tracker = RiskTracker::new(Arc::clone(&model), &schema).unwrap();
        let column = tracker.risk_column();
        // The same rows fed to one RiskInputs per service by hand.
        let mut by_hand = [
            RiskInputs::new(&schema, 600.0),
            RiskInputs::new(&schema, 600.0),
        ];
        let mut risks = Vec::new();
        for step in 0..6 {
            let t = 1000.0 + 30.0 * f64::from(step);
            let mut f = features(&schema, step);
            let before = f.clone();
            tracker.fill_features(t, &mut f);
            for (s, inputs) in by_hand.iter_mut().enumerate() {
                inputs.push(t, before.row(s));
                let mut x = Vec::new();
                inputs.write_input(&mut x);
                let expected = model.predictor.risk(&x);
                assert_eq!(f.row(s)[column], expected, "step {step}, service {s}");
                assert!((0.0..=1.0).contains(&expected));
            }
            assert_eq!(f.row(2)[column], 0.0, "node rows stay 0");
            for (i, (a, b)) in f.rows.iter().zip(&before.rows).enumerate() {
                if i % f.width != column {
                    assert_eq!(a, b, "only the risk column changes");
                }
            }
            risks.push(f.row(0)[column]);
        }
        assert!(
            risks.windows(2).any(|w| w[0] != w[1]),
            "api's rising memory moves its risk: {risks:?}"
        );
        // The slice form with names gives the same as a fresh tracker's features form.
        let mut a = RiskTracker::new(Arc::clone(&model), &schema).unwrap();
        let mut f = features(&schema, 0);
        let mut rows = f.rows[..2 * f.width].to_vec();
        a.fill(1000.0, &["api", "db"], &mut rows);
        let mut b = RiskTracker::new(model, &schema).unwrap();
        b.fill_features(1000.0, &mut f);
        assert_eq!(rows, f.rows[..2 * f.width]);
    }

    #[test]
    fn services_keep_their_own_windows_when_the_order_changes() {
        let schema = FeatureSchema::builtin();
        let model = Arc::new(RiskModel::init(&schema, 4, 600.0, 900.0, 1));
        let mut tracker = RiskTracker::new(model, &schema).unwrap();
        let (w, c) = (schema.width(), tracker.risk_column());
        let memory = schema.column_index("svc_replica_memory_max").unwrap();
        let (mut rising, mut flat) = (vec![0.0; w], vec![0.0; w]);
        flat[memory] = 0.3;
        for step in 0..4 {
            rising[memory] = 0.1 * step as f32;
            let t = 30.0 * f64::from(step);
            if step < 3 {
                tracker.fill(t, &["a", "b"], &mut [rising.clone(), flat.clone()].concat());
                continue;
            }
            // The last observation lists the services the other way round: each still reads
            // its own window.
            let mut reversed = tracker.clone();
            let mut ab = [rising.clone(), flat.clone()].concat();
            tracker.fill(t, &["a", "b"], &mut ab);
            let mut ba = [flat.clone(), rising.clone()].concat();
            reversed.fill(t, &["b", "a"], &mut ba);
            assert_eq!((ba[w + c], ba[c]), (ab[c], ab[w + c]));
            assert_ne!(ab[c], ab[w + c], "different windows, different risks");
        }
        tracker.reset();
        assert!(tracker.services.is_empty());
    }

    #[test]
    fn a_model_of_another_schema_or_shape_is_refused_naming_the_field() {
        let schema = FeatureSchema::builtin();
        let good = RiskModel::init(&schema, 4, 600.0, 900.0, 0);
        assert_eq!(good.check(&schema), Ok(()));
        let mut other = good.clone();
        other.schema_id = "v3-0123456789abcdef".into();
        let err = RiskTracker::new(Arc::new(other), &schema).unwrap_err();
        assert!(matches!(err, RiskError::SchemaMismatch { .. }), "{err}");
        assert!(err.to_string().contains("schema_id"), "{err}");
        let mut without = schema.clone();
        without.columns.retain(|c| c.name != RISK_COLUMN);
        let m = RiskModel::init(&without, 4, 600.0, 900.0, 0);
        assert!(matches!(
            m.check(&without),
            Err(RiskError::NoRiskColumn { .. })
        ));
        type Breaker = fn(&mut RiskModel);
        let cases: [(&str, Breaker); 5] = [
            ("trend_seconds", |m| m.trend_seconds = f64::NAN),
            ("horizon_seconds", |m| m.horizon_seconds = 0.0),
            ("predictor.spec.input", |m| m.predictor.spec.input += 1),
            ("predictor.bounds", |m| {
                m.predictor.bounds.pop();
            }),
            ("predictor.params", |m| {
                m.predictor.params[0] = f32::INFINITY
            }),
        ];
        for (field, break_it) in cases {
            let mut m = good.clone();
            break_it(&mut m);
            let err = m.check(&schema).unwrap_err();
            assert!(
                matches!(&err, RiskError::InvalidModel { field: f, .. } if *f == field),
                "{field}: {err}"
            );
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn a_risk_model_round_trips_through_json() {
        let schema = FeatureSchema::builtin();
        let model = RiskModel::init(&schema, 6, 600.0, 900.0, 11);
        let text = serde_json::to_string(&model).unwrap();
        let back: RiskModel = serde_json::from_str(&text).unwrap();
        assert_eq!(back, model, "f32 parameters survive JSON exactly");
        assert!(text.contains("\"schema_id\"") && text.contains("\"trend_seconds\""));
    }
}
