//! Rokoko Studio Live's JSON v3 (`../shared/reference/suits.md` §3), LZ4-framed or plain: a
//! lenient serde reader into fixed per-joint arrays. Sizes are bounded: the datagram (64 KiB),
//! what LZ4 may expand it to (1 MiB), the scene's lists and a character's joints.

use std::io::Read;

use glam::{Quat, Vec3};
use kagura_protocol::Expression;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use thiserror::Error;

use super::skeleton::{JOINT_COUNT, joint_index};
use crate::face::names::{ChannelName, channel_from_name};

/// Largest datagram accepted.
pub const MAX_DATAGRAM_LEN: usize = 64 * 1024;
/// Largest JSON accepted after LZ4.
pub const MAX_JSON_LEN: usize = 1024 * 1024;
/// At most this many actors, newtons, characters or props per scene, and joints per character.
pub const MAX_ITEMS: usize = 256;
/// The LZ4 frame format's magic number, little-endian.
pub const LZ4_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RokokoError {
    #[error("datagram longer than {MAX_DATAGRAM_LEN} bytes")]
    Oversized,
    #[error("LZ4 frame does not decompress: {0}")]
    Lz4(String),
    #[error("neither LZ4 nor JSON")]
    NotJson,
    #[error("JSON: {0}")]
    Json(String),
    #[error("version {0}: only v3 is read")]
    Version(String),
    #[error("more than {MAX_ITEMS} items in a list")]
    TooMany,
}

/// A joint: world position (m) and world rotation (Unity axes), as sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct JointPose {
    pub position: V3,
    pub rotation: Q4,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct V3 {
    pub x: f32,
    pub y: f32,
    pub z: f32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct Q4 {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    pub w: f32,
}

impl From<V3> for Vec3 {
    fn from(v: V3) -> Vec3 {
        Vec3::new(v.x, v.y, v.z)
    }
}

impl From<Q4> for Quat {
    fn from(q: Q4) -> Quat {
        Quat::from_xyzw(q.x, q.y, q.z, q.w)
    }
}

/// An actor's body: its joints by index in [`super::skeleton::JOINTS`]; unknown names skipped.
#[derive(Clone, Debug)]
pub struct Body(pub Box<[Option<JointPose>; JOINT_COUNT]>);

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Body;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of joints")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
                let mut joints = Box::new([None; JOINT_COUNT]);
                while let Some(key) = map.next_key::<Key>()? {
                    match joint_index(&key.0) {
                        Some(i) => joints[i] = Some(map.next_value()?),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Body(joints))
            }
        }
        d.deserialize_map(V)
    }
}

/// A map key, borrowed when the JSON allows it.
struct Key(std::borrow::Cow<'static, str>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Keys are short; an owned copy only when the key is escaped or not borrowable.
        String::deserialize(d).map(|s| Key(s.into()))
    }
}

/// An actor's face: the ARKit channels, 0–100 as sent.
#[derive(Clone, Debug, Default)]
pub struct Face {
    pub channels: Vec<(Expression, f32)>,
    /// Keys that are not ARKit names (`faceId` aside).
    pub unknown: usize,
}

impl<'de> Deserialize<'de> for Face {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Face;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of blendshapes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Face, A::Error> {
                let mut face = Face::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match channel_from_name(&key.0) {
                        Some(ChannelName::Arkit(e)) if face.channels.len() < MAX_ITEMS => {
                            let value = map.next_value::<serde_json::Value>()?;
                            match value.as_f64() {
                                Some(v) if v.is_finite() => face.channels.push((e, v as f32)),
                                _ => face.unknown += 1,
                            }
                        }
                        _ => {
                            if key.0 != "faceId" {
                                face.unknown += 1;
                            }
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(face)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default, rename = "hasFace")]
    pub has_face: bool,
    #[serde(default, rename = "hasBody")]
    pub has_body: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Dimensions {
    #[serde(default, rename = "hipHeight")]
    pub hip_height: Option<f32>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Actor {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub dimensions: Dimensions,
    #[serde(default)]
    pub body: Option<Body>,
    #[serde(default)]
    pub face: Option<Face>,
}

/// A Studio 2 newton or character joint.
#[derive(Clone, Debug, Deserialize)]
pub struct NamedJoint {
    pub name: String,
    /// Index of the parent in the same list; −1 (or absent) for the root.
    #[serde(default = "no_parent")]
    pub parent: i64,
    pub position: V3,
    pub rotation: Q4,
}

fn no_parent() -> i64 {
    -1
}

/// A Studio 2 newton or retargeted character: a named joint list with parents.
#[derive(Clone, Debug, Deserialize)]
pub struct Character {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "bounded")]
    pub joints: Vec<NamedJoint>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Scene {
    #[serde(default)]
    pub timestamp: Option<f64>,
    #[serde(default, deserialize_with = "bounded")]
    pub actors: Vec<Actor>,
    #[serde(default, deserialize_with = "bounded")]
    pub newtons: Vec<Character>,
    #[serde(default, deserialize_with = "bounded")]
    pub characters: Vec<Character>,
    #[serde(default, deserialize_with = "bounded")]
    pub props: Vec<IgnoredAny>,
}

/// `version`: a number (`3.0`) or a string with a locale's decimal comma (`"3,0"`).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum Version {
    Number(f64),
    Text(String),
}

impl Version {
    fn major(&self) -> Option<u32> {
        match self {
            Version::Number(n) if n.is_finite() && *n >= 0.0 => Some(*n as u32),
            Version::Number(_) => None,
            Version::Text(t) => t.trim().split([',', '.']).next()?.trim().parse().ok(),
        }
    }

    fn text(&self) -> String {
        match self {
            Version::Number(n) => n.to_string(),
            Version::Text(t) => t.chars().take(16).collect(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
struct Document {
    #[serde(default)]
    version: Option<Version>,
    #[serde(default)]
    fps: Option<f64>,
    #[serde(default)]
    scene: Scene,
    /// Studio 1's "JSON v2.5" says version 3 with v2 content: its trackers list gives it away.
    #[serde(default)]
    trackers: Option<IgnoredAny>,
}

/// One datagram, read.
#[derive(Clone, Debug)]
pub struct RokokoFrame {
    pub version: u32,
    pub fps: Option<f64>,
    pub scene: Scene,
    /// Whether it came LZ4-compressed.
    pub compressed: bool,
}

/// A list of at most [`MAX_ITEMS`].
fn bounded<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_ITEMS}")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                if out.len() == MAX_ITEMS {
                    return Err(de::Error::custom("too many items"));
                }
                out.push(item);
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// Decompresses an LZ4 frame into `out` (cleared first), at most [`MAX_JSON_LEN`] bytes.
pub fn decompress(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), RokokoError> {
    out.clear();
    let decoder = lz4_flex::frame::FrameDecoder::new(bytes);
    decoder
        .take(MAX_JSON_LEN as u64 + 1)
        .read_to_end(out)
        .map_err(|e| RokokoError::Lz4(e.to_string()))?;
    if out.len() > MAX_JSON_LEN {
        return Err(RokokoError::Lz4(format!(
            "expands beyond {MAX_JSON_LEN} bytes"
        )));
    }
    Ok(())
}

/// Reads one datagram; `scratch` holds the decompressed JSON (reused between datagrams).
pub fn parse(bytes: &[u8], scratch: &mut Vec<u8>) -> Result<RokokoFrame, RokokoError> {
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(RokokoError::Oversized);
    }
    let compressed = bytes.starts_with(&LZ4_MAGIC);
    let json: &[u8] = if compressed {
        decompress(bytes, scratch)?;
        scratch
    } else {
        bytes
    };
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(RokokoError::NotJson);
    }
    let document: Document = serde_json::from_slice(json).map_err(|e| {
        if e.to_string().contains("too many items") {
            RokokoError::TooMany
        } else {
            RokokoError::Json(e.to_string())
        }
    })?;
    let version = document.version.as_ref();
    let major = version.and_then(Version::major);
    if document.trackers.is_some() || major.is_some_and(|m| m != 3) {
        let text = version.map_or("none".into(), Version::text);
        return Err(RokokoError::Version(if document.trackers.is_some() {
            format!("{text} (v2 content)")
        } else {
            text
        }));
    }
    Ok(RokokoFrame {
        version: 3,
        fps: document.fps.filter(|f| f.is_finite()),
        scene: document.scene,
        compressed,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_studio_frame_reads_plain_and_lz4_with_either_version_spelling() {
        let mut scratch = Vec::new();
        for version in ["3.0", "\"3,0\"", "3"] {
            let json = fixture::frame_json(version, &[fixture::actor("Alice", true)], 2.5);
            for bytes in [json.clone().into_bytes(), fixture::lz4(json.as_bytes())] {
                let frame = parse(&bytes, &mut scratch).unwrap();
                assert_eq!(frame.compressed, bytes.starts_with(&LZ4_MAGIC));
                assert_eq!(frame.scene.timestamp, Some(2.5));
                assert_eq!(frame.scene.props.len(), 1);
                let actor = &frame.scene.actors[0];
                assert_eq!(actor.name, "Alice");
                assert_eq!(actor.body.as_ref().unwrap().0.iter().flatten().count(), 63);
                let face = actor.face.as_ref().unwrap();
                assert_eq!(face.channels.len(), 52);
                assert_eq!(face.unknown, 0);
            }
        }
    }

    #[test]
    fn other_versions_and_bad_input_are_named() {
        let mut scratch = Vec::new();
        let v2 = r#"{"version":3,"trackers":[],"scene":{}}"#;
        assert!(matches!(
            parse(v2.as_bytes(), &mut scratch),
            Err(RokokoError::Version(_))
        ));
        let v4 = fixture::frame_json("\"4,1\"", &[], 0.0);
        assert!(matches!(
            parse(v4.as_bytes(), &mut scratch),
            Err(RokokoError::Version(_))
        ));
        assert_eq!(
            parse(b"hello", &mut scratch).unwrap_err(),
            RokokoError::NotJson
        );
        assert!(matches!(
            parse(b"{\"scene\":", &mut scratch),
            Err(RokokoError::Json(_))
        ));
        let json = fixture::frame_json("3", &[fixture::actor("A", false)], 0.0);
        let lz4 = fixture::lz4(json.as_bytes());
        assert!(matches!(
            parse(&lz4[..lz4.len() / 2], &mut scratch),
            Err(RokokoError::Lz4(_))
        ));
        assert_eq!(
            parse(&vec![b' '; MAX_DATAGRAM_LEN + 1], &mut scratch).unwrap_err(),
            RokokoError::Oversized
        );
        let many = format!(
            r#"{{"version":3,"scene":{{"props":[{}]}}}}"#,
            vec!["0"; 300].join(",")
        );
        assert_eq!(
            parse(many.as_bytes(), &mut scratch).unwrap_err(),
            RokokoError::TooMany
        );
        // A bomb: 1 MiB + of zeros compresses to a few KiB and is refused whole.
        let bomb = fixture::lz4(&vec![b' '; MAX_JSON_LEN + 10]);
        assert!(bomb.len() < MAX_DATAGRAM_LEN);
        assert!(matches!(
            parse(&bomb, &mut scratch),
            Err(RokokoError::Lz4(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut scratch = Vec::new();
            let _ = parse(&bytes, &mut scratch);
            let mut framed = LZ4_MAGIC.to_vec();
            framed.extend_from_slice(&bytes);
            let _ = parse(&framed, &mut scratch);
        }

        #[test]
        fn mutated_frames_never_panic(at in 0usize..4000, value: u8) {
            let json = fixture::frame_json("3", &[fixture::actor("A", true)], 1.0);
            let mut bytes = json.into_bytes();
            let at = at % bytes.len();
            bytes[at] = value;
            let mut scratch = Vec::new();
            let _ = parse(&bytes, &mut scratch);
        }
    }
}
