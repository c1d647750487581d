//! [`DemoPerformer`]: a procedural performer, so that a newcomer sees poses flow with no
//! hardware. Breathes, turns its head, waves its right arm, blinks, and speaks vowels.
//!
//! Pure: the pose is a function of the time passed in, in the internal convention (glTF space,
//! the avatar faces +Z, its left hand points +X in the rest T-pose).

use std::f32::consts::{PI, TAU};

use glam::{EulerRot, Quat, Vec3};
use kagura_filter::FilterSettings;
use kagura_merge::SourceRole;
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame};
use serde::Deserialize;

use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec,
};
use crate::ticker::Ticker;

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

/// The demo's frame rate, Hz.
pub const DEMO_RATE_HZ: u32 = 60;

/// The config section of the built-in demo performer (`kagura demo`):
///
/// ```toml
/// [[source]]
/// kind = "demo"
/// performer = "demo"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    pub performer: String,
    /// Frames per second (1–1000, default 60).
    #[serde(default = "demo_rate")]
    pub rate_hz: u32,
}

fn demo_rate() -> u32 {
    DEMO_RATE_HZ
}

impl SourceKindSpec for DemoConfig {
    const KIND: &'static str = "demo";

    /// The demo is clean already.
    fn filter_preset() -> FilterSettings {
        FilterSettings::light()
    }

    fn io(&self) -> SourceIo {
        SourceIo::Timer
    }

    fn performers(&self) -> Vec<String> {
        vec![self.performer.clone()]
    }

    fn build(&self, _env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        if !(1..=1000).contains(&self.rate_hz) {
            return Err(format!("demo rate_hz {} is outside 1–1000", self.rate_hz));
        }
        Ok(Box::new(DemoSource {
            demo: DemoPerformer::new(PerformerId(0)),
            specs: vec![StreamSpec {
                performer: self.performer.clone(),
                role: SourceRole::everything(),
                filtered: true,
                key: "demo".into(),
                hips_height_m: Some(HIPS_HEIGHT_M),
            }],
            ticker: Ticker::new(1_000_000 / u64::from(self.rate_hz)),
            pending: None,
            frames: 0,
        }))
    }
}

/// The demo as a [`Source`]: a frame at every timeout, one period apart (missed ticks are
/// skipped, never made up in a burst).
pub struct DemoSource {
    demo: DemoPerformer,
    specs: Vec<StreamSpec>,
    ticker: Ticker,
    pending: Option<PoseFrame>,
    frames: u64,
}

impl Source for DemoSource {
    fn kind(&self) -> &'static str {
        DemoConfig::KIND
    }

    fn describe(&self) -> String {
        "built-in".into()
    }

    fn streams(&self) -> &[StreamSpec] {
        &self.specs
    }

    fn handle_input(&mut self, _input: SourceInput<'_>, _now_us: u64) {}

    fn poll_event(&mut self) -> Option<SourceEvent> {
        let pose = self.pending.take()?;
        let made_at = pose.capture_us;
        Some(SourceEvent::Frame {
            stream: 0,
            frame: SourceFrame::of_pose(pose, made_at),
        })
    }

    /// Due at once when started, then every period.
    fn poll_timeout(&self) -> Option<u64> {
        Some(self.ticker.poll_timeout())
    }

    fn handle_timeout(&mut self, now_us: u64) {
        if self.ticker.tick(now_us) {
            self.pending = Some(self.demo.frame_at(now_us));
            self.frames += 1;
        }
    }

    fn report(&self) -> SourceReport {
        SourceReport {
            streams: vec![StreamReport {
                performer: self.specs[0].performer.clone(),
                key: self.specs[0].key.clone(),
                filtered: true,
                counters: Some(serde_json::json!({ "frames": self.frames })),
                ..Default::default()
            }],
            ..Default::default()
        }
    }
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

    #[test]
    fn the_demo_source_ticks_on_its_own_grid_and_skips_missed_ticks() {
        let config = DemoConfig {
            performer: "demo".into(),
            rate_hz: 100,
        };
        let env = BuildEnv {
            read_file: &|_| Err(std::io::ErrorKind::NotFound.into()),
            face_model: &|name| Err(format!("{name}: no models in this test")),
        };
        let mut source = config.build(&env).unwrap();
        let start = 1_000_000;
        source.handle_timeout(start);
        assert!(source.poll_event().is_some());
        assert_eq!(source.poll_timeout(), Some(start + 10_000));
        // Early: nothing. Late by 3.5 periods: one frame, next on the grid.
        source.handle_timeout(start + 5_000);
        assert!(source.poll_event().is_none());
        source.handle_timeout(start + 45_000);
        assert!(source.poll_event().is_some());
        assert!(source.poll_event().is_none());
        assert_eq!(source.poll_timeout(), Some(start + 50_000));
    }
}
