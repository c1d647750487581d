//! Mounting calibration: how each sensor sits on its bone, from a held reference pose.
//!
//! An inertial sensor strapped to a bone reports its own orientation `S` in the world; the bone's
//! orientation is `B = S · M`, where `M` (sensor to bone) depends on how the strap sits. While
//! the performer holds a known pose, `B` is known, so `M = S⁻¹ · B`, averaged over the capture
//! to beat sensor noise. The same correction works on local rotations from any source whose
//! rest pose is slightly off ("pose calibration").

use std::collections::BTreeMap;

use glam::Quat;
use kagura_protocol::HumanoidBone;

use super::average::average_rotation;
use super::reference::ReferencePose;

/// Whether captured rotations are sensors' world orientations or a source's local rotations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    World,
    Local,
}

/// Collects orientations while the performer holds `pose`.
#[derive(Clone, Debug)]
pub struct MountingCapture {
    pose: ReferencePose,
    space: Space,
    samples: BTreeMap<HumanoidBone, Vec<Quat>>,
}

/// Most samples kept per bone (a few seconds at 100+ Hz).
const MAX_SAMPLES: usize = 2048;

impl MountingCapture {
    /// Capturing sensors' world orientations.
    pub fn new(pose: ReferencePose) -> Self {
        MountingCapture {
            pose,
            space: Space::World,
            samples: BTreeMap::new(),
        }
    }

    /// Capturing a source's local rotations (`M` then corrects locals: `L · M`).
    pub fn of_locals(pose: ReferencePose) -> Self {
        MountingCapture {
            pose,
            space: Space::Local,
            samples: BTreeMap::new(),
        }
    }

    /// Records a sensor's world orientation for `bone`.
    pub fn add(&mut self, bone: HumanoidBone, sensor_world: Quat) {
        let samples = self.samples.entry(bone).or_default();
        if samples.len() < MAX_SAMPLES {
            samples.push(sensor_world);
        }
    }

    /// The average orientation seen per bone.
    pub fn averages(&self) -> BTreeMap<HumanoidBone, Quat> {
        self.samples
            .iter()
            .filter_map(|(bone, samples)| Some((*bone, average_rotation(samples.iter().copied())?)))
            .collect()
    }

    /// The pose held.
    pub fn pose(&self) -> ReferencePose {
        self.pose
    }

    /// Sensor-to-bone rotations `M` for every bone seen.
    pub fn finish(&self) -> BTreeMap<HumanoidBone, Quat> {
        self.samples
            .iter()
            .filter_map(|(bone, samples)| {
                let sensor = average_rotation(samples.iter().copied())?;
                let reference = match self.space {
                    Space::World => self.pose.world(*bone),
                    Space::Local => self.pose.local(*bone),
                };
                Some((*bone, (sensor.inverse() * reference).normalize()))
            })
            .collect()
    }
}

/// The bone's world orientation from its sensor's, given the mounting.
pub fn bone_from_sensor(sensor_world: Quat, mounting: Quat) -> Quat {
    (sensor_world * mounting).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::rotation_error_degrees;
    use proptest::prelude::*;

    fn rotation() -> impl Strategy<Value = Quat> {
        (-1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0)
            .prop_filter("non-zero", |(x, y, z, w)| {
                x * x + y * y + z * z + w * w > 0.05
            })
            .prop_map(|(x, y, z, w)| Quat::from_xyzw(x, y, z, w).normalize())
    }

    proptest! {
        /// Random mountings, a simulated held T-pose (or A-pose) with 1.5° of sensor noise and
        /// some sway: the mounting comes back within 1°.
        #[test]
        fn recovers_random_mountings_within_a_degree(
            mountings in proptest::collection::vec(rotation(), 6),
            a_pose in any::<bool>(),
            seed in any::<u64>(),
        ) {
            use HumanoidBone::*;
            let pose = if a_pose { ReferencePose::APose } else { ReferencePose::TPose };
            let bones = [Hips, Chest, Head, LeftUpperArm, RightLowerArm, LeftUpperLeg];
            let mut rng = seed | 1;
            let mut noise = || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                ((rng >> 11) as f32 / (1u64 << 53) as f32 - 0.5) * 2.0
            };
            let mut capture = MountingCapture::new(pose);
            for _ in 0..120 {
                for (bone, mounting) in bones.iter().zip(&mountings) {
                    // Sensor noise, up to ±1.5° on each axis.
                    let jitter = Quat::from_euler(glam::EulerRot::XYZ, noise() * 0.026, noise() * 0.026, noise() * 0.026);
                    let bone_world = pose.world(*bone) * jitter;
                    capture.add(*bone, bone_world * mounting.inverse());
                }
            }
            let recovered = capture.finish();
            for (bone, mounting) in bones.iter().zip(&mountings) {
                let err = rotation_error_degrees(recovered[bone], *mounting);
                prop_assert!(err < 1.0, "{}: {}°", bone, err);
            }
        }
    }

    #[test]
    fn a_calibrated_sensor_reports_its_bone() {
        let mounting = Quat::from_rotation_x(1.0) * Quat::from_rotation_y(-0.4);
        let mut capture = MountingCapture::new(ReferencePose::TPose);
        capture.add(HumanoidBone::Head, mounting.inverse());
        let m = capture.finish()[&HumanoidBone::Head];
        let turned = Quat::from_rotation_y(0.5);
        let err = rotation_error_degrees(bone_from_sensor(turned * mounting.inverse(), m), turned);
        assert!(err < 1e-3);
    }
}
