//! `kagura face --json` against MediaPipe itself: the same frames (scikit-image's astronaut photo
//! rotated, scaled, moved, mirrored, with the eyes painted shut, and a frame with no face) run
//! through Kagura's webcam path and through Python `mediapipe==0.10.14`'s face mesh, by
//! `tests/face/reference.py` at test time. Needs `pip install mediapipe==0.10.14 scikit-image`
//! (`.ci/run` installs them).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use glam::Quat;
use serde_json::Value;

const KAGURA: &str = env!("CARGO_BIN_EXE_kagura");
/// Mean landmark distance to MediaPipe's, pixels on a 640×480 frame, allowed per frame.
const MAX_MEAN_PIXEL_ERROR: f64 = 1.5;

struct Frame {
    file: String,
    applied: Value,
    /// MediaPipe's landmarks, `None` where it found no face.
    reference: Option<Vec<[f64; 3]>>,
}

/// Frames and MediaPipe's landmarks by sequence, made once per test run.
fn reference() -> &'static serde_json::Map<String, Value> {
    static REFERENCE: OnceLock<serde_json::Map<String, Value>> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kagura-face-ref-{}", std::process::id()));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/face/reference.py");
        let output = Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .output()
            .expect("python3 runs (the face comparison needs Python 3)");
        assert!(
            output.status.success(),
            "{} failed: {}\nInstall what it needs: pip install mediapipe==0.10.14 scikit-image",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let json = std::fs::read_to_string(dir.join("reference.json")).unwrap();
        let value: Value = serde_json::from_str(&json).unwrap();
        value["sequences"].as_object().unwrap().clone()
    })
}

fn sequence(name: &str) -> Vec<Frame> {
    reference()[name]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Frame {
            file: e["file"].as_str().unwrap().to_string(),
            applied: e["applied"].clone(),
            reference: e["landmarks"].as_array().map(|points| {
                points
                    .iter()
                    .map(|p| std::array::from_fn(|i| p[i].as_f64().unwrap()))
                    .collect()
            }),
        })
        .collect()
}

/// Runs `kagura face --json` on the frames (one tracking run) and returns one object per frame.
fn kagura_face(frames: &[Frame], extra: &[&str]) -> Vec<Value> {
    let output = Command::new(KAGURA)
        .args(["face", "--json"])
        .args(extra)
        .args(frames.iter().map(|f| &f.file))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), frames.len());
    lines
}

fn head_rotation(frame: &Value) -> Quat {
    let r: Vec<f32> = frame["head"]["rotation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    Quat::from_xyzw(r[0], r[1], r[2], r[3])
}

fn channel(frame: &Value, name: &str) -> f64 {
    frame["channels"][name].as_f64().unwrap()
}

#[test]
fn landmarks_agree_with_mediapipe_on_every_frame() {
    for name in [
        "roll",
        "scale",
        "shift",
        "mirror",
        "eyes_open",
        "eyes_shut",
        "no_face",
    ] {
        let frames = sequence(name);
        let ours = kagura_face(&frames, &[]);
        for (k, (frame, ours)) in frames.iter().zip(&ours).enumerate() {
            let found = ours["found"].as_bool().unwrap();
            // Both lose the face on the same frames (a jump too far to track from the last
            // region, a frame with none).
            assert_eq!(
                found,
                frame.reference.is_some(),
                "{name} frame {k}: found {found}"
            );
            let Some(reference) = &frame.reference else {
                continue;
            };
            let landmarks = ours["landmarks"].as_array().unwrap();
            assert_eq!(landmarks.len(), 478, "{name} frame {k}");
            let mean = reference
                .iter()
                .zip(landmarks)
                .map(|(r, p)| {
                    let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                    ((x - r[0]).powi(2) + (y - r[1]).powi(2)).sqrt()
                })
                .sum::<f64>()
                / reference.len() as f64;
            assert!(
                mean < MAX_MEAN_PIXEL_ERROR,
                "{name} frame {k}: {mean:.2} px from MediaPipe on average"
            );
            // z as MediaPipe gives it: the nose tip nearest the camera, same scale.
            let z = |i: usize| landmarks[i][2].as_f64().unwrap();
            assert!(
                (z(1) - reference[1][2]).abs() < 0.01,
                "{name} frame {k}: nose z {}",
                z(1)
            );
        }
    }
}

#[test]
fn head_roll_follows_the_image_rotation_within_2_degrees() {
    let frames = sequence("roll");
    let ours = kagura_face(&frames, &[]);
    let upright = head_rotation(&ours[0]);
    let mut worst = 0.0f32;
    for (frame, ours) in frames.iter().zip(&ours) {
        let applied = frame.applied["roll_deg"].as_f64().unwrap() as f32;
        // The image turned counter-clockwise on screen turns the face about +Z (toward the
        // camera) by the same angle: relative to the upright frame, a pure roll.
        // Its twist about Z (the swing left over is the fit's noise in yaw and pitch).
        let relative = head_rotation(ours) * upright.inverse();
        let roll = (2.0 * relative.z.atan2(relative.w)).to_degrees();
        worst = worst.max((roll - applied).abs());
    }
    assert!(worst <= 2.0, "roll off by up to {worst:.2}°");
}

#[test]
fn a_mirrored_frame_mirrors_yaw_and_roll() {
    let frames = sequence("mirror");
    let ours = kagura_face(&frames, &["--detect-every-frame"]);
    let (yaw, _, roll) = head_rotation(&ours[0]).to_euler(glam::EulerRot::YXZ);
    let (mirrored_yaw, _, mirrored_roll) = head_rotation(&ours[1]).to_euler(glam::EulerRot::YXZ);
    assert!(frames[1].applied["mirrored"].as_bool().unwrap());
    let close = |a: f32, b: f32| (a - b).to_degrees().abs() < 1.5;
    assert!(
        close(mirrored_yaw, -yaw),
        "yaw {yaw} mirrored {mirrored_yaw}"
    );
    assert!(
        close(mirrored_roll, -roll),
        "roll {roll} mirrored {mirrored_roll}"
    );
    assert!(
        roll.to_degrees().abs() > 1.5,
        "the photo's own roll makes this test meaningful"
    );
    // The face's right eye is on the image's left: mirrored, it moves to the right.
    let x = |f: &Value| f["landmarks"][33][0].as_f64().unwrap();
    assert!(x(&ours[0]) < 320.0 && x(&ours[1]) > 320.0);
}

#[test]
fn closing_the_eyes_in_the_image_raises_the_blink_channels() {
    let open = kagura_face(&sequence("eyes_open"), &[]);
    let shut = kagura_face(&sequence("eyes_shut"), &[]);
    for eye in ["eyeBlinkLeft", "eyeBlinkRight"] {
        let (a, b) = (channel(&open[0], eye), channel(&shut[0], eye));
        assert!(a < 0.2 && b > a + 0.4, "{eye}: open {a:.2}, shut {b:.2}");
    }
    // The smiling astronaut smiles on both sides, and the smile does not read as a cheek puff.
    assert!(
        channel(&open[0], "mouthSmileLeft") > 0.5 && channel(&open[0], "mouthSmileRight") > 0.5
    );
    assert!(channel(&open[0], "cheekPuff") < 0.2);
}
