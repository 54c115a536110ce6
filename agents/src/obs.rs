//! Observations as the MLPs read them: checks that a space is a flat vector, flattens observations into
//! a batch matrix, and reads the final observation that a SameStep-autoreset vector env puts in
//! `info["final_obs"]` (Gymnasium 1.x `final_obs`; encoded by `Observation::to_json` as a number array).

use mend_envs::{EntityObs, Info, Observation, Space};

use crate::error::AgentError;

/// The observation length of a `Box` space, or an error naming what was found.
pub fn vector_obs_dim(space: &Space) -> Result<usize, AgentError> {
    match space {
        Space::Box(b) => Ok(b.low.len()),
        other => Err(AgentError::UnsupportedSpace {
            what: "observation",
            expected: "Box (a flat vector)",
            got: format!("{other:?}"),
        }),
    }
}

/// The action count of a `Discrete` space, or an error naming what was found.
pub fn discrete_actions(space: &Space) -> Result<usize, AgentError> {
    match space {
        Space::Discrete(d) if d.start == 0 && d.n > 0 => Ok(d.n),
        other => Err(AgentError::UnsupportedSpace {
            what: "action",
            expected: "Discrete(n) with start 0",
            got: format!("{other:?}"),
        }),
    }
}

/// The vector inside `obs`, checked to have `dim` entries.
pub fn as_vector(obs: &Observation, dim: usize) -> Result<&[f32], AgentError> {
    match obs.as_vector() {
        Some(v) if v.len() == dim => Ok(v),
        Some(v) => Err(AgentError::ObservationMismatch {
            expected: format!("a vector of {dim} features"),
            got: format!("a vector of {} features", v.len()),
        }),
        None => Err(AgentError::ObservationMismatch {
            expected: format!("a vector of {dim} features"),
            got: "an entity observation".into(),
        }),
    }
}

/// Appends every observation of `batch` to `out` (row-major `len x dim`).
pub fn flatten_into(
    batch: &[Observation],
    dim: usize,
    out: &mut Vec<f32>,
) -> Result<(), AgentError> {
    for obs in batch {
        out.extend_from_slice(as_vector(obs, dim)?);
    }
    Ok(())
}

/// Reads `info["final_obs"]` of sub-environment `env_index` as a vector of `dim` numbers.
pub fn final_obs(info: &Info, env_index: usize, dim: usize) -> Result<Vec<f32>, AgentError> {
    let missing = |detail: String| AgentError::MissingFinalObs { env_index, detail };
    let value = info
        .get("final_obs")
        .ok_or_else(|| missing("key absent".into()))?;
    let array = value
        .as_array()
        .ok_or_else(|| missing(format!("not an array: {value}")))?;
    if array.len() != dim {
        return Err(missing(format!("{} numbers, expected {dim}", array.len())));
    }
    array
        .iter()
        .map(|x| {
            x.as_f64()
                .map(|f| f as f32)
                .ok_or_else(|| missing(format!("non-number {x}")))
        })
        .collect()
}

/// Reads `info["final_obs"]` of sub-environment `env_index` as an entity observation (the object
/// `{"global": [...], "width": w, "rows": [...]}` that `Observation::to_json` writes).
pub fn final_entity_obs(info: &Info, env_index: usize) -> Result<EntityObs, AgentError> {
    let missing = |detail: String| AgentError::MissingFinalObs { env_index, detail };
    let value = info
        .get("final_obs")
        .ok_or_else(|| missing("key absent".into()))?;
    let numbers = |key: &str| -> Result<Vec<f32>, AgentError> {
        value
            .get(key)
            .and_then(|v| v.as_array())
            .ok_or_else(|| missing(format!("field `{key}`: expected an array of numbers")))?
            .iter()
            .map(|x| {
                x.as_f64()
                    .map(|f| f as f32)
                    .ok_or_else(|| missing(format!("field `{key}`: non-number {x}")))
            })
            .collect()
    };
    let width = value
        .get("width")
        .and_then(serde_json::Value::as_u64)
        .and_then(|w| usize::try_from(w).ok())
        .ok_or_else(|| missing("field `width`: expected an unsigned integer".into()))?;
    let e = EntityObs {
        global: numbers("global")?,
        width,
        rows: numbers("rows")?,
    };
    if width == 0 || !e.rows.len().is_multiple_of(width) {
        return Err(missing(format!(
            "field `rows`: {} numbers, expected a multiple of width {width}",
            e.rows.len()
        )));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_obs_reads_number_array_and_rejects_others() {
        let mut info = Info::new();
        info.insert(
            "final_obs".into(),
            Observation::Vector(vec![1.0, -2.5]).to_json(),
        );
        assert_eq!(final_obs(&info, 0, 2).unwrap(), vec![1.0, -2.5]);
        assert!(final_obs(&info, 0, 3).is_err());
        assert!(final_obs(&Info::new(), 1, 2).is_err());
    }

    #[test]
    fn final_entity_obs_reads_what_to_json_wrote_and_rejects_ragged_rows() {
        let e = EntityObs {
            global: vec![0.5],
            width: 2,
            rows: vec![1.0, 2.0, 3.0, 4.0],
        };
        let mut info = Info::new();
        info.insert(
            "final_obs".into(),
            Observation::Entities(e.clone()).to_json(),
        );
        assert_eq!(final_entity_obs(&info, 0).unwrap(), e);
        let mut ragged = e;
        ragged.rows.pop();
        info.insert("final_obs".into(), Observation::Entities(ragged).to_json());
        assert!(final_entity_obs(&info, 0).is_err());
    }
}
