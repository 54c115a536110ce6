//! Scenarios: loading a TOML document ([`schema`]), validating it ([`validate`]) and the built-in
//! scenario files embedded in the crate. A [`Scenario`] can only be obtained through validation, so
//! holding one means the simulator cannot fail on it at run time (BRIEF invariant 3).

pub mod locate;
pub mod schema;
pub mod validate;

use crate::error::{Location, ScenarioError};
use crate::renewal::RenewalConfig;
use crate::time::SimDuration;

pub use schema::*;

/// The built-in scenarios, embedded from `scenarios/*.toml` and the held-out evaluation set
/// `scenarios/eval/*.toml` (so an installed binary runs its embedded experiments anywhere): (name, text).
pub const BUILTINS: [(&str, &str); 8] = [
    ("tiny", include_str!("../../scenarios/tiny.toml")),
    ("default", include_str!("../../scenarios/default.toml")),
    ("large", include_str!("../../scenarios/large.toml")),
    ("renewal", include_str!("../../scenarios/renewal.toml")),
    (
        "eval-mid-network",
        include_str!("../../scenarios/eval/eval-mid-network.toml"),
    ),
    (
        "eval-large-zones",
        include_str!("../../scenarios/eval/eval-large-zones.toml"),
    ),
    (
        "eval-regional",
        include_str!("../../scenarios/eval/eval-regional.toml"),
    ),
    // Last, so the names listed before it (in errors and help text) keep their order.
    (
        "tiny-faults",
        include_str!("../../scenarios/tiny-faults.toml"),
    ),
];

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    spec: ScenarioSpec,
    origin: String,
}

impl Scenario {
    /// Parses and validates a scenario. `origin` (usually the file name) prefixes every error.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let spec: ScenarioSpec = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| locate::line_of_offset(text, span.start));
            ScenarioError::Parse {
                location: Location {
                    origin: origin.to_string(),
                    path: String::new(),
                    line,
                },
                message: e.message().trim().to_string(),
            }
        })?;
        Self::from_spec(spec, origin, Some(text))
    }

    /// Validates a spec built in code (no source text, so errors carry no line numbers).
    pub fn from_spec(
        spec: ScenarioSpec,
        origin: &str,
        text: Option<&str>,
    ) -> Result<Scenario, ScenarioError> {
        validate::validate(&spec).map_err(|issue| {
            let line = text.and_then(|t| locate::line_of_path(t, &issue.path));
            ScenarioError::Invalid {
                location: Location {
                    origin: origin.to_string(),
                    path: issue.path,
                    line,
                },
                problem: issue.problem,
                expected: issue.expected,
            }
        })?;
        Ok(Scenario {
            spec,
            origin: origin.to_string(),
        })
    }

    /// A built-in scenario by name (`tiny`, `default`, `large`, `renewal`, the held-out
    /// `eval-mid-network`, `eval-large-zones`, `eval-regional`, and `tiny-faults`: `tiny` with faults).
    pub fn builtin(name: &str) -> Result<Scenario, ScenarioError> {
        match BUILTINS.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Scenario::from_toml_str(text, &format!("builtin:{n}.toml")),
            None => Err(ScenarioError::UnknownBuiltin {
                name: name.to_string(),
                known: BUILTINS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The validated document.
    pub fn spec(&self) -> &ScenarioSpec {
        &self.spec
    }

    /// Where the scenario came from (file name or `builtin:NAME.toml`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.spec.scenario.name
    }

    /// The model kind.
    pub fn model(&self) -> ModelKind {
        self.spec.scenario.model
    }

    /// Simulated length of an episode.
    pub fn horizon(&self) -> SimDuration {
        self.spec.scenario.horizon
    }

    /// The renewal model's configuration, for `model = "renewal"` (run it with
    /// [`crate::renewal::run_renewal`] and [`Scenario::horizon`]).
    pub fn renewal(&self) -> Option<&RenewalConfig> {
        match self.spec.scenario.model {
            ModelKind::Renewal => self.spec.renewal.as_ref(),
            ModelKind::Cluster => None,
        }
    }
}
