//! VTube Studio's phone convention and its one conversion to Kagura's.
//!
//! VTube Studio is a Unity app and sends what Unity gives it: `Rotation`, `EyeLeft` and
//! `EyeRight` are Unity Euler angles in degrees (x pitch, y yaw, z roll, applied Z, X, Y in
//! Unity's left-handed space), read exactly as iFacialMocap's `head#` (facetrack-d converts
//! both the same way). So the conversion is Unity's (`vmc::unity`): Euler → Unity quaternion →
//! mirror X.
//!
//! **Sign.** As for iFacialMocap: a positive `Rotation.y` turns the avatar's face toward its own
//! right (−X in glTF), what the same numbers do to a Unity avatar; no source fixes which real
//! head turn the phone reports as positive, so the `mirror` option flips it. `EyeLeft` drives
//! the avatar's left eye. `Position` is in the phone's own units (a face in front of the phone
//! reads z ≈ 4.7, so not metres): it is not passed on.
//!
//! (aziib's tha3 fork reads `Rotation.x` as yaw; DenchiSoft's sample — y 9.4 with both eyes'
//! y 9–13 — and the VBridger-style configs read y as yaw, which Kagura follows.)

use glam::{Quat, Vec3};

use super::parser::VtsData;
use crate::face::FaceSample;
use crate::vmc::unity;

/// `Rotation` (degrees) → the head rotation, internal convention.
pub fn head_rotation(euler_degrees: Vec3) -> Quat {
    unity::rotation_from_unity_euler_degrees(euler_degrees)
}

/// `EyeLeft`/`EyeRight` (degrees) → the eye bone's rotation, internal convention.
pub fn eye_rotation(euler_degrees: Vec3) -> Quat {
    unity::rotation_from_unity_euler_degrees(euler_degrees)
}

/// Writes a parsed datagram's transforms into `sample` (its channels are in already).
pub fn apply(data: &VtsData, sample: &mut FaceSample) {
    sample.head_rotation = data.rotation.map(head_rotation);
    sample.head_position = None;
    sample.left_eye = data.eye_left.map(eye_rotation);
    sample.right_eye = data.eye_right.map(eye_rotation);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the convention: positive y turns the face toward the avatar's own right (−X),
    /// negative x raises it, positive z tips the top of the head toward its own left (+X).
    #[test]
    fn positive_rotation_y_turns_the_face_to_the_avatars_right() {
        let turned = head_rotation(Vec3::new(0.0, 30.0, 0.0)) * Vec3::Z;
        assert!(turned.x < -0.49 && turned.z > 0.86, "{turned}");
        let raised = head_rotation(Vec3::new(-20.0, 0.0, 0.0)) * Vec3::Z;
        assert!(raised.y > 0.34, "{raised}");
        let rolled = head_rotation(Vec3::new(0.0, 0.0, 30.0)) * Vec3::Y;
        assert!(rolled.x > 0.49, "{rolled}");
        let glance = eye_rotation(Vec3::new(0.0, 10.0, 0.0)) * Vec3::Z;
        assert!(glance.x < -0.17, "{glance}");
        let mut sample = FaceSample::default();
        let data = VtsData {
            rotation: Some(Vec3::new(0.0, 30.0, 0.0)),
            position: Some(Vec3::new(0.5, 1.3, 4.7)),
            eye_left: Some(Vec3::ZERO),
            ..VtsData::default()
        };
        apply(&data, &mut sample);
        assert_eq!(sample.head_position, None, "not metres: not passed on");
        assert_eq!(sample.left_eye, Some(Quat::IDENTITY));
        assert_eq!(sample.right_eye, None);
    }
}
