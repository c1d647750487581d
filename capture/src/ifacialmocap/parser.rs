//! A total, lenient parser of one iFacialMocap datagram.
//!
//! The format (v1): `name-value|…|=head#rx,ry,rz,px,py,pz|rightEye#rx,ry,rz|leftEye#rx,ry,rz|`;
//! v2 writes `name&value`. What real senders add is accepted: `_L`/`_R` or full ARKit names in
//! any case, spaces around separators (MeowFace's `" & "`), items in any order, unknown items
//! (`trackingStatus&1`, `hapihapi-0`, Facemotion3d's `FM_…`), trailing junk, negative values
//! (`name--25` in v1) and values above 100. Shapes not sent stay absent. Bad items are skipped
//! and counted; the rest of the datagram is still read.

use glam::Vec3;

use crate::face::FaceSample;
use crate::face::names::{ChannelName, channel_from_name};
use kagura_protocol::Expression;

/// The longest datagram read; a real frame is about 1 KB.
pub const MAX_DATAGRAM_LEN: usize = 64 * 1024;

/// What one datagram held besides its blend shapes, in the sender's own units and axes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct IfmItems {
    /// `head#` Euler angles, degrees (x pitch, y yaw, z roll, Unity order).
    pub head_euler: Option<Vec3>,
    /// `head#` items 4–6, metres, Unity axes.
    pub head_position: Option<Vec3>,
    pub right_eye_euler: Option<Vec3>,
    pub left_eye_euler: Option<Vec3>,
    /// Blend shapes read.
    pub shapes: u32,
    /// Items ignored: unknown names and junk.
    pub unknown: u32,
    /// Items with a known name but an unreadable value (not a number, NaN, too few angles).
    pub malformed: u32,
}

/// Why a datagram gave nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("datagram longer than {MAX_DATAGRAM_LEN} bytes")]
    Oversized,
    #[error("not UTF-8 text")]
    NotText,
    #[error("no blend shape or head item")]
    Unrecognised,
}

/// Parses one datagram: blend shapes (÷100, not clamped) into `sample`'s channels, the rest
/// into the returned [`IfmItems`]. `sample` is not cleared first.
pub fn parse(bytes: &[u8], sample: &mut FaceSample) -> Result<IfmItems, ParseError> {
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(ParseError::Oversized);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ParseError::NotText)?;
    let mut items = IfmItems::default();
    let (mut brow_halves, mut brow_count) = (0.0f32, 0u32);
    for item in text.split('|') {
        let item = item.trim();
        let item = item.strip_prefix('=').unwrap_or(item).trim();
        if item.is_empty() {
            continue;
        }
        if let Some((name, values)) = item.split_once('#') {
            let name = name.trim();
            let slot = if name.eq_ignore_ascii_case("head") {
                &mut items.head_euler
            } else if name.eq_ignore_ascii_case("rightEye") {
                &mut items.right_eye_euler
            } else if name.eq_ignore_ascii_case("leftEye") {
                &mut items.left_eye_euler
            } else {
                items.unknown += 1;
                continue;
            };
            let mut numbers = [0f32; 6];
            match read_numbers(values, &mut numbers) {
                Some(n) if n >= 3 => {
                    *slot = Some(Vec3::new(numbers[0], numbers[1], numbers[2]));
                    if n >= 6 && name.eq_ignore_ascii_case("head") {
                        items.head_position = Some(Vec3::new(numbers[3], numbers[4], numbers[5]));
                    }
                }
                _ => items.malformed += 1,
            }
            continue;
        }
        // v2 `name&value`, v1 `name-value` (a negative v1 value reads `name--25`).
        let Some(at) = item.find(['&', '-']) else {
            items.unknown += 1;
            continue;
        };
        let Some(channel) = channel_from_name(&item[..at]) else {
            items.unknown += 1;
            continue;
        };
        let value = match item[at + 1..].trim().parse::<f32>() {
            Ok(v) if v.is_finite() => v / 100.0,
            _ => {
                items.malformed += 1;
                continue;
            }
        };
        items.shapes += 1;
        match channel {
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
    if items.shapes == 0 && items.head_euler.is_none() {
        return Err(ParseError::Unrecognised);
    }
    Ok(items)
}

/// Reads up to `out.len()` comma-separated finite numbers; `None` if any is not one. More than
/// that many: the rest are ignored.
fn read_numbers(text: &str, out: &mut [f32]) -> Option<usize> {
    let mut n = 0;
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() && n > 0 {
            continue;
        }
        let v: f32 = part.parse().ok().filter(|v: &f32| v.is_finite())?;
        if let Some(slot) = out.get_mut(n) {
            *slot = v;
            n += 1;
        }
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The developer's published v1 sample, verbatim (face.md A.2).
    pub const V1_SAMPLE: &str = "mouthSmile_R-0|eyeLookOut_L-0|mouthUpperUp_L-11|eyeWide_R-0|mouthClose-8|mouthPucker-4|mouthRollLower-9|eyeBlink_R-7|eyeLookDown_L-17|cheekSquint_R-11|eyeBlink_L-7|tongueOut-0|jawRight-0|eyeLookIn_R-6|cheekSquint_L-11|mouthDimple_L-10|mouthPress_L-4|eyeSquint_L-11|mouthRight-0|mouthShrugLower-9|eyeLookUp_R-0|eyeLookOut_R-0|mouthPress_R-5|cheekPuff-2|jawForward-11|mouthLowerDown_L-9|mouthFrown_L-6|mouthShrugUpper-26|browOuterUp_L-4|browInnerUp-20|mouthDimple_R-10|browDown_R-0|mouthUpperUp_R-10|mouthRollUpper-8|mouthFunnel-12|mouthStretch_R-21|mouthFrown_R-13|eyeLookDown_R-17|jawOpen-12|jawLeft-0|browDown_L-0|mouthSmile_L-0|noseSneer_R-18|mouthLowerDown_R-8|noseSneer_L-21|eyeWide_L-0|mouthStretch_L-21|browOuterUp_R-4|eyeLookIn_L-4|eyeSquint_R-11|eyeLookUp_L-0|mouthLeft-1|=head#-21.488958,-6.038993,-6.6019735,-0.030653415,-0.10287084,-0.6584072|rightEye#6.0297494,2.4403017,0.25649446|leftEye#6.034903,-1.6660284,-0.17520553|";

    fn parsed(text: &str) -> (FaceSample, IfmItems) {
        let mut sample = FaceSample::default();
        let items = parse(text.as_bytes(), &mut sample).unwrap();
        (sample, items)
    }

    #[test]
    fn the_published_sample_gives_all_52_shapes_and_every_transform() {
        let (sample, items) = parsed(V1_SAMPLE);
        assert_eq!(items.shapes, 52);
        assert_eq!((items.unknown, items.malformed), (0, 0));
        assert_eq!(sample.channels().count(), 52);
        assert!(sample.channels().all(|(e, _)| e.is_arkit()));
        assert_eq!(sample.channel(Expression::JawOpen), Some(0.12));
        assert_eq!(sample.channel(Expression::EyeBlinkRight), Some(0.07));
        assert_eq!(sample.channel(Expression::MouthShrugUpper), Some(0.26));
        assert_eq!(sample.channel(Expression::NoseSneerLeft), Some(0.21));
        assert_eq!(
            items.head_euler,
            Some(Vec3::new(-21.488958, -6.038993, -6.6019735))
        );
        assert_eq!(
            items.head_position,
            Some(Vec3::new(-0.030653415, -0.10287084, -0.6584072))
        );
        assert_eq!(
            items.right_eye_euler,
            Some(Vec3::new(6.0297494, 2.4403017, 0.25649446))
        );
        assert_eq!(
            items.left_eye_euler,
            Some(Vec3::new(6.034903, -1.6660284, -0.17520553))
        );
    }

    /// The same frame written as v2 (`&`), with MeowFace's spaces, full ARKit names, items
    /// shuffled, unknown items, negative and >100 values and the junk a real capture ended in.
    #[test]
    fn v2_and_the_variations_of_real_senders_read_the_same() {
        let (v1, v1_items) = parsed(V1_SAMPLE);
        let mut items: Vec<String> = V1_SAMPLE
            .split('|')
            .filter(|i| !i.is_empty())
            .map(|item| {
                if item.contains('#') {
                    return item.to_string();
                }
                let (name, value) = item.split_once('-').unwrap();
                let name = name.replace("_L", "Left").replace("_R", "Right");
                format!("{name} & {value}")
            })
            .collect();
        items.reverse();
        let head = items.iter().position(|i| i.contains("head#")).unwrap();
        items[head] = items[head].trim_start_matches('=').to_string();
        items.insert(3, "trackingStatus&1".into());
        items.insert(9, "hapihapi-0".into());
        items.insert(12, "FM_SAD&0".into());
        let text = format!("{}|-0.67254096|||||3|", items.join("|"));
        let (v2, v2_items) = parsed(&text);
        assert_eq!(v2.channels, v1.channels);
        assert_eq!(v2_items.head_euler, v1_items.head_euler);
        assert_eq!(v2_items.head_position, v1_items.head_position);
        assert_eq!(v2_items.left_eye_euler, v1_items.left_eye_euler);
        assert_eq!(v2_items.shapes, 52);
        // trackingStatus, hapihapi, FM_SAD, the stray number, "3".
        assert_eq!(v2_items.unknown, 5);

        let (odd, odd_items) = parsed(
            "jawOpen--25|mouthSmile_L&130|eyeBlink_L-x|browInnerUpLeft&20|browInnerUpRight&40|head#1,2|",
        );
        assert_eq!(odd.channel(Expression::JawOpen), Some(-0.25));
        assert_eq!(odd.channel(Expression::MouthSmileLeft), Some(1.3));
        assert_eq!(odd.channel(Expression::EyeBlinkLeft), None, "not sent");
        assert!((odd.channel(Expression::BrowInnerUp).unwrap() - 0.3).abs() < 1e-6);
        assert_eq!(
            odd_items.malformed, 2,
            "eyeBlink_L-x and a head with two angles"
        );
        assert_eq!(odd_items.head_euler, None);
    }

    #[test]
    fn datagrams_with_nothing_readable_are_errors() {
        let mut sample = FaceSample::default();
        for bad in [
            "",
            "|||",
            "hello",
            "iFacialMocap_sahuasouryya9218sauhuiayeta91555dy3719",
        ] {
            assert_eq!(
                parse(bad.as_bytes(), &mut sample),
                Err(ParseError::Unrecognised),
                "{bad}"
            );
        }
        assert_eq!(
            parse(b"jawOpen-\xff", &mut sample),
            Err(ParseError::NotText)
        );
        let long = vec![b'|'; MAX_DATAGRAM_LEN + 1];
        assert_eq!(parse(&long, &mut sample), Err(ParseError::Oversized));
        assert_eq!(parse(b"head#0,0,0", &mut sample).map(|i| i.shapes), Ok(0));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut sample = FaceSample::default();
            let _ = parse(&bytes, &mut sample);
        }

        #[test]
        fn any_text_of_the_formats_alphabet_parses_without_panicking(
            text in "[a-zA-Z_&#=|,.0-9 \\-]{0,600}"
        ) {
            let mut sample = FaceSample::default();
            if let Ok(items) = parse(text.as_bytes(), &mut sample) {
                prop_assert!(items.shapes > 0 || items.head_euler.is_some());
            }
        }
    }
}
