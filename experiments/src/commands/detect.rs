//! `mend detect nab`: run streaming detectors over a NAB-layout folder, score them with NAB's rules
//! (three profiles, corpus-wide thresholds, normalised scores), print a table and write per-file
//! results.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use mend_monitor::detectors::DETECTOR_NAMES;
use mend_monitor::nab::{NabReport, Profile, run_nab, score_reference, write_file_results_csv};

use crate::cli::{DetectCommand, NabArgs};
use crate::output::write_atomic;
use crate::progress;

/// Runs the command.
pub fn run(command: &DetectCommand) -> Result<ExitCode> {
    match command {
        DetectCommand::Nab(args) => nab(args),
    }
}

fn nab(args: &NabArgs) -> Result<ExitCode> {
    let windows = args
        .labels
        .clone()
        .unwrap_or_else(|| args.data.join("combined_windows.json"));
    let detectors: Vec<String> = if args.detectors.is_empty() {
        DETECTOR_NAMES.iter().map(|s| s.to_string()).collect()
    } else {
        args.detectors.clone()
    };
    let mut reports = Vec::new();
    if let Some(reference) = &args.reference {
        let report = score_reference(
            &args.data,
            &windows,
            reference,
            &args.reference_name,
            &Profile::nab_defaults(),
        )
        .with_context(|| {
            format!(
                "cannot score the reference results in {}",
                reference.display()
            )
        })?;
        reports.push(report);
    }
    let bar = progress::bar(detectors.len() as u64, "detectors", "", args.quiet);
    for name in &detectors {
        bar.set_message(name.clone());
        reports.push(run_nab(&args.data, &windows, name)?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the folder {}", args.out.display()))?;
    for report in &reports {
        let path: PathBuf = args.out.join(format!("{}_scores.csv", report.detector));
        write_file_results_csv(report, &path)?;
    }
    let summary: Vec<_> = reports.iter().map(profile_scores).collect();
    write_atomic(
        &args.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;

    println!(
        "NAB normalised scores (100 = perfect, 0 = null detector) on {}",
        args.data.display()
    );
    println!(
        "{:<18} {:>10} {:>14} {:>14}",
        "detector", "standard", "reward_low_FP", "reward_low_FN"
    );
    for report in &reports {
        let score = |p: &str| report.profile(p).map_or(f64::NAN, |s| s.normalized_score);
        println!(
            "{:<18} {:>10.2} {:>14.2} {:>14.2}",
            report.detector,
            score("standard"),
            score("reward_low_FP_rate"),
            score("reward_low_FN_rate")
        );
    }
    println!("per-file results: {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// The summary of one report: profile name -> (threshold, normalised score).
fn profile_scores(report: &NabReport) -> serde_json::Value {
    let profiles: serde_json::Map<String, serde_json::Value> = report
        .profiles
        .iter()
        .map(|p| {
            (
                p.profile.clone(),
                serde_json::json!({ "threshold": p.threshold, "normalized_score": p.normalized_score, "raw_score": p.raw_score }),
            )
        })
        .collect();
    serde_json::json!({ "detector": report.detector, "profiles": profiles })
}
