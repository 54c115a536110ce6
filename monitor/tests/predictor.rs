//! The failure predictor: metrics against hand-worked values, learning a learnable rule,
//! determinism for a seed, shape errors.

use mend_monitor::predictor::{
    PredictorModel, PredictorSpec, TrainConfig, average_precision, lead_times, pr_at_threshold,
    train,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn average_precision_matches_a_hand_worked_example() {
    // Ranked: 0.9 (+), 0.8 (-), 0.7 (+), 0.1 (-): AP = 0.5 * 1 + 0.5 * 2/3 = 5/6
    // (scikit-learn's average_precision_score gives 0.8333 on the same input).
    let scores = [0.9, 0.8, 0.7, 0.1];
    let labels = [1.0, 0.0, 1.0, 0.0];
    assert!((average_precision(&scores, &labels) - 5.0 / 6.0).abs() < 1e-12);
    // Ties form one threshold: all tied gives AP = the positive rate.
    assert!((average_precision(&[0.5; 4], &labels) - 0.5).abs() < 1e-12);
    assert!(average_precision(&scores, &[0.0; 4]).is_nan());
}

#[test]
fn precision_recall_at_a_threshold() {
    let q = pr_at_threshold(&[0.9, 0.8, 0.7, 0.1], &[1.0, 0.0, 1.0, 0.0], 0.75);
    assert_eq!((q.precision, q.recall, q.alarms), (0.5, 0.5, 2));
    let none = pr_at_threshold(&[0.1], &[1.0], 0.5);
    assert!(none.precision.is_nan());
    assert_eq!(none.recall, 0.0);
}

#[test]
fn lead_time_is_from_the_earliest_alarm_within_the_horizon() {
    let series = [(0.0, true), (100.0, false), (200.0, true), (300.0, true)];
    // Incident at 400, horizon 250: alarms at 200 and 300 qualify (0 is too early): lead 200.
    // Incident at 250, horizon 100: the alarm at 200 (lead 50). Incident at 150, horizon 40: none.
    assert_eq!(lead_times(&series, &[400.0], 250.0), vec![Some(200.0)]);
    assert_eq!(lead_times(&series, &[250.0, 150.0], 100.0)[0], Some(50.0));
    assert_eq!(lead_times(&series, &[150.0], 40.0), vec![None]);
}

/// Inputs in [0, 1]^4; the label is 1 when x0 + x1 > 1.2 (a rare-ish, learnable event).
fn synthetic(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(4 * n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: [f32; 4] = std::array::from_fn(|_| rng.random::<f32>());
        y.push(if row[0] + row[1] > 1.2 { 1.0 } else { 0.0 });
        x.extend_from_slice(&row);
    }
    (x, y)
}

fn fresh(seed: u64) -> PredictorModel {
    PredictorModel::init(
        PredictorSpec {
            input: 4,
            hidden: 8,
        },
        vec![(0.0, 1.0); 4],
        seed,
    )
}

#[test]
fn learns_a_learnable_rule_on_held_out_data() {
    let (x, y) = synthetic(2000, 1);
    let (xt, yt) = synthetic(1000, 2);
    let mut model = fresh(7);
    let scores_before: Vec<f32> = xt.chunks(4).map(|r| model.risk(r)).collect();
    let ap_before = average_precision(&scores_before, &yt);
    let cfg = TrainConfig {
        epochs: 30,
        ..Default::default()
    };
    train(&mut model, &x, &y, &cfg).unwrap();
    let scores: Vec<f32> = xt.chunks(4).map(|r| model.risk(r)).collect();
    let ap = average_precision(&scores, &yt);
    assert!(ap > 0.9, "AP {ap} (before training {ap_before})");
    assert!(ap > ap_before + 0.2);
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let (x, y) = synthetic(500, 3);
    let cfg = TrainConfig {
        epochs: 3,
        seed: 11,
        ..Default::default()
    };
    let run = |init: u64, cfg: &TrainConfig| {
        let mut m = fresh(init);
        train(&mut m, &x, &y, cfg).unwrap();
        m.params
    };
    assert_eq!(run(5, &cfg), run(5, &cfg));
    assert_ne!(run(5, &cfg), run(6, &cfg));
    let other = TrainConfig { seed: 12, ..cfg };
    assert_ne!(run(5, &cfg), run(5, &other));
}

#[test]
fn mismatched_shapes_and_bad_config_are_errors_not_panics() {
    let mut m = fresh(0);
    let err = train(&mut m, &[0.0; 7], &[1.0, 0.0], &TrainConfig::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("`inputs` has 7 values, expected 8"),
        "{err}"
    );
    let bad = TrainConfig {
        batch_size: 0,
        ..Default::default()
    };
    assert!(train(&mut m, &[0.0; 8], &[1.0, 0.0], &bad).is_err());
}
