//! Policy files (BRIEF §7, invariant 5): one safetensors file holding the network's tensors, with a JSON
//! [`Manifest`] under the metadata key [`MANIFEST_KEY`]. Loading checks, in order: the file is whole and
//! is safetensors, carries our manifest, has our format version, reads the caller's feature schema, and
//! holds finite weights of the shapes the manifest declares. Each failure has its own error variant.
//!
//! The network is an MLP over vector observations or an entity network over cluster observations
//! ([`NetworkSpec`]); entity files name their tensors `encoder.`, `scorer.`, `noop.`, `value.` followed
//! by the MLP names (`layers.{i}.weight`). Format 2 (this build) added the entity network; format-1 files
//! are rejected with [`PolicyFileError::FormatVersion`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use mend_monitor::features::risk::RiskModel;

use crate::agent::TrainSummary;
use crate::error::PolicyFileError;
use crate::nn::entity::{EntityParams, EntityPolicy, EntitySpec, PART_NAMES};
use crate::nn::{MlpParams, MlpSpec};
use crate::policy::{MlpPolicy, Normalisation, OutputKind, PolicyNet};
use crate::store::{self, TensorMap};

/// Version of the policy file layout this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
/// The safetensors metadata key that holds the manifest JSON.
pub const MANIFEST_KEY: &str = "mend.manifest";
/// This crate's version, written into every manifest.
pub const CODE_VERSION: &str = concat!("mend-agents ", env!("CARGO_PKG_VERSION"));

/// The names of the features a policy reads, in order, and their SHA-256 (hex of the names joined by
/// newlines), so a loader compares one string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSchema {
    /// Feature names, in observation order.
    pub names: Vec<String>,
    /// Hex SHA-256 of `names.join("\n")`.
    pub hash: String,
}

impl FeatureSchema {
    /// The schema of the given names.
    pub fn new<S: AsRef<str>>(names: &[S]) -> Self {
        let names: Vec<String> = names.iter().map(|n| n.as_ref().to_string()).collect();
        let digest = Sha256::digest(names.join("\n").as_bytes());
        let hash = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self { names, hash }
    }

    /// The features an entity policy reads from a cluster observation: every row column of `schema`,
    /// then every global feature (the order of `mend_monitor::features::FeatureSchema::builtin`, which the
    /// cluster env and the executor both use).
    pub fn entities(schema: &mend_monitor::features::FeatureSchema) -> Self {
        let names: Vec<&str> = schema
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .chain(schema.global.iter().map(String::as_str))
            .collect();
        Self::new(&names)
    }

    /// [`FeatureSchema::entities`] of the monitor's built-in schema
    /// (`mend_monitor::features::FeatureSchema::builtin()`, whatever its current version): the rows
    /// the cluster env and the executor extract today. (Named `entities_v1` until session 6, when it
    /// already described the v2 rows.)
    pub fn builtin_entities() -> Self {
        Self::entities(&mend_monitor::features::FeatureSchema::builtin())
    }

    /// Gymnasium CartPole-v1's observation (`gymnasium/envs/classic_control/cartpole.py` docstring).
    pub fn cartpole() -> Self {
        Self::new(&[
            "cart_position",
            "cart_velocity",
            "pole_angle",
            "pole_angular_velocity",
        ])
    }
}

/// Where and how the policy was trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Environment id (`"CartPole-v1"`, `"mend/Cluster-v0"`).
    pub env_id: String,
    /// Scenario family for the cluster env; `None` for reference tasks.
    pub scenario_family: Option<String>,
    /// The run's master seed.
    pub seed: u64,
    /// What training did.
    pub summary: TrainSummary,
    /// The agent's configuration, as JSON.
    pub config: serde_json::Value,
}

/// The network's shape, tagged by kind in the manifest JSON (`{"kind": "mlp", ...}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NetworkSpec {
    /// An MLP over vector observations.
    Mlp(MlpSpec),
    /// An entity network over cluster observations.
    Entity(EntitySpec),
}

/// Everything needed to use a policy, stored as JSON in the file's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// `"ppo"`, `"dqn"`.
    pub algorithm: String,
    /// What the network outputs.
    pub output: OutputKind,
    /// The network's shape.
    pub network: NetworkSpec,
    /// The features it reads.
    pub feature_schema: FeatureSchema,
    /// Observation normalisation, if any.
    pub normalisation: Option<Normalisation>,
    /// Action kinds, one name per action index.
    pub action_kinds: Vec<String>,
    /// Number of actions (for an entity network: of the env it was trained on; it acts on any size).
    pub action_count: usize,
    /// Training provenance.
    pub training: TrainingInfo,
    /// Version of the code that wrote the file ([`CODE_VERSION`]).
    pub code_version: String,
    /// The monitoring the policy was trained behind (absent from the JSON when it is the default,
    /// so files written before this field existed read the same and write the same bytes).
    #[serde(default, skip_serializing_if = "Monitoring::is_default")]
    pub monitoring: Monitoring,
}

/// The monitoring behind a policy's observation: which detector drives the alert-age columns
/// (feature schema v3, `mend_monitor::features::alert_age`) and which failure predictor writes the
/// risk column (v4, `mend_monitor::features::risk`). The executor rebuilds exactly this live, so
/// the columns mean what they meant in training.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Monitoring {
    /// Detector spec text behind the alert-age columns, as experiment files and `--detector` take
    /// it; `None`: the default (`mend_monitor::features::alert_age::DEFAULT_ALERT_DETECTOR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_detector: Option<String>,
    /// The failure predictor behind the `svc_failure_risk` column; `None`: the column is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_risk: Option<RiskModel>,
}

impl Monitoring {
    /// Is this the default (nothing recorded)?
    pub fn is_default(&self) -> bool {
        *self == Monitoring::default()
    }

    /// The alert detector spec to run: the recorded one or the default.
    pub fn alert_detector_spec(&self) -> &str {
        self.alert_detector
            .as_deref()
            .unwrap_or(mend_monitor::features::alert_age::DEFAULT_ALERT_DETECTOR)
    }
}

/// A policy together with its manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyFile {
    /// The manifest.
    pub manifest: Manifest,
    /// The policy, ready to act.
    pub policy: PolicyNet,
}

impl PolicyFile {
    /// Bundles `policy` (an [`MlpPolicy`] or an [`EntityPolicy`]) with the provenance the caller knows;
    /// the network, output kind, algorithm and normalisation are taken from the policy itself.
    pub fn new(
        policy: impl Into<PolicyNet>,
        feature_schema: FeatureSchema,
        action_kinds: Vec<String>,
        training: TrainingInfo,
    ) -> Self {
        let policy = policy.into();
        let (algorithm, output, network, normalisation, action_count) = match &policy {
            PolicyNet::Mlp(p) => (
                p.algorithm.clone(),
                p.output,
                NetworkSpec::Mlp(p.net.spec.clone()),
                p.normalisation.clone(),
                p.net.spec.output,
            ),
            PolicyNet::Entity(p) => (
                p.algorithm.clone(),
                p.output,
                NetworkSpec::Entity(p.params.spec.clone()),
                None,
                p.n_actions,
            ),
        };
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            algorithm,
            output,
            network,
            feature_schema,
            normalisation,
            action_count,
            action_kinds,
            training,
            code_version: CODE_VERSION.to_string(),
            monitoring: Monitoring::default(),
        };
        Self { manifest, policy }
    }

    /// The same file, recording the monitoring the policy was trained behind.
    pub fn with_monitoring(mut self, monitoring: Monitoring) -> Self {
        self.manifest.monitoring = monitoring;
        self
    }

    /// The file's bytes (deterministic: same policy and manifest, same bytes).
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>, PolicyFileError> {
        let json =
            serde_json::to_string(&self.manifest).map_err(|e| PolicyFileError::Manifest {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        let metadata = BTreeMap::from([(MANIFEST_KEY.to_string(), json)]);
        let tensors = match &self.policy {
            PolicyNet::Mlp(p) => params_to_tensors(&p.net),
            PolicyNet::Entity(p) => entity_to_tensors(&p.params, ""),
        };
        store::to_bytes(path, &tensors, &metadata)
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), PolicyFileError> {
        store::write_atomic(path, &self.to_bytes(path)?)
    }

    /// Reads only the manifest (for `mend policy inspect`), after the same format checks as [`load`].
    ///
    /// [`load`]: PolicyFile::load
    pub fn inspect(path: &Path) -> Result<Manifest, PolicyFileError> {
        let (metadata, _) = store::read_file(path)?;
        parse_manifest(path, &metadata)
    }

    /// Reads the manifest of any mend policy file (network or tabular) as JSON, after the
    /// container and format-version checks, for printing (`mend policy inspect`).
    pub fn inspect_json(path: &Path) -> Result<serde_json::Value, PolicyFileError> {
        let (metadata, _) = store::read_file(path)?;
        manifest_json(path, &metadata)
    }

    /// Reads and checks a policy file. With `expected_schema`, the file must read exactly those features.
    pub fn load(
        path: &Path,
        expected_schema: Option<&FeatureSchema>,
    ) -> Result<Self, PolicyFileError> {
        let (metadata, tensors) = store::read_file(path)?;
        let manifest = parse_manifest(path, &metadata)?;
        if let Some(expected) = expected_schema
            && expected.hash != manifest.feature_schema.hash
        {
            return Err(PolicyFileError::SchemaMismatch {
                path: path.to_path_buf(),
                found: manifest.feature_schema.hash.clone(),
                found_names: manifest.feature_schema.names.clone(),
                expected: expected.hash.clone(),
                expected_names: expected.names.clone(),
            });
        }
        store::check_finite(path, &tensors)?;
        check_monitoring(path, &manifest)?;
        let policy = match &manifest.network {
            NetworkSpec::Mlp(spec) => PolicyNet::Mlp(MlpPolicy {
                algorithm: manifest.algorithm.clone(),
                output: manifest.output,
                net: tensors_to_params(path, spec, &tensors)?,
                exploration_eps: 0.0,
                normalisation: manifest.normalisation.clone(),
            }),
            NetworkSpec::Entity(spec) => {
                check_entity_manifest(path, &manifest, spec)?;
                PolicyNet::Entity(Box::new(EntityPolicy {
                    algorithm: manifest.algorithm.clone(),
                    output: manifest.output,
                    params: tensors_to_entity(path, spec, &tensors, "")?,
                    exploration_eps: 0.0,
                    n_actions: manifest.action_count,
                }))
            }
        };
        Ok(Self { manifest, policy })
    }
}

fn parse_manifest(
    path: &Path,
    metadata: &BTreeMap<String, String>,
) -> Result<Manifest, PolicyFileError> {
    let value = manifest_json(path, metadata)?;
    serde_json::from_value(value).map_err(|e| PolicyFileError::Manifest {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// The manifest entry as JSON, checked to be this format version (before any typed parse, so a
/// future layout reports its version, not a missing field).
fn manifest_json(
    path: &Path,
    metadata: &BTreeMap<String, String>,
) -> Result<serde_json::Value, PolicyFileError> {
    let json = metadata.get(MANIFEST_KEY).ok_or(PolicyFileError::Foreign {
        path: path.to_path_buf(),
        key: MANIFEST_KEY,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| PolicyFileError::Manifest {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    let found = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| PolicyFileError::Manifest {
            path: path.to_path_buf(),
            detail: "field `format_version`: expected an unsigned integer".into(),
        })?;
    if found != u64::from(FORMAT_VERSION) {
        return Err(PolicyFileError::FormatVersion {
            path: path.to_path_buf(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            expected: FORMAT_VERSION,
        });
    }
    Ok(value)
}

/// A recorded failure predictor must fit the rows the cluster env and the executor extract (the
/// monitor's built-in schema) and hold finite parameters of its declared shape.
fn check_monitoring(path: &Path, manifest: &Manifest) -> Result<(), PolicyFileError> {
    let Some(model) = &manifest.monitoring.failure_risk else {
        return Ok(());
    };
    model
        .check(&mend_monitor::features::FeatureSchema::builtin())
        .map_err(|e| PolicyFileError::Manifest {
            path: path.to_path_buf(),
            detail: format!("field `monitoring.failure_risk`: {e}"),
        })
}

/// An entity network's manifest must agree with itself: the feature schema has `row_width +
/// global_width` names, there is one action-kind name per kind, and the action count is
/// `1 + entities * kinds` for some entity count.
fn check_entity_manifest(
    path: &Path,
    manifest: &Manifest,
    spec: &EntitySpec,
) -> Result<(), PolicyFileError> {
    let bad = |detail: String| {
        Err(PolicyFileError::Manifest {
            path: path.to_path_buf(),
            detail,
        })
    };
    let features = spec.row_width + spec.global_width;
    if manifest.feature_schema.names.len() != features {
        return bad(format!(
            "field `feature_schema.names`: {} names, expected {features} (network.row_width {} + network.global_width {})",
            manifest.feature_schema.names.len(),
            spec.row_width,
            spec.global_width
        ));
    }
    if manifest.action_kinds.len() != spec.n_kinds {
        return bad(format!(
            "field `action_kinds`: {} names, expected network.n_kinds = {}",
            manifest.action_kinds.len(),
            spec.n_kinds
        ));
    }
    if spec.n_kinds == 0
        || manifest.action_count == 0
        || !(manifest.action_count - 1).is_multiple_of(spec.n_kinds)
    {
        return bad(format!(
            "field `action_count`: {}, expected 1 + entities x {} kinds",
            manifest.action_count, spec.n_kinds
        ));
    }
    Ok(())
}

/// The tensors of an entity network: each sub-network's MLP tensors under `{prefix}{part}.`.
pub fn entity_to_tensors(params: &EntityParams, prefix: &str) -> TensorMap {
    params
        .parts()
        .into_iter()
        .flat_map(|(name, mlp)| params_to_tensors_prefixed(mlp, &format!("{prefix}{name}.")))
        .collect()
}

/// Rebuilds an entity network of shape `spec` from `tensors` (names as [`entity_to_tensors`] writes
/// them), checking every name and shape.
pub fn tensors_to_entity(
    path: &Path,
    spec: &EntitySpec,
    tensors: &TensorMap,
    prefix: &str,
) -> Result<EntityParams, PolicyFileError> {
    let mut params = EntityParams::zeros(spec.clone());
    let specs = spec.part_specs();
    for ((slot, name), part_spec) in params.parts_mut().into_iter().zip(PART_NAMES).zip(&specs) {
        *slot = tensors_to_params_prefixed(path, part_spec, tensors, &format!("{prefix}{name}."))?;
    }
    Ok(params)
}

/// The tensors of an MLP under the names of [`MlpParams::tensor_names_and_shapes`], with `prefix`.
pub fn params_to_tensors(params: &MlpParams) -> TensorMap {
    params_to_tensors_prefixed(params, "")
}

/// As [`params_to_tensors`], every name prefixed (checkpoints hold several networks).
pub fn params_to_tensors_prefixed(params: &MlpParams, prefix: &str) -> TensorMap {
    params
        .tensor_names_and_shapes()
        .into_iter()
        .zip(params.tensors())
        .map(|((name, shape), values)| (format!("{prefix}{name}"), (shape, values.to_vec())))
        .collect()
}

/// Rebuilds an MLP of shape `spec` from `tensors`, checking every name and shape.
pub fn tensors_to_params(
    path: &Path,
    spec: &MlpSpec,
    tensors: &TensorMap,
) -> Result<MlpParams, PolicyFileError> {
    tensors_to_params_prefixed(path, spec, tensors, "")
}

/// As [`tensors_to_params`], reading names with `prefix`.
pub fn tensors_to_params_prefixed(
    path: &Path,
    spec: &MlpSpec,
    tensors: &TensorMap,
    prefix: &str,
) -> Result<MlpParams, PolicyFileError> {
    let mut params = MlpParams::zeros(spec);
    let names = params.tensor_names_and_shapes();
    for ((name, shape), slot) in names.into_iter().zip(params.tensors_mut()) {
        let full = format!("{prefix}{name}");
        match tensors.get(&full) {
            Some((s, values)) if *s == shape => slot.copy_from_slice(values),
            Some((s, _)) => {
                return Err(PolicyFileError::Tensor {
                    path: path.to_path_buf(),
                    tensor: full,
                    detail: format!("shape {s:?}, expected {shape:?}"),
                });
            }
            None => {
                return Err(PolicyFileError::Tensor {
                    path: path.to_path_buf(),
                    tensor: full,
                    detail: format!("missing, expected shape {shape:?}"),
                });
            }
        }
    }
    Ok(params)
}
