//! The crate's error types for scenario loading: one enum, each variant documented with when it
//! happens. Every message names the file (origin), the field path, the line when known, and what was
//! expected, so that a researcher can fix a scenario file without reading the code.

use std::fmt;

/// Where in a scenario file a problem sits: the file name given to the loader, the field path
/// (e.g. `services[3].depends_on[0]`) and the 1-based line when it could be located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name (or other origin label) given to the loader.
    pub origin: String,
    /// Field path in the document, such as `services[3].depends_on[0]`; empty for the whole file.
    pub path: String,
    /// 1-based line number, when the parser gave a span or the field could be found in the text.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": field `{}`", self.path)?;
        }
        Ok(())
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The text is not valid TOML, has an unknown field, a missing field or a value of the wrong
    /// type or unit (reported by the TOML/serde parser).
    #[error("{location}: {message}")]
    Parse {
        /// Where the parser stopped.
        location: Location,
        /// The parser's own explanation.
        message: String,
    },
    /// The document parsed but breaks a semantic rule (missing reference, cycle, value out of
    /// range, ...).
    #[error("{location}: {problem}; expected {expected}")]
    Invalid {
        /// The offending field.
        location: Location,
        /// What is wrong with the value found.
        problem: String,
        /// What would have been accepted.
        expected: String,
    },
    /// `Scenario::builtin` was asked for a name that is not embedded in the crate.
    #[error("no built-in scenario named `{name}`; expected one of {known}")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The built-in names, comma-separated.
        known: String,
    },
}

impl ScenarioError {
    /// The location of the error, if it has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ScenarioError::Parse { location, .. } | ScenarioError::Invalid { location, .. } => {
                Some(location)
            }
            ScenarioError::UnknownBuiltin { .. } => None,
        }
    }
}
