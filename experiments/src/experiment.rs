//! Experiment files: what to train and evaluate, on which scenarios and seeds, with which budget.
//!
//! An experiment file is TOML (schema: `experiments/README.md`), parsed with `deny_unknown_fields` by
//! [`schema`] and checked by [`validate`] before any work starts. Every error names the file, the field
//! (and line, when the TOML parser knows it) and what was expected. `experiments/default.toml` is
//! embedded in the binary ([`DEFAULT_TEXT`]): `mend run` with no argument runs it.

pub mod schema;
pub mod validate;

use std::path::Path;

pub use schema::{
    AgentEntry, Budget, Experiment, ExperimentHeader, ScenarioSets, SeedRange, Seeds,
};
pub use validate::ExperimentError;

/// The embedded default experiment (`experiments/default.toml`).
pub const DEFAULT_TEXT: &str = include_str!("../default.toml");

/// Name under which the embedded default is reported in errors.
pub const DEFAULT_ORIGIN: &str = "<embedded experiments/default.toml>";

/// Parses and validates experiment text; `origin` names the file in errors.
pub fn from_toml_str(text: &str, origin: &str) -> Result<Experiment, ExperimentError> {
    let experiment: Experiment = toml::from_str(text).map_err(|e| ExperimentError::Parse {
        file: origin.to_string(),
        line: e.span().map(|span| line_of(text, span.start)),
        source_line: e
            .span()
            .and_then(|span| text.lines().nth(line_of(text, span.start) - 1))
            .unwrap_or_default()
            .trim()
            .to_string(),
        message: e.message().to_string(),
    })?;
    validate::check(&experiment, origin)?;
    Ok(experiment)
}

/// Loads an experiment: a file path, or `None` for the embedded default.
pub fn load(path: Option<&Path>) -> Result<(Experiment, String), ExperimentError> {
    match path {
        None => Ok((
            from_toml_str(DEFAULT_TEXT, DEFAULT_ORIGIN)?,
            DEFAULT_TEXT.to_string(),
        )),
        Some(path) => {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::Read {
                file: origin.clone(),
                message: e.to_string(),
            })?;
            Ok((from_toml_str(&text, &origin)?, text))
        }
    }
}

/// 1-based line number of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid() {
        let e = from_toml_str(DEFAULT_TEXT, DEFAULT_ORIGIN).unwrap();
        assert!(!e.agents.is_empty());
        assert!(!e.scenarios.eval.is_empty());
    }

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}

#[cfg(test)]
mod paper_tests {
    use super::*;

    #[test]
    fn paper_study_is_valid_and_has_twenty_paired_seeds() {
        let e = from_toml_str(include_str!("../paper.toml"), "experiments/paper.toml").unwrap();
        assert!(e.seeds.eval.count >= 20);
        assert!(!e.seeds.train.overlaps(&e.seeds.eval));
    }
}
