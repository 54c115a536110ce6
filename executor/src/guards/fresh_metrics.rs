//! Refusal to act on stale or missing metrics.

use std::collections::BTreeMap;

use crate::decision::Verdict;

/// Every required feature must have a sample no older than `max_age_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshMetrics {
    /// Largest accepted age of the newest sample of each feature, milliseconds.
    pub max_age_ms: u64,
}

impl FreshMetrics {
    /// The verdict given each required feature's newest sample time (`None`: no sample) at `now_ms`.
    pub fn check(&self, metric_times: &BTreeMap<String, Option<u64>>, now_ms: u64) -> Verdict {
        if metric_times.is_empty() {
            return Verdict::Deny {
                reason: "no metrics at all".into(),
            };
        }
        let missing: Vec<&str> = metric_times
            .iter()
            .filter(|(_, t)| t.is_none())
            .map(|(f, _)| f.as_str())
            .collect();
        if !missing.is_empty() {
            return Verdict::Deny {
                reason: format!("missing metrics: {}", missing.join(", ")),
            };
        }
        let stale: Vec<String> = metric_times
            .iter()
            .filter_map(|(f, t)| t.map(|t| (f, now_ms.saturating_sub(t))))
            .filter(|(_, age)| *age > self.max_age_ms)
            .map(|(f, age)| format!("{f} ({age} ms old)"))
            .collect();
        if stale.is_empty() {
            Verdict::Allow
        } else {
            Verdict::Deny {
                reason: format!(
                    "stale metrics, older than {} ms: {}",
                    self.max_age_ms,
                    stale.join(", ")
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_stale_and_fresh() {
        let g = FreshMetrics { max_age_ms: 30_000 };
        let mut times = BTreeMap::from([
            ("cpu".to_owned(), Some(70_000)),
            ("up".to_owned(), Some(100_000)),
        ]);
        assert_eq!(g.check(&times, 100_000), Verdict::Allow);
        assert!(
            matches!(g.check(&times, 100_001), Verdict::Deny { reason } if reason.contains("cpu (30001 ms old)"))
        );
        times.insert("latency".into(), None);
        assert!(
            matches!(g.check(&times, 100_000), Verdict::Deny { reason } if reason.contains("missing metrics: latency"))
        );
        assert!(matches!(g.check(&BTreeMap::new(), 0), Verdict::Deny { .. }));
    }
}
