//! [`PoseFrame`]: one performer's complete pose at one instant, in the internal convention.

use glam::{Quat, Vec3};
use serde::{Deserialize, Serialize};

use crate::{Expression, HumanoidBone};

/// A performer's number on the wire. The server assigns it and maps it to the performer's name
/// in [`crate::control::ServerInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PerformerId(pub u16);

impl std::fmt::Display for PerformerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where the avatar stands: VMC's `/VMC/Ext/Root/Pos`. Position in metres, rotation a unit
/// quaternion, both in glTF space.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RootTransform {
    pub position: Vec3,
    pub rotation: Quat,
}

/// One performer's pose at one instant.
///
/// Convention: VRM 1.0 / glTF space (right-handed, +Y up, metres, the avatar faces +Z). Bone
/// rotations are unit quaternions local to the VRM 1.0 normalized rest pose. A bone or expression
/// the source does not track is `None` and stays absent on the wire; a renderer keeps its rest
/// pose. The frame is a fixed-size value (no heap), so copying one on the per-frame path costs
/// no allocation.
#[derive(Clone, Debug, PartialEq)]
pub struct PoseFrame {
    pub performer: PerformerId,
    /// Increments by one per frame of this performer; a gap means frames were skipped.
    pub seq: u32,
    /// When the frame was captured, microseconds since the Unix epoch on the capture node.
    pub capture_us: u64,
    pub root: Option<RootTransform>,
    /// The hips' position relative to the root, metres. The only bone that translates.
    pub hips_position: Option<Vec3>,
    bones: [Option<Quat>; HumanoidBone::COUNT],
    expressions: [Option<f32>; Expression::COUNT],
}

impl PoseFrame {
    /// An empty frame: no bones, no expressions, no root.
    pub fn new(performer: PerformerId) -> Self {
        PoseFrame {
            performer,
            seq: 0,
            capture_us: 0,
            root: None,
            hips_position: None,
            bones: [None; HumanoidBone::COUNT],
            expressions: [None; Expression::COUNT],
        }
    }

    pub fn bone(&self, bone: HumanoidBone) -> Option<Quat> {
        self.bones[bone.index()]
    }

    /// Sets a bone's local rotation. The caller passes a unit quaternion; see
    /// [`check_rotation`] for turning untrusted input into one.
    pub fn set_bone(&mut self, bone: HumanoidBone, rotation: Quat) {
        self.bones[bone.index()] = Some(rotation);
    }

    pub fn clear_bone(&mut self, bone: HumanoidBone) {
        self.bones[bone.index()] = None;
    }

    /// The bones present, in wire order.
    pub fn bones(&self) -> impl Iterator<Item = (HumanoidBone, Quat)> + '_ {
        HumanoidBone::ALL
            .into_iter()
            .filter_map(|b| self.bones[b.index()].map(|q| (b, q)))
    }

    pub fn expression(&self, expression: Expression) -> Option<f32> {
        self.expressions[expression.index()]
    }

    /// Sets a weight, clamped to 0..=1 (NaN becomes 0).
    pub fn set_expression(&mut self, expression: Expression, weight: f32) {
        let weight = if weight.is_nan() {
            0.0
        } else {
            weight.clamp(0.0, 1.0)
        };
        self.expressions[expression.index()] = Some(weight);
    }

    pub fn clear_expression(&mut self, expression: Expression) {
        self.expressions[expression.index()] = None;
    }

    /// The expressions present, in wire order.
    pub fn expressions(&self) -> impl Iterator<Item = (Expression, f32)> + '_ {
        Expression::ALL
            .into_iter()
            .filter_map(|e| self.expressions[e.index()].map(|w| (e, w)))
    }
}

/// What [`check_rotation`] made of an untrusted quaternion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CheckedRotation {
    /// Already unit length (within 1e-3); returned normalized.
    Unit(Quat),
    /// Finite but not unit length (norm within 0.5..2); normalized, and worth counting.
    Repaired(Quat),
    /// NaN, infinite, or too far from unit length to mean anything.
    Invalid,
}

/// Turns an untrusted quaternion into a unit one, or rejects it.
pub fn check_rotation(q: Quat) -> CheckedRotation {
    if !q.is_finite() {
        return CheckedRotation::Invalid;
    }
    let norm = q.length();
    if !(0.5..=2.0).contains(&norm) {
        CheckedRotation::Invalid
    } else if (norm - 1.0).abs() <= 1e-3 {
        CheckedRotation::Unit(q / norm)
    } else {
        CheckedRotation::Repaired(q / norm)
    }
}

/// The angle between two rotations, in degrees (q and −q are the same rotation).
pub fn rotation_error_degrees(a: Quat, b: Quat) -> f64 {
    let a = a.as_dquat().normalize();
    let b = b.as_dquat().normalize();
    let dot = a.dot(b).abs().min(1.0);
    (2.0 * dot.acos()).to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_rotation_classifies() {
        assert_eq!(
            check_rotation(Quat::IDENTITY),
            CheckedRotation::Unit(Quat::IDENTITY)
        );
        assert_eq!(
            check_rotation(Quat::from_xyzw(0.0, 0.0, 0.0, 1.5)),
            CheckedRotation::Repaired(Quat::IDENTITY)
        );
        assert_eq!(
            check_rotation(Quat::from_xyzw(f32::NAN, 0.0, 0.0, 1.0)),
            CheckedRotation::Invalid
        );
        assert_eq!(
            check_rotation(Quat::from_xyzw(0.0, 0.0, 0.0, 0.0)),
            CheckedRotation::Invalid
        );
    }

    #[test]
    fn expression_weights_are_clamped() {
        let mut f = PoseFrame::new(PerformerId(0));
        f.set_expression(Expression::Aa, 1.5);
        f.set_expression(Expression::JawOpen, f32::NAN);
        assert_eq!(f.expression(Expression::Aa), Some(1.0));
        assert_eq!(f.expression(Expression::JawOpen), Some(0.0));
        assert_eq!(f.expression(Expression::Ih), None);
    }
}
