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
    /// The humanoid bone this joint drives, if any. An unmapped joint on the segment between a
    /// mapped joint and the next bone of its chain folds into that bone (a fourth spine joint
    /// into upperChest, `Neck1` into the neck); any other passes its rotation on to its children.
    pub bone: Option<HumanoidBone>,
    /// When `bone` is `None` only because an earlier joint already drives the bone this joint's
    /// name stands for (`LeftHand` below a `LeftWrist`): that bone. Reported, never driven twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<HumanoidBone>,
    /// Where a leaf joint's bone ends (BVH's End Site), relative to the joint, source axes and
    /// units: gives a leaf its rest direction.
    #[serde(default)]
    pub tip: Option<Vec3>,
}

/// What a source skeleton leaves out of the humanoid, for logs and `/api/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingReport {
    /// The VRM 1.0 required bones (hips, spine, head, upper/lower legs, feet, upper/lower arms,
    /// hands) that no joint drives, in wire order: on an avatar these stay at rest.
    pub missing_required: Vec<HumanoidBone>,
    /// The joints that drive no humanoid bone, in skeleton order (duplicates included).
    pub unmapped_joints: Vec<String>,
    /// The joints left unmapped because an earlier joint drives the bone their name stands for.
    pub duplicates: Vec<DuplicateJoint>,
}

/// A joint whose name stands for a bone that an earlier joint already drives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateJoint {
    pub joint: String,
    pub bone: HumanoidBone,
    /// The joint that drives `bone`.
    pub driven_by: String,
}

impl MappingReport {
    /// Every required bone is driven.
    pub fn is_complete(&self) -> bool {
        self.missing_required.is_empty()
    }
}

impl std::fmt::Display for MappingReport {
    /// One line for a log: `missing required bones: …; unmapped joints: …; duplicates: …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "none".to_string()
            } else {
                items.join(", ")
            }
        };
        write!(
            f,
            "missing required bones: {}; unmapped joints: {}; duplicates: {}",
            list(
                self.missing_required
                    .iter()
                    .map(|b| b.to_string())
                    .collect()
            ),
            list(self.unmapped_joints.clone()),
            list(
                self.duplicates
                    .iter()
                    .map(|d| format!("{} ({} is {})", d.joint, d.bone, d.driven_by))
                    .collect()
            ),
        )
    }
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
                duplicate_of: None,
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

    /// The VRM 1.0 required bones no joint drives, in wire order.
    pub fn missing_required_bones(&self) -> Vec<HumanoidBone> {
        HumanoidBone::ALL
            .into_iter()
            .filter(|b| b.is_required() && self.joint_of(*b).is_none())
            .collect()
    }

    /// The joints that drive no humanoid bone, in skeleton order.
    pub fn unmapped_joints(&self) -> Vec<&str> {
        self.joints
            .iter()
            .filter(|j| j.bone.is_none())
            .map(|j| j.name.as_str())
            .collect()
    }

    /// Which required bones are missing, which joints are unmapped, and which were duplicates.
    pub fn mapping_report(&self) -> MappingReport {
        MappingReport {
            missing_required: self.missing_required_bones(),
            unmapped_joints: self
                .unmapped_joints()
                .into_iter()
                .map(String::from)
                .collect(),
            duplicates: self
                .joints
                .iter()
                .filter(|j| j.bone.is_none())
                .filter_map(|j| {
                    let bone = j.duplicate_of?;
                    Some(DuplicateJoint {
                        joint: j.name.clone(),
                        bone,
                        driven_by: self.joints[self.joint_of(bone)?].name.clone(),
                    })
                })
                .collect(),
        }
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

    /// The hips joint's height above the origin in the rest pose, metres.
    pub fn rest_hips_height_m(&self) -> Option<f32> {
        let (_, positions) = self.rest_globals();
        let hips = self.joint_of(HumanoidBone::Hips)?;
        Some(self.axes.position(positions[hips]).y)
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
