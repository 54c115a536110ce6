//! Scores detector configurations (JSON, one per argument) on a NAB-layout folder and prints
//! the three normalised profile scores, one line per configuration: the quick loop for trying
//! configurations by hand.
//!
//! `cargo run --release -p mend-monitor --example nab_configs -- DATA_DIR '{"detector":"ewma"}'`
//! An argument `lofo:[CONFIG,...]` prints the leave-one-file-out score of that candidate list
//! (setting and threshold chosen on the other files for each file). An argument `results:DIR:NAME` scores result files in NAB's layout instead
//! (`DIR/<category>/NAME_<file>.csv`, column `anomaly_score`).

use std::path::PathBuf;

use mend_monitor::detectors::DetectorConfig;
use mend_monitor::nab::{
    NabRunOptions, PROBATIONARY_PERCENT, Profile, leave_one_file_out, leave_one_file_out_scores,
    load_corpus, load_detector_scores, run_nab_with, score_reference,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(
        args.next()
            .ok_or("usage: nab_configs DATA_DIR CONFIG_JSON...")?,
    );
    let windows = data.join("combined_windows.json");
    for text in args {
        if let Some(list) = text.strip_prefix("lofo:") {
            let candidates: Vec<DetectorConfig> = serde_json::from_str(list)?;
            let corpus = load_corpus(&data, &windows)?;
            let cv = leave_one_file_out(
                &corpus,
                &candidates,
                &Profile::nab_defaults(),
                PROBATIONARY_PERCENT,
            )?;
            let scores: Vec<String> = cv
                .iter()
                .map(|p| format!("{} {:.2}", p.profile, p.normalized_score))
                .collect();
            println!("leave-one-file-out: {}  {list}", scores.join(", "));
            if std::env::var_os("NAB_FILES").is_some() {
                let standard = cv.iter().find(|p| p.profile == "standard");
                for f in standard.iter().flat_map(|p| &p.files) {
                    println!(
                        "    {:>7.3} candidate {} threshold {:.4}  {}",
                        f.score, f.candidate, f.threshold, f.file
                    );
                }
            }
            continue;
        }
        if let Some(rest) = text.strip_prefix("results:") {
            let (dir, name) = rest.rsplit_once(':').ok_or("results:DIR:NAME")?;
            let corpus = load_corpus(&data, &windows)?;
            let published = load_detector_scores(&PathBuf::from(dir), name, &corpus)?;
            let cv = leave_one_file_out_scores(
                &corpus,
                &[published],
                &Profile::nab_defaults(),
                PROBATIONARY_PERCENT,
            );
            for p in &cv {
                println!(
                    "    leave-one-file-out {} {:.2}",
                    p.profile, p.normalized_score
                );
            }
            let report = score_reference(
                &data,
                &windows,
                &PathBuf::from(dir),
                name,
                &Profile::nab_defaults(),
            )?;
            let s = |p: &str| report.profile(p).map_or(f64::NAN, |x| x.normalized_score);
            println!(
                "{:>7.2} {:>7.2} {:>7.2}  {text}",
                s("standard"),
                s("reward_low_FP_rate"),
                s("reward_low_FN_rate")
            );
            print_files(&report);
            continue;
        }
        let config: DetectorConfig = serde_json::from_str(&text)?;
        let mut options = NabRunOptions::new(&data, &windows, config.name());
        options.config = Some(config);
        let report = run_nab_with(&options)?;
        let s = |p: &str| report.profile(p).map_or(f64::NAN, |x| x.normalized_score);
        println!(
            "{:>7.2} {:>7.2} {:>7.2}  {text}",
            s("standard"),
            s("reward_low_FP_rate"),
            s("reward_low_FN_rate")
        );
        print_files(&report);
    }
    Ok(())
}

/// With `NAB_FILES=1`, the standard profile's per-file scores and counts.
fn print_files(report: &mend_monitor::nab::NabReport) {
    if std::env::var_os("NAB_FILES").is_none() {
        return;
    }
    for r in report.file_rows().filter(|r| r.profile == "standard") {
        println!(
            "    {:>7.3} tp {:>3} fp {:>3} fn {:>3}  {}",
            r.score, r.tp, r.fp, r.fn_, r.file
        );
    }
}
