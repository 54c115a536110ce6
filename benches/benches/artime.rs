//! ARTime (`mend_monitor::detectors::artime`): samples per second, cold start on a long series
//! (its DVFA category list grows with the series, so the cost per sample grows too), as NAB
//! feeds it on one 4,032-row file, and over the whole NAB realAWSCloudwatch subset (17 files,
//! 67,740 rows; reported as rows per second).
//!
//! Run: `cargo bench -p mend-benches --bench artime` (about 20 s); `-- artime/nab` runs the NAB
//! part only. The NAB part reads `../shared/data/nab` beside the repository. Figures measured on
//! a shared machine are provisional.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mend_monitor::detectors::{ArtimeConfig, ArtimeState, artime_nab_scores, by_name};
use mend_monitor::nab::load_corpus;

/// A deterministic series with a daily-like oscillation, pseudo-noise and a few spikes.
fn series(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let noise = ((i as u64).wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0;
            let spike = if i % 5000 == 4999 { 20.0 } else { 0.0 };
            10.0 + (i as f64 * 0.02).sin() + noise + spike
        })
        .collect()
}

fn nab_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab")
}

fn artime(c: &mut Criterion) {
    let mut group = c.benchmark_group("artime");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));

    for n in [4_032usize, 20_000] {
        let values = series(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("cold_{n}"), |b| {
            b.iter(|| {
                let mut d = by_name("artime", None).unwrap();
                let mut flags = 0u32;
                for (i, &v) in values.iter().enumerate() {
                    flags += u32::from(d.update(i as f64 * 300.0, v).alert);
                }
                black_box(flags)
            });
        });
    }

    let values = series(4_032);
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("nab_feed_4032", |b| {
        b.iter(|| {
            let mut s = ArtimeState::new(ArtimeConfig::nab_feed(&values));
            let total: f64 = values.iter().map(|&v| s.process_sample(v)).sum();
            black_box(total)
        });
    });

    let dir = nab_dir();
    if let Ok(corpus) = load_corpus(&dir, &dir.join("combined_windows.json")) {
        let rows: usize = corpus.files.iter().map(|f| f.series.values.len()).sum();
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function("nab_realaws_subset", |b| {
            b.iter(|| {
                for f in &corpus.files {
                    black_box(artime_nab_scores(&f.series.values).unwrap());
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, artime);
criterion_main!(benches);
