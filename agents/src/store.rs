//! Reading and writing named f32 tensors plus string metadata as one safetensors file: the shared layer
//! under policy files and checkpoints. Writes go to a temporary sibling and are renamed into place
//! (invariant 4); reads map each safetensors failure to a [`PolicyFileError`] variant that names the file.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};

use crate::error::PolicyFileError;

/// Tensors by name: `(shape, row-major values)`. A BTreeMap, so iteration (and the file) is ordered.
pub type TensorMap = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Serialises `tensors` and `metadata` to safetensors bytes (deterministic: names are sorted).
pub fn to_bytes(
    path: &Path,
    tensors: &TensorMap,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, PolicyFileError> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, (shape, values))| {
            (
                name.clone(),
                shape.clone(),
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| PolicyFileError::Tensor {
                    path: path.to_path_buf(),
                    tensor: name.clone(),
                    detail: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let meta: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    safetensors::serialize(views, Some(meta)).map_err(|e| PolicyFileError::NotSafetensors {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Writes `bytes` to `path` whole or not at all: a temporary sibling, fsync, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PolicyFileError> {
    let io = |source| PolicyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Writes tensors and metadata to `path` atomically.
pub fn write_file(
    path: &Path,
    tensors: &TensorMap,
    metadata: &BTreeMap<String, String>,
) -> Result<(), PolicyFileError> {
    write_atomic(path, &to_bytes(path, tensors, metadata)?)
}

/// Reads a safetensors file of f32 tensors: its metadata and tensors.
pub fn read_file(path: &Path) -> Result<(BTreeMap<String, String>, TensorMap), PolicyFileError> {
    let bytes = std::fs::read(path).map_err(|source| PolicyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_bytes(path, &bytes)
}

/// Parses safetensors bytes (see [`read_file`]); `path` is only used in errors.
pub fn from_bytes(
    path: &Path,
    bytes: &[u8],
) -> Result<(BTreeMap<String, String>, TensorMap), PolicyFileError> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| parse_error(path, bytes, e))?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| parse_error(path, bytes, e))?;
    let metadata: BTreeMap<String, String> = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut tensors = TensorMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(PolicyFileError::Tensor {
                path: path.to_path_buf(),
                tensor: name,
                detail: format!("dtype {:?}, expected F32", view.dtype()),
            });
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.insert(name, (view.shape().to_vec(), values));
    }
    Ok((metadata, tensors))
}

/// Tells a truncated file (the header or data run past the end) from one that is not safetensors.
fn parse_error(path: &Path, bytes: &[u8], e: SafeTensorError) -> PolicyFileError {
    let path = path.to_path_buf();
    let declared_header = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    match e {
        SafeTensorError::HeaderTooSmall | SafeTensorError::MetadataIncompleteBuffer => {
            PolicyFileError::Truncated {
                path,
                detail: format!("{e:?} ({} bytes)", bytes.len()),
            }
        }
        SafeTensorError::InvalidHeaderLength | SafeTensorError::HeaderTooLarge
            if declared_header.is_some_and(|n| n > bytes.len() as u64 && n <= 100_000_000) =>
        {
            PolicyFileError::Truncated {
                path,
                detail: format!(
                    "header declares {} bytes, file has {}",
                    declared_header.unwrap_or(0),
                    bytes.len()
                ),
            }
        }
        other => PolicyFileError::NotSafetensors {
            path,
            detail: format!("{other:?}"),
        },
    }
}

/// The first NaN or infinite value among `tensors`, as a [`PolicyFileError::NonFinite`].
pub fn check_finite(path: &Path, tensors: &TensorMap) -> Result<(), PolicyFileError> {
    for (name, (_, values)) in tensors {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(PolicyFileError::NonFinite {
                path: path.to_path_buf(),
                tensor: name.clone(),
                index,
                value,
            });
        }
    }
    Ok(())
}
