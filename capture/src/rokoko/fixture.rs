//! Rokoko Studio Live v3 frames written from the documented layout
//! (`../shared/reference/suits.md` §3 and Studio's own T-pose frame), for tests and
//! benchmarks; independent of [`super::parser`]. JSON is written by hand, key by key, as
//! Studio lays it out.

use glam::{Quat, Vec3};

use super::skeleton::JOINTS;

/// ARKit's 52 names, as Studio's `face` object spells them.
pub const ARKIT: [&str; 52] = [
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
];

fn joint(position: Vec3, rotation: Quat) -> String {
    format!(
        r#"{{"position":{{"x":{},"y":{},"z":{}}},"rotation":{{"x":{},"y":{},"z":{},"w":{}}}}}"#,
        position.x, position.y, position.z, rotation.x, rotation.y, rotation.z, rotation.w
    )
}

/// An actor in Studio's T-pose, except joints `posed` gives a world rotation (Unity axes) for;
/// with `face`, its 52 blendshapes at `k`·1.9 (0–100, k the name's index) and `faceId`.
pub fn actor_posed(name: &str, face: bool, posed: &dyn Fn(&str) -> Option<Quat>) -> String {
    let body: Vec<String> = JOINTS
        .iter()
        .map(|j| {
            let rotation = posed(&j.name).unwrap_or(j.tpose_rotation);
            format!("\"{}\":{}", j.name, joint(j.tpose_position, rotation))
        })
        .collect();
    let face = if face {
        let shapes: Vec<String> = ARKIT
            .iter()
            .enumerate()
            .map(|(k, n)| format!("\"{n}\":{}", k as f32 * 1.9))
            .collect();
        format!(r#","face":{{"faceId":"iphone",{}}}"#, shapes.join(","))
    } else {
        String::new()
    };
    format!(
        r#"{{"name":"{name}","color":[0,138,152],"meta":{{"hasGloves":true,"hasLeftGlove":true,"hasRightGlove":true,"hasBody":true,"hasFace":{face_flag}}},"dimensions":{{"totalHeight":1.93,"hipHeight":1.02497}},"body":{{{body}}}{face}}}"#,
        face_flag = !face.is_empty(),
        body = body.join(","),
    )
}

/// An actor in Studio's T-pose.
pub fn actor(name: &str, face: bool) -> String {
    actor_posed(name, face, &|_| None)
}

/// A Studio 2 newton or character: a joint list with parents, world rotations (Unity axes;
/// identity is the T-pose), here every joint identity except the head's `head`.
pub fn newton(name: &str, head: Quat) -> String {
    let names = [
        ("Hips", -1, 0.95),
        ("Spine", 0, 1.05),
        ("Chest", 1, 1.2),
        ("Neck", 2, 1.5),
        ("Head", 3, 1.6),
        ("LeftUpperArm", 2, 1.45),
        ("LeftFinger1Metacarpal", 5, 1.45),
    ];
    let joints: Vec<String> = names
        .iter()
        .map(|(n, parent, y)| {
            let rotation = if *n == "Head" { head } else { Quat::IDENTITY };
            let j = joint(Vec3::new(0.0, *y, 0.0), rotation);
            format!(r#"{{"name":"{n}","parent":{parent},{}"#, &j[1..])
        })
        .collect();
    format!(
        r#"{{"name":"{name}","color":[1,2,3],"meta":{{"hasHands":false,"hasBody":true,"hasFace":false}},"dimensions":{{"totalHeight":1.8,"hipHeight":0.95}},"joints":[{}]}}"#,
        joints.join(",")
    )
}

/// A whole v3 frame: `version` is the JSON literal (`3.0`, `"3,0"`), one prop.
pub fn frame_json(version: &str, actors: &[String], timestamp_s: f64) -> String {
    frame_json_with(version, actors, &[], timestamp_s)
}

/// A frame with Studio 2's `newtons` too.
pub fn frame_json_with(
    version: &str,
    actors: &[String],
    newtons: &[String],
    timestamp_s: f64,
) -> String {
    format!(
        r#"{{"version":{version},"timecode":0.0,"fps":60.0,"scene":{{"timestamp":{timestamp_s},"actors":[{}],"newtons":[{}],"characters":[],"props":[{{"name":"stick","color":[1,1,1],"type":2,"position":{{"x":0,"y":1,"z":0}},"rotation":{{"x":0,"y":0,"z":0,"w":1}}}}]}}}}"#,
        actors.join(","),
        newtons.join(",")
    )
}

/// `bytes` in the LZ4 frame format, as Studio sends them.
pub fn lz4(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}
