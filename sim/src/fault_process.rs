//! The stochastic renewal process one component goes through: up -> fails -> repaired -> up.
//!
//! Shared by the renewal model ([`crate::renewal`]) and the cluster world's stochastic faults.
//! Up times and down times are independent draws from their [`DurationDist`]s (an alternating
//! renewal process). Its long-run availability is mean_up / (mean_up + mean_down) (S. M. Ross,
//! "Introduction to Probability Models", 10th ed., §7.5, alternating renewal processes).

use serde::{Deserialize, Serialize};

use crate::dist::{DurationDist, DurationSampler};
use crate::rng::SimRng;
use crate::time::SimDuration;

/// Up and down time distributions of one component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalProcess {
    /// Time from a repair (or the start) to the next failure.
    pub up: DurationDist,
    /// Time from a failure to its repair.
    pub down: DurationDist,
}

impl RenewalProcess {
    /// Checks both distributions; errors start with the field (`"up: ..."`, `"down: ..."`).
    /// Also rejects a process whose up and down times are both always zero, which would never
    /// let time advance.
    pub fn validate(&self) -> Result<(), String> {
        self.up.validate().map_err(|e| format!("up: {e}"))?;
        self.down.validate().map_err(|e| format!("down: {e}"))?;
        if self.up.mean_secs() + self.down.mean_secs() <= 0.0 {
            return Err(
                "up and down are both always zero: the process would never advance time"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// Draws a time to the next failure.
    pub fn time_to_failure(&self, rng: &mut SimRng) -> SimDuration {
        self.up.sample(rng)
    }

    /// Draws a time to repair.
    pub fn time_to_repair(&self, rng: &mut SimRng) -> SimDuration {
        self.down.sample(rng)
    }

    /// Long-run share of time up: mean_up / (mean_up + mean_down); 1 if both means are zero.
    pub fn analytic_availability(&self) -> f64 {
        let up = self.up.mean_secs();
        let total = up + self.down.mean_secs();
        if total > 0.0 { up / total } else { 1.0 }
    }

    /// The process with its distribution constants precomputed, for hot loops.
    pub fn sampler(&self) -> RenewalSampler {
        RenewalSampler {
            up: self.up.sampler(),
            down: self.down.sampler(),
            availability: self.analytic_availability(),
        }
    }
}

/// A [`RenewalProcess`] ready for repeated sampling; draws the same values as the process's
/// own methods from the same generator state.
#[derive(Clone, Debug, PartialEq)]
pub struct RenewalSampler {
    up: DurationSampler,
    down: DurationSampler,
    availability: f64,
}

/// The state of a component at some instant, with the time left in that state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhaseStart {
    /// Up; fails after the given time.
    Up(SimDuration),
    /// Down; repaired after the given time.
    Down(SimDuration),
}

impl RenewalSampler {
    /// Draws a time to the next failure.
    #[inline]
    pub fn time_to_failure(&self, rng: &mut SimRng) -> SimDuration {
        self.up.sample(rng)
    }

    /// Draws a time to repair.
    #[inline]
    pub fn time_to_repair(&self, rng: &mut SimRng) -> SimDuration {
        self.down.sample(rng)
    }

    /// A component freshly put into service: up, with a full time to failure.
    pub fn fresh_start(&self, rng: &mut SimRng) -> PhaseStart {
        PhaseStart::Up(self.time_to_failure(rng))
    }

    /// The state of a component observed at an arbitrary instant of a process that has run
    /// forever (the stationary version): up with probability equal to the analytic availability,
    /// and the time left drawn from the equilibrium residual distribution of that phase
    /// ([`DurationSampler::sample_residual`]). Starting here, the expected share of time up over
    /// any window equals the analytic availability, with no start-up transient.
    pub fn stationary_start(&self, rng: &mut SimRng) -> PhaseStart {
        let u: f64 = rand::Rng::random(rng);
        if u < self.availability {
            PhaseStart::Up(self.up.sample_residual(rng))
        } else {
            PhaseStart::Down(self.down.sample_residual(rng))
        }
    }
}
