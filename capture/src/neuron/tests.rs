//! The Neuron source on frames built here from the documented layouts (module docs of `wire`
//! and `skeleton`), the expected poses computed independently: glam's own Euler composition
//! fed to the retargeter.

use std::net::SocketAddr;

use glam::{EulerRot, Quat, Vec3};
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};
use kagura_skeleton::{Retargeter, TargetBody};
use proptest::prelude::*;

use super::skeleton::{
    BroadcastSkeleton, FrameShape, axis_neuron_joints, axis_studio_joints, bvh_header,
};
use super::wire::{BINARY_HEADER_LEN, FrameError, Framed, TextFramer};
use super::*;
use crate::source::{BuildEnv, Source, SourceEvent, SourceInput, SourceKindSpec};

const NOW: u64 = 1_000_000;

fn config(mode: NeuronMode) -> NeuronConfig {
    NeuronConfig {
        mode,
        address: None,
        port: None,
        skeleton: "axis_neuron".into(),
        displacement: None,
        reference: None,
        avatar: 0,
        performer: "suit".into(),
        filter: true,
        parts: None,
        priority: 0,
    }
}

/// A motion: some joints turned (Y, X, Z degrees, channel order), the rest at rest.
const MOTION: &[(&str, [f32; 3])] = &[
    ("Hips", [10.0, -5.0, 3.0]),
    ("RightUpLeg", [0.0, -30.0, 0.0]),
    ("Spine1", [5.0, 5.0, 5.0]),
    ("Head", [-15.0, 10.0, 0.0]),
    ("LeftArm", [20.0, 10.0, -40.0]),
    ("RightForeArm", [0.0, 0.0, 35.0]),
    ("LeftHandIndex1", [0.0, 0.0, 20.0]),
];
const HIPS_CM: [f32; 3] = [12.5, 93.0, -40.0];
/// Reference node: position (cm) then Y, X, Z degrees.
const REFERENCE: [f32; 6] = [100.0, 0.0, 50.0, 90.0, 0.0, 0.0];

fn joint_degrees(broadcast: &BroadcastSkeleton, joint: usize, scale: f32) -> [f32; 3] {
    let name = &broadcast.skeleton.joints[joint].name;
    MOTION
        .iter()
        .find(|(n, _)| n == name)
        .map_or([0.0; 3], |(_, d)| d.map(|v| v * scale))
}

/// The values of one frame laid out as documented: reference (6) first if on; then per joint,
/// its position (every joint with displacement, only the root without) and Y, X, Z degrees.
fn values(broadcast: &BroadcastSkeleton, shape: FrameShape, scale: f32) -> Vec<f32> {
    let mut v = Vec::new();
    if shape.reference {
        v.extend(REFERENCE);
    }
    for joint in 0..broadcast.joint_count() {
        if joint == 0 {
            v.extend(HIPS_CM);
        } else if shape.displacement {
            v.extend(broadcast.skeleton.joints[joint].offset.to_array());
        }
        v.extend(joint_degrees(broadcast, joint, scale));
    }
    v
}

/// What the source should make of [`values`]: the same rotations through glam's YXZ Euler and
/// the retargeter.
fn expected(broadcast: &BroadcastSkeleton, shape: FrameShape, scale: f32) -> PoseFrame {
    let locals: Vec<Option<Quat>> = (0..broadcast.joint_count())
        .map(|j| {
            let [y, x, z] = joint_degrees(broadcast, j, scale).map(f32::to_radians);
            Some(Quat::from_euler(EulerRot::YXZ, y, x, z))
        })
        .collect();
    let mut retargeter =
        Retargeter::new(broadcast.skeleton.clone(), &TargetBody::default()).unwrap();
    let mut frame = PoseFrame::new(PerformerId(0));
    retargeter.retarget(&locals, Some(Vec3::from(HIPS_CM)), &mut frame);
    if shape.reference {
        let [px, py, pz, y, x, z] = REFERENCE;
        frame.root = Some(kagura_protocol::RootTransform {
            position: Vec3::new(px, py, pz) * 0.01 * retargeter.hips_scale(),
            rotation: Quat::from_euler(
                EulerRot::YXZ,
                y.to_radians(),
                x.to_radians(),
                z.to_radians(),
            ),
        });
    }
    frame
}

fn assert_pose(got: &PoseFrame, want: &PoseFrame) {
    let want_bones: Vec<_> = want.bones().collect();
    assert_eq!(got.bones().count(), want_bones.len());
    for (bone, q) in want_bones {
        let g = got.bone(bone).unwrap_or_else(|| panic!("{bone:?} missing"));
        assert!(rotation_error_degrees(g, q) < 0.01, "{bone:?}: {g} vs {q}");
    }
    let (g, w) = (got.hips_position.unwrap(), want.hips_position.unwrap());
    assert!((g - w).length() < 1e-5, "hips {g} vs {w}");
    match (got.root, want.root) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            assert!((g.position - w.position).length() < 1e-5);
            assert!(rotation_error_degrees(g.rotation, w.rotation) < 0.01);
        }
        other => panic!("root: {other:?}"),
    }
}

fn text_frame(index: u32, name: &str, values: &[f32]) -> Vec<u8> {
    let mut s = format!("{index} {name}");
    for v in values {
        s.push(' ');
        s.push_str(&v.to_string());
    }
    s.push_str(" ||\r\n");
    s.into_bytes()
}

/// A binary frame as the header table in `wire` lays it out.
fn binary_frame(
    index: u32,
    name: &str,
    frame_index: u32,
    flags: [u8; 2],
    values: &[f32],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(BINARY_HEADER_LEN + 4 * values.len());
    b.extend(0xDDFFu16.to_le_bytes());
    b.extend([0, 0, 1, 1]);
    b.extend((values.len() as u16).to_le_bytes());
    b.extend(flags);
    b.extend(index.to_le_bytes());
    let mut padded = [0u8; 32];
    padded[..name.len()].copy_from_slice(name.as_bytes());
    b.extend(padded);
    b.extend(frame_index.to_le_bytes());
    b.extend([0u8; 12]);
    b.extend(0xEEFFu16.to_le_bytes());
    assert_eq!(b.len(), BINARY_HEADER_LEN);
    for v in values {
        b.extend(v.to_le_bytes());
    }
    b
}

fn tcp_source(config: &NeuronConfig, broadcast: BroadcastSkeleton) -> NeuronSource {
    let mut source = NeuronSource::new(config, broadcast).unwrap();
    source.handle_input(
        SourceInput::StreamOpened {
            peer: "127.0.0.1:7001".parse().unwrap(),
        },
        NOW,
    );
    source
}

fn next_pose(source: &mut NeuronSource) -> Option<PoseFrame> {
    let (stream, frame) = source.poll_event()?.into_frame()?;
    assert_eq!(stream, 0);
    Some(frame.pose)
}

fn shapes() -> [FrameShape; 4] {
    [(true, false), (false, false), (true, true), (false, true)].map(|(displacement, reference)| {
        FrameShape {
            displacement,
            reference,
        }
    })
}

#[test]
fn the_built_in_skeletons_are_the_documented_59_joints() {
    let neuron = BroadcastSkeleton::axis_neuron();
    let studio = BroadcastSkeleton::axis_studio();
    for (broadcast, spine, shoulder_parent) in [
        (&neuron, ["Spine2", "Spine3", "Neck", "Head"], "Spine3"),
        (&studio, ["Spine2", "Neck", "Neck1", "Head"], "Spine2"),
    ] {
        let joints = &broadcast.skeleton.joints;
        let names: Vec<&str> = joints.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names.len(), 59);
        assert_eq!(
            names[..10],
            [
                "Hips",
                "RightUpLeg",
                "RightLeg",
                "RightFoot",
                "LeftUpLeg",
                "LeftLeg",
                "LeftFoot",
                "Spine",
                "Spine1",
                spine[0]
            ]
        );
        assert_eq!(names[10..13], spine[1..]);
        assert_eq!(
            names[13..17],
            ["RightShoulder", "RightArm", "RightForeArm", "RightHand"]
        );
        assert_eq!(
            names[17..21],
            [
                "RightHandThumb1",
                "RightHandThumb2",
                "RightHandThumb3",
                "RightInHandIndex"
            ]
        );
        assert_eq!(names[35], "RightHandPinky3");
        assert_eq!(names[36], "LeftShoulder");
        assert_eq!(names[58], "LeftHandPinky3");
        let shoulder = joints[13].parent.unwrap();
        assert_eq!(joints[shoulder].name, shoulder_parent);
        // 354 values with displacement, 180 without (the counts seen on the wire).
        assert_eq!(broadcast.value_count(shapes()[0]), 354);
        assert_eq!(broadcast.value_count(shapes()[1]), 180);
        assert!(broadcast.rotation_orders.iter().all(|o| o.name() == "YXZ"));
        let report = broadcast.skeleton.mapping_report();
        assert!(report.is_complete(), "{report}");
        assert!(report.duplicates.is_empty(), "{report}");
        // Left on +X, toes forward (+Z): the internal convention's own orientation.
        let (_, rest) = broadcast.skeleton.rest_globals();
        let left_hand = broadcast.skeleton.joint_of(HumanoidBone::LeftHand).unwrap();
        assert!(rest[left_hand].x > 50.0);
        let foot = broadcast.skeleton.joint_of(HumanoidBone::LeftFoot).unwrap();
        assert!(broadcast.skeleton.joints[foot].tip.unwrap().z > 10.0);
    }
}

#[test]
fn string_frames_of_every_layout_become_the_expected_pose() {
    for (broadcast, skeleton) in [
        (BroadcastSkeleton::axis_neuron(), "axis_neuron"),
        (BroadcastSkeleton::axis_studio(), "axis_studio"),
    ] {
        for shape in shapes() {
            for configured in [false, true] {
                let mut config = config(NeuronMode::Tcp);
                config.skeleton = skeleton.into();
                if configured {
                    config.displacement = Some(shape.displacement);
                    config.reference = Some(shape.reference);
                }
                let mut source = tcp_source(&config, broadcast.clone());
                let bytes = text_frame(0, "Avatar01", &values(&broadcast, shape, 1.0));
                source.handle_input(SourceInput::Stream { bytes: &bytes }, NOW);
                let pose = next_pose(&mut source).unwrap_or_else(|| {
                    panic!("{skeleton} {shape:?}: no frame; {:?}", source.stats())
                });
                assert_pose(&pose, &expected(&broadcast, shape, 1.0));
                assert_eq!(pose.capture_us, NOW);
                let report = source.report();
                assert_eq!(report.errors, 0);
                let sender = report.streams[0].sender.clone().unwrap();
                assert_eq!(sender["avatar_name"], "Avatar01");
                assert_eq!(sender["displacement"], shape.displacement);
                assert_eq!(sender["reference"], shape.reference);
            }
        }
    }
}

/// `bvhsend`'s Axis format: its prefix and suffix go out with their C string terminators.
#[test]
fn nul_bytes_around_and_inside_frames_are_skipped() {
    let broadcast = BroadcastSkeleton::axis_neuron();
    let shape = shapes()[0];
    let motion: Vec<String> = values(&broadcast, shape, 1.0)
        .iter()
        .map(f32::to_string)
        .collect();
    let line = motion.join(" ");
    let mut stream = Vec::new();
    for _ in 0..3 {
        stream.extend(b"0 Avatarname \0");
        stream.extend(line.as_bytes());
        stream.extend(b" ||\r\n\0");
        stream.extend([0u8; 5]);
    }
    let mut source = tcp_source(&config(NeuronMode::Tcp), broadcast.clone());
    source.handle_input(SourceInput::Stream { bytes: &stream }, NOW);
    assert_pose(
        &next_pose(&mut source).unwrap(),
        &expected(&broadcast, shape, 1.0),
    );
    assert_eq!(source.stats().frames, 3);
    assert_eq!(
        source.stats().coalesced,
        2,
        "one read, the newest frame kept"
    );
    assert_eq!(source.report().errors, 0, "{:?}", source.stats());
    assert!(next_pose(&mut source).is_none());
}

#[test]
fn frames_split_across_reads_arrive_when_whole() {
    let broadcast = BroadcastSkeleton::axis_studio();
    let shape = shapes()[1];
    let mut config = config(NeuronMode::Tcp);
    config.skeleton = "axis_studio".into();
    let mut source = tcp_source(&config, broadcast.clone());
    let frames: Vec<Vec<u8>> = [0.5f32, 1.0, -1.0]
        .iter()
        .map(|s| text_frame(0, "A", &values(&broadcast, shape, *s)))
        .collect();
    let stream = frames.concat();
    // Reads of 1, 2, 3, … 37 bytes, cycling: every boundary falls somewhere new.
    let (mut at, mut size, mut seen) = (0, 1, Vec::new());
    while at < stream.len() {
        let end = (at + size).min(stream.len());
        source.handle_input(
            SourceInput::Stream {
                bytes: &stream[at..end],
            },
            NOW + at as u64,
        );
        while let Some(pose) = next_pose(&mut source) {
            seen.push((at..end, pose));
        }
        at = end;
        size = size % 37 + 1;
    }
    assert_eq!(seen.len(), 3);
    let mut frame_start = 0;
    for ((read, pose), (frame, scale)) in seen.iter().zip(frames.iter().zip([0.5, 1.0, -1.0])) {
        // A frame comes out with the read that brings its end (the first '|' of " ||\r\n").
        let terminator = frame_start + frame.len() - 4;
        assert!(read.contains(&terminator), "{read:?} vs {terminator}");
        assert_pose(pose, &expected(&broadcast, shape, scale));
        frame_start += frame.len();
    }
    assert_eq!(source.stats().frames, 3);
    assert_eq!(source.report().errors, 0);
}

#[test]
fn an_oversized_frame_is_an_error_and_the_next_frame_is_read() {
    let broadcast = BroadcastSkeleton::axis_neuron();
    let shape = shapes()[1];
    let good = text_frame(0, "A", &values(&broadcast, shape, 1.0));
    let limit = good.len() + 10;
    let mut source =
        NeuronSource::with_text_limit(&config(NeuronMode::Tcp), broadcast.clone(), limit).unwrap();
    // Three times a frame's values in one frame, sent in pieces smaller than the limit.
    let mut huge = Vec::from(&b"0 A"[..]);
    for _ in 0..3 {
        let body = text_frame(0, "A", &values(&broadcast, shape, 1.0));
        huge.extend(&body[3..body.len() - 5]);
    }
    huge.extend(b" ||\r\n");
    for piece in huge.chunks(limit / 3) {
        source.handle_input(SourceInput::Stream { bytes: piece }, NOW);
        assert!(source.pending_text() <= limit);
    }
    assert_eq!(source.stats().errors.oversized, 1);
    assert!(next_pose(&mut source).is_none());
    source.handle_input(SourceInput::Stream { bytes: &good }, NOW);
    assert_pose(
        &next_pose(&mut source).unwrap(),
        &expected(&broadcast, shape, 1.0),
    );
    assert_eq!(source.report().errors, 1);
}

#[test]
fn a_dropped_connection_forgets_its_partial_frame_and_counts_the_reconnect() {
    let broadcast = BroadcastSkeleton::axis_neuron();
    let shape = shapes()[0];
    let good = text_frame(0, "A", &values(&broadcast, shape, 1.0));
    let mut source = tcp_source(&config(NeuronMode::Tcp), broadcast.clone());
    source.handle_input(
        SourceInput::Stream {
            bytes: &good[..good.len() / 2],
        },
        NOW,
    );
    source.handle_input(SourceInput::StreamClosed, NOW);
    let peer: SocketAddr = "127.0.0.1:7001".parse().unwrap();
    source.handle_input(SourceInput::StreamOpened { peer }, NOW);
    source.handle_input(SourceInput::Stream { bytes: &good }, NOW);
    assert_pose(
        &next_pose(&mut source).unwrap(),
        &expected(&broadcast, shape, 1.0),
    );
    let stats = source.stats();
    assert_eq!(
        (stats.connections, stats.reconnects, stats.disconnects),
        (2, 1, 1)
    );
    assert_eq!(source.report().errors, 0);
}

#[test]
fn frames_that_fit_no_layout_or_not_the_configured_one_are_counted() {
    let broadcast = BroadcastSkeleton::axis_neuron();
    let mut config = config(NeuronMode::Tcp);
    config.displacement = Some(false);
    let mut source = tcp_source(&config, broadcast.clone());
    let feed = |source: &mut NeuronSource, bytes: &[u8]| {
        source.handle_input(SourceInput::Stream { bytes }, NOW);
        next_pose(source)
    };
    assert!(
        feed(
            &mut source,
            &text_frame(0, "A", &values(&broadcast, shapes()[0], 1.0))
        )
        .is_none()
    );
    assert_eq!(source.stats().errors.layout_mismatch, 1);
    assert!(feed(&mut source, &text_frame(0, "A", &[1.0; 100])).is_none());
    assert_eq!(source.stats().errors.wrong_count, 1);
    assert!(feed(&mut source, b"0 A 1.0 x 2.0||").is_none());
    assert_eq!(source.stats().errors.bad_number, 1);
    // The tail of a frame joined mid-stream: no index and name.
    assert!(feed(&mut source, b"1.5 2.5 3.5 ||").is_none());
    assert_eq!(source.stats().errors.no_header, 1);
    // Another avatar's frame is skipped without an error.
    let other = text_frame(1, "B", &values(&broadcast, shapes()[1], 1.0));
    assert!(feed(&mut source, &other).is_none());
    assert_eq!(source.stats().other_avatars, 1);
    // A datagram is not for a TCP source.
    source.handle_input(
        SourceInput::Datagram {
            from: "127.0.0.1:1".parse().unwrap(),
            bytes: b"x",
        },
        NOW,
    );
    assert_eq!(source.stats().errors.wrong_input, 1);
    assert_eq!(source.report().errors, 5);
    let good = text_frame(0, "A", &values(&broadcast, shapes()[1], 1.0));
    assert_pose(
        &feed(&mut source, &good).unwrap(),
        &expected(&broadcast, shapes()[1], 1.0),
    );
}

fn udp_datagram(source: &mut NeuronSource, bytes: &[u8]) -> Option<PoseFrame> {
    let from: SocketAddr = "192.168.1.20:50000".parse().unwrap();
    source.handle_input(SourceInput::Datagram { from, bytes }, NOW);
    next_pose(source)
}

#[test]
fn binary_frames_of_every_layout_become_the_expected_pose() {
    let broadcast = BroadcastSkeleton::axis_neuron();
    for shape in shapes() {
        let mut source = NeuronSource::new(&config(NeuronMode::Udp), broadcast.clone()).unwrap();
        let v = values(&broadcast, shape, 1.0);
        let flags = [u8::from(shape.displacement), u8::from(shape.reference)];
        let datagram = binary_frame(0, "Avatar00", 77, flags, &v);
        if shape == shapes()[0] {
            assert_eq!(datagram.len(), 1480, "the size seen on the wire");
        }
        let pose = udp_datagram(&mut source, &datagram).expect("a frame");
        assert_pose(&pose, &expected(&broadcast, shape, 1.0));
        let report = source.report();
        assert_eq!(report.errors, 0);
        let sender = report.streams[0].sender.clone().unwrap();
        assert_eq!(sender["version"], "1.1.0.0");
        assert_eq!(sender["frame_index"], 77);
        assert_eq!(sender["avatar_name"], "Avatar00");
        assert_eq!(sender["reference"], shape.reference);
    }
}

#[test]
fn binary_frames_split_in_two_datagrams_are_joined_and_bad_ones_counted() {
    let broadcast = BroadcastSkeleton::axis_neuron();
    let shape = shapes()[0];
    let mut source = NeuronSource::new(&config(NeuronMode::Udp), broadcast.clone()).unwrap();
    let datagram = binary_frame(0, "A", 1, [1, 0], &values(&broadcast, shape, 1.0));
    // Axis Neuron on macOS: 1024 bytes, then the rest.
    assert!(udp_datagram(&mut source, &datagram[..1024]).is_none());
    let pose = udp_datagram(&mut source, &datagram[1024..]).expect("joined");
    assert_pose(&pose, &expected(&broadcast, shape, 1.0));

    // A first piece whose rest never comes, then a whole frame: one error, the frame read.
    assert!(udp_datagram(&mut source, &datagram[..1024]).is_none());
    assert!(udp_datagram(&mut source, &datagram).is_some());
    assert_eq!(source.stats().errors.bad_length, 1);

    let mut bad_end = datagram.clone();
    bad_end[62] = 0;
    assert!(udp_datagram(&mut source, &bad_end).is_none());
    assert_eq!(source.stats().errors.bad_tokens, 1);
    assert!(udp_datagram(&mut source, &datagram[..40]).is_none());
    assert_eq!(source.stats().errors.bad_length, 2);
    let mut nan = datagram.clone();
    nan[64..68].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(udp_datagram(&mut source, &nan).is_none());
    assert_eq!(source.stats().errors.bad_number, 1);
    let mut longer = datagram.clone();
    longer.extend([0u8; 4]);
    assert!(udp_datagram(&mut source, &longer).is_none());
    assert_eq!(source.stats().errors.bad_length, 3);
    assert_eq!(source.report().errors, 5);
}

/// A skeleton from the user's own export, read through `BuildEnv::read_file`: names,
/// hierarchy and offsets from the header, each joint's rotation order from its channels.
#[test]
fn a_bvh_header_file_is_the_skeleton_with_its_own_rotation_order() {
    let header = bvh_header(&axis_studio_joints()).replace(
        "Yrotation Xrotation Zrotation",
        "Zrotation Xrotation Yrotation",
    );
    let file = format!("{header}MOTION\nFrames: 0\nFrame Time: 0.016667\n");
    let read_file = |path: &std::path::Path| {
        assert_eq!(path, std::path::Path::new("me.bvh"));
        Ok(file.clone().into_bytes())
    };
    let face_model = |_: &str| Err("none".to_string());
    let env = BuildEnv {
        read_file: &read_file,
        face_model: &face_model,
    };
    let mut config = config(NeuronMode::Tcp);
    config.skeleton = "me.bvh".into();
    let mut source = config.build(&env).unwrap();
    // Values in Z, X, Y order: the same motion as the YXZ fixtures, rotations composed Rz·Rx·Ry.
    let broadcast = BroadcastSkeleton::axis_studio();
    let mut v = vec![];
    let mut locals = vec![];
    for joint in 0..broadcast.joint_count() {
        if joint == 0 {
            v.extend(HIPS_CM);
        }
        let [a, b, c] = joint_degrees(&broadcast, joint, 1.0);
        v.extend([a, b, c]);
        let [z, x, y] = [a, b, c].map(f32::to_radians);
        locals.push(Some(Quat::from_euler(EulerRot::ZXY, z, x, y)));
    }
    let bytes = text_frame(0, "A", &v);
    source.handle_input(
        SourceInput::StreamOpened {
            peer: "127.0.0.1:7001".parse().unwrap(),
        },
        NOW,
    );
    source.handle_input(SourceInput::Stream { bytes: &bytes }, NOW);
    let Some(SourceEvent::Frame { frame, .. }) = source.poll_event() else {
        panic!("no frame: {:?}", source.report());
    };
    let mut want = PoseFrame::new(PerformerId(0));
    Retargeter::new(broadcast.skeleton.clone(), &TargetBody::default())
        .unwrap()
        .retarget(&locals, Some(Vec3::from(HIPS_CM)), &mut want);
    assert_pose(&frame.pose, &want);

    // A header without three rotation channels on a joint is refused at start.
    let two = bvh_header(&axis_neuron_joints()).replacen(
        "CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation",
        "CHANNELS 5 Xposition Yposition Zposition Yrotation Xrotation",
        1,
    );
    let read_two = |_: &std::path::Path| Ok(two.clone().into_bytes());
    let env = BuildEnv {
        read_file: &read_two,
        face_model: &face_model,
    };
    let e = config.build(&env).err().unwrap();
    assert!(e.contains("Hips") && e.contains("rotation channels"), "{e}");
}

#[test]
fn config_reads_modes_defaults_and_refuses_the_other_modes_setting() {
    let tcp: NeuronConfig = toml::from_str("performer = \"p\"").unwrap();
    assert_eq!(
        tcp.io(),
        crate::source::SourceIo::TcpClient {
            addr: DEFAULT_TCP_ADDRESS.into()
        }
    );
    let udp: NeuronConfig =
        toml::from_str("performer = \"p\"\nmode = \"udp\"\nskeleton = \"axis_studio\"").unwrap();
    assert_eq!(
        udp.io(),
        crate::source::SourceIo::Udp {
            port: DEFAULT_UDP_PORT
        }
    );
    let bad: NeuronConfig = toml::from_str("performer = \"p\"\nport = 7002").unwrap();
    let broadcast = BroadcastSkeleton::axis_neuron();
    assert!(NeuronSource::new(&bad, broadcast.clone()).is_err());
    let bad: NeuronConfig =
        toml::from_str("performer = \"p\"\nmode = \"udp\"\naddress = \"1.2.3.4:7001\"").unwrap();
    assert!(NeuronSource::new(&bad, broadcast).is_err());
    NeuronConfig::filter_preset().validate().unwrap();
}

#[test]
fn the_framer_cuts_at_every_terminator_and_stays_bounded() {
    let mut framer = TextFramer::new(8);
    let mut out = Vec::new();
    framer.push(b"\0\0 ab|cd\r\nefghijklmn|xy\n", |f| {
        out.push(match f {
            Framed::Frame(b) => String::from_utf8_lossy(b).into_owned(),
            Framed::Oversized => "!".into(),
        })
    });
    assert_eq!(out, ["ab", "cd", "!", "xy"]);
    assert_eq!(FrameError::Oversized.name(), "oversized");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 0..12),
        framed in any::<bool>(),
    ) {
        let broadcast = BroadcastSkeleton::axis_neuron();
        let mut tcp = NeuronSource::with_text_limit(&config(NeuronMode::Tcp), broadcast.clone(), 1024)
            .unwrap();
        let mut udp = NeuronSource::new(&config(NeuronMode::Udp), broadcast.clone()).unwrap();
        tcp.handle_input(SourceInput::StreamOpened { peer: "127.0.0.1:7001".parse().unwrap() }, NOW);
        for (i, chunk) in chunks.iter().enumerate() {
            let mut bytes = chunk.clone();
            if framed {
                // Give the parsers something close to a frame to chew on.
                let mut head = binary_frame(0, "A", 0, [1, 0], &[]);
                head[6..8].copy_from_slice(&((chunk.len() / 4) as u16).to_le_bytes());
                head.extend(&bytes);
                bytes = head;
            }
            tcp.handle_input(SourceInput::Stream { bytes: &bytes }, NOW + i as u64);
            prop_assert!(tcp.pending_text() <= 1024);
            udp.handle_input(
                SourceInput::Datagram { from: "127.0.0.1:1".parse().unwrap(), bytes: &bytes },
                NOW + i as u64,
            );
            for source in [&mut tcp, &mut udp] {
                while let Some(pose) = next_pose(source) {
                    for (_, q) in pose.bones() {
                        prop_assert!(q.is_finite() && (q.length() - 1.0).abs() < 1e-3);
                    }
                }
            }
        }
    }

    #[test]
    fn text_frames_of_arbitrary_numbers_never_panic(
        values in proptest::collection::vec(any::<f32>(), 0..400),
    ) {
        let broadcast = BroadcastSkeleton::axis_neuron();
        let mut tcp = tcp_source(&config(NeuronMode::Tcp), broadcast);
        let bytes = text_frame(0, "A", &values);
        tcp.handle_input(SourceInput::Stream { bytes: &bytes }, NOW);
        if let Some(pose) = next_pose(&mut tcp) {
            for (_, q) in pose.bones() {
                prop_assert!(q.is_finite());
            }
        }
    }
}
