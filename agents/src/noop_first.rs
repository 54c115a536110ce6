//! The deterministic decision of a cluster policy whose action 0 is the no-op: first *whether* to act,
//! then *what* to do.
//!
//! A policy over hundreds of (entity, kind) actions spreads the probability of acting over many
//! actions, so the single likeliest action is the no-op even when acting is likelier in total
//! (measured in session 2: PPO's sampled policy acted usefully while its argmax never acted). The
//! mode of the two-stage distribution "act? then which action given acting" fixes that:
//! act iff `P(act) = 1 - p[0] > p[0]`, and then take the likeliest action among the others.
//! With two actions this is the plain argmax.

/// A deterministic decision from action probabilities where action 0 is the no-op.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoopFirstDecision {
    /// The chosen action (0 = no-op).
    pub action: usize,
    /// Probability of acting at all: `1 - p[0]`.
    pub act_probability: f32,
    /// Probability of the chosen action given the first-stage decision: 1 for the no-op,
    /// `p[a] / P(act)` for an action `a`.
    pub choice_probability: f32,
}

impl NoopFirstDecision {
    /// Probability of the first stage's choice, `max(p[0], P(act))` (at least 0.5): the confidence
    /// to gate on. `p[a]` itself is small whenever many targets share the probability of acting.
    pub fn stage_confidence(&self) -> f32 {
        if self.action == 0 {
            1.0 - self.act_probability
        } else {
            self.act_probability
        }
    }
}

/// The no-op-first decision for `probabilities` (masked actions have probability 0). Ties go to
/// the no-op in the first stage and to the lowest index in the second. An empty slice decides the
/// no-op, and so does a NaN or infinite probability (an untrustworthy output steers nothing).
///
/// `P(act)` is summed in eight lanes in a fixed order (vectorised, the same bits on every instruction
/// set), so over a 1,261-action cluster this costs about a microsecond.
pub fn noop_first_decision(probabilities: &[f32]) -> NoopFirstDecision {
    let p_noop = probabilities.first().copied().unwrap_or(1.0);
    let act_probability = lane_sum(probabilities.get(1..).unwrap_or(&[]));
    if probabilities.len() < 2
        || act_probability <= p_noop
        || !(act_probability.is_finite() && p_noop.is_finite())
    {
        return NoopFirstDecision {
            action: 0,
            act_probability,
            choice_probability: 1.0,
        };
    }
    // Every p[1..] is finite here (their sum is), so the fold "first index whose p beats every
    // earlier one" is the first index holding the maximum: found by a vectorisable max in lanes
    // (exact, whatever the order) and a search for the first equal value.
    let rest = &probabilities[1..];
    let max = lane_max(rest);
    let best = 1 + rest.iter().position(|&p| p == max).unwrap_or(0);
    NoopFirstDecision {
        action: best,
        act_probability,
        choice_probability: probabilities[best] / act_probability,
    }
}

/// The largest of `values` (finite), in eight lanes; `-inf` for an empty slice.
fn lane_max(values: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for c in chunks {
        for k in 0..8 {
            acc[k] = acc[k].max(c[k]);
        }
    }
    acc.iter().copied().fold(tail, f32::max)
}

/// Sum of `values` in eight lanes (lane `k` adds every eighth value from `k`), then the lanes
/// pairwise and the leftover values in order: a fixed order the compiler vectorises.
fn lane_sum(values: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..8 {
            acc[k] += c[k];
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acts_when_acting_is_likelier_in_total_though_noop_is_the_argmax() {
        let d = noop_first_decision(&[0.4, 0.25, 0.2, 0.15]);
        assert_eq!(d.action, 1);
        assert!((d.act_probability - 0.6).abs() < 1e-6);
        assert!((d.choice_probability - 0.25 / 0.6).abs() < 1e-6);
        assert!((d.stage_confidence() - 0.6).abs() < 1e-6);
    }

    #[test]
    fn stays_put_when_noop_holds_half_or_more() {
        let d = noop_first_decision(&[0.5, 0.3, 0.2]);
        assert_eq!(d.action, 0);
        assert!((d.stage_confidence() - 0.5).abs() < 1e-6);
        assert_eq!(noop_first_decision(&[0.9, 0.1]).action, 0);
        assert_eq!(noop_first_decision(&[]).action, 0);
        assert_eq!(noop_first_decision(&[1.0]).action, 0);
    }

    #[test]
    fn second_stage_ties_go_to_the_lowest_index_and_masked_actions_never_win() {
        assert_eq!(noop_first_decision(&[0.2, 0.0, 0.4, 0.4]).action, 2);
        assert_eq!(noop_first_decision(&[0.1, 0.0, 0.0, 0.9]).action, 3);
    }

    /// The lane argmax equals the sequential "first strictly larger" fold it replaced (session 6),
    /// including ties across lanes and signed zeros.
    #[test]
    fn second_stage_equals_the_sequential_first_maximum_fold() {
        let fold = |p: &[f32]| {
            p.iter()
                .copied()
                .enumerate()
                .skip(1)
                .fold(
                    (1, f32::NEG_INFINITY),
                    |acc, (i, p)| if p > acc.1 { (i, p) } else { acc },
                )
                .0
        };
        let mut cases: Vec<Vec<f32>> =
            vec![vec![0.1, -0.0, 0.0, 0.0], vec![0.0, 0.0, -0.0, 0.0, 1.0]];
        for n in [2usize, 9, 17, 40, 1261] {
            for tie_every in [3usize, 7, 1000] {
                let mut p: Vec<f32> = (0..n)
                    .map(|i| ((i * 37 + n) % 13) as f32 / (n as f32 * 13.0))
                    .collect();
                p[0] = 0.0;
                for i in (1..n).filter(|i| i % tie_every == 0) {
                    p[i] = 0.9 / n as f32;
                }
                cases.push(p);
            }
        }
        for p in cases {
            let d = noop_first_decision(&p);
            if d.action != 0 {
                assert_eq!(d.action, fold(&p), "{p:?}");
            }
        }
    }

    #[test]
    fn a_nan_or_infinite_probability_decides_the_noop() {
        assert_eq!(noop_first_decision(&[f32::NAN, 0.6, 0.4]).action, 0);
        assert_eq!(noop_first_decision(&[0.1, f32::NAN, 0.9]).action, 0);
        assert_eq!(noop_first_decision(&[0.1, f32::INFINITY, 0.9]).action, 0);
        assert_eq!(noop_first_decision(&[f32::NAN; 30]).action, 0);
    }

    #[test]
    fn act_probability_over_many_actions_matches_the_f64_sum() {
        let p: Vec<f32> = (0..1261).map(|i| ((i * 37) % 101) as f32 * 1e-5).collect();
        let want: f64 = p[1..].iter().map(|&x| f64::from(x)).sum();
        let d = noop_first_decision(&p);
        assert!((f64::from(d.act_probability) - want).abs() < 1e-6 * want);
        let max = p[1..].iter().copied().fold(0.0f32, f32::max);
        let first_max = 1 + p[1..].iter().position(|&x| x == max).unwrap();
        assert_eq!(d.action, first_max, "P(act) {want} > p[0] = {}", p[0]);
    }
}
