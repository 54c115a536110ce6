//! An ensemble of detectors fed the same samples: the score combines the members' scores (mean
//! or max), each first multiplied by its weight, and the alert is raised when at least
//! `min_votes` members alert (each by its own rule: weights do not change votes).

use serde::{Deserialize, Serialize};

use super::registry::DetectorConfig;
use super::{Detection, Detector, DetectorError, check};

/// How member scores combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Arithmetic mean of the member scores (rewards agreement).
    Mean,
    /// Highest member score (the most sensitive member decides).
    Max,
}

/// Configuration of [`Ensemble`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnsembleConfig {
    /// The members. Default: `ewma`, `median_mad` and `holt_winters` with their defaults.
    pub members: Vec<DetectorConfig>,
    /// Score combination. Default [`Combine::Mean`].
    pub combine: Combine,
    /// Members that must alert for the ensemble to alert; 0 means a strict majority. Default 0.
    pub min_votes: usize,
    /// One weight in [0, 1] per member, multiplying its score before the combination; empty
    /// means every weight is 1. Default empty.
    pub weights: Vec<f64>,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig {
            members: vec![
                DetectorConfig::Ewma(Default::default()),
                DetectorConfig::MedianMad(Default::default()),
                DetectorConfig::HoltWinters(Default::default()),
            ],
            combine: Combine::Mean,
            min_votes: 0,
            weights: Vec::new(),
        }
    }
}

impl EnsembleConfig {
    /// Checks the vote count and every member's configuration.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = self.members.len();
        check(n > 0, "ensemble", "members", 0.0, "at least one member")?;
        check(
            self.min_votes <= n,
            "ensemble",
            "min_votes",
            self.min_votes as f64,
            "at most the number of members (0 = majority)",
        )?;
        check(
            self.weights.is_empty() || self.weights.len() == n,
            "ensemble",
            "weights",
            self.weights.len() as f64,
            "none, or one weight per member",
        )?;
        for &w in &self.weights {
            check(
                (0.0..=1.0).contains(&w),
                "ensemble",
                "weights",
                w,
                "every weight in [0, 1]",
            )?;
        }
        self.members.iter().try_for_each(DetectorConfig::validate)
    }
}

/// Several detectors combined.
#[derive(Debug)]
pub struct Ensemble {
    members: Vec<Box<dyn Detector>>,
    combine: Combine,
    votes_needed: usize,
    /// One per member (1 when none were configured).
    weights: Vec<f64>,
}

impl Ensemble {
    /// Builds the members after validating the configuration.
    pub fn from_config(config: &EnsembleConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        let members = config
            .members
            .iter()
            .map(DetectorConfig::build)
            .collect::<Result<Vec<_>, _>>()?;
        let votes_needed = if config.min_votes == 0 {
            members.len() / 2 + 1
        } else {
            config.min_votes
        };
        let weights = if config.weights.is_empty() {
            vec![1.0; members.len()]
        } else {
            config.weights.clone()
        };
        Ok(Ensemble {
            members,
            combine: config.combine,
            votes_needed,
            weights,
        })
    }

    fn fold(&self, detections: impl Iterator<Item = Detection>) -> Detection {
        let (mut sum, mut max, mut votes) = (0.0, 0.0f64, 0usize);
        for (d, w) in detections.zip(&self.weights) {
            let score = w * d.score;
            sum += score;
            max = max.max(score);
            votes += usize::from(d.alert);
        }
        let score = match self.combine {
            Combine::Mean => sum / self.members.len() as f64,
            Combine::Max => max,
        };
        Detection {
            score,
            alert: votes >= self.votes_needed,
        }
    }
}

/// Feeds one sample to every member detector, in order (an ensemble's or a fusion's members).
pub(super) fn update_members(
    members: &mut [Box<dyn Detector>],
    timestamp: f64,
    value: f64,
) -> Vec<Detection> {
    members
        .iter_mut()
        .map(|m| m.update(timestamp, value))
        .collect()
}

/// [`update_members`] for a vector sample; the first member's error stops it.
pub(super) fn update_members_vector(
    members: &mut [Box<dyn Detector>],
    timestamp: f64,
    values: &[f64],
) -> Result<Vec<Detection>, DetectorError> {
    members
        .iter_mut()
        .map(|m| m.update_vector(timestamp, values))
        .collect()
}

impl Detector for Ensemble {
    fn name(&self) -> &'static str {
        "ensemble"
    }

    fn update(&mut self, timestamp: f64, value: f64) -> Detection {
        if !value.is_finite() {
            return Detection::default();
        }
        let ds = update_members(&mut self.members, timestamp, value);
        self.fold(ds.into_iter())
    }

    fn update_vector(
        &mut self,
        timestamp: f64,
        values: &[f64],
    ) -> Result<Detection, DetectorError> {
        let ds = update_members_vector(&mut self.members, timestamp, values)?;
        Ok(self.fold(ds.into_iter()))
    }

    fn reset(&mut self) {
        self.members.iter_mut().for_each(|m| m.reset());
    }
}
