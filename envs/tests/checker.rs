//! check_env on every env and wrapper in the crate, and on deliberately broken envs (each must be
//! caught by the right check).

mod common;

use common::CountEnv;
use mend_envs::wrappers::{
    NormalizeObservation, NormalizeReward, RecordEpisodeStatistics, TimeLimit,
};
use mend_envs::{
    Action, BoxSpace, CartPole, CheckConfig, Discrete, Env, EnvError, Info, Observation, Space,
    Step, check_env, check_env_with,
};

#[test]
fn cartpole_and_its_registered_form_pass() {
    let report = check_env(&mut CartPole::new()).unwrap();
    assert_eq!(report.steps, 300);
    assert!(
        report.episodes >= 3,
        "random actions end CartPole episodes quickly: {report:?}"
    );
    assert_eq!(
        report.refused_probes, 300,
        "one out-of-range probe per step"
    );
    check_env(&mut *mend_envs::make("CartPole-v1").unwrap()).unwrap();
}

#[test]
fn wrappers_pass() {
    check_env(&mut TimeLimit::new(CartPole::new(), 5).unwrap()).unwrap();
    check_env(&mut RecordEpisodeStatistics::new(
        mend_envs::make("CartPole-v1").unwrap(),
    ))
    .unwrap();
    // Running statistics make outputs depend on history, so a learning normaliser cannot pass the
    // determinism checks (Gymnasium's checker would fail it too); frozen statistics, as used for
    // evaluation and export, must pass.
    let mut learning = NormalizeObservation::new(CartPole::new()).unwrap();
    let err = check_env(&mut learning).unwrap_err();
    assert!(
        err.failures.iter().any(|f| f.check == "reset_determinism"),
        "{err}"
    );
    learning.set_update_running_mean(false);
    check_env(&mut learning).unwrap();
    let mut reward = NormalizeReward::new(CartPole::new(), 0.99, 1e-8).unwrap();
    for _ in 0..2 {
        reward.reset(Some(3), None).unwrap();
        while !reward.step(1).unwrap().terminated {}
    }
    reward.set_update_running_mean(false);
    check_env(&mut reward).unwrap();
}

#[test]
fn masked_env_passes_and_its_masked_action_is_probed() {
    let report = check_env(&mut CountEnv::new(4, false)).unwrap();
    assert_eq!(
        report.refused_probes,
        2 * report.steps,
        "one out-of-range and one masked probe per step"
    );
    check_env(&mut CountEnv::new(4, true)).unwrap();
}

/// What a [`Broken`] env gets wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Flaw {
    IgnoresSeed,
    ObsOutOfSpace,
    AcceptsMaskedAction,
    NanReward,
    BadActionSpace,
    WrongMaskLength,
}

#[derive(Debug)]
struct Broken {
    flaw: Flaw,
    counter: f32,
    seed: f32,
    t: u32,
}

impl Env for Broken {
    fn reset(
        &mut self,
        seed: Option<u64>,
        _: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        self.counter += 1.0;
        if let Some(s) = seed {
            self.seed = s as f32;
        }
        self.t = 0;
        let first = if self.flaw == Flaw::IgnoresSeed {
            self.counter
        } else {
            self.seed
        };
        Ok((
            Observation::Vector(vec![first.min(999.0), 0.0]),
            Info::new(),
        ))
    }
    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        let mask = if self.flaw == Flaw::AcceptsMaskedAction {
            None
        } else {
            Some(&[true, false][..])
        };
        mend_envs::env::validate_action("test/Broken-v0", action, 2, mask)?;
        self.t += 1;
        let x = if self.flaw == Flaw::ObsOutOfSpace && self.t == 3 {
            5000.0
        } else {
            self.t as f32
        };
        let reward = if self.flaw == Flaw::NanReward {
            f64::NAN
        } else {
            1.0
        };
        Ok(Step {
            obs: Observation::Vector(vec![self.seed.min(999.0), x]),
            reward,
            terminated: self.t == 10,
            truncated: false,
            info: Info::new(),
        })
    }
    fn observation_space(&self) -> Space {
        Space::Box(BoxSpace::uniform(2, 0.0, 1000.0))
    }
    fn action_space(&self) -> Space {
        if self.flaw == Flaw::BadActionSpace {
            Space::Box(BoxSpace::uniform(1, 0.0, 1.0))
        } else {
            Space::Discrete(Discrete::new(2))
        }
    }
    fn action_mask(&self) -> Option<Vec<bool>> {
        Some(if self.flaw == Flaw::WrongMaskLength {
            vec![true]
        } else {
            vec![true, false]
        })
    }
    fn id(&self) -> &str {
        "test/Broken-v0"
    }
}

#[test]
fn each_flaw_is_caught_by_its_check() {
    let cases = [
        (Flaw::IgnoresSeed, "reset_determinism"),
        (Flaw::ObsOutOfSpace, "obs_in_space"),
        (Flaw::AcceptsMaskedAction, "masks"),
        (Flaw::NanReward, "rewards_finite"),
        (Flaw::BadActionSpace, "spaces"),
        (Flaw::WrongMaskLength, "masks"),
    ];
    for (flaw, check) in cases {
        let mut env = Broken {
            flaw,
            counter: 0.0,
            seed: 0.0,
            t: 0,
        };
        let err = check_env(&mut env).unwrap_err();
        assert!(
            err.failures.iter().any(|f| f.check == check),
            "{flaw:?} should fail `{check}`: {err}"
        );
        assert!(
            err.to_string().contains("test/Broken-v0"),
            "the error names the env: {err}"
        );
    }
    // An env whose masked action is a documented penalty (not an error) passes when configured so.
    let mut env = Broken {
        flaw: Flaw::AcceptsMaskedAction,
        counter: 0.0,
        seed: 0.0,
        t: 0,
    };
    check_env_with(
        &mut env,
        &CheckConfig {
            masked_actions_penalised: true,
            ..CheckConfig::default()
        },
    )
    .unwrap();
}
