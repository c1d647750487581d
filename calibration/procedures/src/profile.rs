//! [`PerformerCalibration`]: everything calibrated about one performer, applied to each of their
//! raw frames; and [`CalibrationCapture`], the procedure that measures it from raw frames.
//! Serializable: the server keeps one file per performer.

use std::collections::BTreeMap;

use glam::{Quat, Vec3};
use kagura_protocol::{HumanoidBone, PoseFrame};
use serde::{Deserialize, Serialize};

use super::average::average_rotation;
use super::face::{FaceCalibration, FaceCapture, FaceCaptureKind};
use super::mounting::MountingCapture;
use super::reference::ReferencePose;
use kagura_skeleton::body_solver::resets;
use kagura_skeleton::solve::{NO_SENSORS, SensorOrientations};

/// Most sources one pose capture keeps apart (a performer rarely has more than a few).
const MAX_SOURCES: usize = 16;

/// Hips height as a fraction of standing height (anthropometric average).
pub const HIPS_HEIGHT_PER_HEIGHT: f32 = 0.53;
/// The ankle joint's height above the floor, metres (anthropometric average).
pub const ANKLE_HEIGHT_M: f32 = 0.08;

/// What a pose capture measured of one source stream: it stays with that source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceMounting {
    /// Per-bone corrections of the source's local rotations: each `L` becomes `L · M`.
    pub pose_offsets: BTreeMap<HumanoidBone, Quat>,
    /// How each world-space sensor (an IMU, a VMC tracker) sits on its bone: the bone's world
    /// orientation is `sensor · M` (see `kagura_skeleton::solve`).
    pub sensor_mountings: BTreeMap<HumanoidBone, Quat>,
    /// Per inertial tracker, the heading of its own world, radians about +Y (absent: 0): the
    /// bone's world orientation is `yaw(−h) · sensor · M`. Learnt by a mounting reset, kept up
    /// by full and yaw resets (`kagura_skeleton::body_solver::resets`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sensor_headings: BTreeMap<HumanoidBone, f32>,
}

static NO_MOUNTINGS: BTreeMap<HumanoidBone, Quat> = BTreeMap::new();
static NO_SOURCE: SourceMounting = SourceMounting {
    pose_offsets: BTreeMap::new(),
    sensor_mountings: BTreeMap::new(),
    sensor_headings: BTreeMap::new(),
};

/// One performer's calibration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PerformerCalibration {
    /// Mounting per source stream, by the stream's key (`vmc@39539/10.0.0.5`): a phone's and a
    /// suit's corrections never mix.
    pub sources: BTreeMap<String, SourceMounting>,
    /// Pose offsets of files written before mounting was kept per source: they apply to every
    /// source without its own, until the next pose capture.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pose_offsets: BTreeMap<HumanoidBone, Quat>,
    /// Heading correction about +Y, radians, applied to the whole body (hips and root).
    pub yaw_rad: f32,
    /// The performer's standing height, metres: gives the standing hips height (×0.53).
    pub height_m: Option<f32>,
    /// The performer's measured hip-to-ankle length, metres: when set, gives the standing hips
    /// height instead of the height.
    pub leg_length_m: Option<f32>,
    /// The hips' height while standing in the T/A-pose capture, in the frames' own units
    /// (metres of whatever body the source reports: the performer's or the sender's avatar).
    pub standing_hips_m: Option<f32>,
    pub face: FaceCalibration,
}

impl PerformerCalibration {
    /// Applies the calibration to a raw frame of the source `source`, in place:
    /// [`Self::apply_mounting`] then [`Self::apply_performer`].
    pub fn apply(&self, source: &str, frame: &mut PoseFrame) {
        self.apply_mounting(source, frame);
        self.apply_performer(frame);
    }

    /// The sensor mountings of the source `source`.
    pub fn sensor_mountings(&self, source: &str) -> &BTreeMap<HumanoidBone, Quat> {
        self.sources
            .get(source)
            .map_or(&NO_MOUNTINGS, |m| &m.sensor_mountings)
    }

    /// Everything measured of the source `source` (empty if nothing).
    pub fn source(&self, source: &str) -> &SourceMounting {
        self.sources.get(source).unwrap_or(&NO_SOURCE)
    }

    /// The per-source part: the source's pose offsets from a T/A-pose capture, applied to its
    /// raw frame before its filter.
    pub fn apply_mounting(&self, source: &str, frame: &mut PoseFrame) {
        let offsets = self
            .sources
            .get(source)
            .map_or(&self.pose_offsets, |m| &m.pose_offsets);
        for (bone, offset) in offsets {
            if let Some(q) = frame.bone(*bone) {
                frame.set_bone(*bone, (q * *offset).normalize());
            }
        }
    }

    /// The per-performer part: heading, proportions and face, applied to the merged pose.
    pub fn apply_performer(&self, frame: &mut PoseFrame) {
        if self.yaw_rad != 0.0 {
            let yaw = Quat::from_rotation_y(self.yaw_rad);
            if let Some(hips) = frame.bone(HumanoidBone::Hips) {
                frame.set_bone(HumanoidBone::Hips, (yaw * hips).normalize());
            }
            if let Some(p) = frame.hips_position {
                frame.hips_position = Some(yaw * p);
            }
        }
        self.face.apply(frame);
    }

    /// The performer's standing hips height in the frames' units, as far as calibration knows
    /// it: measured in a T/A-pose capture, else from a measured leg (plus the ankle's height),
    /// else from the standing height. Renderers scale hips and root positions by their
    /// avatar's hips height over this (PROTOCOL.md), so feet meet the avatar's floor.
    pub fn standing_hips_height_m(&self) -> Option<f32> {
        self.standing_hips_m
            .or(self.leg_length_m.map(|leg| leg + ANKLE_HEIGHT_M))
            .or(self.height_m.map(|h| h * HIPS_HEIGHT_PER_HEIGHT))
    }
}

/// What to calibrate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CalibrationKind {
    /// Hold a T-pose: per-bone offsets so that it reads as the exact T-pose (and faces +Z).
    TPose,
    /// Hold an A-pose (upper arms 45° down): as `TPose`, for performers who cannot hold arms up.
    APose,
    /// Stand straight, facing forward, arms at the sides: as `TPose` (SlimeVR's full reset).
    Stand,
    /// Stand straight, facing forward: each inertial tracker's heading again (drift), nothing
    /// else (SlimeVR's yaw reset).
    TrackerYaw,
    /// After a full reset: knees bent as in skiing, upper body and head leaning forward, heels
    /// off the floor; learns how each torso, head and leg tracker is turned on its bone
    /// (SlimeVR's mounting reset).
    Mounting,
    /// Face forward, any pose: a heading reset.
    Yaw,
    /// Forget everything calibrated.
    Reset,
    /// Rest the face: each channel's neutral.
    FaceNeutral,
    /// Pull every face: each channel's maximum.
    FaceRange,
    /// Body proportions from standing height, metres (no capture).
    Height { height_m: f32 },
    /// Body proportions from the measured hip-to-ankle length, metres (no capture).
    LegLength { leg_length_m: f32 },
}

impl CalibrationKind {
    /// Whether the kind measures anything from frames (the others apply at once).
    pub fn captures(&self) -> bool {
        !matches!(
            self,
            CalibrationKind::Reset
                | CalibrationKind::Height { .. }
                | CalibrationKind::LegLength { .. }
        )
    }
}

/// A calibration in progress: fed each source's raw frames ([`Self::add_source`]) and the
/// performer's frames after mounting ([`Self::add_mounted`]) while they hold still.
#[derive(Clone, Debug)]
pub struct CalibrationCapture {
    kind: CalibrationKind,
    /// Hips heights seen during a pose capture (sum, count).
    hips_heights: (f64, u32),
    /// During a pose capture, per source: its local rotations and its world-space sensors.
    sources: BTreeMap<String, (MountingCapture, MountingCapture)>,
    face: Option<FaceCapture>,
    headings: Vec<Quat>,
    frames: usize,
}

/// Why a capture produced no calibration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalibrationError {
    #[error("no frames arrived from the performer during the capture")]
    NoFrames,
    #[error("the performer's frames carried nothing this calibration needs")]
    NothingToMeasure,
    #[error("height {0} m is outside 0.5–2.5 m")]
    BadHeight(String),
    #[error("leg length {0} m is outside 0.3–1.4 m")]
    BadLegLength(String),
}

impl CalibrationCapture {
    pub fn new(kind: CalibrationKind) -> Self {
        let face = match kind {
            CalibrationKind::FaceNeutral => Some(FaceCapture::new(FaceCaptureKind::Neutral)),
            CalibrationKind::FaceRange => Some(FaceCapture::new(FaceCaptureKind::Range)),
            _ => None,
        };
        CalibrationCapture {
            kind,
            hips_heights: (0.0, 0),
            sources: BTreeMap::new(),
            face,
            headings: Vec::new(),
            frames: 0,
        }
    }

    pub fn kind(&self) -> CalibrationKind {
        self.kind
    }

    /// The reference pose of a pose capture.
    fn reference(&self) -> Option<ReferencePose> {
        match self.kind {
            CalibrationKind::TPose => Some(ReferencePose::TPose),
            CalibrationKind::APose => Some(ReferencePose::APose),
            CalibrationKind::Stand => Some(ReferencePose::Standing),
            _ => None,
        }
    }

    /// The pose whose sources' frames and sensors are collected.
    fn collected_pose(&self) -> Option<ReferencePose> {
        match self.kind {
            CalibrationKind::TrackerYaw | CalibrationKind::Mounting => {
                Some(ReferencePose::Standing)
            }
            _ => self.reference(),
        }
    }

    /// Feeds one raw (unmounted) frame of the source `source`, with its sensors' world
    /// orientations by bone.
    pub fn add_source(&mut self, source: &str, raw: &PoseFrame, sensors: &SensorOrientations) {
        let Some(pose) = self.collected_pose() else {
            return;
        };
        if !self.sources.contains_key(source) && self.sources.len() >= MAX_SOURCES {
            return;
        }
        let (locals, world) = self
            .sources
            .entry(source.to_string())
            .or_insert_with(|| (MountingCapture::of_locals(pose), MountingCapture::new(pose)));
        for (bone, q) in raw.bones() {
            locals.add(bone, q);
        }
        for bone in HumanoidBone::ALL {
            if let Some(q) = sensors[bone.index()] {
                world.add(bone, q);
            }
        }
    }

    /// Feeds one of the performer's frames after its source's mounting (heading, face and hips
    /// height are the performer's).
    pub fn add_mounted(&mut self, frame: &PoseFrame) {
        self.frames += 1;
        if self.reference().is_some()
            && let Some(hips) = frame.hips_position
        {
            self.hips_heights.0 += f64::from(hips.y);
            self.hips_heights.1 += 1;
        }
        if let Some(face) = &mut self.face {
            face.add(frame);
        }
        if self.kind == CalibrationKind::Yaw
            && let Some(hips) = frame.bone(HumanoidBone::Hips)
            && self.headings.len() < 4096
        {
            self.headings.push(hips);
        }
    }

    /// Feeds a frame of a performer with one source that has no sensors and no mounting yet
    /// (tests, tools): [`Self::add_source`] under the name `""`, then [`Self::add_mounted`].
    pub fn add(&mut self, raw: &PoseFrame) {
        self.add_source("", raw, &NO_SENSORS);
        self.add_mounted(raw);
    }

    /// The calibration that results from `current` and this capture.
    pub fn finish(
        &self,
        current: &PerformerCalibration,
    ) -> Result<PerformerCalibration, CalibrationError> {
        let mut out = current.clone();
        match self.kind {
            CalibrationKind::Reset => return Ok(PerformerCalibration::default()),
            CalibrationKind::Height { height_m } => {
                if !(0.5..=2.5).contains(&height_m) {
                    return Err(CalibrationError::BadHeight(height_m.to_string()));
                }
                out.height_m = Some(height_m);
                return Ok(out);
            }
            CalibrationKind::LegLength { leg_length_m } => {
                if !(0.3..=1.4).contains(&leg_length_m) {
                    return Err(CalibrationError::BadLegLength(leg_length_m.to_string()));
                }
                out.leg_length_m = Some(leg_length_m);
                return Ok(out);
            }
            _ if self.frames == 0 => return Err(CalibrationError::NoFrames),
            CalibrationKind::TPose | CalibrationKind::APose | CalibrationKind::Stand => {
                let measured: Vec<(String, SourceMounting)> = self
                    .sources
                    .iter()
                    .map(|(source, (locals, world))| {
                        // A full reset: trackers with a known heading keep what the mounting
                        // reset learnt (resets.rs); the others, `M = S⁻¹ · R`.
                        let old = current.source(source);
                        let standing = world.averages();
                        let (mut sensor_mountings, mut sensor_headings) =
                            (old.sensor_mountings.clone(), old.sensor_headings.clone());
                        let pose = world.pose();
                        resets::full_reset(
                            &mut sensor_mountings,
                            &mut sensor_headings,
                            &standing,
                            |b| pose.world(b),
                        );
                        sensor_mountings.retain(|b, _| standing.contains_key(b));
                        sensor_headings.retain(|b, _| standing.contains_key(b));
                        let mounting = SourceMounting {
                            pose_offsets: locals.finish(),
                            sensor_mountings,
                            sensor_headings,
                        };
                        (source.clone(), mounting)
                    })
                    .filter(|(_, m)| !m.pose_offsets.is_empty() || !m.sensor_mountings.is_empty())
                    .collect();
                if measured.is_empty() {
                    return Err(CalibrationError::NothingToMeasure);
                }
                // Sources not seen during the capture keep what they had.
                out.sources.extend(measured);
                out.pose_offsets.clear();
                // The pose capture also squares the performer to +Z.
                out.yaw_rad = 0.0;
                let (sum, n) = self.hips_heights;
                let standing = (n > 0).then(|| (sum / f64::from(n)) as f32);
                out.standing_hips_m = standing.filter(|h| (0.2..=3.0).contains(h));
            }
            CalibrationKind::TrackerYaw | CalibrationKind::Mounting => {
                let mut any = false;
                for (source, (_, world)) in &self.sources {
                    let held = world.averages();
                    let Some(mounting) = out.sources.get_mut(source) else {
                        continue;
                    };
                    if self.kind == CalibrationKind::TrackerYaw {
                        let pose = world.pose();
                        resets::yaw_reset(
                            &mounting.sensor_mountings,
                            &mut mounting.sensor_headings,
                            &held,
                            |b| pose.world(b),
                        );
                        any |= held
                            .keys()
                            .any(|b| mounting.sensor_mountings.contains_key(b));
                    } else {
                        let report = resets::mounting_reset(
                            &mut mounting.sensor_mountings,
                            &mut mounting.sensor_headings,
                            &held,
                        );
                        any |= !report.corrected.is_empty();
                    }
                }
                if !any {
                    return Err(CalibrationError::NothingToMeasure);
                }
                // The trackers now say where forward is.
                out.yaw_rad = 0.0;
            }
            CalibrationKind::Yaw => {
                // Heading of the hips after their source's mounting.
                let facing = average_rotation(self.headings.iter().copied())
                    .ok_or(CalibrationError::NothingToMeasure)?;
                out.yaw_rad = -heading(facing);
            }
            CalibrationKind::FaceNeutral | CalibrationKind::FaceRange => {
                let face = self
                    .face
                    .as_ref()
                    .ok_or(CalibrationError::NothingToMeasure)?;
                out.face = face.finish(&current.face);
            }
        }
        Ok(out)
    }
}

/// The heading of a rotation: where it turns +Z, as an angle about +Y (radians, towards +X).
pub fn heading(q: Quat) -> f32 {
    let forward = q * Vec3::Z;
    forward.x.atan2(forward.z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::{Expression, PerformerId, rotation_error_degrees};

    fn frame(hips: Quat, left_arm: Quat, aa: f32) -> PoseFrame {
        let mut f = PoseFrame::new(PerformerId(0));
        f.set_bone(HumanoidBone::Hips, hips);
        f.set_bone(HumanoidBone::LeftUpperArm, left_arm);
        f.hips_position = Some(Vec3::new(0.0, 0.9, 0.1));
        f.set_expression(Expression::Aa, aa);
        f
    }

    #[test]
    fn measured_proportions_and_resets_capture_nothing() {
        // They apply at once: no countdown, no capture window.
        for kind in [
            CalibrationKind::Reset,
            CalibrationKind::Height { height_m: 1.6 },
            CalibrationKind::LegLength { leg_length_m: 0.8 },
        ] {
            assert!(!kind.captures(), "{kind:?}");
        }
        assert!(CalibrationKind::TPose.captures());
    }

    #[test]
    fn t_pose_yaw_height_face_and_reset() {
        let turned = Quat::from_rotation_y(0.6);
        let sloppy_arm = Quat::from_rotation_z(-0.2);
        // A sloppy T-pose, turned away: afterwards it reads as the exact T-pose facing +Z.
        let mut capture = CalibrationCapture::new(CalibrationKind::TPose);
        capture.add(&frame(turned, sloppy_arm, 0.2));
        let mut calibration = capture.finish(&PerformerCalibration::default()).unwrap();
        assert_eq!(
            calibration.standing_hips_height_m(),
            Some(0.9),
            "the hips' height while standing, in the frames' units"
        );
        let mut f = frame(turned, sloppy_arm, 0.2);
        calibration.apply("", &mut f);
        assert!(rotation_error_degrees(f.bone(HumanoidBone::Hips).unwrap(), Quat::IDENTITY) < 1e-3);
        assert!(
            rotation_error_degrees(f.bone(HumanoidBone::LeftUpperArm).unwrap(), Quat::IDENTITY)
                < 1e-3
        );

        // The performer drifts 0.3 rad; a yaw reset while they face forward removes it.
        let drifted = Quat::from_rotation_y(0.9);
        let mut capture = CalibrationCapture::new(CalibrationKind::Yaw);
        let mut mounted = frame(drifted, sloppy_arm, 0.2);
        calibration.apply_mounting("", &mut mounted);
        capture.add_mounted(&mounted);
        calibration = capture.finish(&calibration).unwrap();
        let mut f = frame(drifted, sloppy_arm, 0.2);
        calibration.apply("", &mut f);
        assert!(heading(f.bone(HumanoidBone::Hips).unwrap()).abs() < 1e-4);

        // Measurements give the standing hips height where no pose capture measured it; the
        // frames themselves are not rescaled (renderers scale to their own avatar).
        let unmeasured = PerformerCalibration::default();
        let by_height = CalibrationCapture::new(CalibrationKind::Height { height_m: 1.5 })
            .finish(&unmeasured)
            .unwrap();
        assert!(
            (by_height.standing_hips_height_m().unwrap() - HIPS_HEIGHT_PER_HEIGHT * 1.5).abs()
                < 1e-6
        );
        let by_legs = CalibrationCapture::new(CalibrationKind::LegLength { leg_length_m: 0.8 })
            .finish(&by_height)
            .unwrap();
        assert!(
            (by_legs.standing_hips_height_m().unwrap() - (0.8 + ANKLE_HEIGHT_M)).abs() < 1e-6,
            "measured legs win over height"
        );
        let mut f = frame(drifted, sloppy_arm, 0.2);
        by_legs.apply("", &mut f);
        assert!(
            (f.hips_position.unwrap().y - 0.9).abs() < 1e-6,
            "frames keep their units"
        );
        assert!(
            CalibrationCapture::new(CalibrationKind::LegLength { leg_length_m: 3.0 })
                .finish(&calibration)
                .is_err()
        );

        let mut capture = CalibrationCapture::new(CalibrationKind::FaceNeutral);
        capture.add(&frame(drifted, sloppy_arm, 0.2));
        calibration = capture.finish(&calibration).unwrap();
        let mut f = frame(drifted, sloppy_arm, 0.2);
        calibration.apply("", &mut f);
        assert_eq!(f.expression(Expression::Aa), Some(0.0));

        assert!(
            CalibrationCapture::new(CalibrationKind::TPose)
                .finish(&calibration)
                .is_err(),
            "no frames"
        );
        let reset = CalibrationCapture::new(CalibrationKind::Reset)
            .finish(&calibration)
            .unwrap();
        assert_eq!(reset, PerformerCalibration::default());
        let json = serde_json::to_string(&calibration).unwrap();
        assert_eq!(
            serde_json::from_str::<PerformerCalibration>(&json).unwrap(),
            calibration
        );
    }

    /// A suit of IMUs (random straps, each its own world heading): a standing full reset, a
    /// mounting reset, then drift and a tracker yaw reset, through the capture procedure.
    #[test]
    fn imu_trackers_full_mounting_and_yaw_resets_through_the_procedure() {
        use HumanoidBone::*;
        use kagura_skeleton::body_solver::TrackerCalibration;
        let bones = [Hips, LeftUpperLeg, LeftLowerLeg];
        let straps = [
            Quat::from_euler(glam::EulerRot::XYZ, 0.3, 2.0, -1.0),
            Quat::from_euler(glam::EulerRot::XYZ, -1.2, 0.4, 2.5),
            Quat::from_euler(glam::EulerRot::XYZ, 2.9, -0.7, 0.1),
        ];
        let mut worlds = [1.0f32, -2.0, 0.5];
        let sense = |pose: &dyn Fn(HumanoidBone) -> Quat, worlds: &[f32; 3]| {
            let mut s = NO_SENSORS;
            for ((bone, strap), h) in bones.iter().zip(straps).zip(worlds) {
                s[bone.index()] = Some(Quat::from_rotation_y(*h) * pose(*bone) * strap.inverse());
            }
            s
        };
        let standing = |_: HumanoidBone| Quat::IDENTITY;
        let bent = |b: HumanoidBone| match b {
            Hips => Quat::from_rotation_x(0.3),
            LeftUpperLeg => Quat::from_rotation_x(-0.9),
            _ => Quat::from_rotation_x(0.7),
        };
        let run = |kind,
                   pose: &dyn Fn(HumanoidBone) -> Quat,
                   worlds: &[f32; 3],
                   c: &PerformerCalibration| {
            let mut capture = CalibrationCapture::new(kind);
            for _ in 0..3 {
                capture.add_source(
                    "suit",
                    &PoseFrame::new(PerformerId(0)),
                    &sense(pose, worlds),
                );
                capture.add_mounted(&PoseFrame::new(PerformerId(0)));
            }
            capture.finish(c).unwrap()
        };
        // A walk-like pose to check against: the thigh forward, the knee bent.
        let check = |c: &PerformerCalibration, worlds: &[f32; 3]| {
            let pose = |b: HumanoidBone| match b {
                Hips => Quat::from_rotation_y(0.4),
                LeftUpperLeg => Quat::from_rotation_y(0.4) * Quat::from_rotation_x(-0.5),
                _ => Quat::from_rotation_y(0.4) * Quat::from_rotation_x(0.3),
            };
            let m = c.source("suit");
            let cal = TrackerCalibration::new(&m.sensor_mountings, &m.sensor_headings);
            let s = sense(&pose, worlds);
            bones
                .iter()
                .map(|b| {
                    rotation_error_degrees(cal.bone_world(*b, s[b.index()].unwrap()), pose(*b))
                })
                .fold(0.0, f64::max)
        };
        let c = run(
            CalibrationKind::Stand,
            &standing,
            &worlds,
            &PerformerCalibration::default(),
        );
        assert!(
            check(&c, &worlds) > 10.0,
            "one pose cannot tell strap from heading"
        );
        let c = run(CalibrationKind::Mounting, &bent, &worlds, &c);
        assert!(check(&c, &worlds) < 0.1, "{}", check(&c, &worlds));
        for h in &mut worlds {
            *h += 0.3;
        }
        assert!(check(&c, &worlds) > 5.0, "drifted");
        let c = run(CalibrationKind::TrackerYaw, &standing, &worlds, &c);
        assert!(check(&c, &worlds) < 0.1);
        let c = run(CalibrationKind::Stand, &standing, &worlds, &c);
        assert!(
            check(&c, &worlds) < 0.1,
            "a later full reset keeps the mounting reset"
        );
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("sensor_headings"));
        assert_eq!(
            serde_json::from_str::<PerformerCalibration>(&json).unwrap(),
            c
        );
        // Files from before headings read as no headings, and write as before.
        let old = PerformerCalibration::default();
        assert!(
            !serde_json::to_string(&old)
                .unwrap()
                .contains("sensor_headings")
        );
        let kind: CalibrationKind = serde_json::from_str(r#"{"kind": "mounting"}"#).unwrap();
        assert_eq!(kind, CalibrationKind::Mounting);
    }

    #[test]
    fn each_source_keeps_its_own_mounting_and_old_files_still_apply() {
        let (phone_tilt, suit_tilt) = (Quat::from_rotation_x(0.3), Quat::from_rotation_z(-0.2));
        let mut capture = CalibrationCapture::new(CalibrationKind::TPose);
        for _ in 0..3 {
            let phone = frame(Quat::IDENTITY, phone_tilt, 0.1);
            let suit = frame(Quat::IDENTITY, suit_tilt, 0.1);
            capture.add_source("phone", &phone, &NO_SENSORS);
            capture.add_source("suit", &suit, &NO_SENSORS);
            capture.add_mounted(&suit);
        }
        let calibration = capture.finish(&PerformerCalibration::default()).unwrap();
        for (source, tilt) in [("phone", phone_tilt), ("suit", suit_tilt)] {
            let mut f = frame(Quat::IDENTITY, tilt, 0.1);
            calibration.apply_mounting(source, &mut f);
            let arm = f.bone(HumanoidBone::LeftUpperArm).unwrap();
            assert!(
                rotation_error_degrees(arm, Quat::IDENTITY) < 1e-3,
                "{source}"
            );
        }
        // Before per-source mounting, files had one set of offsets: it applies to any source.
        let old: PerformerCalibration = serde_json::from_str(
            r#"{"pose_offsets": {"leftUpperArm": [0.0, 0.0, 0.0998, 0.995]}, "yaw_rad": 0.0}"#,
        )
        .unwrap();
        let mut f = frame(Quat::IDENTITY, Quat::IDENTITY, 0.1);
        old.apply_mounting("vmc@39539", &mut f);
        assert!(f.bone(HumanoidBone::LeftUpperArm).unwrap().z > 0.09);
    }
}
