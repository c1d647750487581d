//! MVN's convention and its one conversion to Kagura's.
//!
//! MVN streams global segment positions and orientations in a right-handed, Z-up frame: X
//! forward (the performer's heading at calibration), Y to the performer's left, Z up
//! (`suits.md` §5, and a real recording: the pelvis at z ≈ 0.95 m, toes at z ≈ 0.02 m). Every
//! segment's orientation is the identity in MVN's T-pose (the same recording, arms hanging: the
//! left upper arm is −90° about X, the arm's +Y turned to −Z). So the axes map once — MVN X →
//! glTF +Z (forward), Y → +X (left), Z → +Y (up) — and rest rotations are the identity.
//!
//! Units: the manual says centimetres; a 2026 MVN stream sends metres. Each sample says which:
//! a pelvis more than 10 units up is centimetres ([`metres_per_unit`]).

use glam::{Mat3, Vec3};
use kagura_skeleton::Axes;

/// MVN's axes, metres (positions are scaled to metres before they get here).
pub const AXES: Axes = Axes {
    basis: Mat3::from_cols(Vec3::Z, Vec3::X, Vec3::Y),
    metres_per_unit: 1.0,
};

/// The pelvis height above which a stream is in centimetres.
pub const CENTIMETRES_ABOVE: f32 = 10.0;

/// Metres per unit of a stream whose pelvis is `pelvis_height` units up.
pub fn metres_per_unit(pelvis_height: f32) -> f32 {
    if pelvis_height.abs() > CENTIMETRES_ABOVE {
        0.01
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::skeleton;
    use super::*;
    use glam::Quat;
    use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame};
    use kagura_skeleton::{Retargeter, TargetBody};

    /// Retargets global segment orientations (MVN axes), the head's `head`, the rest identity.
    fn retarget(segment: usize, global: Quat) -> PoseFrame {
        let mut retargeter = Retargeter::new(skeleton::mvn(), &TargetBody::default()).unwrap();
        let mut globals = [Quat::IDENTITY; 23];
        globals[segment] = global;
        let locals = skeleton::locals(&globals.map(Some));
        let mut frame = PoseFrame::new(PerformerId(0));
        retargeter.retarget(&locals, Some(Vec3::new(0.3, 0.1, 0.95)), &mut frame);
        frame
    }

    #[test]
    fn the_axes_are_right_handed_and_up_is_up() {
        assert!((AXES.basis.determinant() - 1.0).abs() < 1e-6);
        assert_eq!(
            AXES.position(Vec3::new(1.0, 2.0, 3.0)),
            Vec3::new(2.0, 3.0, 1.0)
        );
        assert_eq!(metres_per_unit(0.95), 1.0);
        assert_eq!(metres_per_unit(95.0), 0.01);
    }

    /// +30° about MVN's up axis (Z) at the head turns the face from forward (+X) toward the
    /// performer's left (+Y): the avatar's face turns to its own left (+X in glTF). The left
    /// upper arm −90° about X (as the recording's hanging arm) points the arm down. The pelvis
    /// forward of the origin is forward of it in glTF too.
    #[test]
    fn a_turn_about_mvns_up_axis_turns_the_avatar_to_its_left() {
        let frame = retarget(6, Quat::from_rotation_z(30f32.to_radians()));
        let neck = frame.bone(HumanoidBone::Neck).unwrap();
        let face = neck * frame.bone(HumanoidBone::Head).unwrap() * Vec3::Z;
        assert!(face.x > 0.49 && face.z > 0.86, "{face}");
        let frame = retarget(12, Quat::from_rotation_x(-90f32.to_radians()));
        let arm = frame.bone(HumanoidBone::LeftUpperArm).unwrap() * Vec3::X;
        assert!(arm.y < -0.99, "{arm}");
        let hips = frame.hips_position.unwrap();
        assert!(hips.z > 0.29 && hips.x > 0.09 && hips.y > 0.9, "{hips}");
    }
}
