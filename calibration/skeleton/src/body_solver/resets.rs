//! Per-tracker calibration for inertial trackers, as pure functions on data.
//!
//! An IMU reports `S = D · B · M⁻¹`: `B` the bone's world orientation (internal convention,
//! relative to the VRM rest pose), `M` its mounting (sensor → bone: how the strap sits and how
//! the board's axes lie, any rotation), and `D` a turn about +Y of the tracker's own world (an
//! IMU without a magnetometer has an arbitrary, drifting heading; every tracker its own). The
//! calibrated bone is `B̂ = D̂⁻¹ · S · M̂`. Stored per tracker: `M̂` (`sensor_mountings`) and
//! the heading of `D̂` in radians (`sensor_headings`, absent = 0).
//!
//! One standing pose cannot tell `D` from the part of `M` that turns about the vertical (both
//! give the same `S`), and a wrong split turns a knee bend into a sideways one. So:
//! - [`full_reset`] (stand in a known pose): `M̂ = S⁻¹ · D̂ · R` with `R` the pose's bone
//!   orientation. `D̂` is re-measured as `yaw(S · M̂_old · R⁻¹)` for a tracker whose heading is
//!   known (a mounting reset ran: this keeps what it learned and removes drift since); a
//!   tracker never mounting-reset keeps `D̂ = I` (exact for trackers that share one world, such
//!   as VMC's).
//! - [`yaw_reset`] (stand in a known pose): only the heading, `D̂ = yaw(S · M̂ · R⁻¹)`; fixes
//!   drift without touching the mounting.
//! - [`mounting_reset`] (after a full reset, bend in a known way: knees bent as in skiing,
//!   upper body and head leaning forward, heels off the floor): each bone turns about a known
//!   body axis (±X); the axis the tracker's calibrated orientation turned about comes out
//!   turned by the heading error `E = D̂⁻¹D`, which is then removed: `D̂ ← D̂·E`,
//!   `M̂ ← M̂ · E`. Torso, head and legs only (their full-reset orientation is the rest
//!   orientation in every reference pose); arms keep what the full reset gives them.

use std::collections::BTreeMap;

use glam::{Quat, Vec3};
use kagura_protocol::HumanoidBone;

/// The twist of `q` about +Y: `q = yaw(q) · swing`, and `yaw(Y · q) = Y · yaw(q)` for any turn
/// `Y` about +Y.
pub fn yaw_part(q: Quat) -> Quat {
    let t = Quat::from_xyzw(0.0, q.y, 0.0, q.w);
    let n = t.length();
    if n < 1e-6 || !n.is_finite() {
        Quat::IDENTITY
    } else {
        t / n
    }
}

/// The angle of [`yaw_part`], radians in (−π, π].
pub fn yaw_angle(q: Quat) -> f32 {
    let t = yaw_part(q);
    let a = 2.0 * t.y.atan2(t.w);
    wrap_angle(a)
}

fn wrap_angle(a: f32) -> f32 {
    let two_pi = std::f32::consts::TAU;
    let mut a = a % two_pi;
    if a > std::f32::consts::PI {
        a -= two_pi;
    } else if a <= -std::f32::consts::PI {
        a += two_pi;
    }
    a
}

/// The heading of a horizontal direction: radians about +Y from +Z towards +X.
fn heading_of(v: Vec3) -> f32 {
    v.x.atan2(v.z)
}

/// Full reset: the performer holds the pose whose bone world orientations are `reference`;
/// `standing` holds each tracker's world orientation then (averaged). Every tracker in
/// `standing` gets a new mounting; a tracker with a known heading gets it re-measured.
pub fn full_reset(
    mountings: &mut BTreeMap<HumanoidBone, Quat>,
    headings: &mut BTreeMap<HumanoidBone, f32>,
    standing: &BTreeMap<HumanoidBone, Quat>,
    reference: impl Fn(HumanoidBone) -> Quat,
) {
    for (&bone, &sensor) in standing {
        let r = reference(bone);
        let heading = match (headings.get(&bone), mountings.get(&bone)) {
            (Some(_), Some(&old)) => {
                let h = yaw_angle(sensor * old * r.inverse());
                headings.insert(bone, h);
                h
            }
            _ => 0.0,
        };
        let mounting = sensor.inverse() * Quat::from_rotation_y(heading) * r;
        mountings.insert(bone, mounting.normalize());
    }
}

/// Yaw reset: the performer holds the pose `reference` (facing forward); each tracker with a
/// mounting gets its heading re-measured, nothing else changes.
pub fn yaw_reset(
    mountings: &BTreeMap<HumanoidBone, Quat>,
    headings: &mut BTreeMap<HumanoidBone, f32>,
    standing: &BTreeMap<HumanoidBone, Quat>,
    reference: impl Fn(HumanoidBone) -> Quat,
) {
    for (&bone, &sensor) in standing {
        if let Some(&m) = mountings.get(&bone) {
            headings.insert(bone, yaw_angle(sensor * m * reference(bone).inverse()));
        }
    }
}

/// The body axis each bone turns about, with a positive angle, in the mounting-reset pose
/// (knees bent as in skiing, upper body and head leaning forward, heels off the floor).
pub fn mounting_reset_axis(bone: HumanoidBone) -> Option<Vec3> {
    use HumanoidBone::*;
    match bone {
        Hips | Spine | Chest | UpperChest | Neck | Head => Some(Vec3::X),
        LeftUpperLeg | RightUpperLeg => Some(Vec3::NEG_X),
        LeftLowerLeg | RightLowerLeg | LeftFoot | RightFoot => Some(Vec3::X),
        _ => None,
    }
}

/// Least turn (degrees) a bone must make in the mounting-reset pose to be measured.
pub const MOUNTING_RESET_MIN_DEG: f32 = 10.0;

/// What a mounting reset did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MountingResetReport {
    /// Trackers measured, with the heading correction applied (radians).
    pub corrected: Vec<(HumanoidBone, f32)>,
    /// Trackers that turned too little, about a vertical axis, or sit on a bone the pose does
    /// not turn (arms, hands): unchanged.
    pub skipped: Vec<HumanoidBone>,
}

/// Mounting reset, after a full reset: `bent` holds each tracker's world orientation in the
/// mounting-reset pose (averaged). See the module documentation.
pub fn mounting_reset(
    mountings: &mut BTreeMap<HumanoidBone, Quat>,
    headings: &mut BTreeMap<HumanoidBone, f32>,
    bent: &BTreeMap<HumanoidBone, Quat>,
) -> MountingResetReport {
    let mut report = MountingResetReport::default();
    for (&bone, &sensor) in bent {
        let (Some(expected), Some(&m)) = (mounting_reset_axis(bone), mountings.get(&bone)) else {
            report.skipped.push(bone);
            continue;
        };
        let h = headings.get(&bone).copied().unwrap_or(0.0);
        // The calibrated orientation now; its full-reset orientation was the identity.
        let mut turned = (Quat::from_rotation_y(-h) * sensor * m).normalize();
        if turned.w < 0.0 {
            turned = -turned;
        }
        let (axis, angle) = turned.to_axis_angle();
        let horizontal = Vec3::new(axis.x, 0.0, axis.z);
        if angle.to_degrees() < MOUNTING_RESET_MIN_DEG || horizontal.length() < 0.5 {
            report.skipped.push(bone);
            continue;
        }
        let e = wrap_angle(heading_of(horizontal) - heading_of(expected));
        headings.insert(bone, wrap_angle(h + e));
        mountings.insert(bone, (m * Quat::from_rotation_y(e)).normalize());
        report.corrected.push((bone, e));
    }
    report
}

/// The calibrated world orientation of a tracker's bone: `D̂⁻¹ · S · M̂`.
pub fn calibrated(sensor: Quat, heading_rad: f32, mounting: Quat) -> Quat {
    (Quat::from_rotation_y(-heading_rad) * sensor * mounting).normalize()
}
