//! [`RiskInputs`]: one service's failure-predictor input, built the same way when training data
//! is cut from simulator runs (the experiments runner) and when the env or the live executor
//! scores a service ([`super::RiskTracker`]).
//!
//! The input is the service's **current** row without the columns that come from the agent's own
//! monitoring (the alert ages, [`EXCLUDED_COLUMNS`], and the risk column itself: training data
//! cut from plain simulator runs has no alert clock, and the predictor never reads its own
//! output), then the time-based trends of [`super::trend::TREND_COLUMNS`] over the last
//! `trend_seconds` ([`super::trend`]).

use std::collections::VecDeque;

use super::RISK_COLUMN;
use super::trend::{TREND_COLUMNS, TREND_INPUTS, trend, trend_bounds, trend_names};
use crate::features::FeatureSchema;

/// Row columns the predictor never reads: the alert ages (outputs of the agent's detector bank)
/// and the risk column (its own output).
pub const EXCLUDED_COLUMNS: [&str; 3] = ["svc_alert_age", "node_alert_age", RISK_COLUMN];

/// Values of the trend columns in one row.
type TrendValues = [f32; TREND_COLUMNS.len()];

/// One service's predictor input: its latest row and a window of its trend columns by time.
#[derive(Clone, Debug)]
pub struct RiskInputs {
    /// Window length, seconds.
    trend_seconds: f64,
    /// Indices of the row columns the input copies, in schema order.
    row_columns: Vec<usize>,
    /// Index of each trend column in the schema (`None`: the schema lacks it; reads 0).
    trend_columns: [Option<usize>; TREND_COLUMNS.len()],
    /// `(time, trend values)` of the samples within the window, oldest first.
    window: VecDeque<(f64, TrendValues)>,
    /// The copied columns of the latest row (zeros before the first push).
    current: Vec<f32>,
}

/// Indices of the row columns the input copies: every column but [`EXCLUDED_COLUMNS`].
fn row_columns(schema: &FeatureSchema) -> Vec<usize> {
    (0..schema.width())
        .filter(|&i| !EXCLUDED_COLUMNS.contains(&schema.columns[i].name.as_str()))
        .collect()
}

impl RiskInputs {
    /// An empty input builder for rows of `schema`, with trends over the last `trend_seconds`
    /// (a value that is not a finite number > 0 keeps only the latest sample: every trend 0;
    /// [`super::RiskModel::check`] refuses such a model).
    pub fn new(schema: &FeatureSchema, trend_seconds: f64) -> Self {
        let row_columns = row_columns(schema);
        Self {
            trend_seconds: if trend_seconds.is_finite() && trend_seconds > 0.0 {
                trend_seconds
            } else {
                0.0
            },
            current: vec![0.0; row_columns.len()],
            row_columns,
            trend_columns: TREND_COLUMNS.map(|(name, _)| schema.column_index(name)),
            window: VecDeque::new(),
        }
    }

    /// Forgets every sample (an episode reset).
    pub fn reset(&mut self) {
        self.window.clear();
        self.current.fill(0.0);
    }

    /// Adds the service's row at time `t` (seconds). Samples older than `t - trend_seconds`
    /// leave the window; a row at the latest time replaces that sample; a time earlier than the
    /// latest (a restarted clock) starts a new window; a time that is not finite is ignored.
    /// Columns past the end of a short `row` read 0.
    pub fn push(&mut self, t: f64, row: &[f32]) {
        if !t.is_finite() {
            return;
        }
        let at = |c: usize| row.get(c).copied().unwrap_or(0.0);
        for (slot, &c) in self.current.iter_mut().zip(&self.row_columns) {
            *slot = at(c);
        }
        let values = self.trend_columns.map(|c| c.map_or(0.0, at));
        match self.window.back_mut() {
            Some(last) if last.0 == t => last.1 = values,
            Some(last) if last.0 > t => {
                self.window.clear();
                self.window.push_back((t, values));
            }
            _ => self.window.push_back((t, values)),
        }
        let keep = self.trend_seconds;
        while self.window.front().is_some_and(|&(t0, _)| t - t0 > keep) {
            self.window.pop_front();
        }
    }

    /// Number of samples in the window.
    pub fn samples(&self) -> usize {
        self.window.len()
    }

    /// **Appends** the input (width [`Self::input_width`]) to `out`: the latest row's copied
    /// columns, then `delta` and `change` of each trend column (see [`super::trend`]).
    pub fn write_input(&self, out: &mut Vec<f32>) {
        out.extend_from_slice(&self.current);
        for k in 0..TREND_COLUMNS.len() {
            let points = self.window.iter().map(|(t, v)| (*t, f64::from(v[k])));
            let (delta, change) = trend(points, self.trend_seconds);
            out.push(delta as f32);
            out.push(change as f32);
        }
    }

    /// Width of the input for rows of `schema`: its columns but [`EXCLUDED_COLUMNS`], plus
    /// [`TREND_INPUTS`].
    pub fn input_width(schema: &FeatureSchema) -> usize {
        row_columns(schema).len() + TREND_INPUTS
    }

    /// Bounds of each input (the copied columns' schema bounds, then [`trend_bounds`]): the
    /// predictor's fixed input scaling.
    pub fn input_bounds(schema: &FeatureSchema) -> Vec<(f32, f32)> {
        let bounds = schema.row_bounds();
        let mut out: Vec<(f32, f32)> = row_columns(schema).iter().map(|&c| bounds[c]).collect();
        out.extend(trend_bounds());
        out
    }

    /// Name of each input, in input order (the copied columns' names, then
    /// [`super::trend::trend_names`]).
    pub fn input_names(schema: &FeatureSchema) -> Vec<String> {
        let mut out: Vec<String> = row_columns(schema)
            .iter()
            .map(|&c| schema.columns[c].name.clone())
            .collect();
        out.extend(trend_names());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> FeatureSchema {
        FeatureSchema::builtin()
    }

    /// A row whose memory column (`svc_replica_memory_max`) is `memory` and the rest `fill`.
    fn row(schema: &FeatureSchema, memory: f32, fill: f32) -> Vec<f32> {
        let mut r = vec![fill; schema.width()];
        r[schema.column_index("svc_replica_memory_max").unwrap()] = memory;
        r
    }

    fn input(inputs: &RiskInputs) -> Vec<f32> {
        let mut out = Vec::new();
        inputs.write_input(&mut out);
        out
    }

    #[test]
    fn the_input_is_the_current_row_without_monitoring_columns_then_trends() {
        let s = schema();
        let width = RiskInputs::input_width(&s);
        assert_eq!(width, s.width() - 3 + TREND_INPUTS);
        assert_eq!(RiskInputs::input_bounds(&s).len(), width);
        let names = RiskInputs::input_names(&s);
        assert_eq!(names.len(), width);
        for excluded in EXCLUDED_COLUMNS {
            assert!(!names.iter().any(|n| n == excluded), "{excluded}");
        }
        let mut inputs = RiskInputs::new(&s, 600.0);
        assert_eq!(input(&inputs), vec![0.0; width], "zeros before any row");
        let mut r = row(&s, 0.4, 0.25);
        for (i, c) in s.columns.iter().enumerate() {
            if EXCLUDED_COLUMNS.contains(&c.name.as_str()) {
                r[i] = 99.0;
            }
        }
        inputs.push(100.0, &r);
        let x = input(&inputs);
        assert_eq!(x.len(), width);
        assert!(!x.contains(&99.0), "an excluded column leaked: {x:?}");
        let memory = names
            .iter()
            .position(|n| n == "svc_replica_memory_max")
            .unwrap();
        assert_eq!(x[memory], 0.4);
        assert_eq!(
            &x[width - TREND_INPUTS..],
            &[0.0; TREND_INPUTS],
            "one sample"
        );
        // Appends, so training data can be cut into one buffer.
        let mut out = vec![7.0];
        inputs.write_input(&mut out);
        assert_eq!(out.len(), 1 + width);
    }

    #[test]
    fn trends_use_irregular_timestamps() {
        let s = schema();
        let mut inputs = RiskInputs::new(&s, 600.0);
        // Memory 0, 1, 1 at 0, 10, 30 s (the hand-worked case of `trend`): delta 1, change 600/35.
        for (t, m) in [(0.0, 0.0), (10.0, 1.0), (30.0, 1.0)] {
            inputs.push(t, &row(&s, m, 0.0));
        }
        let x = input(&inputs);
        let base = RiskInputs::input_width(&s) - TREND_INPUTS;
        assert_eq!(x[base], 1.0);
        assert!((x[base + 1] - 600.0 / 35.0).abs() < 1e-4, "{}", x[base + 1]);
        assert_eq!(&x[base + 2..], &[0.0; TREND_INPUTS - 2], "flat columns");
    }

    #[test]
    fn the_window_keeps_only_the_last_trend_seconds() {
        let s = schema();
        let mut inputs = RiskInputs::new(&s, 60.0);
        // A jump at 0 s, then flat: once 0 s is more than 60 s old, the trend is 0.
        inputs.push(0.0, &row(&s, 1.0, 0.0));
        for t in [20.0, 40.0, 60.0] {
            inputs.push(t, &row(&s, 0.0, 0.0));
        }
        assert_eq!(inputs.samples(), 4, "60 s old is still inside");
        let base = RiskInputs::input_width(&s) - TREND_INPUTS;
        assert_eq!(input(&inputs)[base], -1.0);
        inputs.push(61.0, &row(&s, 0.0, 0.0));
        assert_eq!(inputs.samples(), 4, "t = 0 left the window");
        assert_eq!(&input(&inputs)[base..base + 2], &[0.0, 0.0]);
        // A repeated time replaces the latest sample; an earlier one starts a new window.
        inputs.push(61.0, &row(&s, 0.5, 0.0));
        assert_eq!(inputs.samples(), 4);
        assert_eq!(input(&inputs)[base], 0.5);
        inputs.push(5.0, &row(&s, 0.3, 0.0));
        assert_eq!(inputs.samples(), 1);
        inputs.push(f64::NAN, &row(&s, 0.9, 0.0));
        assert_eq!(inputs.samples(), 1, "a NaN time is ignored");
        inputs.reset();
        assert_eq!(inputs.samples(), 0);
        // A short row reads 0 past its end, without a panic.
        inputs.push(1.0, &[1.0]);
        assert_eq!(input(&inputs)[0], 1.0);
    }

    #[test]
    fn the_same_signal_at_15_s_and_30_s_cadence_gives_nearly_the_same_trends() {
        let s = schema();
        // A leak: memory rising 0.0005 per second with a deterministic wiggle.
        let memory = |t: f64| (0.2 + 0.0005 * t + 0.01 * (t / 47.0).sin()) as f32;
        let (mut fast, mut slow) = (RiskInputs::new(&s, 600.0), RiskInputs::new(&s, 600.0));
        for k in 0..=80 {
            let t = 1_000.0 + 15.0 * f64::from(k);
            fast.push(t, &row(&s, memory(t), 0.0));
            if k % 2 == 0 {
                slow.push(t, &row(&s, memory(t), 0.0));
            }
        }
        assert_eq!((fast.samples(), slow.samples()), (41, 21));
        let base = RiskInputs::input_width(&s) - TREND_INPUTS;
        let (f, w) = (input(&fast), input(&slow));
        // Same first and last sample: the same delta; the fitted change within 2 %.
        assert_eq!(f[base], w[base]);
        let (cf, cw) = (f[base + 1], w[base + 1]);
        assert!((cf - 0.3).abs() < 0.03, "about 0.0005 x 600 = 0.3: {cf}");
        assert!((cf - cw).abs() < 0.02 * cf, "15 s {cf} vs 30 s {cw}");
    }
}
