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
    merge_predictor(dirs, into)?;
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

/// Every shard trains the experiment's failure predictor identically (it depends on the
/// experiment alone); the merged folder gets that `predictor.json`, and shards that disagree are
/// refused (they ran different builds).
fn merge_predictor(dirs: &[PathBuf], into: &Path) -> Result<()> {
    let mut found: Option<(Vec<u8>, &Path)> = None;
    for dir in dirs {
        let path = dir.join(files::PREDICTOR);
        if !path.is_file() {
            continue;
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        match &found {
            Some((reference, first)) if *reference != bytes => bail!(
                "{}: differs from {}'s {}: shards of one sweep must train the same failure predictor \
                 (same build, experiment and seed)",
                path.display(),
                first.display(),
                files::PREDICTOR
            ),
            Some(_) => {}
            None => found = Some((bytes, dir)),
        }
    }
    if let Some((bytes, _)) = found {
        write_atomic(&into.join(files::PREDICTOR), &bytes)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shards_predictor_is_kept_once_and_disagreeing_shards_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let shard = |name: &str, predictor: Option<&str>| {
            let dir = tmp.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            if let Some(text) = predictor {
                std::fs::write(dir.join(files::PREDICTOR), text).unwrap();
            }
            dir
        };
        let (a, b, c) = (
            shard("a", Some("{1}")),
            shard("b", None),
            shard("c", Some("{1}")),
        );
        let into = shard("merged", None);
        merge_predictor(&[a.clone(), b.clone(), c], &into).unwrap();
        assert_eq!(
            std::fs::read_to_string(into.join(files::PREDICTOR)).unwrap(),
            "{1}"
        );
        // No shard trained one: none is written.
        let empty = shard("empty", None);
        merge_predictor(std::slice::from_ref(&b), &empty).unwrap();
        assert!(!empty.join(files::PREDICTOR).exists());
        // Shards from different builds disagree: refused, naming both files.
        let d = shard("d", Some("{2}"));
        let e = merge_predictor(&[a, d], &into).unwrap_err().to_string();
        assert!(
            e.contains("predictor.json") && e.contains("d/") && e.contains("a"),
            "{e}"
        );
    }
}
