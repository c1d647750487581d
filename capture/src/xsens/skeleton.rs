//! MVN's 23 body segments as data: names, parents, the humanoid bone each drives, and nominal
//! T-pose offsets (MVN axes, metres) for the rest directions and the leg length.

use glam::{Quat, Vec3};
use kagura_protocol::HumanoidBone::{self, *};
use kagura_skeleton::{SourceJoint, SourceSkeleton};

use super::convention::AXES;

pub const SEGMENT_COUNT: usize = 23;

/// One segment: name, parent index (0-based), bone, offset from the parent.
pub struct Segment {
    pub name: &'static str,
    pub parent: Option<usize>,
    pub bone: Option<HumanoidBone>,
    pub offset: [f32; 3],
}

const fn s(
    name: &'static str,
    parent: Option<usize>,
    bone: Option<HumanoidBone>,
    offset: [f32; 3],
) -> Segment {
    Segment {
        name,
        parent,
        bone,
        offset,
    }
}

/// Index = segment id − 1. L3 drives no bone: it folds into the spine (L5); T12 is the chest
/// and T8, where the shoulders hang, the upper chest.
pub const SEGMENTS: [Segment; SEGMENT_COUNT] = [
    s("Pelvis", None, Some(Hips), [0.0, 0.0, 0.95]),
    s("L5", Some(0), Some(Spine), [0.0, 0.0, 0.10]),
    s("L3", Some(1), None, [0.0, 0.0, 0.10]),
    s("T12", Some(2), Some(Chest), [0.0, 0.0, 0.10]),
    s("T8", Some(3), Some(UpperChest), [0.0, 0.0, 0.10]),
    s("Neck", Some(4), Some(Neck), [0.0, 0.0, 0.20]),
    s("Head", Some(5), Some(Head), [0.0, 0.0, 0.10]),
    s(
        "RightShoulder",
        Some(4),
        Some(RightShoulder),
        [0.0, -0.03, 0.15],
    ),
    s(
        "RightUpperArm",
        Some(7),
        Some(RightUpperArm),
        [0.0, -0.15, 0.0],
    ),
    s(
        "RightForearm",
        Some(8),
        Some(RightLowerArm),
        [0.0, -0.28, 0.0],
    ),
    s("RightHand", Some(9), Some(RightHand), [0.0, -0.26, 0.0]),
    s(
        "LeftShoulder",
        Some(4),
        Some(LeftShoulder),
        [0.0, 0.03, 0.15],
    ),
    s(
        "LeftUpperArm",
        Some(11),
        Some(LeftUpperArm),
        [0.0, 0.15, 0.0],
    ),
    s(
        "LeftForearm",
        Some(12),
        Some(LeftLowerArm),
        [0.0, 0.28, 0.0],
    ),
    s("LeftHand", Some(13), Some(LeftHand), [0.0, 0.26, 0.0]),
    s(
        "RightUpperLeg",
        Some(0),
        Some(RightUpperLeg),
        [0.0, -0.09, 0.0],
    ),
    s(
        "RightLowerLeg",
        Some(15),
        Some(RightLowerLeg),
        [0.0, 0.0, -0.43],
    ),
    s("RightFoot", Some(16), Some(RightFoot), [0.0, 0.0, -0.42]),
    s("RightToe", Some(17), Some(RightToes), [0.14, 0.0, -0.08]),
    s(
        "LeftUpperLeg",
        Some(0),
        Some(LeftUpperLeg),
        [0.0, 0.09, 0.0],
    ),
    s(
        "LeftLowerLeg",
        Some(19),
        Some(LeftLowerLeg),
        [0.0, 0.0, -0.43],
    ),
    s("LeftFoot", Some(20), Some(LeftFoot), [0.0, 0.0, -0.42]),
    s("LeftToe", Some(21), Some(LeftToes), [0.14, 0.0, -0.08]),
];

/// The skeleton: identity rest rotations (MVN's T-pose), nominal offsets.
pub fn mvn() -> SourceSkeleton {
    SourceSkeleton {
        joints: SEGMENTS
            .iter()
            .map(|segment| SourceJoint {
                name: segment.name.into(),
                parent: segment.parent,
                offset: Vec3::from(segment.offset),
                rest_rotation: Quat::IDENTITY,
                bone: segment.bone,
                duplicate_of: None,
                tip: None,
            })
            .collect(),
        axes: AXES,
    }
}

/// Global orientations (MVN axes) → local ones, relative to the parent segment; a segment whose
/// parent was not sent is not either.
pub fn locals(globals: &[Option<Quat>; SEGMENT_COUNT]) -> [Option<Quat>; SEGMENT_COUNT] {
    std::array::from_fn(|i| {
        let global = globals[i]?;
        match SEGMENTS[i].parent {
            None => Some(global),
            Some(p) => Some((globals[p]?.inverse() * global).normalize()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_bone_is_driven() {
        let skeleton = mvn();
        skeleton.validate().unwrap();
        let report = skeleton.mapping_report();
        assert!(report.is_complete(), "{report}");
        assert_eq!(report.unmapped_joints, ["L3"]);
        let hips = skeleton.rest_hips_height_m().unwrap();
        assert!((0.9..1.0).contains(&hips), "{hips}");
    }
}
