//! `mend policy inspect FILE`: print a policy file's manifest (format version, algorithm, feature
//! schema, action kinds, training scenario family, code version) as JSON, without loading weights.
//! Long runs of numbers (a recorded failure predictor's ~1,000 parameters) are summarised unless
//! `--full` asks for every one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use mend_agents::PolicyFile;

/// `mend policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the manifest of a policy file as JSON.
    Inspect {
        /// The policy file (safetensors with a `mend.manifest` metadata entry).
        file: PathBuf,
        /// Print every number (by default a list of more than 64 numbers, such as a recorded
        /// predictor's parameters, is summarised by its count, range and mean absolute value).
        #[arg(long)]
        full: bool,
    },
}

/// Lists of more numbers than this are summarised by [`summarise_long_number_lists`].
const LONGEST_PRINTED_LIST: usize = 64;

/// Replaces every list of more than [`LONGEST_PRINTED_LIST`] numbers by a one-line summary.
fn summarise_long_number_lists(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Array(items)
            if items.len() > LONGEST_PRINTED_LIST && items.iter().all(Value::is_number) =>
        {
            let xs: Vec<f64> = items.iter().filter_map(Value::as_f64).collect();
            let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean_abs = xs.iter().map(|x| x.abs()).sum::<f64>() / xs.len() as f64;
            *value = Value::String(format!(
                "{} numbers in [{min:.4}, {max:.4}], mean |x| {mean_abs:.4} (--full prints them)",
                xs.len()
            ));
        }
        Value::Array(items) => items.iter_mut().for_each(summarise_long_number_lists),
        Value::Object(map) => map.values_mut().for_each(summarise_long_number_lists),
        _ => {}
    }
}

/// Runs the command.
pub fn run(command: &PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Inspect { file, full } => {
            let mut json = PolicyFile::inspect_json(file)
                .with_context(|| format!("{}: cannot read the policy manifest", file.display()))?;
            if !full {
                summarise_long_number_lists(&mut json);
            }
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_number_lists_are_summarised_and_short_ones_kept() {
        let long: Vec<f64> = (0..100).map(|i| f64::from(i) - 50.0).collect();
        let mut json = serde_json::json!({
            "short": [1.0, 2.0],
            "names": vec!["a"; 100],
            "nested": { "params": long },
        });
        summarise_long_number_lists(&mut json);
        assert_eq!(json["short"], serde_json::json!([1.0, 2.0]));
        assert_eq!(json["names"].as_array().map(Vec::len), Some(100));
        assert_eq!(
            json["nested"]["params"],
            "100 numbers in [-50.0000, 49.0000], mean |x| 25.0000 (--full prints them)"
        );
    }
}
