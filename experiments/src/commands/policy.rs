//! `mend policy inspect FILE`: print a policy file's manifest (format version, algorithm, feature
//! schema, action kinds, training scenario family, code version) as JSON, without loading weights.

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
    },
}

/// Runs the command.
pub fn run(command: &PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Inspect { file } => {
            let manifest = PolicyFile::inspect(file)
                .with_context(|| format!("{}: cannot read the policy manifest", file.display()))?;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
