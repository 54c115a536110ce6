//! Tabular Q policy files: the same container as network policies (safetensors, JSON manifest under
//! [`MANIFEST_KEY`], format version, feature schema, action kinds, provenance; BRIEF §7), with the two
//! tables as tensors `q_entity` (`n_entity_buckets x n_kinds`) and `q_noop` (`n_global_buckets`), and
//! the bucket edges in the manifest. Loading checks the same things as [`crate::PolicyFile::load`].

use std::collections::BTreeMap;
use std::path::Path;

use mend_monitor::features::FeatureSchema as MonitorSchema;
use serde::{Deserialize, Serialize};

use super::TabularPolicy;
use super::state::BucketEdges;
use crate::error::{AgentError, PolicyFileError};
use crate::policy_file::{CODE_VERSION, FORMAT_VERSION, FeatureSchema, MANIFEST_KEY, TrainingInfo};
use crate::store::{self, TensorMap};

/// Algorithm name in the manifest.
pub const ALGORITHM: &str = "tabular_q";

/// The manifest of a tabular policy file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularManifest {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Always [`ALGORITHM`].
    pub algorithm: String,
    /// Entity row columns the buckets read (names of the monitor schema's columns).
    pub feature_schema: FeatureSchema,
    /// Bucket edges.
    pub edges: BucketEdges,
    /// Action kind names, in the env's order.
    pub action_kinds: Vec<String>,
    /// Training provenance.
    pub training: TrainingInfo,
    /// Version of the code that wrote the file.
    pub code_version: String,
    /// `q_entity` holds advantages over the no-op (an entity action's value is
    /// `q_noop[global] + q_entity`); absent in files written before it existed, which hold values.
    #[serde(default)]
    pub entity_advantage: bool,
}

/// The policy-file schema of a monitor feature schema: its row column names.
pub fn schema_of(schema: &MonitorSchema) -> FeatureSchema {
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    FeatureSchema::new(&names)
}

/// Writes `policy` atomically to `path`.
pub fn save(
    policy: &TabularPolicy,
    schema: &MonitorSchema,
    action_kinds: Vec<String>,
    training: TrainingInfo,
    path: &Path,
) -> Result<(), PolicyFileError> {
    let manifest = TabularManifest {
        format_version: FORMAT_VERSION,
        algorithm: ALGORITHM.into(),
        feature_schema: schema_of(schema),
        edges: policy.discretiser().edges().clone(),
        action_kinds,
        training,
        code_version: CODE_VERSION.into(),
        entity_advantage: policy.entity_advantage,
    };
    let json = serde_json::to_string(&manifest).map_err(|e| PolicyFileError::Manifest {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let (q_entity, q_noop) = policy.tables();
    let mut tensors = TensorMap::new();
    tensors.insert(
        "q_entity".into(),
        (
            vec![q_entity.len() / policy.n_kinds(), policy.n_kinds()],
            q_entity.to_vec(),
        ),
    );
    tensors.insert("q_noop".into(), (vec![q_noop.len()], q_noop.to_vec()));
    let metadata = BTreeMap::from([(MANIFEST_KEY.to_string(), json)]);
    store::write_file(path, &tensors, &metadata)
}

/// Reads a tabular policy file for an env with `n_actions` actions whose rows follow `schema`.
pub fn load(
    path: &Path,
    schema: &MonitorSchema,
    n_actions: usize,
) -> Result<(TabularManifest, TabularPolicy), AgentError> {
    let (metadata, tensors) = store::read_file(path)?;
    let bad = |detail: String| PolicyFileError::Manifest {
        path: path.to_path_buf(),
        detail,
    };
    let json = metadata.get(MANIFEST_KEY).ok_or(PolicyFileError::Foreign {
        path: path.to_path_buf(),
        key: MANIFEST_KEY,
    })?;
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let found = value.get("format_version").and_then(|v| v.as_u64());
    if found != Some(u64::from(FORMAT_VERSION)) {
        return Err(PolicyFileError::FormatVersion {
            path: path.to_path_buf(),
            found: found.map_or(u32::MAX, |f| u32::try_from(f).unwrap_or(u32::MAX)),
            expected: FORMAT_VERSION,
        }
        .into());
    }
    let manifest: TabularManifest =
        serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    if manifest.algorithm != ALGORITHM {
        return Err(bad(format!(
            "field `algorithm` is {:?}, expected {ALGORITHM:?}",
            manifest.algorithm
        ))
        .into());
    }
    let expected = schema_of(schema);
    if expected.hash != manifest.feature_schema.hash {
        return Err(PolicyFileError::SchemaMismatch {
            path: path.to_path_buf(),
            found: manifest.feature_schema.hash.clone(),
            found_names: manifest.feature_schema.names.clone(),
            expected: expected.hash,
            expected_names: expected.names,
        }
        .into());
    }
    store::check_finite(path, &tensors)?;
    let n_kinds = manifest.action_kinds.len();
    let mut policy =
        TabularPolicy::zeros(schema.clone(), manifest.edges.clone(), n_kinds, n_actions)?;
    policy.entity_advantage = manifest.entity_advantage;
    for (name, want) in [
        (
            "q_entity",
            vec![policy.discretiser().n_entity_buckets(), n_kinds],
        ),
        ("q_noop", vec![policy.discretiser().n_global_buckets()]),
    ] {
        let tensor_err = |detail: String| PolicyFileError::Tensor {
            path: path.to_path_buf(),
            tensor: name.into(),
            detail,
        };
        let (shape, values) = tensors
            .get(name)
            .ok_or_else(|| tensor_err("absent".into()))?;
        if *shape != want {
            return Err(tensor_err(format!("shape {shape:?}, expected {want:?}")).into());
        }
        let dst = if name == "q_entity" {
            &mut policy.q_entity
        } else {
            &mut policy.q_noop
        };
        dst.copy_from_slice(values);
    }
    Ok((manifest, policy))
}
