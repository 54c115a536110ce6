//! How Q-learning after a warm start credits an entity action (both options off by default; set in
//! the `warm_start` section, [`super::TabularWarmStartConfig`]):
//!
//! - **Pseudo-count step sizes** (`prior_count = n0`): the `k`-th update of an entity entry after
//!   the warm start uses step size `1 / (n0 + k)`, so the entry stays the weighted average
//!   `(n0 * seeded + sum of its k targets) / (n0 + k)`: the warm start is a prior worth `n0`
//!   observations and Q-learning moves an entry only as far as its evidence weighs (the
//!   sample-average rule with an initial estimate, Sutton & Barto 2018, §2.4 and §2.6). No-op values
//!   keep `learning_rate`.
//! - **Entity baseline** (`entity_baseline`): an advantage target is `return - W[b]`, where `W[b]`
//!   is the value of the no-op in states where an entity was in bucket `b` (the acted entity's
//!   bucket), instead of `return - q_noop[global]`. One cluster-wide reward makes both returns
//!   carry the whole cluster's next minutes; the global no-op value averages over every state of
//!   the global bucket, most of them better than the states where a symptom calls for action, so
//!   `return - q_noop[global]` is biased against acting. `W[b]` averages over states with the same
//!   symptom, the same kind of state the action is taken in (a baseline of the acted entity's
//!   situation: the counterfactual comparison of difference rewards, Wolpert & Tumer 2002, with a
//!   learnt default action's value). `W[b]` is seeded by the teacher's discounted returns from its
//!   no-op decisions in such states (as `q_noop`, [`super::warm_start`]) and then updated towards
//!   the targets of every no-op decision taken with an entity in `b`, at `learning_rate`. Until a
//!   bucket has a value, the global no-op value stands in.
//!
//! - **Trust region** (`trust_radius = r`): after each update, an entry the warm start seeded
//!   with advantage `a0` is clamped to `[a0 - r, a0 + r]` (a trust region around the prior, in
//!   the spirit of conservative policy updates, Schulman et al. 2015; here on table entries). The
//!   seeded advantage is linear in the teacher's share of the entry's states
//!   ([`super::TabularWarmStartConfig::advantage`]), so the region lets Q-learning decide exactly
//!   the entries whose share lies within `r` (in advantage units) of `act_threshold`, and keeps the
//!   teacher's clear decisions. Entries the warm start did not reach are not constrained.
//!
//! - **Optimism** (`optimism_z = z`): while learning, an entity entry is acted on at
//!   `entry + z * standard error` of the targets it received since the warm start (an upper
//!   confidence bound, UCB: Auer et al. 2002). An entry is updated only when it is chosen, so
//!   without it an entry that noise pushes below 0 is almost never tried again and stays there
//!   (0 absorbs); with it, it is tried until its targets say it is worse than waiting. The exported
//!   policy acts on the entries themselves.
//!
//! Validation (session 9, provisional: busy 2-core machine; `mend run` protocol of
//! experiments/agents.toml: trained on `default`, training seeds 0-2, 72,000 steps, 4 sub-envs,
//! preset `warm_started` with `act_threshold = 0.05` and `learning_rate = 0.005`; evaluated on
//! validation seeds 500-559, never the evaluation seeds). Availability, paired, mean [95 % CI]
//! (`*`: excludes 0), `default` / `tiny-faults`:
//!
//! | after the warm start | vs no-op | vs the warm start alone |
//! |---|---|---|
//! | warm start alone (0 steps) | +0.059 * / +0.071 * | |
//! | plain Q-learning (session 8's arm) | +0.030 * / +0.010 | −0.029 * / −0.061 * |
//! | `entity_baseline` | +0.015 * / +0.015 * | −0.044 * / −0.055 * |
//! | `margin = 0.1` | +0.017 * / +0.005 | −0.042 * / −0.066 * |
//! | `prior_count` 100 / 300 / 1000 | +0.029 * / +0.043 * / +0.049 * (`default`) | −0.030 * / −0.016 * / −0.011 * (`default`); −0.057 * / −0.017 / −0.018 (`tiny-faults`) |
//! | `prior_count` 3000 / 10000 | +0.053 * / +0.055 * (`default`); +0.052 * / +0.054 * | −0.006 * / −0.004 (`default`); −0.018 / −0.017 * |
//! | `prior_count = 1000` + `n_step` 8 / 20 | +0.044 * / +0.035 * (`default`) | −0.015 * / −0.024 * (`default`); −0.014 / −0.053 * |
//! | `trust_radius` 0.05 / 0.1 / 0.2 | +0.037 * / +0.037 * / +0.030 * (`default`) | −0.022 * / −0.023 * / −0.029 * (`default`); −0.019 / −0.019 / −0.061 * |
//! | `optimism_z = 2` | +0.045 * / +0.045 | −0.014 * / −0.026 |
//! | **`prior_count = 1000`, `optimism_z = 2`** | **+0.051 * / +0.048 *** | −0.008 [−0.013, −0.002] * / −0.023 [−0.045, −0.000] * |
//! | `prior_count = 10000`, `optimism_z = 2` | +0.056 * / +0.049 * | −0.003 [−0.007, +0.001] / −0.022 * |
//! | `prior_count = 3000`, `optimism_z = 2` | +0.054 * / +0.046 * | −0.005 * / −0.025 * |
//! | `prior_count = 1000`, `optimism_z = 3` | +0.051 * / +0.046 * | −0.008 * / −0.025 * |
//! | `prior_count = 1000`, `optimism_z = 2`, `start_e = 0.01` | +0.052 * / +0.047 | −0.007 * / −0.024 |
//! | `prior_count = 1000`, `optimism_z = 2`, `entity_baseline` | +0.019 * / +0.020 * | −0.040 * / −0.051 * |
//!
//! The bold row trained in agents.toml's checkpoint chunks of 23,040 steps (the rest in one
//! chunk): +0.052 * / +0.048 * vs no-op, −0.007 [−0.012, −0.002] * / −0.023 [−0.046, −0.001] * vs
//! the warm start alone. On `tiny-faults` the learnt tables act as often as the warm start (4.5
//! against 4.4 actions per episode) but lose availability: they change which action is taken.
//!
//! So the entity baseline hurts (with the runbook, the states where it waits with a symptom are
//! not the states where it acts: the bucketed state aliases them), and everything Q-learning
//! changes costs availability, in proportion to how far it moves the table: no variant keeps the
//! warm start's gain. What helps is slowing Q-learning to its evidence (`prior_count`) and
//! undoing the absorbing flips (`optimism_z`); the drop that remains is consistent with noise
//! flipping the entries near `act_threshold`, which the teacher's vote separated by a few
//! percent of its decisions.
//!
//! Only the targets and the entries' ranges change: acting is still on `q_noop[global] + advantage` (act where the
//! advantage is positive), so policy files are unchanged.

use super::TabularQ;

impl TabularQ {
    /// Whether the entity baseline is on (`warm_start.entity_baseline`).
    pub(crate) fn entity_baseline_on(&self) -> bool {
        self.config
            .warm_start
            .as_ref()
            .is_some_and(|ws| ws.entity_baseline)
    }

    /// The pseudo-count of seeded entries (`warm_start.prior_count`; 0: off).
    pub(crate) fn prior_count(&self) -> f64 {
        self.config
            .warm_start
            .as_ref()
            .map_or(0.0, |ws| ws.prior_count)
    }

    /// Step size of the next update of entity entry `i`, whose visit count already includes this
    /// update: `1 / (prior_count + updates since the warm start)` when `prior_count` is set, else
    /// `learning_rate`.
    pub(crate) fn entity_step_size(&self, i: usize) -> f64 {
        let n0 = self.prior_count();
        if n0 > 0.0 {
            let k = self.visits[i].saturating_sub(self.seeded_visits[i]);
            1.0 / (n0 + f64::from(k))
        } else {
            self.config.learning_rate
        }
    }

    /// The range entity entry `i` is kept in: `seeded advantage ± trust_radius` when a trust
    /// radius is set and the warm start seeded the entry, else `None`.
    pub(crate) fn trust_region(&self, i: usize) -> Option<(f32, f32)> {
        let r = self.config.warm_start.as_ref()?.trust_radius?;
        if self.seeded_visits[i] == 0 {
            return None;
        }
        let a0 = f64::from(self.seeded_value[i]);
        Some(((a0 - r) as f32, (a0 + r) as f32))
    }

    /// The optimism bonus of entity entry `i` while learning: `optimism_z * sd / sqrt(k)` over the
    /// `k` targets it received since the warm start (0 when off or `k < 2`). The targets' sums are
    /// `target_stats` minus what the warm start put there (`seeded_visits` copies of the seeded
    /// value).
    pub(crate) fn optimism_bonus(&self, i: usize) -> f32 {
        let z = self
            .config
            .warm_start
            .as_ref()
            .map_or(0.0, |ws| ws.optimism_z);
        let n0 = self.seeded_visits[i];
        let k = f64::from(self.visits[i].saturating_sub(n0));
        if z == 0.0 || k < 2.0 {
            return 0.0;
        }
        let (a0, n0) = (f64::from(self.seeded_value[i]), f64::from(n0));
        let (sum, sum_sq) = self.target_stats[i];
        let (sum, sum_sq) = (sum - a0 * n0, sum_sq - a0 * a0 * n0);
        let var = ((sum_sq - sum * sum / k) / (k - 1.0)).max(0.0);
        (z * (var / k).sqrt()) as f32
    }

    /// Whether the warm start's per-entry record (`seeded_visits`, `seeded_value`) is needed after
    /// it (pseudo-counts or a trust region are set), so checkpoints carry it.
    pub(crate) fn keeps_seed_record(&self) -> bool {
        self.prior_count() > 0.0
            || self
                .config
                .warm_start
                .as_ref()
                .is_some_and(|ws| ws.trust_radius.is_some() || ws.optimism_z > 0.0)
    }

    /// The value an advantage target of entity entry `i`, taken in global bucket `g`, is measured
    /// from: `W[bucket of i]` with the entity baseline once that bucket has a value, else
    /// `q_noop[g]`.
    pub(crate) fn advantage_baseline(&self, g: usize, i: usize) -> f64 {
        let b = i / self.policy.n_kinds.max(1);
        if self.entity_baseline_on() && self.wait_visits[b] > 0 {
            f64::from(self.wait_value[b])
        } else {
            f64::from(self.policy.q_noop[g])
        }
    }

    /// The distinct entity buckets of a state (its entries, `n_kinds` per entity) that the learner
    /// may act on, ascending.
    fn actionable_buckets(&self, entries: &[usize]) -> Vec<usize> {
        let k = self.policy.n_kinds.max(1);
        let mut buckets: Vec<usize> = entries
            .iter()
            .step_by(k)
            .filter(|&&i| self.actionable(i))
            .map(|&i| i / k)
            .collect();
        buckets.sort_unstable();
        buckets.dedup();
        buckets
    }

    /// After a no-op decision in a state with entity entries `entries` and return `target`, moves
    /// `W[b]` of every actionable bucket `b` in the state towards `target` at `learning_rate` (its
    /// first value is the target itself). No-op with the entity baseline off.
    pub(crate) fn update_wait_values(&mut self, entries: &[usize], target: f64) {
        if !self.entity_baseline_on() {
            return;
        }
        let lr = self.config.learning_rate;
        for b in self.actionable_buckets(entries) {
            let w = &mut self.wait_value[b];
            *w = if self.wait_visits[b] == 0 {
                target as f32
            } else {
                *w + (lr * (target - f64::from(*w))) as f32
            };
            self.wait_visits[b] = self.wait_visits[b].saturating_add(1);
        }
    }

    /// Seeds `W` from a teacher's transitions (encoded `states`, the teacher's `actions` and the
    /// discounted `returns` from each): `W[b]` is the mean return of the teacher's no-op decisions
    /// in states with an entity in actionable bucket `b`; buckets with none stay without a value.
    pub(crate) fn seed_wait_values(
        &mut self,
        states: &[(usize, Vec<usize>)],
        actions: &[usize],
        returns: &[f64],
    ) {
        let mut sums = vec![(0.0f64, 0u32); self.wait_value.len()];
        for (((_, entries), &action), &ret) in states.iter().zip(actions).zip(returns) {
            if action != 0 {
                continue;
            }
            for b in self.actionable_buckets(entries) {
                sums[b].0 += ret;
                sums[b].1 = sums[b].1.saturating_add(1);
            }
        }
        for (b, &(sum, n)) in sums.iter().enumerate() {
            if n > 0 {
                self.wait_value[b] = (sum / f64::from(n)) as f32;
                self.wait_visits[b] = n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use mend_envs::{EntityObs, Observation};
    use mend_monitor::features::FeatureSchema;

    use super::super::{TabularConfig, TabularQ, TabularWarmStartConfig};
    use crate::teacher::TeacherData;

    const N_KINDS: usize = mend_envs::cluster::N_KINDS;

    /// Rows of services given as `(up_ratio, error_ratio)`, never acted on, alert active 40 s.
    fn services(rows: &[(f32, f32)]) -> Observation {
        let s = FeatureSchema::builtin();
        let w = s.columns.len();
        let col = |n: &str| s.column_index(n).unwrap();
        let mut data = vec![0.0; w * rows.len()];
        for (r, &(up, err)) in rows.iter().enumerate() {
            let row = &mut data[r * w..(r + 1) * w];
            row[col("is_service")] = 1.0;
            row[col("svc_replicas_up_ratio")] = up;
            row[col("svc_error_ratio")] = err;
            row[col("svc_action_age")] = 3600f32.ln_1p();
            row[col("svc_alert_age")] = 40f32.ln_1p();
        }
        Observation::Entities(EntityObs {
            global: vec![],
            width: w,
            rows: data,
        })
    }

    const DOWN: (f32, f32) = (0.5, 0.0);
    const ERRORS: (f32, f32) = (1.0, 0.3);

    /// One service. Replica down in four states: the teacher restarts it (action 1) in three and
    /// waits in one. Errors in four others: it always waits. Every step is truncated, reward -1
    /// (down) or -2 (errors), so with gamma 0.5 each return is `r / (1 - 0.5)`: -2 or -4.
    fn teacher_data() -> TeacherData {
        let mut d = TeacherData {
            num_envs: 1,
            ..TeacherData::default()
        };
        let (down, errors) = (services(&[DOWN]), services(&[ERRORS]));
        for (obs, action, reward) in [
            (&down, 1, -1.0),
            (&down, 1, -1.0),
            (&down, 0, -1.0),
            (&down, 1, -1.0),
            (&errors, 0, -2.0),
            (&errors, 0, -2.0),
            (&errors, 0, -2.0),
            (&errors, 0, -2.0),
        ] {
            d.obs.push(obs.clone());
            d.masks.extend(std::iter::repeat_n(true, 1 + N_KINDS));
            d.actions.push(action);
            d.rewards.push(reward);
            d.terminated.push(false);
            d.truncated.push(true);
        }
        d.last_obs = vec![errors];
        d
    }

    /// A learner for `n_services` services, warm-started on [`teacher_data`] (majority vote,
    /// margin 0.8: restart on `DOWN` seeded at 0.8 * (0.75 - 0.5) / 0.5 = 0.4).
    fn warm(n_services: usize, prior_count: f64, entity_baseline: bool) -> TabularQ {
        warm_with(n_services, prior_count, entity_baseline, None)
    }

    /// [`warm`] with a trust radius.
    fn warm_with(
        n_services: usize,
        prior_count: f64,
        entity_baseline: bool,
        trust_radius: Option<f64>,
    ) -> TabularQ {
        warm_opt(n_services, prior_count, entity_baseline, trust_radius, 0.0)
    }

    /// [`warm_with`] with an optimism z.
    fn warm_opt(
        n_services: usize,
        prior_count: f64,
        entity_baseline: bool,
        trust_radius: Option<f64>,
        optimism_z: f64,
    ) -> TabularQ {
        let config = TabularConfig {
            gamma: 0.5,
            learning_rate: 0.5,
            warm_start: Some(TabularWarmStartConfig {
                act_threshold: 0.5,
                margin: 0.8,
                prior_count,
                entity_baseline,
                trust_radius,
                optimism_z,
                ..TabularWarmStartConfig::default()
            }),
            ..TabularConfig::warm_started()
        };
        let n_actions = 1 + n_services * N_KINDS;
        let mut q = TabularQ::new(config, FeatureSchema::builtin(), N_KINDS, n_actions, 0).unwrap();
        // The warm start reads one-service states: warm-start a one-service learner and copy.
        let mut one = TabularQ::new(
            q.config.clone(),
            FeatureSchema::builtin(),
            N_KINDS,
            1 + N_KINDS,
            0,
        )
        .unwrap();
        one.warm_start_from(&teacher_data()).unwrap();
        q.policy.q_entity.clone_from(&one.policy.q_entity);
        q.policy.q_noop.clone_from(&one.policy.q_noop);
        q.visits.clone_from(&one.visits);
        q.seeded_visits.clone_from(&one.seeded_visits);
        q.seeded_value.clone_from(&one.seeded_value);
        q.target_stats.clone_from(&one.target_stats);
        q.wait_value.clone_from(&one.wait_value);
        q.wait_visits.clone_from(&one.wait_visits);
        q
    }

    /// The restart entry of the first service of `obs`, the state's global bucket and its entries.
    fn restart_entry(q: &TabularQ, obs: &Observation) -> (usize, usize, Vec<usize>) {
        let (g, entries) = q.policy.entries(obs).unwrap();
        (entries[0], g, entries)
    }

    #[test]
    fn pseudo_counts_average_the_seeded_value_with_the_targets() {
        let mut q = warm(1, 3.0, false);
        let (i, g, entries) = restart_entry(&q, &services(&[DOWN]));
        assert!((q.policy.q_entity[i] - 0.4).abs() < 1e-6);
        // Seeded visits: max(4 demonstrated states, min_visits 20).
        assert_eq!((q.visits[i], q.seeded_visits[i]), (20, 20));
        assert_eq!(q.policy.q_noop[g], -2.0);
        // Return -3 twice: advantage target -3 - (-2) = -1. Step sizes 1/(3 + 1), then 1/(3 + 2):
        // 0.4 + (-1 - 0.4) / 4 = 0.05; 0.05 + (-1 - 0.05) / 5 = -0.16 = (3 * 0.4 - 1 - 1) / 5.
        q.update_entry(g, &entries, 1, -3.0).unwrap();
        assert!((q.policy.q_entity[i] - 0.05).abs() < 1e-6);
        q.update_entry(g, &entries, 1, -3.0).unwrap();
        assert!((q.policy.q_entity[i] - (-0.16)).abs() < 1e-6);
        // The no-op keeps the learning rate: -2 + 0.5 * (-3 + 2) = -2.5.
        q.update_entry(g, &entries, 0, -3.0).unwrap();
        assert_eq!(q.policy.q_noop[g], -2.5);
        // Without prior_count the entry moves at the learning rate: 0.4 + 0.5 * (-1 - 0.4) = -0.3.
        let mut plain = warm(1, 0.0, false);
        plain.update_entry(g, &entries, 1, -3.0).unwrap();
        assert!((plain.policy.q_entity[i] - (-0.3)).abs() < 1e-6);
    }

    #[test]
    fn the_entity_baseline_measures_an_action_against_waiting_with_the_same_symptom() {
        let mut q = warm(2, 0.0, true);
        let (down, errors) = (services(&[DOWN]), services(&[ERRORS]));
        let bucket = |obs: &Observation| q.policy.discretiser.encode(obs).unwrap().0[0];
        let (bd, be) = (bucket(&down), bucket(&errors));
        // Seeded from the teacher's no-op decisions only: one on DOWN (return -2), four on ERRORS
        // (-4 each).
        assert_eq!((q.wait_value[bd], q.wait_visits[bd]), (-2.0, 1));
        assert_eq!((q.wait_value[be], q.wait_visits[be]), (-4.0, 4));
        // Both services in one state: a global bucket the teacher never saw, whose no-op value is
        // the mean of all the teacher's returns, (4 * -2 + 4 * -4) / 8 = -3.
        let both = services(&[DOWN, ERRORS]);
        let (i, g, entries) = restart_entry(&q, &both);
        assert_eq!(q.policy.q_noop[g], -3.0);
        // Restart the down service, return -2.5: advantage target -2.5 - W[down] = -0.5 (the
        // global baseline would give +0.5); entry 0.4 + 0.5 * (-0.5 - 0.4) = -0.05.
        q.update_entry(g, &entries, 1, -2.5).unwrap();
        assert!((q.policy.q_entity[i] - (-0.05)).abs() < 1e-6);
        let mut global = warm(2, 0.0, false);
        global.update_entry(g, &entries, 1, -2.5).unwrap();
        assert!((global.policy.q_entity[i] - 0.45).abs() < 1e-6);
        // A no-op with return -6 moves W of both symptoms and the global value at the learning
        // rate: W[down] -2 + 0.5 * (-4) = -4, W[errors] -4 + 0.5 * (-2) = -5, q_noop -4.5.
        q.update_entry(g, &entries, 0, -6.0).unwrap();
        assert_eq!((q.wait_value[bd], q.wait_visits[bd]), (-4.0, 2));
        assert_eq!((q.wait_value[be], q.wait_visits[be]), (-5.0, 5));
        assert_eq!(q.policy.q_noop[g], -4.5);
        // The global-baseline learner keeps no W.
        global.update_entry(g, &entries, 0, -6.0).unwrap();
        assert!(global.wait_visits.iter().all(|&n| n == 0));
    }

    #[test]
    fn the_trust_region_keeps_seeded_entries_near_their_seeded_values() {
        let mut q = warm_with(1, 0.0, false, Some(0.1));
        let (i, g, entries) = restart_entry(&q, &services(&[DOWN]));
        assert_eq!(q.trust_region(i), Some((0.3, 0.5)));
        // Return -3: advantage target -1; 0.4 + 0.5 * (-1 - 0.4) = -0.3, clamped to 0.4 - 0.1.
        q.update_entry(g, &entries, 1, -3.0).unwrap();
        assert!((q.policy.q_entity[i] - 0.3).abs() < 1e-6);
        // Return +5: target 7; 0.3 + 0.5 * 6.7 = 3.65, clamped to 0.4 + 0.1.
        q.update_entry(g, &entries, 1, 5.0).unwrap();
        assert!((q.policy.q_entity[i] - 0.5).abs() < 1e-6);
        // Inside the region the update is the plain one: return -1.8, target 0.2;
        // 0.5 + 0.5 * (0.2 - 0.5) = 0.35.
        q.update_entry(g, &entries, 1, -1.8).unwrap();
        assert!((q.policy.q_entity[i] - 0.35).abs() < 1e-6);
        // A kind the teacher never took there was seeded at -0.8: its region is [-0.9, -0.7].
        let never = entries[1];
        let (low, high) = q.trust_region(never).unwrap();
        assert!((low - (-0.9)).abs() < 1e-6 && (high - (-0.7)).abs() < 1e-6);
        // Entries the teacher's states never reached are not constrained.
        let (_, unseen) = q.policy.entries(&services(&[(0.5, 0.3)])).unwrap();
        assert_eq!(q.seeded_visits[unseen[0]], 0);
        assert_eq!(q.trust_region(unseen[0]), None);
        // Without a radius there is no region.
        assert_eq!(warm(1, 0.0, false).trust_region(i), None);
    }

    #[test]
    fn optimism_acts_on_an_upper_bound_of_the_targets_since_the_warm_start() {
        let mut q = warm_opt(1, 0.0, false, None, 3.0);
        let (i, g, entries) = restart_entry(&q, &services(&[DOWN]));
        // No target yet since the warm start (its 20 seeded visits do not count): no bonus.
        assert_eq!(q.optimism_bonus(i), 0.0);
        // Returns -3 and -2.6: advantage targets -1 and -0.6; entry 0.4 -> -0.3 -> -0.45 at
        // learning rate 0.5. Their sd is sqrt(0.08), the standard error sqrt(0.08 / 2) = 0.2, the
        // bonus 3 * 0.2 = 0.6.
        q.update_entry(g, &entries, 1, -3.0).unwrap();
        assert_eq!(q.optimism_bonus(i), 0.0);
        q.update_entry(g, &entries, 1, -2.6).unwrap();
        assert!((q.policy.q_entity[i] - (-0.45)).abs() < 1e-6);
        assert!(
            (q.optimism_bonus(i) - 0.6).abs() < 1e-5,
            "{}",
            q.optimism_bonus(i)
        );
        // While learning the restart is still chosen (-0.45 + 0.6 > 0); the exported policy waits.
        let noop = q.policy.q_noop[g];
        let acting = q.effective_q(g, &entries, true);
        assert!((acting[1] - (noop + 0.15)).abs() < 1e-5, "{acting:?}");
        assert_eq!(crate::distribution::argmax(&acting), 1);
        let exported = q.policy().q_values(&services(&[DOWN])).unwrap();
        assert!((exported[1] - (noop - 0.45)).abs() < 1e-5);
        assert_eq!(crate::distribution::argmax(&exported), 0);
        // Off, no bonus.
        let mut plain = warm(1, 0.0, false);
        plain.update_entry(g, &entries, 1, -3.0).unwrap();
        plain.update_entry(g, &entries, 1, -2.6).unwrap();
        assert_eq!(plain.optimism_bonus(i), 0.0);
    }
}
