//! A total, lenient reader of one VTube Studio tracking datagram (JSON).
//!
//! Fields as DenchiSoft's `VTubeStudioRawTrackingData` names them (`Timestamp`, `Hotkey`,
//! `FaceFound`, `Rotation`, `Position`, `EyeLeft`, `EyeRight`, `BlendShapes: [{k, v}]`), also
//! in lower case; unknown fields ignored ("some fields may be added"), any field missing.
//! Blend shape names in any case and with `_L`/`_R` (Android), and Android's
//! `browInnerUpLeft`/`Right` averaged into `browInnerUp`; a shape not sent stays absent.

use std::borrow::Cow;

use glam::Vec3;
use kagura_protocol::Expression;
use serde::Deserialize;

use crate::face::FaceSample;
use crate::face::names::{ChannelName, channel_from_name};

/// The longest datagram read, bytes (a real one is about 3 KB).
pub const MAX_DATAGRAM_LEN: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
pub struct Xyz {
    #[serde(default, alias = "X")]
    pub x: f32,
    #[serde(default, alias = "Y")]
    pub y: f32,
    #[serde(default, alias = "Z")]
    pub z: f32,
}

impl From<Xyz> for Vec3 {
    fn from(v: Xyz) -> Vec3 {
        Vec3::new(v.x, v.y, v.z)
    }
}

#[derive(Debug, Deserialize)]
struct Shape<'a> {
    #[serde(borrow, alias = "K")]
    k: Cow<'a, str>,
    #[serde(default, alias = "V")]
    v: Option<f32>,
}

#[derive(Debug, Deserialize)]
struct Raw<'a> {
    #[serde(default, rename = "Timestamp", alias = "timestamp")]
    timestamp: Option<f64>,
    #[serde(default, rename = "Hotkey", alias = "hotkey")]
    hotkey: Option<i64>,
    #[serde(default, rename = "FaceFound", alias = "faceFound")]
    face_found: Option<bool>,
    #[serde(default, rename = "Rotation", alias = "rotation")]
    rotation: Option<Xyz>,
    #[serde(default, rename = "Position", alias = "position")]
    position: Option<Xyz>,
    #[serde(default, rename = "EyeLeft", alias = "eyeLeft")]
    eye_left: Option<Xyz>,
    #[serde(default, rename = "EyeRight", alias = "eyeRight")]
    eye_right: Option<Xyz>,
    #[serde(default, borrow, rename = "BlendShapes", alias = "blendShapes")]
    blend_shapes: Vec<Shape<'a>>,
}

/// What one datagram held besides its blend shapes, in the phone's units and axes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VtsData {
    /// Unix milliseconds on the phone's clock.
    pub timestamp_ms: Option<f64>,
    /// The last on-screen hotkey pressed (−1: none).
    pub hotkey: Option<i64>,
    /// Missing: taken as found.
    pub face_found: bool,
    /// Degrees: x pitch, y yaw, z roll (Unity order).
    pub rotation: Option<Vec3>,
    /// Unknown units (not metres: a face in front of the phone reads z ≈ 4.7).
    pub position: Option<Vec3>,
    pub eye_left: Option<Vec3>,
    pub eye_right: Option<Vec3>,
    pub shapes: u32,
    /// Shapes Kagura does not know (not errors).
    pub unknown_shapes: u32,
    /// Shapes whose value was missing or not finite.
    pub bad_values: u32,
}

/// Why a datagram gave nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VtsParseError {
    #[error("datagram longer than {MAX_DATAGRAM_LEN} bytes")]
    Oversized,
    #[error("not a tracking data object: {0}")]
    Json(String),
}

/// Parses one datagram: blend shapes into `sample`'s channels (not clamped), the rest into the
/// returned [`VtsData`]. `sample` is not cleared first.
pub fn parse(bytes: &[u8], sample: &mut FaceSample) -> Result<VtsData, VtsParseError> {
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(VtsParseError::Oversized);
    }
    // An object, not an array (which serde would read field by field).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(VtsParseError::Json("not a JSON object".into()));
    }
    let raw: Raw<'_> =
        serde_json::from_slice(bytes).map_err(|e| VtsParseError::Json(e.to_string()))?;
    let finite = |v: Option<Xyz>| v.map(Vec3::from).filter(|v| v.is_finite());
    let mut data = VtsData {
        timestamp_ms: raw.timestamp.filter(|t| t.is_finite()),
        hotkey: raw.hotkey,
        face_found: raw.face_found.unwrap_or(true),
        rotation: finite(raw.rotation),
        position: finite(raw.position),
        eye_left: finite(raw.eye_left),
        eye_right: finite(raw.eye_right),
        ..VtsData::default()
    };
    let (mut brow_halves, mut brow_count) = (0.0f32, 0u32);
    for shape in &raw.blend_shapes {
        let Some(name) = channel_from_name(&shape.k) else {
            data.unknown_shapes += 1;
            continue;
        };
        let Some(value) = shape.v.filter(|v| v.is_finite()) else {
            data.bad_values += 1;
            continue;
        };
        data.shapes += 1;
        match name {
            ChannelName::Arkit(e) => sample.set_channel(e, value),
            ChannelName::BrowInnerUpHalf => {
                brow_halves += value;
                brow_count += 1;
            }
        }
    }
    if brow_count > 0 && sample.channel(Expression::BrowInnerUp).is_none() {
        sample.set_channel(Expression::BrowInnerUp, brow_halves / brow_count as f32);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The captured datagram in face.md B.2, verbatim.
    const SAMPLE: &str = include_str!("vts_sample.json");

    #[test]
    fn the_captured_sample_gives_52_shapes_and_every_field() {
        let mut sample = FaceSample::default();
        let data = parse(SAMPLE.trim().as_bytes(), &mut sample).unwrap();
        assert_eq!(data.shapes, 52);
        assert_eq!((data.unknown_shapes, data.bad_values), (0, 0));
        assert_eq!(sample.channels().count(), 52);
        let close = |a: Option<f32>, b: f32| (a.unwrap() - b).abs() < 1e-6;
        assert!(close(sample.channel(Expression::JawOpen), 0.103_551_26));
        assert!(close(
            sample.channel(Expression::EyeBlinkLeft),
            0.002_938_014
        ));
        assert_eq!(data.timestamp_ms, Some(1664817520079.0));
        assert_eq!(data.hotkey, Some(-1));
        assert!(data.face_found);
        let rotation = data.rotation.unwrap();
        assert!((rotation - Vec3::new(-11.091_268, 9.422_998, 3.164_631)).length() < 1e-5);
        let eye = data.eye_right.unwrap();
        assert!((eye - Vec3::new(3.459_942_6, 12.894_958, 0.713_227_4)).length() < 1e-5);
        assert!(data.position.is_some() && data.eye_left.is_some());
    }

    /// Android's spellings, unknown fields and shapes, a missing shape, a lost face.
    #[test]
    fn android_spellings_and_unknown_fields_are_read_leniently() {
        let text = r#"{"timestamp":5,"FaceFound":false,"NewField":{"a":[1,2]},
            "Rotation":{"x":1,"y":2},
            "BlendShapes":[{"k":"jawOpen","v":0.5},{"k":"eyeLookOut_L","v":0.25},
              {"k":"mouthSmile_R","v":0.75},{"k":"browInnerUpLeft","v":0.2},
              {"k":"browInnerUpRight","v":0.4},{"k":"tongueStuff","v":1},{"k":"CheekPuff"},
              {"k":"EYEBLINKRIGHT","v":0.125}]}"#;
        let mut sample = FaceSample::default();
        let data = parse(text.as_bytes(), &mut sample).unwrap();
        assert!(!data.face_found);
        assert_eq!(data.rotation, Some(Vec3::new(1.0, 2.0, 0.0)));
        assert_eq!(data.timestamp_ms, Some(5.0));
        assert_eq!(data.eye_left, None);
        assert_eq!(sample.channel(Expression::JawOpen), Some(0.5));
        assert_eq!(sample.channel(Expression::EyeLookOutLeft), Some(0.25));
        assert_eq!(sample.channel(Expression::MouthSmileRight), Some(0.75));
        assert_eq!(sample.channel(Expression::EyeBlinkRight), Some(0.125));
        assert!((sample.channel(Expression::BrowInnerUp).unwrap() - 0.3).abs() < 1e-6);
        assert_eq!(sample.channel(Expression::CheekPuff), None);
        assert_eq!(sample.channel(Expression::MouthClose), None, "not sent");
        assert_eq!((data.unknown_shapes, data.bad_values), (1, 1));
    }

    #[test]
    fn bad_datagrams_are_errors() {
        let mut sample = FaceSample::default();
        for bad in [
            &b""[..],
            b"{",
            b"[1,2]",
            b"null",
            b"{\"BlendShapes\":7}",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(parse(bad, &mut sample), Err(VtsParseError::Json(_))),
                "{bad:?}"
            );
        }
        let mut big = b"{\"x\":\"".to_vec();
        big.resize(MAX_DATAGRAM_LEN, b'a');
        big.extend_from_slice(b"\"}");
        assert_eq!(parse(&big, &mut sample), Err(VtsParseError::Oversized));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut sample = FaceSample::default();
            let _ = parse(&bytes, &mut sample);
        }

        #[test]
        fn any_json_shaped_text_parses_without_panicking(
            text in r#"[{}\[\]:,"a-zA-Z0-9_.e+\- ]{0,400}"#
        ) {
            let mut sample = FaceSample::default();
            let _ = parse(text.as_bytes(), &mut sample);
        }
    }
}
