//! The poses a performer holds to be calibrated, as normalized local rotations.

use glam::Quat;
use kagura_protocol::HumanoidBone;
use serde::{Deserialize, Serialize};

/// A calibration pose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferencePose {
    /// Arms straight out to the sides, palms down, standing straight, facing forward: the VRM
    /// rest pose (every local rotation identity).
    TPose,
    /// As the T-pose, but the upper arms 45° down.
    APose,
    /// Standing straight, facing forward, arms hanging at the sides (upper arms 90° down,
    /// palms in): SlimeVR's full-reset pose.
    Standing,
}

/// A-pose: how far the upper arms hang below horizontal, degrees.
pub const A_POSE_ARM_DROP_DEG: f32 = 45.0;

impl ReferencePose {
    /// The bone's normalized local rotation in this pose.
    pub fn local(self, bone: HumanoidBone) -> Quat {
        let drop = A_POSE_ARM_DROP_DEG.to_radians();
        match (self, bone) {
            (ReferencePose::APose, HumanoidBone::LeftUpperArm) => Quat::from_rotation_z(-drop),
            (ReferencePose::APose, HumanoidBone::RightUpperArm) => Quat::from_rotation_z(drop),
            (ReferencePose::Standing, HumanoidBone::LeftUpperArm) => {
                Quat::from_rotation_z(-std::f32::consts::FRAC_PI_2)
            }
            (ReferencePose::Standing, HumanoidBone::RightUpperArm) => {
                Quat::from_rotation_z(std::f32::consts::FRAC_PI_2)
            }
            _ => Quat::IDENTITY,
        }
    }

    /// The bone's orientation in the world (relative to the T-pose) in this pose.
    pub fn world(self, bone: HumanoidBone) -> Quat {
        let mut q = self.local(bone);
        let mut at = bone;
        while let Some(parent) = at.parent() {
            q = self.local(parent) * q;
            at = parent;
        }
        q
    }
}
