//! Nested leave-one-file-out of the `shift` + CAD OSE selection procedure on a NAB-layout folder
//! (the grid fixed in `nab/nested_grid.rs`), beside the Numenta HTM detector's plain
//! leave-one-file-out when its published results are there. Prints per profile the nested score,
//! each fold's choice, and the choice on all files (a development-set score when the grid was
//! built on those files); writes the whole report as JSON.
//!
//! `cargo run --release -p mend-monitor --example nab_nested -- DATA_DIR OUT.json [standard|all]`

use std::path::PathBuf;

use mend_monitor::nab::{
    NestedGrid, PROBATIONARY_PERCENT, Profile, leave_one_file_out_scores, load_corpus,
    load_detector_scores, nested_leave_one_file_out,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: nab_nested DATA_DIR OUT.json [standard|all]";
    let data = PathBuf::from(args.next().ok_or(usage)?);
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let profiles = match args.next().as_deref() {
        None | Some("standard") => vec![Profile::standard()],
        Some("all") => Profile::nab_defaults(),
        Some(other) => {
            return Err(format!("profiles: expected standard or all, got {other}").into());
        }
    };
    let corpus = load_corpus(&data, &data.join("combined_windows.json"))?;
    let grid = NestedGrid::default();
    let report = nested_leave_one_file_out(
        &corpus,
        &grid,
        &profiles,
        PROBATIONARY_PERCENT,
        |done, total| {
            if done % 64 == 0 || done == total {
                eprintln!("{done}/{total} candidates");
            }
        },
    )?;
    let htm_dir = data.join("reference/numenta");
    let htm = load_detector_scores(&htm_dir, "numenta", &corpus)
        .ok()
        .map(|s| leave_one_file_out_scores(&corpus, &[s], &profiles, PROBATIONARY_PERCENT));
    for (i, p) in report.profiles.iter().enumerate() {
        let htm_text = htm.as_ref().map_or(String::new(), |h| {
            format!(" (HTM LOFO {:.2})", h[i].normalized_score)
        });
        println!(
            "{}: nested LOFO {:.2}{htm_text}; on all files: candidate {} at threshold {:.6}, {:.2} \
             (development-set score)",
            p.profile,
            p.normalized_score,
            p.full_corpus.candidate,
            p.full_corpus.threshold,
            p.full_corpus.normalized_score
        );
        for f in &p.folds {
            println!(
                "    {:>8.3} candidate {:>4} threshold {:.6} train {:>8.3}  {}",
                f.score, f.candidate, f.threshold, f.train_score, f.file
            );
        }
    }
    for (c, config) in &report.chosen {
        println!("candidate {c}: {}", serde_json::to_string(config)?);
    }
    let tmp = out.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&report)?)?;
    std::fs::rename(&tmp, &out)?;
    Ok(())
}
