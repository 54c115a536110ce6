//! Every detector on synthetic series with known change points (seeded, so each run sees the
//! same series): it detects a step, a spike and a drift soon after onset, and stays quiet on
//! pure noise at about its configured false-alarm rate.

use mend_monitor::detectors::{
    DETECTOR_NAMES, Detection, Detector, DetectorConfig, DetectorError, EwmaConfig,
    LikelihoodConfig, PersistConfig, StaticThresholdConfig, by_name, gaussian_two_sided_tail,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Seconds between samples.
const STEP: f64 = 60.0;
/// Index of the change point.
const ONSET: usize = 1500;
const LEN: usize = 2000;

/// Gaussian noise with mean 10 and standard deviation 1.
fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(10.0, 1.0).unwrap();
    (0..n).map(|_| normal.sample(&mut rng)).collect()
}

fn run(d: &mut dyn Detector, series: &[f64]) -> Vec<Detection> {
    series
        .iter()
        .enumerate()
        .map(|(i, &v)| d.update(i as f64 * STEP, v))
        .collect()
}

/// First alert at or after `from`, as an offset from `from`.
fn first_alert_after(ds: &[Detection], from: usize) -> Option<usize> {
    ds[from..].iter().position(|d| d.alert)
}

fn alerts_before(ds: &[Detection], until: usize) -> usize {
    ds[..until].iter().filter(|d| d.alert).count()
}

/// The z-score detectors (all but the static threshold, which needs absolute units).
fn adaptive() -> Vec<&'static str> {
    DETECTOR_NAMES
        .iter()
        .copied()
        .filter(|n| *n != "static_threshold")
        .collect()
}

#[test]
fn detects_a_step_within_a_few_samples() {
    for name in adaptive() {
        let mut s = noise(1, LEN);
        s[ONSET..].iter_mut().for_each(|v| *v += 8.0);
        let ds = run(by_name(name, None).unwrap().as_mut(), &s);
        let delay = first_alert_after(&ds, ONSET);
        assert!(delay.is_some_and(|d| d <= 3), "{name}: delay {delay:?}");
        assert!(ds.iter().all(|d| (0.0..=1.0).contains(&d.score)));
    }
}

/// Configurations for the one-sample events (a spike, a ramp whose z-score hovers at the
/// threshold): the likelihood detector averages raw scores over 10 samples by design (it turns
/// sustained changes into alerts, a lone spike is diluted to 1/10), so it gets a window of 1;
/// `persist` ignores alerts shorter than its `for` by design, so it gets a `for` of 0 (its own
/// unit tests check the duration).
fn one_sample_config(name: &str) -> Option<DetectorConfig> {
    match name {
        "likelihood" => Some(DetectorConfig::Likelihood(LikelihoodConfig {
            averaging_window: 1,
            ..Default::default()
        })),
        "persist" => Some(DetectorConfig::Persist(PersistConfig {
            for_seconds: 0.0,
            ..Default::default()
        })),
        _ => None,
    }
}

#[test]
fn detects_a_single_spike_at_the_spike() {
    for name in adaptive() {
        let mut s = noise(2, LEN);
        s[ONSET] += 10.0;
        let config = one_sample_config(name);
        let ds = run(by_name(name, config.as_ref()).unwrap().as_mut(), &s);
        assert!(
            ds[ONSET].alert,
            "{name}: spike missed, score {}",
            ds[ONSET].score
        );
        assert!(ds[ONSET].score > 0.5, "{name}");
    }
}

#[test]
fn detects_a_drift() {
    // A ramp of 0.5 standard deviations per sample from ONSET on. Holt-Winters gets a ramp of
    // 1.0: its seasonal terms, initialised from one noisy season, add forecast noise, and its
    // level follows a ramp by design; a gentler drift goes unflagged (a known limitation).
    for name in adaptive() {
        let slope = if name == "holt_winters" { 1.0 } else { 0.5 };
        let mut s = noise(3, LEN);
        for (k, v) in s[ONSET..].iter_mut().enumerate() {
            *v += slope * k as f64;
        }
        let config = one_sample_config(name);
        let ds = run(by_name(name, config.as_ref()).unwrap().as_mut(), &s);
        let delay = first_alert_after(&ds, ONSET);
        assert!(delay.is_some_and(|d| d <= 40), "{name}: delay {delay:?}");
    }
}

#[test]
fn stays_quiet_on_pure_noise_at_its_false_alarm_rate() {
    // On Gaussian noise a |z| >= 4 alert has a nominal rate of 6.3e-5 per sample when the
    // variance is known. The detectors estimate it from a finite past, which fattens the tails
    // (as a Student t does): allow 5x the nominal rate.
    let n = 200_000;
    let s = noise(4, n);
    let nominal = gaussian_two_sided_tail(4.0);
    for name in adaptive() {
        let ds = run(by_name(name, None).unwrap().as_mut(), &s);
        let rate = alerts_before(&ds, n) as f64 / n as f64;
        println!("{name}: false-alarm rate {rate:.2e} (nominal {nominal:.2e})");
        assert!(rate <= 5.0 * nominal, "{name}: rate {rate:.2e}");
    }
}

#[test]
fn false_alarm_rate_follows_the_configured_threshold() {
    // Lowering z_threshold to 3 must raise the false-alarm rate towards its nominal 2.7e-3.
    let n = 200_000;
    let s = noise(5, n);
    let config = DetectorConfig::Ewma(EwmaConfig {
        z_threshold: 3.0,
        ..Default::default()
    });
    let ds = run(by_name("ewma", Some(&config)).unwrap().as_mut(), &s);
    let rate = alerts_before(&ds, n) as f64 / n as f64;
    let nominal = gaussian_two_sided_tail(3.0);
    assert!(
        rate > 0.5 * nominal && rate < 2.0 * nominal,
        "rate {rate:.2e}"
    );
}

#[test]
fn static_threshold_fires_after_its_for_duration_like_prometheus() {
    // Utilisation around 0.5; a step to 0.95 fires 300 s (5 samples) after it starts.
    let base: Vec<f64> = noise(6, LEN)
        .iter()
        .map(|v| 0.5 + 0.02 * (v - 10.0))
        .collect();
    let mut step = base.clone();
    step[ONSET..].iter_mut().for_each(|v| *v = 0.95);
    let ds = run(by_name("static_threshold", None).unwrap().as_mut(), &step);
    assert_eq!(first_alert_after(&ds, ONSET), Some(5));
    assert!(ds[ONSET].score >= 0.5 && ds[ONSET].score < 1.0, "pending");
    assert_eq!(alerts_before(&ds, ONSET), 0, "quiet on noise");

    // A one-sample spike stays pending under `for: 5m` but fires with `for: 0s`.
    let mut spike = base.clone();
    spike[ONSET] = 0.99;
    let ds = run(by_name("static_threshold", None).unwrap().as_mut(), &spike);
    assert!(!ds[ONSET].alert && ds[ONSET].score >= 0.5);
    let instant = DetectorConfig::StaticThreshold(StaticThresholdConfig {
        for_seconds: 0.0,
        ..Default::default()
    });
    let ds = run(
        by_name("static_threshold", Some(&instant))
            .unwrap()
            .as_mut(),
        &spike,
    );
    assert!(ds[ONSET].alert);

    // A drift of 0.002 per sample crosses 0.9 about 200 samples after onset, fires 5 later.
    let mut drift = base;
    for (k, v) in drift[ONSET..].iter_mut().enumerate() {
        *v = 0.5 + 0.002 * k as f64;
    }
    let ds = run(by_name("static_threshold", None).unwrap().as_mut(), &drift);
    let delay = first_alert_after(&ds, ONSET).unwrap();
    assert!((200..=210).contains(&delay), "delay {delay}");
}

#[test]
fn detectors_start_cold_and_reset_to_cold() {
    for name in DETECTOR_NAMES {
        let mut d = by_name(name, None).unwrap();
        let s = noise(7, 600);
        let first = run(d.as_mut(), &s);
        d.reset();
        let again = run(d.as_mut(), &s);
        assert_eq!(first, again, "{name}: reset did not forget");
        assert_eq!(d.name(), name);
    }
}

#[test]
fn vectors_run_one_state_per_channel_and_reject_a_new_dimension() {
    for name in DETECTOR_NAMES {
        let mut d = by_name(name, None).unwrap();
        let a = noise(8, LEN);
        let mut b = noise(9, LEN);
        b[ONSET..].iter_mut().for_each(|v| *v += 8.0);
        let mut alert_at_onset = false;
        for i in 0..LEN {
            let out = d.update_vector(i as f64 * STEP, &[a[i], b[i]]).unwrap();
            if (ONSET..ONSET + 6).contains(&i) {
                alert_at_onset |= out.alert;
            }
        }
        if name != "static_threshold" {
            assert!(alert_at_onset, "{name}: step on channel 2 missed");
        }
        let err = d.update_vector(LEN as f64 * STEP, &[1.0]).unwrap_err();
        assert!(matches!(
            err,
            DetectorError::DimensionMismatch {
                expected: 2,
                found: 1,
                ..
            }
        ));
    }
}

#[test]
fn non_finite_values_are_skipped_without_panic() {
    for name in DETECTOR_NAMES {
        let mut d = by_name(name, None).unwrap();
        let s = noise(10, 400);
        let clean = run(d.as_mut(), &s);
        d.reset();
        for (i, &v) in s.iter().enumerate() {
            d.update(i as f64 * STEP - 0.5, f64::NAN);
            assert_eq!(d.update(i as f64 * STEP, v), clean[i], "{name} row {i}");
        }
    }
}

#[test]
fn registry_rejects_unknown_names_and_mismatched_or_invalid_configs() {
    assert!(matches!(
        by_name("oracle", None).unwrap_err(),
        DetectorError::UnknownDetector { .. }
    ));
    let ewma = DetectorConfig::Ewma(EwmaConfig::default());
    assert!(matches!(
        by_name("median_mad", Some(&ewma)).unwrap_err(),
        DetectorError::ConfigMismatch { .. }
    ));
    let bad = DetectorConfig::Ewma(EwmaConfig {
        alpha: 0.0,
        ..Default::default()
    });
    let err = by_name("ewma", Some(&bad)).unwrap_err();
    assert!(err.to_string().contains("alpha"), "{err}");
    // Configurations round-trip through JSON, tagged by detector name.
    let json = serde_json::to_string(&DetectorConfig::default_for("ensemble").unwrap()).unwrap();
    assert!(json.contains(r#""detector":"ensemble""#), "{json}");
    let back: DetectorConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, DetectorConfig::default_for("ensemble").unwrap());
    let typo = serde_json::from_str::<DetectorConfig>(r#"{"detector":"ewma","alpah":0.1}"#);
    assert!(typo.is_err());
}
