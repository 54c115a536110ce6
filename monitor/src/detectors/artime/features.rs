//! ARTime's input stage: downsampling, normalisation, discretisation into 81 levels, the
//! "not-quite-running" median snap, and the 16 features of each downsampled step (a Haar
//! wavelet transform of the last 8 levels, then the 8 levels themselves).
//!
//! Source: markNZed/ARTimeNAB.jl `src/ARTime.jl` (commit 6324d1e), `process_sample!`, lines
//! 61-140 of that file; the wavelet transform is JuliaDSP/Wavelets.jl's
//! `dwt(x, wavelet(WT.haar))` (periodic boundary, all `maxtransformlevels(8) = 3` levels):
//! `src/WT/wt_main.jl` (the `"haar"` filter `[0.7071067811865475, 0.7071067811865475]`,
//! normalised by its l2 norm; `makereverseqmfpair`: scaling filter `reverse(h)`, detail filter
//! `mirror(h)` = `[h1, -h2]`, `src/Util/util_main.jl`), `src/Transforms/transforms_filter.jl`
//! (`_dwt!`, `filtdown!`: at each level, detail `d[k] = f2*s[2k-1] + f1*s[2k]` written after
//! the scaling coefficients, scaling `c[k] = f2*s[2k-1] + f1*s[2k]` with the other filter;
//! output order `[c3, d3, d2.., d1..]`). Arithmetic follows the same operation order so that
//! results agree bit for bit where the operations are the same.

/// Feature window: downsampled steps per feature vector (`window = 8`).
pub(crate) const WINDOW: usize = 8;
/// Features per step: 8 wavelet coefficients, then the 8 levels.
pub(crate) const FEATURES: usize = 2 * WINDOW;
/// Discretisation levels (`nlevels = 80`: levels 0..=80).
pub(crate) const NLEVELS: usize = 80;
/// A level closer than this to the running median is snapped to it (`discretize_chomp`).
const DISCRETIZE_CHOMP: f64 = 0.075;

/// The Haar filter as Wavelets.jl stores it, before its l2 normalisation.
const HAAR_QMF: f64 = 0.7071067811865475;

/// Wavelets.jl's normalised Haar coefficient: `qmf ./ norm(qmf)`; Julia's `norm` of a
/// 2-vector (below LinearAlgebra's `NRM2_CUTOFF`) is `sqrt(x1^2 + x2^2)` in that order.
fn haar_coefficient() -> f64 {
    HAAR_QMF / (HAAR_QMF * HAAR_QMF + HAAR_QMF * HAAR_QMF).sqrt()
}

/// `dwt(x, wavelet(WT.haar))` of 8 values: `[c3, d3, d2_1, d2_2, d1_1, .., d1_4]`.
pub(crate) fn haar_dwt8(x: &[f64; WINDOW]) -> [f64; WINDOW] {
    let a = haar_coefficient();
    // Scaling filter reverse(h) = [a, a]; detail filter mirror(h) = [a, -a] (f1, f2).
    let (sc1, sc2) = (a, a);
    let (dc1, dc2) = (a, -a);
    let mut y = [0.0; WINDOW];
    let mut s: Vec<f64> = x.to_vec();
    let mut n = WINDOW;
    while n >= 2 {
        let half = n / 2;
        // filtdown!: out = si + f1 * x_cur, with si = f2 * x_prev.
        for k in 0..half {
            y[half + k] = dc2 * s[2 * k] + dc1 * s[2 * k + 1];
        }
        for k in 0..half {
            y[k] = sc2 * s[2 * k] + sc1 * s[2 * k + 1];
        }
        s = y[..half].to_vec();
        n = half;
    }
    y
}

/// Shifts `x` into the end of `window` (Julia's `[w[2:end]; x]`).
pub(crate) fn shift_in(window: &mut [f64], x: f64) {
    if let Some(last) = window.len().checked_sub(1) {
        window.copy_within(1.., 0);
        window[last] = x;
    }
}

/// Rescales `v` to [0, 1]: subtract the minimum, divide by the new maximum when it is not 0.
fn min_max_rescale(v: &mut [f64]) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    for x in v.iter_mut() {
        *x -= lo;
    }
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi != 0.0 {
        for x in v.iter_mut() {
            *x /= hi;
        }
    }
}

/// The input stage's state (`ClassifyState`'s `ds_window`, `ds_moving_average`, `medbin`,
/// `medlevel`, `belowmed`, `abovemed`, `f_window`, `dsi`, and `P`'s `i`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeatureStage {
    dmin: f64,
    dmax: f64,
    sstep: usize,
    /// Rows seen, 1-based after the increment (`p.i`).
    i: usize,
    ds_window: Vec<f64>,
    ds_moving_average: f64,
    medbin: Vec<i64>,
    medlevel: i64,
    belowmed: i64,
    abovemed: i64,
    f_window: [f64; WINDOW],
    /// Index of the next downsampled step, 1-based (`dsi`).
    dsi: usize,
}

impl FeatureStage {
    /// A cold stage normalising by `[dmin, dmax]`, one step per `sstep` rows.
    pub(crate) fn new(dmin: f64, dmax: f64, sstep: usize) -> Self {
        FeatureStage {
            dmin,
            dmax,
            sstep,
            i: 1,
            ds_window: vec![0.0; sstep],
            ds_moving_average: 0.0,
            medbin: vec![0; NLEVELS + 1],
            medlevel: 0,
            belowmed: 0,
            abovemed: 0,
            f_window: [0.0; WINDOW],
            dsi: 1,
        }
    }

    /// Feeds one row; on every `sstep`-th row returns the step's 1-based index and its
    /// features (all zeros until 8 steps have been seen, as in the reference).
    pub(crate) fn push(&mut self, value: f64) -> Option<(usize, [f64; FEATURES])> {
        shift_in(&mut self.ds_window, value);
        let row = self.i;
        self.i += 1;
        if !row.is_multiple_of(self.sstep) {
            return None;
        }
        let level = self.downsample_level();
        let ds = self.levelize(level);
        let mut features = [0.0; FEATURES];
        shift_in(&mut self.f_window, ds);
        if self.dsi >= WINDOW {
            let mut dw = self.f_window;
            min_max_rescale(&mut dw);
            let mut fw = haar_dwt8(&dw);
            min_max_rescale(&mut fw);
            features[..WINDOW].copy_from_slice(&fw);
            features[WINDOW..].copy_from_slice(&self.f_window);
        }
        let step = self.dsi;
        self.dsi += 1;
        Some((step, features))
    }

    /// Downsample (mean, or the extreme farther from the moving average when it departs from
    /// the mean by 10 % of it), normalise by `[dmin, dmax]`, discretise to a level.
    fn downsample_level(&mut self) -> i64 {
        // Statistics.mean of fewer than 16 values: a left-to-right sum, then / n.
        let mut sum = self.ds_window[0];
        for &v in &self.ds_window[1..] {
            sum += v;
        }
        let mean = sum / self.ds_window.len() as f64;
        let max = self
            .ds_window
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let min = self.ds_window.iter().copied().fold(f64::INFINITY, f64::min);
        if self.dsi == 1 {
            self.ds_moving_average = mean;
        }
        self.ds_moving_average = (self.ds_moving_average + mean) / 2.0;
        let mut ds = max;
        // Spike below the mean.
        if (max - self.ds_moving_average).abs() < (min - self.ds_moving_average).abs() {
            ds = min;
        }
        // A spike must be at least 10 % of the mean.
        if (ds - mean).abs() < 0.1 * mean {
            ds = mean;
        }
        ds -= self.dmin;
        if self.dmax - self.dmin != 0.0 {
            ds /= self.dmax - self.dmin;
        }
        // Julia's round(Int, x) rounds half to even. A value outside [dmin, dmax] (impossible
        // with NAB's feed, which passes the file's range) would index outside `medbin` and
        // throw in the reference; here it takes the nearest end level.
        ((ds * NLEVELS as f64).round_ties_even() as i64).clamp(0, NLEVELS as i64)
    }

    /// The median bookkeeping ("not strictly a running median but close enough"): returns the
    /// step's value, `level / 80`, or the median level's when closer than the chomp.
    fn levelize(&mut self, level: i64) -> f64 {
        let ds = level as f64 / NLEVELS as f64;
        self.medbin[level as usize] += 1;
        let medpos = (self.dsi / 2) as i64;
        if self.dsi == 1 {
            self.medlevel = level;
        }
        if self.medlevel > level {
            self.belowmed += 1;
        } else if self.medlevel < level {
            self.abovemed += 1;
        }
        if medpos < self.abovemed {
            self.belowmed += self.medbin[self.medlevel as usize];
            self.medlevel += 1;
            while self.medbin[self.medlevel as usize] == 0 {
                self.medlevel += 1;
            }
            self.abovemed -= self.medbin[self.medlevel as usize];
        } else if medpos < self.belowmed {
            self.abovemed += self.medbin[self.medlevel as usize];
            self.medlevel -= 1;
            while self.medbin[self.medlevel as usize] == 0 {
                self.medlevel -= 1;
            }
            self.belowmed -= self.medbin[self.medlevel as usize];
        }
        let med = self.medlevel as f64 / NLEVELS as f64;
        if (ds - med).abs() < DISCRETIZE_CHOMP {
            med
        } else {
            ds
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haar_of_a_constant_has_only_the_scaling_coefficient() {
        let y = haar_dwt8(&[1.0; 8]);
        // c3 = 8 / sqrt(8); every detail is 0.
        assert!((y[0] - 8.0 / 8f64.sqrt()).abs() < 1e-12);
        assert!(y[1..].iter().all(|d| d.abs() < 1e-12));
    }

    #[test]
    fn haar_detail_sign_is_second_minus_first() {
        // A step up between the halves: d3 = (sum of the second half - sum of the first) / sqrt(8).
        let y = haar_dwt8(&[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        assert!((y[1] - 4.0 / 8f64.sqrt()).abs() < 1e-12);
        let z = haar_dwt8(&[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        // d1_1 = a * (x2 - x1) = 1/sqrt(2).
        assert!((z[4] - 0.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn haar_is_orthonormal() {
        let x = [0.3, 0.9, 0.1, 0.4, 0.7, 0.2, 0.8, 0.5];
        let y = haar_dwt8(&x);
        let ex: f64 = x.iter().map(|v| v * v).sum();
        let ey: f64 = y.iter().map(|v| v * v).sum();
        assert!((ex - ey).abs() < 1e-12);
    }

    #[test]
    fn levels_round_half_to_even_and_features_start_after_eight_steps() {
        let mut st = FeatureStage::new(0.0, 160.0, 1);
        let mut last = None;
        for k in 0..8 {
            // 1.0 / 160 * 80 = 0.5 -> level 0 (half to even), 3.0 -> 1.5 -> level 2.
            last = st.push(if k % 2 == 0 { 1.0 } else { 3.0 });
            if k < 7 {
                assert_eq!(last.unwrap().1, [0.0; FEATURES]);
            }
        }
        let (step, f) = last.unwrap();
        assert_eq!(step, 8);
        assert!(f[WINDOW..].iter().all(|&v| v == 0.0 || v == 2.0 / 80.0));
    }
}
