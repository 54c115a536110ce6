//! Generalized Advantage Estimation (Schulman et al. 2016, "High-Dimensional Continuous Control Using
//! Generalized Advantage Estimation", eq. 16), with the time-limit handling of Pardo et al. 2018 ("Time
//! Limits in Reinforcement Learning") as SB3 implements it: on a truncated step the value of the final
//! observation is bootstrapped (`r + gamma V(s_final)`), on a terminated step nothing is.

/// One rollout's data, `T` steps of `N` envs, each slice `T x N` row-major (step-major, like CleanRL's
/// `(num_steps, num_envs)` buffers).
#[derive(Clone, Copy, Debug)]
pub struct GaeInput<'a> {
    /// Rewards `r_t`.
    pub rewards: &'a [f32],
    /// Value estimates `V(s_t)` of the observations acted on.
    pub values: &'a [f32],
    /// `terminated` flags of each step (a true end: no bootstrap).
    pub terminated: &'a [bool],
    /// `truncated` flags of each step (a time limit: bootstrap from `final_values`).
    pub truncated: &'a [bool],
    /// `V(final_obs)` on truncated steps (ignored elsewhere).
    pub final_values: &'a [f32],
    /// `V(s_T)` of the observation after the last step, one per env.
    pub last_values: &'a [f32],
}

/// Advantages and returns (`advantages + values`, the value targets), both `T x N`.
pub fn compute_gae(
    input: GaeInput<'_>,
    num_envs: usize,
    gamma: f32,
    gae_lambda: f32,
) -> (Vec<f32>, Vec<f32>) {
    let n = num_envs;
    let total = input.rewards.len();
    debug_assert_eq!(total % n.max(1), 0);
    let steps = total / n.max(1);
    let mut advantages = vec![0.0f32; total];
    let mut last_gae = vec![0.0f32; n];
    for t in (0..steps).rev() {
        for (e, gae) in last_gae.iter_mut().enumerate() {
            let i = t * n + e;
            let next_value = if t + 1 == steps {
                input.last_values[e]
            } else {
                input.values[i + n]
            };
            let (bootstrap, continues) = if input.terminated[i] {
                (0.0, 0.0)
            } else if input.truncated[i] {
                (input.final_values[i], 0.0)
            } else {
                (next_value, 1.0)
            };
            let delta = input.rewards[i] + gamma * bootstrap - input.values[i];
            *gae = delta + gamma * gae_lambda * continues * *gae;
            advantages[i] = *gae;
        }
    }
    let returns = advantages
        .iter()
        .zip(input.values)
        .map(|(a, v)| a + v)
        .collect();
    (advantages, returns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn gae_matches_hand_values_without_dones() {
        // gamma 0.5, lambda 0.5, one env, rewards 1,1,1, values 0.5,1,2, last value 4.
        // delta2 = 1 + .5*4 - 2 = 1;  A2 = 1
        // delta1 = 1 + .5*2 - 1 = 1;  A1 = 1 + .25*1 = 1.25
        // delta0 = 1 + .5*1 - .5 = 1; A0 = 1 + .25*1.25 = 1.3125
        let (adv, ret) = compute_gae(
            GaeInput {
                rewards: &[1.0, 1.0, 1.0],
                values: &[0.5, 1.0, 2.0],
                terminated: &[false; 3],
                truncated: &[false; 3],
                final_values: &[0.0; 3],
                last_values: &[4.0],
            },
            1,
            0.5,
            0.5,
        );
        close(&adv, &[1.3125, 1.25, 1.0]);
        close(&ret, &[1.8125, 2.25, 3.0]);
    }

    #[test]
    fn terminated_step_cuts_bootstrap_and_trace() {
        // Step 1 terminates: delta1 = 1 - 1 = 0, and A0 does not see A1 or V(s2).
        // delta2 = 1 + .5*4 - 2 = 1 -> A2 = 1; A1 = 0; delta0 = 1 + .5*1 - .5 = 1 -> A0 = 1 + .25*0 = 1.
        let (adv, _) = compute_gae(
            GaeInput {
                rewards: &[1.0, 1.0, 1.0],
                values: &[0.5, 1.0, 2.0],
                terminated: &[false, true, false],
                truncated: &[false; 3],
                final_values: &[0.0, 9.0, 0.0],
                last_values: &[4.0],
            },
            1,
            0.5,
            0.5,
        );
        close(&adv, &[1.0, 0.0, 1.0]);
    }

    #[test]
    fn truncated_step_bootstraps_from_final_observation_value() {
        // Step 1 is truncated with V(final_obs) = 6 (not V(s2) = 2, which is the next episode's start):
        // delta1 = 1 + .5*6 - 1 = 3 -> A1 = 3 (trace cut); A0 = (1 + .5*1 - .5) + .25*3 = 1.75.
        let (adv, ret) = compute_gae(
            GaeInput {
                rewards: &[1.0, 1.0, 1.0],
                values: &[0.5, 1.0, 2.0],
                terminated: &[false; 3],
                truncated: &[false, true, false],
                final_values: &[0.0, 6.0, 0.0],
                last_values: &[4.0],
            },
            1,
            0.5,
            0.5,
        );
        close(&adv, &[1.75, 3.0, 1.0]);
        close(&ret, &[2.25, 4.0, 3.0]);
    }

    #[test]
    fn envs_are_independent_columns() {
        // Two envs, two steps, step-major layout: env 0 terminates at step 0, env 1 does not.
        // gamma 1, lambda 1. env0: A1 = 1 + 0 - 0 = 1 (last value 0); A0 = 2 - 1 = 1 (terminated).
        // env1: A1 = 0 + 5 - 1 = 4; A0 = (0 + 1 - 1) + 4 = 4.
        let (adv, _) = compute_gae(
            GaeInput {
                rewards: &[2.0, 0.0, 1.0, 0.0],
                values: &[1.0, 1.0, 0.0, 1.0],
                terminated: &[true, false, false, false],
                truncated: &[false; 4],
                final_values: &[0.0; 4],
                last_values: &[0.0, 5.0],
            },
            2,
            1.0,
            1.0,
        );
        close(&adv, &[1.0, 4.0, 1.0, 4.0]);
    }
}
