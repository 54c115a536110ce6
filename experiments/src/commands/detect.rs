//! `mend detect nab`: run streaming detectors over a NAB-layout folder, score them with NAB's rules
//! (three profiles, corpus-wide thresholds, normalised scores) and with a leave-one-file-out
//! estimate (each file scored at a threshold chosen on the other files), print a table and write
//! per-file results.
//!
//! `mend detect sim` ([`sim`], [`SimArgs`]): studies on simulated runs, trained or tuned on
//! training seeds and measured on held-out seeds. `--study detectors` (default): adaptive
//! detectors tuned against the static rules; `--study predict`: the failure predictor before and
//! after precursor features; `--study federated`: centralised vs federated vs local-only
//! predictor training with one client per provider (`--split`), plus poisoned clients;
//! `--study tune`: the framework's adaptive detector (`--family`) tuned within a false-alert
//! budget (`--budget-ratio` x the static rules' rate) on the training scenario and seeds, then
//! measured against the static rules on held-out scenarios (`--eval-scenario`); `--direction up`
//! tunes and measures detectors that score only rises (`dir=up` specs); `--replica-cpu-gate 0.8`
//! lets replica CPU alert only near saturation.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::detection::{
    BudgetStudy, Candidate, ClientSplit, FederatedStudyConfig, PredictionConfig, TunedFamily,
    budget_grid, budget_study, default_grid, federated_study, precursor_markdown, precursor_study,
    tuned_detection_study,
};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use mend_monitor::detectors::{DETECTOR_NAMES, DetectorConfig, Direction, MetricDirections};
use mend_monitor::nab::{
    NabCorpus, NabReport, NestedGrid, NestedReport, PROBATIONARY_PERCENT, Profile,
    SyntheticCorpusConfig, TuningConfig, generate_synthetic, leave_one_file_out_scores,
    load_corpus, load_detector_scores, named_detector_scores, nested_leave_one_file_out,
    score_detector, tune_shift_cad, write_corpus, write_file_results_csv,
};

use crate::cli::{DetectCommand, NabArgs};
use crate::output::write_atomic;
use crate::progress;

/// Runs the command.
pub fn run(command: &DetectCommand) -> Result<ExitCode> {
    match command {
        DetectCommand::Nab(args) => nab(args),
        DetectCommand::Sim(args) => sim(args),
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
    let corpus = load_corpus(&args.data, &windows)?;
    let profiles = Profile::nab_defaults();
    let standard = [Profile::standard()];
    let mut reports = Vec::new();
    let mut lofo = Vec::new();
    // NAB's three scores and the leave-one-file-out estimate of one detector's per-file scores.
    let mut score = |name: &str, scores: Vec<Vec<f64>>| {
        reports.push(score_detector(
            &corpus,
            name,
            &scores,
            &profiles,
            PROBATIONARY_PERCENT,
        ));
        let cv = leave_one_file_out_scores(&corpus, &[scores], &standard, PROBATIONARY_PERCENT);
        lofo.push(cv.first().map_or(f64::NAN, |c| c.normalized_score));
    };
    if let Some(reference) = &args.reference {
        let scores =
            load_detector_scores(reference, &args.reference_name, &corpus).with_context(|| {
                format!(
                    "cannot score the reference results in {}",
                    reference.display()
                )
            })?;
        score(&args.reference_name, scores);
    }
    let bar = progress::bar(detectors.len() as u64, "detectors", "", args.quiet);
    for name in &detectors {
        bar.set_message(name.clone());
        score(name, named_detector_scores(&corpus, name)?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the folder {}", args.out.display()))?;
    for report in &reports {
        let path: PathBuf = args.out.join(format!("{}_scores.csv", report.detector));
        write_file_results_csv(report, &path)?;
    }
    let summary: Vec<_> = reports
        .iter()
        .zip(&lofo)
        .map(|(r, &cv)| {
            let mut v = profile_scores(r);
            v["standard_leave_one_file_out"] = serde_json::json!(cv);
            v
        })
        .collect();
    write_atomic(
        &args.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    let nested = if args.nested {
        Some(nested_lofo(&corpus, args)?)
    } else {
        None
    };

    println!(
        "NAB normalised scores (100 = perfect, 0 = null detector) on {}",
        args.data.display()
    );
    println!(
        "{:<18} {:>10} {:>14} {:>14} {:>16}",
        "detector", "standard", "reward_low_FP", "reward_low_FN", "standard (LOFO)"
    );
    for (report, cv) in reports.iter().zip(&lofo) {
        let score = |p: &str| report.profile(p).map_or(f64::NAN, |s| s.normalized_score);
        println!(
            "{:<18} {:>10.2} {:>14.2} {:>14.2} {:>16.2}",
            report.detector,
            score("standard"),
            score("reward_low_FP_rate"),
            score("reward_low_FN_rate"),
            cv
        );
    }
    println!(
        "LOFO: leave-one-file-out, each file scored at the threshold optimised on the other files"
    );
    if let Some(report) = &nested {
        for p in &report.profiles {
            println!(
                "nested LOFO of the shift + CAD OSE selection ({} candidates), {}: {:.2}; chosen on \
                 all files: candidate {} at {:.2} (a development-set score)",
                report.candidates,
                p.profile,
                p.normalized_score,
                p.full_corpus.candidate,
                p.full_corpus.normalized_score
            );
        }
    }
    println!("per-file results: {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// `--nested`: the nested leave-one-file-out of the shift + CAD OSE selection procedure (every
/// setting of [`NestedGrid::default`] and the threshold chosen on the other files, for each file),
/// written to `nested_lofo.json`.
fn nested_lofo(corpus: &NabCorpus, args: &NabArgs) -> Result<NestedReport> {
    let grid = NestedGrid::default();
    let bar = progress::bar(grid.len() as u64, "nested LOFO", "candidates", args.quiet);
    let report = nested_leave_one_file_out(
        corpus,
        &grid,
        &Profile::nab_defaults(),
        PROBATIONARY_PERCENT,
        |done, _| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    write_atomic(
        &args.out.join("nested_lofo.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(report)
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

/// `mend detect sim`: the arguments.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Scenario: a built-in name or a TOML file.
    #[arg(long, default_value = "default")]
    pub scenario: String,
    /// Training seeds used for tuning: SEED+1 ..= SEED+N.
    #[arg(long, default_value_t = 10)]
    pub train: u64,
    /// Held-out seeds the table is measured on: SEED+1001 ..= SEED+1000+N.
    #[arg(long, default_value_t = 20)]
    pub test: u64,
    /// Base of the seed ranges.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder for `summary.json` and `summary.md`.
    #[arg(long, default_value = "results/detect-sim")]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Which study to run.
    #[arg(long, value_enum, default_value_t = SimStudy::Detectors)]
    pub study: SimStudy,
    /// Files in the synthetic NAB tuning corpus (`nab-tune`).
    #[arg(long, default_value_t = SyntheticCorpusConfig::default().files)]
    pub nab_files: usize,
    /// Predictor training epochs (`predict`; centralised and local-only training in `federated`).
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
    /// Communication rounds (`federated`; one local epoch each).
    #[arg(long, default_value_t = 8)]
    pub rounds: usize,
    /// Scrapes of the precursor trends (`predict`'s after variant and `federated`'s inputs).
    #[arg(long, default_value_t = 40)]
    pub trend_window: usize,
    /// Clients of the federated study: one per provider, per region, or 5 provider-sorted groups.
    #[arg(long, value_enum, default_value_t = SplitArg::Provider)]
    pub split: SplitArg,
    /// Families searched by `--study tune` (repeat; default: median_mad and ewma).
    #[arg(long = "family", value_enum)]
    pub families: Vec<FamilyArg>,
    /// `--study tune`'s false-alert budget, as a multiple of the static rules' false alerts per
    /// day on the training runs (1: no more than the static rules).
    #[arg(long, default_value_t = 1.0)]
    pub budget_ratio: f64,
    /// Held-out scenarios `--study tune` measures its choices on (repeat; default: the paper
    /// study's three, scenarios/eval/eval-{mid-network,regional,large-zones}.toml; `none`: skip).
    #[arg(long = "eval-scenario")]
    pub eval_scenarios: Vec<String>,
    /// `--study tune`: the changes the tuned detectors score: both (default), only rises (`up`,
    /// for "higher is worse" metrics such as error ratio and latency), only falls, or per metric
    /// (`auto`: rises on error ratio and latency, both ways on utilisations).
    #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
    pub direction: DirectionArg,
    /// `--study tune`: gate every setting's replica CPU rule at this utilisation (it alerts only
    /// at or above it; `Candidate::with_replica_cpu_gate`); a priori 0.8
    /// (`mend_monitor::detectors::SATURATION_LEVEL`). Default: no gate.
    #[arg(long)]
    pub replica_cpu_gate: Option<f64>,
    /// `--study tune`: measure these parametrised specs (repeat; e.g.
    /// `"ewma(z=4, for_s=120, dir=auto)"`) instead of searching the grid; `--family` and
    /// `--direction` are then ignored (the spec says both), one setting per family is kept.
    #[arg(long = "spec")]
    pub specs: Vec<String>,
}

/// `--direction` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Rises and falls.
    Both,
    /// Rises only.
    Up,
    /// Falls only.
    Down,
    /// Per metric (`dir=auto`, `mend_monitor::detectors::metric_direction`).
    Auto,
}

impl DirectionArg {
    fn directions(self) -> MetricDirections {
        match self {
            DirectionArg::Both => MetricDirections::Uniform(Direction::Both),
            DirectionArg::Up => MetricDirections::Uniform(Direction::Up),
            DirectionArg::Down => MetricDirections::Uniform(Direction::Down),
            DirectionArg::Auto => MetricDirections::Auto,
        }
    }
}

/// `--family` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// Exponentially weighted mean and variance.
    Ewma,
    /// Rolling median and MAD.
    #[value(name = "median_mad")]
    MedianMad,
    /// Holt-Winters residuals.
    #[value(name = "holt_winters")]
    HoltWinters,
}

/// Held-out scenarios of `--study tune` when none are named (the paper study's).
pub const DEFAULT_EVAL_SCENARIOS: [&str; 3] = [
    "scenarios/eval/eval-mid-network.toml",
    "scenarios/eval/eval-regional.toml",
    "scenarios/eval/eval-large-zones.toml",
];

/// The studies of `mend detect sim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimStudy {
    /// Tuned detectors vs the static rules (time to detect, false alerts per day).
    Detectors,
    /// The failure predictor before and after precursor features.
    Predict,
    /// Centralised vs federated vs local-only predictor training.
    Federated,
    /// The adaptive detector tuned within a false-alert budget, measured on held-out scenarios.
    Tune,
    /// NAB: `shift`/`shift_cad` settings chosen on a seeded synthetic corpus in NAB's layout
    /// (`--seed`, `--nab-files`), written to OUT/corpus; the choice beside the frozen
    /// `shift_cad_simtuned`.
    NabTune,
}

/// `--split` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// One client per provider.
    Provider,
    /// One client per region.
    Region,
    /// Five groups of provider-sorted services.
    Groups,
}

/// Runs the study asked for (see the module docs), prints its Markdown table and writes
/// `summary.json` and `summary.md` (each whole or not at all).
pub fn sim(args: &SimArgs) -> Result<ExitCode> {
    match args.study {
        SimStudy::Detectors => sim_detectors(args),
        SimStudy::Tune => sim_tune(args),
        SimStudy::NabTune => nab_tune(args),
        SimStudy::Predict | SimStudy::Federated => sim_prediction(args),
    }
}

fn write_summary(out: &std::path::Path, json: &serde_json::Value, markdown: &str) -> Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the folder {}", out.display()))?;
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(json)?.as_bytes(),
    )?;
    write_atomic(&out.join("summary.md"), markdown.as_bytes())?;
    println!("{markdown}");
    println!("results: {}", out.display());
    Ok(())
}

/// `--study predict` and `--study federated`.
fn sim_prediction(args: &SimArgs) -> Result<ExitCode> {
    use mend_monitor::predictor::TrainConfig;
    let scenario = crate::scenarios::load(&args.scenario)?;
    let train: Vec<u64> = (1..=args.train).map(|i| args.seed + i).collect();
    let test: Vec<u64> = (1..=args.test).map(|i| args.seed + 1000 + i).collect();
    let central = TrainConfig {
        epochs: args.epochs,
        seed: args.seed,
        ..Default::default()
    };
    let base = PredictionConfig::default();
    let after = PredictionConfig {
        trend_window: args.trend_window,
        ..base.with_precursors()
    };
    let bar = progress::bar(1, "simulating and training", "", args.quiet);
    let (json, markdown) = if args.study == SimStudy::Predict {
        let reports = precursor_study(&scenario, &train, &test, &base, &after, &central)?;
        let markdown = format!(
            "Failure predictor on `{}`: trained on {} seeds, held-out {} seeds\n\n{}",
            scenario.name(),
            train.len(),
            test.len(),
            precursor_markdown(&reports)
        );
        (serde_json::to_value(&reports)?, markdown)
    } else {
        let split = match args.split {
            SplitArg::Provider => ClientSplit::Provider,
            SplitArg::Region => ClientSplit::Region,
            SplitArg::Groups => ClientSplit::Groups,
        };
        let config = FederatedStudyConfig {
            rounds: args.rounds,
            central,
            split,
            prediction: after,
            ..Default::default()
        };
        let report = federated_study(&scenario, &train, &test, &config)?;
        let markdown = format!(
            "{}\n```text\n{}```\n",
            report.to_markdown(),
            report.bar_chart()
        );
        (serde_json::to_value(&report)?, markdown)
    };
    bar.finish_and_clear();
    write_summary(&args.out, &json, &markdown)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the tuned detection study (see [`crate::detection::tuned_detection_study`]), prints its
/// Markdown table and writes `summary.json` and `summary.md` (each whole or not at all).
fn sim_detectors(args: &SimArgs) -> Result<ExitCode> {
    let scenario = crate::scenarios::load(&args.scenario)?;
    let train: Vec<u64> = (1..=args.train).map(|i| args.seed + i).collect();
    let test: Vec<u64> = (1..=args.test).map(|i| args.seed + 1000 + i).collect();
    let bar = progress::bar(1, "tuning and held-out runs", "", args.quiet);
    let report = tuned_detection_study(&scenario, &default_grid(), &train, &test)?;
    bar.finish_and_clear();
    write_summary(
        &args.out,
        &serde_json::to_value(&report)?,
        &report.to_markdown(),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `--study tune`: [`crate::detection::budget_study`] on `--scenario` (training seeds SEED+1 ..=
/// SEED+N) and the held-out scenarios (seeds SEED+1001 ..= SEED+1000+M).
fn sim_tune(args: &SimArgs) -> Result<ExitCode> {
    let train_scenario = crate::scenarios::load(&args.scenario)?;
    let names: Vec<String> = if args.eval_scenarios.is_empty() {
        DEFAULT_EVAL_SCENARIOS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else if args.eval_scenarios == ["none"] {
        Vec::new()
    } else {
        args.eval_scenarios.clone()
    };
    let eval: Vec<_> = names
        .iter()
        .map(|n| crate::scenarios::load(n).with_context(|| format!("--eval-scenario {n:?}")))
        .collect::<Result<_>>()?;
    let families: Vec<TunedFamily> = if args.families.is_empty() {
        vec![TunedFamily::MedianMad, TunedFamily::Ewma]
    } else {
        let mut f = Vec::new();
        for a in &args.families {
            let family = match a {
                FamilyArg::Ewma => TunedFamily::Ewma,
                FamilyArg::MedianMad => TunedFamily::MedianMad,
                FamilyArg::HoltWinters => TunedFamily::HoltWinters,
            };
            if !f.contains(&family) {
                f.push(family);
            }
        }
        f
    };
    let grid = if args.specs.is_empty() {
        budget_grid(&families)
    } else {
        let mut grid = Vec::new();
        for text in &args.specs {
            let c = Candidate::from_spec(text)
                .with_context(|| format!("--spec {text:?}"))?
                .with_context(|| {
                    format!("--spec {text:?}: not a parametrised spec, e.g. ewma(z=4, for_s=120)")
                })?;
            grid.push(c);
        }
        grid
    };
    let study = BudgetStudy {
        train_scenario: &train_scenario,
        train_seeds: (1..=args.train).map(|i| args.seed + i).collect(),
        eval_scenarios: eval.iter().collect(),
        eval_seeds: (1..=args.test).map(|i| args.seed + 1000 + i).collect(),
        grid: grid
            .into_iter()
            .map(|c| {
                let c = if args.specs.is_empty() {
                    c.with_directions(args.direction.directions())
                } else {
                    c
                };
                match args.replica_cpu_gate {
                    Some(level) => c.with_replica_cpu_gate(level),
                    None => c,
                }
            })
            .collect(),
        budget_ratio: args.budget_ratio,
    };
    let bar = progress::bar(1, "tuning and held-out runs", "", args.quiet);
    let report = budget_study(&study)?;
    bar.finish_and_clear();
    write_summary(
        &args.out,
        &serde_json::to_value(&report)?,
        &report.to_markdown(),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `--study nab-tune`: generates the synthetic tuning corpus for `--seed` (written in NAB's layout
/// to OUT/corpus and read back through the NAB loader), chooses `shift`'s settings and its fusion
/// with CAD OSE by standard-profile NAB score on it ([`tune_shift_cad`]), and says whether the
/// choice equals the frozen `shift_cad_simtuned`. Nothing here reads NAB's own files.
fn nab_tune(args: &SimArgs) -> Result<ExitCode> {
    let corpus_config = SyntheticCorpusConfig {
        seed: args.seed,
        files: args.nab_files,
        ..Default::default()
    };
    let dir = args.out.join("corpus");
    let files = generate_synthetic(&corpus_config);
    let windows = write_corpus(&files, &dir)?;
    let corpus = load_corpus(&dir, &windows)?;
    let standard = Profile::standard();
    let tuning = TuningConfig::default();
    let bar = progress::bar(
        1,
        "choosing settings on the synthetic corpus",
        "",
        args.quiet,
    );
    let report = tune_shift_cad(&corpus, &tuning, &standard, PROBATIONARY_PERCENT, |step| {
        if !args.quiet {
            bar.println(format!("{:>8.3}  {}", step.score, step.stage));
        }
    })?;
    bar.finish_and_clear();
    let frozen = DetectorConfig::default_for("shift_cad_simtuned").ok();
    let matches = frozen.as_ref() == Some(&report.chosen());
    let markdown = format!(
        "NAB tuning corpus: seed {}, {} files, {} windows ({})\n\n\
         | detector | standard (tuning corpus) |\n|---|---|\n\
         | shift_apriori (start) | {:.2} |\n| shift, chosen ({} passes) | {:.2} |\n\
         | best fusion with cad_ose | {:.2} |\n| chosen ({}) | {:.2} |\n\n\
         chosen shift: {}\n\nchosen detector: {}\n\nequals the frozen `shift_cad_simtuned`: {}\n",
        corpus_config.seed,
        report.files,
        report.windows,
        dir.display(),
        report.start_score,
        report.passes_run,
        report.shift_score,
        report.fusion_score,
        if matches!(report.chosen(), DetectorConfig::Fusion(_)) {
            "fusion with cad_ose"
        } else {
            "shift alone"
        },
        report.best_score(),
        serde_json::to_string(&report.shift)?,
        serde_json::to_string(&report.chosen())?,
        if matches { "yes" } else { "NO" },
    );
    let json = serde_json::json!({
        "corpus": corpus_config,
        "tuning": tuning,
        "report": report,
        "equals_frozen": matches,
    });
    write_summary(&args.out, &json, &markdown)?;
    Ok(if matches {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}
