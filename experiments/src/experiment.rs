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
    AgentEntry, Budget, Detectors, Experiment, ExperimentHeader, FailurePrediction, ScenarioSets,
    SeedRange, Seeds,
};
pub use validate::ExperimentError;

/// The embedded default experiment (`experiments/default.toml`).
pub const DEFAULT_TEXT: &str = include_str!("../default.toml");

/// Name under which the embedded default is reported in errors.
pub const DEFAULT_ORIGIN: &str = "<embedded experiments/default.toml>";

/// Parses and validates experiment text; `origin` names the file in errors. Scenario paths are
/// relative to the working directory.
pub fn from_toml_str(text: &str, origin: &str) -> Result<Experiment, ExperimentError> {
    from_toml_str_in(text, origin, None)
}

/// Where the embedded default's relative scenario paths are also looked for: the workspace root
/// this binary was built from (so `mend run` works from the checkout's root and from its crates).
const DEFAULT_BASE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// [`from_toml_str`], with relative scenario paths that do not exist from the working directory
/// looked for under `base` too (the experiment file's folder).
pub fn from_toml_str_in(
    text: &str,
    origin: &str,
    base: Option<&Path>,
) -> Result<Experiment, ExperimentError> {
    let mut experiment: Experiment = toml::from_str(text).map_err(|e| ExperimentError::Parse {
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
    if let Some(base) = base {
        resolve_scenario_paths(&mut experiment, base);
    }
    validate::check(&experiment, origin)?;
    Ok(experiment)
}

/// Rewrites each relative scenario path that is not a file from the working directory but is one
/// under `base` to `base/<path>`; built-in names and everything else are left as written.
fn resolve_scenario_paths(experiment: &mut Experiment, base: &Path) {
    let sets = [
        &mut experiment.scenarios.train,
        &mut experiment.scenarios.eval,
    ];
    for list in sets {
        for arg in list.iter_mut() {
            let path = Path::new(arg.as_str());
            if path.is_relative() && !path.is_file() && base.join(path).is_file() {
                *arg = base.join(path).display().to_string();
            }
        }
    }
}

/// Loads an experiment: a file path, or `None` for the embedded default.
pub fn load(path: Option<&Path>) -> Result<(Experiment, String), ExperimentError> {
    match path {
        None => Ok((
            from_toml_str_in(DEFAULT_TEXT, DEFAULT_ORIGIN, Some(Path::new(DEFAULT_BASE)))?,
            DEFAULT_TEXT.to_string(),
        )),
        Some(path) => {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::Read {
                file: origin.clone(),
                message: e.to_string(),
            })?;
            Ok((from_toml_str_in(&text, &origin, path.parent())?, text))
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
        let e = load(None).unwrap().0;
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
        let e = from_toml_str_in(
            include_str!("../paper.toml"),
            "experiments/paper.toml",
            Some(Path::new(DEFAULT_BASE)),
        )
        .unwrap();
        assert!(e.agents.iter().any(|a| a.kind == "ppo"));
        assert!(e.seeds.eval.count >= 20);
        assert!(!e.seeds.train.overlaps(&e.seeds.eval));
    }

    #[test]
    fn agents_study_is_valid_and_compares_every_learner_with_every_baseline() {
        for (text, origin, train) in [
            (
                include_str!("../agents.toml"),
                "experiments/agents.toml",
                "default",
            ),
            (
                include_str!("../agents-tiny.toml"),
                "experiments/agents-tiny.toml",
                "tiny-faults",
            ),
        ] {
            let e = from_toml_str_in(text, origin, Some(Path::new(DEFAULT_BASE))).unwrap();
            for kind in [
                "no-op", "random", "reactive", "runbook", "tabular", "ppo", "dqn",
            ] {
                assert!(
                    e.agents.iter().any(|a| a.kind == kind),
                    "{origin}: {kind} missing"
                );
            }
            assert_eq!(e.baseline(), "no-op");
            assert!(e.seeds.eval.count >= 20, "{origin}");
            assert!(!e.seeds.train.overlaps(&e.seeds.eval), "{origin}");
            assert_eq!(e.scenarios.train, [train], "{origin}");
            assert!(
                e.scenarios.eval.iter().any(|s| s == train),
                "{origin}: evaluated in distribution"
            );
        }
    }
}
