//! Running a univariate detector on one value or on a vector (one independent state per
//! channel): the shared plumbing behind every univariate [`Detector`](super::Detector).

use super::{Detection, Detector, DetectorError};

/// The per-channel state of a univariate detector.
pub trait Univariate: std::fmt::Debug + Clone + Send {
    /// The registry name.
    const NAME: &'static str;
    /// Feeds one finite value observed at `timestamp` (seconds).
    fn step(&mut self, timestamp: f64, value: f64) -> Detection;
}

/// A univariate detector applied channel by channel: the score is the highest channel score,
/// the alert is raised when any channel alerts.
#[derive(Debug, Clone)]
pub struct Channels<U: Univariate> {
    fresh: U,
    channels: Vec<U>,
}

impl<U: Univariate> Channels<U> {
    /// Wraps a cold state; channels are cloned from it on the first sample.
    pub fn new(fresh: U) -> Self {
        Channels {
            fresh,
            channels: Vec::new(),
        }
    }

    /// The per-channel states (empty before the first sample).
    pub fn channels(&self) -> &[U] {
        &self.channels
    }
}

impl<U: Univariate + 'static> Detector for Channels<U> {
    fn name(&self) -> &'static str {
        U::NAME
    }

    #[inline]
    fn update(&mut self, timestamp: f64, value: f64) -> Detection {
        if !value.is_finite() {
            return Detection::default();
        }
        if self.channels.is_empty() {
            self.channels.push(self.fresh.clone());
        }
        self.channels[0].step(timestamp, value)
    }

    fn update_vector(
        &mut self,
        timestamp: f64,
        values: &[f64],
    ) -> Result<Detection, DetectorError> {
        if self.channels.is_empty() {
            self.channels = vec![self.fresh.clone(); values.len()];
        }
        if values.len() != self.channels.len() {
            return Err(DetectorError::DimensionMismatch {
                detector: U::NAME,
                expected: self.channels.len(),
                found: values.len(),
            });
        }
        let mut out = Detection::default();
        for (state, &v) in self.channels.iter_mut().zip(values) {
            if v.is_finite() {
                let d = state.step(timestamp, v);
                out.score = out.score.max(d.score);
                out.alert |= d.alert;
            }
        }
        Ok(out)
    }

    fn reset(&mut self) {
        self.channels.clear();
    }
}
