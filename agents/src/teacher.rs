//! Teachers for warm starts: the expert runbook (the shipped file or a runbook file given by path) or
//! the reactive controller acting on a training vector env, one stateful controller per sub-env, and
//! the recording of their transitions.
//!
//! Owns [`Teacher`] (by name, [`TEACHERS`], or a runbook file's path: [`is_runbook_file`],
//! [`check_teacher`]), [`teachers_named`], [`TeacherData`] (a step-major
//! rollout of teacher transitions with the final observations of truncated episodes),
//! [`record_teacher`] and [`record_warm_start`] (the recording step both warm starts run). PPO's behaviour cloning ([`crate::ppo::warm_start`]) and DQN's learning from
//! demonstrations ([`crate::dqn::warm_start`]) read the same data, recorded the same way.

use std::path::Path;

use mend_envs::{Observation, VectorEnv};

use crate::baselines::reactive::{ReactiveConfig, ReactiveController};
use crate::baselines::runbook::Runbook;
use crate::baselines::view::kind_names_from_info;
use crate::baselines::{BaselineError, Controller};
use crate::error::AgentError;
use crate::obs::final_entity_obs;

/// Offset added to the agent's seed for the reset seed of the teacher's recorded rollout, so the
/// teacher's episodes differ from the agent's own (which reset with `seed + num_timesteps`).
pub const TEACHER_SEED_OFFSET: u64 = 1 << 40;

/// The teacher names a warm start accepts (`PpoConfig::warm_start`, `DqnConfig::warm_start`).
/// PPO's warm start also takes the path of a runbook file ([`is_runbook_file`]).
pub const TEACHERS: [&str; 2] = ["runbook", "reactive"];

/// Whether a warm start's `teacher` value is the path of a runbook file (it ends in `.toml`; same
/// format as the shipped agents/runbooks/default.toml) rather than one of [`TEACHERS`].
pub fn is_runbook_file(teacher: &str) -> bool {
    teacher.ends_with(".toml")
}

/// Checks a warm start's `teacher` value: one of [`TEACHERS`] or a runbook file's path
/// ([`is_runbook_file`]); `field` names the config field in the error. The file itself is read
/// (and its errors name it) when the teacher is built ([`Teacher::named`]), so a config recorded in a
/// policy file still validates where the runbook file is absent.
pub fn check_teacher(field: &'static str, teacher: &str) -> Result<(), AgentError> {
    if TEACHERS.contains(&teacher) || is_runbook_file(teacher) {
        return Ok(());
    }
    Err(unknown_teacher(field, teacher))
}

/// The error of a `teacher` value that is neither one of [`TEACHERS`] nor a runbook file's path.
fn unknown_teacher(field: &'static str, teacher: &str) -> AgentError {
    AgentError::InvalidConfig {
        field,
        expected: "must be \"runbook\", \"reactive\" or the path of a runbook file ending in .toml",
        got: format!("{teacher:?}"),
    }
}

/// A stateful teacher for one sub-env (call [`Teacher::decide`] once per decision, in order, and
/// [`Teacher::reset`] when its episode ends).
#[derive(Clone, Debug)]
pub enum Teacher {
    /// The expert runbook.
    Runbook(Box<Runbook>),
    /// The Kubernetes-style reactive controller.
    Reactive(Box<ReactiveController>),
}

impl Teacher {
    /// A fresh teacher by name: `"runbook"` (the shipped expert runbook,
    /// agents/runbooks/default.toml), `"reactive"` (the Kubernetes-style controller with
    /// `ReactiveConfig::tuned()`), or the path of a runbook file ([`is_runbook_file`]; relative to
    /// the working directory), read and validated here: its errors name the file, the field and the
    /// line. Any other name is refused naming `warm_start.teacher`.
    pub fn named(name: &str, kind_names: Vec<String>) -> Result<Self, AgentError> {
        let schema = mend_monitor::features::FeatureSchema::builtin();
        Ok(match name {
            "reactive" => Teacher::Reactive(Box::new(ReactiveController::new(
                ReactiveConfig::tuned(),
                schema,
                kind_names,
            )?)),
            "runbook" => Teacher::Runbook(Box::new(Runbook::default_runbook(schema, kind_names)?)),
            path if is_runbook_file(path) => Teacher::Runbook(Box::new(Runbook::from_file(
                Path::new(path),
                schema,
                kind_names,
            )?)),
            other => return Err(unknown_teacher("warm_start.teacher", other)),
        })
    }

    /// The teacher's action for this decision (its timers advance by one decision interval).
    pub fn decide(
        &mut self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<usize, AgentError> {
        let a: Result<usize, BaselineError> = match self {
            Teacher::Runbook(c) => c.decide(obs, mask),
            Teacher::Reactive(c) => c.decide(obs, mask),
        };
        Ok(a?)
    }

    /// Forgets all timers (a new episode).
    pub fn reset(&mut self) {
        match self {
            Teacher::Runbook(c) => c.reset(),
            Teacher::Reactive(c) => c.reset(),
        }
    }
}

/// One fresh teacher named `teacher` (one of [`TEACHERS`] or a runbook file's path) per sub-env, reading the action kinds from
/// the env's reset info. `field` names the config field in errors (`warm_start.teacher`).
pub fn teachers_named(
    teacher: &str,
    reset_infos: &[mend_envs::Info],
    num_envs: usize,
) -> Result<Vec<Teacher>, AgentError> {
    let kinds = reset_infos
        .first()
        .and_then(kind_names_from_info)
        .ok_or_else(|| AgentError::ObservationMismatch {
            expected: "a cluster env whose reset info lists `action_kinds` (warm_start.teacher)"
                .into(),
            got: "a reset info without them".into(),
        })?;
    let teacher = Teacher::named(teacher, kinds)?;
    Ok(vec![teacher; num_envs])
}

/// Teacher transitions, stored step-major (`index = step * num_envs + env`) as a rollout.
#[derive(Clone, Debug, Default)]
pub struct TeacherData {
    /// Parallel envs.
    pub num_envs: usize,
    /// Observations the teacher acted on.
    pub obs: Vec<Observation>,
    /// Masks, `len x n_actions` (all true where the env gave none).
    pub masks: Vec<bool>,
    /// Whether any mask forbids an action.
    pub any_masked: bool,
    /// The teacher's actions.
    pub actions: Vec<usize>,
    /// Rewards (already multiplied by the agent's `reward_scale`).
    pub rewards: Vec<f32>,
    /// Terminated flags.
    pub terminated: Vec<bool>,
    /// Truncated flags.
    pub truncated: Vec<bool>,
    /// `(index, final observation)` of every truncated, not terminated, step.
    pub final_obs: Vec<(usize, Observation)>,
    /// Observation after the last step, per env (the bootstrap of unfinished episodes).
    pub last_obs: Vec<Observation>,
}

impl TeacherData {
    /// Number of transitions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Share of transitions where the teacher acted.
    pub fn act_share(&self) -> f64 {
        self.actions.iter().filter(|&&a| a != 0).count() as f64 / self.len().max(1) as f64
    }

    /// Records the mask the teacher decided under (all `n_actions` true where the env gave none).
    fn push_mask(&mut self, mask: Option<&[bool]>, n_actions: usize) {
        match mask {
            Some(m) => {
                self.any_masked |= m.iter().any(|&v| !v);
                self.masks.extend_from_slice(m);
            }
            None => self.masks.extend(std::iter::repeat_n(true, n_actions)),
        }
    }
}

/// Rolls `teachers` (one per sub-env) on `env` for `steps_per_env` steps each from a reset with
/// `seed`, recording every transition; rewards are multiplied by `reward_scale`.
pub fn record_teacher(
    env: &mut dyn VectorEnv,
    teachers: &mut [Teacher],
    steps_per_env: usize,
    seed: u64,
    reward_scale: f64,
    n_actions: usize,
) -> Result<TeacherData, AgentError> {
    let n = env.num_envs();
    let (mut obs, _) = env.reset(Some(seed))?;
    teachers.iter_mut().for_each(Teacher::reset);
    let mut data = TeacherData {
        num_envs: n,
        ..TeacherData::default()
    };
    for _ in 0..steps_per_env {
        let masks = env.action_masks();
        let mut actions = Vec::with_capacity(n);
        for (e, mask) in masks.iter().enumerate() {
            let mask = mask.as_deref();
            actions.push(teachers[e].decide(&obs[e], mask)?);
            data.push_mask(mask, n_actions);
        }
        let step = env.step(&actions)?;
        for (e, teacher) in teachers.iter_mut().enumerate() {
            let index = data.actions.len() + e;
            if step.truncated[e] && !step.terminated[e] {
                let fo = Observation::Entities(final_entity_obs(&step.infos[e], e)?);
                data.final_obs.push((index, fo));
            }
            if step.terminated[e] || step.truncated[e] {
                teacher.reset();
            }
        }
        data.obs.append(&mut obs);
        data.actions.extend_from_slice(&actions);
        data.rewards
            .extend(step.rewards.iter().map(|&r| (r * reward_scale) as f32));
        data.terminated.extend_from_slice(&step.terminated);
        data.truncated.extend_from_slice(&step.truncated);
        obs = step.obs;
    }
    data.last_obs = obs;
    Ok(data)
}

/// The recording step of a warm start (PPO's behaviour cloning and DQN's demonstrations): one fresh
/// `teacher` (one of [`TEACHERS`] or a runbook file's path) per sub-env of `env`, rolled from a reset with `agent_seed +`
/// [`TEACHER_SEED_OFFSET`] for `steps` transitions over all sub-envs (rounded up to a multiple of
/// `num_envs`), rewards multiplied by `reward_scale`.
pub fn record_warm_start(
    env: &mut dyn VectorEnv,
    teacher: &str,
    steps: u64,
    agent_seed: u64,
    reward_scale: f64,
    n_actions: usize,
) -> Result<TeacherData, AgentError> {
    let n = env.num_envs();
    let seed = agent_seed.wrapping_add(TEACHER_SEED_OFFSET);
    let (_, infos) = env.reset(Some(seed))?;
    let mut teachers = teachers_named(teacher, &infos, n)?;
    let steps_per_env = (steps as usize).div_ceil(n);
    record_teacher(
        env,
        &mut teachers,
        steps_per_env,
        seed,
        reward_scale,
        n_actions,
    )
}

/// The recording of a warm start on a single env (tabular Q's `learn` over training seeds): one
/// fresh `teacher` (one of [`TEACHERS`] or a runbook file's path) plays episodes reset with
/// `seeds[k % seeds.len()]` for episode `k`, for `steps` transitions in all, recorded as a
/// one-env [`TeacherData`] (rewards multiplied by `reward_scale`; the final observation of a
/// truncated episode kept in `final_obs`).
pub fn record_teacher_on_env(
    env: &mut dyn mend_envs::Env,
    teacher: &str,
    seeds: &[u64],
    steps: u64,
    reward_scale: f64,
    n_actions: usize,
) -> Result<TeacherData, AgentError> {
    let Some(&first) = seeds.first() else {
        return Err(AgentError::InvalidConfig {
            field: "train_seeds",
            expected: "at least one seed",
            got: "none".into(),
        });
    };
    let (mut obs, info) = env.reset(Some(first), None)?;
    let mut t = teachers_named(teacher, std::slice::from_ref(&info), 1)?.remove(0);
    let mut data = TeacherData {
        num_envs: 1,
        ..TeacherData::default()
    };
    let mut episode = 0usize;
    for _ in 0..steps {
        let mask = env.action_mask();
        let action = t.decide(&obs, mask.as_deref())?;
        data.push_mask(mask.as_deref(), n_actions);
        let step = env.step(action)?;
        let index = data.actions.len();
        data.actions.push(action);
        data.rewards.push((step.reward * reward_scale) as f32);
        data.terminated.push(step.terminated);
        data.truncated.push(step.truncated);
        let previous = std::mem::replace(&mut obs, step.obs);
        data.obs.push(previous);
        if step.terminated || step.truncated {
            if step.truncated && !step.terminated {
                data.final_obs.push((index, obs.clone()));
            }
            episode += 1;
            t.reset();
            obs = env.reset(Some(seeds[episode % seeds.len()]), None)?.0;
        }
    }
    data.last_obs = vec![obs];
    Ok(data)
}
