//! A sliding window that also keeps its values sorted, for rolling quantiles: the shift
//! detector's reference bands and the autoencoder's adaptive error threshold. Insert and remove
//! are a binary search plus a shift, O(capacity) per sample.

use std::collections::VecDeque;

/// The last `capacity` values pushed, in arrival order and sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SortedWindow {
    order: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl SortedWindow {
    /// Adds `x`, dropping the oldest value first when `capacity` values are held.
    pub(crate) fn push(&mut self, x: f64, capacity: usize) {
        if self.order.len() >= capacity.max(1)
            && let Some(old) = self.order.pop_front()
        {
            let i = self.sorted.partition_point(|v| v.total_cmp(&old).is_lt());
            self.sorted.remove(i);
        }
        self.order.push_back(x);
        let i = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
        self.sorted.insert(i, x);
    }

    /// Values held.
    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The value at rank `floor(q (n - 1))` (NAB-style quantile without interpolation); the
    /// window must not be empty.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let n = self.sorted.len();
        self.sorted[((q * (n - 1) as f64) as usize).min(n - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::SortedWindow;

    #[test]
    fn keeps_the_last_values_sorted_and_reads_quantiles() {
        let mut w = SortedWindow::default();
        for x in [5.0, 1.0, 4.0, 2.0, 3.0] {
            w.push(x, 4);
        }
        // 5 was dropped: the window is {1, 4, 2, 3}.
        assert_eq!(w.len(), 4);
        assert_eq!(w.quantile(0.0), 1.0);
        assert_eq!(w.quantile(1.0), 4.0);
        // floor(0.5 * 3) = rank 1 of [1, 2, 3, 4].
        assert_eq!(w.quantile(0.5), 2.0);
    }
}
