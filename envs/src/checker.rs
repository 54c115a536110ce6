//! [`check_env`]: checks an env keeps the Gymnasium contract, after Gymnasium's
//! `gymnasium/utils/env_checker.py` (`check_env`, `check_reset_seed_determinism`,
//! `check_step_determinism`, `check_returned_data_not_reused`), extended with action-mask checks.
//!
//! What is checked, each under a named check (see [`CheckFailure::check`]):
//! - `spaces`: the observation space is well formed; the action space is a well-formed Discrete.
//! - `reset_determinism`: `reset(seed)`, `reset(None)`, `reset(seed)`, `reset(None)` give
//!   observations 1 == 3 and 2 == 4 (Gymnasium's sequence, seeds 123 and 456 by default).
//! - `obs_in_space`: every observation returned by reset and step lies in the observation space.
//! - `rewards_finite`: every reward is finite.
//! - `step_determinism`: two rollouts from one seed with one action sequence (crossing episode ends)
//!   are identical (observations, rewards, flags, infos). Gymnasium checks one step; this checks
//!   `config.steps`.
//! - `masks`: masks have one entry per action and allow at least one action; `action_allowed`
//!   agrees with the mask; a masked action and an out-of-range action are refused with `Err` and
//!   change nothing.
//! - `no_aliasing`: mutating returned observations and infos changes nothing in the env.
//!
//! "Changes nothing" is tested by comparison: the first rollout probes refused actions and scribbles
//! over what it gets back, the second does neither, and both transcripts must match.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::env::{Env, Observation};
use crate::error::EnvError;
use crate::spaces::Space;

/// How `check_env` exercises an env.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// First reset seed (Gymnasium: 123).
    pub seed: u64,
    /// A different seed, reset once (Gymnasium: 456).
    pub other_seed: u64,
    /// Steps per rollout in the step-determinism check (episodes restart with `reset(None)`).
    pub steps: usize,
    /// Seed of the generator choosing the rollout's actions (among unmasked ones).
    pub action_seed: u64,
    /// The env is configured to accept masked actions (as a no-op with a penalty) instead of
    /// refusing them: skip the masked-action probe.
    pub masked_actions_penalised: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self {
            seed: 123,
            other_seed: 456,
            steps: 300,
            action_seed: 7,
            masked_actions_penalised: false,
        }
    }
}

/// One failed check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckFailure {
    /// Check name: `spaces`, `reset_determinism`, `obs_in_space`, `rewards_finite`,
    /// `step_determinism`, `masks`, `no_aliasing` or `env_error`.
    pub check: &'static str,
    /// What went wrong.
    pub detail: String,
}

/// What `check_env` found wrong; lists every failure.
#[derive(Clone, Debug, thiserror::Error)]
#[error("check_env({env}) failed {} check(s): {}", .failures.len(), .failures.iter().map(|f| format!("[{}] {}", f.check, f.detail)).collect::<Vec<_>>().join("; "))]
pub struct CheckError {
    /// The env's id.
    pub env: String,
    /// The failures, in the order found.
    pub failures: Vec<CheckFailure>,
}

/// What `check_env` did when every check passed.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// The env's id.
    pub env: String,
    /// Names of the checks run.
    pub checks: Vec<&'static str>,
    /// Steps taken in one rollout.
    pub steps: usize,
    /// Episodes that ended within one rollout.
    pub episodes: usize,
    /// Masked or out-of-range actions probed (each must have been refused).
    pub refused_probes: usize,
}

/// Checks `env` with the default [`CheckConfig`].
pub fn check_env(env: &mut dyn Env) -> Result<CheckReport, CheckError> {
    check_env_with(env, &CheckConfig::default())
}

/// Checks `env` with `config`. The env is left in an arbitrary state.
pub fn check_env_with(env: &mut dyn Env, config: &CheckConfig) -> Result<CheckReport, CheckError> {
    let mut c = Checker {
        failures: Vec::new(),
        obs_space: env.observation_space(),
    };
    c.check_spaces(env);
    let n = env.action_space().n().unwrap_or(0);
    if let Err(e) = c.check_reset_determinism(env, config) {
        c.fail("env_error", format!("reset failed: {e}"));
    }
    let mut report = CheckReport {
        env: env.id().to_owned(),
        checks: vec![
            "spaces",
            "reset_determinism",
            "obs_in_space",
            "rewards_finite",
            "step_determinism",
            "masks",
            "no_aliasing",
        ],
        steps: 0,
        episodes: 0,
        refused_probes: 0,
    };
    if n > 0 {
        let probed = c.rollout(env, config, n, true);
        let plain = c.rollout(env, config, n, false);
        match (probed, plain) {
            (Ok(a), Ok(b)) => {
                if let Some(t) = a.lines.iter().zip(&b.lines).position(|(x, y)| x != y) {
                    c.fail(
                        "step_determinism",
                        format!(
                            "two rollouts from seed {} with the same actions differ at line {t} (after refused actions or mutated outputs, or nondeterminism): {} vs {}",
                            config.seed, a.lines[t], b.lines[t]
                        ),
                    );
                } else if a.lines.len() != b.lines.len() {
                    c.fail(
                        "step_determinism",
                        format!(
                            "rollouts have {} and {} lines",
                            a.lines.len(),
                            b.lines.len()
                        ),
                    );
                }
                report.steps = a.steps;
                report.episodes = a.episodes;
                report.refused_probes = a.refused_probes;
            }
            (Err(e), _) | (_, Err(e)) => c.fail("env_error", format!("rollout failed: {e}")),
        }
    }
    if c.failures.is_empty() {
        Ok(report)
    } else {
        Err(CheckError {
            env: env.id().to_owned(),
            failures: c.failures,
        })
    }
}

struct Checker {
    failures: Vec<CheckFailure>,
    obs_space: Space,
}

/// One rollout's transcript and counts.
struct Rollout {
    lines: Vec<String>,
    steps: usize,
    episodes: usize,
    refused_probes: usize,
}

impl Checker {
    fn fail(&mut self, check: &'static str, detail: String) {
        // One failure per distinct message is enough to act on.
        if !self
            .failures
            .iter()
            .any(|f| f.check == check && f.detail == detail)
        {
            self.failures.push(CheckFailure { check, detail });
        }
    }

    fn check_spaces(&mut self, env: &dyn Env) {
        if let Err(e) = self.obs_space.validate() {
            self.fail("spaces", format!("observation space: {e}"));
        }
        if matches!(self.obs_space, Space::Discrete(_) | Space::MultiDiscrete(_)) {
            self.fail(
                "spaces",
                "observation space is Discrete/MultiDiscrete: expected Box or EntitySet".into(),
            );
        }
        match env.action_space() {
            Space::Discrete(d) => {
                if let Err(e) = d.validate() {
                    self.fail("spaces", format!("action space: {e}"));
                }
                if d.start != 0 {
                    self.fail(
                        "spaces",
                        format!(
                            "action space starts at {}: expected 0 (actions are indices)",
                            d.start
                        ),
                    );
                }
            }
            other => self.fail(
                "spaces",
                format!("action space is {other:?}: expected Discrete"),
            ),
        }
    }

    fn check_obs(&mut self, obs: &Observation, when: &str) {
        if !self.obs_space.contains_obs(obs) {
            self.fail(
                "obs_in_space",
                format!("observation from {when} is not in the observation space: {obs:?}"),
            );
        }
    }

    fn check_reset_determinism(
        &mut self,
        env: &mut dyn Env,
        config: &CheckConfig,
    ) -> Result<(), EnvError> {
        let (o1, _) = env.reset(Some(config.seed), None)?;
        let (o2, _) = env.reset(None, None)?;
        let (o3, _) = env.reset(Some(config.seed), None)?;
        let (o4, _) = env.reset(None, None)?;
        let (o5, _) = env.reset(Some(config.other_seed), None)?;
        for (o, when) in [
            (&o1, "reset(seed)"),
            (&o2, "reset(None)"),
            (&o3, "reset(seed)"),
            (&o4, "reset(None)"),
            (&o5, "reset(other_seed)"),
        ] {
            self.check_obs(o, when);
        }
        if o1 != o3 {
            self.fail(
                "reset_determinism",
                format!(
                    "reset(Some({})) twice gave different observations",
                    config.seed
                ),
            );
        }
        if o2 != o4 {
            self.fail(
                "reset_determinism",
                format!(
                    "reset(Some({})) then reset(None), twice, gave different observations",
                    config.seed
                ),
            );
        }
        Ok(())
    }

    /// Checks the current mask and returns it (all-true when the env has none).
    fn check_mask(&mut self, env: &dyn Env, n: usize, when: &str) -> Vec<bool> {
        match env.action_mask() {
            None => vec![true; n],
            Some(m) if m.len() != n => {
                self.fail(
                    "masks",
                    format!(
                        "mask at {when} has {} entries: expected {n} (one per action)",
                        m.len()
                    ),
                );
                vec![true; n]
            }
            Some(m) => {
                if !m.iter().any(|&b| b) {
                    self.fail(
                        "masks",
                        format!(
                            "mask at {when} allows no action: expected at least one (e.g. a no-op)"
                        ),
                    );
                }
                m
            }
        }
    }

    /// Tries an action that must be refused; records a failure if it is accepted.
    fn probe_refused(&mut self, env: &mut dyn Env, action: usize, why: &str, when: &str) -> usize {
        match env.step(action) {
            Err(_) => 1,
            Ok(_) => {
                self.fail("masks", format!("{why} action {action} at {when} was accepted: expected Err (and no state change)"));
                0
            }
        }
    }

    /// Steps `config.steps` times from `reset(seed)`. With `probe`, also tries refused actions and
    /// scribbles over every returned observation and info.
    fn rollout(
        &mut self,
        env: &mut dyn Env,
        config: &CheckConfig,
        n: usize,
        probe: bool,
    ) -> Result<Rollout, EnvError> {
        let mut rng = ChaCha8Rng::seed_from_u64(config.action_seed);
        let mut out = Rollout {
            lines: Vec::new(),
            steps: 0,
            episodes: 0,
            refused_probes: 0,
        };
        let (mut obs, mut info) = env.reset(Some(config.seed), None)?;
        for t in 0..config.steps {
            let when = format!("step {t}");
            self.check_obs(&obs, if t == 0 { "reset" } else { "step" });
            out.lines.push(format!(
                "obs {obs:?} info {}",
                serde_json::Value::Object(info.clone())
            ));
            if probe {
                scribble(&mut obs, &mut info);
            }
            let mask = self.check_mask(env, n, &when);
            if let Some(a) =
                (0..=n).find(|&a| env.action_allowed(a) != mask.get(a).copied().unwrap_or(false))
            {
                self.fail(
                    "masks",
                    format!("action_allowed({a}) at {when} disagrees with the mask (or the range)"),
                );
            }
            if probe {
                out.refused_probes += self.probe_refused(env, n, "out-of-range", &when);
                if !config.masked_actions_penalised
                    && let Some(masked) = mask.iter().position(|&b| !b)
                {
                    out.refused_probes += self.probe_refused(env, masked, "masked", &when);
                }
            }
            let valid: Vec<usize> = (0..n).filter(|&a| mask[a]).collect();
            let action = if valid.is_empty() {
                0
            } else {
                valid[rng.random_range(0..valid.len())]
            };
            let step = env.step(action)?;
            out.steps += 1;
            if !step.reward.is_finite() {
                self.fail(
                    "rewards_finite",
                    format!("reward {} at {when}: expected a finite number", step.reward),
                );
            }
            out.lines.push(format!(
                "action {action} reward {:?} terminated {} truncated {}",
                step.reward, step.terminated, step.truncated
            ));
            if step.terminated || step.truncated {
                self.check_obs(&step.obs, "the final step");
                out.lines.push(format!(
                    "final obs {:?} info {}",
                    step.obs,
                    serde_json::Value::Object(step.info)
                ));
                out.episodes += 1;
                (obs, info) = env.reset(None, None)?;
            } else {
                (obs, info) = (step.obs, step.info);
            }
        }
        Ok(out)
    }
}

/// Overwrites a returned observation and info, as a careless caller might.
fn scribble(obs: &mut Observation, info: &mut crate::env::Info) {
    match obs {
        Observation::Vector(v) => v.iter_mut().for_each(|x| *x = f32::NAN),
        Observation::Entities(e) => {
            e.global.iter_mut().for_each(|x| *x = f32::NAN);
            e.rows.iter_mut().for_each(|x| *x = f32::NAN);
        }
    }
    info.clear();
    info.insert("scribbled".into(), serde_json::Value::Bool(true));
}
