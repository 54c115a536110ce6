//! Test-only envs shared by the integration tests.
#![allow(dead_code)]

use mend_envs::{Action, BoxSpace, Discrete, Env, EnvError, Info, Observation, Space, Step};
use serde_json::json;

/// A transparent env: observation `[steps, seed_tag, episode since the last seeded reset]`; reward = steps after the action;
/// terminates after `len` steps, or truncates instead when `truncate` is set. Action 2 is masked.
#[derive(Debug, Clone)]
pub(crate) struct CountEnv {
    pub(crate) len: u32,
    pub(crate) truncate: bool,
    steps: u32,
    seed_tag: f32,
    episode: u32,
    started: bool,
}

impl CountEnv {
    pub(crate) fn new(len: u32, truncate: bool) -> Self {
        Self {
            len,
            truncate,
            steps: 0,
            seed_tag: -1.0,
            episode: 0,
            started: false,
        }
    }
    fn obs(&self) -> Observation {
        Observation::Vector(vec![self.steps as f32, self.seed_tag, self.episode as f32])
    }
}

impl Env for CountEnv {
    fn reset(
        &mut self,
        seed: Option<u64>,
        _options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        // A seed restarts the episode count (so reset(seed) is reproducible); no seed continues it.
        if let Some(s) = seed {
            self.seed_tag = s as f32;
            self.episode = 0;
        } else if self.started {
            self.episode += 1;
        }
        self.started = true;
        self.steps = 0;
        let mut info = Info::new();
        info.insert("reset".into(), json!(self.episode));
        Ok((self.obs(), info))
    }
    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        mend_envs::env::validate_action("test/Count-v0", action, 3, Some(&[true, true, false]))?;
        if !self.started {
            return Err(EnvError::NotReset {
                env: "test/Count-v0".into(),
            });
        }
        if self.steps >= self.len {
            return Err(EnvError::EpisodeOver {
                env: "test/Count-v0".into(),
            });
        }
        self.steps += 1;
        let done = self.steps == self.len;
        let mut info = Info::new();
        info.insert("step".into(), json!(self.steps));
        Ok(Step {
            obs: self.obs(),
            reward: f64::from(self.steps),
            terminated: done && !self.truncate,
            truncated: done && self.truncate,
            info,
        })
    }
    fn observation_space(&self) -> Space {
        Space::Box(BoxSpace::uniform(3, -1.0, f32::INFINITY))
    }
    fn action_space(&self) -> Space {
        Space::Discrete(Discrete::new(3))
    }
    fn action_mask(&self) -> Option<Vec<bool>> {
        Some(vec![true, true, false])
    }
    fn id(&self) -> &str {
        "test/Count-v0"
    }
}

/// A random masked action on one step in ten, else the no-op (action 0): the light, seeded action
/// script of the cluster tests that compare an env with and without an observation add-on.
pub(crate) fn occasional_valid_action(mask: &[bool], rng: &mut rand_chacha::ChaCha8Rng) -> usize {
    use rand::Rng;
    let valid: Vec<usize> = (1..mask.len()).filter(|&i| mask[i]).collect();
    if rng.random_bool(0.1) && !valid.is_empty() {
        valid[rng.random_range(0..valid.len())]
    } else {
        0
    }
}
