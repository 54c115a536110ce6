//! `mend report DIR`: rewrite a run folder's results (episodes.csv, summaries, plots) from its job
//! rows and print summary.md, e.g. after editing the summary code or copying rows in by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::runner::{self, files};

/// `mend report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run folder (`results/<experiment>/<run-id>`).
    pub dir: PathBuf,
}

/// Runs the command.
pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    runner::finish(&args.dir)?;
    let md = args.dir.join(files::SUMMARY_MD);
    print!(
        "{}",
        std::fs::read_to_string(&md).with_context(|| format!("cannot read {}", md.display()))?
    );
    Ok(ExitCode::SUCCESS)
}
