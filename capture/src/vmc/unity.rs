//! VMC's coordinate convention and its one conversion to Kagura's.
//!
//! VMC sends Unity space: left-handed, +Y up, +Z forward, metres; a humanoid faces +Z with its
//! left hand towards −X, and bone rotations are local to Unity's humanoid rest pose (a T-pose
//! with identity local rotations, which is VRM's normalized rest pose too).
//! Kagura's space is glTF/VRM 1.0: right-handed, +Y up, the avatar faces +Z with its left hand
//! towards +X. Mirroring X maps one onto the other while keeping up and facing:
//! a position (x, y, z) becomes (−x, y, z) and a rotation (x, y, z, w) becomes (x, −y, −z, w).
//! The mapping is its own inverse.

use glam::{Quat, Vec3};

/// Unity (VMC) position → internal position.
pub fn position_from_unity(p: Vec3) -> Vec3 {
    Vec3::new(-p.x, p.y, p.z)
}

/// Unity (VMC) rotation → internal rotation.
pub fn rotation_from_unity(q: Quat) -> Quat {
    Quat::from_xyzw(q.x, -q.y, -q.z, q.w)
}

/// Unity Euler angles in degrees, as `Quaternion.Euler(x, y, z)` reads them (roll about Z first,
/// then pitch about X, then yaw about Y, all in Unity's left-handed space: `q = qY · qX · qZ`),
/// → internal rotation. Face trackers built for Unity receivers (iFacialMocap's `head#`, VTube
/// Studio's `Rotation`) send their angles this way.
pub fn rotation_from_unity_euler_degrees(euler: Vec3) -> Quat {
    let unity = Quat::from_rotation_y(euler.y.to_radians())
        * Quat::from_rotation_x(euler.x.to_radians())
        * Quat::from_rotation_z(euler.z.to_radians());
    rotation_from_unity(unity)
}

/// Internal position → Unity (VMC) position.
pub fn position_to_unity(p: Vec3) -> Vec3 {
    position_from_unity(p)
}

/// Internal rotation → Unity (VMC) rotation.
pub fn rotation_to_unity(q: Quat) -> Quat {
    rotation_from_unity(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the convention: a Unity rotation that turns the avatar's face towards its own left
    /// (Unity −X, i.e. a negative turn about +Y in left-handed space) must turn it towards the
    /// avatar's left in glTF too, which is +X.
    #[test]
    fn turning_to_the_left_stays_turning_to_the_left() {
        let unity_forward = Vec3::Z;
        // In Unity, Quaternion.Euler(0, -90, 0) turns +Z to −X (the avatar's left).
        let unity_turn_left = Quat::from_xyzw(
            0.0,
            -std::f32::consts::FRAC_1_SQRT_2,
            0.0,
            std::f32::consts::FRAC_1_SQRT_2,
        );
        let unity_result = Vec3::new(-1.0, 0.0, 0.0);
        // glam's maths is handedness-free; Unity's left-handed rotation of +Z by −90° about Y
        // is the mirror image of a right-handed one, so check through the mirror.
        let gltf_turn_left = rotation_from_unity(unity_turn_left);
        let gltf_forward = position_from_unity(unity_forward);
        let gltf_result = gltf_turn_left * gltf_forward;
        assert!((gltf_result - position_from_unity(unity_result)).length() < 1e-6);
        assert!((gltf_result - Vec3::X).length() < 1e-6, "{gltf_result}");
    }

    /// `Quaternion.Euler(0, 90, 0)` turns Unity's forward (+Z) to +X, the avatar's right in
    /// Unity; in glTF the avatar's right is −X. `Euler(-30, 0, 0)` raises the face (Unity's
    /// positive X rotation turns +Z down). Roll is applied first, yaw last.
    #[test]
    fn unity_euler_angles_keep_their_meaning() {
        let yaw = rotation_from_unity_euler_degrees(Vec3::new(0.0, 90.0, 0.0));
        assert!((yaw * Vec3::Z - Vec3::NEG_X).length() < 1e-6);
        let pitch = rotation_from_unity_euler_degrees(Vec3::new(-30.0, 0.0, 0.0));
        assert!((pitch * Vec3::Z).y > 0.49, "{}", pitch * Vec3::Z);
        // X before Y: Euler(90, 90, 0) tips up to forward (+Z), then turns forward to Unity +X;
        // mirrored, −X. (Y before X would leave up at +Z.)
        let both = rotation_from_unity_euler_degrees(Vec3::new(90.0, 90.0, 0.0));
        assert!(
            (both * Vec3::Y - Vec3::NEG_X).length() < 1e-6,
            "{}",
            both * Vec3::Y
        );
    }

    #[test]
    fn conversion_is_its_own_inverse() {
        let q = Quat::from_xyzw(0.1, 0.2, 0.3, 0.9).normalize();
        let p = Vec3::new(0.1, 0.9, -0.3);
        assert_eq!(rotation_to_unity(rotation_from_unity(q)), q);
        assert_eq!(position_to_unity(position_from_unity(p)), p);
    }
}
