use std::sync::Arc;

use glam::Quat;
use kagura_capture::{SourceFrame, StreamSpec};
use kagura_filter::{FilterSettings, OneEuroParams};
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, wire};

use super::*;
use crate::bus::{FrameSink, PublishedFrame};

const HOLD: u64 = 300_000;
const EASE: u64 = 500_000;

/// Remembers every frame offered.
#[derive(Default)]
struct Recorder(Mutex<Vec<PoseFrame>>);

impl FrameSink for Recorder {
    fn offer(&self, frame: &PublishedFrame) -> bool {
        lock(&self.0).push(wire::decode(&frame.wire).expect("the bus encodes valid frames"));
        true
    }
}

fn engine() -> Engine {
    let mut smooth = FilterSettings::light();
    smooth.head = OneEuroParams::new(0.5, 0.0);
    let filters = FilterControl::new(
        vec![("smooth", smooth), ("raw", FilterSettings::light())],
        false,
    );
    Engine::new(
        Arc::new(PoseBus::new()),
        Arc::new(filters),
        MergeTiming {
            hold_us: HOLD,
            ease_us: EASE,
        },
    )
}

fn spec(performer: &str, parts: &[BodyPart], filtered: bool) -> StreamSpec {
    StreamSpec {
        performer: performer.into(),
        role: SourceRole {
            parts: parts.to_vec(),
            priority: 0,
        },
        filtered,
        key: format!("{performer}/{parts:?}"),
        hips_height_m: None,
    }
}

fn head(yaw: f32, t: u64) -> SourceFrame {
    let mut pose = PoseFrame::new(PerformerId(0));
    pose.capture_us = t;
    pose.set_bone(HumanoidBone::Head, Quat::from_rotation_y(yaw));
    pose.set_bone(HumanoidBone::LeftUpperArm, Quat::from_rotation_z(yaw));
    SourceFrame::of_pose(pose, t)
}

fn yaw(f: &PoseFrame) -> f32 {
    f.bone(HumanoidBone::Head)
        .map(|q| 2.0 * q.y.atan2(q.w))
        .unwrap_or(0.0)
}

/// Every frame `recorder` was offered, as wire bytes.
fn wire_bytes(recorder: &Recorder) -> Vec<Vec<u8>> {
    lock(&recorder.0)
        .iter()
        .map(|f| {
            let mut bytes = Vec::new();
            wire::encode(f, &mut bytes);
            bytes
        })
        .collect()
}

fn record(engine: &Engine, performer: &str) -> Arc<Recorder> {
    let recorder = Arc::new(Recorder::default());
    let id = engine.performer_named(performer).unwrap().id;
    assert!(engine.bus().attach(id, recorder.clone()));
    recorder
}

#[test]
fn each_source_keeps_its_own_filter_and_another_source_never_refilters_it() {
    // A filtered head source and an unfiltered body source on one performer: the head must
    // follow its own filter whichever source submitted last (no frame-to-frame alternation).
    let engine = engine();
    let mut face = engine.attach_stream(&spec("p", &[BodyPart::Head], true), "smooth");
    let mut body = engine.attach_stream(&spec("p", &[BodyPart::Arms], false), "raw");
    let out = record(&engine, "p");
    let mut t = 1_000_000;
    for i in 0..120 {
        let target = if i < 30 { 0.0 } else { 0.5 };
        engine.submit(&mut face, head(target, t), t);
        t += 4_000;
        engine.submit(&mut body, head(1.0, t), t);
        t += 4_000;
    }
    let yaws: Vec<f32> = lock(&out.0).iter().map(yaw).collect();
    assert_eq!(yaws.len(), 240);
    assert!(
        yaws[100] > 0.0 && yaws[100] < 0.45,
        "the head is filtered: {}",
        yaws[100]
    );
    for w in yaws.windows(2) {
        assert!(
            w[1] >= w[0] - 1e-6,
            "the head never steps back: {} then {}",
            w[0],
            w[1]
        );
    }
    let arm = lock(&out.0)
        .last()
        .unwrap()
        .bone(HumanoidBone::LeftUpperArm)
        .unwrap();
    let error = kagura_protocol::rotation_error_degrees(arm, Quat::from_rotation_z(1.0));
    assert!(
        error < 0.02,
        "the body passes unfiltered (wire quantization only): {error}°"
    );
}

#[test]
fn a_lone_silent_source_holds_then_eases_to_rest_on_the_timer_alone() {
    let engine = engine();
    let mut only = engine.attach_stream(&spec("p", &BodyPart::ALL, false), "raw");
    let out = record(&engine, "p");
    let t0 = 5_000_000;
    engine.submit(&mut only, head(0.5, t0), t0);
    assert_eq!(engine.poll_timeout(), Some(t0 + HOLD + 1));
    let mut now = t0;
    while let Some(due) = engine.poll_timeout() {
        assert!(due > now, "deadlines move forward");
        now = due;
        engine.handle_timeout(now);
    }
    let frames = lock(&out.0);
    assert!(
        frames.len() > 10,
        "the ease is published step by step: {}",
        frames.len()
    );
    assert!((yaw(&frames[1]) - 0.5).abs() < 0.01, "held first");
    assert!(yaw(frames.last().unwrap()).abs() < 1e-4, "then at rest");
    assert!(now >= t0 + HOLD + EASE);
    let steps: Vec<f32> = frames.windows(2).map(|w| yaw(&w[0]) - yaw(&w[1])).collect();
    assert!(
        steps.iter().all(|s| *s >= -1e-6 && *s < 0.05),
        "eases without jumps: {steps:?}"
    );
}

#[test]
fn the_same_frames_at_the_same_times_give_the_same_bytes() {
    let run = || {
        let engine = engine();
        let mut a = engine.attach_stream(&spec("p", &[BodyPart::Head], true), "smooth");
        let mut b = engine.attach_stream(&spec("p", &BodyPart::ALL, false), "raw");
        let out = record(&engine, "p");
        for i in 0..50u64 {
            let t = 1_000_000 + i * 7_919;
            engine.submit(&mut a, head((i as f32 * 0.1).sin(), t), t);
            engine.submit(&mut b, head(0.2, t + 100), t + 200);
        }
        let mut now = 2_000_000;
        while let Some(due) = engine.poll_timeout() {
            now = due.max(now);
            engine.handle_timeout(now);
        }
        wire_bytes(&out)
    };
    let first = run();
    assert!(first.len() > 100);
    assert_eq!(first, run());
}

#[test]
fn performer_ids_come_from_names_not_order_and_performers_come_and_go() {
    let one = engine();
    let two = engine();
    let (a1, b1) = (one.add_performer("alice").id, one.add_performer("bob").id);
    let (b2, a2) = (two.add_performer("bob").id, two.add_performer("alice").id);
    assert_eq!((a1, b1), (a2, b2));
    assert_ne!(a1, b1);
    assert_eq!(
        one.add_performer("alice").id,
        a1,
        "adding again returns the same"
    );

    let mut route = one.attach_stream(&spec("carol", &BodyPart::ALL, false), "raw");
    let carol = route.performer().id;
    assert!(one.bus().slot(carol).is_some());
    assert!(one.remove_performer(carol));
    assert!(one.bus().slot(carol).is_none());
    assert!(one.performer_named("carol").is_none());
    // Its source may still be running: frames go nowhere, nothing breaks.
    one.submit(&mut route, head(0.1, 1), 1);
    drop(route);
}

#[test]
fn sensors_are_solved_to_bones_with_mountings_from_a_t_pose() {
    use kagura_calibration::CalibrationKind;
    let engine = engine();
    let mut route = engine.attach_stream(&spec("p", &BodyPart::ALL, false), "raw");
    let out = record(&engine, "p");
    let shin = HumanoidBone::LeftLowerLeg;
    // The tracker is strapped on turned 70° about its bone's axis.
    let strap = Quat::from_rotation_y(1.2);
    let sensed = |bone_world: Quat, t: u64| {
        let mut frame = SourceFrame::of_pose(PoseFrame::new(PerformerId(0)), t);
        frame.sensors[shin.index()] = Some(bone_world * strap.inverse());
        frame
    };
    // T-pose capture: the shin's world orientation is the identity while it runs.
    let performer = route.performer().clone();
    assert!(performer.begin_calibration());
    performer.start_capture(CalibrationKind::TPose);
    for i in 0..10 {
        engine.submit(&mut route, sensed(Quat::IDENTITY, 1_000 + i), 1_000 + i);
    }
    let capture = performer.end_calibration().expect("a capture ran");
    let calibration = capture.finish(&performer.calibration()).unwrap();
    engine.set_calibration(&performer, calibration);

    let knee_bent = Quat::from_rotation_x(0.8);
    engine.submit(&mut route, sensed(knee_bent, 2_000), 2_000);
    let shown = lock(&out.0).last().unwrap().bone(shin).unwrap();
    let error = kagura_protocol::rotation_error_degrees(shown, knee_bent);
    assert!(
        error < 0.02,
        "the shin turns as the tracker says, strap removed: {error}°"
    );
}

/// What replay relies on: a VMC source and the engine fed the same datagrams at the same arrival
/// times, with the timer called when it asks, publish the same bytes.
#[test]
fn a_source_and_the_engine_replay_to_the_same_bytes() {
    use kagura_capture::vmc::{VmcConfig, VmcSource, encode_vmc_frame};
    use kagura_capture::{Source, SourceEvent, SourceInput};
    let run = || {
        let engine = engine();
        let mut source = VmcSource::new(&VmcConfig::on_port(0, "p")).unwrap();
        let mut routes: Vec<StreamRoute> = source
            .streams()
            .iter()
            .map(|s| engine.attach_stream(s, "smooth"))
            .collect();
        let out = record(&engine, "p");
        let from = "10.0.0.2:5000".parse().unwrap();
        let mut t = 1_000_000u64;
        for i in 0..40u32 {
            let mut pose = PoseFrame::new(PerformerId(0));
            pose.set_bone(HumanoidBone::Head, Quat::from_rotation_y(0.02 * i as f32));
            pose.hips_position = Some(glam::Vec3::new(0.0, 0.9, 0.0));
            for d in encode_vmc_frame(&pose, i as f32 / 60.0) {
                t += 37 + u64::from(i % 7) * 11;
                source.handle_input(SourceInput::Datagram { from, bytes: &d }, t);
                while let Some(SourceEvent::Frame { stream, frame }) = source.poll_event() {
                    engine.submit(&mut routes[stream], frame, t);
                }
            }
            t += 16_000;
        }
        // The sender goes silent: the timer alone takes the pose to rest.
        while let Some(due) = engine.poll_timeout() {
            engine.handle_timeout(due);
        }
        wire_bytes(&out)
    };
    let first = run();
    assert!(
        first.len() > 38 + 10,
        "frames and the ease to rest: {}",
        first.len()
    );
    assert_eq!(first, run());
}

/// A SlimeVR-style suit (hips, thighs, shins; random straps; each tracker its own world
/// heading) through the engine: full and mounting resets by capture, then the stream's own body
/// solver gives every body bone, and hips that put the feet on the floor.
#[test]
fn a_sparse_imu_suit_gets_its_own_body_solver_after_full_and_mounting_resets() {
    use HumanoidBone::*;
    use kagura_calibration::CalibrationKind;
    let engine = engine();
    let mut route = engine.attach_stream(&spec("suit", &BodyPart::ALL, false), "raw");
    let out = record(&engine, "suit");
    let bones = [
        Hips,
        LeftUpperLeg,
        LeftLowerLeg,
        RightUpperLeg,
        RightLowerLeg,
    ];
    let strap =
        |i: usize| Quat::from_euler(glam::EulerRot::XYZ, 0.7 * i as f32, 2.0 - i as f32, 0.4);
    let world_heading = |i: usize| Quat::from_rotation_y(1.3 * i as f32 - 2.0);
    let sensed = |pose: &dyn Fn(HumanoidBone) -> Quat, t: u64| {
        let mut frame = SourceFrame::of_pose(PoseFrame::new(PerformerId(0)), t);
        for (i, bone) in bones.iter().enumerate() {
            frame.sensors[bone.index()] = Some(world_heading(i) * pose(*bone) * strap(i).inverse());
        }
        frame
    };
    let mut t = 1_000;
    let performer = route.performer().clone();
    let standing = |_: HumanoidBone| Quat::IDENTITY;
    let skiing = |b: HumanoidBone| match b {
        Hips => Quat::from_rotation_x(0.3),
        LeftUpperLeg | RightUpperLeg => Quat::from_rotation_x(-0.8),
        _ => Quat::from_rotation_x(0.6),
    };
    for (kind, pose) in [
        (
            CalibrationKind::Stand,
            &standing as &dyn Fn(HumanoidBone) -> Quat,
        ),
        (CalibrationKind::Mounting, &skiing),
    ] {
        assert!(performer.begin_calibration());
        performer.start_capture(kind);
        for _ in 0..10 {
            t += 10_000;
            engine.submit(&mut route, sensed(pose, t), t);
        }
        let capture = performer.end_calibration().expect("a capture ran");
        let calibration = capture.finish(&performer.calibration()).unwrap();
        engine.set_calibration(&performer, calibration);
    }
    // One knee bent, the other leg straight and standing.
    let lifted = |b: HumanoidBone| match b {
        LeftUpperLeg => Quat::from_rotation_x(-0.6),
        LeftLowerLeg => Quat::from_rotation_x(-0.6) * Quat::from_rotation_x(1.0),
        _ => Quat::IDENTITY,
    };
    t += 10_000;
    engine.submit(&mut route, sensed(&lifted, t), t);
    let shown = lock(&out.0).last().unwrap().clone();
    let knee = shown.bone(LeftLowerLeg).unwrap();
    let error = kagura_protocol::rotation_error_degrees(knee, Quat::from_rotation_x(1.0));
    assert!(
        error < 0.1,
        "the knee bends as it did, not sideways: {error}°"
    );
    for bone in [
        Spine, Chest, UpperChest, Neck, Head, LeftFoot, RightToes, LeftHand,
    ] {
        assert!(shown.bone(bone).is_some(), "{bone} solved");
    }
    let hips = shown.hips_position.expect("hips placed");
    let standing_hips = BodyProportions::default().standing_hips_m();
    assert!(
        (hips.y - standing_hips).abs() < 1e-3,
        "on the straight leg: {}",
        hips.y
    );

    // A VMC-like stream with hips and feet trackers keeps the simple placement.
    let mut vmc = engine.attach_stream(&spec("vr", &BodyPart::ALL, false), "raw");
    let vr = record(&engine, "vr");
    let mut frame = SourceFrame::of_pose(PoseFrame::new(PerformerId(0)), t);
    for bone in [Hips, LeftFoot, RightFoot] {
        frame.sensors[bone.index()] = Some(Quat::from_rotation_y(0.3));
    }
    engine.submit(&mut vmc, frame, t);
    let shown = lock(&vr.0).last().unwrap().clone();
    assert!(shown.hips_position.is_none() && shown.bone(LeftUpperLeg).is_none());
    assert!(vmc.body.is_none() && route.body.is_some());
}
