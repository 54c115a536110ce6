//! Streaming detectors and NAB scoring (issue 5's speed targets): samples per second per
//! detector on one core (target: EWMA at least 10 million/s; ns per sample = 1e9 / the reported
//! elements per second), the autoencoder also on a 5-metric entity vector, and the time to score the NAB
//! realAWSCloudwatch subset (17 files, 67,740 rows, three profiles with threshold optimisation);
//! failure-predictor inference per entity (window 8 x schema v1 row, 32 hidden units); one scrape
//! through the per-(entity, metric) alerting bank.
//!
//! Run: `cargo bench -p mend-benches --bench detectors` (about a minute); `-- detectors/ewma`
//! or `-- nab` or `-- predictor` or `-- alerting` or `-- nab_synthetic` runs one part
//! (`-- simtuned` the session-8 detectors tuned on the synthetic corpus). The NAB part reads `../shared/data/nab` beside the repository.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mend_monitor::alerting::{EntityDetectors, RuleSet};
use mend_monitor::detectors::{
    DETECTOR_NAMES, Detector, Ewma, EwmaConfig, SATURATION_LEVEL, SEQUENCE_DETECTOR_NAMES, by_name,
};
use mend_monitor::features::FeatureSchema;
use mend_monitor::nab::{
    PROBATIONARY_PERCENT, Profile, SyntheticCorpusConfig, generate_synthetic, load_corpus,
    load_detector_scores, run_nab, score_detector,
};
use mend_monitor::predictor::{PredictorModel, PredictorSpec};
use mend_monitor::telemetry::{EntityKind, Snapshot};

const SAMPLES: usize = 100_000;

/// A deterministic series with a slow oscillation, pseudo-noise and a few spikes.
fn series() -> Vec<f64> {
    (0..SAMPLES)
        .map(|i| {
            let noise = ((i as u64).wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0;
            let spike = if i % 5000 == 4999 { 20.0 } else { 0.0 };
            10.0 + (i as f64 * 0.01).sin() + noise + spike
        })
        .collect()
}

fn detectors(c: &mut Criterion) {
    let values = series();
    let mut group = c.benchmark_group("detectors");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(SAMPLES as u64));
    // Static dispatch on the concrete type: the cost of the algorithm itself.
    group.bench_function("ewma_concrete", |b| {
        b.iter(|| {
            let mut d = Ewma::from_config(EwmaConfig::default()).unwrap();
            let mut alerts = 0u32;
            for (i, &v) in values.iter().enumerate() {
                alerts += u32::from(d.update(i as f64 * 60.0, v).alert);
            }
            black_box(alerts)
        });
    });
    // The same with the saturation gate (session 7): one comparison more per sample. The
    // series' values (about 10) are above the level, so every sample takes the ungated path
    // plus the check.
    group.bench_function("ewma_gated_concrete", |b| {
        b.iter(|| {
            let mut d = Ewma::from_config(EwmaConfig {
                alert_level: Some(SATURATION_LEVEL),
                ..Default::default()
            })
            .unwrap();
            let mut alerts = 0u32;
            for (i, &v) in values.iter().enumerate() {
                alerts += u32::from(d.update(i as f64 * 60.0, v).alert);
            }
            black_box(alerts)
        });
    });
    // Through the registry's `Box<dyn Detector>`, as the CLI and the runner use them. CAD OSE's
    // cost per sample grows with its context memory up to its capacity (8,192 contexts, least
    // recently used half evicted when full): this is its mean over 100,000 samples, evictions
    // included.
    for name in DETECTOR_NAMES.into_iter().chain(SEQUENCE_DETECTOR_NAMES) {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut d = by_name(name, None).unwrap();
                let mut alerts = 0u32;
                for (i, &v) in values.iter().enumerate() {
                    alerts += u32::from(d.update(i as f64 * 60.0, v).alert);
                }
                black_box(alerts)
            });
        });
    }
    // The autoencoder natively multivariate: one entity's 5 metrics per sample (window 8 x 5
    // inputs), warm-up training and online steps included, as it runs on an entity live.
    group.bench_function("autoencoder_vector5", |b| {
        b.iter(|| {
            let mut d = by_name("autoencoder", None).unwrap();
            let mut alerts = 0u32;
            for (i, &v) in values.iter().enumerate() {
                let row = [v, 0.5 * v, 20.0 - v, (v * 0.1).sin(), v * v * 0.01];
                alerts += u32::from(
                    d.update_vector(i as f64 * 60.0, &row)
                        .is_ok_and(|x| x.alert),
                );
            }
            black_box(alerts)
        });
    });
    group.finish();
}

fn nab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab")
}

fn nab(c: &mut Criterion) {
    let dir = nab_dir();
    let windows = dir.join("combined_windows.json");
    let Ok(corpus) = load_corpus(&dir, &windows) else {
        eprintln!(
            "NAB data not found at {}: skipping the nab group",
            dir.display()
        );
        return;
    };
    let htm = load_detector_scores(&dir.join("reference/numenta"), "numenta", &corpus).unwrap();
    let profiles = Profile::nab_defaults();
    let mut group = c.benchmark_group("nab");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
    // Scoring only: optimise three thresholds, score 17 files, normalise (null detector too).
    group.bench_function("score_subset_htm", |b| {
        b.iter(|| {
            black_box(score_detector(
                &corpus,
                "numenta",
                &htm,
                &profiles,
                PROBATIONARY_PERCENT,
            ))
        });
    });
    // End to end: load CSVs and windows, run EWMA over every file, score.
    group.bench_function("run_subset_ewma", |b| {
        b.iter(|| black_box(run_nab(&dir, &windows, "ewma").unwrap()));
    });
    group.finish();
}

fn predictor(c: &mut Criterion) {
    let schema = FeatureSchema::builtin();
    let window = 8;
    let bounds = schema.row_bounds().repeat(window);
    let spec = PredictorSpec {
        input: bounds.len(),
        hidden: 32,
    };
    let model = PredictorModel::init(spec, bounds, 1);
    let input: Vec<f32> = (0..spec.input).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut group = c.benchmark_group("predictor");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    group.bench_function("risk_per_entity", |b| {
        b.iter(|| black_box(model.risk(black_box(&input))));
    });
    group.finish();
}

fn alerting(c: &mut Criterion) {
    // 20 services, 30 nodes, 60 replicas with the watched metrics: one scrape of `default`'s size.
    let scrape = |t: f64| {
        let mut s = Snapshot::new(t);
        let jitter = |i: usize| ((i as u64 * 2_654_435_761 + t as u64) % 100) as f64 / 1000.0;
        for i in 0..20 {
            let n = format!("svc{i:02}");
            s.set(EntityKind::Service, &n, "error_ratio", jitter(i) * 0.1);
            s.set(
                EntityKind::Service,
                &n,
                "latency_p99_seconds",
                0.1 + jitter(i),
            );
        }
        for i in 0..30 {
            let n = format!("node{i:02}");
            s.set(EntityKind::Node, &n, "up", 1.0);
            s.set(EntityKind::Node, &n, "cpu_utilization", 0.4 + jitter(i));
            s.set(EntityKind::Node, &n, "memory_utilization", 0.5 + jitter(i));
            s.set(EntityKind::Node, &n, "disk_utilization", 0.3);
        }
        for i in 0..60 {
            let n = format!("rep{i:02}");
            s.set(EntityKind::Replica, &n, "up", 1.0);
            s.set(EntityKind::Replica, &n, "cpu_utilization", 0.4 + jitter(i));
            s.set(EntityKind::Replica, &n, "memory_utilization", 0.5);
            s.set(EntityKind::Replica, &n, "error_ratio", 0.0);
            s.set(
                EntityKind::Replica,
                &n,
                "latency_p99_seconds",
                0.1 + jitter(i),
            );
        }
        s
    };
    let scrapes: Vec<Snapshot> = (0..100).map(|k| scrape(15.0 * k as f64)).collect();
    let mut group = c.benchmark_group("alerting");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(scrapes.len() as u64));
    for name in ["static_threshold", "ewma", "ensemble"] {
        group.bench_function(BenchmarkId::new("scrapes", name), |b| {
            b.iter(|| {
                let mut bank = EntityDetectors::new(RuleSet::for_detector(name).unwrap()).unwrap();
                let mut alerting = Vec::new();
                for s in &scrapes {
                    alerting.clear();
                    bank.observe(s, &mut alerting);
                }
                black_box(alerting.len())
            });
        });
    }
    group.finish();
}

/// The synthetic NAB tuning corpus (`mend detect sim --study nab-tune`): rows generated per
/// second (one 4,032-row file per iteration). The simtuned detectors themselves are measured in
/// the `detectors` group (`detectors/shift_simtuned`, `detectors/shift_cad_simtuned`).
fn synthetic(c: &mut Criterion) {
    let config = SyntheticCorpusConfig {
        files: 1,
        ..Default::default()
    };
    let mut group = c.benchmark_group("nab_synthetic");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(config.rows as u64));
    group.bench_function("generate_file", |b| {
        b.iter(|| black_box(generate_synthetic(black_box(&config))))
    });
    group.finish();
}

criterion_group!(benches, detectors, nab, predictor, alerting, synthetic);
criterion_main!(benches);
