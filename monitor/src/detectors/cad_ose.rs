//! Contextual anomaly detector, open-source edition (CAD OSE): a sequence memory over a coarse
//! binary code of the value. Each sample is encoded as `bits` sensor facts (one per bit of the
//! value's bin); the memory learns which facts follow which (facts of the previous step plus
//! the contexts it activated), predicts the next facts and scores how little of the present
//! it recognises. Third on NAB's scoreboard (69.9 standard, whole corpus), just behind HTM.
//!
//! Source: M. Smirnov, "Contextual Anomaly Detector - Open Source Edition" (2016,
//! <https://github.com/smirmik/CAD>), as run by NAB (numenta/NAB
//! `nab/detectors/context_ose/cad_ose.py`, `context_ose_detector.py`). Per sample:
//! - bin `k = floor((x - min) / ((max - min) / (2^bits - 1)))`, sensor facts
//!   `65536 + 2 b + bit_b(k)` for `b < bits` (`getAnomalyScore`);
//! - prediction error: the facts not predicted at the previous step, weighted `2^b`;
//! - the memory step ([`contexts`]) gives `a1` = active / selected contexts and `a2` = new
//!   contexts / candidate contexts; score `(1 - a1 + a2) / 2` when the prediction error is
//!   positive, else 0;
//! - after a score at or above `base_threshold`, the next `rest_samples` scores are reported
//!   as 0 (one alert per episode); the first `rest_samples` are 0 as well (cold start).
//!
//! Differences from NAB's run, all to keep it a live detector: NAB hands CAD the file's
//! minimum and maximum before the first row (look-ahead); here `[min, max]` is the range of the
//! values seen so far, the current one included, so the code of a value can change as the
//! range widens (a new extreme is itself news). NAB sets `restPeriod` to a fifth of the file's
//! probationary period, which depends on the file's length; here it is a fixed count (default
//! 120, NAB's value for its 4,032-row files). Ties between equally active contexts are broken
//! by context id, not by Python's tuple hashes. The reference's memory grows without bound;
//! here it holds at most `max_contexts` contexts.
//!
//! Eviction rule: when the memory is full at the start of a sample, the least recently used
//! half is forgotten (used = created, seen whole or fully activated; ties go to the older
//! context) and the rest renumbered ([`contexts::ContextMemory::evict`]). A left side that
//! named a forgotten context can no longer match and is itself forgotten at a later eviction.
//! The default capacity, 8,192, bounds the cost per sample (NAB realAWSCloudwatch, 67,740 rows,
//! one busy run: 57 µs/sample at 8,192 against 88 µs with an unbounded memory, which reaches
//! 17,598 contexts on a 4,032-row file and keeps growing on longer streams). NAB's scores barely move with the
//! capacity (standard profile 54.6 unbounded, 54.6 at 16,384, 53.9 at 8,192, 55.2 at 4,096, 52.0
//! at 2,048), but on Gaussian noise a 4,096 memory forgets too fast and raises false alerts
//! (7 in 10,000 samples; none at 8,192: `tests/cad_ose.rs`). Session 5, timings provisional
//! (shared machine).
//!
//! Provenance: this is our own implementation, written from the algorithm as published and as
//! NAB runs it (the reference is AGPL-3.0; no code of it was copied or translated line by line).
//! Cost per sample: proportional to the semi-contexts sharing a fact with the input, bounded by
//! the memory's capacity, plus an O(capacity) rebuild once every `max_contexts / 2` new contexts.

mod contexts;

use serde::{Deserialize, Serialize};

use self::contexts::{ContextMemory, Fact};
use super::channels::{Channels, Univariate};
use super::{Detection, DetectorError, check};

/// Base of the sensor facts (`65536` in the reference).
const SENSOR_BASE: Fact = 1 << 16;
/// Base of the facts naming an active context (`2 ** 31` in the reference).
const NEURON_BASE: Fact = 1 << 31;

/// Configuration of [`CadOse`]; defaults are the reference's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CadOseConfig {
    /// Bits of the value's code (`numNormValueBits`): `2^bits` bins. Default 3.
    pub bits: u32,
    /// Score at which an alert is raised and later scores rest (`baseThreshold`). Default 0.75.
    pub base_threshold: f64,
    /// Samples reported as 0 after a score at or above `base_threshold` (`restPeriod`).
    /// Default 120.
    pub rest_samples: usize,
    /// Longest partial left match that seeds a new context (`maxLeftSemiContextsLenght`).
    /// Default 7.
    pub max_left_len: usize,
    /// Active contexts fed back as facts at the next step (`maxActiveNeuronsNum`). Default 15.
    pub max_active: usize,
    /// Capacity of the context memory; when full, the least recently used half is forgotten
    /// (see the module docs). At least 2. Default 8,192.
    pub max_contexts: usize,
    /// A fixed `[min, max]` for the code instead of the range seen so far. NAB's own run passes
    /// the whole file's range (look-ahead); this exists to reproduce that run, not for live use.
    /// Values outside it take the nearest end bin. Default none.
    pub value_range: Option<[f64; 2]>,
    /// Samples after which the range seen so far is frozen (widened by `margin` on each side);
    /// 0 keeps following the range seen so far. A value outside a frozen range takes the
    /// nearest end bin plus an out-of-range fact (below or above). Default 0.
    pub calibration: usize,
    /// Share of the range seen added on each side of the code's range (frozen or not): a
    /// coarser code, with room for values beyond those seen. Default 0.
    pub margin: f64,
}

impl Default for CadOseConfig {
    fn default() -> Self {
        CadOseConfig {
            bits: 3,
            base_threshold: 0.75,
            rest_samples: 120,
            max_left_len: 7,
            max_active: 15,
            max_contexts: 8_192,
            value_range: None,
            calibration: 0,
            margin: 0.0,
        }
    }
}

impl CadOseConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), DetectorError> {
        let n = CadOseState::NAME;
        check(
            (1..=16).contains(&self.bits),
            n,
            "bits",
            f64::from(self.bits),
            "1 <= bits <= 16",
        )?;
        check(
            self.base_threshold > 0.0 && self.base_threshold <= 1.0,
            n,
            "base_threshold",
            self.base_threshold,
            "0 < base_threshold <= 1",
        )?;
        check(
            self.max_left_len >= 1,
            n,
            "max_left_len",
            self.max_left_len as f64,
            "at least 1",
        )?;
        check(
            self.max_active >= 1,
            n,
            "max_active",
            self.max_active as f64,
            "at least 1",
        )?;
        check(
            self.max_contexts >= 2 && self.max_contexts < (1 << 30),
            n,
            "max_contexts",
            self.max_contexts as f64,
            "2 <= max_contexts < 2^30",
        )?;
        check(
            self.margin >= 0.0 && self.margin.is_finite(),
            n,
            "margin",
            self.margin,
            ">= 0",
        )?;
        if let Some([low, high]) = self.value_range {
            check(
                low.is_finite() && high.is_finite() && low <= high,
                n,
                "value_range",
                high - low,
                "finite [min, max] with min <= max",
            )?;
        }
        Ok(())
    }
}

/// One channel of CAD OSE.
#[derive(Debug, Clone, PartialEq)]
pub struct CadOseState {
    config: CadOseConfig,
    memory: ContextMemory,
    low: f64,
    high: f64,
    /// This step's sensor and neuron facts, the left side of the next step's contexts.
    left_facts: Vec<Fact>,
    predicted: Vec<Fact>,
    /// Samples seen.
    seen: usize,
    /// The range frozen after calibration.
    frozen: Option<[f64; 2]>,
    /// Index (in the score history, whose entry 0 is the reference's initial 1.0) of the last
    /// score at or above `base_threshold`.
    last_high: usize,
}

impl CadOseState {
    /// A cold channel.
    pub fn new(config: CadOseConfig) -> Self {
        CadOseState {
            config,
            memory: ContextMemory::new(config.max_left_len, config.max_contexts),
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
            left_facts: Vec::new(),
            predicted: Vec::new(),
            seen: 0,
            frozen: None,
            last_high: 0,
        }
    }

    /// Number of contexts remembered now (at most `max_contexts`).
    pub fn contexts(&self) -> usize {
        self.memory.len()
    }

    /// The sensor facts of `x` in the range seen so far (sorted, one per bit).
    fn encode(&self, x: f64) -> Vec<Fact> {
        let max_bin = f64::from((1u32 << self.config.bits) - 1);
        let bits = self.config.bits;
        let pad = self.config.margin * (self.high - self.low);
        let [low, high] = self
            .config
            .value_range
            .or(self.frozen)
            .unwrap_or([self.low - pad, self.high + pad]);
        let range = high - low;
        // The reference's fallback for a constant series: a step of 1.
        let step = if range > 0.0 { range / max_bin } else { 1.0 };
        let position = ((x - low) / step).floor();
        // In [0, max_bin] when low <= x <= high; the clamp covers a fixed range and rounding.
        let bin = position.clamp(0.0, max_bin) as u32;
        let mut facts: Vec<Fact> = (0..bits)
            .map(|b| SENSOR_BASE + 2 * b + ((bin >> b) & 1))
            .collect();
        if self.frozen.is_some() && (x < low || x > high) {
            facts.push(SENSOR_BASE + 2 * bits + u32::from(x > high));
        }
        facts
    }

    /// The memory step (`step` in the reference): returns (share of selected contexts active,
    /// share of candidate contexts that were new) and updates the prediction.
    fn learn(&mut self, sensors: &[Fact]) -> (f64, f64) {
        let zero_level = !self.left_facts.is_empty();
        let new_context = zero_level && self.memory.remember(&self.left_facts, sensors, true);
        let mut activation = self.memory.activate(sensors, new_context);

        let mut candidates: Vec<(&[Fact], &[Fact])> = activation
            .potential
            .iter()
            .map(|(l, r)| (l.as_slice(), r.as_slice()))
            .collect();
        if zero_level {
            candidates.push((&self.left_facts, sensors));
        }
        candidates.sort_unstable();
        candidates.dedup();
        let unique_candidates = candidates.len();

        let active_share = if activation.selected > 0 {
            activation.active.len() as f64 / activation.selected as f64
        } else {
            0.0
        };
        // The most often activated contexts become facts of the next left side.
        activation.active.sort_unstable();
        let keep = activation.active.len().min(self.config.max_active);
        let mut left: Vec<Fact> = sensors.to_vec();
        left.extend(
            activation.active[activation.active.len() - keep..]
                .iter()
                .map(|&(_, c)| NEURON_BASE + c as Fact),
        );
        left.sort_unstable();
        left.dedup();

        let (mut created, predicted) = self.memory.predict(&left, &activation.potential);
        self.left_facts = left;
        self.predicted = predicted;
        created += usize::from(new_context);
        let new_share = if new_context && unique_candidates > 0 {
            created as f64 / unique_candidates as f64
        } else {
            0.0
        };
        (active_share, new_share)
    }
}

impl Univariate for CadOseState {
    const NAME: &'static str = "cad_ose";

    fn step(&mut self, _timestamp: f64, x: f64) -> Detection {
        // The eviction rule (module docs): forget the least recently used half.
        if self.memory.is_full() {
            let keep = self.config.max_contexts / 2;
            self.memory.evict(keep, NEURON_BASE, &mut self.left_facts);
        }
        if self.frozen.is_none() {
            self.low = self.low.min(x);
            self.high = self.high.max(x);
            let c = self.config;
            if c.calibration > 0 && self.seen + 1 >= c.calibration {
                let pad = c.margin * (self.high - self.low);
                self.frozen = Some([self.low - pad, self.high + pad]);
            }
        }
        let sensors = self.encode(x);
        let unpredicted = sensors
            .iter()
            .any(|f| self.predicted.binary_search(f).is_err());
        let (active_share, new_share) = self.learn(&sensors);
        let raw = if unpredicted {
            ((1.0 - active_share + new_share) / 2.0).clamp(0.0, 1.0)
        } else {
            0.0
        };
        // History entry `seen + 1` is this score; report it only if none of the previous
        // `rest_samples` entries reached the base threshold.
        let index = self.seen + 1;
        let rested = index - self.last_high > self.config.rest_samples;
        if raw >= self.config.base_threshold {
            self.last_high = index;
        }
        self.seen += 1;
        if rested {
            Detection {
                score: raw,
                alert: raw >= self.config.base_threshold,
            }
        } else {
            Detection::default()
        }
    }
}

/// The contextual anomaly detector (one [`CadOseState`] per channel).
pub type CadOse = Channels<CadOseState>;

impl CadOse {
    /// Builds a cold detector after validating the configuration.
    pub fn from_config(config: CadOseConfig) -> Result<Self, DetectorError> {
        config.validate()?;
        Ok(Channels::new(CadOseState::new(config)))
    }
}
