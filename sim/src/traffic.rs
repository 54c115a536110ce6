//! External load at entry services: a mean rate with a daily cosine cycle, multiplicative
//! Gaussian noise drawn once per entry per tick from the Traffic stream (so the draws never depend
//! on actions), and surges from load-surge faults.

use rand_distr::{Distribution, StandardNormal};

use crate::rng::SimRng;
use crate::scenario::schema::TrafficSpec;
use crate::time::SimTime;

const DAY_MS: f64 = 86_400_000.0;

/// Computes entry rates tick by tick.
#[derive(Debug, Clone)]
pub struct TrafficModel {
    amplitude: f64,
    peak_ms: f64,
    noise: f64,
    rng: SimRng,
}

impl TrafficModel {
    /// A model for the scenario's traffic section with its own random stream.
    pub fn new(spec: &TrafficSpec, rng: SimRng) -> Self {
        Self {
            amplitude: spec.daily_amplitude_ratio,
            peak_ms: spec.peak_at.0 as f64,
            noise: spec.noise_ratio,
            rng,
        }
    }

    /// Seasonal factor at `t`: 1 + amplitude * cos(2 pi (t - peak) / 1 day), in [0, 2].
    pub fn seasonal(&self, t: SimTime) -> f64 {
        let phase = (t.0 as f64 - self.peak_ms) / DAY_MS * std::f64::consts::TAU;
        1.0 + self.amplitude * phase.cos()
    }

    /// Noise factor for one entry: max(0, 1 + noise * z), z standard normal. Always draws one
    /// number, so the stream advances identically whatever the world does.
    pub fn noise_factor(&mut self) -> f64 {
        let z: f64 = StandardNormal.sample(&mut self.rng);
        (1.0 + self.noise * z).max(0.0)
    }
}
