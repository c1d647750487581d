use std::fmt::Write as _;

use glam::{EulerRot, Quat, Vec3};
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};
use proptest::prelude::*;

use super::*;
use crate::retarget::{Retargeter, TargetBody};

/// A generic-naming BVH whose rest pose is an A-pose: arms 45° down, hands continuing them.
/// Shared with the end-to-end playback test; its two motion frames are rest and the left arm
/// raised to horizontal.
const A_POSE: &str = include_str!("../../../../tests/data/a_pose.bvh");
/// The analytic rest correction of the A-pose: T-pose bone → rest bone, per humanoid bone.
fn a_pose_correction(bone: HumanoidBone) -> Quat {
    use HumanoidBone::*;
    match bone {
        LeftUpperArm | LeftLowerArm | LeftHand => Quat::from_rotation_z(-45f32.to_radians()),
        RightUpperArm | RightLowerArm | RightHand => Quat::from_rotation_z(45f32.to_radians()),
        _ => Quat::IDENTITY,
    }
}

/// BVH channel values (Z, X, Y degrees, composed Rz·Rx·Ry) for the joints' local rotations
/// that make the humanoid take `locals` (VRM normalized, by bone) — computed from the analytic
/// correction, independently of the retargeter.
fn motion_line(bvh: &Bvh, locals: &[(HumanoidBone, Quat)], hips: Vec3) -> String {
    let wanted = |bone: HumanoidBone| {
        locals
            .iter()
            .find(|(b, _)| *b == bone)
            .map_or(Quat::IDENTITY, |(_, q)| *q)
    };
    let joints = &bvh.skeleton.joints;
    // World orientation relative to the T-pose, then the source's global = W · A⁻¹ (the rest
    // globals are identity in BVH).
    let mut world: Vec<Quat> = Vec::new();
    let mut global: Vec<Quat> = Vec::new();
    let mut line = format!("{} {} {}", hips.x, hips.y, hips.z);
    for joint in joints {
        let bone = joint.bone.expect("every test joint is a humanoid bone");
        let parent_world = joint.parent.map_or(Quat::IDENTITY, |p| world[p]);
        let w = parent_world * wanted(bone);
        let g = w * a_pose_correction(bone).inverse();
        let local = joint.parent.map_or(g, |p| global[p].inverse() * g);
        world.push(w);
        global.push(g);
        let (z, x, y) = local.to_euler(EulerRot::ZXY);
        let _ = write!(
            line,
            " {} {} {}",
            z.to_degrees(),
            x.to_degrees(),
            y.to_degrees()
        );
    }
    line
}

fn rotation() -> impl Strategy<Value = Quat> {
    (-1.2f32..1.2, -1.2f32..1.2, -1.2f32..1.2)
        .prop_map(|(y, x, z)| Quat::from_euler(EulerRot::YXZ, y, x, z))
}

proptest! {
    /// Known humanoid rotations, written into an A-pose BVH by the analytic inverse, come back
    /// from parsing and retargeting within 0.1°.
    #[test]
    fn a_pose_bvh_retargets_to_the_expected_vrm_rotations(rotations in proptest::collection::vec(rotation(), 19)) {
        let bvh = parse_bvh(A_POSE, Axes::BVH_CENTIMETRES).unwrap();
        let bones: Vec<HumanoidBone> = bvh.skeleton.joints.iter().map(|j| j.bone.unwrap()).collect();
        prop_assert_eq!(bones.len(), 19);
        let locals: Vec<(HumanoidBone, Quat)> = bones.iter().copied().zip(rotations).collect();
        let hips = Vec3::new(3.0, 97.0, -2.0);
        let frame = bvh.frame(&motion_line(&bvh, &locals, hips)).unwrap();
        let mut retargeter = Retargeter::new(bvh.skeleton.clone(), &TargetBody::default()).unwrap();
        let mut pose = PoseFrame::new(PerformerId(0));
        retargeter.retarget(&frame.locals, frame.root_position, &mut pose);
        for (bone, want) in &locals {
            let err = rotation_error_degrees(pose.bone(*bone).unwrap(), *want);
            prop_assert!(err < 0.1, "{}: {}°", bone, err);
        }
        // Hips: centimetres to metres, scaled by the leg ratio (0.85 m avatar / 0.82 m source).
        let scale = 0.85 / 0.82;
        prop_assert!((pose.hips_position.unwrap() - hips * 0.01 * scale).length() < 1e-4);
    }

    /// Arbitrary text never panics the parser; arbitrary motion lines never panic a frame.
    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,400}", line in "[-0-9. eE]{0,200}") {
        let _ = parse_bvh(&text, Axes::BVH_CENTIMETRES);
        let bvh = parse_bvh(A_POSE, Axes::BVH_CENTIMETRES).unwrap();
        let _ = bvh.frame(&line);
    }
}

#[test]
fn rest_pose_is_an_a_pose_and_mutilated_headers_are_errors() {
    let bvh = parse_bvh(A_POSE, Axes::BVH_CENTIMETRES).unwrap();
    let rest = vec![Some(Quat::IDENTITY); bvh.skeleton.joints.len()];
    let mut retargeter = Retargeter::new(bvh.skeleton.clone(), &TargetBody::default()).unwrap();
    let mut pose = PoseFrame::new(PerformerId(0));
    retargeter.retarget(&rest, None, &mut pose);
    // At rest the humanoid's upper arm points 45° down, and the forearm continues it.
    let down = pose.bone(HumanoidBone::LeftUpperArm).unwrap() * Vec3::X;
    assert!(
        (down - Vec3::new(1.0, -1.0, 0.0).normalize()).length() < 1e-4,
        "{down}"
    );
    assert!(
        rotation_error_degrees(
            pose.bone(HumanoidBone::LeftLowerArm).unwrap(),
            Quat::IDENTITY
        ) < 1e-3
    );

    assert!(matches!(
        parse_bvh("HIERARCHY ROOT Hips { OFFSET 0 0", Axes::INTERNAL),
        Err(BvhError::Unexpected { .. })
    ));
    assert!(matches!(
        parse_bvh("HIERARCHY ROOT Hips { OFFSET 0 0 x", Axes::INTERNAL),
        Err(BvhError::BadNumber(_))
    ));
    let deep = format!(
        "HIERARCHY ROOT A {{ OFFSET 0 0 0 CHANNELS 0 {} ",
        "JOINT B { OFFSET 0 0 0 CHANNELS 0 ".repeat(200)
    );
    assert_eq!(
        parse_bvh(&deep, Axes::INTERNAL).err(),
        Some(BvhError::TooDeep)
    );
    assert!(matches!(
        bvh.frame("1 2 3"),
        Err(BvhError::WrongValueCount { .. })
    ));
}

#[test]
fn perception_neuron_mixamo_and_mocap_library_names() {
    use HumanoidBone::*;
    for (name, bone) in [
        ("Hips", Some(Hips)),
        ("Spine1", Some(Chest)),
        ("Spine3", None),
        ("mixamorig:LeftArm", Some(LeftUpperArm)),
        ("RightForeArm", Some(RightLowerArm)),
        ("LeftUpLeg", Some(LeftUpperLeg)),
        ("RightLeg", Some(RightLowerLeg)),
        ("LeftHandThumb1", Some(LeftThumbMetacarpal)),
        ("RightHandPinky3", Some(RightLittleDistal)),
        ("LeftInHandIndex", None),
        ("lShldr", Some(LeftUpperArm)),
        ("rThigh", Some(RightUpperLeg)),
        ("LeftToeBase", Some(LeftToes)),
    ] {
        assert_eq!(humanoid_bone_for(name), bone, "{name}");
    }
}
