//! Simulated SlimeVR-style trackers on a procedural walk: random straps, a random heading per
//! tracker's world, 0.5° of noise; calibrated by a full reset and a mounting reset; solved.

use std::collections::BTreeMap;
use std::f32::consts::TAU;

use glam::{Quat, Vec3};
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};

use super::resets::{full_reset, mounting_reset, yaw_reset};
use super::*;
use crate::solve::NO_SENSORS;

/// The lower-body-and-torso set: 9 trackers.
const SET: [HumanoidBone; 9] = [
    Head,
    Chest,
    Hips,
    LeftUpperLeg,
    LeftLowerLeg,
    LeftFoot,
    RightUpperLeg,
    RightLowerLeg,
    RightFoot,
];

const RATE_HZ: u64 = 100;
const STEP_US: u64 = 1_000_000 / RATE_HZ;

struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
    fn signed(&mut self) -> f32 {
        self.uniform() * 2.0 - 1.0
    }
    fn unit_vector(&mut self) -> Vec3 {
        loop {
            let v = Vec3::new(self.signed(), self.signed(), self.signed());
            if (0.01..1.0).contains(&v.length_squared()) {
                return v.normalize();
            }
        }
    }
    fn rotation(&mut self) -> Quat {
        Quat::from_axis_angle(self.unit_vector(), self.uniform() * std::f32::consts::PI)
    }
}

/// The performer's trackers: per bone, its world's heading (radians) and its strap.
struct Suit {
    heading: BTreeMap<HumanoidBone, f32>,
    strap: BTreeMap<HumanoidBone, Quat>,
    noise_deg: f32,
    rng: Rng,
}

impl Suit {
    fn new(seed: u64) -> Suit {
        let mut rng = Rng(seed | 1);
        let mut heading = BTreeMap::new();
        let mut strap = BTreeMap::new();
        for bone in SET {
            heading.insert(bone, rng.signed() * std::f32::consts::PI);
            strap.insert(bone, rng.rotation());
        }
        Suit {
            heading,
            strap,
            noise_deg: 0.5,
            rng,
        }
    }

    /// What the trackers report for bones at world orientations `world`.
    fn sense(&mut self, world: &[Quat; HumanoidBone::COUNT]) -> SensorOrientations {
        let mut out = NO_SENSORS;
        for bone in SET {
            let noise = Quat::from_axis_angle(self.rng.unit_vector(), self.noise_deg.to_radians());
            let s = Quat::from_rotation_y(self.heading[&bone])
                * world[bone.index()]
                * noise
                * self.strap[&bone].inverse();
            out[bone.index()] = Some(s.normalize());
        }
        out
    }

    /// The average of many readings of a held pose.
    fn hold(&mut self, world: &[Quat; HumanoidBone::COUNT]) -> BTreeMap<HumanoidBone, Quat> {
        let mut sums: BTreeMap<HumanoidBone, glam::Vec4> = BTreeMap::new();
        for _ in 0..100 {
            let s = self.sense(world);
            for bone in SET {
                let q = s[bone.index()].unwrap();
                let sum = sums.entry(bone).or_insert(glam::Vec4::ZERO);
                let v = glam::Vec4::from(q);
                *sum += if sum.dot(v) < 0.0 { -v } else { v };
            }
        }
        sums.into_iter()
            .map(|(b, v)| (b, Quat::from_vec4(v).normalize()))
            .collect()
    }
}

fn standing() -> [Quat; HumanoidBone::COUNT] {
    [Quat::IDENTITY; HumanoidBone::COUNT]
}

/// Knees bent as in skiing, upper body and head forward, heels off the floor.
fn mounting_pose() -> [Quat; HumanoidBone::COUNT] {
    let mut w = standing();
    let deg = |d: f32| d.to_radians();
    w[Hips.index()] = Quat::from_rotation_x(deg(20.0));
    w[Chest.index()] = Quat::from_rotation_x(deg(35.0));
    w[Head.index()] = Quat::from_rotation_x(deg(25.0));
    for [thigh, shin, foot, _] in LEGS {
        w[thigh.index()] = Quat::from_rotation_x(deg(-50.0));
        w[shin.index()] = Quat::from_rotation_x(deg(40.0));
        w[foot.index()] = Quat::from_rotation_x(deg(15.0));
    }
    w
}

/// A walk at 1 step pair per second, facing 30° to the left of where the reset faced.
fn walk(t_s: f32) -> [Quat; HumanoidBone::COUNT] {
    let deg = |d: f32| d.to_radians();
    let phase = TAU * t_s;
    let body = Quat::from_rotation_y(deg(30.0));
    let mut w = standing();
    w[Hips.index()] = body
        * Quat::from_rotation_y(deg(5.0) * phase.sin())
        * Quat::from_rotation_z(deg(3.0) * phase.cos());
    w[Chest.index()] =
        body * Quat::from_rotation_y(deg(-4.0) * phase.sin()) * Quat::from_rotation_x(deg(6.0));
    w[Head.index()] = body * Quat::from_rotation_x(deg(5.0) * (2.0 * phase).sin());
    for (side, [thigh, shin, foot, _]) in LEGS.into_iter().enumerate() {
        let p = phase + side as f32 * std::f32::consts::PI;
        let swing = deg(20.0) * p.sin();
        let knee = deg(50.0) * p.cos().max(0.0);
        w[thigh.index()] = body * Quat::from_rotation_x(-swing);
        w[shin.index()] = w[thigh.index()] * Quat::from_rotation_x(knee);
        w[foot.index()] = body;
    }
    w
}

/// Whether `side`'s foot is in the middle of its stance in the walk (knee straight, moving
/// back; its middle two thirds, away from the change of feet).
fn mid_stance(t_s: f32, side: usize) -> bool {
    (TAU * t_s + side as f32 * std::f32::consts::PI).cos() < -0.5
}

/// World orientations from a frame's local rotations (the test's own forward kinematics).
fn world_of(frame: &PoseFrame) -> [Quat; HumanoidBone::COUNT] {
    let mut w = [Quat::IDENTITY; HumanoidBone::COUNT];
    for bone in HumanoidBone::ALL {
        let parent = bone.parent().map_or(Quat::IDENTITY, |p| w[p.index()]);
        w[bone.index()] = parent * frame.bone(bone).unwrap_or(Quat::IDENTITY);
    }
    w
}

/// World heel and toe per side from a frame and the proportions.
fn soles_of(frame: &PoseFrame, p: &BodyProportions) -> [[Vec3; 2]; 2] {
    let w = world_of(frame);
    let hips = frame.hips_position.unwrap();
    let mut out = [[Vec3::ZERO; 2]; 2];
    for (side, [thigh, shin, foot, _]) in LEGS.into_iter().enumerate() {
        let x = if side == 0 {
            p.hip_half_width_m
        } else {
            -p.hip_half_width_m
        };
        let hip = hips + w[Hips.index()] * Vec3::new(x, 0.0, 0.0);
        let knee = hip + w[thigh.index()] * Vec3::new(0.0, -p.upper_leg_m, 0.0);
        let ankle = knee + w[shin.index()] * Vec3::new(0.0, -p.lower_leg_m, 0.0);
        out[side][0] = ankle + w[foot.index()] * Vec3::new(0.0, -p.ankle_height_m, -p.heel_m);
        out[side][1] = ankle + w[foot.index()] * Vec3::new(0.0, -p.ankle_height_m, p.toe_m);
    }
    out
}

/// A solver calibrated on the suit: a full reset standing, then a mounting reset.
fn calibrated_solver(
    suit: &mut Suit,
) -> (
    BodySolver,
    BTreeMap<HumanoidBone, Quat>,
    BTreeMap<HumanoidBone, f32>,
) {
    let (mut mountings, mut headings) = (BTreeMap::new(), BTreeMap::new());
    let stand = suit.hold(&standing());
    full_reset(&mut mountings, &mut headings, &stand, |_| Quat::IDENTITY);
    let bent = suit.hold(&mounting_pose());
    let report = mounting_reset(&mut mountings, &mut headings, &bent);
    assert_eq!(report.corrected.len(), SET.len(), "{report:?}");
    let solver = BodySolver::new(
        BodyProportions::default(),
        TrackerCalibration::new(&mountings, &headings),
    );
    (solver, mountings, headings)
}

struct WalkErrors {
    worst_tracked_deg: f64,
    worst_floor_m: f32,
    worst_skate_m: f32,
}

/// Walks for `seconds`, checking what every frame gives.
fn walk_errors(solver: &mut BodySolver, suit: &mut Suit, seconds: f32) -> WalkErrors {
    let p = *solver.proportions();
    let mut errors = WalkErrors {
        worst_tracked_deg: 0.0,
        worst_floor_m: 0.0,
        worst_skate_m: 0.0,
    };
    let mut stance_start: [Option<Vec3>; 2] = [None, None];
    let frames = (seconds * RATE_HZ as f32) as u64;
    for i in 0..frames {
        let t = i as f32 / RATE_HZ as f32;
        let truth = walk(t);
        let mut frame = PoseFrame::new(PerformerId(0));
        solver.solve(&suit.sense(&truth), i * STEP_US, &mut frame);
        let got = world_of(&frame);
        for bone in SET {
            let e = rotation_error_degrees(got[bone.index()], truth[bone.index()]);
            errors.worst_tracked_deg = errors.worst_tracked_deg.max(e);
        }
        let soles = soles_of(&frame, &p);
        let lowest = soles
            .iter()
            .flatten()
            .map(|s| s.y)
            .fold(f32::INFINITY, f32::min);
        errors.worst_floor_m = errors.worst_floor_m.max(lowest.abs());
        for side in 0..2 {
            if mid_stance(t, side) {
                let start = *stance_start[side].get_or_insert(soles[side][0]);
                let moved = Vec3::new(soles[side][0].x - start.x, 0.0, soles[side][0].z - start.z);
                errors.worst_skate_m = errors.worst_skate_m.max(moved.length());
            } else {
                stance_start[side] = None;
            }
        }
    }
    errors
}

#[test]
fn a_calibrated_sparse_suit_gives_the_walk_back_with_feet_planted() {
    for seed in [1, 7, 42, 1234] {
        let mut suit = Suit::new(seed);
        let (mut solver, _, _) = calibrated_solver(&mut suit);
        let e = walk_errors(&mut solver, &mut suit, 3.0);
        eprintln!(
            "seed {seed}: tracked {:.2}°, floor {:.4} m, skate {:.4} m",
            e.worst_tracked_deg, e.worst_floor_m, e.worst_skate_m
        );
        assert!(
            e.worst_tracked_deg < 2.0,
            "seed {seed}: {:.2}°",
            e.worst_tracked_deg
        );
        assert!(e.worst_floor_m < 0.01, "seed {seed}: {} m", e.worst_floor_m);
        assert!(e.worst_skate_m < 0.01, "seed {seed}: {} m", e.worst_skate_m);
    }
}

#[test]
fn a_full_reset_alone_bends_knees_sideways_and_the_mounting_reset_is_what_fixes_it() {
    let mut suit = Suit::new(5);
    let (mut mountings, mut headings) = (BTreeMap::new(), BTreeMap::new());
    let stand = suit.hold(&standing());
    full_reset(&mut mountings, &mut headings, &stand, |_| Quat::IDENTITY);
    let mut solver = BodySolver::new(
        BodyProportions::default(),
        TrackerCalibration::new(&mountings, &headings),
    );
    let e = walk_errors(&mut solver, &mut suit, 1.0);
    assert!(e.worst_tracked_deg > 10.0, "{:.2}°", e.worst_tracked_deg);
}

#[test]
fn a_yaw_reset_removes_heading_drift() {
    let mut suit = Suit::new(99);
    let (mut solver, mountings, mut headings) = calibrated_solver(&mut suit);
    // Each tracker's heading drifts by up to ±25° after the calibration.
    let mut rng = Rng(3);
    for h in suit.heading.values_mut() {
        *h += rng.signed() * 25f32.to_radians();
    }
    let drifted = walk_errors(&mut solver, &mut suit, 1.0);
    assert!(
        drifted.worst_tracked_deg > 5.0,
        "{:.2}°",
        drifted.worst_tracked_deg
    );
    let stand = suit.hold(&standing());
    yaw_reset(&mountings, &mut headings, &stand, |_| Quat::IDENTITY);
    solver.set_calibration(TrackerCalibration::new(&mountings, &headings));
    let fixed = walk_errors(&mut solver, &mut suit, 2.0);
    assert!(
        fixed.worst_tracked_deg < 2.0,
        "{:.2}°",
        fixed.worst_tracked_deg
    );
    // A later full reset keeps what the mounting reset learned.
    let (mut m2, mut h2) = (mountings.clone(), headings.clone());
    let stand = suit.hold(&standing());
    full_reset(&mut m2, &mut h2, &stand, |_| Quat::IDENTITY);
    solver.set_calibration(TrackerCalibration::new(&m2, &h2));
    let again = walk_errors(&mut solver, &mut suit, 2.0);
    assert!(
        again.worst_tracked_deg < 2.0,
        "{:.2}°",
        again.worst_tracked_deg
    );
}

/// The knee's bend from a frame: the shin's direction in the thigh's frame, degrees (positive:
/// the foot behind the knee).
fn knee_bend_deg(frame: &PoseFrame, shin: HumanoidBone) -> f32 {
    let d = frame.bone(shin).unwrap() * Vec3::NEG_Y;
    (-d.z).atan2(-d.y).to_degrees()
}

#[test]
fn a_lost_thigh_eases_to_what_the_shin_implies_and_stays_plausible() {
    let mut suit = Suit::new(11);
    let (mut solver, _, _) = calibrated_solver(&mut suit);
    let lost_at = 100u64;
    let mut previous: Option<Quat> = None;
    let (mut worst_step, mut worst_truth_step, mut worst_after) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..300u64 {
        let t = i as f32 / RATE_HZ as f32;
        let truth = walk(t);
        let mut sensors = suit.sense(&truth);
        if i >= lost_at {
            sensors[LeftUpperLeg.index()] = None;
        }
        let mut frame = PoseFrame::new(PerformerId(0));
        solver.solve(&sensors, i * STEP_US, &mut frame);
        let got = world_of(&frame);
        assert!(got.iter().all(|q| q.is_finite()));
        assert!(frame.hips_position.unwrap().is_finite());
        let bend = knee_bend_deg(&frame, LeftLowerLeg);
        assert!(
            (-5.0..=KNEE_MAX_DEG + 0.1).contains(&bend),
            "frame {i}: knee {bend}°"
        );
        let thigh = got[LeftUpperLeg.index()];
        if let Some(prev) = previous {
            let step = rotation_error_degrees(prev, thigh);
            let truth_step = rotation_error_degrees(
                walk(t - 0.01)[LeftUpperLeg.index()],
                truth[LeftUpperLeg.index()],
            );
            worst_truth_step = worst_truth_step.max(truth_step);
            if i >= lost_at {
                worst_step = worst_step.max(step);
            }
        }
        previous = Some(thigh);
        if i >= lost_at {
            let e = rotation_error_degrees(thigh, truth[LeftUpperLeg.index()]);
            worst_after = worst_after.max(e);
        }
        // The shin is still tracked: it stays exact.
        let e = rotation_error_degrees(got[LeftLowerLeg.index()], truth[LeftLowerLeg.index()]);
        assert!(e < 2.0, "frame {i}: shin {e:.2}°");
    }
    eprintln!(
        "lost thigh: worst error {worst_after:.1}°, worst step {worst_step:.2}°/frame (truth {worst_truth_step:.2})"
    );
    assert!(worst_after < 25.0, "{worst_after:.1}°");
    assert!(
        worst_step < worst_truth_step + 4.0,
        "{worst_step:.2}°/frame"
    );
}

#[test]
fn same_inputs_give_the_same_outputs() {
    let run = || {
        let mut suit = Suit::new(8);
        let (mut solver, _, _) = calibrated_solver(&mut suit);
        (0..200u64)
            .map(|i| {
                let mut sensors = suit.sense(&walk(i as f32 / 100.0));
                if i > 120 {
                    sensors[RightLowerLeg.index()] = None;
                }
                let mut frame = PoseFrame::new(PerformerId(0));
                solver.solve(&sensors, i * STEP_US, &mut frame);
                frame
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn bad_sensor_values_are_rejected_without_panic() {
    let mut suit = Suit::new(2);
    let (mut solver, _, _) = calibrated_solver(&mut suit);
    let bad = [
        Quat::from_xyzw(f32::NAN, 0.0, 0.0, 1.0),
        Quat::from_xyzw(0.0, 0.0, 0.0, 0.0),
        Quat::from_xyzw(f32::INFINITY, 0.0, 0.0, 0.0),
        Quat::from_xyzw(3.0, 4.0, 0.0, 0.0),
    ];
    for (i, q) in bad.iter().enumerate() {
        let mut sensors = suit.sense(&walk(0.0));
        sensors[Hips.index()] = Some(*q);
        sensors[LeftFoot.index()] = Some(*q);
        let mut frame = PoseFrame::new(PerformerId(0));
        solver.solve(&sensors, i as u64 * STEP_US, &mut frame);
        assert!(world_of(&frame).iter().all(|q| q.is_finite()));
        assert!(frame.hips_position.unwrap().is_finite());
    }
    assert_eq!(solver.rejected(), 2 * bad.len() as u64);
    // Times that go backwards, repeat or jump are fine too.
    for now in [0, 0, u64::MAX, 5] {
        let mut frame = PoseFrame::new(PerformerId(0));
        solver.solve(&NO_SENSORS, now, &mut frame);
        assert!(world_of(&frame).iter().all(|q| q.is_finite()));
    }
    // Calibration files with NaN in them calibrate nothing.
    let mut m = BTreeMap::new();
    m.insert(Hips, Quat::from_xyzw(f32::NAN, 0.0, 0.0, 1.0));
    let mut h = BTreeMap::new();
    h.insert(Hips, f32::NAN);
    assert_eq!(
        TrackerCalibration::new(&m, &h),
        TrackerCalibration::default()
    );
}

#[test]
fn body_sets_are_told_from_a_few_vmc_trackers() {
    let mut s = NO_SENSORS;
    for bone in [Hips, LeftFoot, RightFoot] {
        s[bone.index()] = Some(Quat::IDENTITY);
    }
    assert!(!is_body_set(&s), "hips and feet: simple placement");
    for bone in [LeftLowerLeg, RightLowerLeg] {
        s[bone.index()] = Some(Quat::IDENTITY);
    }
    assert!(is_body_set(&s));
}
