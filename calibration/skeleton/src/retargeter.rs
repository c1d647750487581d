//! [`Retargeter`]: a source skeleton's joint rotations onto the VRM 1.0 normalized humanoid.
//!
//! A humanoid bone's *segment* runs from its joint to the joint of the next bone along its chain
//! (spine to chest, upper arm to lower arm; [`HumanoidBone::main_child`], skipping bones the
//! source lacks). Unmapped joints on a segment (`Neck1` between neck and head, `LowerBack`
//! between hips and spine, `Spine3`) fold into that bone: the bone takes the global rotation of
//! the segment's last joint `e`, the parent of the next bone's joint, so it turns with every
//! joint along it and its children keep their own orientation. Unmapped joints off every
//! segment (CMU's `LHipJoint`, a hand's `LeftFingerBase`) only pass their rotation on.
//!
//! For each bone, its world rotation away from the source's rest pose, in internal axes, is
//! `D = axes(G_e · G_e,rest⁻¹)`; the bone's world orientation relative to the VRM T-pose is
//! `W = D · A`, where `A` (the rest correction) turns the T-pose bone onto the source's rest
//! segment, from the joint to the next bone's joint across the folded joints (identity when the
//! source rests in a T-pose). A humanoid bone's normalized local rotation is `W_parent⁻¹ · W`,
//! the parent being the nearest ancestor bone that both the source drives and the avatar has:
//! bones the avatar lacks are skipped (the next bone's local rotation takes theirs), bones the
//! source lacks stay absent (the renderer keeps rest).

use glam::{Quat, Vec3};
use kagura_protocol::{HumanoidBone, PoseFrame};

use super::skeleton::SourceSkeleton;

/// What the retargeted pose is for: which bones the avatar has, and its leg length.
#[derive(Clone, Debug)]
pub struct TargetBody {
    pub has_bone: [bool; HumanoidBone::COUNT],
    /// Hip-to-ankle length, metres; scales the hips' translation.
    pub leg_length_m: f32,
}

impl Default for TargetBody {
    /// Every bone, and a 0.85 m leg (an adult; Kagura's mannequin).
    fn default() -> Self {
        TargetBody {
            has_bone: [true; HumanoidBone::COUNT],
            leg_length_m: 0.85,
        }
    }
}

/// The T-pose direction of a bone towards its main child, where it is well defined: spine and
/// neck up, arms and fingers sideways, legs down. The head (whose children, eyes and jaw, point
/// forward), feet, toes, eyes and jaw get no correction.
fn tpose_direction(bone: HumanoidBone) -> Option<Vec3> {
    use HumanoidBone::*;
    let name = bone.vrm1_name();
    match bone {
        Hips | Spine | Chest | UpperChest | Neck => Some(Vec3::Y),
        LeftUpperLeg | LeftLowerLeg | RightUpperLeg | RightLowerLeg => Some(Vec3::NEG_Y),
        Head | LeftFoot | RightFoot | LeftToes | RightToes | LeftEye | RightEye | Jaw => None,
        _ if name.starts_with("left") => Some(Vec3::X),
        _ => Some(Vec3::NEG_X),
    }
}

/// Maps one source skeleton onto the humanoid. Pure: build once, call per frame.
pub struct Retargeter {
    skeleton: SourceSkeleton,
    rest_inverse: Vec<Quat>,
    /// Per joint: world rotation from the T-pose bone to the source's rest bone (internal axes).
    correction: Vec<Quat>,
    /// Per joint: the joint whose global rotation drives its bone (the last joint of its
    /// segment; itself unless unmapped joints fold into it).
    drive: Vec<usize>,
    /// Per humanoid bone: (its joint, the joint of the ancestor its rotation is relative to).
    mapping: Vec<(HumanoidBone, usize, Option<usize>)>,
    hips_scale: f32,
    globals: Vec<Quat>,
}

impl Retargeter {
    pub fn new(skeleton: SourceSkeleton, target: &TargetBody) -> Result<Retargeter, String> {
        skeleton.validate()?;
        let (rest_globals, rest_positions) = skeleton.rest_globals();
        let axes = skeleton.axes;
        let segment_end: Vec<Option<usize>> = skeleton
            .joints
            .iter()
            .enumerate()
            .map(|(i, joint)| segment_end(&skeleton, i, joint.bone?))
            .collect();
        let drive = segment_end
            .iter()
            .enumerate()
            .map(|(i, end)| end.and_then(|c| skeleton.joints[c].parent).unwrap_or(i))
            .collect();
        let correction = skeleton
            .joints
            .iter()
            .enumerate()
            .map(|(i, joint)| {
                let Some(bone) = joint.bone else {
                    return Quat::IDENTITY;
                };
                let (Some(tpose), Some(_)) = (tpose_direction(bone), bone.main_child()) else {
                    return Quat::IDENTITY;
                };
                // Towards the next bone's joint, or any child joint if the source has none.
                let end = segment_end[i]
                    .or_else(|| skeleton.joints.iter().position(|j| j.parent == Some(i)));
                let rest_source = match (end, joint.tip) {
                    (Some(c), _) => rest_positions[c] - rest_positions[i],
                    (None, Some(tip)) => rest_globals[i] * tip,
                    (None, None) => return Quat::IDENTITY,
                };
                let rest = axes.direction(rest_source);
                if rest.length_squared() < 1e-12 {
                    return Quat::IDENTITY;
                }
                Quat::from_rotation_arc(tpose, rest.normalize())
            })
            .collect();
        let mapping = HumanoidBone::ALL
            .iter()
            .filter(|b| target.has_bone[b.index()])
            .filter_map(|bone| {
                let joint = skeleton.joint_of(*bone)?;
                let mut ancestor = bone.parent();
                let parent_joint = loop {
                    match ancestor {
                        None => break None,
                        Some(a) => match skeleton.joint_of(a) {
                            Some(j) if target.has_bone[a.index()] => break Some(j),
                            _ => ancestor = a.parent(),
                        },
                    }
                };
                Some((*bone, joint, parent_joint))
            })
            .collect();
        let hips_scale = skeleton
            .leg_length_m()
            .map_or(1.0, |source| target.leg_length_m / source);
        Ok(Retargeter {
            rest_inverse: rest_globals.iter().map(|q| q.inverse()).collect(),
            globals: vec![Quat::IDENTITY; skeleton.joints.len()],
            skeleton,
            drive,
            correction,
            mapping,
            hips_scale,
        })
    }

    pub fn skeleton(&self) -> &SourceSkeleton {
        &self.skeleton
    }

    /// Hips translation scale: the avatar's leg length over the source's.
    /// The hips' height in the source's rest pose, in the output's units (scaled like the
    /// hips' translation), metres.
    pub fn rest_hips_height_m(&self) -> Option<f32> {
        self.skeleton
            .rest_hips_height_m()
            .map(|h| h * self.hips_scale)
    }

    pub fn hips_scale(&self) -> f32 {
        self.hips_scale
    }

    /// Writes the humanoid pose for the joints' current local rotations (source axes, one per
    /// joint, `None` where the source sent nothing: rest) and the hips joint's position (source
    /// units, relative to the root) into `frame`.
    pub fn retarget(
        &mut self,
        locals: &[Option<Quat>],
        hips_position: Option<Vec3>,
        frame: &mut PoseFrame,
    ) {
        let axes = self.skeleton.axes;
        for (i, joint) in self.skeleton.joints.iter().enumerate() {
            let local = locals
                .get(i)
                .copied()
                .flatten()
                .unwrap_or(joint.rest_rotation);
            let parent = joint.parent.map_or(Quat::IDENTITY, |p| self.globals[p]);
            self.globals[i] = (parent * local).normalize();
        }
        let world = |j: usize| {
            let e = self.drive[j];
            axes.rotation(self.globals[e] * self.rest_inverse[e]) * self.correction[j]
        };
        let sent = |j: usize| locals.get(j).copied().flatten().is_some();
        for &(bone, joint, parent) in &self.mapping {
            if parent.is_some() && !self.segment_sent(joint, &sent) {
                continue; // the source did not send this joint: leave the bone absent
            }
            let local = match parent {
                Some(p) => world(p).inverse() * world(joint),
                None => world(joint),
            };
            frame.set_bone(bone, local.normalize());
        }
        if let Some(p) = hips_position {
            frame.hips_position = Some(axes.position(p) * self.hips_scale);
        }
    }

    /// Whether the source sent a rotation for `joint` or a joint folded into it.
    fn segment_sent(&self, joint: usize, sent: &impl Fn(usize) -> bool) -> bool {
        let mut j = self.drive[joint];
        loop {
            if sent(j) {
                return true;
            }
            match self.skeleton.joints[j].parent {
                Some(parent) if j != joint => j = parent,
                _ => return false,
            }
        }
    }
}

/// The joint where `bone`'s segment ends: the joint of the next bone along its chain that the
/// source drives, below `joint`. `None` at the end of a chain (head, toes, fingertips, a hand
/// without fingers).
fn segment_end(skeleton: &SourceSkeleton, joint: usize, bone: HumanoidBone) -> Option<usize> {
    let mut next = bone.main_child();
    while let Some(child) = next {
        if let Some(c) = skeleton.joint_of(child) {
            return is_descendant(skeleton, c, joint).then_some(c);
        }
        next = child.main_child();
    }
    None
}

fn is_descendant(skeleton: &SourceSkeleton, mut joint: usize, ancestor: usize) -> bool {
    while let Some(parent) = skeleton.joints[joint].parent {
        if parent == ancestor {
            return true;
        }
        joint = parent;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceJoint;
    use crate::axes::Axes;
    use kagura_protocol::{PerformerId, rotation_error_degrees};

    /// VMC's skeleton retargets to exactly the VMC decoder's conversion (round trip through
    /// Unity's convention).
    #[test]
    fn unity_humanoid_round_trips_through_vmc_convention() {
        let mut retargeter =
            Retargeter::new(SourceSkeleton::unity_humanoid(), &TargetBody::default()).unwrap();
        let internal: Vec<Quat> = (0..HumanoidBone::COUNT)
            .map(|i| Quat::from_euler(glam::EulerRot::YXZ, 0.1 * i as f32, -0.4, 0.3).normalize())
            .collect();
        let sent: Vec<Option<Quat>> = internal
            .iter()
            .map(|q| Some(Axes::UNITY.rotation_to_source(*q)))
            .collect();
        let mut frame = PoseFrame::new(PerformerId(0));
        retargeter.retarget(&sent, Some(Vec3::new(0.1, 0.9, 0.0)), &mut frame);
        for bone in HumanoidBone::ALL {
            let err = rotation_error_degrees(frame.bone(bone).unwrap(), internal[bone.index()]);
            assert!(err < 1e-3, "{bone}: {err}°");
        }
        let hips = frame.hips_position.unwrap();
        assert!(
            (hips.x + 0.1 * retargeter.hips_scale()).abs() < 1e-5,
            "x mirrored: {hips}"
        );
    }

    #[test]
    fn bones_the_avatar_lacks_fold_into_their_parents() {
        let mut target = TargetBody::default();
        target.has_bone[HumanoidBone::UpperChest.index()] = false;
        let mut retargeter = Retargeter::new(SourceSkeleton::unity_humanoid(), &target).unwrap();
        let mut sent = vec![Some(Quat::IDENTITY); HumanoidBone::COUNT];
        let bend = Quat::from_rotation_x(0.3);
        sent[HumanoidBone::UpperChest.index()] = Some(Axes::UNITY.rotation_to_source(bend));
        let mut frame = PoseFrame::new(PerformerId(0));
        retargeter.retarget(&sent, None, &mut frame);
        assert!(frame.bone(HumanoidBone::UpperChest).is_none());
        // The neck now carries the upper chest's bend, relative to the chest.
        assert!(rotation_error_degrees(frame.bone(HumanoidBone::Neck).unwrap(), bend) < 1e-3);
    }

    /// A bone is sent when its joint or a joint folded into it is; a bone none of whose joints
    /// were sent stays absent.
    #[test]
    fn a_bone_is_present_when_a_joint_folded_into_it_was_sent() {
        let joint =
            |name: &str, parent: Option<usize>, y: f32, bone: Option<HumanoidBone>| SourceJoint {
                name: name.into(),
                parent,
                offset: Vec3::new(0.0, y, 0.0),
                rest_rotation: Quat::IDENTITY,
                bone,
                duplicate_of: None,
                tip: None,
            };
        use HumanoidBone::*;
        let skeleton = SourceSkeleton {
            joints: vec![
                joint("Hips", None, 1.0, Some(Hips)),
                joint("Spine", Some(0), 0.1, Some(Spine)),
                joint("Neck", Some(1), 0.4, Some(Neck)),
                joint("Neck1", Some(2), 0.05, None),
                joint("Head", Some(3), 0.05, Some(Head)),
            ],
            axes: Axes::INTERNAL,
        };
        let mut retargeter = Retargeter::new(skeleton, &TargetBody::default()).unwrap();
        let bend = Quat::from_rotation_x(0.4);
        let mut frame = PoseFrame::new(PerformerId(0));
        retargeter.retarget(
            &[Some(Quat::IDENTITY), None, None, Some(bend), None],
            None,
            &mut frame,
        );
        assert!(frame.bone(Spine).is_none());
        assert!(rotation_error_degrees(frame.bone(Neck).unwrap(), bend) < 1e-3);
        assert!(frame.bone(Head).is_none());
    }
}
