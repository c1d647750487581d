//! iFacialMocap's convention and its one conversion to Kagura's.
//!
//! The app sends what its Unity receivers (VMagicMirror, its own Unity plug-in) feed to
//! `Quaternion.Euler(x, y, z)` as they are: `head#`, `rightEye#`, `leftEye#` are Unity Euler
//! angles in degrees (x pitch, y yaw, z roll; applied Z, then X, then Y, in Unity's left-handed
//! space) and the head position is Unity-axes metres. So the conversion is Unity's, as for VMC
//! (`vmc::unity`): Euler → Unity quaternion → mirror X.
//!
//! **Sign.** A positive `head#` yaw turns the avatar's face toward its own right (−X in glTF),
//! because that is what the same numbers do to an avatar in those Unity receivers: Unity's
//! `Euler(0, +y, 0)` turns +Z toward +X, a Unity humanoid's right. Nothing in the protocol fixes
//! which real head turn the app reports as positive (the app applies its own mirror setting
//! before sending), so Kagura shows what the app's own receivers show, and the `mirror` option
//! ([`crate::face::FaceSample::mirror`]) flips it for a performer whose avatar turns the wrong
//! way. `rightEye#` drives the avatar's right eye.

use glam::{Quat, Vec3};

use super::parser::IfmItems;
use crate::face::FaceSample;
use crate::vmc::unity;

/// `head#`'s angles (degrees) → the head rotation, internal convention.
pub fn head_rotation(euler_degrees: Vec3) -> Quat {
    unity::rotation_from_unity_euler_degrees(euler_degrees)
}

/// `head#`'s position (metres, Unity axes) → internal axes.
pub fn head_position(position: Vec3) -> Vec3 {
    unity::position_from_unity(position)
}

/// `rightEye#`/`leftEye#` angles (degrees) → the eye bone's rotation, internal convention.
pub fn eye_rotation(euler_degrees: Vec3) -> Quat {
    unity::rotation_from_unity_euler_degrees(euler_degrees)
}

/// Writes a parsed datagram's transforms into `sample` (its channels are in already).
pub fn apply(items: &IfmItems, sample: &mut FaceSample) {
    sample.head_rotation = items.head_euler.map(head_rotation);
    sample.head_position = items.head_position.map(head_position);
    sample.right_eye = items.right_eye_euler.map(eye_rotation);
    sample.left_eye = items.left_eye_euler.map(eye_rotation);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the convention (see the module documentation): positive yaw turns the face toward
    /// the avatar's own right (−X), negative pitch raises it, positive roll tips the top of the
    /// head toward the avatar's own left (+X), each as Unity's `Quaternion.Euler` does.
    #[test]
    fn positive_yaw_turns_the_face_to_the_avatars_right() {
        let turned = head_rotation(Vec3::new(0.0, 30.0, 0.0)) * Vec3::Z;
        assert!(turned.x < -0.49 && turned.z > 0.86, "{turned}");
        let raised = head_rotation(Vec3::new(-20.0, 0.0, 0.0)) * Vec3::Z;
        assert!(raised.y > 0.34, "{raised}");
        // Unity Euler(0, 0, 30): +X (Unity's right) turns toward +Y, so the top of the head
        // (+Y) tips toward Unity −X, the avatar's left: +X in glTF.
        let rolled = head_rotation(Vec3::new(0.0, 0.0, 30.0)) * Vec3::Y;
        assert!(rolled.x > 0.49, "{rolled}");
        // Position: Unity +X (the avatar's right) is −X here.
        assert_eq!(
            head_position(Vec3::new(0.1, 0.2, -0.5)),
            Vec3::new(-0.1, 0.2, -0.5)
        );
        // Eyes read like the head.
        assert!((eye_rotation(Vec3::new(0.0, 10.0, 0.0)) * Vec3::Z).x < -0.17);
    }
}
