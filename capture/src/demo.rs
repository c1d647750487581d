//! [`DemoPerformer`]: a procedural performer, so that a newcomer sees poses flow with no
//! hardware. Breathes, turns its head, waves its right arm, blinks, and speaks vowels.
//!
//! Pure: the pose is a function of the time passed in, in the internal convention (glTF space,
//! the avatar faces +Z, its left hand points +X in the rest T-pose).

use std::f32::consts::{PI, TAU};

use glam::{EulerRot, Quat, Vec3};
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame};

/// Standing hips height of the demo performer, metres.
const HIPS_HEIGHT_M: f32 = 0.95;
/// Seconds between blinks.
const BLINK_PERIOD_S: f32 = 3.7;
/// How long a blink takes, seconds.
const BLINK_DURATION_S: f32 = 0.15;
const VOWELS: [Expression; 5] = [
    Expression::Aa,
    Expression::Ih,
    Expression::Ou,
    Expression::Ee,
    Expression::Oh,
];

/// Generates one performer's frames; numbers them in order.
pub struct DemoPerformer {
    performer: PerformerId,
    start_us: Option<u64>,
    seq: u32,
}

impl DemoPerformer {
    pub fn new(performer: PerformerId) -> Self {
        DemoPerformer {
            performer,
            start_us: None,
            seq: 0,
        }
    }

    /// The pose at `now_us` (µs since the Unix epoch); the motion starts at the first call.
    pub fn frame_at(&mut self, now_us: u64) -> PoseFrame {
        let start = *self.start_us.get_or_insert(now_us);
        let t = now_us.saturating_sub(start) as f32 / 1e6;
        let mut f = pose_at(self.performer, t);
        f.seq = self.seq;
        f.capture_us = now_us;
        self.seq = self.seq.wrapping_add(1);
        f
    }
}

/// The demo pose `t` seconds into the motion.
pub fn pose_at(performer: PerformerId, t: f32) -> PoseFrame {
    let mut f = PoseFrame::new(performer);
    let wave = |hz: f32, phase: f32| (TAU * hz * t + phase).sin();
    let breath = wave(0.25, 0.0);

    f.hips_position = Some(Vec3::new(
        0.02 * wave(0.1, 0.0),
        HIPS_HEIGHT_M + 0.004 * breath,
        0.0,
    ));
    f.set_bone(
        HumanoidBone::Hips,
        Quat::from_rotation_y(0.08 * wave(0.1, 0.0)),
    );
    f.set_bone(HumanoidBone::Spine, Quat::from_rotation_x(0.02 * breath));
    f.set_bone(HumanoidBone::Chest, Quat::from_rotation_x(-0.03 * breath));
    f.set_bone(
        HumanoidBone::UpperChest,
        Quat::from_rotation_x(-0.02 * breath),
    );
    f.set_bone(
        HumanoidBone::Neck,
        Quat::from_rotation_y(0.1 * wave(0.2, 0.3)),
    );
    f.set_bone(
        HumanoidBone::Head,
        Quat::from_euler(
            EulerRot::YXZ,
            0.45 * wave(0.2, 0.0),
            0.12 * wave(0.37, 1.0),
            0.08 * wave(0.29, 2.0),
        ),
    );

    // Arms: the left hangs relaxed; the right is raised and waves from the elbow.
    f.set_bone(HumanoidBone::LeftShoulder, Quat::IDENTITY);
    f.set_bone(
        HumanoidBone::LeftUpperArm,
        Quat::from_rotation_z(-1.2 + 0.03 * breath),
    );
    f.set_bone(HumanoidBone::LeftLowerArm, Quat::from_rotation_y(0.3));
    f.set_bone(HumanoidBone::LeftHand, Quat::IDENTITY);
    f.set_bone(HumanoidBone::RightShoulder, Quat::IDENTITY);
    f.set_bone(HumanoidBone::RightUpperArm, Quat::from_rotation_z(-0.5));
    f.set_bone(
        HumanoidBone::RightLowerArm,
        Quat::from_rotation_z(-1.2 + 0.5 * wave(1.2, 0.0)),
    );
    f.set_bone(
        HumanoidBone::RightHand,
        Quat::from_rotation_x(0.2 * wave(1.2, PI / 2.0)),
    );

    for bone in [
        HumanoidBone::LeftUpperLeg,
        HumanoidBone::LeftLowerLeg,
        HumanoidBone::LeftFoot,
        HumanoidBone::RightUpperLeg,
        HumanoidBone::RightLowerLeg,
        HumanoidBone::RightFoot,
    ] {
        f.set_bone(bone, Quat::IDENTITY);
    }

    let since_blink = t % BLINK_PERIOD_S;
    let blink = if since_blink < BLINK_DURATION_S {
        1.0 - (2.0 * since_blink / BLINK_DURATION_S - 1.0).abs()
    } else {
        0.0
    };
    f.set_expression(Expression::Blink, blink);
    // Speak a vowel every 0.4 s, each with a smooth open-close envelope.
    let syllable = t / 0.4;
    let current = VOWELS[(syllable as usize) % VOWELS.len()];
    for vowel in VOWELS {
        let weight = if vowel == current {
            (PI * syllable.fract()).sin() * 0.8
        } else {
            0.0
        };
        f.set_expression(vowel, weight);
    }
    f.set_expression(Expression::Happy, 0.3 + 0.2 * wave(0.05, 0.0));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_moving_and_valid() {
        let mut a = DemoPerformer::new(PerformerId(1));
        let mut b = DemoPerformer::new(PerformerId(1));
        let t0 = 1_700_000_000_000_000;
        let f0 = a.frame_at(t0);
        assert_eq!(f0, b.frame_at(t0));
        let f1 = a.frame_at(t0 + 500_000);
        assert_eq!(f1.seq, 1);
        assert_ne!(f0.bone(HumanoidBone::Head), f1.bone(HumanoidBone::Head));
        for (_, q) in f1.bones() {
            assert!(q.is_normalized());
        }
        assert!(f1.expressions().all(|(_, w)| (0.0..=1.0).contains(&w)));
    }

    #[test]
    fn blinks_within_a_period() {
        let max_blink = (0..400)
            .map(|i| {
                pose_at(PerformerId(0), i as f32 * 0.01)
                    .expression(Expression::Blink)
                    .unwrap()
            })
            .fold(0.0f32, f32::max);
        assert!(max_blink > 0.9);
    }
}
