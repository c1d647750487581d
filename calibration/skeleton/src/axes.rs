//! A source's axes and units, and the one conversion of its positions and rotations to the
//! internal convention (glTF: right-handed, +Y up, metres, the performer faces +Z, their left
//! towards +X).

use glam::{Mat3, Quat, Vec3};
use serde::{Deserialize, Serialize};

/// How a source's space maps onto the internal one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axes {
    /// Columns: where the source's +X, +Y and +Z point in internal space. Orthonormal; a
    /// determinant of −1 means the source is left-handed.
    pub basis: Mat3,
    /// Metres per source unit (0.01 for centimetres).
    pub metres_per_unit: f32,
}

impl Axes {
    /// Already the internal convention, in metres.
    pub const INTERNAL: Axes = Axes {
        basis: Mat3::IDENTITY,
        metres_per_unit: 1.0,
    };

    /// Unity (VMC): left-handed, +Y up, the performer faces +Z with their left towards −X:
    /// mirror X.
    pub const UNITY: Axes = Axes {
        basis: Mat3::from_cols(Vec3::NEG_X, Vec3::Y, Vec3::Z),
        metres_per_unit: 1.0,
    };

    /// BVH as Perception Neuron / Axis and most tools write it: right-handed, +Y up, the
    /// performer faces +Z, centimetres.
    pub const BVH_CENTIMETRES: Axes = Axes {
        basis: Mat3::IDENTITY,
        metres_per_unit: 0.01,
    };

    pub fn position(&self, p: Vec3) -> Vec3 {
        self.basis * p * self.metres_per_unit
    }

    /// A direction (no unit scaling).
    pub fn direction(&self, d: Vec3) -> Vec3 {
        self.basis * d
    }

    /// A rotation expressed in source axes, as the same rotation in internal axes:
    /// B·R·Bᵀ, which stays a proper rotation even when B mirrors.
    pub fn rotation(&self, q: Quat) -> Quat {
        let m = self.basis * Mat3::from_quat(q) * self.basis.transpose();
        Quat::from_mat3(&m).normalize()
    }

    /// The inverse of [`Axes::rotation`].
    pub fn rotation_to_source(&self, q: Quat) -> Quat {
        let m = self.basis.transpose() * Mat3::from_quat(q) * self.basis;
        Quat::from_mat3(&m).normalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::rotation_error_degrees;

    /// The Unity axes agree with the VMC decoder's conversion: (x, y, z, w) → (x, −y, −z, w).
    #[test]
    fn unity_matches_the_vmc_conversion() {
        let q = Quat::from_xyzw(0.1, 0.3, -0.2, 0.9).normalize();
        let expected = Quat::from_xyzw(q.x, -q.y, -q.z, q.w);
        assert!(rotation_error_degrees(Axes::UNITY.rotation(q), expected) < 1e-4);
        assert!(
            rotation_error_degrees(Axes::UNITY.rotation_to_source(Axes::UNITY.rotation(q)), q)
                < 1e-4
        );
        assert_eq!(
            Axes::UNITY.position(Vec3::new(1.0, 2.0, 3.0)),
            Vec3::new(-1.0, 2.0, 3.0)
        );
    }
}
