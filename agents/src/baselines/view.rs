//! Reading cluster observations by name: [`FeatureView`] resolves the feature columns a baseline needs
//! from a [`FeatureSchema`] (so the same baseline reads simulated and Prometheus-derived rows), undoes
//! each column's transform to get the raw metric back, and [`ActionKinds`] turns (entity row, kind name)
//! into the flat action index `1 + entity * n_kinds + kind` of the cluster env (`mend_envs::cluster::layout`).

use mend_envs::{Action, EntityObs, Observation};
use mend_monitor::features::{FeatureSchema, Transform};

use super::BaselineError;

/// One resolved column: its index in a row and the transform to undo.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnRef {
    /// Column index in an entity row.
    pub index: usize,
    /// Transform applied by feature extraction.
    pub transform: Transform,
}

impl ColumnRef {
    /// The raw metric behind a feature value: `exp(x) - 1` for `log1p` columns, the value itself for
    /// clamped columns (a clamped value is already the raw value, or its clamp bound).
    pub fn raw(&self, row: &[f32]) -> f64 {
        let x = f64::from(row[self.index]);
        match self.transform {
            Transform::Log1p => x.exp_m1(),
            Transform::Clamp(_) => x,
        }
    }
}

/// Column lookup by feature name over a schema.
#[derive(Clone, Debug)]
pub struct FeatureView {
    schema: FeatureSchema,
    is_service: usize,
}

impl FeatureView {
    /// A view over `schema`; it must have the `is_service` column that tells services from nodes.
    pub fn new(schema: FeatureSchema) -> Result<Self, BaselineError> {
        let is_service =
            schema
                .column_index("is_service")
                .ok_or_else(|| BaselineError::MissingFeature {
                    name: "is_service".into(),
                })?;
        Ok(Self { schema, is_service })
    }

    /// The column named `name`, or an error naming it.
    pub fn column(&self, name: &str) -> Result<ColumnRef, BaselineError> {
        let index = self
            .schema
            .column_index(name)
            .ok_or_else(|| BaselineError::MissingFeature { name: name.into() })?;
        Ok(ColumnRef {
            index,
            transform: self.schema.columns[index].transform,
        })
    }

    /// The schema's row width.
    pub fn width(&self) -> usize {
        self.schema.columns.len()
    }

    /// The entity rows of `obs`, checked against the schema's width.
    pub fn entities<'a>(&self, obs: &'a Observation) -> Result<&'a EntityObs, BaselineError> {
        match obs.as_entities() {
            Some(e) if e.width == self.width() => Ok(e),
            Some(e) => Err(BaselineError::Observation {
                detail: format!(
                    "rows of {} features, expected {} (schema v{})",
                    e.width,
                    self.width(),
                    self.schema.version
                ),
            }),
            None => Err(BaselineError::Observation {
                detail: "a vector observation, expected entity rows".into(),
            }),
        }
    }

    /// Whether `row` is a service (else a node).
    pub fn is_service(&self, row: &[f32]) -> bool {
        row[self.is_service] > 0.5
    }
}

/// Action kind names in the env's order, and the flat encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionKinds {
    names: Vec<String>,
}

impl ActionKinds {
    /// Kinds in the env's order (`mend_sim::ActionKind::ALL` names for the cluster env).
    pub fn new(names: Vec<String>) -> Self {
        Self { names }
    }

    /// Number of kinds per entity.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True if there are no kinds.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Index of kind `name`, or an error naming it and the known kinds.
    pub fn index(&self, name: &str) -> Result<usize, BaselineError> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| BaselineError::MissingKind {
                name: name.into(),
                known: self.names.clone(),
            })
    }

    /// Flat action for kind index `kind` on entity row `entity` (0 is the no-op).
    pub fn encode(&self, entity: usize, kind: usize) -> Action {
        1 + entity * self.names.len() + kind
    }
}

/// True if `action` is allowed by `mask` (no mask allows everything).
pub fn allowed(mask: Option<&[bool]>, action: Action) -> bool {
    mask.is_none_or(|m| m.get(action).copied().unwrap_or(false))
}

/// The action kind names the cluster env reports in its reset `info["action_kinds"]`.
pub fn kind_names_from_info(info: &mend_envs::Info) -> Option<Vec<String>> {
    info.get("action_kinds")?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}
