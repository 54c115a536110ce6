//! ARTime on seeded synthetic series whose answer is known (4,032 rows of Gaussian noise, mean
//! 10, sd 1; NAB's usual file length, so the cold start's assumed length is the true one):
//! a step after the probation is flagged within a few downsampled steps (cold start, the
//! registry's `artime`); a one-sample spike or dip is flagged at the next step row when the
//! range is known (NAB's feed); pure noise raises at most a few flags; nothing is flagged during
//! the probation; runs are deterministic and `reset` makes it cold again.
//!
//! Not asserted because it does not hold: in the cold start, a one-sample spike beyond the range
//! of the probation's rows takes the top level (values outside the range are clamped), like the
//! noise's own maxima, and is missed (seeds 0-3 of 5: measured, session 9).

use mend_monitor::detectors::{ArtimeConfig, Detection, Detector, DetectorConfig, by_name};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Rows per series (NAB's usual file).
const LEN: usize = 4_032;
/// Index of the change point, well after the probation (604 rows).
const ONSET: usize = 2_000;
/// Seeds tried.
const SEEDS: u64 = 5;

/// Gaussian noise with mean 10 and standard deviation 1.
fn noise(seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(10.0, 1.0).unwrap();
    (0..LEN).map(|_| normal.sample(&mut rng)).collect()
}

fn run(d: &mut dyn Detector, series: &[f64]) -> Vec<Detection> {
    series
        .iter()
        .enumerate()
        .map(|(i, &v)| d.update(i as f64 * 300.0, v))
        .collect()
}

fn alerts(ds: &[Detection]) -> Vec<usize> {
    ds.iter()
        .enumerate()
        .filter(|(_, d)| d.alert)
        .map(|(i, _)| i)
        .collect()
}

fn cold() -> Box<dyn Detector> {
    by_name("artime", None).unwrap()
}

fn nab_fed(series: &[f64]) -> Box<dyn Detector> {
    by_name(
        "artime",
        Some(&DetectorConfig::Artime(ArtimeConfig::nab_feed(series))),
    )
    .unwrap()
}

#[test]
fn a_step_is_flagged_within_a_few_downsampled_steps_cold() {
    for seed in 0..SEEDS {
        let mut s = noise(seed);
        for v in &mut s[ONSET..] {
            *v += 8.0;
        }
        let flags = alerts(&run(cold().as_mut(), &s));
        let first = flags.iter().find(|&&i| i >= ONSET).copied();
        // Eight downsampled steps of 5 rows: the feature window.
        assert!(
            first.is_some_and(|i| i < ONSET + 40),
            "seed {seed}: flags {flags:?}"
        );
    }
}

#[test]
fn a_spike_and_a_dip_are_flagged_at_the_next_step_row_with_nabs_feed() {
    for seed in 0..SEEDS {
        for delta in [10.0, -8.0] {
            let mut s = noise(seed);
            s[ONSET] += delta;
            let ds = run(nab_fed(&s).as_mut(), &s);
            // sstep = 5: rows 5, 10, ... (1-based) carry the scores; the next is index 2004.
            assert!(
                ds[ONSET + 4].alert && ds[ONSET + 4].score > 0.0,
                "seed {seed}, delta {delta}: flags {:?}",
                alerts(&ds)
            );
        }
    }
}

#[test]
fn pure_noise_raises_few_flags_and_none_in_the_probation() {
    for seed in 0..SEEDS {
        let s = noise(seed);
        let cold_flags = alerts(&run(cold().as_mut(), &s));
        let fed_flags = alerts(&run(nab_fed(&s).as_mut(), &s));
        // Measured: 1-2 flags (cold), 1-4 (NAB's feed) per 3,400 scored rows.
        assert!(cold_flags.len() <= 3, "seed {seed}: {cold_flags:?}");
        assert!(fed_flags.len() <= 5, "seed {seed}: {fed_flags:?}");
        // The probation (604 rows) is processed as a batch and never flagged.
        assert!(cold_flags.iter().chain(&fed_flags).all(|&i| i >= 604));
    }
}

#[test]
fn runs_are_deterministic_and_reset_is_cold() {
    let mut s = noise(7);
    for v in &mut s[ONSET..] {
        *v += 8.0;
    }
    let mut d = cold();
    let first = run(d.as_mut(), &s);
    d.reset();
    let again = run(d.as_mut(), &s);
    assert_eq!(first, again);
    assert_eq!(first, run(cold().as_mut(), &s));
    assert!(first.iter().any(|x| x.alert), "the step is flagged");
    assert!(first.iter().all(|x| (0.0..=1.0).contains(&x.score)));
}

#[test]
fn vectors_run_one_state_per_channel() {
    let a = noise(1);
    let mut b = noise(2);
    for v in &mut b[ONSET..] {
        *v += 8.0;
    }
    let mut d = cold();
    let mut any = false;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let det = d.update_vector(i as f64 * 300.0, &[*x, *y]).unwrap();
        any |= det.alert && i >= ONSET;
    }
    assert!(any, "the step in the second channel is flagged");
    assert!(d.update_vector(0.0, &[1.0]).is_err());
}
