//! SlimeVR's convention and its one conversion to Kagura's.
//!
//! A tracker sends the orientation its IMU fusion computed: the rotation from the board's own
//! axes into the fusion's world frame, which is **Z-up** (gravity along −Z, "up" +Z, right-handed;
//! its heading is arbitrary without a magnetometer). The firmware has already turned the board's
//! mounting yaw into it (`fusedRotation = r · sensorOffset`).
//!
//! SlimeVR's server maps it to its Y-up world by left-multiplying only,
//! `q' = AXES_OFFSET · q` with `AXES_OFFSET` = −90° about X (+Z → +Y, +Y → −Z), and so does
//! Kagura: the internal world is right-handed and Y-up as SlimeVR's is. Nothing is multiplied on
//! the right, so the **body axes stay the board's axes**; the mounting a T/A-pose calibration
//! measures (`solve_sensors`: bone = sensor · mounting) absorbs them, as SlimeVR's resets do.
//! The fusion frame's heading (its +Y, "north" with a magnetometer) becomes internal −Z; which
//! way the performer faces is set by the heading (yaw) calibration.
//!
//! A NaN, infinite or zero quaternion is not an orientation: SlimeVR's server reads it as
//! identity, Kagura drops the sample and counts it.

use glam::Quat;

use super::packet::WireQuat;

/// −90° about X: the fusion frame's +Z (up) to internal +Y, its +Y to internal −Z.
pub fn axes_offset() -> Quat {
    Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2)
}

/// A tracker's world orientation (x, y, z, w in the Z-up fusion frame) → the internal
/// convention's world orientation of the board; `None` when it is not a rotation.
pub fn world_orientation(wire: WireQuat) -> Option<Quat> {
    let [x, y, z, w] = wire;
    let q = Quat::from_xyzw(x, y, z, w);
    let length = q.length();
    if !length.is_finite() || length < 1e-6 {
        return None;
    }
    Some((axes_offset() * (q / length)).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec3;

    /// Pins the convention. A tracker lying flat, face up, its board +Y along the fusion
    /// frame's +Y ("north"), reports identity: in the internal world its face points up (+Y)
    /// and its +Y points −Z. Turned 90° to the left (about the fusion's up, +Z) its +Y points
    /// the fusion's −X, which stays internal −X. Stood on its end (+90° about the fusion's +X)
    /// its face points the fusion's −Y, internal +Z.
    #[test]
    fn a_flat_tracker_facing_north_reads_up_and_minus_z() {
        let flat = world_orientation([0.0, 0.0, 0.0, 1.0]).unwrap();
        assert!((flat * Vec3::Z).abs_diff_eq(Vec3::Y, 1e-6), "face up");
        assert!(
            (flat * Vec3::Y).abs_diff_eq(Vec3::NEG_Z, 1e-6),
            "north is −Z"
        );
        assert!((flat * Vec3::X).abs_diff_eq(Vec3::X, 1e-6));
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let turned = world_orientation([0.0, 0.0, h, h]).unwrap();
        assert!((turned * Vec3::Y).abs_diff_eq(Vec3::NEG_X, 1e-6));
        assert!((turned * Vec3::Z).abs_diff_eq(Vec3::Y, 1e-6));
        let stood = world_orientation([h, 0.0, 0.0, h]).unwrap();
        assert!((stood * Vec3::Z).abs_diff_eq(Vec3::Z, 1e-6));
        assert!((stood * Vec3::Y).abs_diff_eq(Vec3::Y, 1e-6));
        // A turn about the fusion's up is a turn about internal +Y by the same angle.
        let relative = turned * flat.inverse();
        let (axis, angle) = relative.to_axis_angle();
        assert!(axis.abs_diff_eq(Vec3::Y, 1e-5) && (angle - 2.0 * h.acos()).abs() < 1e-5);
    }

    #[test]
    fn not_rotations_are_none_and_the_rest_are_normalised() {
        assert_eq!(world_orientation([f32::NAN, 0.0, 0.0, 1.0]), None);
        assert_eq!(world_orientation([0.0; 4]), None);
        assert_eq!(world_orientation([f32::INFINITY, 0.0, 0.0, 1.0]), None);
        let q = world_orientation([0.0, 0.0, 0.0, 2.0]).unwrap();
        assert!(q.is_normalized());
    }
}
