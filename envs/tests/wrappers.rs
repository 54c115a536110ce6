//! Wrapper tests: Gymnasium's NormalizeObservation/NormalizeReward numbers (golden file from the real
//! package), TimeLimit truncation, RecordEpisodeStatistics' `info["episode"]`, RunningMeanStd merging,
//! and freezing/exporting/importing normalisation statistics.

use mend_envs::wrappers::{
    NormalizeObservation, NormalizeReward, RecordEpisodeStatistics, RunningMeanStd, TimeLimit,
};
use mend_envs::{CartPole, Env, EnvError, Info, Observation};
use serde_json::{Value, json};

const GOLDEN: &str = include_str!("../golden/wrappers_golden.json");

fn zero_start() -> Info {
    let mut o = Info::new();
    o.insert("low".into(), json!(0.0));
    o.insert("high".into(), json!(0.0));
    o
}

fn assert_close(got: &[f32], want: &Value, tol: f64, what: &str) {
    let want: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= tol,
            "{what}[{i}]: got {g}, gymnasium {w}"
        );
    }
}

#[test]
fn normalize_wrappers_match_gymnasium() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let mut env = NormalizeReward::new(
        NormalizeObservation::new(CartPole::new()).unwrap(),
        0.99,
        1e-8,
    )
    .unwrap();
    let options = zero_start();
    for (e, episode) in golden["episodes"].as_array().unwrap().iter().enumerate() {
        let (obs, _) = env.reset(Some(e as u64), Some(&options)).unwrap();
        // Gymnasium keeps its statistics in float32, mend in f64: agreement to 1e-4 is what float32 allows.
        assert_close(
            obs.as_vector().unwrap(),
            &episode["reset_obs"],
            1e-4,
            &format!("episode {e} reset obs"),
        );
        for (t, s) in episode["steps"].as_array().unwrap().iter().enumerate() {
            let step = env.step(s["action"].as_u64().unwrap() as usize).unwrap();
            assert_close(
                step.obs.as_vector().unwrap(),
                &s["obs"],
                1e-4,
                &format!("episode {e} step {t} obs"),
            );
            let want = s["reward"].as_f64().unwrap();
            assert!(
                (step.reward - want).abs() <= 1e-9,
                "episode {e} step {t} reward: got {}, gymnasium {want}",
                step.reward
            );
            assert_eq!(step.terminated, s["terminated"].as_bool().unwrap());
        }
    }
}

#[test]
fn time_limit_truncates_exactly_at_the_limit_and_resets_its_count() {
    let mut env = TimeLimit::new(CartPole::new(), 3).unwrap();
    assert!(matches!(env.step(0), Err(EnvError::NotReset { .. })));
    for _ in 0..2 {
        env.reset(Some(4), Some(&zero_start())).unwrap();
        let flags: Vec<bool> = (0..3).map(|t| env.step(t % 2).unwrap().truncated).collect();
        assert_eq!(flags, [false, false, true]);
        assert!(matches!(env.step(0), Err(EnvError::EpisodeOver { .. })));
    }
    assert!(TimeLimit::new(CartPole::new(), 0).is_err());
}

#[test]
fn record_episode_statistics_reports_return_and_length_at_episode_end_only() {
    let mut env = RecordEpisodeStatistics::new(TimeLimit::new(CartPole::new(), 40).unwrap());
    for episode in 0..3u64 {
        env.reset(Some(episode), None).unwrap();
        let (mut total, mut length) = (0.0, 0u64);
        loop {
            let step = env.step(((length / 2) % 2) as usize).unwrap();
            total += step.reward;
            length += 1;
            if step.terminated || step.truncated {
                assert_eq!(step.info["episode"], json!({"r": total, "l": length}));
                break;
            }
            assert!(
                !step.info.contains_key("episode"),
                "info[\"episode\"] before the end at step {length}"
            );
        }
        assert_eq!(env.episode_count(), episode + 1);
        assert_eq!(env.return_queue().back(), Some(&total));
        assert_eq!(env.length_queue().back(), Some(&length));
    }
}

#[test]
fn running_mean_std_is_independent_of_how_samples_are_batched() {
    let samples: Vec<f32> = (0..300)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.1)
        .collect(); // 150 samples of dim 2
    let mut one = RunningMeanStd::new(2);
    one.update_batch(&samples);
    let mut many = RunningMeanStd::new(2);
    for chunk in samples.chunks(14) {
        many.update_batch(chunk);
    }
    for i in 0..2 {
        assert!((one.mean[i] - many.mean[i]).abs() < 1e-12);
        assert!((one.var[i] - many.var[i]).abs() < 1e-10);
        // Close to the plain sample statistics (the 1e-4 pseudo-count barely matters).
        let col: Vec<f64> = samples
            .iter()
            .skip(i)
            .step_by(2)
            .map(|&x| f64::from(x))
            .collect();
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / col.len() as f64;
        assert!((one.mean[i] - mean).abs() < 1e-4 && (one.var[i] - var).abs() < 1e-3);
    }
    assert!((one.count - 150.0001).abs() < 1e-9);
    let back = RunningMeanStd::from_slice(2, &one.to_vec()).unwrap();
    assert_eq!(back, one);
    assert!(RunningMeanStd::from_slice(2, &[1.0, 0.0]).is_err());
    assert!(RunningMeanStd::from_slice(1, &[1.0, 0.0, -1.0]).is_err());
}

fn run(env: &mut impl Env, steps: usize) -> Vec<Observation> {
    let mut out = vec![env.reset(Some(9), None).unwrap().0];
    for t in 0..steps {
        let s = env.step(t % 2).unwrap();
        out.push(s.obs);
        if s.terminated || s.truncated {
            out.push(env.reset(None, None).unwrap().0);
        }
    }
    out
}

#[test]
fn normalize_observation_freezes_and_carries_its_statistics() {
    let mut trained = NormalizeObservation::new(CartPole::new()).unwrap();
    run(&mut trained, 300);
    let stats = trained.export_stats();
    assert_eq!(stats.len(), 9);
    trained.set_update_running_mean(false);
    let frozen_obs = run(&mut trained, 50);
    assert_eq!(
        trained.export_stats(),
        stats,
        "frozen statistics must not move"
    );

    let mut loaded = NormalizeObservation::new(CartPole::new()).unwrap();
    loaded.import_stats(&stats).unwrap();
    loaded.set_update_running_mean(false);
    assert_eq!(
        run(&mut loaded, 50),
        frozen_obs,
        "imported statistics must normalise identically"
    );
    assert!(loaded.import_stats(&stats[..8]).is_err());
    let mut nan = stats.clone();
    nan[1] = f64::NAN;
    assert!(loaded.import_stats(&nan).is_err());

    // Normalised observations are roughly standardised once the statistics have settled.
    let mut env = NormalizeObservation::new(CartPole::new()).unwrap();
    let obs = run(&mut env, 3000);
    let tail = &obs[1000..];
    for d in 0..4 {
        let col: Vec<f64> = tail
            .iter()
            .map(|o| f64::from(o.as_vector().unwrap()[d]))
            .collect();
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / col.len() as f64;
        assert!(
            mean.abs() < 0.3 && (0.5..1.5).contains(&var),
            "dim {d}: mean {mean}, var {var}"
        );
    }
}

#[test]
fn normalize_reward_rejects_bad_parameters_and_round_trips_stats() {
    assert!(NormalizeReward::new(CartPole::new(), 1.5, 1e-8).is_err());
    assert!(NormalizeReward::new(CartPole::new(), 0.99, 0.0).is_err());
    let mut env = NormalizeReward::new(CartPole::new(), 0.99, 1e-8).unwrap();
    run(&mut env, 100);
    let stats = env.export_stats();
    let mut other = NormalizeReward::new(CartPole::new(), 0.99, 1e-8).unwrap();
    other.import_stats(&stats).unwrap();
    assert_eq!(other.export_stats(), stats);
    assert!(other.import_stats(&[1.0]).is_err());
}
