//! Warm start of tabular Q from a teacher's decisions (the expert runbook, the reactive controller
//! or a runbook file: [`crate::teacher`]), the tabular form of DQfD's pre-training (Hester et al.
//! 2018, "Deep Q-learning from Demonstrations", AAAI), as the entity DQN's and PPO's warm starts
//! read the same recordings.
//!
//! With advantages over the no-op (`TabularConfig::entity_advantage`), the greedy action in a state
//! is the entity action with the largest positive advantage entry, else the no-op. DQfD's
//! large-margin loss `max_a [Q(s, a) + l(a_E, a)] - Q(s, a_E)` asks the teacher's action to beat
//! every other by the margin in each demonstrated state; in a table shared by all entities, one
//! entry `(bucket, kind)` stands for many (state, action) pairs, and the seeding that best agrees
//! with the teacher is the majority vote of the teacher over them. So:
//!
//! 1. Record `steps` teacher transitions on the training env ([`crate::teacher::record_warm_start`]
//!    on a vector env, [`crate::teacher::record_teacher_on_env`] on a single env with the training
//!    seeds).
//! 2. For every `q_entity` entry, count the demonstrated states where one of its actions was valid
//!    (`available`) and where the teacher took it (`chosen`), and seed the advantage from the share
//!    `chosen / available` ([`TabularWarmStartConfig::advantage`]): `+margin` where the teacher always
//!    acts, `-margin` where it never does, positive exactly where it acts in at least
//!    `act_threshold` of the cases (0.5: the majority vote). The entry's visit
//!    count becomes `available` (at least `min_visits`), so the entry is usable at once.
//! 3. Seed the no-op's value `q_noop[global]` with the mean discounted return of the teacher from
//!    the states of that global bucket (Monte Carlo, Sutton & Barto 2018, §5.1), so that the
//!    advantage targets of the Q-learning that follows (`return - q_noop`) start from the teacher's
//!    values rather than from 0. A truncated episode (or the recording's end) bootstraps with its last
//!    reward held forever (`r / (1 - gamma)`); a terminated one does not bootstrap.
//!
//! Entries the teacher's states never reached stay as they were (untried). Q-learning then continues
//! from the seeded table (set `start_e` low: DQfD acts with epsilon 0.01).

use serde::{Deserialize, Serialize};

use super::TabularQ;
use crate::distribution::{argmax, masked_logits};
use crate::error::AgentError;
use crate::teacher::{TeacherData, check_teacher};

/// `TabularConfig::warm_start`: seed the table from a teacher's decisions before Q-learning.
/// Text form: `warm_start = { teacher = "runbook", steps = 23040, margin = 1.0 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TabularWarmStartConfig {
    /// `"runbook"` (the shipped expert runbook), `"reactive"` (the Kubernetes-style controller) or
    /// the path of a runbook file ending in `.toml`.
    pub teacher: String,
    /// Teacher transitions to record (over all sub-envs of a vector env, rounded up to a multiple of
    /// `num_envs`). Default 23,040 (32 episodes of `default`), as PPO's and DQN's warm starts.
    pub steps: u64,
    /// The advantage given to an entry the teacher always takes (and minus it to one the teacher
    /// never takes), in the units of Q-values (rewards times `reward_scale`). DQfD's margin is 0.8.
    pub margin: f64,
    /// The share of an entry's demonstrated states in which the teacher must take it for the
    /// seeded advantage to be positive (0.5: the majority vote). A runbook waits for its `for_s`
    /// and between steps, and acts on one entity per decision, so in a bucket where it does act it
    /// often does so in a minority of the states the bucket stands for: a lower threshold follows it
    /// there (chosen on validation seeds: `TabularConfig::warm_started`).
    pub act_threshold: f64,
    /// Pseudo-count of each seeded entry in the Q-learning that follows: an entity entry's `k`-th
    /// update after the warm start uses step size `1 / (prior_count + k)` instead of
    /// `learning_rate`, so the entry is the average of its seeded value (weighted `prior_count`)
    /// and the `k` targets it has seen (the sample-average rule, Sutton & Barto 2018, §2.4 and
    /// §2.6: a prior worth `prior_count` observations). 0 (the default): `learning_rate`.
    /// See [`super::credit`].
    #[serde(skip_serializing_if = "is_zero")]
    pub prior_count: f64,
    /// Whether advantage targets compare an action on an entity with the no-op in states where an
    /// entity was in the same bucket ([`super::credit`]) rather than with the no-op value of the
    /// global bucket. false (the default): the global bucket's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub entity_baseline: bool,
    /// A trust region around the seeded values: after each update, a seeded entity entry is kept
    /// within `trust_radius` of its seeded advantage ([`super::credit`]). With the default margin
    /// 0.8, a radius below the seeded value keeps the teacher's clear decisions (entries it takes
    /// often, or never) and lets Q-learning decide the entries near `act_threshold`. `None` (the
    /// default): no region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_radius: Option<f64>,
    /// While learning, act on `entry + optimism_z * standard error` of the targets an entity entry
    /// received since the warm start ([`super::credit`]), so an entry that noise pushed below 0 is
    /// still tried and can recover. The exported policy acts on the entries themselves. 0 (the
    /// default): off.
    #[serde(skip_serializing_if = "is_zero")]
    pub optimism_z: f64,
}

/// `skip_serializing_if` for fields whose default is 0 (configs written before they existed read
/// and write the same).
fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Default for TabularWarmStartConfig {
    fn default() -> Self {
        Self {
            teacher: "runbook".into(),
            steps: 23_040,
            margin: 0.8,
            act_threshold: 0.5,
            prior_count: 0.0,
            entity_baseline: false,
            trust_radius: None,
            optimism_z: 0.0,
        }
    }
}

impl TabularWarmStartConfig {
    /// Checks every field; errors name it as `warm_start.FIELD`.
    pub fn validate(&self) -> Result<(), AgentError> {
        check_teacher("warm_start.teacher", &self.teacher)?;
        crate::config_check::at_least_one("warm_start.steps", self.steps)?;
        crate::config_check::positive_finite("warm_start.margin", self.margin)?;
        let t = self.act_threshold;
        if !(t > 0.0 && t < 1.0) {
            return Err(AgentError::InvalidConfig {
                field: "warm_start.act_threshold",
                expected: "in (0, 1)",
                got: t.to_string(),
            });
        }
        let n = self.prior_count;
        if !(n.is_finite() && n >= 0.0) {
            return Err(AgentError::InvalidConfig {
                field: "warm_start.prior_count",
                expected: "finite and >= 0 (0: the learning rate)",
                got: n.to_string(),
            });
        }
        let z = self.optimism_z;
        if !(z.is_finite() && z >= 0.0) {
            return Err(AgentError::InvalidConfig {
                field: "warm_start.optimism_z",
                expected: "finite and >= 0 (0: off)",
                got: z.to_string(),
            });
        }
        if let Some(r) = self.trust_radius
            && !(r.is_finite() && r >= 0.0)
        {
            return Err(AgentError::InvalidConfig {
                field: "warm_start.trust_radius",
                expected: "finite and >= 0",
                got: r.to_string(),
            });
        }
        Ok(())
    }

    /// The seeded advantage of an entry the teacher took in a share `share` of its demonstrated
    /// states: linear from `-margin` at 0 through 0 at `act_threshold` to `+margin` at 1.
    pub fn advantage(&self, share: f64) -> f64 {
        let t = self.act_threshold;
        if share >= t {
            self.margin * (share - t) / (1.0 - t)
        } else {
            self.margin * (share - t) / t
        }
    }
}

/// What [`TabularQ::warm_start_from`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularWarmStartReport {
    /// Teacher transitions read.
    pub transitions: u64,
    /// Share of them where the teacher acted.
    pub teacher_act_share: f64,
    /// `q_entity` entries seeded (reached by the teacher's states, on buckets the learner may act on).
    pub entries_seeded: u64,
    /// Of them, entries with a positive advantage (the teacher acts there in most cases).
    pub entries_positive: u64,
    /// Share of the transitions where the seeded table's greedy action equals the teacher's.
    pub agreement: f64,
    /// The same among the transitions where the teacher acted.
    pub act_recall: f64,
}

impl TabularQ {
    /// Seeds the table from `data` (see the module doc): entity advantages by the teacher's majority
    /// vote with the configured margin, no-op values by the teacher's discounted returns. Needs
    /// `entity_advantage` and a `warm_start` section in the config.
    pub fn warm_start_from(
        &mut self,
        data: &TeacherData,
    ) -> Result<TabularWarmStartReport, AgentError> {
        let ws = self
            .config
            .warm_start
            .clone()
            .ok_or(AgentError::InvalidConfig {
                field: "warm_start",
                expected: "a warm_start section",
                got: "none".into(),
            })?;
        let n_actions = self.policy.n_actions;
        let n_envs = data.num_envs.max(1);
        let len = data.len();
        // ---- encode every state once ----
        let mut states = Vec::with_capacity(len);
        for obs in &data.obs {
            states.push(self.policy.entries(obs)?);
        }
        let mask_of = |t: usize| &data.masks[t * n_actions..(t + 1) * n_actions];
        // ---- entity entries: the teacher's majority vote ----
        let n_entries = self.policy.q_entity.len();
        let (mut available, mut chosen) = (vec![0u64; n_entries], vec![0u64; n_entries]);
        for (t, (_, entries)) in states.iter().enumerate() {
            let mask = mask_of(t);
            for (a, &i) in entries.iter().enumerate() {
                if mask[a + 1] {
                    available[i] += 1;
                    chosen[i] += u64::from(data.actions[t] == a + 1);
                }
            }
        }
        let (mut seeded, mut positive) = (0u64, 0u64);
        for i in 0..n_entries {
            if available[i] == 0 || !self.actionable(i) {
                continue;
            }
            let share = chosen[i] as f64 / available[i] as f64;
            let advantage = ws.advantage(share);
            let n = u32::try_from(available[i])
                .unwrap_or(u32::MAX)
                .max(self.config.min_visits);
            self.policy.q_entity[i] = advantage as f32;
            self.visits[i] = n;
            self.seeded_visits[i] = n;
            self.seeded_value[i] = advantage as f32;
            self.target_stats[i] = (
                advantage * f64::from(n),
                advantage * advantage * f64::from(n),
            );
            seeded += 1;
            positive += u64::from(advantage > 0.0);
        }
        // ---- no-op values: the teacher's discounted returns per global bucket ----
        let gamma = self.config.gamma;
        let mut sums = vec![(0.0f64, 0u64); self.policy.q_noop.len()];
        // The discounted return from every transition (for the entity baseline).
        let mut returns = vec![0.0f64; len];
        for e in 0..n_envs {
            let mut ret = 0.0;
            let steps = len / n_envs;
            for s in (0..steps).rev() {
                let t = s * n_envs + e;
                let r = f64::from(data.rewards[t]);
                let last = s + 1 == steps;
                ret = if data.terminated[t] {
                    r
                } else if data.truncated[t] || last {
                    r / (1.0 - gamma).max(1e-6)
                } else {
                    r + gamma * ret
                };
                returns[t] = ret;
                let cell = &mut sums[states[t].0];
                cell.0 += ret;
                cell.1 += 1;
            }
        }
        let (total, count) = sums
            .iter()
            .fold((0.0, 0u64), |(s, c), &(s2, c2)| (s + s2, c + c2));
        let overall = if count > 0 { total / count as f64 } else { 0.0 };
        for (q, &(sum, n)) in self.policy.q_noop.iter_mut().zip(&sums) {
            *q = if n > 0 { sum / n as f64 } else { overall } as f32;
        }
        if ws.entity_baseline {
            self.seed_wait_values(&states, &data.actions, &returns);
        }
        // ---- how well the seeded greedy policy agrees with the teacher ----
        let (mut agree, mut acts, mut recalled) = (0u64, 0u64, 0u64);
        for (t, (g, entries)) in states.iter().enumerate() {
            let q = masked_logits(&self.effective_q(*g, entries, true), Some(mask_of(t)));
            let same = argmax(&q) == data.actions[t];
            agree += u64::from(same);
            if data.actions[t] != 0 {
                acts += 1;
                recalled += u64::from(same);
            }
        }
        Ok(TabularWarmStartReport {
            transitions: len as u64,
            teacher_act_share: data.act_share(),
            entries_seeded: seeded,
            entries_positive: positive,
            agreement: agree as f64 / len.max(1) as f64,
            act_recall: recalled as f64 / acts.max(1) as f64,
        })
    }
}
