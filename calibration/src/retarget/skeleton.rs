//! [`SourceSkeleton`]: a source's skeleton as data — joint names, hierarchy, rest offsets and
//! rotations, axes and units, and which humanoid bone each joint drives. New sources add a
//! description (or a naming table), not a new code path.

use glam::{Quat, Vec3};
use kagura_protocol::HumanoidBone;
use serde::{Deserialize, Serialize};

use super::axes::Axes;

/// One joint of a source skeleton.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceJoint {
    pub name: String,
    /// Index of the parent joint; parents come before their children.
    pub parent: Option<usize>,
    /// Position relative to the parent at rest, source axes and units.
    pub offset: Vec3,
    /// Local rotation at rest, source axes (identity for BVH and Unity's humanoid).
    pub rest_rotation: Quat,
    /// The humanoid bone this joint drives, if any. Unmapped joints still pass their rotation
    /// on to their children (e.g. a fourth spine joint folds into upperChest).
    pub bone: Option<HumanoidBone>,
    /// Where a leaf joint's bone ends (BVH's End Site), relative to the joint, source axes and
    /// units: gives a leaf its rest direction.
    #[serde(default)]
    pub tip: Option<Vec3>,
}

/// A source skeleton: joints in parent-first order, and the source's axes and units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceSkeleton {
    pub joints: Vec<SourceJoint>,
    pub axes: Axes,
}

impl SourceSkeleton {
    /// Unity's humanoid as VMC sends it: every VRM bone, identity rest rotations, a T-pose.
    /// Offsets are nominal (an average adult, metres); only the legs' length matters, for
    /// scaling the hips.
    pub fn unity_humanoid() -> SourceSkeleton {
        let nominal = |bone: HumanoidBone| -> Vec3 {
            use HumanoidBone::*;
            let side = if bone.vrm1_name().starts_with("left") {
                -1.0
            } else {
                1.0
            }; // Unity: left is −X
            match bone {
                Hips => Vec3::new(0.0, 0.95, 0.0),
                LeftUpperLeg | RightUpperLeg => Vec3::new(0.09 * side, -0.05, 0.0),
                LeftLowerLeg | RightLowerLeg => Vec3::new(0.0, -0.42, 0.0),
                LeftFoot | RightFoot => Vec3::new(0.0, -0.40, 0.0),
                Spine | Chest | UpperChest | Neck | Head => Vec3::new(0.0, 0.12, 0.0),
                _ => Vec3::new(0.1 * side, 0.0, 0.0),
            }
        };
        let joints = HumanoidBone::ALL
            .iter()
            .map(|bone| SourceJoint {
                name: bone.unity_name().into(),
                parent: bone.parent().map(HumanoidBone::index),
                offset: nominal(*bone),
                rest_rotation: Quat::IDENTITY,
                bone: Some(*bone),
                tip: None,
            })
            .collect();
        SourceSkeleton {
            joints,
            axes: Axes::UNITY,
        }
    }

    /// The joint that drives `bone`.
    pub fn joint_of(&self, bone: HumanoidBone) -> Option<usize> {
        self.joints.iter().position(|j| j.bone == Some(bone))
    }

    /// Rest global rotations (source axes) and positions (source units), per joint.
    pub fn rest_globals(&self) -> (Vec<Quat>, Vec<Vec3>) {
        let mut rotations: Vec<Quat> = Vec::with_capacity(self.joints.len());
        let mut positions: Vec<Vec3> = Vec::with_capacity(self.joints.len());
        for joint in &self.joints {
            let (parent_rotation, parent_position) = match joint.parent {
                Some(p) => (rotations[p], positions[p]),
                None => (Quat::IDENTITY, Vec3::ZERO),
            };
            positions.push(parent_position + parent_rotation * joint.offset);
            rotations.push(parent_rotation * joint.rest_rotation);
        }
        (rotations, positions)
    }

    /// Hip-to-ankle length at rest, metres: upper leg plus lower leg, the longer side.
    pub fn leg_length_m(&self) -> Option<f32> {
        let (_, positions) = self.rest_globals();
        let at = |bone| {
            self.joint_of(bone)
                .map(|j| self.axes.position(positions[j]))
        };
        let side = |upper, lower, foot| -> Option<f32> {
            let (u, l, f) = (at(upper)?, at(lower)?, at(foot)?);
            Some(u.distance(l) + l.distance(f))
        };
        use HumanoidBone::*;
        let left = side(LeftUpperLeg, LeftLowerLeg, LeftFoot);
        let right = side(RightUpperLeg, RightLowerLeg, RightFoot);
        left.into_iter().chain(right).reduce(f32::max)
    }

    /// Checks the structure: parents first, at most one joint per bone.
    pub fn validate(&self) -> Result<(), String> {
        for (i, joint) in self.joints.iter().enumerate() {
            if joint.parent.is_some_and(|p| p >= i) {
                return Err(format!("joint {:?} comes before its parent", joint.name));
            }
            if let Some(bone) = joint.bone
                && self.joints[..i].iter().any(|j| j.bone == Some(bone))
            {
                return Err(format!("two joints drive {bone}"));
            }
        }
        Ok(())
    }
}
