//! How a Q-value policy over the cluster env's actions (action 0 = no-op) decides, and the Q-values it
//! decides on:
//!
//! - [`remove_size_prior`]: the entity network adds `action_prior(n, K) = -ln(n K)` to every (entity,
//!   kind) score (`crate::nn::entity`, a *probability* prior that makes the no-op and "act" equally
//!   likely under a softmax). A Q-value is an expected return, not a logit: a size-dependent offset
//!   would move every action's value against the no-op's by `ln(n2 / n1)` when a policy trained on `n1`
//!   entities acts on `n2`. DQN removes it, so its Q-values are the network's plain outputs.
//! - [`noop_margin_decision`]: act only if `max_a Q(a) - Q(no-op) > margin`, then the best action.
//!   The greedy argmax over hundreds of noisy estimates picks the largest error: the expected maximum
//!   of `N` independent estimation errors grows like `sigma * sqrt(2 ln N)` (Thrun & Schwartz 1993,
//!   "Issues in using function approximation for reinforcement learning"; van Hasselt 2010, "Double
//!   Q-learning", §2), so with `N` = 90-612 actions some action beats the no-op on almost every step
//!   (measured in session 3 on 81-100 % of steps by a tiny gap). Acting must clear a margin, the
//!   same in training (behaviour and TD target) and at inference (the margin is a [`DqnConfig`]
//!   field, recorded in the policy file's manifest as `training.config.noop_margin`).
//! - [`DqnEntityPolicy`] / [`load_policy`]: the trained entity Q-network as a [`Policy`] that applies
//!   both, and the loader that rebuilds it from a policy file.
//!
//! [`DqnConfig`]: super::DqnConfig

use std::path::Path;

use mend_envs::{Action, Observation};
use rand::{Rng, RngCore};

use crate::distribution::{check_mask, masked_logits};
use crate::error::AgentError;
use crate::nn::entity::{EntityPolicy, action_prior};
use crate::policy::{ActionScores, OutputKind, Policy, PolicyNet, random_valid_action};
use crate::policy_file::{FeatureSchema, PolicyFile};

/// Manifest key (inside `training.config`, the agent's [`super::DqnConfig`] as JSON) of the margin.
pub const NOOP_MARGIN_KEY: &str = "noop_margin";

/// Adds back `-action_prior(n, n_kinds)` to every (entity, kind) entry of `scores` (`1 + n * n_kinds`
/// entries, entry 0 the no-op's), leaving the network's plain outputs: the Q-values. Rows of any other
/// length are left as they are.
pub fn remove_size_prior(scores: &mut [f32], n_kinds: usize) {
    if scores.len() < 2 || n_kinds == 0 || !(scores.len() - 1).is_multiple_of(n_kinds) {
        return;
    }
    let shift = -action_prior((scores.len() - 1) / n_kinds, n_kinds);
    for s in &mut scores[1..] {
        *s += shift;
    }
}

/// The no-op-first greedy decision on masked Q-values (masked entries `-inf`; action 0 the no-op):
/// the best other action if its Q-value exceeds the no-op's by more than `margin`, else the no-op.
/// Ties go to the lowest index. If the no-op itself is masked, the best valid action. An empty row
/// decides the no-op.
pub fn noop_margin_decision(q: &[f32], margin: f32) -> Action {
    let Some(&q_noop) = q.first() else {
        return 0;
    };
    let mut best = 0;
    let mut q_best = f32::NEG_INFINITY;
    for (a, &v) in q.iter().enumerate().skip(1) {
        if v > q_best {
            (best, q_best) = (a, v);
        }
    }
    if best == 0 || q_best == f32::NEG_INFINITY {
        return 0;
    }
    if q_noop == f32::NEG_INFINITY || q_best - q_noop > margin {
        best
    } else {
        0
    }
}

/// An entity Q-network as a [`Policy`] for the cluster env: Q-values without the size prior, greedy
/// by [`noop_margin_decision`]; `predict(.., deterministic = false, ..)` explores with the inner
/// policy's `exploration_eps` (a uniformly random valid action), else decides greedily.
#[derive(Clone, Debug, PartialEq)]
pub struct DqnEntityPolicy {
    /// The network (its `output` is [`OutputKind::QValues`]).
    pub inner: EntityPolicy,
    /// Acting must beat the no-op's Q-value by more than this.
    pub noop_margin: f32,
}

impl DqnEntityPolicy {
    /// Masked Q-values of `obs` (masked entries `-inf`), size prior removed.
    pub fn q_values(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<Vec<f32>, AgentError> {
        let (mut scores, _) = self.inner.params.forward(obs)?;
        remove_size_prior(&mut scores, self.inner.params.spec.n_kinds);
        check_mask(mask, scores.len())?;
        Ok(masked_logits(&scores, mask))
    }
}

impl Policy for DqnEntityPolicy {
    fn algorithm(&self) -> &str {
        &self.inner.algorithm
    }

    fn n_actions(&self) -> usize {
        self.inner.n_actions
    }

    fn action_scores(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        Ok(ActionScores::QValues(self.q_values(obs, mask)?))
    }

    fn predict(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
        deterministic: bool,
        rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        let q = self.q_values(obs, mask)?;
        if !deterministic && rng.random::<f32>() < self.inner.exploration_eps {
            return Ok(random_valid_action(q.len(), mask, rng));
        }
        Ok(noop_margin_decision(&q, self.noop_margin))
    }
}

/// The margin recorded in a DQN manifest's `training.config` (0 when absent: files written before
/// the field existed decided by the plain argmax, which a margin of 0 reproduces up to the size prior).
pub fn manifest_noop_margin(config: &serde_json::Value) -> f32 {
    config
        .get(NOOP_MARGIN_KEY)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0) as f32
}

/// Wraps a loaded policy file's network: a DQN entity Q-network becomes a [`DqnEntityPolicy`] with
/// the manifest's margin; any other network is returned as it is.
pub fn policy_from_file(file: PolicyFile) -> Box<dyn Policy> {
    let margin = manifest_noop_margin(&file.manifest.training.config);
    match file.policy {
        PolicyNet::Entity(inner)
            if file.manifest.algorithm == "dqn" && inner.output == OutputKind::QValues =>
        {
            Box::new(DqnEntityPolicy {
                inner: *inner,
                noop_margin: margin,
            })
        }
        other => Box::new(other),
    }
}

/// Loads a policy file ([`PolicyFile::load`], every check of it) and returns the policy that decides
/// as training did: for a DQN entity network, [`DqnEntityPolicy`] with the recorded margin. The
/// executor and the experiment runner should load DQN files through this.
pub fn load_policy(
    path: &Path,
    expected_schema: Option<&FeatureSchema>,
) -> Result<Box<dyn Policy>, AgentError> {
    Ok(policy_from_file(PolicyFile::load(path, expected_schema)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acts_only_when_the_best_action_clears_the_margin() {
        let q = [1.0f32, 1.04, 0.5, 1.02];
        assert_eq!(noop_margin_decision(&q, 0.0), 1);
        assert_eq!(noop_margin_decision(&q, 0.03), 1);
        assert_eq!(
            noop_margin_decision(&q, 0.04),
            0,
            "gap equal to the margin: wait"
        );
        assert_eq!(noop_margin_decision(&q, 0.5), 0);
        // A negative gap never acts at margin 0.
        assert_eq!(noop_margin_decision(&[2.0, 1.0, 1.5], 0.0), 0);
    }

    #[test]
    fn masked_actions_never_win_and_edge_rows_decide_sensibly() {
        let inf = f32::NEG_INFINITY;
        // The best raw value is masked: the next valid one must clear the margin on its own.
        assert_eq!(noop_margin_decision(&[0.0, inf, 0.2, 0.1], 0.1), 2);
        assert_eq!(noop_margin_decision(&[0.0, inf, 0.05, inf], 0.1), 0);
        // Everything but the no-op masked.
        assert_eq!(noop_margin_decision(&[0.0, inf, inf], -10.0), 0);
        // No-op masked: the best valid action whatever the margin.
        assert_eq!(noop_margin_decision(&[inf, -5.0, -3.0], 100.0), 2);
        assert_eq!(noop_margin_decision(&[], 0.0), 0);
        assert_eq!(noop_margin_decision(&[3.0], 0.0), 0);
        // Ties between actions go to the lowest index.
        assert_eq!(noop_margin_decision(&[0.0, 1.0, 1.0], 0.5), 1);
    }

    #[test]
    fn size_prior_removal_adds_ln_n_k_to_action_entries_only() {
        // 3 entities x 2 kinds: prior -ln 6.
        let mut s = vec![0.5f32; 7];
        let prior = action_prior(3, 2);
        for v in &mut s[1..] {
            *v += prior;
        }
        remove_size_prior(&mut s, 2);
        assert!(s.iter().all(|v| (v - 0.5).abs() < 1e-6), "{s:?}");
        // A row that is not 1 + n * K long is left alone.
        let mut odd = vec![1.0f32; 4];
        remove_size_prior(&mut odd, 2);
        assert_eq!(odd, vec![1.0; 4]);
    }

    #[test]
    fn the_margin_is_read_from_the_manifest_config() {
        let cfg = serde_json::json!({ "noop_margin": 0.25, "seed": 1 });
        assert!((manifest_noop_margin(&cfg) - 0.25).abs() < 1e-7);
        assert_eq!(manifest_noop_margin(&serde_json::json!({})), 0.0);
        assert_eq!(manifest_noop_margin(&serde_json::Value::Null), 0.0);
    }
}
