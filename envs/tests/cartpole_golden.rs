//! CartPole-v1 against trajectories produced by the real Gymnasium package
//! (`envs/golden/make_cartpole_golden.py` wrote `envs/golden/cartpole_v1_golden.json`).

use mend_envs::cartpole::CartPole;
use mend_envs::{Env, Info};
use serde_json::Value;

const GOLDEN: &str = include_str!("../golden/cartpole_v1_golden.json");

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

#[test]
fn cartpole_matches_gymnasium_golden_trajectories() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let trajectories = golden["trajectories"].as_array().unwrap();
    assert_eq!(trajectories.len(), 3);
    for traj in trajectories {
        let name = traj["name"].as_str().unwrap();
        let mut env = CartPole::new();
        let mut options = Info::new();
        options.insert("state".into(), traj["initial_state"].clone());
        env.reset(Some(0), Some(&options)).unwrap();
        let steps = traj["steps"].as_array().unwrap();
        assert!(steps.len() > 5, "{name}: golden trajectory too short");
        for (t, expected) in steps.iter().enumerate() {
            let action = expected["action"].as_u64().unwrap() as usize;
            let step = env.step(action).unwrap();
            let obs = step.obs.as_vector().unwrap();
            for (i, (&got, want)) in obs.iter().zip(numbers(&expected["obs"])).enumerate() {
                assert!(
                    (f64::from(got) - want).abs() <= 1e-6,
                    "{name} step {t} obs[{i}]: got {got}, gymnasium {want}"
                );
            }
            for (i, (got, want)) in env
                .state()
                .iter()
                .zip(numbers(&expected["state"]))
                .enumerate()
            {
                assert!(
                    (got - want).abs() <= 1e-9,
                    "{name} step {t} state[{i}]: got {got}, gymnasium {want}"
                );
            }
            assert_eq!(
                step.reward,
                expected["reward"].as_f64().unwrap(),
                "{name} step {t} reward"
            );
            assert_eq!(
                step.terminated,
                expected["terminated"].as_bool().unwrap(),
                "{name} step {t} terminated"
            );
            assert_eq!(
                step.truncated,
                expected["truncated"].as_bool().unwrap(),
                "{name} step {t} truncated"
            );
        }
        assert!(
            steps.last().unwrap()["terminated"].as_bool().unwrap(),
            "{name}: golden must end terminated"
        );
        // Gymnasium warns and returns reward 0 when stepping past termination; mend refuses.
        assert!(
            env.step(0).is_err(),
            "{name}: stepping after termination must be refused"
        );
    }
}

#[test]
fn cartpole_initial_state_is_uniform_in_gymnasium_bounds_and_seeded() {
    let mut env = CartPole::new();
    let mut seen_spread = 0.0f64;
    for seed in 0..200 {
        let (obs, _) = env.reset(Some(seed), None).unwrap();
        for &v in obs.as_vector().unwrap() {
            assert!(
                (-0.05..0.05).contains(&v),
                "seed {seed}: initial value {v} outside (-0.05, 0.05)"
            );
            seen_spread = seen_spread.max(f64::from(v).abs());
        }
        let (again, _) = CartPole::new().reset(Some(seed), None).unwrap();
        assert_eq!(
            obs, again,
            "seed {seed}: same seed must give the same initial state"
        );
    }
    assert!(
        seen_spread > 0.045,
        "initial states should cover the interval, max |v| was {seen_spread}"
    );
}

#[test]
fn make_cartpole_truncates_at_500_steps() {
    let mut env = mend_envs::make("CartPole-v1").unwrap();
    let mut options = Info::new();
    options.insert("state".into(), serde_json::json!([0.0, 0.0, 0.0, 0.0]));
    env.reset(Some(1), Some(&options)).unwrap();
    // A balancing controller keeps the pole up; the episode must end by truncation at exactly 500.
    let mut obs = vec![0.0f32; 4];
    for t in 1..=500u32 {
        let action = usize::from(obs[2] + 0.5 * obs[3] + 0.01 * obs[0] + 0.05 * obs[1] > 0.0);
        let step = env.step(action).unwrap();
        assert!(!step.terminated, "the controller lost the pole at step {t}");
        assert_eq!(step.truncated, t == 500, "step {t}");
        obs = step.obs.as_vector().unwrap().to_vec();
    }
    assert!(env.step(0).is_err());
    assert!(mend_envs::make("CartPole-v0").is_err());
}
