//! [`BodySolver`]: a whole body from a sparse set of inertial trackers (SlimeVR-style: head,
//! chest, hips, thighs, shins, feet, optionally arms), pure and deterministic.
//!
//! Frames and units: the internal convention (right-handed, +Y up, metres, the body faces +Z,
//! its left is +X); orientations are world orientations relative to the VRM normalized rest
//! pose (a T-pose: every bone's rest orientation is the identity); time is µs, passed in.
//!
//! Per frame ([`BodySolver::solve`]):
//! 1. Each tracker's world orientation is checked (NaN, infinite or far from unit: rejected
//!    and counted, as if absent) and calibrated: `B = D̂⁻¹ · S · M̂` ([`resets`], per tracker:
//!    heading of its world and mounting, from [`TrackerCalibration`]).
//! 2. Every body bone gets a world orientation, parents first. A tracked bone takes its
//!    tracker's; the others what their neighbours imply: spine, chest and upper chest slerp
//!    between the hips and the highest tracked torso bone by equal shares (above it they turn
//!    with it); the neck takes half of the turn from the upper chest to the head; a missing
//!    thigh comes from its shin (same knee hinge, a bend the shin's backward lean implies,
//!    within 0–150°), else the hips; a missing shin, foot or toes follows its parent (a
//!    straight knee, a foot in line with the shin); missing hips take the heading of the upper
//!    body; missing arms hang 75° down at the sides.
//! 3. Loss eases: each tracker has a weight that falls to 0 over [`LOSS_EASE_US`] while it is
//!    absent (its last orientation blended, smoothstep, towards what its neighbours imply) and
//!    rises again when it returns. Trackers present in the solver's first frame start at full
//!    weight.
//! 4. Hips position from the legs ([`BodyProportions`]): the lowest sole point (heel or toe of
//!    either foot) is put on the floor, y = 0. The planted point (heel or toe of one foot) keeps
//!    its world position and the hips move horizontally to match; another point becomes the
//!    planted one when it is lower by more than [`PLANT_SWITCH_M`] and its foot turns slower
//!    than [`PLANT_MAX_TURN_DEG_S`] (nearly still: on the floor, not rolling onto or off it). Both feet off the floor (a jump) is
//!    not modelled: the lowest foot always stands on the floor.
//!
//! The solver writes the local rotation of every bone in [`BODY_BONES`] and the hips position;
//! eyes, jaw and fingers keep what the frame has. One solver per source stream: its state
//! (weights, planted foot, hips position) is that stream's.

mod proportions;
pub mod resets;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use glam::{Quat, Vec2, Vec3};
use kagura_protocol::{CheckedRotation, HumanoidBone, PoseFrame, check_rotation};

use crate::solve::SensorOrientations;
pub use proportions::{ANKLE_HEIGHT_M, BodyProportions, DEFAULT_LEG_M};
use resets::yaw_part;

/// How long a lost tracker takes to ease to what its neighbours imply, µs.
pub const LOSS_EASE_US: u64 = 300_000;
/// How much lower than the planted point another sole point must be to take over, metres.
pub const PLANT_SWITCH_M: f32 = 0.005;
/// How fast a foot may turn and still be planted, degrees per second: a foot still rolling
/// onto the floor (heel strike) or off it is not yet planted.
pub const PLANT_MAX_TURN_DEG_S: f32 = 120.0;
/// How far a missing arm hangs below the T-pose, degrees.
const ARM_HANG_DEG: f32 = 75.0;
/// A missing thigh: knee bend per radian of the shin's backward lean. 0.9 keeps the thigh near
/// the vertical, which over a walk's cycle errs least (a shin leaning back is early swing with
/// the thigh behind or late swing with it in front); squats read as shallower than they are.
const KNEE_PER_LEAN: f32 = 0.9;
/// The knee's anatomical range, degrees.
pub const KNEE_MAX_DEG: f32 = 150.0;

use HumanoidBone::*;

/// The bones the body solver writes, parents first.
pub const BODY_BONES: [HumanoidBone; 22] = [
    Hips,
    Spine,
    Chest,
    UpperChest,
    Neck,
    Head,
    LeftUpperLeg,
    LeftLowerLeg,
    LeftFoot,
    LeftToes,
    RightUpperLeg,
    RightLowerLeg,
    RightFoot,
    RightToes,
    LeftShoulder,
    LeftUpperArm,
    LeftLowerArm,
    LeftHand,
    RightShoulder,
    RightUpperArm,
    RightLowerArm,
    RightHand,
];

/// Legs per side (left, right): thigh, shin, foot, toes.
const LEGS: [[HumanoidBone; 4]; 2] = [
    [LeftUpperLeg, LeftLowerLeg, LeftFoot, LeftToes],
    [RightUpperLeg, RightLowerLeg, RightFoot, RightToes],
];
/// Arms per side: shoulder, upper arm, lower arm, hand.
const ARMS: [[HumanoidBone; 4]; 2] = [
    [LeftShoulder, LeftUpperArm, LeftLowerArm, LeftHand],
    [RightShoulder, RightUpperArm, RightLowerArm, RightHand],
];

/// Whether a frame's sensors form a body set the body solver should take: at least one thigh
/// or shin tracker, and at least three trackers among the torso (hips, spine, chest, upper
/// chest), thighs and shins. Feet, head and arms do not count: VMC's usual hips + feet
/// trackers stay with the simple placement ([`crate::solve::solve_sensors`]).
pub fn is_body_set(sensors: &SensorOrientations) -> bool {
    let count = |bones: &[HumanoidBone]| {
        bones
            .iter()
            .filter(|b| sensors[b.index()].is_some())
            .count()
    };
    let legs = count(&[LeftUpperLeg, LeftLowerLeg, RightUpperLeg, RightLowerLeg]);
    legs >= 1 && legs + count(&[Hips, Spine, Chest, UpperChest]) >= 3
}

/// Each tracker's calibration in the form the solver uses per frame: the inverse turn of its
/// world's heading and its mounting, by bone (identity where uncalibrated).
#[derive(Clone, Debug, PartialEq)]
pub struct TrackerCalibration {
    heading_fix: [Quat; HumanoidBone::COUNT],
    mounting: [Quat; HumanoidBone::COUNT],
}

impl Default for TrackerCalibration {
    fn default() -> Self {
        TrackerCalibration {
            heading_fix: [Quat::IDENTITY; HumanoidBone::COUNT],
            mounting: [Quat::IDENTITY; HumanoidBone::COUNT],
        }
    }
}

impl TrackerCalibration {
    /// From a source's stored mountings and headings (radians); non-finite entries are ignored.
    pub fn new(
        mountings: &BTreeMap<HumanoidBone, Quat>,
        headings: &BTreeMap<HumanoidBone, f32>,
    ) -> Self {
        let mut out = TrackerCalibration::default();
        for (bone, m) in mountings {
            if let CheckedRotation::Unit(m) | CheckedRotation::Repaired(m) = check_rotation(*m) {
                out.mounting[bone.index()] = m;
            }
        }
        for (bone, h) in headings {
            if h.is_finite() {
                out.heading_fix[bone.index()] = Quat::from_rotation_y(-h);
            }
        }
        out
    }

    /// The calibrated world orientation of `bone` from its tracker's.
    pub fn bone_world(&self, bone: HumanoidBone, sensor: Quat) -> Quat {
        let i = bone.index();
        (self.heading_fix[i] * sensor * self.mounting[i]).normalize()
    }
}

#[derive(Clone, Copy, Debug)]
struct Track {
    /// 1: the tracker's orientation; 0: what the neighbours imply.
    weight: f32,
    /// The last calibrated orientation the tracker gave.
    last: Quat,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Plant {
    side: usize,
    /// 0 heel, 1 toe.
    point: usize,
    /// Its world position on the floor (x, z).
    anchor: Vec2,
}

/// One stream's body solver. See the module documentation.
#[derive(Clone, Debug)]
pub struct BodySolver {
    proportions: BodyProportions,
    calibration: TrackerCalibration,
    tracks: [Track; HumanoidBone::COUNT],
    last_us: Option<u64>,
    hips_xz: Vec2,
    planted: Option<Plant>,
    /// Sole points (heel, toe per side) relative to the hips, last frame.
    relative: [[Vec3; 2]; 2],
    world: [Quat; HumanoidBone::COUNT],
    hips: Vec3,
    rejected: u64,
}

fn xz(v: Vec3) -> Vec2 {
    Vec2::new(v.x, v.z)
}

fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A missing thigh from its shin: the same knee hinge (the shin's X axis), bent by what the
/// shin's lean implies. A shin leaning forward (foot ahead of the knee) implies a straight
/// knee; leaning back, a knee bent by [`KNEE_PER_LEAN`] times the lean, within the knee's
/// range.
fn thigh_from_shin(shin: Quat) -> Quat {
    let hinge = shin * Vec3::X;
    let down = shin * Vec3::NEG_Y;
    let forward = hinge.cross(Vec3::Y);
    if forward.length_squared() < 1e-4 {
        return shin;
    }
    let lean = down.dot(forward.normalize()).atan2(-down.y);
    let flex = (-KNEE_PER_LEAN * lean).clamp(0.0, KNEE_MAX_DEG.to_radians());
    (shin * Quat::from_rotation_x(-flex)).normalize()
}

impl BodySolver {
    pub fn new(proportions: BodyProportions, calibration: TrackerCalibration) -> Self {
        BodySolver {
            proportions,
            calibration,
            tracks: [Track {
                weight: 0.0,
                last: Quat::IDENTITY,
            }; HumanoidBone::COUNT],
            last_us: None,
            hips_xz: Vec2::ZERO,
            planted: None,
            relative: [[Vec3::ZERO; 2]; 2],
            world: [Quat::IDENTITY; HumanoidBone::COUNT],
            hips: Vec3::ZERO,
            rejected: 0,
        }
    }

    pub fn set_calibration(&mut self, calibration: TrackerCalibration) {
        self.calibration = calibration;
    }

    pub fn set_proportions(&mut self, proportions: BodyProportions) {
        self.proportions = proportions;
    }

    pub fn proportions(&self) -> &BodyProportions {
        &self.proportions
    }

    /// Sensor orientations rejected so far (NaN, infinite, far from unit length).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The planted foot of the last frame: 0 left, 1 right.
    pub fn planted_side(&self) -> Option<usize> {
        self.planted.map(|p| p.side)
    }

    /// World orientations of every body bone in the last frame.
    pub fn world(&self) -> &[Quat; HumanoidBone::COUNT] {
        &self.world
    }

    /// World sole points of the last frame: per side (left, right), heel then toe.
    pub fn soles(&self) -> [[Vec3; 2]; 2] {
        self.relative.map(|side| side.map(|p| p + self.hips))
    }

    /// Moves the body back over the origin (the planted foot is planted again where it is).
    pub fn recenter(&mut self) {
        self.hips_xz = Vec2::ZERO;
        self.planted = None;
    }

    fn blend(&self, bone: HumanoidBone, implied: Quat) -> Quat {
        let t = &self.tracks[bone.index()];
        if t.weight >= 1.0 {
            t.last
        } else if t.weight <= 0.0 {
            implied
        } else {
            implied.slerp(t.last, smoothstep(t.weight)).normalize()
        }
    }

    fn tracked(&self, bone: HumanoidBone) -> Option<Quat> {
        let t = &self.tracks[bone.index()];
        (t.weight > 0.0).then_some(t.last)
    }

    /// Solves one frame of world sensor orientations (by the bone each tracker is strapped to)
    /// at `now_us` into `frame`'s body bones and hips position.
    pub fn solve(&mut self, sensors: &SensorOrientations, now_us: u64, frame: &mut PoseFrame) {
        let first = self.last_us.is_none();
        let dt_s = match self.last_us {
            Some(t) if now_us > t => ((now_us - t) as f32 * 1e-6).min(1.0),
            _ => 0.0,
        };
        self.last_us = Some(self.last_us.map_or(now_us, |t| t.max(now_us)));
        let step = dt_s / (LOSS_EASE_US as f32 * 1e-6);
        for bone in BODY_BONES {
            let i = bone.index();
            let measured = sensors[i].and_then(|q| match check_rotation(q) {
                CheckedRotation::Unit(q) | CheckedRotation::Repaired(q) => {
                    Some(self.calibration.bone_world(bone, q))
                }
                CheckedRotation::Invalid => {
                    self.rejected += 1;
                    None
                }
            });
            let track = &mut self.tracks[i];
            match measured.filter(|q| q.is_finite()) {
                Some(q) => {
                    track.last = q;
                    track.weight = if first {
                        1.0
                    } else {
                        (track.weight + step).min(1.0)
                    };
                }
                None => track.weight = (track.weight - step).max(0.0),
            }
        }

        let mut w = [Quat::IDENTITY; HumanoidBone::COUNT];
        // Hips: the tracker, else the upper body's heading, else the thighs'.
        let hips_implied = [UpperChest, Chest, Spine, Head]
            .into_iter()
            .find_map(|b| self.tracked(b))
            .or_else(
                || match (self.tracked(LeftUpperLeg), self.tracked(RightUpperLeg)) {
                    (Some(l), Some(r)) => Some(l.slerp(r, 0.5)),
                    (l, r) => l.or(r),
                },
            )
            .map_or(Quat::IDENTITY, yaw_part);
        let hips = self.blend(Hips, hips_implied);
        w[Hips.index()] = hips;
        // Spine, chest, upper chest: slerp shares up to the highest tracked one.
        let torso = [Spine, Chest, UpperChest];
        match torso.iter().rposition(|b| self.tracked(*b).is_some()) {
            None => torso.iter().for_each(|b| w[b.index()] = hips),
            Some(top) => {
                let top_world = self.blend(torso[top], hips);
                for (j, bone) in torso.iter().enumerate() {
                    w[bone.index()] = if j < top {
                        let share = (j + 1) as f32 / (top + 1) as f32;
                        self.blend(*bone, hips.slerp(top_world, share))
                    } else {
                        top_world
                    };
                }
            }
        }
        let upper_chest = w[UpperChest.index()];
        let head = self.blend(Head, self.tracked(Neck).unwrap_or(upper_chest));
        w[Neck.index()] = self.blend(Neck, upper_chest.slerp(head, 0.5));
        w[Head.index()] = head;
        for (side, [shoulder, upper, lower, hand]) in ARMS.into_iter().enumerate() {
            let sign = if side == 0 { -1.0 } else { 1.0 };
            let s = self.blend(shoulder, upper_chest);
            let hang = s * Quat::from_rotation_z(sign * ARM_HANG_DEG.to_radians());
            let u = self.blend(upper, hang);
            let l = self.blend(lower, u);
            w[shoulder.index()] = s;
            w[upper.index()] = u;
            w[lower.index()] = l;
            w[hand.index()] = self.blend(hand, l);
        }
        for [thigh, shin, foot, toes] in LEGS {
            let implied = self.tracked(shin).map_or(hips, thigh_from_shin);
            let t = self.blend(thigh, implied);
            let s = self.blend(shin, t);
            let f = self.blend(foot, s);
            w[thigh.index()] = t;
            w[shin.index()] = s;
            w[foot.index()] = f;
            w[toes.index()] = self.blend(toes, f);
        }

        self.place_hips(&w, dt_s);
        self.world = w;
        for bone in BODY_BONES {
            let parent = bone.parent().map_or(Quat::IDENTITY, |p| w[p.index()]);
            frame.set_bone(bone, (parent.inverse() * w[bone.index()]).normalize());
        }
        frame.hips_position = Some(self.hips);
    }

    /// Grounds the lowest sole point and keeps the planted one still (module documentation).
    fn place_hips(&mut self, w: &[Quat; HumanoidBone::COUNT], dt_s: f32) {
        let p = self.proportions;
        let hips = w[Hips.index()];
        let mut relative = [[Vec3::ZERO; 2]; 2];
        for (side, [thigh, shin, foot, _]) in LEGS.into_iter().enumerate() {
            let hip = hips * p.hip_offset(side == 0);
            let knee = hip + w[thigh.index()] * Vec3::new(0.0, -p.upper_leg_m, 0.0);
            let ankle = knee + w[shin.index()] * Vec3::new(0.0, -p.lower_leg_m, 0.0);
            for (k, sole) in p.sole_points().into_iter().enumerate() {
                relative[side][k] = ankle + w[foot.index()] * sole;
            }
        }
        let (mut low_side, mut low_point, mut low_y) = (0, 0, f32::INFINITY);
        for (side, points) in relative.iter().enumerate() {
            for (k, point) in points.iter().enumerate() {
                if point.y < low_y {
                    (low_side, low_point, low_y) = (side, k, point.y);
                }
            }
        }
        if !low_y.is_finite() {
            return;
        }
        match self.planted {
            None => {
                self.planted = Some(Plant {
                    side: low_side,
                    point: low_point,
                    anchor: self.hips_xz + xz(relative[low_side][low_point]),
                });
            }
            Some(plant) => {
                let at = relative[plant.side][plant.point];
                self.hips_xz = plant.anchor - xz(at);
                if (low_side, low_point) != (plant.side, plant.point)
                    && low_y < at.y - PLANT_SWITCH_M
                {
                    let foot = LEGS[low_side][2].index();
                    let turned = w[foot].angle_between(self.world[foot]).to_degrees();
                    let still = dt_s <= 0.0 || turned / dt_s < PLANT_MAX_TURN_DEG_S;
                    if still {
                        self.planted = Some(Plant {
                            side: low_side,
                            point: low_point,
                            anchor: self.hips_xz + xz(relative[low_side][low_point]),
                        });
                    }
                }
            }
        }
        self.relative = relative;
        self.hips = Vec3::new(self.hips_xz.x, -low_y, self.hips_xz.y);
    }
}
