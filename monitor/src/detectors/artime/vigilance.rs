//! ARTime's classifier around the DVFA module: the initial vigilance chosen on the
//! probationary steps (`init_rho`), the per-step anomaly decision with its masking rules
//! (`detect!`), the vigilance updates that follow the trend, and the anomaly confidence.
//!
//! Source: markNZed/ARTimeNAB.jl `src/ARTime.jl` (commit 6324d1e): `detect!` lines 166-232,
//! `confidence` lines 234-241, `init_rho` lines 243-273, `similarity` lines 276-289. Means
//! are `Statistics.mean` (sum / n) and the running mean is OnlineStats' `Mean` with equal
//! weights (`mu += (x - mu) / n`). Scores are rounded to 6 decimals, half to even
//! (`round(s, digits=6)`).

use super::dvfa::Dvfa;
use super::features::WINDOW;

/// Steps masked after an anomaly (`mask_rho_after_anomaly = window * 1.5`).
const MASK_STEPS: usize = WINDOW * 3 / 2;
/// Vigilance the initial search starts from (`initial_rho`).
const INITIAL_RHO: f64 = 0.80;
/// Cap of the upper vigilance.
const RHO_UB_CAP: f64 = 0.97;

/// `ClassifyState` minus the input stage (see [`super::features`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Classifier {
    pub(crate) art: Dvfa,
    trend_window: usize,
    last_anomaly_i: usize,
    last_anomaly_sim: f64,
    last_rho_update_i: usize,
    mask_after_cat: bool,
    no_new_cat_count: usize,
    anomaly_sim_history: Vec<f64>,
    sim_diff_window: Vec<f64>,
    rho_ub_mean: f64,
    rho_ub_n: u64,
    sim_window: Vec<f64>,
}

/// Left-to-right sum over a slice, then / n (`Statistics.mean`).
fn mean(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for (k, &x) in v.iter().enumerate() {
        s = if k == 0 { x } else { s + x };
    }
    s / v.len() as f64
}

/// Julia's `norm(v)` (2-norm) of a short vector: `sqrt(sum(v_i^2))` left to right.
fn l2(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for (k, &x) in v.iter().enumerate() {
        s = if k == 0 { x * x } else { s + x * x };
    }
    s.sqrt()
}

/// "Close to cosine similarity" (`similarity`): cosine, or `1 - |other|` when one is zero.
fn similarity(t1: &[f64], t2: &[f64]) -> f64 {
    let (n1, n2) = (l2(t1), l2(t2));
    if n1 == 0.0 {
        1.0 - n2
    } else if n2 == 0.0 {
        1.0 - n1
    } else {
        let mut dot = 0.0;
        for (k, (a, b)) in t1.iter().zip(t2).enumerate() {
            dot = if k == 0 { a * b } else { dot + a * b };
        }
        dot / (n1 * n2)
    }
}

/// `round(s, digits=6)`: scale, round half to even, unscale.
fn round6(s: f64) -> f64 {
    (s * 1e6).round_ties_even() / 1e6
}

impl Classifier {
    /// A cold classifier for a probation of `trend_window` steps.
    pub(crate) fn new(trend_window: usize) -> Self {
        Classifier {
            art: Dvfa::new(0.0),
            trend_window,
            last_anomaly_i: 0,
            last_anomaly_sim: 0.0,
            last_rho_update_i: 0,
            mask_after_cat: false,
            no_new_cat_count: 0,
            anomaly_sim_history: Vec::new(),
            sim_diff_window: vec![0.0; trend_window + 1],
            rho_ub_mean: 0.0,
            rho_ub_n: 0,
            sim_window: vec![1.0; trend_window / 2 + 1],
        }
    }

    /// Batch processing of the probation (`process_features!` at `i == trend_window`): choose
    /// the vigilance on steps `window..=trend_window`, then run `detect!` over every step.
    pub(crate) fn probation(&mut self, steps: &[Vec<f64>]) {
        let rho = self.init_rho(&steps[WINDOW - 1..]);
        self.art.rho_lb = rho;
        self.art.rho_ub = rho;
        for (k, f) in steps.iter().enumerate() {
            self.detect(f, k + 1);
        }
    }

    /// `init_rho`: order the steps by their summed similarity to all others (least typical
    /// first; `sortperm` ties by index), train a fresh DVFA at vigilance 0.8 on them, and
    /// return the mean similarity over its second half.
    fn init_rho(&self, columns: &[Vec<f64>]) -> f64 {
        let n = columns.len();
        let mut sim = vec![vec![1.0; n]; n];
        for i in 0..n {
            for j in 0..i {
                let s = similarity(&columns[i], &columns[j]);
                sim[i][j] = s;
                sim[j][i] = s;
            }
        }
        // sim_sum[i] = sum(sim[:, i]) (symmetric, so row i), left to right.
        let sim_sum: Vec<f64> = sim
            .iter()
            .map(|row| {
                let mut s = row[0];
                for &x in &row[1..] {
                    s += x;
                }
                s
            })
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| sim_sum[a].total_cmp(&sim_sum[b]));
        let mut art = Dvfa::new(INITIAL_RHO);
        let a: Vec<f64> = order
            .iter()
            .map(|&c| art.train(&columns[c], true).a)
            .collect();
        mean(&a[self.trend_window / 2 - 1..])
    }

    /// `detect!` for step `i` (1-based): the anomaly score, 0 when none.
    pub(crate) fn detect(&mut self, f: &[f64], i: usize) -> f64 {
        let since_anomaly = i - self.last_anomaly_i;
        let update_rho_after_anomaly = since_anomaly == MASK_STEPS;
        let update_rho_for_trend = i - self.last_rho_update_i >= self.trend_window / 2;
        let mask_after_anomaly = since_anomaly <= MASK_STEPS;
        if i > self.trend_window + MASK_STEPS
            && self.mask_after_cat
            && self.no_new_cat_count >= MASK_STEPS
        {
            self.mask_after_cat = false;
        }
        // Steps before a complete feature window are matched but not learnt, so that the
        // DVFA's per-sample arrays stay aligned with the steps.
        let (cat, t) = if i < WINDOW {
            (-1, self.art.train(f, false))
        } else {
            let t = self.art.train(f, true);
            (t.label, t)
        };
        let sim = t.a;
        self.no_new_cat_count = if cat == -1 {
            0
        } else {
            self.no_new_cat_count + 1
        };
        self.rho_ub_n += 1;
        self.rho_ub_mean += (1.0 / self.rho_ub_n as f64) * (sim - self.rho_ub_mean);
        super::features::shift_in(&mut self.sim_window, sim);
        super::features::shift_in(&mut self.sim_diff_window, self.art.rho_ub - sim);
        // Keep the smallest similarity seen while masking after each anomaly.
        if since_anomaly < MASK_STEPS
            && let Some(last) = self.anomaly_sim_history.last_mut()
            && sim < *last
        {
            *last = sim;
        }
        let masking_anomaly = self.mask_after_cat || mask_after_anomaly;
        let below_last_scale = if mask_after_anomaly { 0.90 } else { 0.70 };
        let below_last = sim < self.last_anomaly_sim * below_last_scale;
        let anomaly_with_cat = cat == -1 && (!masking_anomaly || below_last);
        let anomaly = if i > self.trend_window && anomaly_with_cat {
            let score = self.confidence(sim, t.ae);
            self.anomaly_sim_history.push(sim);
            self.last_anomaly_sim = sim;
            self.last_anomaly_i = i;
            score
        } else {
            0.0
        };
        self.mask_after_cat = cat == -1 || self.mask_after_cat;
        if i > self.trend_window && (update_rho_after_anomaly || update_rho_for_trend) {
            self.update_rho(i);
        }
        anomaly
    }

    /// The vigilance update after an anomaly's mask or every half trend window.
    fn update_rho(&mut self, i: usize) {
        let min_sim = self
            .sim_window
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let new_rho_ub = self.rho_ub_mean.min(RHO_UB_CAP);
        let prev_rho_lb = self.art.rho_lb;
        let mut new_rho_lb;
        if prev_rho_lb <= min_sim {
            let incr = (min_sim - prev_rho_lb) * 0.19;
            new_rho_lb = prev_rho_lb + incr;
        } else {
            let mut decr = 0.0;
            if i > self.trend_window * 2 {
                let below: Vec<f64> = self
                    .sim_diff_window
                    .iter()
                    .filter(|&&x| x > 0.05)
                    .map(|&x| x.min(0.37))
                    .collect();
                if !below.is_empty() {
                    decr = mean(&below);
                }
            }
            decr = decr.max(0.01);
            new_rho_lb = prev_rho_lb - decr / 2.0;
            if !self.anomaly_sim_history.is_empty() {
                new_rho_lb = mean(&self.anomaly_sim_history).max(new_rho_lb);
            }
        }
        new_rho_lb = new_rho_ub.min(new_rho_lb);
        self.art.rho_lb = new_rho_lb;
        self.art.rho_ub = new_rho_ub;
        self.last_rho_update_i = i;
        self.mask_after_cat = true;
    }

    /// `confidence`: how far below both vigilances the similarity falls, plus the energy
    /// mismatch, capped at 1 and rounded to 6 decimals.
    fn confidence(&self, features_sim: f64, energy_sim: f64) -> f64 {
        let fs = features_sim.min(0.999);
        let ub = ((1.0 - fs) - (1.0 - self.art.rho_ub)) / (1.0 - fs);
        let lb = ((1.0 - fs) - (1.0 - self.art.rho_lb)) / (1.0 - fs);
        let s = (ub * 0.35 + lb * 0.65) + (1.0 - energy_sim) * 1.5;
        round6(s.min(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round6_is_half_to_even_on_the_scaled_value() {
        assert_eq!(round6(0.1234565), (123456.5f64).round_ties_even() / 1e6);
        assert_eq!(round6(1.0), 1.0);
    }

    #[test]
    fn similarity_of_zero_vectors_and_parallel_vectors() {
        assert_eq!(similarity(&[0.0, 0.0], &[0.0, 0.0]), 1.0);
        assert_eq!(similarity(&[0.0, 0.0], &[0.6, 0.8]), 0.0);
        assert!((similarity(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn mean_is_sum_over_n() {
        assert_eq!(mean(&[1.0, 2.0, 4.0]), 7.0 / 3.0);
    }
}
