//! `mend merge DIR...`: join the job rows, training curves and policies of sweep shards into one run
//! folder (the first DIR, or `--into`), check that every shard ran the same resolved experiment, and
//! write the results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::output::write_atomic;
use crate::runner::{self, files};

/// `mend merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Run folders of the shards (each `<out>/<experiment>/<run-id>`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder to merge into (default: the first DIR).
    #[arg(long)]
    pub into: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &MergeArgs) -> Result<ExitCode> {
    let into = args.into.clone().unwrap_or_else(|| args.dirs[0].clone());
    merge(&args.dirs, &into)?;
    eprintln!("results: {}", into.display());
    Ok(ExitCode::SUCCESS)
}

/// Copies every shard's job rows into `into` and writes the results there.
pub fn merge(dirs: &[PathBuf], into: &Path) -> Result<()> {
    let config = |dir: &Path| -> Result<Vec<u8>> {
        let path = dir.join(files::CONFIG);
        std::fs::read(&path)
            .with_context(|| format!("{}: not a run folder (no {})", dir.display(), files::CONFIG))
    };
    let reference = config(&dirs[0])?;
    for dir in dirs {
        if config(dir)? != reference {
            bail!(
                "{}: its {} differs from {}'s: shards of one sweep must run the same experiment and seed",
                dir.display(),
                files::CONFIG,
                dirs[0].display()
            );
        }
    }
    write_atomic(&into.join(files::CONFIG), &reference)?;
    for dir in dirs {
        if dir == into {
            continue;
        }
        for sub in [files::JOBS_DIR, files::TRAIN_DIR, files::POLICIES_DIR] {
            let from = dir.join(sub);
            if from.is_dir() {
                copy_tree(&from, &into.join(sub))?;
            }
        }
    }
    runner::finish(into)
}

/// Copies the files under `from` to the same relative paths under `to` (atomically each).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .with_context(|| format!("cannot list {}", from.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", from.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else if !entry.file_name().to_string_lossy().starts_with('.') {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            write_atomic(&target, &bytes)?;
        }
    }
    Ok(())
}
