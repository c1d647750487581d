//! Rokoko Studio's convention and its one conversion to Kagura's.
//!
//! Studio sends what Unity uses: left-handed, +Y up, metres, the actor facing +Z with their
//! left towards −X (Studio's T-pose frame has `leftUpperArm` at x = −0.22), and **world**
//! rotations whose T-pose values are Studio's own, not the identity. So: mirror X
//! (`Axes::UNITY`); world rotations become local ones through the skeleton's parents; the
//! T-pose rotations are the skeleton's rest rotations, which the retargeter takes out — as
//! Rokoko's Unity plugin does with `inv(SmartsuitTPose[b])`.

use kagura_skeleton::Axes;

/// Studio's axes and units: Unity's.
pub const AXES: Axes = Axes::UNITY;

#[cfg(test)]
mod tests {
    use super::super::skeleton::{self, JOINT_COUNT, JOINTS, joint_index};
    use glam::{Quat, Vec3};
    use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};
    use kagura_skeleton::{Retargeter, TargetBody};

    /// Studio's T-pose, with `world` (Unity axes) applied on top of the named joint and its
    /// descendants, as a real turn of that joint would.
    fn retarget(joint: &str, world: Quat) -> PoseFrame {
        let turned = joint_index(joint).unwrap();
        let below = |mut j: usize| loop {
            if j == turned {
                return true;
            }
            match JOINTS[j].parent {
                Some(p) => j = p,
                None => return false,
            }
        };
        let globals: [Option<Quat>; JOINT_COUNT] = std::array::from_fn(|j| {
            let rest = JOINTS[j].tpose_rotation;
            Some(if below(j) { world * rest } else { rest })
        });
        let mut retargeter = Retargeter::new(skeleton::studio(), &TargetBody::default()).unwrap();
        let mut frame = PoseFrame::new(PerformerId(0));
        let hips = Vec3::new(0.3, 0.9449, 0.1); // Unity: 0.3 m to the actor's right
        retargeter.retarget(&skeleton::locals(&globals), Some(hips), &mut frame);
        frame
    }

    #[test]
    fn studios_t_pose_is_the_rest_pose() {
        let frame = retarget("head", Quat::IDENTITY);
        for (bone, rotation) in frame.bones() {
            assert!(
                rotation_error_degrees(rotation, Quat::IDENTITY) < 0.5,
                "{bone}"
            );
        }
        assert_eq!(frame.bones().count(), 5 + 2 * 4 + 2 * 4 + 2 * 15);
    }

    /// +30° about Unity's up axis at the head (left-handed: +Z turns toward +X, the actor's
    /// right) turns the avatar's face to its own right (−X in glTF); the actor's hips 0.3 m
    /// to their right are at −0.3·scale on glTF's X.
    #[test]
    fn a_turn_about_studios_up_axis_turns_the_avatar_to_its_right() {
        let frame = retarget("head", Quat::from_rotation_y(30f32.to_radians()));
        let face = frame.bone(HumanoidBone::Head).unwrap() * Vec3::Z;
        assert!(face.x < -0.49 && face.z > 0.86, "{face}");
        assert!(frame.hips_position.unwrap().x < -0.2);
        // The left arm lowered: +60° about Unity's Z (the arm along −X turns towards −Y).
        let frame = retarget("leftUpperArm", Quat::from_rotation_z(60f32.to_radians()));
        let arm = frame.bone(HumanoidBone::LeftUpperArm).unwrap() * Vec3::X;
        assert!(arm.y < -0.85 && arm.x > 0.49, "{arm}");
    }
}
