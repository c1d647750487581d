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

#[test]
fn vmc_app_frame_is_emitted_once_whole_at_apply() {
    let sent = sample_frame();
    let datagrams = encode_vmc_frame(&sent, 1.0);
    assert!(
        datagrams.len() >= 5,
        "bones split in bundles of 13, then root, then blend"
    );
    let mut decoder = VmcDecoder::new(PerformerId(7));
    let mut frames = Vec::new();
    // Until a sender's first Apply the decoder cannot know it sends one: the first frame comes
    // out per datagram. From then on, frames end at Apply only.
    for d in &datagrams {
        decoder.handle_datagram(d, 0, &mut frames);
    }
    assert!(!frames.is_empty());
    frames.clear();
    for (i, d) in datagrams.iter().enumerate() {
        decoder.handle_datagram(d, 1000 + i as u64, &mut frames);
        if i + 1 < datagrams.len() {
            assert!(frames.is_empty(), "no frame before Apply");
        }
    }
    assert_eq!(frames.len(), 1);
    let got = &frames[0];
    assert_eq!(got.performer, PerformerId(7));
    assert_eq!(got.capture_us, 1000 + datagrams.len() as u64 - 1);
    for bone in HumanoidBone::ALL {
        let err = rotation_error_degrees(sent.bone(bone).unwrap(), got.bone(bone).unwrap());
        assert!(err < 1e-3, "{bone}: {err}°");
    }
    assert!((got.hips_position.unwrap() - sent.hips_position.unwrap()).length() < 1e-6);
    assert_eq!(
        got.expressions().collect::<Vec<_>>(),
        sent.expressions().collect::<Vec<_>>()
    );
    assert_eq!(decoder.stats().errors(), 0);
    assert_eq!(decoder.sender_status().avatar_loaded, Some(true));
}

#[test]
fn sender_without_apply_emits_per_datagram() {
    let mut decoder = VmcDecoder::new(PerformerId(0));
    let mut frames = Vec::new();
    for i in 0..3 {
        let angle = 0.1 * i as f32;
        let q = Quat::from_rotation_x(angle).to_array();
        decoder.handle_datagram(
            &datagram(vec![bone_message("LeftUpperLeg", q)]),
            i,
            &mut frames,
        );
    }
    assert_eq!(frames.len(), 3);
    assert_eq!(
        frames.iter().map(|f| f.seq).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(frames.iter().all(|f| f.bones().count() == 1));
}

#[test]
fn apply_sender_that_skips_apply_still_gets_frames() {
    let mut decoder = VmcDecoder::new(PerformerId(0));
    let mut frames = Vec::new();
    let apply = OscMessage {
        addr: "/VMC/Ext/Blend/Apply".into(),
        args: vec![],
    };
    decoder.handle_datagram(
        &datagram(vec![bone_message("Head", [0.0, 0.0, 0.0, 1.0]), apply]),
        0,
        &mut frames,
    );
    assert_eq!(frames.len(), 1);
    // Next frames: bones only, no Apply. The second update of Head publishes the first.
    let q = Quat::from_rotation_y(0.2).to_array();
    decoder.handle_datagram(&datagram(vec![bone_message("Head", q)]), 1, &mut frames);
    assert_eq!(frames.len(), 1);
    decoder.handle_datagram(
        &datagram(vec![bone_message("Head", [0.0, 0.0, 0.0, 1.0])]),
        2,
        &mut frames,
    );
    assert_eq!(frames.len(), 2);
    let head = frames[1].bone(HumanoidBone::Head).unwrap();
    assert!(
        rotation_error_degrees(
            head,
            crate::vmc::unity::rotation_from_unity(Quat::from_array(q))
        ) < 1e-3
    );
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
        (1, 1, 1, 1, 1)
    );
    assert_eq!(
        (s.malformed_packets, s.oversized_packets, s.ignored_messages),
        (2, 1, 1)
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
