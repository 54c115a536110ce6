//! A vectorisable `exp` for f32 and the softmax built on it, for the greedy decision and the
//! probabilities of entity policies (issue 4: a decision over 1,261 actions in a few microseconds).
//!
//! glibc's `expf` is a scalar call (about 5 ns each, one per action); this one is plain arithmetic the
//! compiler vectorises for the caller's instruction set. It is the Cephes `expf` (S. L. Moshier, Cephes
//! Mathematical Library, `expf.c`; the same constants as Julien Pommier's `sse_mathfun.h`): `x = n ln 2
//! + r` with `n = round(x / ln 2)` and `ln 2` split in two parts (Cody & Waite), a degree-7 polynomial
//! for `exp(r)` on `|r| <= ln 2 / 2`, and `2^n` built in the exponent bits. Relative error below 2e-7
//! on the whole range (tested against f64). Two differences from Cephes, both for determinism and
//! speed on every instruction set: `n` is rounded by adding and subtracting 1.5 x 2^23 (additions
//! only, no `floor`, which the baseline x86-64 set lacks), and arguments below `ln 2^-126` give exactly
//! 0 (no subnormals), so masked logits (`-inf`) have probability 0.
//!
//! Every result is a fixed sequence of IEEE operations (Rust never fuses a multiply and an add on its
//! own), and the softmax's sum runs in eight lanes in a fixed order, so the results are bit-identical
//! on AVX-512, AVX2 and the baseline (tested in `distribution`).

/// Below this argument (`ln 2^-126`, the smallest normal f32) [`exp`] returns 0.
pub const EXP_MIN_ARG: f32 = -87.336_55;
/// Arguments above this are clamped (`2^127` is the largest power of two an f32 holds).
const EXP_MAX_ARG: f32 = 88.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// `ln 2 = LN2_HI + LN2_LO`, the high part exact in 9 bits, so `n * LN2_HI` is exact (Cody & Waite).
#[allow(clippy::excessive_precision)] // exactly 355/512, as Cephes writes it
const LN2_HI: f32 = 0.693_359_375;
#[allow(clippy::excessive_precision)] // Cephes' constants as published.
const LN2_LO: f32 = -2.121_944_40e-4;
/// Adding then subtracting `1.5 x 2^23` rounds an f32 below `2^22` in magnitude to an integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// Cephes `expf.c` polynomial: `exp(r) ~ 1 + r + r^2 (P5 + P4 r + ... + P0 r^5)`.
#[allow(clippy::excessive_precision)]
const P0: f32 = 1.987_569_150_0e-4;
#[allow(clippy::excessive_precision)]
const P1: f32 = 1.398_199_950_7e-3;
#[allow(clippy::excessive_precision)]
const P2: f32 = 8.333_451_907_3e-3;
#[allow(clippy::excessive_precision)]
const P3: f32 = 4.166_579_589_4e-2;
#[allow(clippy::excessive_precision)]
const P4: f32 = 1.666_666_545_9e-1;
#[allow(clippy::excessive_precision)]
const P5: f32 = 5.000_000_120_1e-1;

/// `e^x`: 0 below [`EXP_MIN_ARG`] (and for `-inf`), NaN for NaN, `2^127`-ish above 88.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let xc = x.clamp(EXP_MIN_ARG, EXP_MAX_ARG);
    let shifted = xc * LOG2E + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let r2 = r * r;
    let mut p = P0 * r + P1;
    p = p * r + P2;
    p = p * r + P3;
    p = p * r + P4;
    p = p * r + P5;
    let y = p * r2 + r + 1.0;
    // The integer n sits in the low mantissa bits of `shifted` (its exponent is that of 2^23).
    let n_int = shifted.to_bits().wrapping_sub(ROUND_MAGIC.to_bits()) as i32;
    let scale = f32::from_bits(((n_int + 127) as u32) << 23);
    // A bit mask rather than a branch or a select, so loops over slices stay vectorised: all ones
    // unless `x` is below the range (NaN keeps its bits).
    let keep = u32::from(x < EXP_MIN_ARG).wrapping_sub(1);
    f32::from_bits((y * scale).to_bits() & keep)
}

/// Softmax of already-masked logits into `out` (its length set to `logits.len()`): `e_i / sum e`
/// with `e_i = exp(l_i - max l)`. Masked (`-inf`) logits get exactly 0. If any logit is NaN or `+inf`,
/// or every logit is `-inf`, every output is NaN (an untrustworthy output, which callers treat as
/// such). `inline(always)` so it is compiled inside the caller's instruction-set function.
#[inline(always)]
pub fn softmax_into(logits: &[f32], out: &mut Vec<f32>) {
    const LANES: usize = 8;
    out.clear();
    out.resize(logits.len(), 0.0);
    // ---- max, and whether any logit is NaN or +inf (max is exact: the order does not matter) ----
    let mut max = [f32::NEG_INFINITY; LANES];
    let mut bad = [false; LANES];
    let chunks = logits.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..LANES {
            max[k] = max[k].max(c[k]);
            bad[k] |= c[k].is_nan() | (c[k] == f32::INFINITY);
        }
    }
    let mut m = max.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut any_bad = bad.iter().any(|&b| b);
    for &l in tail {
        m = m.max(l);
        any_bad |= l.is_nan() | (l == f32::INFINITY);
    }
    if any_bad || m == f32::NEG_INFINITY {
        out.fill(f32::NAN);
        return;
    }
    // ---- exponentials, then their sum in eight lanes in a fixed order ----
    for (o, &l) in out.iter_mut().zip(logits) {
        *o = exp(l - m);
    }
    let mut acc = [0.0f32; LANES];
    let chunks = out.chunks_exact(LANES);
    let tail_sum: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..LANES {
            acc[k] += c[k];
        }
    }
    let sum = ((acc[0] + acc[1]) + (acc[2] + acc[3]))
        + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        + tail_sum;
    for p in out.iter_mut() {
        *p /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_2e7_relative_of_f64_on_its_range_and_exact_at_the_ends() {
        let mut worst = 0.0f64;
        let mut x = EXP_MIN_ARG;
        while x < 88.0 {
            let want = f64::from(x).exp();
            let got = f64::from(exp(x));
            worst = worst.max(((got - want) / want).abs());
            x += 0.000_731;
        }
        assert!(worst < 2e-7, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-100.0), 0.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(1000.0).is_finite() && exp(1000.0) > 1e38);
    }

    #[test]
    fn softmax_sums_to_one_gives_masked_zero_and_flags_bad_logits() {
        let logits: Vec<f32> = (0..37)
            .map(|i| {
                if i % 5 == 0 {
                    f32::NEG_INFINITY
                } else {
                    (i as f32 * 0.37).sin() * 6.0
                }
            })
            .collect();
        let mut p = Vec::new();
        softmax_into(&logits, &mut p);
        assert_eq!(p.len(), 37);
        let total: f64 = p.iter().map(|&x| f64::from(x)).sum();
        assert!((total - 1.0).abs() < 1e-6, "sum {total}");
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let z: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
        for (i, (&l, &q)) in logits.iter().zip(&p).enumerate() {
            if i % 5 == 0 {
                assert_eq!(q, 0.0);
            } else {
                let want = f64::from(l - max).exp() / z;
                assert!(
                    (f64::from(q) - want).abs() <= 1e-6 * want,
                    "{i}: {q} vs {want}"
                );
            }
        }
        for bad in [f32::NAN, f32::INFINITY] {
            let mut l = logits.clone();
            l[3] = bad;
            softmax_into(&l, &mut p);
            assert!(p.iter().all(|x| x.is_nan()), "{bad}");
        }
        softmax_into(&[f32::NEG_INFINITY; 3], &mut p);
        assert!(p.iter().all(|x| x.is_nan()));
        softmax_into(&[], &mut p);
        assert!(p.is_empty());
    }
}
