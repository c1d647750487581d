//! mocopi's 27-bone skeleton as data: names (Sony's), parents (the app's skeleton definition),
//! the humanoid bone each drives (Sony's own Unity map, `HUMAN_BONE_NAME_TO_MOCOPI_BONE_ID`),
//! and nominal rest offsets used until the phone's own skeleton definition arrives.

use glam::{Quat, Vec3};
use kagura_protocol::HumanoidBone::{self, *};
use kagura_skeleton::{SourceJoint, SourceSkeleton};

use super::convention::AXES;
use super::packet::{MAX_BONES, SkeletonBone};

/// One joint of mocopi's skeleton.
pub struct Joint {
    pub name: &'static str,
    pub parent: Option<usize>,
    pub bone: Option<HumanoidBone>,
    /// Nominal rest offset from the parent, metres, mocopi axes (T-pose, identity rotations).
    pub offset: [f32; 3],
}

const fn j(
    name: &'static str,
    parent: Option<usize>,
    bone: Option<HumanoidBone>,
    offset: [f32; 3],
) -> Joint {
    Joint {
        name,
        parent,
        bone,
        offset,
    }
}

/// The 27 bones, by id. Both shoulders hang from `torso_7`, both upper legs from the root;
/// `torso_1/2/4/7` and `neck_2` drive no humanoid bone and fold into the bone whose segment
/// they lie on.
pub const JOINTS: [Joint; 27] = [
    j("root", None, Some(Hips), [0.0, 0.93, 0.0]),
    j("torso_1", Some(0), None, [0.0, 0.05, 0.0]),
    j("torso_2", Some(1), None, [0.0, 0.05, 0.0]),
    j("torso_3", Some(2), Some(Spine), [0.0, 0.06, 0.0]),
    j("torso_4", Some(3), None, [0.0, 0.06, 0.0]),
    j("torso_5", Some(4), Some(Chest), [0.0, 0.06, 0.0]),
    j("torso_6", Some(5), Some(UpperChest), [0.0, 0.07, 0.0]),
    j("torso_7", Some(6), None, [0.0, 0.08, 0.0]),
    j("neck_1", Some(7), Some(Neck), [0.0, 0.05, 0.0]),
    j("neck_2", Some(8), None, [0.0, 0.05, 0.0]),
    j("head", Some(9), Some(Head), [0.0, 0.06, 0.0]),
    j("l_shoulder", Some(7), Some(LeftShoulder), [0.02, 0.0, 0.0]),
    j("l_up_arm", Some(11), Some(LeftUpperArm), [0.13, 0.0, 0.0]),
    j("l_low_arm", Some(12), Some(LeftLowerArm), [0.26, 0.0, 0.0]),
    j("l_hand", Some(13), Some(LeftHand), [0.24, 0.0, 0.0]),
    j(
        "r_shoulder",
        Some(7),
        Some(RightShoulder),
        [-0.02, 0.0, 0.0],
    ),
    j("r_up_arm", Some(15), Some(RightUpperArm), [-0.13, 0.0, 0.0]),
    j(
        "r_low_arm",
        Some(16),
        Some(RightLowerArm),
        [-0.26, 0.0, 0.0],
    ),
    j("r_hand", Some(17), Some(RightHand), [-0.24, 0.0, 0.0]),
    j("l_up_leg", Some(0), Some(LeftUpperLeg), [0.09, -0.05, 0.0]),
    j("l_low_leg", Some(19), Some(LeftLowerLeg), [0.0, -0.42, 0.0]),
    j("l_foot", Some(20), Some(LeftFoot), [0.0, -0.41, 0.0]),
    j("l_toes", Some(21), Some(LeftToes), [0.0, -0.05, 0.13]),
    j(
        "r_up_leg",
        Some(0),
        Some(RightUpperLeg),
        [-0.09, -0.05, 0.0],
    ),
    j(
        "r_low_leg",
        Some(23),
        Some(RightLowerLeg),
        [0.0, -0.42, 0.0],
    ),
    j("r_foot", Some(24), Some(RightFoot), [0.0, -0.41, 0.0]),
    j("r_toes", Some(25), Some(RightToes), [0.0, -0.05, 0.13]),
];

/// The nominal skeleton (before the phone's definition arrives).
pub fn nominal() -> SourceSkeleton {
    SourceSkeleton {
        joints: JOINTS
            .iter()
            .map(|joint| SourceJoint {
                name: joint.name.into(),
                parent: joint.parent,
                offset: Vec3::from(joint.offset),
                rest_rotation: Quat::IDENTITY,
                bone: joint.bone,
                duplicate_of: None,
                tip: None,
            })
            .collect(),
        axes: AXES,
    }
}

/// The skeleton a phone defined: its rest offsets and rotations on mocopi's bones. `None` when
/// it is not mocopi's 27-bone tree (a bone missing, parents other than the app's): the nominal
/// skeleton stays.
pub fn from_definition(bones: &[Option<SkeletonBone>; MAX_BONES]) -> Option<SourceSkeleton> {
    let mut skeleton = nominal();
    for (id, joint) in skeleton.joints.iter_mut().enumerate() {
        let bone = bones[id]?;
        if bone.parent.map(usize::from) != joint.parent {
            return None;
        }
        let rotation = bone.rest.rotation;
        if !(rotation.is_finite() && (rotation.length() - 1.0).abs() < 1e-2) {
            return None;
        }
        joint.offset = bone.rest.position;
        joint.rest_rotation = rotation.normalize();
    }
    if bones[JOINTS.len()..].iter().any(Option::is_some) {
        return None;
    }
    Some(skeleton)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skeleton_maps_every_required_bone_and_folds_the_rest() {
        let skeleton = nominal();
        skeleton.validate().unwrap();
        let report = skeleton.mapping_report();
        assert!(report.is_complete(), "{report}");
        assert_eq!(
            report.unmapped_joints,
            ["torso_1", "torso_2", "torso_4", "torso_7", "neck_2"]
        );
        let parents: Vec<i32> = JOINTS
            .iter()
            .map(|j| j.parent.map_or(-1, |p| p as i32))
            .collect();
        assert_eq!(parents, super::super::fixture::PARENTS);
        let hips = skeleton.rest_hips_height_m().unwrap();
        assert!((0.9..1.0).contains(&hips), "{hips}");
    }
}
