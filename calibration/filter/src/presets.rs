//! Filter settings per bone group. Each kind of source declares its own preset, in its module
//! in `kagura-capture`.
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
    /// Light smoothing for sources that are clean already (synthetic or recorded motion): it
    /// must not change clean motion visibly. On CMU mocap (walking, 60 Hz) it lags 3–11 ms and
    /// stays within 1.5° of the clean motion during the fastest tenth of it (the former 5 Hz,
    /// β 1 setting, with the speed estimate at 1 Hz, lagged 14–23 ms and was 4.6° off on arms
    /// and 6.2° on legs there); it still takes about half of a tracker's jitter out. Measured by
    /// `cargo bench -p kagura-benches --bench filter_quality`.
    pub fn light() -> FilterSettings {
        let rotation = OneEuroParams::new(5.0, 8.0).with_derivative_cutoff(4.0);
        FilterSettings {
            enabled: true,
            head: rotation,
            spine: rotation,
            arms: rotation,
            fingers: rotation,
            legs: rotation,
            position: OneEuroParams::new(5.0, 1.0),
            face: OneEuroParams::new(8.0, 2.0),
            predict_us: 0,
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
