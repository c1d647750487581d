//! [`PoseMerger`]: one performer's pose from several sources, part by part, with priorities.
//!
//! Each source drives some body parts (bone groups and the face) at a priority. For every part
//! the merger follows the highest-priority source that has been heard from within `hold`; a
//! source that goes silent therefore holds its last value for `hold`, then the part moves to the
//! next source by priority, or to rest if there is none. Every change of source — going silent,
//! coming back, a higher priority appearing — cross-fades from what was shown to the new
//! source's pose over `ease`, so nothing jumps. Pure: time comes from the frames' timestamps and
//! the `now` the caller passes.

use glam::{Quat, Vec3};
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame, RootTransform};
use serde::{Deserialize, Serialize};

use kagura_filter::BoneGroup;

/// A part of the body that one source can drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyPart {
    /// Neck, head, eyes, jaw.
    Head,
    /// Hips, spine, chest; also the root and the hips' position.
    Spine,
    Arms,
    Fingers,
    Legs,
    /// Every expression channel.
    Face,
}

impl BodyPart {
    pub const ALL: [BodyPart; 6] = [
        BodyPart::Head,
        BodyPart::Spine,
        BodyPart::Arms,
        BodyPart::Fingers,
        BodyPart::Legs,
        BodyPart::Face,
    ];

    pub fn of(bone: HumanoidBone) -> BodyPart {
        match BoneGroup::of(bone) {
            BoneGroup::Head => BodyPart::Head,
            BoneGroup::Spine => BodyPart::Spine,
            BoneGroup::Arms => BodyPart::Arms,
            BoneGroup::Fingers => BodyPart::Fingers,
            BoneGroup::Legs => BodyPart::Legs,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What one source contributes: its parts and its priority (higher wins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRole {
    pub parts: Vec<BodyPart>,
    pub priority: i32,
}

impl SourceRole {
    /// The role a config entry gives: its `parts` (all when not given) at its `priority`.
    pub fn configured(parts: &Option<Vec<BodyPart>>, priority: i32) -> Self {
        SourceRole {
            parts: parts.clone().unwrap_or_else(|| BodyPart::ALL.to_vec()),
            priority,
        }
    }

    /// Every part, at priority 0.
    pub fn everything() -> Self {
        SourceRole {
            parts: BodyPart::ALL.to_vec(),
            priority: 0,
        }
    }
}

struct SourceState {
    role: SourceRole,
    latest: Option<PoseFrame>,
    /// When its newest frame arrived.
    last_seen_us: u64,
}

/// How often a cross-fade in progress asks to be recomposed, µs (60 Hz).
pub const FADE_TICK_US: u64 = 16_667;

#[derive(Clone, Copy)]
struct PartState {
    driver: Option<usize>,
    switched_at_us: u64,
    /// When the cross-fade of the last switch ends (`switched_at_us` when the
    /// switch did not fade).
    fade_until_us: u64,
}

/// Merges one performer's sources.
pub struct PoseMerger {
    /// By slot; a removed source leaves `None`, so other slots keep their numbers.
    sources: Vec<Option<SourceState>>,
    parts: [PartState; 6],
    /// What was last composed: where cross-fades start from.
    shown: PoseFrame,
    /// The pose at the moment each part last switched.
    fade_from: PoseFrame,
    hold_us: u64,
    ease_us: u64,
    seq: u32,
    /// The latest `now` composed at: time never runs backwards here.
    now_us: u64,
}

impl PoseMerger {
    pub fn new(performer: PerformerId, roles: Vec<SourceRole>, hold_us: u64, ease_us: u64) -> Self {
        PoseMerger {
            sources: roles
                .into_iter()
                .map(|role| {
                    Some(SourceState {
                        role,
                        latest: None,
                        last_seen_us: 0,
                    })
                })
                .collect(),
            parts: [PartState {
                driver: None,
                switched_at_us: 0,
                fade_until_us: 0,
            }; 6],
            shown: PoseFrame::new(performer),
            fade_from: PoseFrame::new(performer),
            hold_us,
            ease_us,
            seq: 0,
            now_us: 0,
        }
    }

    /// Adds a source; returns its slot.
    pub fn add_source(&mut self, role: SourceRole) -> usize {
        self.sources.push(Some(SourceState {
            role,
            latest: None,
            last_seen_us: 0,
        }));
        self.sources.len() - 1
    }

    /// Removes a source: its parts move on at the next compose, as if it had gone silent.
    pub fn remove_source(&mut self, slot: usize) {
        if let Some(s) = self.sources.get_mut(slot) {
            *s = None;
        }
    }

    /// Records source `source`'s newest frame, which arrived at `arrival_us`.
    pub fn update(&mut self, source: usize, frame: PoseFrame, arrival_us: u64) {
        if let Some(Some(s)) = self.sources.get_mut(source) {
            s.last_seen_us = arrival_us;
            s.latest = Some(frame);
        }
    }

    /// When the merged pose next changes with no new frame, µs: a live source's hold running
    /// out, or the next step of a cross-fade in progress. `None`: nothing is due.
    pub fn next_change_us(&self) -> Option<u64> {
        let mut next: Option<u64> = None;
        let mut earliest = |t: u64| next = Some(next.map_or(t, |n| n.min(t)));
        for part in BodyPart::ALL {
            let state = self.parts[part.index()];
            if let Some(Some(source)) = state.driver.map(|d| &self.sources[d]) {
                earliest(source.last_seen_us + self.hold_us + 1);
            }
            if state.fade_until_us > self.now_us {
                earliest((self.now_us + FADE_TICK_US).min(state.fade_until_us));
            }
        }
        next
    }

    /// The merged pose at `now_us`, stamped `now_us`: the time it was composed (each source's
    /// own capture time has driven its filter by then). Time never runs backwards here:
    /// sources on different threads may hand in slightly out-of-order times, and the later one
    /// counts.
    pub fn compose(&mut self, now_us: u64) -> PoseFrame {
        let now_us = now_us.max(self.now_us);
        self.now_us = now_us;
        for part in BodyPart::ALL {
            let driver = self.driver_for(part, now_us);
            let state = &mut self.parts[part.index()];
            if driver != state.driver {
                state.driver = driver;
                // Nothing shown yet for this part: appear at once rather than fade in from rest.
                state.switched_at_us = now_us;
                state.fade_until_us = if has_part(&self.shown, part) {
                    now_us + self.ease_us
                } else {
                    now_us
                };
                copy_part(&self.shown, &mut self.fade_from, part);
            }
        }
        let mut out = PoseFrame::new(self.shown.performer);
        out.seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        for part in BodyPart::ALL {
            let state = self.parts[part.index()];
            let target = state
                .driver
                .and_then(|s| self.sources[s].as_ref())
                .and_then(|s| s.latest.as_ref());

            let t = if now_us >= state.fade_until_us {
                1.0
            } else {
                let elapsed = now_us - state.switched_at_us;
                (elapsed as f32 / self.ease_us as f32).min(1.0)
            };
            blend_part(&self.fade_from, target, t, part, &mut out);
        }
        out.capture_us = now_us;
        self.shown = out.clone();
        out
    }

    fn driver_for(&self, part: BodyPart, now_us: u64) -> Option<usize> {
        self.sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.as_ref()?)))
            .filter(|(_, s)| s.latest.is_some() && s.role.parts.contains(&part))
            .filter(|(_, s)| now_us.saturating_sub(s.last_seen_us) <= self.hold_us)
            // Highest priority; among equals, the first configured.
            .max_by(|(a, x), (b, y)| x.role.priority.cmp(&y.role.priority).then(b.cmp(a)))
            .map(|(i, _)| i)
    }
}

fn has_part(frame: &PoseFrame, part: BodyPart) -> bool {
    match part {
        BodyPart::Face => frame.expressions().next().is_some(),
        _ => frame.bones().any(|(b, _)| BodyPart::of(b) == part),
    }
}

/// Copies `part`'s values from `from` into `to` (absent stays absent).
fn copy_part(from: &PoseFrame, to: &mut PoseFrame, part: BodyPart) {
    blend_part(from, Some(from), 1.0, part, to);
}

/// Writes `part` into `out`: from `start` towards `target` (rest when `None`) by `t` in 0..=1.
fn blend_part(
    start: &PoseFrame,
    target: Option<&PoseFrame>,
    t: f32,
    part: BodyPart,
    out: &mut PoseFrame,
) {
    if part == BodyPart::Face {
        for e in Expression::ALL {
            let to = target.and_then(|f| f.expression(e));
            match (start.expression(e), to) {
                (None, None) => {}
                (from, to) => {
                    let (from, to) = (from.unwrap_or(0.0), to.unwrap_or(0.0));
                    out.set_expression(e, from + (to - from) * t);
                }
            }
        }
        return;
    }
    for bone in HumanoidBone::ALL
        .into_iter()
        .filter(|b| BodyPart::of(*b) == part)
    {
        let to = target.and_then(|f| f.bone(bone));
        match (start.bone(bone), to) {
            (None, None) => {}
            // Settled (the common case, every frame of a live source): the target as it is.
            (_, Some(to)) if t >= 1.0 => out.set_bone(bone, to),
            (from, to) => {
                let (from, to) = (from.unwrap_or(Quat::IDENTITY), to.unwrap_or(Quat::IDENTITY));
                out.set_bone(bone, from.slerp(to, t).normalize());
            }
        }
    }
    if part == BodyPart::Spine {
        out.hips_position = match (start.hips_position, target.and_then(|f| f.hips_position)) {
            (Some(a), Some(b)) => Some(a.lerp(b, t)),
            (a, b) => a.or(b),
        };
        out.root = match (start.root, target.and_then(|f| f.root)) {
            (None, None) => None,
            (a, b) => {
                let rest = RootTransform {
                    position: Vec3::ZERO,
                    rotation: Quat::IDENTITY,
                };
                let (a, b) = (a.or(b).unwrap_or(rest), b.or(a).unwrap_or(rest));
                Some(RootTransform {
                    position: a.position.lerp(b.position, t),
                    rotation: a.rotation.slerp(b.rotation, t),
                })
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::rotation_error_degrees;

    const HOLD: u64 = 200_000;
    const EASE: u64 = 300_000;

    fn source_frame(head_yaw: f32, arm: f32, aa: f32, t: u64) -> PoseFrame {
        let mut f = PoseFrame::new(PerformerId(0));
        f.capture_us = t;
        f.set_bone(HumanoidBone::Head, Quat::from_rotation_y(head_yaw));
        f.set_bone(HumanoidBone::LeftUpperArm, Quat::from_rotation_z(arm));
        f.set_expression(Expression::Aa, aa);
        f
    }

    fn yaw(f: &PoseFrame) -> f32 {
        let q = f.bone(HumanoidBone::Head).unwrap();
        2.0 * q.y.atan2(q.w)
    }

    #[test]
    fn parts_follow_priority_hold_then_ease_and_return_without_jumps() {
        // Source 0: a phone for face and head (priority 10). Source 1: a suit for everything.
        let phone = SourceRole {
            parts: vec![BodyPart::Face, BodyPart::Head],
            priority: 10,
        };
        let mut merger = PoseMerger::new(
            PerformerId(0),
            vec![phone, SourceRole::everything()],
            HOLD,
            EASE,
        );
        let step = 10_000u64;
        let mut t = 1_000_000u64;
        let mut outputs: Vec<(u64, PoseFrame)> = Vec::new();
        fn run(
            merger: &mut PoseMerger,
            outputs: &mut Vec<(u64, PoseFrame)>,
            phone_live: bool,
            until: u64,
            t: &mut u64,
        ) {
            while *t < until {
                if phone_live {
                    merger.update(0, source_frame(0.5, 0.0, 0.8, *t), *t);
                }
                merger.update(1, source_frame(-0.5, 1.0, 0.1, *t), *t);
                outputs.push((*t, merger.compose(*t)));
                *t += 10_000;
            }
        }
        run(&mut merger, &mut outputs, true, 2_000_000, &mut t);
        let (_, both) = outputs.last().unwrap().clone();
        assert!((yaw(&both) - 0.5).abs() < 1e-4, "head from the phone");
        assert!(
            (both.expression(Expression::Aa).unwrap() - 0.8).abs() < 1e-4,
            "face from the phone"
        );
        assert!(
            rotation_error_degrees(
                both.bone(HumanoidBone::LeftUpperArm).unwrap(),
                Quat::from_rotation_z(1.0)
            ) < 1e-3
        );

        let silent_from = t;
        run(&mut merger, &mut outputs, false, 3_000_000, &mut t);
        for (at, f) in &outputs {
            if *at >= silent_from && *at <= silent_from - step + HOLD {
                assert!(
                    (yaw(f) - 0.5).abs() < 1e-4,
                    "holds the last value during hold"
                );
            }
            if *at >= silent_from + HOLD + EASE {
                assert!((yaw(f) + 0.5).abs() < 1e-4, "then the suit's head");
                assert!((f.expression(Expression::Aa).unwrap() - 0.1).abs() < 1e-4);
            }
        }
        run(&mut merger, &mut outputs, true, 4_000_000, &mut t);
        let (_, back) = outputs.last().unwrap();
        assert!((yaw(back) - 0.5).abs() < 1e-4, "the phone takes over again");
        // No jumps anywhere: one 10 ms step never moves the head more than the ease allows.
        let max_step = outputs
            .windows(2)
            .map(|w| (yaw(&w[1].1) - yaw(&w[0].1)).abs())
            .fold(0.0, f32::max);
        assert!(
            max_step <= 1.0 * step as f32 / EASE as f32 + 1e-3,
            "largest step {max_step} rad"
        );
    }

    #[test]
    fn a_part_with_no_live_source_eases_to_rest() {
        let mut merger =
            PoseMerger::new(PerformerId(0), vec![SourceRole::everything()], HOLD, EASE);
        merger.update(0, source_frame(0.5, 0.3, 0.6, 1_000_000), 1_000_000);
        merger.compose(1_000_000);
        let late = merger.compose(1_000_000 + HOLD + 1);
        let later = merger.compose(1_000_000 + HOLD + 1 + EASE);
        assert!((yaw(&late) - 0.5).abs() < 0.01);
        assert!(yaw(&later).abs() < 1e-4, "rest");
        assert!(later.expression(Expression::Aa).unwrap() < 1e-4);
    }

    #[test]
    fn silence_is_noticed_by_the_timer_alone() {
        let mut merger =
            PoseMerger::new(PerformerId(0), vec![SourceRole::everything()], HOLD, EASE);
        assert_eq!(merger.next_change_us(), None, "nothing heard, nothing due");
        let t0 = 1_000_000;
        merger.update(0, source_frame(0.5, 0.3, 0.6, t0), t0);
        merger.compose(t0);
        // Driven only by its own deadlines, the pose holds, then eases to rest.
        let mut now = merger.next_change_us().expect("the hold runs out");
        assert_eq!(now, t0 + HOLD + 1);
        let mut steps = 0;
        while let Some(next) = merger.next_change_us() {
            assert!(next >= now, "deadlines move forward");
            now = next;
            let f = merger.compose(now);
            steps += 1;
            assert!(steps < 100, "the ease ends");
            if merger.next_change_us().is_none() {
                assert!(yaw(&f).abs() < 1e-4, "at rest when nothing is due");
            }
        }
        assert!(now >= t0 + HOLD + EASE);
    }

    #[test]
    fn a_removed_source_hands_its_parts_on() {
        let mut merger = PoseMerger::new(PerformerId(0), vec![], HOLD, 0);
        let a = merger.add_source(SourceRole::everything());
        let b = merger.add_source(SourceRole {
            parts: BodyPart::ALL.to_vec(),
            priority: 5,
        });
        merger.update(a, source_frame(-0.5, 0.0, 0.0, 10), 10);
        merger.update(b, source_frame(0.5, 0.0, 0.0, 10), 10);
        assert!((yaw(&merger.compose(10)) - 0.5).abs() < 1e-4);
        merger.remove_source(b);
        assert!((yaw(&merger.compose(11)) + 0.5).abs() < 1e-4);
    }
}
