//! OpenSeeFace's convention and its one conversion to Kagura's.
//!
//! **The frames.** `tracker.py` fits its 3-D face model to the 2-D landmarks with OpenCV's
//! `solvePnP`. The model's frame: x toward the face's own right (landmark 0, the right jaw, is
//! at x = +0.5), y up, z out of the face (the nose tip is the origin, the face's back at
//! z ≈ −0.5); about 1 unit across the jaw. The landmarks are handed to `solvePnP` as
//! (row, column) — `tracker.py` keeps them that way, and swaps them only for cropping and when
//! sending — so the "camera frame" of the fit is OpenCV's with x and y exchanged: x down the
//! image, y to the image's right, z forward from the camera. (The usual reading, x right and y
//! down, does not fit the sender: with it a face looking into the camera would come out rolled
//! 90°, which is what `OpenSee.cs`'s `rot.z − 90` patches.) The sent quaternion is the fit's
//! rotation R (model → camera) written by `matrix_to_quaternion`, whose signs give the
//! conjugate of the usual quaternion of R.
//!
//! **The conversion.** With the performer facing the camera and the avatar facing +Z toward
//! it, the camera frame in internal axes is W: x (image down) → −Y, y (image right, the
//! performer's left) → +X, z (away from the camera) → −Z; the avatar's head frame in model axes
//! is P: +X (the avatar's left) → −x. The head's rotation is H = W·R·P. Both W and P are
//! reflections; H = (W·P)·(P·R·P), where P·R·P is R's quaternion with y and z negated and W·P is
//! a half turn about (1, 1, 0)/√2. A face looking straight into the camera gives the identity.
//!
//! **Sign.** The avatar does what the performer does, not what a mirror shows: the performer
//! turning to their own left turns the avatar to its own left (+X). `mirror = true` flips it.
//!
//! Translation: the fit's, camera-relative, in model units (≈ 0.14 m, the jaw's width being
//! ~1 unit), converted by W; there is no neutral. Eyes: the direction from each eyeball centre
//! to its pupil (3-D points 68→66, 69→67, sent as (x, −y, −z) in model axes) turns the eye from
//! looking along +Z. Openness (1 = open) becomes `eyeBlink` = 1 − openness.

use std::f32::consts::FRAC_1_SQRT_2;

use glam::{Quat, Vec3};
use kagura_protocol::Expression;

use super::packet::{Feature, OsfRecord};
use crate::face::FaceSample;

/// One model unit in metres, roughly (the model is about 1 unit across the jaw).
pub const MODEL_UNIT_M: f32 = 0.14;

/// W·P: a half turn about (1, 1, 0)/√2.
const WP: Quat = Quat::from_xyzw(FRAC_1_SQRT_2, FRAC_1_SQRT_2, 0.0, 0.0);

/// The sent quaternion (x, y, z, w) → the head rotation, internal convention; `None` if it is
/// not a rotation.
pub fn head_rotation(sent: [f32; 4]) -> Option<Quat> {
    let q = Quat::from_array(sent);
    if !q.is_finite() || !(0.5..=2.0).contains(&q.length()) {
        return None;
    }
    // `matrix_to_quaternion` writes the conjugate of R's quaternion.
    let r = q.normalize().conjugate();
    let prp = Quat::from_xyzw(r.x, -r.y, -r.z, r.w);
    Some((WP * prp).normalize())
}

/// The sent translation → metres, internal axes, camera-relative.
pub fn head_position(sent: [f32; 3]) -> Vec3 {
    Vec3::new(sent[1], -sent[0], -sent[2]) * MODEL_UNIT_M
}

/// An eye's rotation from its eyeball centre and pupil as sent; `None` when they are missing
/// (zeros when the fit failed) or not finite.
pub fn eye_rotation(eyeball: Vec3, pupil: Vec3) -> Option<Quat> {
    // As sent: (x, −y, −z) of the model frame; in the avatar's head frame: (−x, y, z).
    let d = pupil - eyeball;
    let direction = Vec3::new(-d.x, -d.y, -d.z);
    let direction = direction.try_normalize()?;
    // Pointing backwards means the points are nonsense, not that the eye looks behind it.
    (direction.z > 0.0).then(|| Quat::from_rotation_arc(Vec3::Z, direction))
}

/// Fills `sample` from one record (channels included); `found` is whether the fit succeeded
/// and the rotation is one.
pub fn apply(record: &OsfRecord, sample: &mut FaceSample) {
    sample.clear();
    sample.head_rotation = head_rotation(record.quaternion);
    sample.found = record.success && sample.head_rotation.is_some();
    let t = Vec3::from(record.translation);
    sample.head_position = t.is_finite().then(|| head_position(record.translation));
    sample.right_eye = eye_rotation(record.right_eyeball, record.right_pupil);
    sample.left_eye = eye_rotation(record.left_eyeball, record.left_pupil);
    let unit = |v: f32| v.clamp(0.0, 1.0);
    let mut set = |e: Expression, v: f32| {
        if v.is_finite() {
            sample.set_channel(e, unit(v));
        }
    };
    set(Expression::EyeBlinkRight, 1.0 - record.eye_open_right);
    set(Expression::EyeBlinkLeft, 1.0 - record.eye_open_left);
    let f = |feature| record.feature(feature);
    set(Expression::JawOpen, f(Feature::MouthOpen));
    set(Expression::MouthStretchLeft, f(Feature::MouthWide));
    set(Expression::MouthStretchRight, f(Feature::MouthWide));
    let (brow_l, brow_r) = (f(Feature::EyebrowUpDownL), f(Feature::EyebrowUpDownR));
    set(Expression::BrowInnerUp, (brow_l + brow_r) / 2.0);
    set(Expression::BrowOuterUpLeft, brow_l);
    set(Expression::BrowOuterUpRight, brow_r);
    set(Expression::BrowDownLeft, -brow_l);
    set(Expression::BrowDownRight, -brow_r);
    let (corner_l, corner_r) = (
        f(Feature::MouthCornerUpDownL),
        f(Feature::MouthCornerUpDownR),
    );
    set(Expression::MouthSmileLeft, corner_l);
    set(Expression::MouthSmileRight, corner_r);
    set(Expression::MouthFrownLeft, -corner_l);
    set(Expression::MouthFrownRight, -corner_r);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use glam::Mat3;

    /// The fit's rotation for a face looking into the camera, from what the camera sees (in
    /// the fit's frame: x down the image, y to its right, z away from the camera): the face's
    /// right (model +x) appears on the image's left (−y), its top (model +y) at the image's
    /// top (−x), its nose (model +z) points at the camera (−z).
    pub(crate) fn facing_the_camera() -> Mat3 {
        Mat3::from_cols(Vec3::NEG_Y, Vec3::NEG_X, Vec3::NEG_Z)
    }

    /// What `facetracker.py` sends for the fit's rotation `r`: `matrix_to_quaternion`, i.e. the
    /// conjugate of r's quaternion.
    pub(crate) fn sent(r: Mat3) -> [f32; 4] {
        Quat::from_mat3(&r).conjugate().to_array()
    }

    /// A motion of the head seen from the camera: `camera_motion` (in the fit's frame) applied
    /// after the rest pose.
    pub(crate) fn seen(camera_motion: Quat) -> [f32; 4] {
        sent(Mat3::from_quat(camera_motion) * facing_the_camera())
    }

    /// Pins the convention with facts about the image, not the formula: looking into the
    /// camera is no rotation; the nose moving to the image's right (the performer turning to
    /// their own left) turns the avatar to its own left (+X); the nose moving up the image
    /// raises the face; the top of the head moving to the image's right (a tilt to the
    /// performer's left) tilts the avatar's head to its left.
    #[test]
    fn what_the_camera_sees_becomes_what_the_avatar_does() {
        let rest = head_rotation(sent(facing_the_camera())).unwrap();
        assert!(rest.angle_between(Quat::IDENTITY) < 1e-3, "{rest}");
        let angle = 30f32.to_radians();
        // About the image's vertical (x): the nose (−z) swings toward +y, image right.
        let turned_left = head_rotation(seen(Quat::from_rotation_x(angle))).unwrap();
        let nose = Mat3::from_quat(Quat::from_rotation_x(angle)) * Vec3::NEG_Z;
        assert!(nose.y > 0.49, "the nose moves right in the image: {nose}");
        let face = turned_left * Vec3::Z;
        assert!(face.x > 0.49 && face.z > 0.86, "{face}");
        // About the image's horizontal (y): the nose swings toward −x, up the image.
        let raised = head_rotation(seen(Quat::from_rotation_y(angle))).unwrap();
        assert!((raised * Vec3::Z).y > 0.49, "{}", raised * Vec3::Z);
        // About the view axis (z): the top of the head (−x) swings toward +y, image right.
        let tilt = Quat::from_rotation_z(-angle);
        assert!((Mat3::from_quat(tilt) * Vec3::NEG_X).y > 0.49);
        let tilted = head_rotation(seen(tilt)).unwrap();
        assert!((tilted * Vec3::Y).x > 0.49, "{}", tilted * Vec3::Y);
        // A quaternion sent negated is the same rotation.
        let q = seen(Quat::from_rotation_x(angle)).map(|v| -v);
        assert!(head_rotation(q).unwrap().angle_between(turned_left) < 1e-3);
        assert_eq!(head_rotation([f32::NAN, 0.0, 0.0, 1.0]), None);
        assert_eq!(head_rotation([0.0; 4]), None);
    }

    #[test]
    fn translation_and_gaze_follow_the_same_axes() {
        // 8 units from the camera, right of and below the image's centre.
        let p = head_position([1.0, 2.0, 8.0]);
        assert!((p - Vec3::new(2.0, -1.0, -8.0) * MODEL_UNIT_M).length() < 1e-6);
        // A pupil to the face's left of its eyeball centre (model −x), sent as (x, −y, −z).
        let to_sent = |m: Vec3| Vec3::new(m.x, -m.y, -m.z);
        let eyeball = Vec3::new(0.25, 0.27, -0.25);
        let pupil = Vec3::new(0.21, 0.27, -0.17);
        let eye = eye_rotation(to_sent(eyeball), to_sent(pupil)).unwrap();
        assert!(
            (eye * Vec3::Z).x > 0.3,
            "looks to the avatar's left: {}",
            eye * Vec3::Z
        );
        let straight = eye_rotation(to_sent(eyeball), to_sent(Vec3::new(0.25, 0.27, -0.17)));
        assert!(straight.unwrap().angle_between(Quat::IDENTITY) < 1e-3);
        assert_eq!(
            eye_rotation(Vec3::ZERO, Vec3::ZERO),
            None,
            "a failed fit's zeros"
        );
    }

    #[test]
    fn openness_and_features_become_channels() {
        let mut record = OsfRecord {
            success: true,
            quaternion: sent(facing_the_camera()),
            eye_open_right: 0.2,
            eye_open_left: 1.3,
            ..OsfRecord::default()
        };
        record.features[Feature::MouthOpen as usize] = 0.6;
        record.features[Feature::MouthWide as usize] = -0.2;
        record.features[Feature::EyebrowUpDownL as usize] = 0.4;
        record.features[Feature::EyebrowUpDownR as usize] = -0.2;
        record.features[Feature::MouthCornerUpDownL as usize] = -0.5;
        record.features[Feature::MouthCornerUpDownR as usize] = f32::NAN;
        let mut sample = FaceSample::default();
        apply(&record, &mut sample);
        assert!(sample.found);
        let c = |e| sample.channel(e).unwrap();
        assert!((c(Expression::EyeBlinkRight) - 0.8).abs() < 1e-6);
        assert_eq!(c(Expression::EyeBlinkLeft), 0.0);
        assert_eq!(c(Expression::JawOpen), 0.6);
        assert_eq!(c(Expression::MouthStretchLeft), 0.0);
        assert!((c(Expression::BrowInnerUp) - 0.1).abs() < 1e-6);
        assert_eq!(c(Expression::BrowOuterUpLeft), 0.4);
        assert_eq!(c(Expression::BrowDownRight), 0.2);
        assert_eq!(c(Expression::MouthFrownLeft), 0.5);
        assert_eq!(c(Expression::MouthSmileLeft), 0.0);
        assert_eq!(sample.channel(Expression::MouthSmileRight), None, "NaN");
        record.success = false;
        apply(&record, &mut sample);
        assert!(!sample.found);
    }
}
