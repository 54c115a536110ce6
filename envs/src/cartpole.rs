//! CartPole-v1 with Gymnasium's exact dynamics, constants, thresholds and initial-state distribution.
//!
//! Source: Gymnasium 1.4.0 `gymnasium/envs/classic_control/cartpole.py` (`CartPoleEnv`), itself after
//! Barto, Sutton & Anderson (1983) and Florian's corrected equations
//! (<https://coneural.org/florian/papers/05_cart_pole.pdf>). As in Gymnasium the state is `f64` and the
//! observation is the state rounded to `f32`; the 500-step truncation is not here but in the
//! `TimeLimit` wrapper that [`crate::make`] applies, as Gymnasium's registration does.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::env::{Action, Env, Info, Observation, Step, validate_action};
use crate::error::EnvError;
use crate::spaces::{BoxSpace, Discrete, Space};

/// The env id.
pub const CARTPOLE_ID: &str = "CartPole-v1";
/// Gravity, m/s^2 (Gymnasium `self.gravity`).
pub const GRAVITY: f64 = 9.8;
/// Cart mass, kg.
pub const MASS_CART: f64 = 1.0;
/// Pole mass, kg.
pub const MASS_POLE: f64 = 0.1;
/// Half the pole's length, m (Gymnasium `self.length`, "actually half the pole's length").
pub const HALF_LENGTH: f64 = 0.5;
/// Magnitude of the push, N.
pub const FORCE_MAG: f64 = 10.0;
/// Seconds between state updates (explicit Euler step).
pub const TAU: f64 = 0.02;
/// Pole angle beyond which the episode terminates: 12 degrees, written as Gymnasium does.
pub const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// Cart position beyond which the episode terminates, m.
pub const X_THRESHOLD: f64 = 2.4;
/// Default half-width of the uniform initial-state distribution (Gymnasium: `uniform(-0.05, 0.05)`).
pub const INIT_BOUND: f64 = 0.05;
/// Seed a fresh env uses if its first `reset` gets no seed (Gymnasium would draw from the OS; `mend`
/// is deterministic, so it uses this fixed value).
pub const DEFAULT_SEED: u64 = 0;

const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
const POLEMASS_LENGTH: f64 = MASS_POLE * HALF_LENGTH;

/// CartPole-v1: state `[x, x_dot, theta, theta_dot]`, actions 0 (push left) and 1 (push right),
/// reward 1 per step including the terminating one.
///
/// Reset options (an [`Info`] map): `"low"` / `"high"` (numbers) change the uniform initial-state
/// bounds, as Gymnasium's `maybe_parse_reset_bounds`; `"state"` (four numbers) sets the initial state
/// exactly, a `mend` extension used by the golden test (Gymnasium's script sets `env.unwrapped.state`).
#[derive(Clone, Debug)]
pub struct CartPole {
    rng: ChaCha8Rng,
    state: [f64; 4],
    /// `None` before the first reset; `Some(true)` once the episode has terminated.
    terminated: Option<bool>,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    /// A CartPole that must be reset before stepping.
    pub fn new() -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(DEFAULT_SEED),
            state: [0.0; 4],
            terminated: None,
        }
    }

    /// The full-precision (`f64`) state `[x, x_dot, theta, theta_dot]`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    fn observation(&self) -> Observation {
        Observation::Vector(self.state.iter().map(|&v| v as f32).collect())
    }

    /// Reads a number from the reset options.
    fn option_number(options: &Info, key: &str) -> Result<Option<f64>, EnvError> {
        match options.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| EnvError::InvalidOption {
                    env: CARTPOLE_ID.into(),
                    key: key.into(),
                    expected: "a finite number".into(),
                }),
        }
    }

    /// The initial state the options ask for, or a draw from the env's generator.
    fn initial_state(&mut self, options: Option<&Info>) -> Result<[f64; 4], EnvError> {
        let (mut low, mut high) = (-INIT_BOUND, INIT_BOUND);
        if let Some(options) = options {
            if let Some(state) = options.get("state") {
                let bad = || EnvError::InvalidOption {
                    env: CARTPOLE_ID.into(),
                    key: "state".into(),
                    expected: "an array of 4 finite numbers [x, x_dot, theta, theta_dot]".into(),
                };
                let arr = state.as_array().filter(|a| a.len() == 4).ok_or_else(bad)?;
                let mut s = [0.0; 4];
                for (dst, v) in s.iter_mut().zip(arr) {
                    *dst = v.as_f64().filter(|x| x.is_finite()).ok_or_else(bad)?;
                }
                return Ok(s);
            }
            low = Self::option_number(options, "low")?.unwrap_or(low);
            high = Self::option_number(options, "high")?.unwrap_or(high);
            if low > high {
                return Err(EnvError::InvalidOption {
                    env: CARTPOLE_ID.into(),
                    key: "low".into(),
                    expected: format!("low <= high (got low {low}, high {high})"),
                });
            }
        }
        let mut s = [0.0; 4];
        for v in &mut s {
            *v = if low < high {
                self.rng.random_range(low..high)
            } else {
                low
            };
        }
        Ok(s)
    }
}

impl Env for CartPole {
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        if let Some(seed) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(seed);
        }
        self.state = self.initial_state(options)?;
        self.terminated = Some(false);
        Ok((self.observation(), Info::new()))
    }

    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        validate_action(CARTPOLE_ID, action, 2, None)?;
        match self.terminated {
            None => {
                return Err(EnvError::NotReset {
                    env: CARTPOLE_ID.into(),
                });
            }
            Some(true) => {
                return Err(EnvError::EpisodeOver {
                    env: CARTPOLE_ID.into(),
                });
            }
            Some(false) => {}
        }
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let (sintheta, costheta) = theta.sin_cos();
        // Same expression order as Gymnasium's step, so rounding matches.
        let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        // kinematics_integrator == "euler": positions advance with the old velocities.
        self.state = [
            x + TAU * x_dot,
            x_dot + TAU * xacc,
            theta + TAU * theta_dot,
            theta_dot + TAU * thetaacc,
        ];
        let [x, _, theta, _] = self.state;
        // Gymnasium: x < -x_threshold or x > x_threshold or theta < -theta_threshold or theta > theta_threshold.
        let terminated = !(-X_THRESHOLD..=X_THRESHOLD).contains(&x)
            || !(-THETA_THRESHOLD_RADIANS..=THETA_THRESHOLD_RADIANS).contains(&theta);
        self.terminated = Some(terminated);
        Ok(Step {
            obs: self.observation(),
            reward: 1.0,
            terminated,
            truncated: false,
            info: Info::new(),
        })
    }

    fn observation_space(&self) -> Space {
        // Gymnasium: high = [2 * x_threshold, inf, 2 * theta_threshold, inf] as float32, low = -high.
        let high = vec![
            (X_THRESHOLD * 2.0) as f32,
            f32::INFINITY,
            (THETA_THRESHOLD_RADIANS * 2.0) as f32,
            f32::INFINITY,
        ];
        Space::Box(BoxSpace::new(high.iter().map(|h| -h).collect(), high))
    }

    fn action_space(&self) -> Space {
        Space::Discrete(Discrete::new(2))
    }

    fn action_mask(&self) -> Option<Vec<bool>> {
        None
    }

    fn id(&self) -> &str {
        CARTPOLE_ID
    }
}
