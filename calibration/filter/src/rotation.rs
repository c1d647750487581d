//! The One Euro filter on the quaternion manifold, for bone rotations.
//!
//! The low-pass is a slerp from the last output towards the sample (no component-wise lerp, so
//! no shrinking or wobbling through the middle of a turn); the speed is an angular velocity
//! (rad/s) from the last *filtered* rotation to the sample; each sample is first moved to the
//! last output's hemisphere, so q and −q (the same rotation) never make the filter swing round.
//! After Casiez et al.'s scalar filter and VRPN's quaternion variant; see
//! `shared/reference/filtering.md`.

use glam::{Quat, Vec3};

use super::one_euro::{MAX_GAP_US, OneEuroParams, smoothing};

/// Filters one bone's rotation. Inputs and outputs are unit quaternions.
#[derive(Clone, Debug, Default)]
pub struct OneEuroRotationFilter {
    state: Option<State>,
}

#[derive(Clone, Copy, Debug)]
struct State {
    rotation: Quat,
    /// Angular velocity, world frame of the bone's parent, rad/s.
    velocity: Vec3,
    t_us: u64,
}

impl OneEuroRotationFilter {
    /// Filters `rotation` sampled at `t_us`, then predicts `predict_us` ahead along the filtered
    /// angular velocity (0 for none; callers keep it to at most one frame). First sample and first
    /// after a gap pass through; a sample not newer than the last returns the last output.
    pub fn filter(
        &mut self,
        rotation: Quat,
        t_us: u64,
        params: &OneEuroParams,
        predict_us: u32,
    ) -> Quat {
        let Some(s) = self.state else {
            self.state = Some(State {
                rotation,
                velocity: Vec3::ZERO,
                t_us,
            });
            return rotation;
        };
        if t_us <= s.t_us {
            return predicted(s.rotation, s.velocity, predict_us);
        }
        if t_us - s.t_us > MAX_GAP_US {
            self.state = Some(State {
                rotation,
                velocity: Vec3::ZERO,
                t_us,
            });
            return rotation;
        }
        let dt = (t_us - s.t_us) as f32 / 1e6;
        // Same hemisphere as the last output: q and −q are one rotation.
        let rotation = if rotation.dot(s.rotation) < 0.0 {
            -rotation
        } else {
            rotation
        };
        let raw_velocity = (rotation * s.rotation.inverse()).to_scaled_axis() / dt;
        let velocity = s
            .velocity
            .lerp(raw_velocity, smoothing(params.derivative_cutoff_hz, dt));
        let cutoff = params.min_cutoff_hz + params.beta * velocity.length();
        let out = s
            .rotation
            .slerp(rotation, smoothing(cutoff, dt))
            .normalize();
        self.state = Some(State {
            rotation: out,
            velocity,
            t_us,
        });
        predicted(out, velocity, predict_us)
    }

    /// The filtered angular speed, rad/s.
    pub fn angular_speed(&self) -> f32 {
        self.state.map_or(0.0, |s| s.velocity.length())
    }

    pub fn reset(&mut self) {
        self.state = None;
    }
}

fn predicted(rotation: Quat, velocity: Vec3, predict_us: u32) -> Quat {
    if predict_us == 0 {
        return rotation;
    }
    (Quat::from_scaled_axis(velocity * (predict_us as f32 / 1e6)) * rotation).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::rotation_error_degrees;
    use proptest::prelude::*;

    const P: OneEuroParams = OneEuroParams::new(1.0, 0.5);

    fn rotation() -> impl Strategy<Value = Quat> {
        (-1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0)
            .prop_filter("non-zero", |(x, y, z, w)| {
                x * x + y * y + z * z + w * w > 0.01
            })
            .prop_map(|(x, y, z, w)| Quat::from_xyzw(x, y, z, w).normalize())
    }

    proptest! {
        /// Whatever comes in (any rotations, in any hemisphere, at irregular times), what comes
        /// out is a unit quaternion that never jumps to the other hemisphere, and the filter is
        /// deterministic.
        #[test]
        fn output_is_unit_continuous_and_deterministic(
            samples in proptest::collection::vec((rotation(), 1u64..40_000, any::<bool>()), 2..80),
        ) {
            let run = || {
                let mut f = OneEuroRotationFilter::default();
                let mut t = 1_000_000u64;
                let mut outputs = Vec::new();
                for (q, dt, flip) in &samples {
                    t += dt;
                    let q = if *flip { -*q } else { *q };
                    outputs.push(f.filter(q, t, &P, 8_000));
                }
                outputs
            };
            let outputs = run();
            prop_assert_eq!(&outputs, &run());
            for q in &outputs {
                prop_assert!((q.length() - 1.0).abs() < 1e-4);
            }
            // Without prediction, consecutive outputs stay in one hemisphere.
            let mut f = OneEuroRotationFilter::default();
            let mut t = 1_000_000u64;
            let mut last: Option<Quat> = None;
            for (q, dt, flip) in &samples {
                t += dt;
                let out = f.filter(if *flip { -*q } else { *q }, t, &P, 0);
                if let Some(last) = last {
                    prop_assert!(out.dot(last) >= -1e-6, "sign flip: {last:?} → {out:?}");
                }
                last = Some(out);
            }
        }
    }

    #[test]
    fn still_rotation_is_kept_and_a_turn_is_followed() {
        let mut f = OneEuroRotationFilter::default();
        let start = Quat::from_rotation_y(0.3);
        for i in 0..30u64 {
            let out = f.filter(
                if i.is_multiple_of(2) { start } else { -start },
                i * 16_667,
                &P,
                0,
            );
            assert!(rotation_error_degrees(out, start) < 1e-3);
        }
        let end = Quat::from_rotation_y(1.2);
        let mut out = start;
        for i in 30..400u64 {
            out = f.filter(end, i * 16_667, &P, 0);
        }
        assert!(rotation_error_degrees(out, end) < 0.05);
    }

    #[test]
    fn prediction_leads_a_steady_turn() {
        let mut plain = OneEuroRotationFilter::default();
        let mut ahead = OneEuroRotationFilter::default();
        let (mut lag_plain, mut lag_ahead) = (0.0, 0.0);
        for i in 0..120u64 {
            let t = i * 16_667;
            let truth = Quat::from_rotation_y(2.0 * t as f32 / 1e6); // 2 rad/s
            lag_plain = rotation_error_degrees(plain.filter(truth, t, &P, 0), truth);
            lag_ahead = rotation_error_degrees(ahead.filter(truth, t, &P, 16_667), truth);
        }
        assert!(
            lag_ahead < lag_plain,
            "prediction {lag_ahead}° vs plain {lag_plain}°"
        );
    }
}
