//! The synthetic NAB tuning corpus (`nab::generate_synthetic`) and the tuning search
//! (`nab::tune_shift_cad`): deterministic for a seed, written in NAB's layout (our loader reads
//! it back, every window inside its file, sized and centred as NAB's labeller does), the offline
//! fusion equal to the fusion detector, and the search keeping the best candidate it scored.

use std::path::PathBuf;

use mend_monitor::detectors::{
    CadOseConfig, Detector, DetectorConfig, Fusion, FusionConfig, ShiftConfig,
};
use mend_monitor::nab::{
    FusionGrid, NAB_WINDOW_SHARE, PROBATIONARY_PERCENT, Profile, ShiftGrid, SyntheticCorpusConfig,
    TuningConfig, detector_scores_for, fuse_scores, generate_synthetic, load_corpus, nab_windows,
    normalized_score, to_corpus, tune_shift_cad, write_corpus,
};

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mend-nab-synthetic-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn standard() -> Profile {
    Profile::nab_defaults()
        .into_iter()
        .find(|p| p.name == "standard")
        .unwrap()
}

fn small(seed: u64) -> SyntheticCorpusConfig {
    SyntheticCorpusConfig {
        seed,
        files: 6,
        ..Default::default()
    }
}

#[test]
fn the_corpus_is_a_function_of_its_seed() {
    let a = generate_synthetic(&small(7));
    let b = generate_synthetic(&small(7));
    assert_eq!(a, b);
    let c = generate_synthetic(&small(8));
    assert_ne!(a[0].values, c[0].values, "another seed, another corpus");
    // File i does not depend on how many files are generated.
    let more = generate_synthetic(&SyntheticCorpusConfig {
        files: 9,
        ..small(7)
    });
    assert_eq!(a[..], more[..6]);
    // Written twice, byte-identical.
    let (d1, d2) = (scratch("det1"), scratch("det2"));
    write_corpus(&a, &d1).unwrap();
    write_corpus(&b, &d2).unwrap();
    for f in ["combined_windows.json", "combined_labels.json", &a[3].name] {
        assert_eq!(
            std::fs::read(d1.join(f)).unwrap(),
            std::fs::read(d2.join(f)).unwrap(),
            "{f}"
        );
    }
    let _ = std::fs::remove_dir_all(&d1);
    let _ = std::fs::remove_dir_all(&d2);
}

#[test]
fn the_corpus_is_written_in_nab_layout_and_reads_back() {
    let config = small(3);
    let files = generate_synthetic(&config);
    let dir = scratch("layout");
    let windows = write_corpus(&files, &dir).unwrap();
    let corpus = load_corpus(&dir, &windows).unwrap();
    assert_eq!(corpus.files.len(), files.len());
    assert!(corpus.skipped.is_empty());
    assert_eq!(corpus, {
        let mut c = to_corpus(&files, &dir);
        c.windows_path = windows.clone();
        c
    });
    let probation = (PROBATIONARY_PERCENT * config.rows as f64).floor() as usize;
    for (loaded, made) in corpus.files.iter().zip(&files) {
        let s = &loaded.series;
        assert_eq!(s.values.len(), config.rows);
        // Five-minute steps.
        assert!(
            s.timestamps
                .windows(2)
                .all(|w| w[1].0 - w[0].0 == 300_000_000)
        );
        assert!(!made.labels.is_empty() && made.labels.len() <= 3);
        let width = (NAB_WINDOW_SHARE * config.rows as f64 / made.labels.len() as f64) as usize;
        for (w, &label) in loaded.windows.iter().zip(&made.labels) {
            assert!(w.end < config.rows && w.start <= label && label <= w.end);
            // Centred on the label, NAB's width, wholly after the probation.
            assert_eq!(label - w.start, w.end - label);
            assert_eq!(w.width(), width / 2 * 2 + 1);
            assert!(w.start >= probation, "{w:?} inside the probation");
        }
        assert!(loaded.windows.windows(2).all(|p| p[0].end < p[1].start));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nab_windows_share_ten_percent_among_the_labels() {
    let w = nab_windows(1000, &[300, 700]);
    assert_eq!(w.len(), 2);
    assert_eq!((w[0].start, w[0].end), (275, 325));
    assert_eq!((w[1].start, w[1].end), (675, 725));
    // Clipped at the file's ends.
    let w = nab_windows(1000, &[10]);
    assert_eq!((w[0].start, w[0].end), (0, 60));
    assert!(nab_windows(1000, &[]).is_empty());
}

#[test]
fn offline_fusion_equals_the_fusion_detector() {
    let files = generate_synthetic(&SyntheticCorpusConfig {
        rows: 900,
        files: 2,
        seed: 5,
        ..Default::default()
    });
    let shift = ShiftConfig {
        warmup: 50,
        long: 200,
        ..ShiftConfig::a_priori()
    };
    let config = FusionConfig {
        members: vec![
            DetectorConfig::Shift(shift),
            DetectorConfig::CadOse(CadOseConfig::default()),
        ],
        alert_scores: vec![0.5, 0.9],
        rest_samples: 30,
    };
    for f in &files {
        let feed = |c: &DetectorConfig| -> Vec<f64> {
            let mut d = c.build().unwrap();
            f.timestamps
                .iter()
                .zip(&f.values)
                .map(|(t, &v)| d.update(t.as_seconds(), v).score)
                .collect()
        };
        let s = feed(&DetectorConfig::Shift(shift));
        let c = feed(&DetectorConfig::CadOse(CadOseConfig::default()));
        let mut fusion = Fusion::from_config(&config).unwrap();
        let direct: Vec<f64> = f
            .timestamps
            .iter()
            .zip(&f.values)
            .map(|(t, &v)| fusion.update(t.as_seconds(), v).score)
            .collect();
        let offline = fuse_scores(&[&s, &c], &config.alert_scores, config.rest_samples);
        assert_eq!(direct, offline);
        assert!(
            direct.iter().any(|&x| x >= 0.5),
            "the fusion alerts at least once"
        );
    }
}

#[test]
fn the_search_keeps_the_best_candidate_it_scored() {
    let files = generate_synthetic(&SyntheticCorpusConfig {
        rows: 1200,
        files: 4,
        seed: 11,
        ..Default::default()
    });
    let corpus = to_corpus(&files, std::path::Path::new("synthetic"));
    let config = TuningConfig {
        shift: ShiftGrid {
            warmup: vec![100],
            short: vec![4, 10],
            long: vec![288],
            quantile: vec![0.01],
            spread_floor: vec![0.05],
            range_scale: vec![0.05, 0.2],
            shift_scale: vec![1.0],
            dispersion_weight: vec![0.0, 1.0],
            alert_score: vec![0.5],
            rest_samples: vec![120],
        },
        fusion: FusionGrid {
            cad_alert_score: vec![0.95],
            rest_samples: vec![120],
        },
        passes: 2,
    };
    let profile = standard();
    let mut seen = 0;
    let report = tune_shift_cad(&corpus, &config, &profile, PROBATIONARY_PERCENT, |_| {
        seen += 1
    })
    .unwrap();
    assert_eq!(seen, report.steps.len());
    let best_shift = report
        .steps
        .iter()
        .filter(|s| matches!(s.config, DetectorConfig::Shift(_)))
        .map(|s| s.score)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(report.shift_score, best_shift);
    // The chosen shift re-scores to its recorded score.
    let again = detector_scores_for(&corpus, &DetectorConfig::Shift(report.shift)).unwrap();
    assert_eq!(
        normalized_score(&corpus, &again, &profile, PROBATIONARY_PERCENT),
        report.shift_score
    );
    assert_eq!(
        report.best_score(),
        report.shift_score.max(report.fusion_score)
    );
    // Same inputs, same report.
    let twice = tune_shift_cad(&corpus, &config, &profile, PROBATIONARY_PERCENT, |_| {}).unwrap();
    assert_eq!(report, twice);
}
