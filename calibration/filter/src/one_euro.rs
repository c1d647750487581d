//! The One Euro filter (Casiez, Roussel, Vogel, CHI 2012) for scalars and vectors: a low-pass
//! whose cutoff rises with speed, so that a still performer does not jitter and a moving one does
//! not lag. Time comes from the samples' timestamps (µs), never from a clock, so irregular rates
//! and gaps are handled and the output is a pure function of the input.

use glam::Vec3;
use serde::{Deserialize, Serialize};

/// How a One Euro filter trades jitter against lag.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneEuroParams {
    /// Cutoff when still, Hz. Lower: less jitter at rest, more lag on slow motion.
    pub min_cutoff_hz: f32,
    /// How fast the cutoff rises with speed, Hz per unit/s (rad/s for rotations, m/s for
    /// positions, weight/s for face channels). Higher: less lag on fast motion, more jitter.
    pub beta: f32,
    /// Cutoff of the speed estimate itself, Hz.
    pub derivative_cutoff_hz: f32,
}

impl OneEuroParams {
    pub const fn new(min_cutoff_hz: f32, beta: f32) -> Self {
        OneEuroParams {
            min_cutoff_hz,
            beta,
            derivative_cutoff_hz: 1.0,
        }
    }

    /// The same parameters with the speed estimate's cutoff at `hz` (default 1 Hz). Higher: the
    /// cutoff rises sooner when a fast movement starts, and noise moves it more at rest.
    pub const fn with_derivative_cutoff(self, hz: f32) -> Self {
        OneEuroParams {
            derivative_cutoff_hz: hz,
            ..self
        }
    }

    /// Whether the parameters are usable (finite, positive cutoffs, non-negative beta).
    pub fn is_valid(&self) -> bool {
        self.min_cutoff_hz.is_finite()
            && self.min_cutoff_hz > 0.0
            && self.beta.is_finite()
            && self.beta >= 0.0
            && self.derivative_cutoff_hz.is_finite()
            && self.derivative_cutoff_hz > 0.0
    }
}

/// Samples further apart than this restart the filter: after a gap, the old state says nothing.
pub const MAX_GAP_US: u64 = 500_000;

/// The smoothing factor of a first-order low-pass with `cutoff_hz` over `dt_s` seconds.
pub fn smoothing(cutoff_hz: f32, dt_s: f32) -> f32 {
    let tau = 1.0 / (std::f32::consts::TAU * cutoff_hz);
    1.0 / (1.0 + tau / dt_s)
}

/// A One Euro filter over 3-vectors (positions, or scalars in `x`). The cutoff follows the
/// speed's magnitude, so all axes are smoothed alike.
#[derive(Clone, Debug, Default)]
pub struct OneEuroFilter {
    state: Option<State>,
}

#[derive(Clone, Copy, Debug)]
struct State {
    value: Vec3,
    speed: Vec3,
    t_us: u64,
}

impl OneEuroFilter {
    /// Filters `value` sampled at `t_us`. The first sample, and the first after a gap longer
    /// than [`MAX_GAP_US`], passes through. A sample not newer than the last returns the last
    /// output unchanged.
    pub fn filter(&mut self, value: Vec3, t_us: u64, params: &OneEuroParams) -> Vec3 {
        let Some(s) = self.state else {
            self.state = Some(State {
                value,
                speed: Vec3::ZERO,
                t_us,
            });
            return value;
        };
        if t_us <= s.t_us {
            return s.value;
        }
        if t_us - s.t_us > MAX_GAP_US {
            self.state = Some(State {
                value,
                speed: Vec3::ZERO,
                t_us,
            });
            return value;
        }
        let dt = (t_us - s.t_us) as f32 / 1e6;
        let raw_speed = (value - s.value) / dt;
        let speed = s
            .speed
            .lerp(raw_speed, smoothing(params.derivative_cutoff_hz, dt));
        let cutoff = params.min_cutoff_hz + params.beta * speed.length();
        let out = s.value.lerp(value, smoothing(cutoff, dt));
        self.state = Some(State {
            value: out,
            speed,
            t_us,
        });
        out
    }

    /// The filtered speed, units per second (zero before two samples).
    pub fn speed(&self) -> Vec3 {
        self.state.map_or(Vec3::ZERO, |s| s.speed)
    }

    pub fn reset(&mut self) {
        self.state = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: OneEuroParams = OneEuroParams::new(1.0, 0.5);

    #[test]
    fn constant_input_stays_constant_and_steps_converge() {
        let mut f = OneEuroFilter::default();
        let v = Vec3::new(1.0, 2.0, 3.0);
        for i in 0..10 {
            assert_eq!(f.filter(v, i * 16_667, &P), v);
        }
        let target = Vec3::new(2.0, 2.0, 3.0);
        let mut out = v;
        for i in 10..200 {
            out = f.filter(target, i * 16_667, &P);
        }
        assert!((out - target).length() < 1e-3, "{out}");
    }

    #[test]
    fn stale_samples_and_gaps() {
        let mut f = OneEuroFilter::default();
        f.filter(Vec3::ZERO, 1_000_000, &P);
        let a = f.filter(Vec3::ONE, 1_016_000, &P);
        assert_eq!(
            f.filter(Vec3::splat(5.0), 1_016_000, &P),
            a,
            "same timestamp: unchanged"
        );
        assert_eq!(
            f.filter(Vec3::splat(5.0), 1_000_000, &P),
            a,
            "older: unchanged"
        );
        let after_gap = f.filter(Vec3::splat(9.0), 3_000_000, &P);
        assert_eq!(after_gap, Vec3::splat(9.0), "a gap restarts the filter");
    }
}
