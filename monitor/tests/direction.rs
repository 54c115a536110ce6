//! Direction-aware detectors: with `direction = up` the z-score detectors alert on a rise of the
//! value against its expectation and stay quiet on a fall of the same size (a metric returning to
//! its level after a fault ends), and `down` does the reverse; `both` alerts on either.

use mend_monitor::detectors::{
    DetectorConfig, Direction, EwmaConfig, HoltWintersConfig, MedianMadConfig,
};

/// Deterministic noise in [-0.5, 0.5) (a fixed LCG), so the series needs no RNG crate.
fn noise(i: u64) -> f64 {
    let x = i
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// 400 samples around 10 with unit-scale noise, then a step of `step` held for 40 samples.
fn step_series(step: f64) -> Vec<f64> {
    (0..440u64)
        .map(|i| 10.0 + noise(i) + if i >= 400 { step } else { 0.0 })
        .collect()
}

fn configs(direction: Direction) -> Vec<DetectorConfig> {
    vec![
        DetectorConfig::Ewma(EwmaConfig {
            direction,
            ..Default::default()
        }),
        DetectorConfig::MedianMad(MedianMadConfig {
            direction,
            ..Default::default()
        }),
        DetectorConfig::HoltWinters(HoltWintersConfig {
            direction,
            season_length: 24,
            ..Default::default()
        }),
    ]
}

/// Alerts raised on the step (samples 400..410).
fn alerts_on_step(config: &DetectorConfig, step: f64) -> usize {
    let mut d = config.build().unwrap();
    step_series(step)
        .iter()
        .enumerate()
        .map(|(i, &v)| (i, d.update(i as f64 * 60.0, v)))
        .filter(|(i, det)| (400..410).contains(i) && det.alert)
        .count()
}

#[test]
fn up_alerts_on_rises_only() {
    for c in configs(Direction::Up) {
        assert!(alerts_on_step(&c, 20.0) > 0, "{c:?} missed a rise");
        assert_eq!(alerts_on_step(&c, -20.0), 0, "{c:?} alerted on a fall");
    }
}

#[test]
fn down_alerts_on_falls_only() {
    for c in configs(Direction::Down) {
        assert!(alerts_on_step(&c, -20.0) > 0, "{c:?} missed a fall");
        assert_eq!(alerts_on_step(&c, 20.0), 0, "{c:?} alerted on a rise");
    }
}

#[test]
fn both_alerts_either_way_and_scores_match_up_on_rises() {
    for (both, up) in configs(Direction::Both).iter().zip(configs(Direction::Up)) {
        assert!(alerts_on_step(both, 20.0) > 0, "{both:?}");
        assert!(alerts_on_step(both, -20.0) > 0, "{both:?}");
        // On a series that only rises past its expectation, the one-sided score equals the
        // two-sided one wherever the deviation is positive, and is 0 elsewhere.
        let (mut a, mut b) = (both.build().unwrap(), up.build().unwrap());
        for (i, &v) in step_series(20.0).iter().enumerate() {
            let (x, y) = (a.update(i as f64, v), b.update(i as f64, v));
            assert!(y.score == x.score || y.score == 0.0, "{up:?} at {i}");
        }
    }
}

#[test]
fn direction_reads_from_configuration_text() {
    let c: DetectorConfig =
        serde_json::from_str(r#"{"detector": "ewma", "direction": "up"}"#).unwrap();
    let DetectorConfig::Ewma(e) = c else {
        panic!("not ewma: {c:?}")
    };
    assert_eq!(e.direction, Direction::Up);
    let err =
        serde_json::from_str::<DetectorConfig>(r#"{"detector": "ewma", "direction": "left"}"#);
    assert!(err.is_err());
}
