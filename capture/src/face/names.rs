//! ARKit blendshape names as phone apps spell them: Apple's (`eyeBlinkLeft`), capitalised
//! (`EyeBlinkLeft`, VTube Studio iOS), with `_L`/`_R` (`eyeBlink_L`, iFacialMocap), in any case,
//! and Android VTube Studio's halves of `browInnerUp` (`browInnerUpLeft`/`Right`). No allocation.

use kagura_protocol::Expression;

/// What a name from a face tracker stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelName {
    /// One of ARKit's 52 blendshapes.
    Arkit(Expression),
    /// One side of `browInnerUp`, which Android VTube Studio sends per side; the two are
    /// averaged.
    BrowInnerUpHalf,
}

/// The longest name looked up; ARKit's longest is 19 characters.
const MAX_NAME: usize = 32;

/// Looks up an ARKit name in any of the spellings above; `None` for anything else (VRM presets
/// included: phone trackers send only ARKit shapes).
pub fn channel_from_name(name: &str) -> Option<ChannelName> {
    let name = name.trim();
    let bytes = name.as_bytes();
    let mut buf = [0u8; MAX_NAME];
    let full: &str = match bytes {
        [base @ .., b'_', side] if matches!(side, b'L' | b'l' | b'R' | b'r') => {
            let suffix: &[u8] = if matches!(side, b'L' | b'l') {
                b"Left"
            } else {
                b"Right"
            };
            let len = base.len() + suffix.len();
            let out = buf.get_mut(..len)?;
            out[..base.len()].copy_from_slice(base);
            out[base.len()..].copy_from_slice(suffix);
            std::str::from_utf8(out).ok()?
        }
        _ => name,
    };
    if full.eq_ignore_ascii_case("browInnerUpLeft") || full.eq_ignore_ascii_case("browInnerUpRight")
    {
        return Some(ChannelName::BrowInnerUpHalf);
    }
    Expression::from_name(full)
        .filter(|e| e.is_arkit())
        .map(ChannelName::Arkit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_every_arkit_name_is_found() {
        for e in Expression::ALL.into_iter().filter(|e| e.is_arkit()) {
            let name = e.name();
            let mut capitalised = name.to_string();
            capitalised[..1].make_ascii_uppercase();
            let suffixed = name
                .strip_suffix("Left")
                .map(|b| format!("{b}_L"))
                .or_else(|| name.strip_suffix("Right").map(|b| format!("{b}_R")))
                .unwrap_or_else(|| name.to_string());
            for spelling in [
                name.to_string(),
                capitalised,
                suffixed.clone(),
                suffixed.to_uppercase(),
            ] {
                assert_eq!(
                    channel_from_name(&spelling),
                    Some(ChannelName::Arkit(e)),
                    "{spelling}"
                );
            }
        }
        for half in [
            "browInnerUpLeft",
            "BrowInnerUpRight",
            "browInnerUp_L",
            " browInnerUp_r ",
        ] {
            assert_eq!(
                channel_from_name(half),
                Some(ChannelName::BrowInnerUpHalf),
                "{half}"
            );
        }
        for other in [
            "",
            "_L",
            "aa",
            "blinkLeft",
            "hapihapi",
            "trackingStatus",
            "FM_SAD",
            "x_L",
        ] {
            assert_eq!(channel_from_name(other), None, "{other}");
        }
        assert_eq!(channel_from_name(&"a".repeat(100)), None);
        assert_eq!(channel_from_name(&format!("{}_L", "a".repeat(40))), None);
    }
}
