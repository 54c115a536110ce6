//! Finding a scenario from a command-line argument: a file path, or the name of a built-in scenario
//! embedded in the binary (`tiny`, `default`, `large`, `renewal` and the held-out `eval-*` set).

use std::path::Path;

use anyhow::{Context, Result, bail};
use mend_sim::Scenario;
use mend_sim::scenario::BUILTINS;

/// Loads `arg` as a scenario file if such a file exists, else as a built-in scenario name.
/// Errors name the file, the field and the line (from the validator).
pub fn load(arg: &str) -> Result<Scenario> {
    let path = Path::new(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the scenario file {}", path.display()))?;
        return Ok(Scenario::from_toml_str(&text, arg)?);
    }
    if BUILTINS.iter().any(|(name, _)| *name == arg) {
        return Ok(Scenario::builtin(arg)?);
    }
    if arg.ends_with(".toml") || arg.contains('/') {
        bail!("{arg}: no such scenario file");
    }
    bail!(
        "`{arg}` is neither a scenario file nor a built-in scenario; built-ins are: {}",
        builtin_names().join(", ")
    )
}

/// The text of a scenario argument: the file's contents or the embedded built-in text.
pub fn text(arg: &str) -> Result<String> {
    let path = Path::new(arg);
    if path.is_file() {
        return std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the scenario file {}", path.display()));
    }
    match BUILTINS.iter().find(|(name, _)| *name == arg) {
        Some((_, text)) => Ok((*text).to_string()),
        None => load(arg).map(|_| String::new()),
    }
}

/// Names of the built-in scenarios.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(name, _)| *name).collect()
}
