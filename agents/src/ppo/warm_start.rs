//! Warm start of PPO by behaviour cloning a teacher, then an auxiliary imitation loss that fades out
//! ("kickstarting": Schmitt et al. 2018, arXiv:1803.03835, §3: a distillation term
//! `λ_k · H(π_teacher(·|s), π(·|s))` on the student's own rollout states, `λ_k` decayed to 0; DAPG:
//! Rajeswaran et al. 2018, arXiv:1709.10087, §4: behaviour cloning before policy-gradient
//! fine-tuning, with an imitation term whose weight decays).
//!
//! Owns: the [`WarmStartConfig`] (`PpoConfig::warm_start`), the behaviour-cloning fit
//! ([`Ppo::warm_start`]: masked, act-weighted cross-entropy on the logits plus the value head regressed on the teacher's discounted returns,
//! truncation bootstrapped from the value head being fitted), the coefficient schedule of the
//! auxiliary loss during PPO, and [`teacher_agreement`] (how often a policy takes the teacher's action
//! on held-out teacher states). The teachers and their recorded rollouts live in [`crate::teacher`]
//! (shared with DQN's warm start) and are re-exported here.
//!
//! The runbook mostly waits (no-op on about 80-95 % of `default`'s steps), so a plain cross-entropy
//! fit would learn "never act"; acting samples get weight `act_weight` (class re-weighting, as
//! King & Zeng 2001 for rare events). The value head is fitted too: PPO's first updates with an
//! untrained critic give advantages of pure noise that undo the cloned policy.

use candle_core::{D, Device, Tensor};
use mend_envs::{Observation, VectorEnv};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::nets::{CandleNets, Nets, as_entities};
use super::{MASKED_LOGIT, Ppo};
use crate::agent::MetricSink;
use crate::error::AgentError;
use crate::gae::{GaeInput, compute_gae};
use crate::nn::entity_candle::EntityBatch;
use crate::optim::{Adam, clip_grad_norm};
use crate::policy::Policy;
pub use crate::teacher::{
    TEACHER_SEED_OFFSET, TEACHERS, Teacher, TeacherData, check_teacher, is_runbook_file,
    record_teacher, teachers_named,
};

/// `PpoConfig::warm_start`: behaviour cloning of a teacher before PPO, and the fading imitation term
/// during PPO. In an experiment file: `warm_start = { teacher = "runbook", steps = 23040 }`; fields
/// not given keep the defaults below.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarmStartConfig {
    /// `"runbook"` (the shipped expert runbook, agents/runbooks/default.toml), `"reactive"` (the
    /// Kubernetes-style controller with `ReactiveConfig::tuned()`), or the path of a runbook file
    /// ending in `.toml` (same format as the shipped one; relative to the working directory; read
    /// when the teacher is built, [`Teacher::named`]): e.g. a runbook whose `for_s` fits a world's
    /// decision interval.
    pub teacher: String,
    /// Teacher transitions recorded on the training vector env, over all its sub-envs (rounded up to
    /// a multiple of `num_envs`). Default 23,040 (32 `default` episodes of 720 decisions).
    pub steps: u64,
    /// Epochs of the fit over the recorded transitions.
    pub epochs: usize,
    /// Transitions per minibatch of the fit.
    pub minibatch_size: usize,
    /// Adam learning rate of the fit (constant; a fresh Adam, not PPO's).
    pub learning_rate: f64,
    /// Weight of a transition where the teacher acts, relative to 1 for a no-op (the class balance of
    /// the cross-entropy, both in the fit and in the auxiliary loss).
    pub act_weight: f64,
    /// Coefficient of the auxiliary cross-entropy to the teacher's action on PPO's own rollout states
    /// at PPO's first step (0 turns the term off, and with it the teachers during rollouts).
    pub bc_coef: f64,
    /// PPO steps over which `bc_coef` decays linearly to 0.
    pub bc_decay_steps: u64,
}

impl Default for WarmStartConfig {
    fn default() -> Self {
        Self {
            teacher: "runbook".into(),
            steps: 23_040,
            epochs: 8,
            minibatch_size: 256,
            learning_rate: 1e-3,
            act_weight: 3.0,
            bc_coef: 0.5,
            bc_decay_steps: 50_000,
        }
    }
}

impl WarmStartConfig {
    /// Checks every field; errors name it as `warm_start.FIELD`.
    pub fn validate(&self) -> Result<(), AgentError> {
        use crate::config_check as check;
        crate::teacher::check_teacher("warm_start.teacher", &self.teacher)?;
        check::at_least_one("warm_start.steps", self.steps)?;
        check::at_least_one("warm_start.epochs", self.epochs as u64)?;
        check::at_least_one("warm_start.minibatch_size", self.minibatch_size as u64)?;
        check::positive_finite("warm_start.learning_rate", self.learning_rate)?;
        check::positive_finite("warm_start.act_weight", self.act_weight)?;
        check::non_negative_finite("warm_start.bc_coef", self.bc_coef)
    }

    /// The auxiliary loss's coefficient after `ppo_steps` PPO steps: `bc_coef` decaying linearly to 0
    /// at `bc_decay_steps` (0 from the start when `bc_decay_steps` is 0).
    pub fn bc_coef_at(&self, ppo_steps: u64) -> f64 {
        if self.bc_decay_steps == 0 {
            return 0.0;
        }
        self.bc_coef * (1.0 - ppo_steps as f64 / self.bc_decay_steps as f64).max(0.0)
    }

    /// One fresh teacher of this config's kind, for an env whose action kinds are `kind_names`.
    pub fn teacher(&self, kind_names: Vec<String>) -> Result<Teacher, AgentError> {
        Teacher::named(&self.teacher, kind_names)
    }
}

/// One fresh teacher of `config`'s kind per sub-env, reading the action kinds from the env's reset
/// info ([`teachers_named`]).
pub fn teachers_for(
    config: &WarmStartConfig,
    reset_infos: &[mend_envs::Info],
    num_envs: usize,
) -> Result<Vec<Teacher>, AgentError> {
    teachers_named(&config.teacher, reset_infos, num_envs)
}

/// What [`Ppo::warm_start`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarmStartReport {
    /// Teacher transitions recorded.
    pub transitions: u64,
    /// Share of them where the teacher acted.
    pub teacher_act_share: f64,
    /// Gradient steps of the fit.
    pub gradient_steps: u64,
    /// Weighted cross-entropy of the last epoch (mean over its minibatches).
    pub final_bc_loss: f64,
    /// Value loss `0.5 * mean((V - R)^2)` of the last epoch, in scaled reward units.
    pub final_value_loss: f64,
    /// Share of the recorded transitions where the fitted policy's deterministic decision
    /// (act-then-choose) equals the teacher's action.
    pub train_agreement: f64,
}

/// Agreement of a policy with a teacher on the teacher's own states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Decisions compared.
    pub steps: u64,
    /// Decisions where the teacher acted.
    pub teacher_acts: u64,
    /// Decisions where the policy took exactly the teacher's action.
    pub agree: u64,
    /// Acting decisions of the teacher the policy matched exactly.
    pub agree_on_acts: u64,
    /// Decisions where the policy acted (any action) while the teacher waited.
    pub false_acts: u64,
}

impl Agreement {
    /// Share of all decisions matched.
    pub fn accuracy(&self) -> f64 {
        self.agree as f64 / self.steps.max(1) as f64
    }
    /// Share of the teacher's acting decisions matched exactly (always-no-op scores 0).
    pub fn act_recall(&self) -> f64 {
        self.agree_on_acts as f64 / self.teacher_acts.max(1) as f64
    }
    /// Accuracy of a policy that never acts: the teacher's no-op share.
    pub fn noop_accuracy(&self) -> f64 {
        1.0 - self.teacher_acts as f64 / self.steps.max(1) as f64
    }
}

/// Rolls the teacher (it drives the env) for `steps_per_env` steps per sub-env from a reset with
/// `seed`, and counts how often `policy`'s deterministic decision equals the teacher's action.
pub fn teacher_agreement(
    policy: &dyn Policy,
    env: &mut dyn VectorEnv,
    config: &WarmStartConfig,
    steps_per_env: usize,
    seed: u64,
) -> Result<Agreement, AgentError> {
    let n = env.num_envs();
    let (mut obs, infos) = env.reset(Some(seed))?;
    let mut teachers = teachers_for(config, &infos, n)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Agreement::default();
    for _ in 0..steps_per_env {
        let masks = env.action_masks();
        let mut actions = Vec::with_capacity(n);
        for (e, mask) in masks.iter().enumerate() {
            let mask = mask.as_deref();
            let teacher = teachers[e].decide(&obs[e], mask)?;
            let student = policy.predict(&obs[e], mask, true, &mut rng)?;
            out.steps += 1;
            out.teacher_acts += u64::from(teacher != 0);
            out.agree += u64::from(student == teacher);
            out.agree_on_acts += u64::from(teacher != 0 && student == teacher);
            out.false_acts += u64::from(teacher == 0 && student != 0);
            actions.push(teacher);
        }
        let step = env.step(&actions)?;
        for (e, teacher) in teachers.iter_mut().enumerate() {
            if step.terminated[e] || step.truncated[e] {
                teacher.reset();
            }
        }
        obs = step.obs;
    }
    Ok(out)
}

/// Weighted cross-entropy `-sum_i w_i log p_i[a_i] / sum_i w_i` of log-probabilities `logp_all`
/// (`[B, A]`) against `targets`, weight `act_weight` where the target acts and 1 for the no-op.
pub fn weighted_cross_entropy(
    logp_all: &Tensor,
    targets: &[usize],
    act_weight: f64,
) -> candle_core::Result<Tensor> {
    let dev = logp_all.device();
    let b = targets.len();
    let idx: Vec<u32> = targets.iter().map(|&a| a as u32).collect();
    let w: Vec<f32> = targets
        .iter()
        .map(|&a| if a == 0 { 1.0 } else { act_weight as f32 })
        .collect();
    let total: f32 = w.iter().sum();
    let logp = logp_all
        .gather(&Tensor::from_vec(idx, (b, 1), dev)?, 1)?
        .squeeze(1)?;
    let weighted = (logp * Tensor::from_vec(w, b, dev)?)?.sum_all()?;
    weighted.neg()? / f64::from(total.max(f32::MIN_POSITIVE))
}

/// Log-probabilities `[B, A]` of the entity network on the transitions `idx` of `obs`, masked with
/// `masks` (`len x n_actions`) when `any_masked`, and the values `[B]`.
pub(super) fn masked_log_probs(
    nets: &CandleNets,
    spec_widths: (usize, usize),
    obs: &[&Observation],
    masks: Option<&[&[bool]]>,
    n_actions: usize,
) -> Result<(Tensor, Tensor), AgentError> {
    let dev = Device::Cpu;
    let mut batch = EntityBatch::new(spec_widths.0, spec_widths.1);
    for o in obs {
        batch.push(as_entities(o)?);
    }
    let (mut logits, values) = nets.forward(&super::nets::MinibatchObs::Entities(batch))?;
    if logits.dim(1)? != n_actions {
        return Err(AgentError::ObservationMismatch {
            expected: format!("observations giving {n_actions} actions"),
            got: format!("a minibatch giving {} actions", logits.dim(1)?),
        });
    }
    if let Some(masks) = masks {
        let bias: Vec<f32> = masks
            .iter()
            .flat_map(|m| m.iter().map(|&ok| if ok { 0.0 } else { MASKED_LOGIT }))
            .collect();
        logits = logits.add(&Tensor::from_vec(bias, (obs.len(), n_actions), &dev)?)?;
    }
    Ok((candle_nn::ops::log_softmax(&logits, D::Minus1)?, values))
}

impl Ppo {
    /// Behaviour cloning of the configured teacher (`config.warm_start`, required): records
    /// `warm_start.steps` teacher transitions on `env` (reset with `seed + TEACHER_SEED_OFFSET`), then
    /// fits the logits (act-weighted masked cross-entropy) and the value head (the teacher's discounted
    /// returns, truncation bootstrapped from the value head as fitted so far, re-computed each epoch)
    /// for `warm_start.epochs` epochs of shuffled minibatches. Entity networks only. Called by `learn`
    /// before the first PPO rollout; a checkpoint records that it ran, so a resumed run skips it.
    pub fn warm_start(
        &mut self,
        env: &mut dyn VectorEnv,
        sink: &mut dyn MetricSink,
    ) -> Result<WarmStartReport, AgentError> {
        let ws = crate::config_check::warm_start_section(&self.config.warm_start)?;
        let widths = match &self.nets {
            Nets::Entity(p) => (p.spec.row_width, p.spec.global_width),
            Nets::Mlp { .. } => {
                return Err(AgentError::InvalidConfig {
                    field: "warm_start",
                    expected: "needs the entity network (the cluster env)",
                    got: "an MLP agent".into(),
                });
            }
        };
        self.check_env(env)?;
        let data = crate::teacher::record_warm_start(
            env,
            &ws.teacher,
            ws.steps,
            self.config.seed,
            self.config.reward_scale,
            self.n_actions,
        )?;

        let lengths: Vec<usize> = self.nets.tensors().iter().map(|t| t.len()).collect();
        let mut adam = Adam::new(&lengths, self.config.adam_eps);
        let mut indices: Vec<usize> = (0..data.len()).collect();
        let mut report = WarmStartReport {
            transitions: data.len() as u64,
            teacher_act_share: data.act_share(),
            gradient_steps: 0,
            final_bc_loss: f64::NAN,
            final_value_loss: f64::NAN,
            train_agreement: f64::NAN,
        };
        for epoch in 0..ws.epochs {
            let returns = self.teacher_returns(&data)?;
            indices.shuffle(&mut self.rng);
            let (mut ce_sum, mut v_sum, mut k) = (0.0, 0.0, 0usize);
            for mb in indices.chunks(ws.minibatch_size) {
                let (ce, v) = self.bc_step(&data, &returns, mb, &ws, widths, &mut adam)?;
                ce_sum += ce;
                v_sum += v;
                k += 1;
            }
            report.gradient_steps += k as u64;
            report.final_bc_loss = ce_sum / k.max(1) as f64;
            report.final_value_loss = v_sum / k.max(1) as f64;
            if !(report.final_bc_loss.is_finite() && report.final_value_loss.is_finite()) {
                return Err(AgentError::NonFinite {
                    what: "warm-start loss",
                    update: epoch as u64,
                });
            }
            sink.record(0, "warm_start/bc_loss", report.final_bc_loss);
            sink.record(0, "warm_start/value_loss", report.final_value_loss);
        }
        let policy = self.policy_net();
        // The recording's reset seed, as before the recording moved to `teacher::record_warm_start`.
        let seed = self.config.seed.wrapping_add(TEACHER_SEED_OFFSET);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut agree = 0usize;
        for (i, (o, &a)) in data.obs.iter().zip(&data.actions).enumerate() {
            let mask = &data.masks[i * self.n_actions..(i + 1) * self.n_actions];
            agree += usize::from(policy.predict(o, Some(mask), true, &mut rng)? == a);
        }
        report.train_agreement = agree as f64 / data.len().max(1) as f64;
        sink.record(0, "warm_start/teacher_act_share", report.teacher_act_share);
        sink.record(0, "warm_start/train_agreement", report.train_agreement);
        self.warm_started = true;
        Ok(report)
    }

    /// The teacher's discounted returns (GAE with lambda 1 over zero values is the Monte-Carlo
    /// return), bootstrapped from the current value head at truncations and at the data's end.
    fn teacher_returns(&self, data: &TeacherData) -> Result<Vec<f32>, AgentError> {
        let mut final_values = vec![0.0f32; data.len()];
        for (i, fo) in &data.final_obs {
            final_values[*i] = self.nets.value(fo)?;
        }
        let last_values = data
            .last_obs
            .iter()
            .map(|o| self.nets.value(o))
            .collect::<Result<Vec<f32>, _>>()?;
        let zeros = vec![0.0f32; data.len()];
        let (_, returns) = compute_gae(
            GaeInput {
                rewards: &data.rewards,
                values: &zeros,
                terminated: &data.terminated,
                truncated: &data.truncated,
                final_values: &final_values,
                last_values: &last_values,
            },
            data.num_envs,
            self.config.gamma as f32,
            1.0,
        );
        Ok(returns)
    }

    /// One gradient step of the fit on transitions `idx`: `(cross-entropy, value loss)`.
    fn bc_step(
        &mut self,
        data: &TeacherData,
        returns: &[f32],
        idx: &[usize],
        ws: &WarmStartConfig,
        widths: (usize, usize),
        adam: &mut Adam,
    ) -> Result<(f64, f64), AgentError> {
        let na = self.n_actions;
        let obs: Vec<&Observation> = idx.iter().map(|&i| &data.obs[i]).collect();
        let masks: Vec<&[bool]> = idx
            .iter()
            .map(|&i| &data.masks[i * na..(i + 1) * na])
            .collect();
        let nets = CandleNets::new(&self.nets, &Device::Cpu)?;
        let (logp_all, values) = masked_log_probs(
            &nets,
            widths,
            &obs,
            data.any_masked.then_some(masks.as_slice()),
            na,
        )?;
        let targets: Vec<usize> = idx.iter().map(|&i| data.actions[i]).collect();
        let ce = weighted_cross_entropy(&logp_all, &targets, ws.act_weight)?;
        let ret: Vec<f32> = idx.iter().map(|&i| returns[i]).collect();
        let ret = Tensor::from_vec(ret, idx.len(), &Device::Cpu)?;
        let v_loss = super::loss::value_loss(&values, &values, &ret, None)?;
        let total = (&ce + (&v_loss * self.config.vf_coef)?)?;
        let grads = total.backward()?;
        let mut flat = nets.flat_grads(&grads)?;
        clip_grad_norm(&mut flat, self.config.max_grad_norm);
        adam.step(self.nets.tensors_mut(), &flat, ws.learning_rate);
        Ok((
            f64::from(ce.to_scalar::<f32>()?),
            f64::from(v_loss.to_scalar::<f32>()?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_cross_entropy_matches_hand_values() {
        // Two samples, log-probs of their targets ln 0.5 (no-op target) and ln 0.25 (act target,
        // weight 3): -(ln 0.5 + 3 ln 0.25) / 4.
        let lp = Tensor::from_slice(
            &[0.5f32.ln(), 0.5f32.ln(), 0.75f32.ln(), 0.25f32.ln()],
            (2, 2),
            &Device::Cpu,
        )
        .unwrap();
        let ce = weighted_cross_entropy(&lp, &[0, 1], 3.0).unwrap();
        let want = -(0.5f64.ln() + 3.0 * 0.25f64.ln()) / 4.0;
        assert!((f64::from(ce.to_scalar::<f32>().unwrap()) - want).abs() < 1e-5);
    }

    #[test]
    fn bc_coefficient_decays_linearly_to_zero() {
        let ws = WarmStartConfig {
            bc_coef: 0.4,
            bc_decay_steps: 1000,
            ..WarmStartConfig::default()
        };
        assert_eq!(ws.bc_coef_at(0), 0.4);
        assert!((ws.bc_coef_at(500) - 0.2).abs() < 1e-12);
        assert_eq!(ws.bc_coef_at(1000), 0.0);
        assert_eq!(ws.bc_coef_at(5000), 0.0);
    }

    #[test]
    fn every_invalid_field_is_named() {
        let base = WarmStartConfig::default();
        let cases: [(&str, WarmStartConfig); 7] = [
            (
                "warm_start.teacher",
                WarmStartConfig {
                    teacher: "oracle".into(),
                    ..base.clone()
                },
            ),
            (
                "warm_start.steps",
                WarmStartConfig {
                    steps: 0,
                    ..base.clone()
                },
            ),
            (
                "warm_start.epochs",
                WarmStartConfig {
                    epochs: 0,
                    ..base.clone()
                },
            ),
            (
                "warm_start.minibatch_size",
                WarmStartConfig {
                    minibatch_size: 0,
                    ..base.clone()
                },
            ),
            (
                "warm_start.learning_rate",
                WarmStartConfig {
                    learning_rate: f64::NAN,
                    ..base.clone()
                },
            ),
            (
                "warm_start.act_weight",
                WarmStartConfig {
                    act_weight: 0.0,
                    ..base.clone()
                },
            ),
            (
                "warm_start.bc_coef",
                WarmStartConfig {
                    bc_coef: -1.0,
                    ..base.clone()
                },
            ),
        ];
        for (field, cfg) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
        assert!(base.validate().is_ok());
    }
}
