//! A bank of cold detectors, one per watched (entity, metric) channel, fed a whole snapshot per
//! scrape. Channels are created the first time an entity exports a watched metric (a replica
//! that appears after a scale-out starts cold, as a new Prometheus series would) and kept in a
//! `BTreeMap`, so iteration and output order are deterministic.

use std::collections::BTreeMap;

use super::rules::RuleSet;
use crate::detectors::{Detector, DetectorError};
use crate::telemetry::{EntityKind, EntityRef, Snapshot};

/// Per-(entity, metric) detectors over snapshots.
#[derive(Debug)]
pub struct EntityDetectors {
    rules: RuleSet,
    /// The detectors, in creation order.
    channels: Vec<Box<dyn Detector>>,
    /// Channel of each (entity, metric) seen so far.
    index: BTreeMap<(EntityRef, String), usize>,
    /// The last snapshot's (kind, entity, metric) in iteration order with its channel (`None`:
    /// not watched). Producers emit the same structure scrape after scrape, so matching by
    /// position finds the channel without allocating or searching; any mismatch falls back to
    /// `index` and rewrites the layout from there.
    layout: Vec<(EntityKind, String, String, Option<usize>)>,
}

impl EntityDetectors {
    /// A bank with no channels yet; fails if a rule's configuration is invalid.
    pub fn new(rules: RuleSet) -> Result<Self, DetectorError> {
        rules.validate()?;
        Ok(EntityDetectors {
            rules,
            channels: Vec::new(),
            index: BTreeMap::new(),
            layout: Vec::new(),
        })
    }

    /// The channel of `(kind, name, metric)`, created cold on first sight; `None` if unwatched.
    fn resolve(&mut self, kind: EntityKind, name: &str, metric: &str) -> Option<usize> {
        let rule = self.rules.rule(kind, metric)?;
        let key = (EntityRef::new(kind, name), metric.to_owned());
        if let Some(&c) = self.index.get(&key) {
            return Some(c);
        }
        // The rule set was validated in `new`, so building cannot fail.
        let detector = rule.detector.build().ok()?;
        self.channels.push(detector);
        let c = self.channels.len() - 1;
        self.index.insert(key, c);
        Some(c)
    }

    /// Feeds every watched metric of `snapshot` to its channel and appends to `alerting` each
    /// entity with at least one alerting channel (each entity once, in snapshot order).
    pub fn observe(&mut self, snapshot: &Snapshot, alerting: &mut Vec<EntityRef>) {
        let t = snapshot.timestamp;
        let mut pos = 0;
        for (kind, name, metrics) in snapshot.entities() {
            let mut alert = false;
            for (metric, value) in metrics.values() {
                let cached = match self.layout.get(pos) {
                    Some((k, n, m, c)) if *k == kind && n == name && m == metric => Some(*c),
                    _ => None,
                };
                let channel = match cached {
                    Some(c) => c,
                    None => {
                        let c = self.resolve(kind, name, metric);
                        self.layout.truncate(pos);
                        self.layout
                            .push((kind, name.to_owned(), metric.to_owned(), c));
                        c
                    }
                };
                pos += 1;
                if let Some(c) = channel {
                    alert |= self.channels[c].update(t, value).alert;
                }
            }
            if alert {
                alerting.push(EntityRef::new(kind, name));
            }
        }
        self.layout.truncate(pos);
    }

    /// The channel of each value of `snapshot` in flat order (entities in iteration order, each
    /// entity's metrics by name: `features::flat_values`' order), `None` where unwatched.
    /// Channels are created cold on first sight and kept, so a caller that feeds flat values
    /// ([`Self::update_channel`]) re-plans after a structure change without losing state.
    pub fn channels_of(&mut self, snapshot: &Snapshot) -> Vec<Option<usize>> {
        let mut out = Vec::with_capacity(snapshot.len());
        for (kind, name, metrics) in snapshot.entities() {
            for (metric, _) in metrics.values() {
                out.push(self.resolve(kind, name, metric));
            }
        }
        out
    }

    /// Feeds `value` observed at `timestamp` to channel `channel` (from [`Self::channels_of`])
    /// and returns its alert decision; false for a channel that does not exist.
    pub fn update_channel(&mut self, channel: usize, timestamp: f64, value: f64) -> bool {
        self.channels
            .get_mut(channel)
            .is_some_and(|d| d.update(timestamp, value).alert)
    }

    /// Number of channels created so far.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
}
