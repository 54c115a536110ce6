//! The autoencoder detector: starts cold, is deterministic for a seed, scores a planted
//! multivariate shift (each channel still within its normal range) above normal windows, and
//! rejects bad configurations and dimensions with errors naming the field.

use mend_monitor::detectors::{
    Autoencoder, AutoencoderConfig, Detection, Detector, DetectorConfig, DetectorError, by_name,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Three correlated channels driven by one latent daily-like wave: `(z, 2z + 1, -z)` plus small
/// noise. From `shift_at` on, the third channel follows `+z` instead of `-z`: every channel
/// stays inside its usual range, only their relation changes.
fn correlated(seed: u64, n: usize, shift_at: usize) -> Vec<[f64; 3]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.05).unwrap();
    (0..n)
        .map(|i| {
            let z = (i as f64 * 0.07).sin();
            let third = if i >= shift_at { z } else { -z };
            [
                z + noise.sample(&mut rng),
                2.0 * z + 1.0 + noise.sample(&mut rng),
                third + noise.sample(&mut rng),
            ]
        })
        .collect()
}

fn feed(d: &mut dyn Detector, rows: &[[f64; 3]]) -> Vec<Detection> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| d.update_vector(i as f64 * 15.0, r).unwrap())
        .collect()
}

fn config(seed: u64) -> AutoencoderConfig {
    AutoencoderConfig {
        seed,
        ..Default::default()
    }
}

#[test]
fn starts_cold_scores_nothing_during_warmup_and_resets_to_cold() {
    let c = config(1);
    let mut d = Autoencoder::from_config(c).unwrap();
    let rows = correlated(1, 600, usize::MAX);
    let out = feed(&mut d, &rows[..c.warmup - 1]);
    assert!(!d.is_warm());
    assert!(out.iter().all(|x| *x == Detection::default()));
    let rest = feed(&mut d, &rows[c.warmup - 1..]);
    assert!(d.is_warm());
    assert!(rest.iter().any(|x| x.score > 0.0), "scores after warm-up");
    d.reset();
    assert!(!d.is_warm());
    assert_eq!(feed(&mut d, &rows[..c.warmup - 1]), out);
    assert_eq!(feed(&mut d, &rows[c.warmup - 1..]), rest);
}

#[test]
fn deterministic_for_a_seed_and_seed_dependent() {
    let rows = correlated(2, 900, 700);
    let run = |seed| feed(&mut Autoencoder::from_config(config(seed)).unwrap(), &rows);
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn scores_a_planted_multivariate_shift_above_normal_windows() {
    let (n, shift_at) = (1_400, 1_000);
    let rows = correlated(5, n, shift_at);
    let c = config(7);
    let out = feed(&mut Autoencoder::from_config(c).unwrap(), &rows);
    let mut normal: Vec<f64> = out[c.warmup..shift_at].iter().map(|x| x.score).collect();
    normal.sort_by(f64::total_cmp);
    let p99 = normal[(0.99 * (normal.len() - 1) as f64) as usize];
    // Once the window is full of shifted samples (8 of them), and for the next 50.
    let mut shifted: Vec<f64> = out[shift_at + c.window..shift_at + c.window + 50]
        .iter()
        .map(|x| x.score)
        .collect();
    shifted.sort_by(f64::total_cmp);
    let median = shifted[shifted.len() / 2];
    assert!(
        median > p99,
        "shifted median {median} vs normal 99th percentile {p99}"
    );
    assert!(
        out[shift_at..shift_at + 20].iter().any(|x| x.alert),
        "no alert on the shift"
    );
    // Each channel alone stayed in its usual range: a univariate detector per channel (range and
    // level views) has nothing to see in the third channel's values themselves.
    let (lo, hi) = rows[..shift_at]
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(r[2]), h.max(r[2])));
    assert!(
        rows[shift_at..]
            .iter()
            .all(|r| r[2] > lo - 0.3 && r[2] < hi + 0.3)
    );
}

#[test]
fn bad_configurations_and_dimensions_are_errors_naming_the_field() {
    let bad = DetectorConfig::Autoencoder(AutoencoderConfig {
        warmup: 4,
        ..Default::default()
    });
    let err = by_name("autoencoder", Some(&bad)).unwrap_err();
    assert!(err.to_string().contains("`warmup`"), "{err}");
    let bad = AutoencoderConfig {
        quantile: 1.0,
        ..Default::default()
    };
    assert!(
        Autoencoder::from_config(bad)
            .unwrap_err()
            .to_string()
            .contains("quantile")
    );
    let mut d = by_name("autoencoder", None).unwrap();
    d.update_vector(0.0, &[1.0, 2.0]).unwrap();
    assert!(matches!(
        d.update_vector(1.0, &[1.0]).unwrap_err(),
        DetectorError::DimensionMismatch {
            expected: 2,
            found: 1,
            ..
        }
    ));
    // Non-finite values are missing samples: nothing scored, nothing learnt.
    assert_eq!(
        d.update_vector(2.0, &[f64::NAN, 1.0]).unwrap(),
        Detection::default()
    );
}

#[test]
fn min_error_floor_keeps_a_flat_signal_quiet_on_a_small_blip() {
    // A metric that sits at 0 with tiny noise: the network reconstructs it almost perfectly, so
    // without a floor a blip of a few floors is a huge ratio to the recent errors.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let noise = Normal::new(0.0, 1e-4).unwrap();
    let mut series: Vec<f64> = (0..600).map(|_| noise.sample(&mut rng)).collect();
    series[500] = 0.02;
    let run = |min_error: f64| {
        let c = AutoencoderConfig {
            min_error,
            min_std_absolute: 0.01,
            ..Default::default()
        };
        let mut d = Autoencoder::from_config(c).unwrap();
        let out: Vec<Detection> = series
            .iter()
            .enumerate()
            .map(|(i, &v)| d.update(i as f64, v))
            .collect();
        out[500].alert
    };
    assert!(run(0.0), "no floor: the blip (2 floors) pages");
    assert!(
        !run(0.5),
        "floor 0.5: one scrape 2 floors off stays below margin x floor"
    );
}
