//! The encoder's datagrams read back with rosc's decoder (not Kagura's OSC reader).

use glam::{EulerRot, Quat, Vec3};
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame, RootTransform};
use rosc::{OscPacket, OscType};

use super::*;
use crate::vmc::unity::{position_from_unity, rotation_from_unity};

/// Every bone, root, hips and all 70 expressions, each with its own value.
fn full_frame() -> PoseFrame {
    let mut f = PoseFrame::new(PerformerId(0));
    f.root = Some(RootTransform {
        position: Vec3::new(0.3, 0.0, -0.2),
        rotation: Quat::from_rotation_y(0.4),
    });
    f.hips_position = Some(Vec3::new(0.05, 0.93, 0.02));
    for (i, bone) in HumanoidBone::ALL.into_iter().enumerate() {
        let k = i as f32;
        f.set_bone(
            bone,
            Quat::from_euler(EulerRot::YXZ, k.sin() * 0.8, k.cos() * 0.5, 0.01 * k),
        );
    }
    for (i, expression) in Expression::ALL.into_iter().enumerate() {
        f.set_expression(expression, (i as f32 + 1.0) / 100.0);
    }
    f
}

/// A decoded message: address and arguments.
#[derive(Debug)]
struct Message {
    addr: String,
    args: Vec<OscType>,
}

/// Every message of every datagram in order, and per datagram its messages' addresses.
fn decode(datagrams: &[Vec<u8>]) -> (Vec<Message>, Vec<Vec<String>>) {
    fn walk(packet: OscPacket, out: &mut Vec<Message>) {
        match packet {
            OscPacket::Message(m) => out.push(Message {
                addr: m.addr,
                args: m.args,
            }),
            OscPacket::Bundle(b) => b.content.into_iter().for_each(|p| walk(p, out)),
        }
    }
    let mut all = Vec::new();
    let mut per_datagram = Vec::new();
    for d in datagrams {
        let (rest, packet) = rosc::decoder::decode_udp(d).expect("valid OSC");
        assert!(rest.is_empty());
        let mut messages = Vec::new();
        walk(packet, &mut messages);
        per_datagram.push(messages.iter().map(|m| m.addr.clone()).collect());
        all.extend(messages);
    }
    (all, per_datagram)
}

fn name_of(m: &Message) -> &str {
    match &m.args[0] {
        OscType::String(s) => s,
        other => panic!("{} starts with {other:?}", m.addr),
    }
}

fn floats(m: &Message) -> Vec<f32> {
    m.args
        .iter()
        .filter_map(|a| match a {
            OscType::Float(f) => Some(*f),
            _ => None,
        })
        .collect()
}

fn blendshapes(frame: &PoseFrame, names: VmcNames) -> Vec<(String, f32)> {
    let (messages, _) = decode(&encode_vmc_frame_named(frame, names, 1.5));
    messages
        .iter()
        .filter(|m| m.addr == "/VMC/Ext/Blend/Val")
        .map(|m| (name_of(m).to_string(), floats(m)[0]))
        .collect()
}

#[test]
fn each_mode_sends_its_own_names_with_their_weights() {
    let frame = full_frame();
    let weight = |e: Expression| frame.expression(e).unwrap();

    let vrm0 = blendshapes(&frame, VmcNames::Vrm0);
    let expected: Vec<(String, f32)> = Expression::ALL
        .into_iter()
        .filter_map(|e| Some((e.vrm0_name()?.to_string(), weight(e))))
        .collect();
    assert_eq!(vrm0, expected);
    for name in ["A", "Blink_L", "Blink_R", "Joy", "Sorrow", "Fun", "Neutral"] {
        assert!(vrm0.iter().any(|(n, _)| n == name), "{name} missing");
    }
    assert!(vrm0.iter().all(|(n, _)| n != "surprised" && n != "jawOpen"));
    let a = vrm0.iter().find(|(n, _)| n == "A").unwrap().1;
    assert_eq!(a, weight(Expression::Aa));

    let vrm1 = blendshapes(&frame, VmcNames::Vrm1);
    let expected: Vec<(String, f32)> = Expression::ALL[..Expression::VRM_PRESET_COUNT]
        .iter()
        .map(|e| (e.name().to_string(), weight(*e)))
        .collect();
    assert_eq!(vrm1, expected);
    assert!(vrm1.iter().any(|(n, _)| n == "blinkLeft"));

    let arkit = blendshapes(&frame, VmcNames::Arkit);
    let expected: Vec<(String, f32)> = Expression::ALL[Expression::VRM_PRESET_COUNT..]
        .iter()
        .map(|e| (e.name().to_string(), weight(*e)))
        .collect();
    assert_eq!(arkit, expected);
    assert_eq!(arkit.len(), Expression::ARKIT_COUNT);

    let all = blendshapes(&frame, VmcNames::All);
    assert_eq!(all.len(), Expression::COUNT);
    assert!(all.iter().any(|(n, _)| n == "Joy"));
    assert!(all.iter().any(|(n, _)| n == "surprised"));
    assert!(all.iter().any(|(n, _)| n == "mouthSmileLeft"));
    assert!(all.iter().all(|(n, _)| n != "happy"));
}

#[test]
fn bones_go_out_under_unity_names_in_unity_space() {
    let frame = full_frame();
    let (messages, _) = decode(&encode_vmc_frame_named(&frame, VmcNames::Vrm0, 0.0));
    let bones: Vec<&Message> = messages
        .iter()
        .filter(|m| m.addr == "/VMC/Ext/Bone/Pos")
        .collect();
    assert_eq!(bones.len(), HumanoidBone::COUNT);
    for (m, bone) in bones.iter().zip(HumanoidBone::ALL) {
        assert_eq!(name_of(m), bone.unity_name());
        let f = floats(m);
        let q = rotation_from_unity(Quat::from_xyzw(f[3], f[4], f[5], f[6]));
        let sent = frame.bone(bone).unwrap();
        assert!(q.dot(sent).abs() > 1.0 - 1e-6, "{bone}");
        let p = position_from_unity(Vec3::new(f[0], f[1], f[2]));
        let expected = match bone {
            HumanoidBone::Hips => frame.hips_position.unwrap(),
            _ => Vec3::ZERO,
        };
        assert!((p - expected).length() < 1e-6, "{bone}: {p}");
    }
    // The thumbs: VRM 1.0 metacarpal/proximal/distal are Unity's proximal/intermediate/distal.
    let names: Vec<&str> = bones.iter().map(|m| name_of(m)).collect();
    for (vrm1, unity) in [
        (HumanoidBone::LeftThumbMetacarpal, "LeftThumbProximal"),
        (HumanoidBone::LeftThumbProximal, "LeftThumbIntermediate"),
        (HumanoidBone::RightThumbDistal, "RightThumbDistal"),
    ] {
        let at = HumanoidBone::ALL.iter().position(|b| *b == vrm1).unwrap();
        assert_eq!(names[at], unity);
    }
    assert!(!names.iter().any(|n| n.contains("Metacarpal")));
    // Root: position mirrored in X, rotation (x, −y, −z, w).
    let root = messages
        .iter()
        .find(|m| m.addr == "/VMC/Ext/Root/Pos")
        .unwrap();
    assert_eq!(name_of(root), "root");
    let f = floats(root);
    let sent = frame.root.unwrap();
    assert!((Vec3::new(-f[0], f[1], f[2]) - sent.position).length() < 1e-6);
    let q = Quat::from_xyzw(f[3], -f[4], -f[5], f[6]);
    assert!(q.dot(sent.rotation).abs() > 1.0 - 1e-6);
}

/// Bone bundles, then blendshapes ending in `Apply`, then the root bundle with `OK` and `T`
/// last; every datagram within 1,200 bytes — for full frames in every mode and for partial ones.
#[test]
fn frames_go_out_in_the_vmc_apps_order_in_datagrams_of_at_most_1200_bytes() {
    let full = full_frame();
    let mut face_only = PoseFrame::new(PerformerId(0));
    face_only.set_bone(HumanoidBone::Head, Quat::from_rotation_x(0.2));
    face_only.set_bone(HumanoidBone::Neck, Quat::from_rotation_x(0.1));
    face_only.set_expression(Expression::JawOpen, 0.4);
    // 51 bones: 3 full bundles and 12 leftover bones.
    let mut many_leftover = full_frame();
    for bone in &HumanoidBone::ALL[..4] {
        many_leftover.clear_bone(*bone);
    }
    let mut empty = PoseFrame::new(PerformerId(0));
    empty.seq = 1;

    for (frame, label) in [
        (&full, "full"),
        (&face_only, "face only"),
        (&many_leftover, "51 bones"),
        (&empty, "empty"),
    ] {
        for names in [
            VmcNames::Vrm0,
            VmcNames::Vrm1,
            VmcNames::Arkit,
            VmcNames::All,
        ] {
            let datagrams = encode_vmc_frame_named(frame, names, 2.0);
            for d in &datagrams {
                assert!(
                    d.len() <= MAX_VMC_DATAGRAM,
                    "{label} {names:?}: {}",
                    d.len()
                );
            }
            let (messages, per_datagram) = decode(&datagrams);
            // Phases: 0 bones, 1 blendshapes, 2 Apply, 3 root, then leftover bones, 4 OK, 5 T.
            let mut phase = 0;
            let mut bones = 0;
            let mut blends = 0;
            for m in &messages {
                let next = match m.addr.as_str() {
                    "/VMC/Ext/Bone/Pos" if phase <= 0 => 0,
                    "/VMC/Ext/Bone/Pos" if phase == 3 => 3,
                    "/VMC/Ext/Blend/Val" => 1,
                    "/VMC/Ext/Blend/Apply" => 2,
                    "/VMC/Ext/Root/Pos" => 3,
                    "/VMC/Ext/OK" => 4,
                    "/VMC/Ext/T" => 5,
                    other => panic!("{label}: {other} in phase {phase}"),
                };
                assert!(
                    next >= phase,
                    "{label} {names:?}: {} after phase {phase}",
                    m.addr
                );
                phase = next;
                bones += usize::from(m.addr == "/VMC/Ext/Bone/Pos");
                blends += usize::from(m.addr == "/VMC/Ext/Blend/Val");
            }
            assert_eq!(phase, 5, "{label}: T ends the frame");
            assert_eq!(bones, frame.bones().count(), "{label}");
            let expected_blends = frame
                .expressions()
                .filter(|(e, _)| names.name(*e).is_some())
                .count();
            assert_eq!(blends, expected_blends, "{label} {names:?}");
            // Apply closes the last blendshape datagram; the root datagram ends with OK, T.
            let apply_at = per_datagram
                .iter()
                .position(|d| d.iter().any(|a| a == "/VMC/Ext/Blend/Apply"))
                .unwrap();
            assert_eq!(
                per_datagram[apply_at].last().unwrap(),
                "/VMC/Ext/Blend/Apply"
            );
            assert_eq!(apply_at, per_datagram.len() - 2, "{label}");
            let root = per_datagram.last().unwrap();
            assert_eq!(root[0], "/VMC/Ext/Root/Pos");
            assert_eq!(&root[root.len() - 2..], ["/VMC/Ext/OK", "/VMC/Ext/T"]);
            // Full bone bundles hold 13 bones, as the VMC app's do.
            for d in &per_datagram[..apply_at] {
                if d[0] == "/VMC/Ext/Bone/Pos" && bones >= BONES_PER_BUNDLE {
                    assert!(d.len() <= BONES_PER_BUNDLE);
                }
            }
        }
    }
    // The full frame's bones: four bundles of 13, the last 3 nested in the root bundle.
    let (_, per_datagram) = decode(&encode_vmc_frame_named(&full, VmcNames::All, 0.0));
    let bone_counts: Vec<usize> = per_datagram
        .iter()
        .map(|d| d.iter().filter(|a| *a == "/VMC/Ext/Bone/Pos").count())
        .collect();
    assert_eq!(&bone_counts[..4], [13, 13, 13, 13]);
    assert_eq!(*bone_counts.last().unwrap(), 3);
    // All 70 blendshapes do not fit in one datagram: split over several, Apply in the last.
    assert!(per_datagram.len() > 6, "{per_datagram:?}");
    // 51 bones: 12 leftovers, the most there can be, still share the root's datagram.
    let (_, per_datagram) = decode(&encode_vmc_frame_named(&many_leftover, VmcNames::Vrm0, 0.0));
    let root = per_datagram.last().unwrap();
    assert_eq!(
        root.iter().filter(|a| *a == "/VMC/Ext/Bone/Pos").count(),
        12
    );
}

#[test]
fn time_and_ok_carry_their_values() {
    let (messages, _) = decode(&encode_vmc_frame_named(
        &full_frame(),
        VmcNames::Vrm0,
        12.25,
    ));
    let t = messages.iter().find(|m| m.addr == "/VMC/Ext/T").unwrap();
    assert_eq!(floats(t), [12.25]);
    let ok = messages.iter().find(|m| m.addr == "/VMC/Ext/OK").unwrap();
    assert!(matches!(ok.args[..], [OscType::Int(1)]));
}

#[test]
fn names_parse_from_config_spelling() {
    #[derive(serde::Deserialize)]
    struct T {
        names: VmcNames,
    }
    for (text, names) in [
        ("vrm0", VmcNames::Vrm0),
        ("vrm1", VmcNames::Vrm1),
        ("arkit", VmcNames::Arkit),
        ("all", VmcNames::All),
    ] {
        let t: T = toml::from_str(&format!("names = \"{text}\"")).unwrap();
        assert_eq!(t.names, names);
    }
    assert!(toml::from_str::<T>("names = \"vrm2\"").is_err());
    assert_eq!(VmcNames::default(), VmcNames::Vrm0);
}
