//! The body solver's cost per frame for a 10-tracker SlimeVR-style set (chest, hips, thighs,
//! shins, feet, upper arms), beside today's simple placement (`solve_sensors`) of the same
//! sensors in the same run. Prints medians of 101 rounds of 1000 frames, ns per frame.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use glam::Quat;
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame};
use kagura_skeleton::body_solver::{BodyProportions, BodySolver, TrackerCalibration};
use kagura_skeleton::solve::{NO_SENSORS, SensorOrientations, solve_sensors};

const TRACKERS: [HumanoidBone; 10] = {
    use HumanoidBone::*;
    [
        Chest,
        Hips,
        LeftUpperLeg,
        LeftLowerLeg,
        LeftFoot,
        RightUpperLeg,
        RightLowerLeg,
        RightFoot,
        LeftUpperArm,
        RightUpperArm,
    ]
};
const FRAMES: usize = 1000;
const ROUNDS: usize = 101;

fn frames() -> Vec<SensorOrientations> {
    (0..FRAMES)
        .map(|i| {
            let t = i as f32 / 100.0;
            let mut s = NO_SENSORS;
            for (k, bone) in TRACKERS.iter().enumerate() {
                let phase = t * 6.0 + k as f32;
                s[bone.index()] = Some(
                    Quat::from_rotation_y(0.3 * k as f32)
                        * Quat::from_rotation_x(0.4 * phase.sin())
                        * Quat::from_rotation_z(0.1 * phase.cos()),
                );
            }
            s
        })
        .collect()
}

fn median_ns_per_frame(mut run: impl FnMut(&SensorOrientations, u64)) -> f64 {
    let frames = frames();
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|r| {
            let start = Instant::now();
            for (i, s) in frames.iter().enumerate() {
                run(black_box(s), ((r * FRAMES + i) * 10_000) as u64);
            }
            start.elapsed().as_nanos() as f64 / FRAMES as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

fn main() {
    let mountings: BTreeMap<HumanoidBone, Quat> = TRACKERS
        .iter()
        .enumerate()
        .map(|(k, b)| (*b, Quat::from_rotation_x(0.2 * k as f32)))
        .collect();
    let headings: BTreeMap<HumanoidBone, f32> = TRACKERS
        .iter()
        .enumerate()
        .map(|(k, b)| (*b, 0.1 * k as f32))
        .collect();

    let mut frame = PoseFrame::new(PerformerId(0));
    let simple = median_ns_per_frame(|s, _| {
        solve_sensors(s, &mountings, &mut frame);
        black_box(&frame);
    });
    let mut solver = BodySolver::new(
        BodyProportions::default(),
        TrackerCalibration::new(&mountings, &headings),
    );
    let body = median_ns_per_frame(|s, now| {
        solver.solve(s, now, &mut frame);
        black_box(&frame);
    });
    // The engine reloads the calibration only when it changes; this is its cost when it does.
    let reload = median_ns_per_frame(|_, _| {
        black_box(TrackerCalibration::new(&mountings, &headings));
    });
    println!("body solver, 10 trackers (median of {ROUNDS} × {FRAMES} frames)");
    println!("  baseline: solve_sensors (simple placement): {simple:>8.0} ns/frame");
    println!("  BodySolver::solve:                          {body:>8.0} ns/frame");
    println!(
        "  ratio:                                      {:>8.2}",
        body / simple
    );
    println!("  TrackerCalibration::new (on change only):   {reload:>8.0} ns");
}
