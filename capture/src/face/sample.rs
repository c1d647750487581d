//! [`FaceSample`]: one tracked instant of a face in the internal convention, and how it is
//! written into a [`PoseFrame`].

use std::sync::LazyLock;

use glam::{Quat, Vec3};
use kagura_protocol::{CheckedRotation, Expression, HumanoidBone, PoseFrame, check_rotation};

/// The share of the head's rotation the neck takes; the head bone takes the rest.
///
/// A tracker measures the head against the shoulders (or the camera) as one rotation, but a
/// person turns the head with the whole cervical spine, and an avatar whose neck stays still
/// while the head turns 60° looks broken at the collar. 40% to the neck, 60% to the head is
/// about how the lower cervical spine and the head–neck joints share a turn, and what
/// VMagicMirror and VSeeFace-like receivers do (between a third and a half). The two are powers
/// of the same rotation, so neck · head is exactly the tracked rotation.
pub const NECK_SHARE: f32 = 0.4;

/// One tracked instant of a face, in the internal convention (VRM 1.0 / glTF: right-handed, +Y
/// up, the avatar faces +Z, its left is +X). Every face source fills one and calls
/// [`FaceSample::write_into`].
#[derive(Clone, Debug, PartialEq)]
pub struct FaceSample {
    /// Whether a face was tracked in this sample. `false`: the frame carries no face, and the
    /// source emits no frame for it, so the performer's face parts hold, then ease, in the
    /// engine (a frame without head bones would snap them to rest at once).
    pub found: bool,
    /// Head rotation relative to looking straight ahead, in the internal convention: positive
    /// yaw about +Y turns the face toward the avatar's own left (+X).
    pub head_rotation: Option<Quat>,
    /// Head position relative to the tracker's neutral where it has one (else to the camera),
    /// metres, internal axes. A [`PoseFrame`] carries no head translation, so
    /// [`FaceSample::write_into`] does not write it; it is kept for sources and tests.
    pub head_position: Option<Vec3>,
    /// Eye rotations, local to the VRM rest pose of `leftEye`/`rightEye` (the avatar's own left
    /// and right eye), internal convention.
    pub left_eye: Option<Quat>,
    pub right_eye: Option<Quat>,
    /// Expression channels by [`Expression::index`], 0..1 (values outside are kept here and
    /// clamped when written): ARKit shapes, and the VRM visemes `aa`…`oh` for trackers that
    /// give them. A fixed array: filling a sample allocates nothing.
    pub channels: [Option<f32>; Expression::COUNT],
}

impl Default for FaceSample {
    fn default() -> Self {
        FaceSample {
            found: false,
            head_rotation: None,
            head_position: None,
            left_eye: None,
            right_eye: None,
            channels: [None; Expression::COUNT],
        }
    }
}

impl FaceSample {
    /// Back to nothing tracked (reused between samples).
    pub fn clear(&mut self) {
        *self = FaceSample::default();
    }

    pub fn channel(&self, expression: Expression) -> Option<f32> {
        self.channels[expression.index()]
    }

    /// Sets a channel; a non-finite weight is ignored.
    pub fn set_channel(&mut self, expression: Expression, weight: f32) {
        if weight.is_finite() {
            self.channels[expression.index()] = Some(weight);
        }
    }

    /// The channels present, in wire order.
    pub fn channels(&self) -> impl Iterator<Item = (Expression, f32)> + '_ {
        Expression::ALL
            .into_iter()
            .filter_map(|e| self.channels[e.index()].map(|w| (e, w)))
    }

    /// Mirrors the sample left for right (a tracker whose output is the performer's mirror
    /// image): rotations reflected through the avatar's median plane (yaw and roll negated),
    /// position x negated, left and right eyes swapped, and every `…Left` channel swapped with
    /// its `…Right` (`eyeBlinkLeft` ↔ `eyeBlinkRight`, `mouthLeft` ↔ `mouthRight`).
    pub fn mirror(&mut self) {
        let reflect = |q: Quat| Quat::from_xyzw(q.x, -q.y, -q.z, q.w);
        self.head_rotation = self.head_rotation.map(reflect);
        self.head_position = self.head_position.map(|p| Vec3::new(-p.x, p.y, p.z));
        let (left, right) = (self.left_eye.map(reflect), self.right_eye.map(reflect));
        (self.left_eye, self.right_eye) = (right, left);
        let channels = self.channels;
        for e in Expression::ALL {
            self.channels[MIRRORED[e.index()].index()] = channels[e.index()];
        }
    }

    /// Writes the sample into `frame` (nothing when no face was found): the head rotation split
    /// between `neck` ([`NECK_SHARE`]) and `head` (the rest, local to the neck), the eye bones,
    /// and the channels (clamped to 0..1). Invalid rotations (NaN, far from unit length) are
    /// left out.
    pub fn write_into(&self, frame: &mut PoseFrame) {
        if !self.found {
            return;
        }
        if let Some(head) = self.head_rotation.and_then(valid) {
            // The short way round, so the neck's share is of the smaller angle.
            let head = if head.w < 0.0 { -head } else { head };
            let neck = Quat::IDENTITY.slerp(head, NECK_SHARE).normalize();
            frame.set_bone(HumanoidBone::Neck, neck);
            frame.set_bone(HumanoidBone::Head, (neck.inverse() * head).normalize());
        }
        if let Some(eye) = self.left_eye.and_then(valid) {
            frame.set_bone(HumanoidBone::LeftEye, eye);
        }
        if let Some(eye) = self.right_eye.and_then(valid) {
            frame.set_bone(HumanoidBone::RightEye, eye);
        }
        for (e, w) in self.channels() {
            frame.set_expression(e, w);
        }
    }
}

fn valid(q: Quat) -> Option<Quat> {
    match check_rotation(q) {
        CheckedRotation::Unit(q) | CheckedRotation::Repaired(q) => Some(q),
        CheckedRotation::Invalid => None,
    }
}

/// Each expression's mirror image: `…Left` ↔ `…Right`, the rest themselves.
static MIRRORED: LazyLock<[Expression; Expression::COUNT]> = LazyLock::new(|| {
    Expression::ALL.map(|e| {
        let name = e.name();
        let other = if let Some(base) = name.strip_suffix("Left") {
            format!("{base}Right")
        } else if let Some(base) = name.strip_suffix("Right") {
            format!("{base}Left")
        } else {
            return e;
        };
        Expression::from_name(&other).unwrap_or(e)
    })
});

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::{PerformerId, rotation_error_degrees};

    fn angle(q: Quat) -> f64 {
        rotation_error_degrees(q, Quat::IDENTITY)
    }

    /// Pins the split: the neck takes 40% of the angle, the head the other 60% about the same
    /// axis, and together they are the tracked rotation.
    #[test]
    fn the_neck_takes_forty_percent_and_the_head_the_rest() {
        let tracked = Quat::from_euler(glam::EulerRot::YXZ, 0.6, -0.3, 0.2);
        let sample = FaceSample {
            found: true,
            head_rotation: Some(tracked),
            ..FaceSample::default()
        };
        let mut frame = PoseFrame::new(PerformerId(0));
        sample.write_into(&mut frame);
        let neck = frame.bone(HumanoidBone::Neck).unwrap();
        let head = frame.bone(HumanoidBone::Head).unwrap();
        assert!(rotation_error_degrees(neck * head, tracked) < 0.01);
        let total = angle(tracked);
        assert!((angle(neck) - 0.4 * total).abs() < 0.01, "{}", angle(neck));
        assert!((angle(head) - 0.6 * total).abs() < 0.01, "{}", angle(head));
        // Same axis: the head's share turns the same way as the neck's.
        assert!(neck.xyz().normalize().dot(head.xyz().normalize()) > 0.9999);
        // A quaternion given with w < 0 is the same rotation and splits the same way.
        let mut frame2 = PoseFrame::new(PerformerId(0));
        FaceSample {
            head_rotation: Some(-tracked),
            ..sample.clone()
        }
        .write_into(&mut frame2);
        assert!(rotation_error_degrees(frame2.bone(HumanoidBone::Neck).unwrap(), neck) < 0.01);
    }

    #[test]
    fn eyes_and_channels_are_written_and_nothing_without_a_face() {
        let mut sample = FaceSample {
            found: true,
            left_eye: Some(Quat::from_rotation_y(0.1)),
            right_eye: Some(Quat::from_xyzw(f32::NAN, 0.0, 0.0, 1.0)),
            ..FaceSample::default()
        };
        sample.set_channel(Expression::JawOpen, 0.4);
        sample.set_channel(Expression::MouthSmileLeft, 1.7);
        sample.set_channel(Expression::CheekPuff, f32::NAN);
        let mut frame = PoseFrame::new(PerformerId(0));
        sample.write_into(&mut frame);
        assert_eq!(
            frame.bone(HumanoidBone::LeftEye),
            Some(Quat::from_rotation_y(0.1))
        );
        assert_eq!(frame.bone(HumanoidBone::RightEye), None, "NaN left out");
        assert_eq!(frame.bone(HumanoidBone::Head), None);
        assert_eq!(frame.expression(Expression::JawOpen), Some(0.4));
        assert_eq!(frame.expression(Expression::MouthSmileLeft), Some(1.0));
        assert_eq!(frame.expression(Expression::CheekPuff), None);
        sample.found = false;
        let mut empty = PoseFrame::new(PerformerId(0));
        sample.write_into(&mut empty);
        assert_eq!(empty, PoseFrame::new(PerformerId(0)));
    }

    #[test]
    fn mirroring_swaps_sides_and_is_its_own_inverse() {
        let mut sample = FaceSample {
            found: true,
            head_rotation: Some(Quat::from_rotation_y(0.5)),
            head_position: Some(Vec3::new(0.1, 0.2, 0.3)),
            left_eye: Some(Quat::from_rotation_y(0.2)),
            right_eye: None,
            ..FaceSample::default()
        };
        sample.set_channel(Expression::EyeBlinkLeft, 0.9);
        sample.set_channel(Expression::MouthLeft, 0.3);
        sample.set_channel(Expression::JawOpen, 0.5);
        let original = sample.clone();
        sample.mirror();
        // Turned toward its left (+X) becomes turned toward its right (−X).
        assert!((sample.head_rotation.unwrap() * Vec3::Z).x < -0.4);
        assert_eq!(sample.head_position, Some(Vec3::new(-0.1, 0.2, 0.3)));
        assert_eq!(sample.left_eye, None);
        assert!((sample.right_eye.unwrap() * Vec3::Z).x < -0.1);
        assert_eq!(sample.channel(Expression::EyeBlinkRight), Some(0.9));
        assert_eq!(sample.channel(Expression::EyeBlinkLeft), None);
        assert_eq!(sample.channel(Expression::MouthRight), Some(0.3));
        assert_eq!(sample.channel(Expression::JawOpen), Some(0.5));
        sample.mirror();
        assert_eq!(sample, original);
    }
}
