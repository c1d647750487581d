//! mocopi's convention and its one conversion to Kagura's.
//!
//! mocopi sends right-handed, +Y up, metres, the performer facing +Z with their left on +X (a
//! real skeleton definition has `l_up_arm` at x = +0.1295), rotations local to the parent and
//! relative to identity rest rotations: already glTF's axes. Sony's Unity plugin confirms it by
//! mirroring X into Unity: `p = (−x, y, z)`, `q = (−qx, qy, qz, −qw)`. So the axes are the
//! identity and the conversion is the skeleton's: rest offsets from the phone's own skeleton
//! definition, retargeted by [`kagura_skeleton::Retargeter`].

use kagura_skeleton::Axes;

/// mocopi's axes and units: the internal ones.
pub const AXES: Axes = Axes::INTERNAL;

#[cfg(test)]
mod tests {
    use super::super::skeleton;
    use super::*;
    use glam::{Quat, Vec3};
    use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};
    use kagura_skeleton::{Retargeter, TargetBody};

    fn retarget(joint: usize, local: Quat) -> PoseFrame {
        let mut retargeter = Retargeter::new(skeleton::nominal(), &TargetBody::default()).unwrap();
        let mut locals = [Some(Quat::IDENTITY); 27];
        locals[joint] = Some(local);
        let mut frame = PoseFrame::new(PerformerId(0));
        retargeter.retarget(&locals, Some(Vec3::new(0.2, 0.93, -0.1)), &mut frame);
        frame
    }

    /// +30° about mocopi's up axis at the head turns the avatar's face to its own left (+X);
    /// the left upper arm turned −60° about +Z (its hand down) points the arm down and out, on
    /// the avatar's left; positions keep their axes.
    #[test]
    fn a_turn_about_mocopis_up_axis_turns_the_avatar_to_its_left() {
        let frame = retarget(10, Quat::from_rotation_y(30f32.to_radians()));
        let face = frame.bone(HumanoidBone::Head).unwrap() * Vec3::Z;
        assert!(face.x > 0.49 && face.z > 0.86, "{face}");
        // Bones with nothing between them in mocopi's tree keep the rotation as it came.
        let frame = retarget(12, Quat::from_rotation_z(-60f32.to_radians()));
        let arm = frame.bone(HumanoidBone::LeftUpperArm).unwrap() * Vec3::X;
        assert!(arm.y < -0.85 && arm.x > 0.49, "{arm}");
        let hips = frame.hips_position.unwrap();
        assert!(hips.x > 0.0 && hips.z < 0.0, "{hips}");
    }

    /// Agrees with Sony's own conversion into Unity: ours, taken on into Unity's axes, is
    /// `(−qx, qy, qz, −qw)` of what the phone sent.
    #[test]
    fn matches_sonys_unity_conversion() {
        let sent = Quat::from_xyzw(0.1, 0.3, -0.2, 0.9).normalize();
        let frame = retarget(10, sent);
        let unity = Axes::UNITY.rotation_to_source(frame.bone(HumanoidBone::Head).unwrap());
        let sony = Quat::from_xyzw(-sent.x, sent.y, sent.z, -sent.w);
        assert!(rotation_error_degrees(unity, sony) < 1e-3);
    }
}
