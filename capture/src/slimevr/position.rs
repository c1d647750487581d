//! SlimeVR's body positions (`TrackerPosition` on the server, `SensorPosition` in the firmware's
//! `sensorposition.h`) → the VRM 1.0 bone a tracker there drives.

use kagura_protocol::HumanoidBone;

/// The bone of a SensorInfo `trackerPosition`; `None` for 0 (none) and unknown values.
///
/// SlimeVR's `WAIST` (5) is the lower spine, its `HIP` (6) the pelvis. Its thumb joints follow
/// Unity's naming (proximal, intermediate, distal), which VRM 1.0 calls metacarpal, proximal,
/// distal.
pub fn bone_of_position(position: u8) -> Option<HumanoidBone> {
    use HumanoidBone::*;
    const BODY: [HumanoidBone; 20] = [
        Head,
        Neck,
        UpperChest,
        Chest,
        Spine,
        Hips,
        LeftUpperLeg,
        RightUpperLeg,
        LeftLowerLeg,
        RightLowerLeg,
        LeftFoot,
        RightFoot,
        LeftLowerArm,
        RightLowerArm,
        LeftUpperArm,
        RightUpperArm,
        LeftHand,
        RightHand,
        LeftShoulder,
        RightShoulder,
    ];
    const FINGERS: [HumanoidBone; 30] = [
        LeftThumbMetacarpal,
        LeftThumbProximal,
        LeftThumbDistal,
        LeftIndexProximal,
        LeftIndexIntermediate,
        LeftIndexDistal,
        LeftMiddleProximal,
        LeftMiddleIntermediate,
        LeftMiddleDistal,
        LeftRingProximal,
        LeftRingIntermediate,
        LeftRingDistal,
        LeftLittleProximal,
        LeftLittleIntermediate,
        LeftLittleDistal,
        RightThumbMetacarpal,
        RightThumbProximal,
        RightThumbDistal,
        RightIndexProximal,
        RightIndexIntermediate,
        RightIndexDistal,
        RightMiddleProximal,
        RightMiddleIntermediate,
        RightMiddleDistal,
        RightRingProximal,
        RightRingIntermediate,
        RightRingDistal,
        RightLittleProximal,
        RightLittleIntermediate,
        RightLittleDistal,
    ];
    match position {
        1..=20 => Some(BODY[usize::from(position) - 1]),
        21..=50 => Some(FINGERS[usize::from(position) - 21]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_map_as_sensorposition_h_numbers_them() {
        use HumanoidBone::*;
        assert_eq!(bone_of_position(0), None);
        assert_eq!(bone_of_position(1), Some(Head));
        assert_eq!(bone_of_position(5), Some(Spine));
        assert_eq!(bone_of_position(6), Some(Hips));
        assert_eq!(bone_of_position(7), Some(LeftUpperLeg));
        assert_eq!(bone_of_position(10), Some(RightLowerLeg));
        assert_eq!(bone_of_position(13), Some(LeftLowerArm));
        assert_eq!(bone_of_position(16), Some(RightUpperArm));
        assert_eq!(bone_of_position(20), Some(RightShoulder));
        assert_eq!(bone_of_position(21), Some(LeftThumbMetacarpal));
        assert_eq!(bone_of_position(35), Some(LeftLittleDistal));
        assert_eq!(bone_of_position(36), Some(RightThumbMetacarpal));
        assert_eq!(bone_of_position(50), Some(RightLittleDistal));
        assert_eq!(bone_of_position(51), None);
        // Every position names a different bone.
        let bones: std::collections::BTreeSet<_> = (1..=50).filter_map(bone_of_position).collect();
        assert_eq!(bones.len(), 50);
    }
}
