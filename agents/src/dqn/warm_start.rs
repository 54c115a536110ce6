//! Warm start of the entity DQN from a teacher's demonstrations: DQfD (Hester et al. 2018, "Deep
//! Q-learning from Demonstrations", AAAI).
//!
//! 1. Record `steps` transitions of the teacher (the expert runbook or the reactive controller) on
//!    the training vector env, exactly as PPO's warm start does ([`crate::teacher`], reset seed
//!    `seed + TEACHER_SEED_OFFSET`), and keep them as demonstrations ([`super::demos::Demos`]) with
//!    their one-step and n-step returns, apart from the replay buffer so they are never overwritten.
//! 2. Pre-train on the demonstrations alone for `pretrain_steps` gradient steps with DQfD's loss
//!    ([`super::dqfd`]: one-step TD + λ1 n-step TD + λ2 large-margin loss), copying the target network
//!    every `target_update_interval` of them (§3, "pre-training phase").
//! 3. During DQN, each minibatch draws a share `demo_ratio` of its samples from the demonstrations
//!    (the paper samples demonstrations and self-generated data from one prioritized buffer, with a
//!    priority bonus for demonstrations; a fixed demonstration ratio is the simplification R2D3 uses:
//!    Paine et al. 2019, arXiv:1909.01387, §3), with the same loss; the agent's own transitions get
//!    the one-step TD loss only.
//!
//! Owns [`DqnWarmStartConfig`] (`DqnConfig::warm_start`; text form as PPO's: `warm_start = { teacher
//! = "runbook", steps = 23040 }`), [`DqnWarmStartReport`] and `EntityDqn::warm_start`.
//! The warm start sets the agent's exploration no lower than the config says: after it, set
//! `start_e` low (DQfD acts with ε = 0.01) and `learning_starts` small, or DQN's random phase undoes
//! the demonstrations' lesson.

use serde::{Deserialize, Serialize};

use super::decision::noop_margin_decision;
use super::demos::Demos;
use super::dqfd::DqfdParams;
use super::qnet::QNet;
use super::train::DqnCore;
use super::{DqnConfig, EntityDqn};
use crate::agent::MetricSink;
use crate::config_check as check;
use crate::distribution::masked_logits;
use crate::error::AgentError;
use crate::teacher::{check_teacher, record_warm_start};
use mend_envs::VectorEnv;

/// `DqnConfig::warm_start`: learning from the teacher's demonstrations (DQfD) before and during DQN.
/// Fields not given keep the defaults below (DQfD's values where the paper gives one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DqnWarmStartConfig {
    /// `"runbook"` (the shipped expert runbook), `"reactive"` (the Kubernetes-style controller) or
    /// the path of a runbook file ending in `.toml` (as PPO's warm start takes it).
    pub teacher: String,
    /// Teacher transitions recorded on the training vector env, over all its sub-envs (rounded up to
    /// a multiple of `num_envs`). Default 23,040 (32 `default` episodes of 720 decisions), as PPO's.
    pub steps: u64,
    /// Gradient steps on the demonstrations alone before DQN (the paper: 750,000 on Atari).
    pub pretrain_steps: u64,
    /// Pre-training gradient steps between hard copies of the online network into the target.
    pub target_update_interval: u64,
    /// Steps of the n-step return (the paper: 10).
    pub n_step: usize,
    /// Weight `λ1` of the n-step TD loss (the paper: 1).
    pub lambda_n: f64,
    /// Weight `λ2` of the large-margin loss (the paper: 1).
    pub lambda_margin: f64,
    /// The large margin `l(a_E, a)` for actions other than the teacher's (the paper: 0.8), in the
    /// units of Q-values (rewards times `reward_scale`).
    pub margin: f64,
    /// Weight of a demonstration where the teacher acts, relative to 1 for one where it waits, in
    /// the large-margin loss (DQfD has no such weight, i.e. 1; default 3 as PPO's warm start). The
    /// runbook waits on 85-95 % of steps: on crashy `tiny` (tests/dqn_warm_start.rs) weight 1 gave a
    /// network that never acts (acting recall 0.0 on its demonstrations), weight 10 recall 0.88.
    pub act_weight: f64,
    /// Share of each DQN minibatch drawn from the demonstrations (0 = pre-training only; default
    /// 0.5, see `dqn_learning_rate`). Their
    /// large-margin and n-step losses stay on during DQN, as in DQfD (§3: "the demonstration data
    /// ... the supervised loss is applied"), so a ratio of 0 also turns those off.
    pub demo_ratio: f64,
    /// Adam learning rate of the DQN phase after pre-training (`None`: `DqnConfig::learning_rate`,
    /// the pre-training's rate, for both). Omitted when serialised if `None`. Default 3e-5 with
    /// `demo_ratio` 0.5 (session 6, `default`, training seeds 0-2, paired evaluation seeds
    /// 1000-1019, provisional): the warm start's availability is kept after 20,000 DQN steps
    /// (0.8978 pre-trained, 0.8964 after). The DQN phase at the pre-training's rate 5e-4 and ratio
    /// 0.25 eroded it on one build (0.893 -> 0.869) and not on the next (seeds 0 and 2: 0.8909 ->
    /// 0.8932): the smaller rate is the conservative choice, not a measured gain
    /// (agents/examples/dqn_eval.rs has the table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dqn_learning_rate: Option<f64>,
}

impl Default for DqnWarmStartConfig {
    fn default() -> Self {
        Self {
            teacher: "runbook".into(),
            steps: 23_040,
            pretrain_steps: 3_000,
            target_update_interval: 250,
            n_step: 10,
            lambda_n: 1.0,
            lambda_margin: 1.0,
            margin: 0.8,
            act_weight: 3.0,
            demo_ratio: 0.5,
            dqn_learning_rate: Some(3e-5),
        }
    }
}

impl DqnWarmStartConfig {
    /// Checks every field; errors name it as `warm_start.FIELD`.
    pub fn validate(&self) -> Result<(), AgentError> {
        check_teacher("warm_start.teacher", &self.teacher)?;
        check::at_least_one("warm_start.steps", self.steps)?;
        check::at_least_one(
            "warm_start.target_update_interval",
            self.target_update_interval,
        )?;
        check::at_least_one("warm_start.n_step", self.n_step as u64)?;
        check::non_negative_finite("warm_start.lambda_n", self.lambda_n)?;
        check::non_negative_finite("warm_start.lambda_margin", self.lambda_margin)?;
        check::non_negative_finite("warm_start.margin", self.margin)?;
        check::positive_finite("warm_start.act_weight", self.act_weight)?;
        check::unit_interval("warm_start.demo_ratio", self.demo_ratio)?;
        if let Some(lr) = self.dqn_learning_rate {
            check::positive_finite("warm_start.dqn_learning_rate", lr)?;
        }
        Ok(())
    }

    /// The loss settings of a gradient step of an agent configured by `agent`.
    pub(crate) fn params(&self, agent: &super::DqnConfig, n_kinds: usize) -> DqfdParams {
        DqfdParams {
            dueling: agent.dueling,
            gamma: agent.gamma as f32,
            double_q: agent.double_q,
            noop_margin: agent.noop_margin as f32,
            n_kinds,
            lambda_n: self.lambda_n as f32,
            lambda_margin: self.lambda_margin as f32,
            margin: self.margin as f32,
            act_weight: self.act_weight as f32,
        }
    }

    /// Demonstrations in a minibatch of `batch_size` during DQN (at least 1 when the ratio is
    /// positive).
    pub fn demos_per_batch(&self, batch_size: usize) -> usize {
        if self.demo_ratio <= 0.0 {
            return 0;
        }
        ((batch_size as f64 * self.demo_ratio).round() as usize).clamp(1, batch_size)
    }
}

/// What `EntityDqn::warm_start` did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DqnWarmStartReport {
    /// Demonstrations recorded.
    pub transitions: u64,
    /// Share of them where the teacher acted.
    pub teacher_act_share: f64,
    /// Pre-training gradient steps.
    pub gradient_steps: u64,
    /// Mean DQfD loss (total) over the last 100 pre-training steps.
    pub final_loss: f64,
    /// Mean large-margin loss over the last 100 pre-training steps.
    pub final_margin_loss: f64,
    /// Share of the demonstrations where the pre-trained greedy decision (no-op margin) equals the
    /// teacher's action.
    pub train_agreement: f64,
    /// The same among the demonstrations where the teacher acted.
    pub train_act_recall: f64,
}

impl DqnCore {
    /// Records the teacher's demonstrations on `env` ([`record_warm_start`]).
    pub(crate) fn record_demos(
        &self,
        env: &mut dyn VectorEnv,
        ws: &DqnWarmStartConfig,
    ) -> Result<Demos, AgentError> {
        let data = record_warm_start(
            env,
            &ws.teacher,
            ws.steps,
            self.config.seed,
            self.config.reward_scale,
            self.n_actions,
        )?;
        Demos::from_teacher(data, ws.n_step, self.config.gamma as f32)
    }

    /// DQfD's warm start: record the demonstrations, keep them, pre-train on them.
    pub(crate) fn warm_start(
        &mut self,
        env: &mut dyn VectorEnv,
        sink: &mut dyn MetricSink,
    ) -> Result<DqnWarmStartReport, AgentError> {
        let ws = crate::config_check::warm_start_section(&self.config.warm_start)?;
        if !matches!(self.q, QNet::Entity(_)) {
            return Err(AgentError::InvalidConfig {
                field: "warm_start",
                expected: "needs the entity network (the cluster env)",
                got: "an MLP agent".into(),
            });
        }
        let demos = self.record_demos(env, &ws)?;
        let mut report = DqnWarmStartReport {
            transitions: demos.len() as u64,
            teacher_act_share: demos.act_share(),
            gradient_steps: 0,
            final_loss: f64::NAN,
            final_margin_loss: f64::NAN,
            train_agreement: f64::NAN,
            train_act_recall: f64::NAN,
        };
        self.demos = Some(demos);

        // --- Pre-training: demonstrations only, target copied every target_update_interval --------
        let mut recent: Vec<(f64, f64)> = Vec::new();
        let mut target = self.target.to_candle()?;
        for step in 0..ws.pretrain_steps {
            if step > 0 && step.is_multiple_of(ws.target_update_interval) {
                self.target = self.q.clone();
                target = self.target.to_candle()?;
            }
            let losses = self.dqfd_step(&target, true)?;
            if !losses.total.is_finite() {
                return Err(AgentError::NonFinite {
                    what: "warm-start loss",
                    update: step,
                });
            }
            recent.push((losses.total, losses.margin));
            if recent.len() > 100 {
                recent.remove(0);
            }
            if (step + 1).is_multiple_of(100) || step + 1 == ws.pretrain_steps {
                sink.record(0, "warm_start/loss", losses.total);
                sink.record(0, "warm_start/td_loss", losses.td);
                sink.record(0, "warm_start/n_step_loss", losses.n_step);
                sink.record(0, "warm_start/margin_loss", losses.margin);
                sink.record(0, "warm_start/q_values", losses.mean_q);
            }
            report.gradient_steps += 1;
        }
        self.target = self.q.clone();
        let k = recent.len().max(1) as f64;
        report.final_loss = recent.iter().map(|r| r.0).sum::<f64>() / k;
        report.final_margin_loss = recent.iter().map(|r| r.1).sum::<f64>() / k;

        // --- Agreement of the greedy decision with the teacher on its own states -------------------
        let (mut agree, mut acts, mut agree_acts) = (0usize, 0usize, 0usize);
        let margin = self.config.noop_margin as f32;
        let demos = self.demos.as_ref().map_or(&[][..], |d| d.items());
        for t in demos {
            let q = self
                .q
                .q_values(&mend_envs::Observation::Entities((*t.obs).clone()))?;
            let a = noop_margin_decision(&masked_logits(&q, t.mask.as_deref()), margin);
            agree += usize::from(a == t.action);
            acts += usize::from(t.action != 0);
            agree_acts += usize::from(t.action != 0 && a == t.action);
        }
        report.train_agreement = agree as f64 / demos.len().max(1) as f64;
        report.train_act_recall = agree_acts as f64 / acts.max(1) as f64;
        sink.record(0, "warm_start/teacher_act_share", report.teacher_act_share);
        sink.record(0, "warm_start/train_agreement", report.train_agreement);
        sink.record(0, "warm_start/train_act_recall", report.train_act_recall);
        self.warm_started = true;
        Ok(report)
    }
}

impl EntityDqn {
    /// DQfD's warm start (`config.warm_start`, required): records the teacher's demonstrations on
    /// `env`, keeps them for DQN's minibatches and pre-trains the Q-network on them. `learn` calls it
    /// before the first step; a checkpoint records that it ran, so a resumed run only records the
    /// demonstrations again (same seed, same demonstrations) and does not pre-train twice.
    pub fn warm_start(
        &mut self,
        env: &mut dyn VectorEnv,
        sink: &mut dyn MetricSink,
    ) -> Result<DqnWarmStartReport, AgentError> {
        super::check_env(&self.core, env)?;
        self.core.warm_start(env, sink)
    }

    /// Whether the warm start has run (here or in the run a checkpoint came from).
    pub fn warm_started(&self) -> bool {
        self.core.warm_started
    }

    /// A copy of this agent, warm-started and not yet trained further, that runs its DQN phase with
    /// `config`: one pre-training serves several fine-tuning settings, each starting from the same
    /// network (a paired comparison). `config` may differ only in what the warm start does not read
    /// ([`dqn_phase_only`]: exploration, replay, target period, gradient schedule, budget,
    /// `warm_start.demo_ratio` and `warm_start.dqn_learning_rate`); anything else is an error naming
    /// `config`, as is an agent that has not warm-started or has taken DQN steps.
    pub fn with_dqn_phase(&self, config: DqnConfig) -> Result<EntityDqn, AgentError> {
        config.validate()?;
        if !self.core.warm_started || self.core.num_timesteps > 0 {
            return Err(AgentError::InvalidConfig {
                field: "warm_start",
                expected: "an agent just warm-started (no DQN step yet)",
                got: format!(
                    "warm_started {}, {} DQN steps",
                    self.core.warm_started, self.core.num_timesteps
                ),
            });
        }
        if dqn_phase_only(&config) != dqn_phase_only(&self.core.config) {
            return Err(AgentError::InvalidConfig {
                field: "config",
                expected: "the warm-started agent's configuration, except its DQN-phase fields",
                got: "a configuration whose warm start or network differs".into(),
            });
        }
        let mut copy = self.clone();
        copy.core.config = config;
        Ok(copy)
    }
}

/// `config` with every field the warm start does not read set to a fixed value: two configs with
/// equal images pre-train identically (recording, pre-training and the network), whatever their DQN
/// phases.
pub fn dqn_phase_only(config: &DqnConfig) -> DqnConfig {
    let base = DqnConfig::cluster_default(0);
    DqnConfig {
        total_timesteps: 0,
        buffer_size: base.buffer_size,
        target_network_frequency: base.target_network_frequency,
        start_e: base.start_e,
        end_e: base.end_e,
        exploration_fraction: base.exploration_fraction,
        learning_starts: base.learning_starts,
        train_frequency: base.train_frequency,
        gradient_steps: base.gradient_steps,
        explore_act_prob: base.explore_act_prob,
        warm_start: config.warm_start.clone().map(|ws| DqnWarmStartConfig {
            demo_ratio: 0.0,
            dqn_learning_rate: None,
            ..ws
        }),
        ..config.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_teacher_may_be_a_runbook_file_and_an_unknown_one_is_refused_naming_the_field() {
        let with = |teacher: &str| DqnWarmStartConfig {
            teacher: teacher.into(),
            ..DqnWarmStartConfig::default()
        };
        for ok in ["runbook", "reactive", "runbooks/drill.toml"] {
            with(ok).validate().unwrap();
        }
        let e = with("oracle").validate().unwrap_err().to_string();
        assert!(
            e.contains("warm_start.teacher") && e.contains("oracle"),
            "{e}"
        );
    }

    #[test]
    fn every_invalid_field_is_named_and_defaults_are_valid() {
        let base = DqnWarmStartConfig::default();
        base.validate().unwrap();
        let cases: Vec<(&str, DqnWarmStartConfig)> = vec![
            (
                "warm_start.teacher",
                DqnWarmStartConfig {
                    teacher: "oracle".into(),
                    ..base.clone()
                },
            ),
            (
                "warm_start.steps",
                DqnWarmStartConfig {
                    steps: 0,
                    ..base.clone()
                },
            ),
            (
                "warm_start.n_step",
                DqnWarmStartConfig {
                    n_step: 0,
                    ..base.clone()
                },
            ),
            (
                "warm_start.target_update_interval",
                DqnWarmStartConfig {
                    target_update_interval: 0,
                    ..base.clone()
                },
            ),
            (
                "warm_start.margin",
                DqnWarmStartConfig {
                    margin: -0.1,
                    ..base.clone()
                },
            ),
            (
                "warm_start.lambda_n",
                DqnWarmStartConfig {
                    lambda_n: f64::NAN,
                    ..base.clone()
                },
            ),
            (
                "warm_start.lambda_margin",
                DqnWarmStartConfig {
                    lambda_margin: f64::INFINITY,
                    ..base.clone()
                },
            ),
            (
                "warm_start.act_weight",
                DqnWarmStartConfig {
                    act_weight: 0.0,
                    ..base.clone()
                },
            ),
            (
                "warm_start.demo_ratio",
                DqnWarmStartConfig {
                    demo_ratio: 1.5,
                    ..base.clone()
                },
            ),
            (
                "warm_start.dqn_learning_rate",
                DqnWarmStartConfig {
                    dqn_learning_rate: Some(0.0),
                    ..base.clone()
                },
            ),
        ];
        for (field, cfg) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn dqn_phase_fields_are_ignored_and_warm_start_fields_are_not() {
        let base = DqnConfig {
            warm_start: Some(DqnWarmStartConfig::default()),
            ..DqnConfig::cluster_default(3)
        };
        let tuned = DqnConfig {
            learning_starts: 7,
            start_e: 0.01,
            target_network_frequency: 9_000,
            total_timesteps: 5,
            warm_start: Some(DqnWarmStartConfig {
                demo_ratio: 0.5,
                dqn_learning_rate: Some(1e-5),
                ..DqnWarmStartConfig::default()
            }),
            ..base.clone()
        };
        assert_eq!(dqn_phase_only(&base), dqn_phase_only(&tuned));
        for other in [
            DqnConfig {
                seed: 4,
                ..base.clone()
            },
            DqnConfig {
                dueling: true,
                ..base.clone()
            },
            DqnConfig {
                learning_rate: 1e-3,
                ..base.clone()
            },
            DqnConfig {
                warm_start: Some(DqnWarmStartConfig {
                    act_weight: 10.0,
                    ..DqnWarmStartConfig::default()
                }),
                ..base.clone()
            },
        ] {
            assert_ne!(dqn_phase_only(&base), dqn_phase_only(&other), "{other:?}");
        }
    }

    #[test]
    fn demonstrations_per_batch_follow_the_ratio() {
        let ws = |demo_ratio| DqnWarmStartConfig {
            demo_ratio,
            ..DqnWarmStartConfig::default()
        };
        assert_eq!(ws(0.0).demos_per_batch(64), 0);
        assert_eq!(ws(0.25).demos_per_batch(64), 16);
        assert_eq!(ws(0.001).demos_per_batch(64), 1);
        assert_eq!(ws(1.0).demos_per_batch(64), 64);
    }
}
