use glam::{Quat, Vec3};
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};
use proptest::prelude::*;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType, encoder};

use super::*;
use crate::vmc::encode_vmc_frame;

fn sample_frame() -> PoseFrame {
    let mut f = PoseFrame::new(PerformerId(0));
    for (i, bone) in HumanoidBone::ALL.into_iter().enumerate() {
        f.set_bone(
            bone,
            Quat::from_euler(glam::EulerRot::YXZ, 0.05 * i as f32, -0.3, 0.2),
        );
    }
    f.hips_position = Some(Vec3::new(0.1, 0.95, -0.05));
    f.set_expression(Expression::Aa, 0.25);
    f.set_expression(Expression::BlinkLeft, 1.0);
    f.set_expression(Expression::Happy, 0.5);
    f.set_expression(Expression::JawOpen, 0.75);
    f
}

fn datagram(messages: Vec<OscMessage>) -> Vec<u8> {
    let content = messages.into_iter().map(OscPacket::Message).collect();
    encoder::encode(&OscPacket::Bundle(OscBundle {
        timetag: OscTime::from((0, 1)),
        content,
    }))
    .unwrap()
}

fn bone_message(name: &str, q: [f32; 4]) -> OscMessage {
    let mut args = vec![OscType::String(name.into())];
    args.extend([0.0, 0.0, 0.0, q[0], q[1], q[2], q[3]].map(OscType::Float));
    OscMessage {
        addr: "/VMC/Ext/Bone/Pos".into(),
        args,
    }
}

/// A pose that differs everywhere with `i`; the root's z carries `i` (1 cm each).
fn indexed_pose(i: u32) -> PoseFrame {
    let mut f = PoseFrame::new(PerformerId(0));
    let t = i as f32 * 0.05;
    for (k, bone) in HumanoidBone::ALL.into_iter().enumerate() {
        f.set_bone(
            bone,
            Quat::from_euler(
                glam::EulerRot::YXZ,
                (t + k as f32).sin(),
                0.3 * t.cos(),
                0.1,
            ),
        );
    }
    f.root = Some(kagura_protocol::RootTransform {
        position: Vec3::new(0.0, 0.0, i as f32 * 0.01),
        rotation: Quat::IDENTITY,
    });
    f.hips_position = Some(Vec3::new(0.0, 0.9, 0.001 * i as f32));
    f.set_expression(Expression::Aa, (i % 100) as f32 / 100.0);
    f.set_expression(Expression::JawOpen, ((i + 50) % 100) as f32 / 100.0);
    f
}

/// The index a decoded frame's parts say they come from: root, every bone, hips, expressions.
fn sources_of(frame: &PoseFrame) -> Vec<u32> {
    let index = (frame.root.unwrap().position.z / 0.01).round() as u32;
    let sent = indexed_pose(index);
    let mut torn = Vec::new();
    for bone in HumanoidBone::ALL {
        if rotation_error_degrees(sent.bone(bone).unwrap(), frame.bone(bone).unwrap()) > 1e-3 {
            torn.push(bone.index() as u32 + 1000);
        }
    }
    for e in [Expression::Aa, Expression::JawOpen] {
        if (sent.expression(e).unwrap() - frame.expression(e).unwrap()).abs() > 1e-6 {
            torn.push(2000 + e.index() as u32);
        }
    }
    torn.push(index);
    torn
}

#[test]
fn vmc_app_order_is_framed_whole_from_the_first_datagram_on() {
    // The VMC app sends bones in bundles of 13, then blendshapes + Apply, then the root bundle
    // with the leftover bones and T. Whatever datagram a receiver starts at, it must publish
    // only whole frames, each entirely from one sent frame, at that frame's last datagram.
    let per_frame = encode_vmc_frame(&indexed_pose(0), 0.0).len();
    assert_eq!(per_frame, 6, "4 bone bundles, blendshapes, root");
    for skip in 0..per_frame {
        let mut decoder = VmcDecoder::new(PerformerId(0));
        let mut frames = Vec::new();
        let mut last_datagram_of = Vec::new();
        let mut n = 0u64;
        for i in 0..20u32 {
            for (k, d) in encode_vmc_frame(&indexed_pose(i), i as f32 / 60.0)
                .iter()
                .enumerate()
            {
                if i == 0 && k < skip {
                    continue;
                }
                let before = frames.len();
                decoder.handle_datagram(d, 1_000_000 + n * 100, &mut frames);
                n += 1;
                if frames.len() > before {
                    last_datagram_of.push((i, k));
                }
            }
        }
        assert!(frames.len() >= 17, "skip {skip}: {} frames", frames.len());
        for (frame, (i, k)) in frames.iter().zip(&last_datagram_of) {
            assert_eq!(
                sources_of(frame),
                [*i],
                "skip {skip}: frame emitted at {i}/{k} is torn"
            );
            assert_eq!(*k, per_frame - 1, "emitted at the root bundle, not later");
        }
        assert_eq!(decoder.sender_status().cycle_datagrams, Some(per_frame));
    }
}

#[test]
fn capture_times_follow_the_senders_clock() {
    let mut decoder = VmcDecoder::new(PerformerId(0));
    let mut frames = Vec::new();
    for i in 0..30u32 {
        // 60 Hz at the sender; arrivals bunched by the network: two frames at once, then none.
        let arrival = 5_000_000 + u64::from(i / 2) * 33_334 + 500;
        for d in encode_vmc_frame(&indexed_pose(i), 10.0 + i as f32 / 60.0) {
            decoder.handle_datagram(&d, arrival, &mut frames);
        }
    }
    let steps: Vec<i64> = frames
        .windows(2)
        .map(|w| w[1].capture_us as i64 - w[0].capture_us as i64)
        .collect();
    assert!(
        steps.iter().all(|s| (16_600..=16_740).contains(s)),
        "the sender's spacing, not the arrivals': {steps:?}"
    );
}

#[test]
fn one_bundle_senders_are_framed_per_datagram_with_or_without_apply() {
    for with_apply in [false, true] {
        let mut decoder = VmcDecoder::new(PerformerId(0));
        let mut frames = Vec::new();
        for i in 0..5 {
            let q = Quat::from_rotation_x(0.1 * i as f32).to_array();
            let mut messages = vec![bone_message("Hips", q), bone_message("LeftUpperLeg", q)];
            if with_apply {
                messages.push(OscMessage {
                    addr: "/VMC/Ext/Blend/Apply".into(),
                    args: vec![],
                });
            }
            let before = frames.len();
            decoder.handle_datagram(&datagram(messages), i, &mut frames);
            // The first datagram cannot be known to be whole; every one after it is a frame.
            assert_eq!(frames.len() - before, usize::from(i >= 1), "datagram {i}");
        }
        assert_eq!(
            frames.iter().map(|f| f.seq).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert!(frames.iter().all(|f| f.bones().count() == 2));
    }
}

#[test]
fn unbundled_senders_end_their_frames_at_apply() {
    let mut decoder = VmcDecoder::new(PerformerId(0));
    let mut frames = Vec::new();
    for i in 0..6u64 {
        let q = Quat::from_rotation_y(0.1 * i as f32).to_array();
        let messages = [
            bone_message("Hips", q),
            bone_message("Head", q),
            OscMessage {
                addr: "/VMC/Ext/Blend/Val".into(),
                args: vec![OscType::String("A".into()), OscType::Float(0.1 * i as f32)],
            },
            OscMessage {
                addr: "/VMC/Ext/Blend/Apply".into(),
                args: vec![],
            },
        ];
        for (k, m) in messages.into_iter().enumerate() {
            let before = frames.len();
            decoder.handle_datagram(
                &encoder::encode(&OscPacket::Message(m)).unwrap(),
                i * 10 + k as u64,
                &mut frames,
            );
            if frames.len() > before {
                assert_eq!(k, 3, "frames end at Apply");
                let f = frames.last().unwrap();
                let head = f.bone(HumanoidBone::Head).unwrap();
                let want = crate::vmc::unity::rotation_from_unity(Quat::from_array(q));
                assert!(rotation_error_degrees(head, want) < 1e-3);
                assert!((f.expression(Expression::Aa).unwrap() - 0.1 * i as f32).abs() < 1e-6);
            }
        }
    }
    assert!(frames.len() >= 4, "{}", frames.len());
}

#[test]
fn bad_values_are_counted_and_dropped() {
    let mut decoder = VmcDecoder::new(PerformerId(0));
    let mut frames = Vec::new();
    let packet = datagram(vec![
        bone_message("Head", [f32::NAN, 0.0, 0.0, 1.0]),
        bone_message("Neck", [0.0, 0.0, 0.0, 1.2]),
        bone_message("Tail", [0.0, 0.0, 0.0, 1.0]),
        OscMessage {
            addr: "/VMC/Ext/Blend/Val".into(),
            args: vec![OscType::String("A".into())],
        },
        OscMessage {
            addr: "/VMC/Ext/Blend/Val".into(),
            args: vec![OscType::String("NotAShape".into()), OscType::Float(1.0)],
        },
        OscMessage {
            addr: "/VMC/Ext/Cam".into(),
            args: vec![],
        },
    ]);
    decoder.handle_datagram(&packet, 0, &mut frames);
    decoder.handle_datagram(b"not osc at all", 1, &mut frames);
    // The same datagram again: a one-datagram cycle, so a frame.
    decoder.handle_datagram(&packet, 1, &mut frames);
    let mut truncated = packet.clone();
    truncated.truncate(packet.len() - 10);
    decoder.handle_datagram(&truncated, 1, &mut frames);
    decoder.handle_datagram(&vec![0u8; MAX_DATAGRAM_LEN + 1], 2, &mut frames);
    let s = decoder.stats();
    assert_eq!(
        (
            s.invalid_values,
            s.repaired_rotations,
            s.unknown_bones,
            s.bad_arguments,
            s.unknown_blendshapes
        ),
        (2, 2, 2, 2, 2)
    );
    assert_eq!(
        (s.malformed_packets, s.oversized_packets, s.ignored_messages),
        (2, 1, 2)
    );
    assert_eq!(frames.len(), 1);
    assert!(frames[0].bone(HumanoidBone::Head).is_none());
    assert!(frames[0].bone(HumanoidBone::Neck).unwrap().is_normalized());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut decoder = VmcDecoder::new(PerformerId(0));
        let mut frames = Vec::new();
        decoder.handle_datagram(&bytes, 0, &mut frames);
        prop_assert!(frames.iter().all(|f| f.bones().all(|(_, q)| q.is_normalized())));
    }

    #[test]
    fn mutated_vmc_datagrams_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut decoder = VmcDecoder::new(PerformerId(0));
        let mut frames = Vec::new();
        for mut d in encode_vmc_frame(&sample_frame(), 0.5) {
            for &(at, xor) in &flips {
                let i = at % d.len();
                d[i] ^= xor;
            }
            decoder.handle_datagram(&d, 0, &mut frames);
        }
        prop_assert!(frames.iter().all(|f| f.bones().all(|(_, q)| q.is_normalized())));
    }
}

#[test]
fn assigned_trackers_give_world_orientations_by_bone() {
    let mut trackers = std::collections::BTreeMap::new();
    trackers.insert("LHR-1".to_string(), HumanoidBone::LeftFoot);
    let mut decoder = VmcDecoder::with_trackers(PerformerId(0), trackers);
    let unity = Quat::from_rotation_x(0.3) * Quat::from_rotation_y(0.2);
    let tracker = |serial: &str| {
        let mut args = vec![OscType::String(serial.into())];
        args.extend([0.0, 0.1, 0.0, unity.x, unity.y, unity.z, unity.w].map(OscType::Float));
        OscMessage {
            addr: "/VMC/Ext/Tra/Pos".into(),
            args,
        }
    };
    let mut frames = Vec::new();
    for t in 0..3 {
        let d = datagram(vec![
            bone_message("Hips", [0.0, 0.0, 0.0, 1.0]),
            tracker("LHR-1"),
            tracker("unassigned"),
        ]);
        decoder.handle_datagram(&d, t, &mut frames);
    }
    assert_eq!(frames.len(), 2);
    let foot = decoder.sensors()[HumanoidBone::LeftFoot.index()].unwrap();
    let want = crate::vmc::unity::rotation_from_unity(unity);
    assert!(rotation_error_degrees(foot, want) < 1e-3);
    assert_eq!(decoder.sensors().iter().flatten().count(), 1);
    assert_eq!(
        decoder.stats().ignored_messages,
        3,
        "the unassigned tracker"
    );
}
