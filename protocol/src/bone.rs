//! The VRM 1.0 humanoid skeleton: 55 bones, with the names other conventions give them.
//!
//! Kagura's internal skeleton is the VRM 1.0 *normalized* humanoid: every bone's rotation is
//! local to its parent and relative to the normalized rest pose (a T-pose with identity local
//! rotations), in glTF space (right-handed, +Y up, avatar faces +Z).
//!
//! Names differ between conventions, and one name means two different bones:
//! Unity's `HumanBodyBones` (sent by VMC) and VRM 0.x call the thumb joints
//! Proximal/Intermediate/Distal, where VRM 1.0 calls the same joints Metacarpal/Proximal/Distal.
//! So VRM 0.x `leftThumbProximal` is VRM 1.0 `leftThumbMetacarpal`. Each convention therefore has
//! its own lookup function; never guess the convention from the name.

use std::collections::HashMap;
use std::sync::LazyLock;

macro_rules! humanoid_bones {
    ($( $variant:ident = $vrm1:literal, $vrm0:literal, $unity:literal; )*) => {
        /// One of the 55 VRM 1.0 humanoid bones. The discriminant is the bone's index in
        /// [`HumanoidBone::ALL`] and in the wire format, so the order is part of the protocol.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum HumanoidBone { $( $variant, )* }

        impl HumanoidBone {
            /// All bones in wire order (VRM 1.0 specification order).
            pub const ALL: [HumanoidBone; 55] = [ $( HumanoidBone::$variant, )* ];

            /// The VRM 1.0 name, e.g. `leftThumbMetacarpal`.
            pub const fn vrm1_name(self) -> &'static str {
                match self { $( HumanoidBone::$variant => $vrm1, )* }
            }

            /// The VRM 0.x name, e.g. `leftThumbProximal` for VRM 1.0 `leftThumbMetacarpal`.
            pub const fn vrm0_name(self) -> &'static str {
                match self { $( HumanoidBone::$variant => $vrm0, )* }
            }

            /// Unity's `HumanBodyBones` name, as VMC sends it, e.g. `LeftThumbProximal`.
            pub const fn unity_name(self) -> &'static str {
                match self { $( HumanoidBone::$variant => $unity, )* }
            }
        }
    };
}

humanoid_bones! {
    Hips = "hips", "hips", "Hips";
    Spine = "spine", "spine", "Spine";
    Chest = "chest", "chest", "Chest";
    UpperChest = "upperChest", "upperChest", "UpperChest";
    Neck = "neck", "neck", "Neck";
    Head = "head", "head", "Head";
    LeftEye = "leftEye", "leftEye", "LeftEye";
    RightEye = "rightEye", "rightEye", "RightEye";
    Jaw = "jaw", "jaw", "Jaw";
    LeftUpperLeg = "leftUpperLeg", "leftUpperLeg", "LeftUpperLeg";
    LeftLowerLeg = "leftLowerLeg", "leftLowerLeg", "LeftLowerLeg";
    LeftFoot = "leftFoot", "leftFoot", "LeftFoot";
    LeftToes = "leftToes", "leftToes", "LeftToes";
    RightUpperLeg = "rightUpperLeg", "rightUpperLeg", "RightUpperLeg";
    RightLowerLeg = "rightLowerLeg", "rightLowerLeg", "RightLowerLeg";
    RightFoot = "rightFoot", "rightFoot", "RightFoot";
    RightToes = "rightToes", "rightToes", "RightToes";
    LeftShoulder = "leftShoulder", "leftShoulder", "LeftShoulder";
    LeftUpperArm = "leftUpperArm", "leftUpperArm", "LeftUpperArm";
    LeftLowerArm = "leftLowerArm", "leftLowerArm", "LeftLowerArm";
    LeftHand = "leftHand", "leftHand", "LeftHand";
    RightShoulder = "rightShoulder", "rightShoulder", "RightShoulder";
    RightUpperArm = "rightUpperArm", "rightUpperArm", "RightUpperArm";
    RightLowerArm = "rightLowerArm", "rightLowerArm", "RightLowerArm";
    RightHand = "rightHand", "rightHand", "RightHand";
    LeftThumbMetacarpal = "leftThumbMetacarpal", "leftThumbProximal", "LeftThumbProximal";
    LeftThumbProximal = "leftThumbProximal", "leftThumbIntermediate", "LeftThumbIntermediate";
    LeftThumbDistal = "leftThumbDistal", "leftThumbDistal", "LeftThumbDistal";
    LeftIndexProximal = "leftIndexProximal", "leftIndexProximal", "LeftIndexProximal";
    LeftIndexIntermediate = "leftIndexIntermediate", "leftIndexIntermediate", "LeftIndexIntermediate";
    LeftIndexDistal = "leftIndexDistal", "leftIndexDistal", "LeftIndexDistal";
    LeftMiddleProximal = "leftMiddleProximal", "leftMiddleProximal", "LeftMiddleProximal";
    LeftMiddleIntermediate = "leftMiddleIntermediate", "leftMiddleIntermediate", "LeftMiddleIntermediate";
    LeftMiddleDistal = "leftMiddleDistal", "leftMiddleDistal", "LeftMiddleDistal";
    LeftRingProximal = "leftRingProximal", "leftRingProximal", "LeftRingProximal";
    LeftRingIntermediate = "leftRingIntermediate", "leftRingIntermediate", "LeftRingIntermediate";
    LeftRingDistal = "leftRingDistal", "leftRingDistal", "LeftRingDistal";
    LeftLittleProximal = "leftLittleProximal", "leftLittleProximal", "LeftLittleProximal";
    LeftLittleIntermediate = "leftLittleIntermediate", "leftLittleIntermediate", "LeftLittleIntermediate";
    LeftLittleDistal = "leftLittleDistal", "leftLittleDistal", "LeftLittleDistal";
    RightThumbMetacarpal = "rightThumbMetacarpal", "rightThumbProximal", "RightThumbProximal";
    RightThumbProximal = "rightThumbProximal", "rightThumbIntermediate", "RightThumbIntermediate";
    RightThumbDistal = "rightThumbDistal", "rightThumbDistal", "RightThumbDistal";
    RightIndexProximal = "rightIndexProximal", "rightIndexProximal", "RightIndexProximal";
    RightIndexIntermediate = "rightIndexIntermediate", "rightIndexIntermediate", "RightIndexIntermediate";
    RightIndexDistal = "rightIndexDistal", "rightIndexDistal", "RightIndexDistal";
    RightMiddleProximal = "rightMiddleProximal", "rightMiddleProximal", "RightMiddleProximal";
    RightMiddleIntermediate = "rightMiddleIntermediate", "rightMiddleIntermediate", "RightMiddleIntermediate";
    RightMiddleDistal = "rightMiddleDistal", "rightMiddleDistal", "RightMiddleDistal";
    RightRingProximal = "rightRingProximal", "rightRingProximal", "RightRingProximal";
    RightRingIntermediate = "rightRingIntermediate", "rightRingIntermediate", "RightRingIntermediate";
    RightRingDistal = "rightRingDistal", "rightRingDistal", "RightRingDistal";
    RightLittleProximal = "rightLittleProximal", "rightLittleProximal", "RightLittleProximal";
    RightLittleIntermediate = "rightLittleIntermediate", "rightLittleIntermediate", "RightLittleIntermediate";
    RightLittleDistal = "rightLittleDistal", "rightLittleDistal", "RightLittleDistal";
}

impl HumanoidBone {
    /// Number of humanoid bones.
    pub const COUNT: usize = 55;

    /// Index in [`HumanoidBone::ALL`] and on the wire.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The bone at `index` in wire order, if any.
    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// The bone's parent in the VRM 1.0 humanoid hierarchy (`None` for hips). Where an optional
    /// bone in between is missing from an avatar, the nearest present ancestor stands in.
    pub const fn parent(self) -> Option<Self> {
        use HumanoidBone::*;
        Some(match self {
            Hips => return None,
            Spine | LeftUpperLeg | RightUpperLeg => Hips,
            Chest => Spine,
            UpperChest => Chest,
            Neck | LeftShoulder | RightShoulder => UpperChest,
            Head => Neck,
            LeftEye | RightEye | Jaw => Head,
            LeftLowerLeg => LeftUpperLeg,
            LeftFoot => LeftLowerLeg,
            LeftToes => LeftFoot,
            RightLowerLeg => RightUpperLeg,
            RightFoot => RightLowerLeg,
            RightToes => RightFoot,
            LeftUpperArm => LeftShoulder,
            LeftLowerArm => LeftUpperArm,
            LeftHand => LeftLowerArm,
            RightUpperArm => RightShoulder,
            RightLowerArm => RightUpperArm,
            RightHand => RightLowerArm,
            LeftThumbMetacarpal | LeftIndexProximal | LeftMiddleProximal | LeftRingProximal
            | LeftLittleProximal => LeftHand,
            RightThumbMetacarpal | RightIndexProximal | RightMiddleProximal | RightRingProximal
            | RightLittleProximal => RightHand,
            LeftThumbProximal => LeftThumbMetacarpal,
            LeftThumbDistal => LeftThumbProximal,
            LeftIndexIntermediate => LeftIndexProximal,
            LeftIndexDistal => LeftIndexIntermediate,
            LeftMiddleIntermediate => LeftMiddleProximal,
            LeftMiddleDistal => LeftMiddleIntermediate,
            LeftRingIntermediate => LeftRingProximal,
            LeftRingDistal => LeftRingIntermediate,
            LeftLittleIntermediate => LeftLittleProximal,
            LeftLittleDistal => LeftLittleIntermediate,
            RightThumbProximal => RightThumbMetacarpal,
            RightThumbDistal => RightThumbProximal,
            RightIndexIntermediate => RightIndexProximal,
            RightIndexDistal => RightIndexIntermediate,
            RightMiddleIntermediate => RightMiddleProximal,
            RightMiddleDistal => RightMiddleIntermediate,
            RightRingIntermediate => RightRingProximal,
            RightRingDistal => RightRingIntermediate,
            RightLittleIntermediate => RightLittleProximal,
            RightLittleDistal => RightLittleIntermediate,
        })
    }

    /// The child a bone points at in the T-pose: the next bone along its spine, arm, leg or
    /// finger chain (a hand points at its middle finger, the upper chest at the neck). `None`
    /// for the head (its eyes and jaw point forward, not along it) and for chain ends.
    pub fn main_child(self) -> Option<Self> {
        use HumanoidBone::*;
        match self {
            Hips => Some(Spine),
            UpperChest => Some(Neck),
            LeftShoulder => Some(LeftUpperArm),
            RightShoulder => Some(RightUpperArm),
            LeftHand => Some(LeftMiddleProximal),
            RightHand => Some(RightMiddleProximal),
            Head => None,
            _ => HumanoidBone::ALL
                .into_iter()
                .find(|b| b.parent() == Some(self)),
        }
    }

    /// Whether VRM 1.0 requires an avatar to have this bone.
    pub const fn is_required(self) -> bool {
        use HumanoidBone::*;
        matches!(
            self,
            Hips | Spine
                | Head
                | LeftUpperLeg
                | LeftLowerLeg
                | LeftFoot
                | RightUpperLeg
                | RightLowerLeg
                | RightFoot
                | LeftUpperArm
                | LeftLowerArm
                | LeftHand
                | RightUpperArm
                | RightLowerArm
                | RightHand
        )
    }

    /// Looks up a VRM 1.0 bone name (exact case).
    pub fn from_vrm1_name(name: &str) -> Option<Self> {
        static BY_NAME: LazyLock<HashMap<&str, HumanoidBone>> =
            LazyLock::new(|| names_to_bones(HumanoidBone::vrm1_name));
        BY_NAME.get(name).copied()
    }

    /// Looks up a VRM 0.x bone name (exact case).
    pub fn from_vrm0_name(name: &str) -> Option<Self> {
        static BY_NAME: LazyLock<HashMap<&str, HumanoidBone>> =
            LazyLock::new(|| names_to_bones(HumanoidBone::vrm0_name));
        BY_NAME.get(name).copied()
    }

    /// Looks up a Unity `HumanBodyBones` name as VMC sends it (exact case). On the per-frame
    /// path: a hash lookup, not a scan.
    pub fn from_unity_name(name: &str) -> Option<Self> {
        static BY_NAME: LazyLock<HashMap<&str, HumanoidBone>> =
            LazyLock::new(|| names_to_bones(HumanoidBone::unity_name));
        BY_NAME.get(name).copied()
    }
}

fn names_to_bones(naming: fn(HumanoidBone) -> &'static str) -> HashMap<&'static str, HumanoidBone> {
    HumanoidBone::ALL
        .into_iter()
        .map(|b| (naming(b), b))
        .collect()
}

impl std::fmt::Display for HumanoidBone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.vrm1_name())
    }
}

/// Serialized as its VRM 1.0 name.
impl serde::Serialize for HumanoidBone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.vrm1_name())
    }
}

impl<'de> serde::Deserialize<'de> for HumanoidBone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        HumanoidBone::from_vrm1_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("{name:?} is not a VRM 1.0 humanoid bone"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_matches_discriminants_and_names_are_unique() {
        for (i, bone) in HumanoidBone::ALL.iter().enumerate() {
            assert_eq!(bone.index(), i);
            assert_eq!(HumanoidBone::from_index(i), Some(*bone));
        }
        for naming in [
            HumanoidBone::vrm1_name,
            HumanoidBone::vrm0_name,
            HumanoidBone::unity_name,
        ] {
            let mut names: Vec<_> = HumanoidBone::ALL.iter().map(|b| naming(*b)).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), HumanoidBone::COUNT);
        }
    }

    #[test]
    fn every_bone_but_hips_descends_from_hips_and_parents_come_first() {
        for bone in HumanoidBone::ALL {
            let mut at = bone;
            while let Some(parent) = at.parent() {
                assert!(
                    parent.index() < at.index(),
                    "{at} listed before its parent {parent}"
                );
                at = parent;
            }
            assert_eq!(at, HumanoidBone::Hips);
        }
        assert_eq!(
            HumanoidBone::ALL.iter().filter(|b| b.is_required()).count(),
            15
        );
    }

    #[test]
    fn thumb_names_shift_between_vrm0_and_vrm1() {
        // VRM 0.x / Unity "ThumbProximal" is the joint VRM 1.0 calls "ThumbMetacarpal".
        assert_eq!(
            HumanoidBone::from_unity_name("LeftThumbProximal"),
            Some(HumanoidBone::LeftThumbMetacarpal)
        );
        assert_eq!(
            HumanoidBone::from_vrm0_name("rightThumbIntermediate"),
            Some(HumanoidBone::RightThumbProximal)
        );
        assert_eq!(
            HumanoidBone::from_vrm1_name("rightThumbProximal"),
            Some(HumanoidBone::RightThumbProximal)
        );
        assert_eq!(HumanoidBone::from_unity_name("LastBone"), None);
    }

    #[test]
    fn unity_names_are_vrm0_names_capitalised() {
        for bone in HumanoidBone::ALL {
            let vrm0 = bone.vrm0_name();
            let capitalised = vrm0[..1].to_uppercase() + &vrm0[1..];
            assert_eq!(bone.unity_name(), capitalised);
        }
    }
}
