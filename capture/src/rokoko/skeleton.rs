//! Rokoko Studio's actor skeleton as data: 63 joints (23 body, 40 finger) by their JSON names,
//! parents, the humanoid bone each drives, and Studio's T-pose — world positions (m) and world
//! rotations (Unity axes) as Studio itself sends them in a T-pose frame
//! (`Rokoko/rokoko-studio-live-cinema4d:res/tposeStudio.json`). The right side is the left
//! mirrored (Studio's differs by 0.6 mm). Studio's T-pose rotations are not the identity (the
//! spine's is 180° about Z, the arms' ±120° about a diagonal), so rest rotations matter.

use std::sync::LazyLock;

use glam::{Quat, Vec3};
use kagura_protocol::HumanoidBone::{self, *};
use kagura_skeleton::{SourceJoint, SourceSkeleton};

use super::convention::AXES;

pub const JOINT_COUNT: usize = 63;

/// One joint: name, parent name, bone, T-pose world position and rotation (x, y, z, w).
#[derive(Clone, Debug)]
pub struct Joint {
    pub name: String,
    pub parent: Option<usize>,
    pub bone: Option<HumanoidBone>,
    pub tpose_position: Vec3,
    pub tpose_rotation: Quat,
}

type Row = (&'static str, &'static str, [f32; 3], [f32; 4]);

const CENTRE: [(Row, Option<HumanoidBone>); 5] = [
    (
        ("hip", "", [0.0, 0.9449, 0.023], [0.0, 0.0, 0.0, -1.0]),
        Some(Hips),
    ),
    (
        (
            "spine",
            "hip",
            [0.0, 1.0374, -0.02005],
            [0.0, 0.0, -1.0, 0.0],
        ),
        Some(Spine),
    ),
    (
        (
            "chest",
            "spine",
            [0.0, 1.20295, -0.01746],
            [0.0, 0.0, -1.0, 0.0],
        ),
        Some(Chest),
    ),
    (
        (
            "neck",
            "chest",
            [0.0, 1.56374, -0.01746],
            [0.0, 0.0, -1.0, 0.0],
        ),
        Some(Neck),
    ),
    (
        (
            "head",
            "neck",
            [0.0, 1.67771, -0.01746],
            [0.0, 0.0, -1.0, 0.0],
        ),
        Some(Head),
    ),
];

/// Studio sends 0.70711: √½ to five places.
const H: f32 = std::f32::consts::FRAC_1_SQRT_2;
const ARM: [f32; 4] = [-0.5, -0.5, 0.5, -0.5];
const THUMB: [f32; 4] = [-0.65328, -0.65328, 0.2706, -0.2706];

/// The left side; bones are named for the left.
const LEFT: [(Row, Option<HumanoidBone>); 29] = [
    (
        (
            "Shoulder",
            "chest",
            [-0.07649, 1.47839, 0.00341],
            [-0.0923, 0.0923, 0.70106, -0.70106],
        ),
        Some(LeftShoulder),
    ),
    (
        ("UpperArm", "Shoulder", [-0.21992, 1.47839, -0.03502], ARM),
        Some(LeftUpperArm),
    ),
    (
        ("LowerArm", "UpperArm", [-0.50451, 1.47839, -0.03502], ARM),
        Some(LeftLowerArm),
    ),
    (
        ("Hand", "LowerArm", [-0.81789, 1.47839, -0.03502], ARM),
        Some(LeftHand),
    ),
    (
        ("UpLeg", "hip", [-0.08864, 0.9449, 0.023], [0.0, H, 0.0, H]),
        Some(LeftUpperLeg),
    ),
    (
        ("Leg", "UpLeg", [-0.08864, 0.47385, 0.023], [0.0, H, 0.0, H]),
        Some(LeftLowerLeg),
    ),
    (
        ("Foot", "Leg", [-0.08932, 0.0017, 0.023], [0.0, H, -H, 0.0]),
        Some(LeftFoot),
    ),
    (
        (
            "Toe",
            "Foot",
            [-0.08932, -0.06624, 0.16641],
            [0.0, H, -H, 0.0],
        ),
        Some(LeftToes),
    ),
    (
        (
            "ToeEnd",
            "Toe",
            [-0.08932, -0.07993, 0.24749],
            [0.0, H, -H, 0.0],
        ),
        None,
    ),
    (
        (
            "ThumbProximal",
            "Hand",
            [-0.84086, 1.47726, -0.00423],
            [-0.56099, -0.70106, 0.43046, -0.0923],
        ),
        Some(LeftThumbMetacarpal),
    ),
    (
        (
            "ThumbMedial",
            "ThumbProximal",
            [-0.87859, 1.47726, 0.01755],
            THUMB,
        ),
        Some(LeftThumbProximal),
    ),
    (
        (
            "ThumbDistal",
            "ThumbMedial",
            [-0.91165, 1.47726, 0.01755],
            THUMB,
        ),
        Some(LeftThumbDistal),
    ),
    (
        (
            "ThumbTip",
            "ThumbDistal",
            [-0.94943, 1.47726, 0.01755],
            THUMB,
        ),
        None,
    ),
    (
        ("IndexProximal", "Hand", [-0.90681, 1.47726, -0.00677], ARM),
        Some(LeftIndexProximal),
    ),
    (
        (
            "IndexMedial",
            "IndexProximal",
            [-0.95795, 1.47726, -0.00677],
            ARM,
        ),
        Some(LeftIndexIntermediate),
    ),
    (
        (
            "IndexDistal",
            "IndexMedial",
            [-0.98942, 1.47726, -0.00677],
            ARM,
        ),
        Some(LeftIndexDistal),
    ),
    (
        (
            "IndexTip",
            "IndexDistal",
            [-1.02025, 1.47726, -0.00677],
            ARM,
        ),
        None,
    ),
    (
        ("MiddleProximal", "Hand", [-0.90779, 1.47726, -0.029], ARM),
        Some(LeftMiddleProximal),
    ),
    (
        (
            "MiddleMedial",
            "MiddleProximal",
            [-0.95975, 1.47726, -0.029],
            ARM,
        ),
        Some(LeftMiddleIntermediate),
    ),
    (
        (
            "MiddleDistal",
            "MiddleMedial",
            [-0.99402, 1.47726, -0.029],
            ARM,
        ),
        Some(LeftMiddleDistal),
    ),
    (
        (
            "MiddleTip",
            "MiddleDistal",
            [-1.02717, 1.47726, -0.029],
            ARM,
        ),
        None,
    ),
    (
        ("RingProximal", "Hand", [-0.90388, 1.47726, -0.05089], ARM),
        Some(LeftRingProximal),
    ),
    (
        (
            "RingMedial",
            "RingProximal",
            [-0.95292, 1.47726, -0.05089],
            ARM,
        ),
        Some(LeftRingIntermediate),
    ),
    (
        (
            "RingDistal",
            "RingMedial",
            [-0.98454, 1.47726, -0.05089],
            ARM,
        ),
        Some(LeftRingDistal),
    ),
    (
        ("RingTip", "RingDistal", [-1.01534, 1.47726, -0.05089], ARM),
        None,
    ),
    (
        ("LittleProximal", "Hand", [-0.89519, 1.47726, -0.06959], ARM),
        Some(LeftLittleProximal),
    ),
    (
        (
            "LittleMedial",
            "LittleProximal",
            [-0.93678, 1.47726, -0.06959],
            ARM,
        ),
        Some(LeftLittleIntermediate),
    ),
    (
        (
            "LittleDistal",
            "LittleMedial",
            [-0.96292, 1.47726, -0.06959],
            ARM,
        ),
        Some(LeftLittleDistal),
    ),
    (
        (
            "LittleTip",
            "LittleDistal",
            [-0.98954, 1.47726, -0.06959],
            ARM,
        ),
        None,
    ),
];

/// The right-hand bone of a left one.
fn mirror_bone(bone: HumanoidBone) -> HumanoidBone {
    let name = bone.vrm1_name();
    let right = format!("right{}", &name["left".len()..]);
    HumanoidBone::from_vrm1_name(&right).unwrap_or(bone)
}

/// The 63 joints, parents first: the centre, then the left side, then the right.
pub static JOINTS: LazyLock<Vec<Joint>> = LazyLock::new(|| {
    let mut joints: Vec<Joint> = Vec::with_capacity(JOINT_COUNT);
    let index = |joints: &[Joint], name: &str| joints.iter().position(|j| j.name == name);
    for ((name, parent, p, q), bone) in CENTRE {
        joints.push(Joint {
            name: name.into(),
            parent: index(&joints, parent),
            bone,
            tpose_position: Vec3::from(p),
            tpose_rotation: Quat::from_array(q),
        });
    }
    for side in ["left", "right"] {
        for ((name, parent, p, q), bone) in LEFT {
            let sided = |n: &str| match n {
                "hip" | "chest" => n.to_string(),
                _ => format!("{side}{n}"),
            };
            let (mut p, mut q, mut bone) = (Vec3::from(p), Quat::from_array(q), bone);
            if side == "right" {
                // Mirrored in the X = 0 plane: x → −x, and the rotation (x, −y, −z, w).
                p.x = -p.x;
                q = Quat::from_xyzw(q.x, -q.y, -q.z, q.w);
                bone = bone.map(mirror_bone);
            }
            let parent = index(&joints, &sided(parent));
            joints.push(Joint {
                name: sided(name),
                parent,
                bone,
                tpose_position: p,
                tpose_rotation: q.normalize(),
            });
        }
    }
    joints
});

/// The index of a joint by its JSON name.
pub fn joint_index(name: &str) -> Option<usize> {
    JOINTS.iter().position(|j| j.name == name)
}

/// The skeleton in Studio's T-pose: local rest rotations and offsets from the world ones.
/// Where a bone points in the ideal T-pose, Unity axes (left is −X): the spine up, legs down,
/// arms, hands and fingers sideways; `None` where the T-pose says nothing (head, feet, toes).
fn tpose_direction(bone: HumanoidBone) -> Option<Vec3> {
    match bone {
        Hips | Spine | Chest | UpperChest | Neck => Some(Vec3::Y),
        LeftUpperLeg | LeftLowerLeg | RightUpperLeg | RightLowerLeg => Some(Vec3::NEG_Y),
        Head | LeftFoot | RightFoot | LeftToes | RightToes => None,
        b if b.vrm1_name().starts_with("left") => Some(Vec3::NEG_X),
        _ => Some(Vec3::X),
    }
}

/// Studio's T-pose positions with every segment that runs roughly along its bone's ideal
/// T-pose direction (within 60°) made to run exactly along it, lengths kept: Studio's T-pose
/// *is* the calibration pose, so it must retarget to the avatar's rest pose, not to Studio's
/// lumbar curve (the hip-to-spine segment leans 25° back), shoulder slope (15°) or thumb
/// spread (30°), which the retargeter's rest correction would otherwise put into the bones.
fn ideal_tpose_positions() -> Vec<Vec3> {
    let mut positions: Vec<Vec3> = Vec::with_capacity(JOINTS.len());
    for joint in JOINTS.iter() {
        let Some(p) = joint.parent else {
            positions.push(joint.tpose_position);
            continue;
        };
        let mut offset = joint.tpose_position - JOINTS[p].tpose_position;
        if let Some(d) = JOINTS[p].bone.and_then(tpose_direction)
            && offset.dot(d) > 0.5 * offset.length()
        {
            offset = d * offset.length();
        }
        positions.push(positions[p] + offset);
    }
    positions
}

/// The skeleton in Studio's T-pose: local rest rotations and offsets from the world ones.
pub fn studio() -> SourceSkeleton {
    let positions = ideal_tpose_positions();
    let joints = JOINTS
        .iter()
        .enumerate()
        .map(|(i, joint)| {
            let (parent_position, parent_rotation) =
                joint.parent.map_or((Vec3::ZERO, Quat::IDENTITY), |p| {
                    (positions[p], JOINTS[p].tpose_rotation)
                });
            let inverse = parent_rotation.inverse();
            SourceJoint {
                name: joint.name.clone(),
                parent: joint.parent,
                offset: inverse * (positions[i] - parent_position),
                rest_rotation: (inverse * joint.tpose_rotation).normalize(),
                bone: joint.bone,
                duplicate_of: None,
                tip: None,
            }
        })
        .collect();
    SourceSkeleton { joints, axes: AXES }
}

/// World rotations (Unity axes) → local ones; a joint whose parent was not sent is not either.
pub fn locals(globals: &[Option<Quat>; JOINT_COUNT]) -> [Option<Quat>; JOINT_COUNT] {
    std::array::from_fn(|i| {
        let global = globals[i]?;
        match JOINTS[i].parent {
            None => Some(global),
            Some(p) => Some((globals[p]?.inverse() * global).normalize()),
        }
    })
}

/// The humanoid bone a Studio 2 newton's or character's joint drives, by its name: Unity's
/// humanoid names (`LeftUpperArm`), the actor's (`leftUpperArm`), and Studio 2's fingers
/// (`LeftFinger1Metacarpal` … `LeftFinger5Tip`, 1 the thumb).
pub fn bone_of_named_joint(name: &str) -> Option<HumanoidBone> {
    if let Some(bone) = HumanoidBone::from_unity_name(name) {
        return Some(bone);
    }
    if let Some(bone) = joint_index(name).and_then(|i| JOINTS[i].bone) {
        return Some(bone);
    }
    let (side, rest) = if let Some(rest) = name.strip_prefix("Left") {
        ("left", rest)
    } else {
        ("right", name.strip_prefix("Right")?)
    };
    let rest = rest.strip_prefix("Finger")?;
    let finger = rest.get(..1)?;
    let part = rest.get(1..)?;
    let vrm = match (finger, part) {
        ("1", "Metacarpal") => "ThumbMetacarpal",
        ("1", "Proximal") => "ThumbProximal",
        ("1", "Distal") => "ThumbDistal",
        (_, "Metacarpal" | "Tip") => return None,
        ("2", p) => return finger_bone(side, "Index", p),
        ("3", p) => return finger_bone(side, "Middle", p),
        ("4", p) => return finger_bone(side, "Ring", p),
        ("5", p) => return finger_bone(side, "Little", p),
        _ => return None,
    };
    HumanoidBone::from_vrm1_name(&format!("{side}{vrm}"))
}

fn finger_bone(side: &str, finger: &str, part: &str) -> Option<HumanoidBone> {
    let part = match part {
        "Proximal" => "Proximal",
        "Medial" | "Intermediate" => "Intermediate",
        "Distal" => "Distal",
        _ => return None,
    };
    HumanoidBone::from_vrm1_name(&format!("{side}{finger}{part}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::rotation_error_degrees;

    #[test]
    fn sixty_three_joints_map_every_required_bone_and_match_studios_right_side() {
        assert_eq!(JOINTS.len(), JOINT_COUNT);
        let skeleton = studio();
        skeleton.validate().unwrap();
        let report = skeleton.mapping_report();
        assert!(report.is_complete(), "{report}");
        assert_eq!(
            report.unmapped_joints.len(),
            2 + 10,
            "toe ends and fingertips"
        );
        // Studio's own right side, from its T-pose frame.
        let right_upper_arm = &JOINTS[joint_index("rightUpperArm").unwrap()];
        assert!(
            rotation_error_degrees(
                right_upper_arm.tpose_rotation,
                Quat::from_xyzw(0.5, -0.5, 0.5, 0.5)
            ) < 0.01
        );
        assert!((right_upper_arm.tpose_position.x - 0.22048).abs() < 1e-3);
        let thumb = &JOINTS[joint_index("rightThumbProximal").unwrap()];
        assert!(
            rotation_error_degrees(
                thumb.tpose_rotation,
                Quat::from_xyzw(0.56099, -0.70106, 0.43046, 0.0923)
            ) < 0.01
        );
        assert_eq!(thumb.bone, Some(RightThumbMetacarpal));
        assert_eq!(JOINTS[thumb.parent.unwrap()].name, "rightHand");
        let hips = skeleton.rest_hips_height_m().unwrap();
        assert!((hips - 0.9449).abs() < 1e-3, "{hips}");
    }

    #[test]
    fn newton_and_character_joint_names() {
        assert_eq!(bone_of_named_joint("LeftUpperArm"), Some(LeftUpperArm));
        assert_eq!(bone_of_named_joint("hip"), Some(Hips));
        assert_eq!(
            bone_of_named_joint("LeftFinger1Metacarpal"),
            Some(LeftThumbMetacarpal)
        );
        assert_eq!(
            bone_of_named_joint("RightFinger3Medial"),
            Some(RightMiddleIntermediate)
        );
        assert_eq!(bone_of_named_joint("RightFinger5Tip"), None);
        assert_eq!(bone_of_named_joint("LeftFinger2Metacarpal"), None);
        assert_eq!(bone_of_named_joint("Prop"), None);
    }
}
