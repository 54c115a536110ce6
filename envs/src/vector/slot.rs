//! One sub-env of a vector env and its autoreset bookkeeping: the single place where the three
//! Gymnasium 1.1 autoreset modes are implemented (after `gymnasium/vector/sync_vector_env.py`,
//! `SyncVectorEnv.step`). Sync and parallel vector envs both call [`Slot::step`].

use super::{AutoresetMode, VecStep};
use crate::env::{Action, Env, Info, Observation};
use crate::error::EnvError;

/// One sub-env plus whether its last step ended the episode.
pub(crate) struct Slot {
    pub(crate) env: Box<dyn Env>,
    /// The last step ended the episode (NextStep: reset on the next step; Disabled: refuse to step).
    done: bool,
}

/// What one sub-env returns from one vector step.
#[derive(Clone)]
pub(crate) struct SlotStep {
    obs: Observation,
    reward: f64,
    terminated: bool,
    truncated: bool,
    info: Info,
}

impl Slot {
    pub(crate) fn new(env: Box<dyn Env>) -> Self {
        Self { env, done: false }
    }

    /// Resets the sub-env; `seed` is already offset by the sub-env index.
    pub(crate) fn reset(&mut self, seed: Option<u64>) -> Result<(Observation, Info), EnvError> {
        self.done = false;
        self.env.reset(seed, None)
    }

    /// Checks, without changing anything, that `step(action, mode)` would be accepted: the action is
    /// in range and unmasked (unless this step is a NextStep reset, which ignores it), and a Disabled
    /// sub-env is not finished. Vector envs check every sub-env first so a refused vector step
    /// advances none of them.
    pub(crate) fn precheck(&self, action: Action, mode: AutoresetMode) -> Result<(), EnvError> {
        match mode {
            AutoresetMode::NextStep if self.done => Ok(()),
            AutoresetMode::Disabled if self.done => Err(EnvError::EpisodeOver {
                env: self.env.id().to_owned(),
            }),
            _ if self.env.action_allowed(action) => Ok(()),
            _ => {
                // Refused: let the env's own guard say why (range or mask).
                let n = self.env.action_space().n().unwrap_or(0);
                let mask = self.env.action_mask();
                crate::env::validate_action(self.env.id(), action, n, mask.as_deref()).and(Err(
                    EnvError::MaskedAction {
                        env: self.env.id().to_owned(),
                        action,
                    },
                ))
            }
        }
    }

    /// One step under `mode`.
    pub(crate) fn step(
        &mut self,
        action: Action,
        mode: AutoresetMode,
    ) -> Result<SlotStep, EnvError> {
        match mode {
            AutoresetMode::NextStep if self.done => {
                let (obs, info) = self.reset(None)?;
                Ok(SlotStep {
                    obs,
                    reward: 0.0,
                    terminated: false,
                    truncated: false,
                    info,
                })
            }
            AutoresetMode::Disabled if self.done => Err(EnvError::EpisodeOver {
                env: self.env.id().to_owned(),
            }),
            AutoresetMode::NextStep | AutoresetMode::Disabled => {
                let s = self.env.step(action)?;
                self.done = s.terminated || s.truncated;
                Ok(SlotStep {
                    obs: s.obs,
                    reward: s.reward,
                    terminated: s.terminated,
                    truncated: s.truncated,
                    info: s.info,
                })
            }
            AutoresetMode::SameStep => {
                let s = self.env.step(action)?;
                if s.terminated || s.truncated {
                    let final_obs = s.obs.to_json();
                    let final_info = serde_json::Value::Object(s.info);
                    let (obs, mut info) = self.reset(None)?;
                    info.insert("final_obs".into(), final_obs);
                    info.insert("final_info".into(), final_info);
                    Ok(SlotStep {
                        obs,
                        reward: s.reward,
                        terminated: s.terminated,
                        truncated: s.truncated,
                        info,
                    })
                } else {
                    Ok(SlotStep {
                        obs: s.obs,
                        reward: s.reward,
                        terminated: false,
                        truncated: false,
                        info: s.info,
                    })
                }
            }
        }
    }
}

/// Checks there is one action per sub-env and that every sub-env would accept its action
/// ([`Slot::precheck`]); the lowest-index refusal wins.
pub(crate) fn precheck_all(
    slots: &[Slot],
    actions: &[Action],
    mode: AutoresetMode,
) -> Result<(), EnvError> {
    check_count(slots.len(), actions.len())?;
    for (index, (slot, &a)) in slots.iter().zip(actions).enumerate() {
        slot.precheck(a, mode).map_err(|e| EnvError::SubEnv {
            index,
            source: Box::new(e),
        })?;
    }
    Ok(())
}

/// Checks that there is one action per sub-env.
pub(crate) fn check_count(expected: usize, got: usize) -> Result<(), EnvError> {
    if expected == got {
        Ok(())
    } else {
        Err(EnvError::WrongActionCount { expected, got })
    }
}

/// Checks a set of sub-envs is non-empty and that all share the first one's spaces.
pub(crate) fn check_envs(envs: &[Box<dyn Env>]) -> Result<(), EnvError> {
    let first = envs.first().ok_or_else(|| EnvError::InvalidVector {
        reason: "no sub-envs: expected at least one".into(),
    })?;
    let (obs_space, act_space) = (first.observation_space(), first.action_space());
    for (i, e) in envs.iter().enumerate().skip(1) {
        if e.observation_space() != obs_space || e.action_space() != act_space {
            return Err(EnvError::InvalidVector {
                reason: format!(
                    "sub-env {i} ({}) has different spaces from sub-env 0 ({}): expected identical spaces",
                    e.id(),
                    first.id()
                ),
            });
        }
    }
    Ok(())
}

/// Gathers per-sub-env results (in sub-env order) into a [`VecStep`]; the lowest-index error wins,
/// so sync and parallel report the same one.
pub(crate) fn gather(results: Vec<Result<SlotStep, EnvError>>) -> Result<VecStep, EnvError> {
    let n = results.len();
    let mut out = VecStep {
        obs: Vec::with_capacity(n),
        rewards: Vec::with_capacity(n),
        terminated: Vec::with_capacity(n),
        truncated: Vec::with_capacity(n),
        infos: Vec::with_capacity(n),
    };
    for (index, r) in results.into_iter().enumerate() {
        let s = r.map_err(|e| EnvError::SubEnv {
            index,
            source: Box::new(e),
        })?;
        out.obs.push(s.obs);
        out.rewards.push(s.reward);
        out.terminated.push(s.terminated);
        out.truncated.push(s.truncated);
        out.infos.push(s.info);
    }
    Ok(out)
}

/// Gathers reset results (in order) into observations and infos; lowest-index error wins.
pub(crate) fn gather_resets(
    results: Vec<Result<(Observation, Info), EnvError>>,
) -> Result<(Vec<Observation>, Vec<Info>), EnvError> {
    let mut obs = Vec::with_capacity(results.len());
    let mut infos = Vec::with_capacity(results.len());
    for (index, r) in results.into_iter().enumerate() {
        let (o, i) = r.map_err(|e| EnvError::SubEnv {
            index,
            source: Box::new(e),
        })?;
        obs.push(o);
        infos.push(i);
    }
    Ok((obs, infos))
}

/// Sub-env `i`'s seed: `seed + i` (Gymnasium), wrapping on overflow.
pub(crate) fn sub_seed(seed: Option<u64>, i: usize) -> Option<u64> {
    seed.map(|s| s.wrapping_add(i as u64))
}

/// What `reset_where` returns for a sub-env it leaves alone.
pub(crate) fn untouched() -> Result<(Observation, Info), EnvError> {
    Ok((Observation::Vector(Vec::new()), Info::new()))
}
