//! Evaluation: run a [`Policy`] on one env for a number of episodes and return each episode's
//! undiscounted return. The first reset takes the seed; later resets keep the env's generator
//! (Gymnasium's convention), so an evaluation is reproducible from one seed.

use mend_envs::Env;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::AgentError;
use crate::policy::Policy;

/// Returns of `n_episodes` episodes of `policy` on `env`, actions chosen deterministically or sampled
/// from a ChaCha8 stream seeded with `seed`.
pub fn evaluate(
    policy: &dyn Policy,
    env: &mut dyn Env,
    n_episodes: usize,
    seed: u64,
    deterministic: bool,
) -> Result<Vec<f64>, AgentError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut returns = Vec::with_capacity(n_episodes);
    for episode in 0..n_episodes {
        let (mut obs, _) = env.reset(if episode == 0 { Some(seed) } else { None }, None)?;
        let mut total = 0.0;
        loop {
            let mask = env.action_mask();
            let action = policy.predict(&obs, mask.as_deref(), deterministic, &mut rng)?;
            let step = env.step(action)?;
            total += step.reward;
            obs = step.obs;
            if step.terminated || step.truncated {
                break;
            }
        }
        returns.push(total);
    }
    Ok(returns)
}

/// Mean of a slice (`NaN` when empty).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}
