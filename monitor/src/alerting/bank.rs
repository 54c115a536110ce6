//! A bank of cold detectors, one per watched (entity, metric) channel, fed a whole snapshot per
//! scrape. Channels are created the first time an entity exports a watched metric (a replica
//! that appears after a scale-out starts cold, as a new Prometheus series would) and kept in a
//! `BTreeMap`, so iteration and output order are deterministic.

use std::collections::BTreeMap;

use super::rules::RuleSet;
use crate::detectors::{Detector, DetectorError};
use crate::telemetry::{EntityRef, Snapshot};

/// Per-(entity, metric) detectors over snapshots.
#[derive(Debug)]
pub struct EntityDetectors {
    rules: RuleSet,
    channels: BTreeMap<(EntityRef, String), Box<dyn Detector>>,
}

impl EntityDetectors {
    /// A bank with no channels yet; fails if a rule's configuration is invalid.
    pub fn new(rules: RuleSet) -> Result<Self, DetectorError> {
        rules.validate()?;
        Ok(EntityDetectors {
            rules,
            channels: BTreeMap::new(),
        })
    }

    /// Feeds every watched metric of `snapshot` to its channel and appends to `alerting` each
    /// entity with at least one alerting channel (each entity once, in snapshot order).
    pub fn observe(&mut self, snapshot: &Snapshot, alerting: &mut Vec<EntityRef>) {
        let t = snapshot.timestamp;
        for (kind, name, metrics) in snapshot.entities() {
            let mut alert = false;
            for (metric, value) in metrics.values() {
                let Some(rule) = self.rules.rule(kind, metric) else {
                    continue;
                };
                let key = (EntityRef::new(kind, name), metric.to_owned());
                let detector = match self.channels.get_mut(&key) {
                    Some(d) => d,
                    None => {
                        // The rule set was validated in `new`, so building cannot fail.
                        let Ok(d) = rule.detector.build() else {
                            continue;
                        };
                        self.channels.entry(key).or_insert(d)
                    }
                };
                alert |= detector.update(t, value).alert;
            }
            if alert {
                alerting.push(EntityRef::new(kind, name));
            }
        }
    }

    /// Number of channels created so far.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
}
