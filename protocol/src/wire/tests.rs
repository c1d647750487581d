use glam::{Quat, Vec3};
use proptest::prelude::*;

use super::*;
use crate::rotation_error_degrees;

fn full_frame() -> PoseFrame {
    let mut f = PoseFrame::new(PerformerId(3));
    f.seq = 123_456;
    f.capture_us = 1_764_000_000_000_000;
    f.root = Some(RootTransform {
        position: Vec3::new(1.5, 0.0, -2.25),
        rotation: Quat::from_rotation_y(0.3),
    });
    f.hips_position = Some(Vec3::new(0.01, 0.93, 0.02));
    for (i, bone) in HumanoidBone::ALL.into_iter().enumerate() {
        f.set_bone(
            bone,
            Quat::from_euler(glam::EulerRot::YXZ, i as f32 * 0.1, 0.2, -0.3),
        );
    }
    for (i, e) in Expression::ALL
        .into_iter()
        .filter(|e| e.is_arkit())
        .enumerate()
    {
        f.set_expression(e, i as f32 / 51.0);
    }
    f
}

#[test]
fn full_frame_fits_in_400_bytes_and_round_trips() {
    let frame = full_frame();
    let mut bytes = Vec::new();
    encode(&frame, &mut bytes);
    assert!(bytes.len() <= 400, "{} bytes", bytes.len());
    assert!(bytes.len() <= MAX_FRAME_LEN);
    let back = decode(&bytes).unwrap();
    assert_close(&frame, &back);
}

#[test]
fn absent_parts_stay_absent() {
    let mut f = PoseFrame::new(PerformerId(1));
    f.set_bone(HumanoidBone::Head, Quat::from_rotation_x(0.5));
    f.set_expression(Expression::Aa, 0.5);
    let mut bytes = Vec::new();
    encode(&f, &mut bytes);
    let back = decode(&bytes).unwrap();
    assert_eq!(back.bones().count(), 1);
    assert_eq!(back.expressions().count(), 1);
    assert!(back.root.is_none() && back.hips_position.is_none());
    assert_close(&f, &back);
}

#[test]
fn wrong_version_flags_truncation_and_trailing_bytes_are_errors() {
    let mut bytes = Vec::new();
    encode(&full_frame(), &mut bytes);
    let mut v = bytes.clone();
    v[0] = 2;
    assert_eq!(decode(&v), Err(WireError::UnsupportedVersion(2)));
    let mut v = bytes.clone();
    v[1] |= 0x80;
    assert_eq!(decode(&v), Err(WireError::UnknownFlags(0x80)));
    assert!(matches!(
        decode(&bytes[..bytes.len() - 2]),
        Err(WireError::Truncated(_))
    ));
    let mut v = bytes.clone();
    v.push(0);
    assert_eq!(decode(&v), Err(WireError::TrailingBytes));
    assert_eq!(decode(&bytes[..5]), Err(WireError::TooShort(5)));
}

fn assert_close(a: &PoseFrame, b: &PoseFrame) {
    assert_eq!(
        (a.performer, a.seq, a.capture_us),
        (b.performer, b.seq, b.capture_us)
    );
    for bone in HumanoidBone::ALL {
        match (a.bone(bone), b.bone(bone)) {
            (Some(x), Some(y)) => assert!(rotation_error_degrees(x, y) <= 0.01, "{bone}"),
            (None, None) => {}
            other => panic!("{bone}: {other:?}"),
        }
    }
    for e in Expression::ALL {
        match (a.expression(e), b.expression(e)) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 0.5 / 255.0 + 1e-6, "{e}"),
            (None, None) => {}
            other => panic!("{e}: {other:?}"),
        }
    }
    // Half a 0.1 mm step, plus f32 rounding at positions up to 100 m.
    let close = |x: Vec3, y: Vec3| (x - y).abs().max_element() <= 0.5e-4 + 1e-5;
    assert_eq!(a.hips_position.is_some(), b.hips_position.is_some());
    if let (Some(x), Some(y)) = (a.hips_position, b.hips_position) {
        assert!(close(x, y));
    }
    if let (Some(x), Some(y)) = (a.root, b.root) {
        assert!(close(x.position, y.position));
        assert!(rotation_error_degrees(x.rotation, y.rotation) <= 0.01);
    }
}

fn arbitrary_frame() -> impl Strategy<Value = PoseFrame> {
    let rotation = (-1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0, 0.1f32..1.0)
        .prop_map(|(x, y, z, w)| Quat::from_xyzw(x, y, z, w).normalize());
    let position = (-100.0f32..100.0, -100.0f32..100.0, -100.0f32..100.0)
        .prop_map(|(x, y, z)| Vec3::new(x, y, z));
    (
        any::<(u16, u32, u64)>(),
        proptest::option::of((position.clone(), rotation.clone())),
        proptest::option::of(position),
        proptest::collection::vec(proptest::option::of(rotation), HumanoidBone::COUNT),
        proptest::collection::vec(proptest::option::of(0.0f32..=1.0), Expression::COUNT),
    )
        .prop_map(
            |((performer, seq, capture_us), root, hips, bones, weights)| {
                let mut f = PoseFrame::new(PerformerId(performer));
                f.seq = seq;
                f.capture_us = capture_us;
                f.root = root.map(|(position, rotation)| RootTransform { position, rotation });
                f.hips_position = hips;
                for (bone, q) in HumanoidBone::ALL.into_iter().zip(bones) {
                    if let Some(q) = q {
                        f.set_bone(bone, q);
                    }
                }
                for (e, w) in Expression::ALL.into_iter().zip(weights) {
                    if let Some(w) = w {
                        f.set_expression(e, w);
                    }
                }
                f
            },
        )
}

proptest! {
    #[test]
    fn any_frame_round_trips(frame in arbitrary_frame()) {
        let mut bytes = Vec::new();
        encode(&frame, &mut bytes);
        prop_assert!(bytes.len() <= MAX_FRAME_LEN);
        assert_close(&frame, &decode(&bytes).unwrap());
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn decoding_mutated_frames_never_panics(
        frame in arbitrary_frame(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = Vec::new();
        encode(&frame, &mut bytes);
        for (at, xor) in flips {
            let i = at % bytes.len();
            bytes[i] ^= xor;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok(decoded) = decode(&bytes) {
            prop_assert!(decoded.bones().all(|(_, q)| q.is_normalized()));
        }
    }
}
