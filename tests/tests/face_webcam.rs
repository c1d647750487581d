//! The webcam source end to end: frames of a real face photo (scikit-image's astronaut, made by
//! `tests/face/reference.py --frames-only`; needs `pip install scikit-image`) tracked in the
//! server, a QUIC subscriber sees the head and the channels; then frames with no face: the head
//! and face hold, then ease to rest, while the body from a BVH source plays on untouched.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kagura_capture::SourceConfig;
use kagura_capture::bvh::BvhConfig;
use kagura_capture::webcam::{MeshChoice, WebcamConfig};
use kagura_merge::BodyPart;
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, HumanoidBone, PoseFrame};
use kagura_tests::*;
use tokio::time::timeout;

/// Frames of the face, then frames without one, at 30 per second.
const FACE_FRAMES: usize = 60;
const EMPTY_FRAMES: usize = 30;

fn frames() -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("kagura-webcam-frames-{}", std::process::id()));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("face/reference.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&dir)
        .arg("--frames-only")
        .output()
        .expect("python3 runs (the webcam test makes its frames with scikit-image)");
    assert!(
        output.status.success(),
        "{} failed: {}\nInstall what it needs: pip install scikit-image",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    (dir.join("roll_00.png"), dir.join("no_face.png"))
}

fn has_face(frame: &PoseFrame) -> bool {
    frame
        .expression(Expression::MouthSmileLeft)
        .is_some_and(|w| w > 0.3)
        && frame.bone(HumanoidBone::Neck).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracked_face_drives_head_and_channels_then_eases_to_rest_without_touching_the_body() {
    let (face, empty) = frames();
    let mut config = test_config("webcam");
    config.merging.hold_ms = 200;
    config.merging.ease_ms = 300;
    let mut files = vec![face; FACE_FRAMES];
    files.extend(std::iter::repeat_n(empty, EMPTY_FRAMES));
    config.source.push(SourceConfig::Webcam(WebcamConfig {
        performer: "alice".into(),
        camera: None,
        files,
        video: None,
        width: 640,
        height: 480,
        fps: 30.0,
        looped: false,
        mirror: false,
        mesh: MeshChoice::Irises,
        models: None,
        parts: None,
        priority: 10,
    }));
    config.source.push(SourceConfig::Bvh(BvhConfig {
        file: concat!(env!("CARGO_MANIFEST_DIR"), "/data/a_pose.bvh").into(),
        performer: "alice".into(),
        filter: false,
        parts: Some(vec![BodyPart::Spine, BodyPart::Arms, BodyPart::Legs]),
        priority: 0,
    }));
    let server = start_server(config).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::Named(vec!["alice".into()]))
        .await
        .unwrap();

    // The face: the astronaut smiles, her head is rolled a few degrees, the neck takes a share.
    let tracked = timeout(Duration::from_secs(30), async {
        loop {
            let frame = subscriber.next_frame().await.unwrap();
            if has_face(&frame) {
                return frame;
            }
        }
    })
    .await
    .expect("the tracked face reaches the subscriber");
    let head =
        tracked.bone(HumanoidBone::Neck).unwrap() * tracked.bone(HumanoidBone::Head).unwrap();
    let (_, _, roll) = head.to_euler(glam::EulerRot::YXZ);
    assert!(
        roll.to_degrees().abs() > 1.0 && roll.to_degrees().abs() < 8.0,
        "roll {roll}"
    );
    assert!(
        tracked
            .expression(Expression::EyeBlinkLeft)
            .is_some_and(|w| w < 0.3)
    );
    assert!(
        tracked
            .expression(Expression::Happy)
            .is_some_and(|w| w > 0.3),
        "happy from the smile"
    );
    assert!(
        tracked.bone(HumanoidBone::LeftEye).is_some(),
        "gaze from the irises"
    );
    assert!(
        tracked.bone(HumanoidBone::Hips).is_some(),
        "the body from the BVH source"
    );

    // No face any more: the face eases out to rest; the body keeps playing.
    let rest = timeout(Duration::from_secs(30), async {
        loop {
            let frame = subscriber.next_frame().await.unwrap();
            let smile = frame.expression(Expression::MouthSmileLeft).unwrap_or(0.0);
            let head_turn = frame
                .bone(HumanoidBone::Head)
                .map_or(0.0, |q| q.angle_between(glam::Quat::IDENTITY));
            if smile < 0.01 && head_turn < 0.01 {
                return frame;
            }
        }
    })
    .await
    .expect("the face eases to rest once no face is found");
    assert!(
        rest.bone(HumanoidBone::Hips).is_some(),
        "the body is untouched"
    );
    assert!(rest.bone(HumanoidBone::LeftUpperArm).is_some());

    let status = status_json(&server).await.unwrap();
    let webcam = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "webcam")
        .unwrap_or_else(|| panic!("no webcam source in {status}"));
    let counters = &webcam["streams"][0]["counters"];
    assert!(counters["faces"].as_u64().unwrap() >= 1, "{counters}");
    assert!(counters["no_face"].as_u64().unwrap() >= 1, "{counters}");
    assert_eq!(counters["errors"], 0, "{counters}");
}
