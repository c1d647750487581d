//! Facial expressions: the VRM 1.0 presets and Apple ARKit's 52 blendshapes.
//!
//! A weight is in 0..=1. VRM 1.0 presets are named as VRM 1.0 names them (`aa`, `blinkLeft`,
//! `happy`); ARKit blendshapes as ARKit names them (`jawOpen`, `eyeBlinkLeft`). VMC senders use
//! VRM 0.x preset names (`A`, `Blink_L`, `Joy`), which [`Expression::from_vrm0_name`] maps.

use std::collections::HashMap;
use std::sync::LazyLock;

macro_rules! expressions {
    ($( $variant:ident = $name:literal, )*) => {
        /// One expression channel. The discriminant is its index in [`Expression::ALL`] and on
        /// the wire: VRM 1.0 presets first ([`Expression::VRM_PRESET_COUNT`]), then ARKit's 52.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Expression { $( $variant, )* }

        impl Expression {
            /// All expressions in wire order.
            pub const ALL: [Expression; 70] = [ $( Expression::$variant, )* ];

            /// The VRM 1.0 preset name or the ARKit blendshape name.
            pub const fn name(self) -> &'static str {
                match self { $( Expression::$variant => $name, )* }
            }
        }
    };
}

expressions! {
    Neutral = "neutral",
    Aa = "aa",
    Ih = "ih",
    Ou = "ou",
    Ee = "ee",
    Oh = "oh",
    Blink = "blink",
    BlinkLeft = "blinkLeft",
    BlinkRight = "blinkRight",
    Happy = "happy",
    Angry = "angry",
    Sad = "sad",
    Relaxed = "relaxed",
    Surprised = "surprised",
    LookUp = "lookUp",
    LookDown = "lookDown",
    LookLeft = "lookLeft",
    LookRight = "lookRight",
    BrowDownLeft = "browDownLeft",
    BrowDownRight = "browDownRight",
    BrowInnerUp = "browInnerUp",
    BrowOuterUpLeft = "browOuterUpLeft",
    BrowOuterUpRight = "browOuterUpRight",
    CheekPuff = "cheekPuff",
    CheekSquintLeft = "cheekSquintLeft",
    CheekSquintRight = "cheekSquintRight",
    EyeBlinkLeft = "eyeBlinkLeft",
    EyeBlinkRight = "eyeBlinkRight",
    EyeLookDownLeft = "eyeLookDownLeft",
    EyeLookDownRight = "eyeLookDownRight",
    EyeLookInLeft = "eyeLookInLeft",
    EyeLookInRight = "eyeLookInRight",
    EyeLookOutLeft = "eyeLookOutLeft",
    EyeLookOutRight = "eyeLookOutRight",
    EyeLookUpLeft = "eyeLookUpLeft",
    EyeLookUpRight = "eyeLookUpRight",
    EyeSquintLeft = "eyeSquintLeft",
    EyeSquintRight = "eyeSquintRight",
    EyeWideLeft = "eyeWideLeft",
    EyeWideRight = "eyeWideRight",
    JawForward = "jawForward",
    JawLeft = "jawLeft",
    JawOpen = "jawOpen",
    JawRight = "jawRight",
    MouthClose = "mouthClose",
    MouthDimpleLeft = "mouthDimpleLeft",
    MouthDimpleRight = "mouthDimpleRight",
    MouthFrownLeft = "mouthFrownLeft",
    MouthFrownRight = "mouthFrownRight",
    MouthFunnel = "mouthFunnel",
    MouthLeft = "mouthLeft",
    MouthLowerDownLeft = "mouthLowerDownLeft",
    MouthLowerDownRight = "mouthLowerDownRight",
    MouthPressLeft = "mouthPressLeft",
    MouthPressRight = "mouthPressRight",
    MouthPucker = "mouthPucker",
    MouthRight = "mouthRight",
    MouthRollLower = "mouthRollLower",
    MouthRollUpper = "mouthRollUpper",
    MouthShrugLower = "mouthShrugLower",
    MouthShrugUpper = "mouthShrugUpper",
    MouthSmileLeft = "mouthSmileLeft",
    MouthSmileRight = "mouthSmileRight",
    MouthStretchLeft = "mouthStretchLeft",
    MouthStretchRight = "mouthStretchRight",
    MouthUpperUpLeft = "mouthUpperUpLeft",
    MouthUpperUpRight = "mouthUpperUpRight",
    NoseSneerLeft = "noseSneerLeft",
    NoseSneerRight = "noseSneerRight",
    TongueOut = "tongueOut",
}

impl Expression {
    /// Number of expression channels.
    pub const COUNT: usize = 70;
    /// The first this many entries of [`Expression::ALL`] are VRM 1.0 presets; the rest are ARKit.
    pub const VRM_PRESET_COUNT: usize = 18;
    /// Number of ARKit blendshapes.
    pub const ARKIT_COUNT: usize = 52;

    /// Index in [`Expression::ALL`] and on the wire.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether this is one of ARKit's 52 blendshapes (as opposed to a VRM 1.0 preset).
    pub const fn is_arkit(self) -> bool {
        self.index() >= Self::VRM_PRESET_COUNT
    }

    /// Looks up a VRM 1.0 preset or ARKit name. Case is ignored, as EVMC4U-based receivers do,
    /// because perfect-sync avatars in the wild spell ARKit names both `eyeBlinkLeft` and
    /// `EyeBlinkLeft`.
    pub fn from_name(name: &str) -> Option<Self> {
        static BY_LOWERCASE: LazyLock<HashMap<String, Expression>> = LazyLock::new(|| {
            Expression::ALL
                .into_iter()
                .map(|e| (e.name().to_ascii_lowercase(), e))
                .collect()
        });
        lookup_ignoring_case(&BY_LOWERCASE, name)
    }

    /// Looks up a VRM 0.x BlendShape preset name (`A`, `Blink_L`, `Joy`, ...), case ignored.
    pub fn from_vrm0_name(name: &str) -> Option<Self> {
        VRM0_PRESETS
            .iter()
            .find(|(vrm0, _)| vrm0.eq_ignore_ascii_case(name))
            .map(|(_, e)| *e)
    }

    /// The VRM 0.x BlendShape preset name, for the presets VRM 0.x has (not `surprised`, not
    /// ARKit names).
    pub fn vrm0_name(self) -> Option<&'static str> {
        VRM0_PRESETS
            .iter()
            .find(|(_, e)| *e == self)
            .map(|(name, _)| *name)
    }

    /// Looks up a name as a VMC sender would send it: a VRM 0.x preset first (the VMC
    /// specification requires those), then a VRM 1.0 preset or ARKit name; case ignored. On the
    /// per-frame path: one hash lookup, no allocation.
    pub fn from_vmc_name(name: &str) -> Option<Self> {
        static BY_LOWERCASE: LazyLock<HashMap<String, Expression>> = LazyLock::new(|| {
            let mut map: HashMap<String, Expression> = VRM0_PRESETS
                .iter()
                .map(|(n, e)| (n.to_ascii_lowercase(), *e))
                .collect();
            for e in Expression::ALL {
                map.entry(e.name().to_ascii_lowercase()).or_insert(e);
            }
            map
        });
        lookup_ignoring_case(&BY_LOWERCASE, name)
    }
}

/// Looks `name` up in a map keyed by lowercase names, lowercasing into a stack buffer.
fn lookup_ignoring_case(map: &HashMap<String, Expression>, name: &str) -> Option<Expression> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    map.get(std::str::from_utf8(lower).ok()?).copied()
}

/// VRM 0.x BlendShape presets and the VRM 1.0 presets they became.
const VRM0_PRESETS: [(&str, Expression); 17] = [
    ("Neutral", Expression::Neutral),
    ("A", Expression::Aa),
    ("I", Expression::Ih),
    ("U", Expression::Ou),
    ("E", Expression::Ee),
    ("O", Expression::Oh),
    ("Blink", Expression::Blink),
    ("Blink_L", Expression::BlinkLeft),
    ("Blink_R", Expression::BlinkRight),
    ("Joy", Expression::Happy),
    ("Angry", Expression::Angry),
    ("Sorrow", Expression::Sad),
    ("Fun", Expression::Relaxed),
    ("LookUp", Expression::LookUp),
    ("LookDown", Expression::LookDown),
    ("LookLeft", Expression::LookLeft),
    ("LookRight", Expression::LookRight),
];

impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Serialized as its VRM 1.0 preset or ARKit name.
impl serde::Serialize for Expression {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Expression {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Expression::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not a known expression")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_then_52_arkit_names_all_unique() {
        assert_eq!(Expression::ALL.iter().filter(|e| e.is_arkit()).count(), 52);
        let mut names: Vec<_> = Expression::ALL
            .iter()
            .map(|e| e.name().to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Expression::COUNT);
        for (i, e) in Expression::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
        }
    }

    #[test]
    fn vmc_names_map_to_vrm1_and_arkit() {
        assert_eq!(Expression::from_vmc_name("A"), Some(Expression::Aa));
        assert_eq!(
            Expression::from_vmc_name("Blink_L"),
            Some(Expression::BlinkLeft)
        );
        assert_eq!(Expression::from_vmc_name("Joy"), Some(Expression::Happy));
        assert_eq!(Expression::from_vmc_name("Sorrow"), Some(Expression::Sad));
        assert_eq!(Expression::from_vmc_name("Fun"), Some(Expression::Relaxed));
        assert_eq!(
            Expression::from_vmc_name("Surprised"),
            Some(Expression::Surprised)
        );
        assert_eq!(
            Expression::from_vmc_name("EyeBlinkLeft"),
            Some(Expression::EyeBlinkLeft)
        );
        assert_eq!(
            Expression::from_vmc_name("jawOpen"),
            Some(Expression::JawOpen)
        );
        assert_eq!(Expression::from_vmc_name("MyCustomShape"), None);
    }
}
