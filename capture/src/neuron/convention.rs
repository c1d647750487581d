//! Axis' BVH convention and its one conversion to Kagura's.
//!
//! Axis broadcasts BVH motion values: right-handed, +Y up, the performer facing +Z with their
//! left on +X (the exports' toes point +Z and `LeftArm` lies on +X), centimetres, Euler angles
//! in degrees. The axes are already the internal ones, so the conversion is the unit (cm → m,
//! [`AXES`], which the retargeter applies to the hips and this module to the reference node)
//! and the Euler angles: the channels' order is the rotation's composition order, outermost
//! first (`Yrotation Xrotation Zrotation` is Ry·Rx·Rz: intrinsic Y, then X, then Z), as the BVH
//! readers in `bvh::parser` and the public Axis receivers compose them.

use glam::{Quat, Vec3};
use kagura_skeleton::Axes;

/// Axis' space: BVH axes (the internal ones), centimetres.
pub const AXES: Axes = Axes::BVH_CENTIMETRES;

/// The order a joint's three rotation channels arrive in, which is the order they compose in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationOrder {
    /// Axis indices (0 X, 1 Y, 2 Z), outermost first.
    axes: [usize; 3],
}

impl RotationOrder {
    /// Axis' default and every public example's: `Yrotation Xrotation Zrotation`.
    pub const YXZ: RotationOrder = RotationOrder { axes: [1, 0, 2] };

    /// An order from three distinct axis indices (0 X, 1 Y, 2 Z).
    pub fn from_axes(axes: [usize; 3]) -> Option<RotationOrder> {
        let distinct = axes[0] != axes[1] && axes[1] != axes[2] && axes[0] != axes[2];
        (distinct && axes.iter().all(|a| *a < 3)).then_some(RotationOrder { axes })
    }

    /// `"YXZ"`.
    pub fn name(&self) -> String {
        self.axes.iter().map(|a| ['X', 'Y', 'Z'][*a]).collect()
    }
}

/// A joint's three rotation values (degrees, in channel order) → its local rotation, BVH axes
/// (= internal axes).
pub fn rotation(order: RotationOrder, degrees: [f32; 3]) -> Quat {
    let mut q = Quat::IDENTITY;
    for (axis, angle) in order.axes.iter().zip(degrees) {
        let radians = angle.to_radians();
        q *= match axis {
            0 => Quat::from_rotation_x(radians),
            1 => Quat::from_rotation_y(radians),
            _ => Quat::from_rotation_z(radians),
        };
    }
    q.normalize()
}

/// A position in Axis' centimetres → metres, internal axes.
pub fn position(centimetres: Vec3) -> Vec3 {
    AXES.position(centimetres)
}

#[cfg(test)]
mod tests {
    use glam::EulerRot;
    use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};
    use kagura_skeleton::{Retargeter, TargetBody};

    use super::*;
    use crate::neuron::skeleton::BroadcastSkeleton;

    /// The humanoid pose of the Axis Neuron skeleton with `joint` at `degrees` (Y, X, Z), every
    /// other joint at rest.
    fn pose_with(joint: &str, degrees: [f32; 3]) -> (PoseFrame, Retargeter) {
        let broadcast = BroadcastSkeleton::axis_neuron();
        let index = broadcast
            .skeleton
            .joints
            .iter()
            .position(|j| j.name == joint)
            .unwrap();
        let mut locals = vec![Some(Quat::IDENTITY); broadcast.joint_count()];
        locals[index] = Some(rotation(broadcast.rotation_orders[index], degrees));
        let hips = broadcast.skeleton.joints[0].offset;
        let mut retargeter =
            Retargeter::new(broadcast.skeleton.clone(), &TargetBody::default()).unwrap();
        let mut frame = PoseFrame::new(PerformerId(0));
        retargeter.retarget(&locals, Some(hips), &mut frame);
        (frame, retargeter)
    }

    /// Pins the conversion: +30° about BVH +Y on the hips turns the avatar's facing (+Z)
    /// towards +X, its own left (a right-handed turn about up, seen from above:
    /// counter-clockwise); on `LeftArm` it swings the left arm (+X in the T-pose) back, to −Z;
    /// Euler channels compose in their listed order; centimetres become metres.
    #[test]
    fn thirty_degrees_about_bvh_y_turns_the_humanoid_to_its_left() {
        let (frame, _) = pose_with("Hips", [30.0, 0.0, 0.0]);
        let facing = frame.bone(HumanoidBone::Hips).unwrap() * Vec3::Z;
        let half = 30f32.to_radians();
        assert!(
            (facing - Vec3::new(half.sin(), 0.0, half.cos())).length() < 1e-4,
            "{facing}"
        );

        let (frame, _) = pose_with("LeftArm", [30.0, 0.0, 0.0]);
        let arm = frame.bone(HumanoidBone::LeftUpperArm).unwrap() * Vec3::X;
        assert!(
            (arm - Vec3::new(half.cos(), 0.0, -half.sin())).length() < 1e-4,
            "{arm}"
        );
        // The rest of the body stays at rest.
        let chest = frame.bone(HumanoidBone::UpperChest).unwrap();
        assert!(rotation_error_degrees(chest, Quat::IDENTITY) < 1e-3);

        // Order: Y X Z values compose as Ry·Rx·Rz, intrinsic — what glam calls EulerRot::YXZ.
        let (y, x, z) = (40f32, -25f32, 70f32);
        let expected = Quat::from_euler(
            EulerRot::YXZ,
            y.to_radians(),
            x.to_radians(),
            z.to_radians(),
        );
        let got = rotation(RotationOrder::YXZ, [y, x, z]);
        assert!(rotation_error_degrees(got, expected) < 1e-3);
        let zxy = RotationOrder::from_axes([2, 0, 1]).unwrap();
        assert_eq!(zxy.name(), "ZXY");
        let expected = Quat::from_euler(
            EulerRot::ZXY,
            z.to_radians(),
            x.to_radians(),
            y.to_radians(),
        );
        assert!(rotation_error_degrees(rotation(zxy, [z, x, y]), expected) < 1e-3);

        // Units: the hips' 95.32 cm rest height is 0.9532 m before the leg-length scale.
        let (frame, retargeter) = pose_with("Hips", [0.0, 0.0, 0.0]);
        let hips = frame.hips_position.unwrap() / retargeter.hips_scale();
        assert!(
            (hips - Vec3::new(0.0, 0.9532, 0.0)).length() < 1e-5,
            "{hips}"
        );
        assert_eq!(
            position(Vec3::new(100.0, -50.0, 2.0)),
            Vec3::new(1.0, -0.5, 0.02)
        );
    }
}
