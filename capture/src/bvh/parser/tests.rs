use std::fmt::Write as _;

use glam::{EulerRot, Quat, Vec3};
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};
use proptest::prelude::*;

use super::*;
use kagura_skeleton::{DuplicateJoint, Retargeter, TargetBody};

/// A generic-naming BVH whose rest pose is an A-pose: arms 45° down, hands continuing them.
/// Shared with the end-to-end playback test; its two motion frames are rest and the left arm
/// raised to horizontal.
const A_POSE: &str = include_str!("../../../../tests/data/a_pose.bvh");
/// Classic Biovision / Character Studio names as CMU's 3ds Max-friendly release writes them
/// (`LeftHip`, `LeftKnee`, `Chest`, `Chest2`, `LeftCollar`, `LeftShoulder`, `LeftElbow`,
/// `LeftWrist`), in a T-pose, centimetres; hand-made. Frames: rest; arms lowered 60°, left
/// thigh forward 30° and knee bent 45°; a step with the left elbow bent and the head turned.
const BIOVISION: &str = include_str!("biovision.bvh");
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

#[test]
fn a_single_name_reads_classic_biovision_names_too() {
    use HumanoidBone::*;
    for (name, bone) in [
        ("LeftHip", Some(LeftUpperLeg)),
        ("RightKnee", Some(RightLowerLeg)),
        ("LeftAnkle", Some(LeftFoot)),
        ("LeftCollar", Some(LeftShoulder)),
        ("RightElbow", Some(RightLowerArm)),
        ("LeftWrist", Some(LeftHand)),
        ("LeftFinger0", Some(LeftThumbMetacarpal)),
        ("LeftFinger12", Some(LeftIndexDistal)),
        ("RightFinger41", Some(RightLittleIntermediate)),
        ("RightFinger5", None),
        ("lMid1", Some(LeftMiddleProximal)),
        // On its own, a name reads the Neuron/Mixamo way.
        ("LeftShoulder", Some(LeftShoulder)),
        ("Chest", Some(Chest)),
        ("Chest2", Some(UpperChest)),
        ("Chest3", None),
        ("LHipJoint", None),
        ("LowerBack", None),
    ] {
        assert_eq!(humanoid_bone_for(name), bone, "{name}");
    }
}

/// The names the conventions disagree on are settled by the skeleton's other names.
#[test]
fn ambiguous_names_are_decided_per_skeleton() {
    use HumanoidBone::*;
    let check = |skeleton: &[(&str, Option<HumanoidBone>)]| {
        let names: Vec<&str> = skeleton.iter().map(|(n, _)| *n).collect();
        let bones = humanoid_bones_for(&names);
        for ((name, want), got) in skeleton.iter().zip(bones) {
            assert_eq!(got, *want, "{name} in {names:?}");
        }
    };
    // Biovision: the collar is the shoulder, the shoulder the upper arm, the hip the upper leg;
    // with no joint named as the spine, Chest is the spine.
    check(&[
        ("Hips", Some(Hips)),
        ("LeftHip", Some(LeftUpperLeg)),
        ("LeftKnee", Some(LeftLowerLeg)),
        ("LeftAnkle", Some(LeftFoot)),
        ("Chest", Some(Spine)),
        ("Chest2", Some(Chest)),
        ("LeftCollar", Some(LeftShoulder)),
        ("LeftShoulder", Some(LeftUpperArm)),
        ("LeftElbow", Some(LeftLowerArm)),
        ("LeftWrist", Some(LeftHand)),
        ("RightCollar", Some(RightShoulder)),
        ("RightShoulder", Some(RightUpperArm)),
        ("Neck", Some(Neck)),
        ("Head", Some(Head)),
    ]);
    // Character Studio's longest spine (Xsens writes four links): the last is the upper chest,
    // the third folds into the chest.
    check(&[
        ("Hips", Some(Hips)),
        ("Chest", Some(Spine)),
        ("Chest2", Some(Chest)),
        ("Chest3", None),
        ("Chest4", Some(UpperChest)),
        ("Neck", Some(Neck)),
    ]);
    // Perception Neuron / Axis and Mixamo: the shoulder before an arm is the clavicle.
    check(&[
        ("Hips", Some(Hips)),
        ("Spine", Some(Spine)),
        ("Spine1", Some(Chest)),
        ("Spine2", Some(UpperChest)),
        ("Spine3", None),
        ("LeftShoulder", Some(LeftShoulder)),
        ("LeftArm", Some(LeftUpperArm)),
        ("LeftForeArm", Some(LeftLowerArm)),
        ("mixamorig:RightShoulder", Some(RightShoulder)),
        ("mixamorig:RightArm", Some(RightUpperArm)),
    ]);
    // CMU's original release: pelvis joints before the upper legs stay unmapped.
    check(&[
        ("Hips", Some(Hips)),
        ("LHipJoint", None),
        ("LeftUpLeg", Some(LeftUpperLeg)),
        ("LeftHip", None),
        ("LowerBack", None),
        ("Spine", Some(Spine)),
        ("Neck1", None),
    ]);
    // A shoulder followed straight by an elbow is the upper arm; a Chest after a Spine is the
    // chest (Daz and generic rigs).
    check(&[
        ("hip", Some(Hips)),
        ("abdomen", Some(Spine)),
        ("chest", Some(Chest)),
        ("lShldr", Some(LeftUpperArm)),
        ("rShoulder", Some(RightUpperArm)),
        ("rElbow", Some(RightLowerArm)),
        ("lButtock", None),
        ("lThigh", Some(LeftUpperLeg)),
    ]);
}

/// Each mapped bone's humanoid world orientation: its normalized locals composed down the VRM
/// hierarchy (bones left absent stay at rest).
fn humanoid_world(pose: &PoseFrame, bone: HumanoidBone) -> Quat {
    let local = pose.bone(bone).unwrap_or(Quat::IDENTITY);
    match bone.parent() {
        Some(parent) => humanoid_world(pose, parent) * local,
        None => local,
    }
}

/// The source's global rotations for a frame (BVH: identity rest rotations).
fn source_globals(bvh: &Bvh, locals: &[Option<Quat>]) -> Vec<Quat> {
    let mut globals: Vec<Quat> = Vec::new();
    for (joint, local) in bvh.skeleton.joints.iter().zip(locals) {
        let parent = joint.parent.map_or(Quat::IDENTITY, |p| globals[p]);
        globals.push(parent * local.unwrap_or(Quat::IDENTITY));
    }
    globals
}

fn joint(bvh: &Bvh, name: &str) -> usize {
    bvh.skeleton
        .joints
        .iter()
        .position(|j| j.name == name)
        .unwrap_or_else(|| panic!("no joint {name}"))
}

/// A motion line setting the named joints' local rotations (every joint has Z Y X channels,
/// the root position first).
fn line_with(bvh: &Bvh, root: Vec3, rotations: &[(&str, Quat)]) -> String {
    let mut line = format!("{} {} {}", root.x, root.y, root.z);
    for joint in &bvh.skeleton.joints {
        let q = rotations
            .iter()
            .find(|(n, _)| *n == joint.name)
            .map_or(Quat::IDENTITY, |(_, q)| *q);
        let (z, y, x) = q.to_euler(EulerRot::ZYX);
        let _ = write!(
            line,
            " {} {} {}",
            z.to_degrees(),
            y.to_degrees(),
            x.to_degrees()
        );
    }
    line
}

/// Retargets one motion line; also returns the frame's local rotations.
fn retarget_line(bvh: &Bvh, line: &str) -> (PoseFrame, Vec<Option<Quat>>) {
    let frame = bvh.frame(line).unwrap();
    let mut retargeter = Retargeter::new(bvh.skeleton.clone(), &TargetBody::default()).unwrap();
    let mut pose = PoseFrame::new(PerformerId(0));
    retargeter.retarget(&frame.locals, frame.root_position, &mut pose);
    (pose, frame.locals)
}

fn skeleton_bvh(body: &str) -> Bvh {
    let rot = "CHANNELS 3 Zrotation Yrotation Xrotation";
    let text = format!(
        "HIERARCHY ROOT Hips {{ OFFSET 0 95 0 CHANNELS 6 Xposition Yposition Zposition \
         Zrotation Yrotation Xrotation {} }}",
        body.replace("ROT", rot)
    );
    parse_bvh(&text, Axes::BVH_CENTIMETRES).unwrap()
}

fn q(z: f32, y: f32, x: f32) -> Quat {
    Quat::from_euler(
        EulerRot::ZYX,
        z.to_radians(),
        y.to_radians(),
        x.to_radians(),
    )
}

/// Issue: classic Biovision names (CMU's 3ds Max-friendly release) mapped the collar and the
/// shoulder both to `leftShoulder` and the hips, knees, ankles, elbows and wrists to nothing,
/// so the arms and legs never moved.
#[test]
fn classic_biovision_bvh_moves_arms_and_legs() {
    use HumanoidBone::*;
    let bvh = parse_bvh(BIOVISION, Axes::BVH_CENTIMETRES).unwrap();
    let bone = |name: &str| bvh.skeleton.joints[joint(&bvh, name)].bone;
    for (name, want) in [
        ("Hips", Hips),
        ("LeftHip", LeftUpperLeg),
        ("LeftKnee", LeftLowerLeg),
        ("LeftAnkle", LeftFoot),
        ("LeftToe", LeftToes),
        ("RightHip", RightUpperLeg),
        ("Chest", Spine),
        ("Chest2", Chest),
        ("Neck", Neck),
        ("Head", Head),
        ("LeftCollar", LeftShoulder),
        ("LeftShoulder", LeftUpperArm),
        ("LeftElbow", LeftLowerArm),
        ("LeftWrist", LeftHand),
        ("RightCollar", RightShoulder),
        ("RightShoulder", RightUpperArm),
        ("RightElbow", RightLowerArm),
        ("RightWrist", RightHand),
    ] {
        assert_eq!(bone(name), Some(want), "{name}");
    }
    let report = bvh.skeleton.mapping_report();
    assert!(report.is_complete(), "{report}");
    assert!(report.unmapped_joints.is_empty(), "{report}");
    assert!(report.duplicates.is_empty(), "{report}");
    assert_eq!(bvh.motion.len(), 3);

    let mut retargeter = Retargeter::new(bvh.skeleton.clone(), &TargetBody::default()).unwrap();
    let mut pose = PoseFrame::new(PerformerId(0));
    let mut at = |line: &str| {
        let frame = bvh.frame(line).unwrap();
        retargeter.retarget(&frame.locals, frame.root_position, &mut pose);
        pose.clone()
    };
    let close = |got: Option<Quat>, want: Quat| {
        let got = got.expect("the bone is driven");
        rotation_error_degrees(got, want) < 0.1
    };
    // Rest is the T-pose: every bone at identity.
    let rest = at(&bvh.motion[0]);
    for bone in [
        LeftShoulder,
        LeftUpperArm,
        LeftLowerArm,
        LeftHand,
        LeftUpperLeg,
        Spine,
        Neck,
    ] {
        assert!(close(rest.bone(bone), Quat::IDENTITY), "{bone} at rest");
    }
    // Frame 1: the arms come down 60°, the left leg steps forward and bends.
    let moved = at(&bvh.motion[1]);
    let down = moved.bone(LeftUpperArm).unwrap() * Vec3::X;
    let expected = Vec3::new(60f32.to_radians().cos(), -60f32.to_radians().sin(), 0.0);
    assert!(
        (down - expected).length() < 1e-3,
        "left upper arm points {down}"
    );
    assert!(close(moved.bone(RightUpperArm), q(60.0, 0.0, 0.0)));
    assert!(close(moved.bone(LeftShoulder), Quat::IDENTITY));
    assert!(close(moved.bone(LeftUpperLeg), q(0.0, 0.0, -30.0)));
    assert!(close(moved.bone(LeftLowerLeg), q(0.0, 0.0, 45.0)));
    // Frame 2: the elbow, head, chest and right leg.
    let step = at(&bvh.motion[2]);
    assert!(close(step.bone(LeftLowerArm), q(0.0, 70.0, 0.0)));
    assert!(close(step.bone(Head), q(0.0, 30.0, 0.0)));
    assert!(close(step.bone(Chest), q(0.0, 0.0, 10.0)));
    assert!(close(step.bone(RightUpperLeg), q(0.0, 0.0, -25.0)));
    assert!(close(step.bone(RightLowerLeg), q(0.0, 0.0, 20.0)));
}

/// Issue: a `Neck1` bend turned up in the head instead of the neck. Unmapped joints on a
/// bone's segment fold into that bone, and the head keeps the source's world orientation.
#[test]
fn neck1_folds_into_the_neck_and_the_head_keeps_its_orientation() {
    use HumanoidBone::*;
    let bvh = skeleton_bvh(
        "JOINT Spine { OFFSET 0 10 0 ROT JOINT Neck { OFFSET 0 45 0 ROT \
         JOINT Neck1 { OFFSET 0 6 0 ROT JOINT Head { OFFSET 0 6 0 ROT \
         End Site { OFFSET 0 18 0 } } } } }",
    );
    assert_eq!(bvh.skeleton.unmapped_joints(), ["Neck1"]);
    let bend = q(20.0, -10.0, 15.0);
    let (pose, _) = retarget_line(&bvh, &line_with(&bvh, Vec3::ZERO, &[("Neck1", bend)]));
    let neck = pose.bone(Neck).unwrap();
    assert!(
        rotation_error_degrees(neck, bend) < 0.1,
        "the neck carries the bend"
    );
    let head = pose.bone(Head).unwrap();
    assert!(
        rotation_error_degrees(head, Quat::IDENTITY) < 0.1,
        "not the head"
    );

    // Every joint turned: each bone's world orientation is its segment's last joint's, so the
    // head's is the source head's.
    let rotations = [
        ("Hips", q(5.0, 30.0, -8.0)),
        ("Spine", q(-12.0, 4.0, 9.0)),
        ("Neck", q(7.0, -20.0, 11.0)),
        ("Neck1", bend),
        ("Head", q(-15.0, 25.0, -6.0)),
    ];
    let (pose, locals) = retarget_line(&bvh, &line_with(&bvh, Vec3::ZERO, &rotations));
    let globals = source_globals(&bvh, &locals);
    for (bone, driver) in [
        (Hips, "Hips"),
        (Spine, "Spine"),
        (Neck, "Neck1"),
        (Head, "Head"),
    ] {
        let err = rotation_error_degrees(humanoid_world(&pose, bone), globals[joint(&bvh, driver)]);
        assert!(err < 0.1, "{bone}: {err}°");
    }
}

/// A neck chain bent forward at rest: the rest correction spans the folded joint (the neck
/// points from the Neck joint to the Head joint), and the head still matches the source.
#[test]
fn the_rest_correction_spans_folded_joints() {
    use HumanoidBone::*;
    let bvh = skeleton_bvh(
        "JOINT Spine { OFFSET 0 10 0 ROT JOINT Neck { OFFSET 0 45 0 ROT \
         JOINT Neck1 { OFFSET 0 6 3 ROT JOINT Head { OFFSET 0 6 5 ROT \
         End Site { OFFSET 0 18 0 } } } } }",
    );
    let chord = Vec3::new(0.0, 12.0, 8.0).normalize();
    let (rest, _) = retarget_line(&bvh, &line_with(&bvh, Vec3::ZERO, &[]));
    let neck = humanoid_world(&rest, Neck) * Vec3::Y;
    assert!((neck - chord).length() < 1e-4, "the neck points {neck}");
    assert!(rotation_error_degrees(humanoid_world(&rest, Head), Quat::IDENTITY) < 0.1);

    let bend = q(0.0, 0.0, -25.0);
    let (pose, locals) = retarget_line(&bvh, &line_with(&bvh, Vec3::ZERO, &[("Neck1", bend)]));
    let neck = humanoid_world(&pose, Neck) * Vec3::Y;
    assert!(
        (neck - bend * chord).length() < 1e-4,
        "the neck carries the bend: {neck}"
    );
    let head = globals_of(&bvh, &locals, "Head");
    assert!(rotation_error_degrees(humanoid_world(&pose, Head), head) < 0.1);
}

fn globals_of(bvh: &Bvh, locals: &[Option<Quat>], name: &str) -> Quat {
    source_globals(bvh, locals)[joint(bvh, name)]
}

/// CMU's `LowerBack` folds into the hips (the segment from the hips to the spine), a fourth
/// Neuron spine joint into the upper chest, Character Studio's `Chest3` of four into the chest;
/// CMU's `LHipJoint`, off every segment, only passes its rotation on. Every bone's world
/// orientation stays the source's.
#[test]
fn lower_back_spine3_and_chest3_fold_into_the_bone_below() {
    use HumanoidBone::*;
    let leg = "JOINT LHipJoint { OFFSET 0 0 0 ROT JOINT LeftUpLeg { OFFSET 9 -5 0 ROT \
               JOINT LeftLeg { OFFSET 0 -42 0 ROT JOINT LeftFoot { OFFSET 0 -40 0 ROT \
               End Site { OFFSET 0 -5 12 } } } } }";
    let cmu_neuron = skeleton_bvh(&format!(
        "{leg} JOINT LowerBack {{ OFFSET 0 0 0 ROT JOINT Spine {{ OFFSET 0 10 0 ROT \
         JOINT Spine1 {{ OFFSET 0 10 0 ROT JOINT Spine2 {{ OFFSET 0 10 0 ROT \
         JOINT Spine3 {{ OFFSET 0 10 0 ROT JOINT Neck {{ OFFSET 0 10 0 ROT \
         JOINT Head {{ OFFSET 0 10 0 ROT End Site {{ OFFSET 0 18 0 }} }} }} \
         JOINT LeftShoulder {{ OFFSET 3 8 0 ROT JOINT LeftArm {{ OFFSET 12 0 0 ROT \
         JOINT LeftForeArm {{ OFFSET 28 0 0 ROT End Site {{ OFFSET 25 0 0 }} }} }} }} \
         }} }} }} }} }}"
    ));
    assert_eq!(
        cmu_neuron.skeleton.unmapped_joints(),
        ["LHipJoint", "LowerBack", "Spine3"]
    );
    let xsens = skeleton_bvh(
        "JOINT Chest { OFFSET 0 10 0 ROT JOINT Chest2 { OFFSET 0 10 0 ROT \
         JOINT Chest3 { OFFSET 0 10 0 ROT JOINT Chest4 { OFFSET 0 10 0 ROT \
         JOINT Neck { OFFSET 0 14 0 ROT JOINT Head { OFFSET 0 9 0 ROT \
         End Site { OFFSET 0 17 0 } } } \
         JOINT LeftCollar { OFFSET 3 8 0 ROT JOINT LeftShoulder { OFFSET 14 0 0 ROT \
         JOINT LeftElbow { OFFSET 30 0 0 ROT End Site { OFFSET 25 0 0 } } } } } } } }",
    );
    assert_eq!(xsens.skeleton.unmapped_joints(), ["Chest3"]);

    let cases: [(&Bvh, &[(HumanoidBone, &str)]); 2] = [
        (
            &cmu_neuron,
            &[
                (Hips, "LowerBack"),
                (LeftUpperLeg, "LeftUpLeg"),
                (LeftLowerLeg, "LeftLeg"),
                (Spine, "Spine"),
                (Chest, "Spine1"),
                (UpperChest, "Spine3"),
                (Neck, "Neck"),
                (Head, "Head"),
                (LeftShoulder, "LeftShoulder"),
                (LeftUpperArm, "LeftArm"),
                (LeftLowerArm, "LeftForeArm"),
            ],
        ),
        (
            &xsens,
            &[
                (Hips, "Hips"),
                (Spine, "Chest"),
                (Chest, "Chest3"),
                (UpperChest, "Chest4"),
                (Neck, "Neck"),
                (Head, "Head"),
                (LeftShoulder, "LeftCollar"),
                (LeftUpperArm, "LeftShoulder"),
                (LeftLowerArm, "LeftElbow"),
            ],
        ),
    ];
    for (bvh, drivers) in cases {
        // A different rotation for every joint.
        let rotations: Vec<(&str, Quat)> = bvh
            .skeleton
            .joints
            .iter()
            .enumerate()
            .map(|(i, j)| {
                let i = i as f32;
                (
                    j.name.as_str(),
                    q(7.0 * i - 20.0, 11.0 - 5.0 * i, 3.0 * i + 4.0),
                )
            })
            .collect();
        let (pose, locals) = retarget_line(bvh, &line_with(bvh, Vec3::ZERO, &rotations));
        for (bone, driver) in drivers {
            let err = rotation_error_degrees(
                humanoid_world(&pose, *bone),
                globals_of(bvh, &locals, driver),
            );
            assert!(err < 0.1, "{bone} should follow {driver}: {err}°");
        }
    }

    // Only the folded joint bends: the bone below carries exactly its rotation.
    let bend = q(10.0, -20.0, 30.0);
    for (bvh, folded, bone) in [
        (&cmu_neuron, "LowerBack", Hips),
        (&cmu_neuron, "Spine3", UpperChest),
        (&xsens, "Chest3", Chest),
    ] {
        let (pose, _) = retarget_line(bvh, &line_with(bvh, Vec3::ZERO, &[(folded, bend)]));
        let err = rotation_error_degrees(pose.bone(bone).unwrap(), bend);
        assert!(err < 0.1, "{bone} carries {folded}: {err}°");
        let child = HumanoidBone::ALL
            .into_iter()
            .find(|b| {
                b.parent() == Some(bone) && b.main_child().is_some() && pose.bone(*b).is_some()
            })
            .unwrap();
        let err = rotation_error_degrees(pose.bone(child).unwrap(), Quat::IDENTITY);
        assert!(err < 0.1, "{child} does not: {err}°");
    }
}

/// Required bones the names do not give, joints left unmapped, and joints whose bone another
/// joint already drives are reported, for the log and /api/status.
#[test]
fn missing_required_bones_and_unmapped_joints_are_reported() {
    use HumanoidBone::*;
    // No arms, a tail, and a hand below a wrist.
    let bvh = skeleton_bvh(
        "JOINT Tail { OFFSET 0 -2 -5 ROT End Site { OFFSET 0 0 -20 } } \
         JOINT Spine { OFFSET 0 10 0 ROT JOINT Head { OFFSET 0 50 0 ROT \
         End Site { OFFSET 0 18 0 } } } \
         JOINT LeftUpLeg { OFFSET 9 -5 0 ROT JOINT LeftLeg { OFFSET 0 -42 0 ROT \
         JOINT LeftFoot { OFFSET 0 -40 0 ROT End Site { OFFSET 0 -5 12 } } } } \
         JOINT RightUpLeg { OFFSET -9 -5 0 ROT JOINT RightLeg { OFFSET 0 -42 0 ROT \
         JOINT RightAnkle { OFFSET 0 -40 0 ROT JOINT RightFoot { OFFSET 0 -5 12 ROT \
         End Site { OFFSET 0 0 5 } } } } }",
    );
    let report = bvh.skeleton.mapping_report();
    assert_eq!(
        report.missing_required,
        [
            LeftUpperArm,
            LeftLowerArm,
            LeftHand,
            RightUpperArm,
            RightLowerArm,
            RightHand
        ]
    );
    assert_eq!(
        bvh.skeleton.missing_required_bones(),
        report.missing_required
    );
    assert!(!report.is_complete());
    assert_eq!(report.unmapped_joints, ["Tail", "RightFoot"]);
    assert_eq!(
        report.duplicates,
        [DuplicateJoint {
            joint: "RightFoot".into(),
            bone: RightFoot,
            driven_by: "RightAnkle".into(),
        }]
    );
    assert_eq!(
        report.to_string(),
        "missing required bones: leftUpperArm, leftLowerArm, leftHand, rightUpperArm, \
         rightLowerArm, rightHand; unmapped joints: Tail, RightFoot; duplicates: RightFoot \
         (rightFoot is RightAnkle)"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["missing_required"][0], "leftUpperArm");
    assert_eq!(json["duplicates"][0]["bone"], "rightFoot");

    // The classic sample and the A-pose sample are complete.
    for text in [BIOVISION, A_POSE] {
        let bvh = parse_bvh(text, Axes::BVH_CENTIMETRES).unwrap();
        assert!(bvh.skeleton.mapping_report().is_complete());
    }
}
