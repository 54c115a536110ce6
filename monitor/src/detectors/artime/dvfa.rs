//! The dual-vigilance fuzzy ART (DVFA) module ARTime classifies its feature vectors with: a
//! list of categories (complement-coded hyper-boxes), two vigilance levels (`rho_lb`,
//! `rho_ub`), fast commit, and the similarity of each sample to its best category (`A`) and that
//! category's energy similarity (`Ae`), which ARTime turns into anomaly scores.
//!
//! Source: markNZed/ARTimeNAB.jl `src/AdaptiveResonanceCompact.jl` (commit 6324d1e; derived
//! from AP6YC/AdaptiveResonance.jl, MIT), `train!` (lines 90-185) and `activation_match!`
//! (lines 187-207). Kept as the reference behaves:
//! - the first sample ever seen creates an all-ones category and is otherwise skipped
//!   (similarity 0, label 1);
//! - categories are visited by `sortperm(M, rev=true)`: descending match, ties in index order
//!   (Julia's `Perm` ordering breaks ties by index), NaN first (NaN is the greatest under
//!   `isless`; a NaN match stops the visit at once: a mismatch with similarity 0);
//! - every category at or above `rho_ub` learns (fast commit to `min(x, W)`); the first below
//!   it creates a new category with the same label when at or above `rho_lb` and nothing
//!   resonated, and the visit stops there; with no resonance at all a new cluster is made;
//! - `Wx = hcat(W, zeros)` after each new category: the reference keeps `Wx` one column
//!   wider than `W` and rewrites the first `n_categories` columns (`min(x, W_j)`) at every
//!   activation before any use, so here `wx[j]` is simply that activation's `min(x, W_j)`;
//! - `match = fs^3 * es^2` with `fs = |min(x, W)|_1 / |W|_1` (`|W|_1 = 0` taken as 0.001) and
//!   `es` the same ratio over the two energy entries (the last feature and its complement).
//!
//! l1 norms are summed left to right. (Julia calls BLAS `asum` for 32-entry vectors, whose
//! summation order may differ in the last bit; the golden comparison with NAB's published
//! outputs is the check that this does not matter.) The memory grows by one category per new
//! category, without bound, as in the reference.

/// A complement-coded sample or category: `[x, 1 - x]`.
type Box = Vec<f64>;

/// The DVFA state (`DVFA` in the reference; `labels`, `W`, `Wx`, `M`, `Me`, `A`, `Ae`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dvfa {
    /// Lower vigilance (`opts.rho_lb`).
    pub(crate) rho_lb: f64,
    /// Upper vigilance (`opts.rho_ub`).
    pub(crate) rho_ub: f64,
    labels: Vec<i64>,
    w: Vec<Box>,
    wx: Vec<Box>,
    m: Vec<f64>,
    me: Vec<f64>,
    n_clusters: i64,
    /// Samples trained so far (the length of the reference's `A`).
    samples: usize,
}

/// What one training step reports: the label (`-1` for a new cluster) and the sample's
/// similarities `A` (best match) and `Ae` (that category's energy similarity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Trained {
    pub(crate) label: i64,
    pub(crate) a: f64,
    pub(crate) ae: f64,
}

/// Julia's `norm(v, 1)`, summed left to right.
fn l1(v: &[f64]) -> f64 {
    let mut s = v[0].abs();
    for x in &v[1..] {
        s += x.abs();
    }
    s
}

impl Dvfa {
    /// An empty module with both vigilances at `rho`.
    pub(crate) fn new(rho: f64) -> Self {
        Dvfa {
            rho_lb: rho,
            rho_ub: rho,
            labels: Vec::new(),
            w: Vec::new(),
            wx: Vec::new(),
            m: Vec::new(),
            me: Vec::new(),
            n_clusters: 0,
            samples: 0,
        }
    }

    /// Categories held.
    pub(crate) fn categories(&self) -> usize {
        self.w.len()
    }

    /// Trains on (or, with `learning` false, only matches) one feature vector.
    pub(crate) fn train(&mut self, features: &[f64], learning: bool) -> Trained {
        let mut x: Box = Vec::with_capacity(2 * features.len());
        x.extend_from_slice(features);
        x.extend(features.iter().map(|f| 1.0 - f));
        self.samples += 1;
        if self.w.is_empty() {
            // Initialisation: an all-ones category; the sample itself is skipped.
            self.w.push(vec![1.0; x.len()]);
            self.wx.push(vec![0.0; x.len()]);
            self.labels.push(1);
            self.n_clusters = 1;
            return Trained {
                label: 1,
                a: 0.0,
                ae: 0.0,
            };
        }
        self.activation_match(&x);
        let order = self.visit_order();
        let mut max_bmu = 0.0;
        let mut max_bmue = 0.0;
        let mut mismatch = true;
        let mut label = -1;
        for &j in &order {
            let mj = self.m[j];
            if mj > max_bmu {
                max_bmue = self.me[j];
                max_bmu = mj;
            }
            if !learning {
                // Matching only: visit every category.
            } else if mj >= self.rho_ub {
                // Resonance: fast commit.
                self.w[j] = self.wx[j].clone();
                if mj >= max_bmu {
                    label = self.labels[j];
                }
                mismatch = false;
            } else if mj >= self.rho_lb && mismatch {
                if mj >= max_bmu {
                    label = self.labels[j];
                }
                self.labels.push(label);
                self.w.push(x.clone());
                self.wx.push(vec![0.0; x.len()]);
                mismatch = false;
                break;
            } else {
                break;
            }
        }
        if mismatch && learning {
            label = -1;
            self.labels.push(self.n_clusters + 1);
            self.w.push(x);
            self.wx.push(vec![0.0; self.w[0].len()]);
            self.n_clusters += 1;
        }
        Trained {
            label,
            a: max_bmu,
            ae: max_bmue,
        }
    }

    /// `activation_match!`: the match `M` and energy similarity `Me` of every category, and
    /// `Wx[j] = min(x, W_j)`.
    fn activation_match(&mut self, x: &[f64]) {
        let n = self.w.len();
        let ei = x.len() / 2 - 1; // Julia's ei = length÷2, 1-based
        let last = x.len() - 1;
        self.m.clear();
        self.me.clear();
        for j in 0..n {
            let w = &self.w[j];
            let em = &mut self.wx[j];
            for ((e, &xi), &wi) in em.iter_mut().zip(x).zip(w) {
                *e = xi.min(wi);
            }
            let numerator = l1(em);
            let mut nw = l1(w);
            if nw == 0.0 {
                nw = 0.001;
            }
            let feature_similarity = numerator / nw;
            let neme = em[ei].abs() + em[last].abs();
            let nwe = w[ei].abs() + w[last].abs();
            let energy_similarity = neme / nwe;
            self.m.push(
                feature_similarity
                    * feature_similarity
                    * feature_similarity
                    * (energy_similarity * energy_similarity),
            );
            self.me.push(energy_similarity);
        }
    }

    /// `sortperm(M, rev=true)`: descending, NaN first, ties by index.
    fn visit_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.m.len()).collect();
        order.sort_by(|&a, &b| {
            let (ma, mb) = (self.m[a], self.m[b]);
            match (ma.is_nan(), mb.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Less,
                (false, true) => std::cmp::Ordering::Greater,
                (false, false) => mb.partial_cmp(&ma).unwrap_or(std::cmp::Ordering::Equal),
            }
        });
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sample_only_initialises() {
        let mut art = Dvfa::new(0.8);
        let t = art.train(&[0.2, 0.4], true);
        assert_eq!((t.label, t.a, t.ae), (1, 0.0, 0.0));
        assert_eq!(art.categories(), 1);
    }

    #[test]
    fn an_all_ones_category_matches_every_sample_at_its_share_of_the_box() {
        let mut art = Dvfa::new(0.99);
        art.train(&[0.0, 0.0], true);
        // x = [0.5, 0.5, 0.5, 0.5] against W = ones: fs = 2/4, es = 1/2: M = 1/8 * 1/4.
        let t = art.train(&[0.5, 0.5], true);
        assert!((t.a - 0.125 * 0.25).abs() < 1e-15);
        assert!((t.ae - 0.5).abs() < 1e-15);
        assert_eq!(t.label, -1, "below both vigilances: a new cluster");
        assert_eq!(art.categories(), 2);
        // The same sample again resonates with its own category (M = 1) and learns.
        let t = art.train(&[0.5, 0.5], true);
        assert_eq!(t.a, 1.0);
        assert_eq!(t.label, 2);
        assert_eq!(art.categories(), 2);
    }

    #[test]
    fn lower_vigilance_adds_a_category_to_the_same_cluster() {
        let mut art = Dvfa::new(0.5);
        art.train(&[0.0], true);
        art.train(&[0.5], true); // a new cluster, label 2
        art.rho_lb = 0.1;
        art.rho_ub = 0.99;
        // [0.6, 0.4] vs [0.5, 0.5]: fs = 0.9, es = 0.9: M = 0.729 * 0.81, within [lb, ub).
        let t = art.train(&[0.6], true);
        assert_eq!(t.label, 2);
        assert_eq!(art.categories(), 3);
    }

    #[test]
    fn matching_without_learning_changes_nothing() {
        let mut art = Dvfa::new(0.8);
        art.train(&[0.1, 0.9], true);
        art.train(&[0.3, 0.2], true);
        let before = art.clone();
        let t = art.train(&[0.7, 0.7], false);
        assert_eq!(t.label, -1);
        assert_eq!(art.w, before.w);
        assert_eq!(art.categories(), before.categories());
    }

    #[test]
    fn ties_are_visited_in_index_order_and_nan_first() {
        let mut art = Dvfa::new(0.8);
        art.m = vec![0.5, f64::NAN, 0.9, 0.5];
        assert_eq!(art.visit_order(), vec![1, 2, 0, 3]);
    }
}
