//! The mannequin's rest pose: where each humanoid bone's joint sits, in metres, in glTF space
//! (+Y up, facing +Z, left hand towards +X), as a T-pose with no local rotations.

use glam::Vec3;
use kagura_protocol::HumanoidBone::{self, *};

/// The joint position of `bone` in model space at rest.
pub fn joint_position(bone: HumanoidBone) -> Vec3 {
    let (x, y, z) = match bone {
        Hips => (0.0, 0.95, 0.0),
        Spine => (0.0, 1.05, 0.0),
        Chest => (0.0, 1.17, 0.0),
        UpperChest => (0.0, 1.29, 0.0),
        Neck => (0.0, 1.45, 0.0),
        Head => (0.0, 1.53, 0.0),
        LeftEye => (0.035, 1.655, 0.09),
        RightEye => (-0.035, 1.655, 0.09),
        Jaw => (0.0, 1.58, 0.03),
        LeftUpperLeg => (0.09, 0.90, 0.0),
        LeftLowerLeg => (0.09, 0.50, 0.0),
        LeftFoot => (0.09, 0.08, 0.0),
        LeftToes => (0.09, 0.02, 0.11),
        LeftShoulder => (0.04, 1.40, 0.0),
        LeftUpperArm => (0.17, 1.40, 0.0),
        LeftLowerArm => (0.44, 1.40, 0.0),
        LeftHand => (0.69, 1.40, 0.0),
        LeftThumbMetacarpal => (0.71, 1.39, 0.025),
        LeftThumbProximal => (0.745, 1.385, 0.045),
        LeftThumbDistal => (0.775, 1.38, 0.06),
        LeftIndexProximal => (0.78, 1.40, 0.027),
        LeftIndexIntermediate => (0.82, 1.40, 0.027),
        LeftIndexDistal => (0.845, 1.40, 0.027),
        LeftMiddleProximal => (0.785, 1.40, 0.008),
        LeftMiddleIntermediate => (0.83, 1.40, 0.008),
        LeftMiddleDistal => (0.858, 1.40, 0.008),
        LeftRingProximal => (0.78, 1.40, -0.011),
        LeftRingIntermediate => (0.82, 1.40, -0.011),
        LeftRingDistal => (0.846, 1.40, -0.011),
        LeftLittleProximal => (0.77, 1.40, -0.029),
        LeftLittleIntermediate => (0.80, 1.40, -0.029),
        LeftLittleDistal => (0.82, 1.40, -0.029),
        // The right side mirrors the left across x = 0.
        right => {
            let p = joint_position(mirror(right));
            (-p.x, p.y, p.z)
        }
    };
    Vec3::new(x, y, z)
}

/// The same bone on the other side (`Hips` and other central bones map to themselves).
pub fn mirror(bone: HumanoidBone) -> HumanoidBone {
    let name = bone.vrm1_name();
    let swapped = if let Some(rest) = name.strip_prefix("left") {
        format!("right{rest}")
    } else if let Some(rest) = name.strip_prefix("right") {
        format!("left{rest}")
    } else {
        return bone;
    };
    HumanoidBone::from_vrm1_name(&swapped).unwrap_or(bone)
}

/// Where the bone's segment ends: its main child's joint, or a fixed reach for leaf bones.
pub fn segment_end(bone: HumanoidBone) -> Vec3 {
    if let Some(child) = bone.main_child() {
        return joint_position(child);
    }
    let p = joint_position(bone);
    let reach = match bone {
        Head => Vec3::new(0.0, 0.24, 0.0),
        LeftToes | RightToes => Vec3::new(0.0, 0.0, 0.05),
        LeftEye | RightEye | Jaw => Vec3::ZERO,
        b if b.vrm1_name().starts_with("left") => Vec3::new(0.022, -0.002, 0.006),
        _ => Vec3::new(-0.022, -0.002, 0.006),
    };
    p + reach
}
