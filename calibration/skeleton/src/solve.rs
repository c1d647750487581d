//! [`solve_sensors`]: sensor orientations in world space → local bone rotations.
//!
//! Inertial suits and VMC trackers (`/VMC/Ext/Tra/Pos`) report how each sensor is oriented in
//! the world, not how a bone turns relative to its parent. A sensor strapped to a bone gives the
//! bone's world orientation `B = S · M` (`M`: its mounting, from a T/A-pose capture; identity
//! until calibrated). Walking the humanoid from the hips down, every bone's world orientation is
//! its parent's times its local rotation; a bone with a sensor takes `B` as its world
//! orientation and its local rotation becomes `W_parent⁻¹ · B`. Bones without a sensor keep the
//! local rotation the frame already has (from the source's own bones), or rest.
//!
//! This is the simplest solver that puts every sensed bone where its sensor says; the body
//! solver for sparse sets (spine between hips and chest, feet on the floor, loss easing) builds
//! on it.

use std::collections::BTreeMap;

use glam::Quat;
use kagura_protocol::{HumanoidBone, PoseFrame};

/// World orientations of the sensors, by the bone each is strapped to (internal convention).
pub type SensorOrientations = [Option<Quat>; HumanoidBone::COUNT];

/// No sensors.
pub const NO_SENSORS: SensorOrientations = [None; HumanoidBone::COUNT];

/// Sets the local rotation of every bone with a sensor so that its world orientation is the
/// sensor's times its mounting. Bones are visited parents first (wire order is parents first).
pub fn solve_sensors(
    sensors: &SensorOrientations,
    mountings: &BTreeMap<HumanoidBone, Quat>,
    frame: &mut PoseFrame,
) {
    if sensors.iter().all(Option::is_none) {
        return;
    }
    let mut world = [Quat::IDENTITY; HumanoidBone::COUNT];
    for bone in HumanoidBone::ALL {
        let parent_world = bone.parent().map_or(Quat::IDENTITY, |p| world[p.index()]);
        world[bone.index()] = match sensors[bone.index()] {
            Some(sensor) => {
                let mounting = mountings.get(&bone).copied().unwrap_or(Quat::IDENTITY);
                let bone_world = (sensor * mounting).normalize();
                frame.set_bone(bone, (parent_world.inverse() * bone_world).normalize());
                bone_world
            }
            None => parent_world * frame.bone(bone).unwrap_or(Quat::IDENTITY),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::{PerformerId, rotation_error_degrees};

    #[test]
    fn sensed_bones_get_their_sensors_world_orientation_through_any_parents() {
        use HumanoidBone::*;
        let mut frame = PoseFrame::new(PerformerId(0));
        // The source sends hips and upper leg itself; a tracker sits on the shin.
        let hips = Quat::from_rotation_y(0.7);
        let thigh = Quat::from_rotation_x(-0.5);
        frame.set_bone(Hips, hips);
        frame.set_bone(LeftUpperLeg, thigh);
        let mut sensors = NO_SENSORS;
        let shin_world = Quat::from_rotation_x(0.4) * Quat::from_rotation_z(0.2);
        let strap = Quat::from_rotation_y(1.1);
        // The tracker is strapped on turned by `strap`: it reports shin · strap⁻¹.
        sensors[LeftLowerLeg.index()] = Some(shin_world * strap.inverse());
        let mut mountings = BTreeMap::new();
        mountings.insert(LeftLowerLeg, strap);
        solve_sensors(&sensors, &mountings, &mut frame);
        let world = hips * thigh * frame.bone(LeftLowerLeg).unwrap();
        assert!(rotation_error_degrees(world, shin_world) < 1e-3);
        assert_eq!(frame.bone(Hips), Some(hips), "unsensed bones keep theirs");
        assert!(frame.bone(LeftFoot).is_none(), "and absent stays absent");
    }
}
