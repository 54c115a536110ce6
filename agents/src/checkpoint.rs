//! Pieces shared by agent checkpoints: the RNG state (ChaCha8 seed, stream and word position, which
//! restore the stream exactly) and Adam moments as tensors. Each agent writes its checkpoint through
//! [`crate::store`], with its own JSON state under the metadata key [`CHECKPOINT_KEY`].

use std::path::Path;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::PolicyFileError;
use crate::optim::Adam;
use crate::store::TensorMap;

/// The safetensors metadata key of a checkpoint's JSON state.
pub const CHECKPOINT_KEY: &str = "mend.checkpoint";

/// The exact position of a ChaCha8 stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte key, hex.
    pub seed_hex: String,
    /// Stream id.
    pub stream: u64,
    /// Word position (a u128, as a decimal string: JSON numbers cannot hold it).
    pub word_pos: String,
}

impl RngState {
    /// Captures `rng`'s position.
    pub fn capture(rng: &ChaCha8Rng) -> Self {
        Self {
            seed_hex: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator at the captured position.
    pub fn restore(&self, path: &Path) -> Result<ChaCha8Rng, PolicyFileError> {
        use rand::SeedableRng;
        let bad = |detail: &str| PolicyFileError::Manifest {
            path: path.to_path_buf(),
            detail: format!("field `rng`: {detail}"),
        };
        if self.seed_hex.len() != 64 {
            return Err(bad("seed_hex must be 64 hex digits"));
        }
        let mut seed = [0u8; 32];
        for (i, byte) in seed.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&self.seed_hex[2 * i..2 * i + 2], 16)
                .map_err(|_| bad("seed_hex is not hex"))?;
        }
        let word_pos: u128 = self
            .word_pos
            .parse()
            .map_err(|_| bad("word_pos is not an integer"))?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Ok(rng)
    }
}

/// Adam's step count and betas (the moments go in tensors).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamScalars {
    /// Steps taken.
    pub t: u64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Epsilon.
    pub eps: f64,
}

/// Adds Adam's moments to `tensors` as `{prefix}m.{i}` and `{prefix}v.{i}`; returns its scalars.
pub fn adam_to_tensors(adam: &Adam, prefix: &str, tensors: &mut TensorMap) -> AdamScalars {
    for (i, (m, v)) in adam.m.iter().zip(&adam.v).enumerate() {
        tensors.insert(format!("{prefix}m.{i:03}"), (vec![m.len()], m.clone()));
        tensors.insert(format!("{prefix}v.{i:03}"), (vec![v.len()], v.clone()));
    }
    AdamScalars {
        t: adam.t,
        beta1: adam.beta1,
        beta2: adam.beta2,
        eps: adam.eps,
    }
}

/// Restores Adam's moments into `adam` (whose shapes come from the agent's config).
pub fn adam_from_tensors(
    path: &Path,
    adam: &mut Adam,
    scalars: AdamScalars,
    prefix: &str,
    tensors: &TensorMap,
) -> Result<(), PolicyFileError> {
    for (kind, store) in [("m", &mut adam.m), ("v", &mut adam.v)] {
        for (i, slot) in store.iter_mut().enumerate() {
            copy_tensor(tensors, &format!("{prefix}{kind}.{i:03}"), slot, path)?;
        }
    }
    adam.t = scalars.t;
    adam.beta1 = scalars.beta1;
    adam.beta2 = scalars.beta2;
    adam.eps = scalars.eps;
    Ok(())
}

/// Copies the checkpoint tensor `name` into `dst`, which it must fill exactly.
pub fn copy_tensor(
    tensors: &TensorMap,
    name: &str,
    dst: &mut [f32],
    path: &Path,
) -> Result<(), PolicyFileError> {
    match tensors.get(name) {
        Some((_, values)) if values.len() == dst.len() => {
            dst.copy_from_slice(values);
            Ok(())
        }
        other => Err(PolicyFileError::Tensor {
            path: path.to_path_buf(),
            tensor: name.into(),
            detail: format!(
                "expected {} values, found {:?}",
                dst.len(),
                other.map(|(_, v)| v.len())
            ),
        }),
    }
}

/// Writes a checkpoint: `tensors` plus `state` as JSON under [`CHECKPOINT_KEY`].
pub fn write_checkpoint<S: Serialize>(
    path: &Path,
    tensors: &TensorMap,
    state: &S,
) -> Result<(), PolicyFileError> {
    let json = serde_json::to_string(state).map_err(|e| PolicyFileError::Manifest {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    crate::store::write_file(
        path,
        tensors,
        &std::collections::BTreeMap::from([(CHECKPOINT_KEY.to_string(), json)]),
    )
}

/// Reads a checkpoint written by [`write_checkpoint`]: its JSON state and its (finite) tensors.
/// A file without [`CHECKPOINT_KEY`] is foreign; a state that does not parse as `S` is a manifest
/// error.
pub fn read_checkpoint<S: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<(S, TensorMap), PolicyFileError> {
    let (metadata, tensors) = crate::store::read_file(path)?;
    let json = metadata
        .get(CHECKPOINT_KEY)
        .ok_or(PolicyFileError::Foreign {
            path: path.to_path_buf(),
            key: CHECKPOINT_KEY,
        })?;
    let state: S = serde_json::from_str(json).map_err(|e| PolicyFileError::Manifest {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    crate::store::check_finite(path, &tensors)?;
    Ok((state, tensors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn rng_state_round_trip_continues_the_same_stream() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let _: [u64; 7] = std::array::from_fn(|_| rng.random());
        let state = RngState::capture(&rng);
        let mut restored = state.restore(Path::new("x")).unwrap();
        let a: Vec<u32> = (0..10).map(|_| rng.random()).collect();
        let b: Vec<u32> = (0..10).map(|_| restored.random()).collect();
        assert_eq!(a, b);
    }
}
