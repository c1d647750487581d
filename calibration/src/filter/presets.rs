//! Filter settings per bone group, and presets per kind of source.
//!
//! Units of `beta`: rotations Hz per rad/s, positions Hz per m/s, face channels Hz per weight/s.

use kagura_protocol::HumanoidBone;
use serde::{Deserialize, Serialize};

use super::one_euro::OneEuroParams;

/// Bones that move alike and share filter parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoneGroup {
    Head,
    Spine,
    Arms,
    Fingers,
    Legs,
}

impl BoneGroup {
    pub const ALL: [BoneGroup; 5] = [
        BoneGroup::Head,
        BoneGroup::Spine,
        BoneGroup::Arms,
        BoneGroup::Fingers,
        BoneGroup::Legs,
    ];

    /// The group a bone belongs to.
    pub fn of(bone: HumanoidBone) -> BoneGroup {
        use HumanoidBone::*;
        match bone {
            Neck | Head | LeftEye | RightEye | Jaw => BoneGroup::Head,
            Hips | Spine | Chest | UpperChest => BoneGroup::Spine,
            LeftShoulder | LeftUpperArm | LeftLowerArm | LeftHand | RightShoulder
            | RightUpperArm | RightLowerArm | RightHand => BoneGroup::Arms,
            LeftUpperLeg | LeftLowerLeg | LeftFoot | LeftToes | RightUpperLeg | RightLowerLeg
            | RightFoot | RightToes => BoneGroup::Legs,
            _ => BoneGroup::Fingers,
        }
    }
}

/// The kinds of source, each with its own default filtering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// VMC senders: often webcam or phone trackers that smooth a little themselves.
    Vmc,
    /// The built-in demo performer: clean already.
    Demo,
    /// BVH playback: recorded motion capture, usually cleaned up already.
    Bvh,
}

/// Everything a [`super::PoseFilter`] needs to know; adjustable while running.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSettings {
    /// Off: frames pass through untouched.
    pub enabled: bool,
    pub head: OneEuroParams,
    pub spine: OneEuroParams,
    pub arms: OneEuroParams,
    pub fingers: OneEuroParams,
    pub legs: OneEuroParams,
    /// Hips and root positions.
    pub position: OneEuroParams,
    /// Expression weights.
    pub face: OneEuroParams,
    /// Predict this far ahead along the filtered motion, µs (0 to 16 667: at most one frame at
    /// 60 Hz), to hide transport latency.
    pub predict_us: u32,
}

/// The longest prediction accepted, µs: one frame at 60 Hz.
pub const MAX_PREDICT_US: u32 = 16_667;

impl FilterSettings {
    /// The default for a kind of source.
    pub fn for_source(kind: SourceKind) -> FilterSettings {
        match kind {
            SourceKind::Vmc => FilterSettings {
                enabled: true,
                head: OneEuroParams::new(0.6, 1.5),
                spine: OneEuroParams::new(0.8, 0.4),
                arms: OneEuroParams::new(0.5, 0.8),
                fingers: OneEuroParams::new(1.5, 0.8),
                legs: OneEuroParams::new(0.8, 0.5),
                position: OneEuroParams::new(1.0, 2.0),
                face: OneEuroParams::new(2.0, 1.0),
                predict_us: 0,
            },
            SourceKind::Demo | SourceKind::Bvh => FilterSettings {
                enabled: true,
                head: OneEuroParams::new(5.0, 1.0),
                spine: OneEuroParams::new(5.0, 1.0),
                arms: OneEuroParams::new(5.0, 1.0),
                fingers: OneEuroParams::new(5.0, 1.0),
                legs: OneEuroParams::new(5.0, 1.0),
                position: OneEuroParams::new(5.0, 1.0),
                face: OneEuroParams::new(8.0, 2.0),
                predict_us: 0,
            },
        }
    }

    pub fn rotation(&self, group: BoneGroup) -> &OneEuroParams {
        match group {
            BoneGroup::Head => &self.head,
            BoneGroup::Spine => &self.spine,
            BoneGroup::Arms => &self.arms,
            BoneGroup::Fingers => &self.fingers,
            BoneGroup::Legs => &self.legs,
        }
    }

    /// Why the settings cannot be used, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        let all = [
            ("head", &self.head),
            ("spine", &self.spine),
            ("arms", &self.arms),
            ("fingers", &self.fingers),
            ("legs", &self.legs),
            ("position", &self.position),
            ("face", &self.face),
        ];
        for (name, params) in all {
            if !params.is_valid() {
                return Err(format!(
                    "{name}: cutoffs must be positive and finite, beta ≥ 0"
                ));
            }
        }
        if self.predict_us > MAX_PREDICT_US {
            return Err(format!(
                "predict_us {} exceeds one frame ({MAX_PREDICT_US} µs)",
                self.predict_us
            ));
        }
        Ok(())
    }
}
