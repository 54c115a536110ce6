//! `shift_simtuned` / `shift_cad_simtuned` (session 8): settings chosen on the synthetic tuning
//! corpus (seed 0, 120 files; `mend detect sim --study nab-tune`), frozen, then scored once on NAB
//! realAWSCloudwatch: three profiles and the leave-one-file-out (LOFO) standard score, beside
//! Numenta HTM's reference scores and the a-priori detectors. Run with `--nocapture` for the
//! table; the figures are reported whatever they show, so the scoring test asserts the wiring,
//! not a ranking. Also: the registered settings equal the recorded choice, and the detectors
//! detect a step and stay quiet on noise.

mod common;
use common::*;

use mend_monitor::detectors::{
    CadOseConfig, DetectorConfig, FusionConfig, SIMTUNED_CORPUS_FILES, SIMTUNED_CORPUS_SEED,
    ShiftConfig, by_name, shift_cad_simtuned_config, shift_simtuned_config,
};
use mend_monitor::nab::{
    SyntheticCorpusConfig, TuningConfig, detector_scores, load_corpus, load_detector_scores,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

#[test]
fn registered_settings_equal_the_recorded_choice() {
    // The values `mend detect sim --study nab-tune --seed 0` chose (session 8), as recorded.
    let recorded = ShiftConfig {
        warmup: 388,
        short: 2,
        long: 72,
        quantile: 0.02,
        spread_floor: 0.1,
        range_scale: 0.05,
        shift_scale: 1.0,
        dispersion_weight: 1.0,
        alert_score: 0.5,
        rest_samples: 60,
    };
    assert_eq!(shift_simtuned_config(), recorded);
    assert_eq!(
        DetectorConfig::default_for("shift_simtuned").unwrap(),
        DetectorConfig::Shift(recorded)
    );
    let fused = FusionConfig {
        members: vec![
            DetectorConfig::Shift(recorded),
            DetectorConfig::CadOse(CadOseConfig::default()),
        ],
        alert_scores: vec![0.5, 0.75],
        rest_samples: 0,
    };
    assert_eq!(shift_cad_simtuned_config(), fused);
    assert_eq!(
        DetectorConfig::default_for("shift_cad_simtuned").unwrap(),
        DetectorConfig::Fusion(fused)
    );
    // The corpus they were chosen on is the command's default one.
    assert_eq!(SIMTUNED_CORPUS_SEED, 0);
    assert_eq!(
        SIMTUNED_CORPUS_FILES,
        SyntheticCorpusConfig::default().files
    );
    // Every choice is inside the default search grid.
    let grid = TuningConfig::default();
    let c = recorded;
    assert!(grid.shift.short.contains(&c.short) && grid.shift.long.contains(&c.long));
    assert!(grid.shift.quantile.contains(&c.quantile));
    assert!(grid.shift.rest_samples.contains(&c.rest_samples));
    assert!(grid.fusion.cad_alert_score.contains(&0.75));
    assert!(grid.fusion.rest_samples.contains(&0));
}

/// Gaussian noise, level 50, sd 2, 5-minute steps.
fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(50.0, 2.0).unwrap();
    (0..n).map(|_| normal.sample(&mut rng)).collect()
}

fn alerts(name: &str, series: &[f64]) -> Vec<bool> {
    let mut d = by_name(name, None).unwrap();
    series
        .iter()
        .enumerate()
        .map(|(i, &v)| d.update(i as f64 * 300.0, v).alert)
        .collect()
}

#[test]
fn simtuned_detectors_detect_a_step_soon_after_onset() {
    const ONSET: usize = 1_500;
    for name in ["shift_simtuned", "shift_cad_simtuned"] {
        let mut s = noise(3, 2_000);
        s[ONSET..].iter_mut().for_each(|v| *v += 20.0);
        let a = alerts(name, &s);
        let delay = a[ONSET..].iter().position(|&x| x);
        assert!(delay.is_some_and(|d| d <= 3), "{name}: delay {delay:?}");
    }
}

#[test]
fn simtuned_detectors_stay_quiet_on_noise() {
    // Gaussian noise only: at most a few alerts in 20,000 samples (70 days at 5 minutes).
    for name in ["shift_simtuned", "shift_cad_simtuned"] {
        let a = alerts(name, &noise(9, 20_000));
        let n = a.iter().filter(|&&x| x).count();
        assert!(n <= 10, "{name}: {n} alerts on pure noise");
    }
}

#[test]
fn simtuned_detectors_are_scored_once_beside_htm() {
    let dir = nab_dir();
    let corpus = load_corpus(&dir, &dir.join("combined_windows.json")).unwrap();
    let htm = load_detector_scores(&dir.join("reference/numenta"), "numenta", &corpus).unwrap();
    let names = [
        "shift_apriori",
        "shift_cad_apriori",
        "shift_simtuned",
        "shift_cad_simtuned",
    ];
    let runs: Vec<Scores> = names
        .iter()
        .map(|n| detector_scores(&corpus, n, None).unwrap())
        .collect();
    let rows: Vec<(&str, &Scores)> = std::iter::once(("Numenta HTM (reference scores)", &htm))
        .chain(names.iter().copied().zip(&runs))
        .collect();
    print_and_check_scores(&corpus, &rows);
    assert_scores_fit_the_files(&corpus, &runs[3]);
}
