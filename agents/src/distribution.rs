//! A categorical distribution over discrete actions, from logits, with invalid actions masked out
//! (their logits set to -inf, as in Huang & Ontañón 2022, "A Closer Look at Invalid Action Masking in
//! Policy Gradient Algorithms"). Works on plain slices; the candle side is in `ppo::loss`.

use rand::Rng;

use crate::error::AgentError;

/// Checks a mask against the action count: right length, at least one valid action.
pub fn check_mask(mask: Option<&[bool]>, n_actions: usize) -> Result<(), AgentError> {
    if let Some(m) = mask {
        if m.len() != n_actions {
            return Err(AgentError::InvalidMask {
                detail: format!("length {} but {n_actions} actions", m.len()),
            });
        }
        if !m.iter().any(|&v| v) {
            return Err(AgentError::InvalidMask {
                detail: "no action is valid".into(),
            });
        }
    }
    Ok(())
}

/// Logits with masked entries replaced by `-inf`.
pub fn masked_logits(logits: &[f32], mask: Option<&[bool]>) -> Vec<f32> {
    match mask {
        None => logits.to_vec(),
        Some(m) => logits
            .iter()
            .zip(m)
            .map(|(&l, &ok)| if ok { l } else { f32::NEG_INFINITY })
            .collect(),
    }
}

/// Log-probabilities (`log_softmax`) of already-masked logits; masked entries stay `-inf`.
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
    let log_sum = max + sum.ln();
    logits.iter().map(|&l| l - log_sum).collect()
}

/// Probabilities of already-masked logits (masked entries 0).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    log_softmax(logits).into_iter().map(f32::exp).collect()
}

/// The index of the largest value; ties go to the lowest index (deterministic). `-inf` entries are
/// never chosen while a finite one exists.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Draws an action from log-probabilities by inverse CDF with one uniform from `rng`. Zero-probability
/// (masked) actions are never drawn.
pub fn sample(log_probs: &[f32], rng: &mut (impl Rng + ?Sized)) -> usize {
    let u: f32 = rng.random();
    let mut cumulative = 0.0f32;
    let mut last_valid = 0;
    for (i, &lp) in log_probs.iter().enumerate() {
        if lp == f32::NEG_INFINITY {
            continue;
        }
        last_valid = i;
        cumulative += lp.exp();
        if u < cumulative {
            return i;
        }
    }
    last_valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn log_softmax_matches_hand_values_and_respects_mask() {
        // logits [0, ln 3] -> probs [1/4, 3/4].
        let lp = log_softmax(&masked_logits(
            &[0.0, 3f32.ln(), 5.0],
            Some(&[true, true, false]),
        ));
        assert!((lp[0] - 0.25f32.ln()).abs() < 1e-6);
        assert!((lp[1] - 0.75f32.ln()).abs() < 1e-6);
        assert_eq!(lp[2], f32::NEG_INFINITY);
    }

    #[test]
    fn masked_actions_are_never_sampled_nor_argmaxed() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mask = [false, true, false, true];
        let lp = log_softmax(&masked_logits(&[10.0, 0.0, 10.0, -1.0], Some(&mask)));
        let mut seen = [0usize; 4];
        for _ in 0..2000 {
            seen[sample(&lp, &mut rng)] += 1;
        }
        assert_eq!(seen[0] + seen[2], 0);
        assert!(seen[1] > 0 && seen[3] > 0);
        assert_eq!(argmax(&lp), 1);
    }

    #[test]
    fn check_mask_rejects_wrong_length_and_all_false() {
        assert!(check_mask(Some(&[true]), 2).is_err());
        assert!(check_mask(Some(&[false, false]), 2).is_err());
        assert!(check_mask(Some(&[false, true]), 2).is_ok());
        assert!(check_mask(None, 2).is_ok());
    }
}
