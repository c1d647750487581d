//! BVH (Biovision Hierarchy): the skeleton from the header, and frames from the motion lines,
//! as Perception Neuron / Axis, Rokoko, Mixamo and mocap libraries write them.
//!
//! The parser is total: any text gives a [`Bvh`] or a [`BvhError`], with joints, nesting and
//! channels bounded. Rotation channels compose in the order listed (`Zrotation Xrotation
//! Yrotation` is Rz·Rx·Ry), degrees; positions are in the file's units. The rest pose is the
//! OFFSETs with every rotation zero — often not a T-pose, which the retargeter corrects.

use glam::{Quat, Vec3};
use kagura_protocol::HumanoidBone;

use super::axes::Axes;
use super::skeleton::{SourceJoint, SourceSkeleton};

/// Most joints accepted (the largest common rigs have ~70).
pub const MAX_JOINTS: usize = 512;
/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Xposition,
    Yposition,
    Zposition,
    Xrotation,
    Yrotation,
    Zrotation,
}

/// Why text is not BVH.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BvhError {
    #[error("BVH: expected {expected} but found {found:?}")]
    Unexpected {
        expected: &'static str,
        found: String,
    },
    #[error("BVH: more than {MAX_JOINTS} joints")]
    TooManyJoints,
    #[error("BVH: nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("BVH: {0:?} is not a finite number")]
    BadNumber(String),
    #[error("BVH: unknown channel {0:?}")]
    BadChannel(String),
    #[error("BVH: frame has {found} values, the header declares {expected} channels")]
    WrongValueCount { expected: usize, found: usize },
    #[error("BVH: {0}")]
    Skeleton(String),
}

/// A parsed BVH header (and the motion's frame time if present).
#[derive(Clone, Debug)]
pub struct Bvh {
    pub skeleton: SourceSkeleton,
    /// Per joint, its channels in file order.
    pub channels: Vec<Vec<Channel>>,
    pub frame_time_s: Option<f32>,
    /// The motion lines' text, one frame each (may be empty).
    pub motion: Vec<String>,
}

/// One frame of a BVH motion: local rotations per joint (source axes) and the root's position.
#[derive(Clone, Debug, PartialEq)]
pub struct BvhFrame {
    pub locals: Vec<Option<Quat>>,
    pub root_position: Option<Vec3>,
}

struct Tokens<'a> {
    inner: std::str::SplitWhitespace<'a>,
}

impl<'a> Tokens<'a> {
    fn next(&mut self, expected: &'static str) -> Result<&'a str, BvhError> {
        self.inner.next().ok_or(BvhError::Unexpected {
            expected,
            found: "end of file".into(),
        })
    }
    fn expect(&mut self, word: &'static str) -> Result<(), BvhError> {
        let found = self.next(word)?;
        if found.eq_ignore_ascii_case(word) {
            Ok(())
        } else {
            Err(BvhError::Unexpected {
                expected: word,
                found: found.into(),
            })
        }
    }
    fn number(&mut self) -> Result<f32, BvhError> {
        number(self.next("a number")?)
    }
}

fn number(token: &str) -> Result<f32, BvhError> {
    token
        .parse::<f32>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| BvhError::BadNumber(token.into()))
}

/// Parses a BVH file's text. Joint names map to humanoid bones with [`humanoid_bone_for`].
pub fn parse_bvh(text: &str, axes: Axes) -> Result<Bvh, BvhError> {
    let (header, motion) = match text.find("MOTION") {
        Some(at) => (&text[..at], Some(&text[at + "MOTION".len()..])),
        None => (text, None),
    };
    let mut tokens = Tokens {
        inner: header.split_whitespace(),
    };
    tokens.expect("HIERARCHY")?;
    let mut joints: Vec<SourceJoint> = Vec::new();
    let mut channels: Vec<Vec<Channel>> = Vec::new();
    // The open joints (None for an End Site), innermost last.
    let mut open: Vec<Option<usize>> = Vec::new();
    let mut keyword = tokens.next("ROOT")?;
    loop {
        if keyword.eq_ignore_ascii_case("ROOT") || keyword.eq_ignore_ascii_case("JOINT") {
            if keyword.eq_ignore_ascii_case("ROOT") != open.is_empty() {
                return Err(BvhError::Unexpected {
                    expected: "one ROOT enclosing every JOINT",
                    found: keyword.into(),
                });
            }
            let name = tokens.next("a joint name")?;
            if joints.len() >= MAX_JOINTS {
                return Err(BvhError::TooManyJoints);
            }
            tokens.expect("{")?;
            tokens.expect("OFFSET")?;
            let offset = Vec3::new(tokens.number()?, tokens.number()?, tokens.number()?);
            tokens.expect("CHANNELS")?;
            let count = tokens.number()?;
            if !(0.0..=6.0).contains(&count) || count.fract() != 0.0 {
                return Err(BvhError::BadNumber(format!("{count} channels")));
            }
            let mut kinds = Vec::with_capacity(count as usize);
            for _ in 0..count as usize {
                kinds.push(channel(tokens.next("a channel")?)?);
            }
            let parent = open.iter().rev().find_map(|j| *j);
            joints.push(SourceJoint {
                name: name.into(),
                parent,
                offset,
                rest_rotation: Quat::IDENTITY,
                bone: humanoid_bone_for(name),
                tip: None,
            });
            channels.push(kinds);
            open.push(Some(joints.len() - 1));
        } else if keyword.eq_ignore_ascii_case("End") {
            tokens.expect("Site")?;
            tokens.expect("{")?;
            tokens.expect("OFFSET")?;
            let tip = Vec3::new(tokens.number()?, tokens.number()?, tokens.number()?);
            if let Some(Some(leaf)) = open.last() {
                joints[*leaf].tip.get_or_insert(tip);
            }
            open.push(None);
        } else if keyword == "}" {
            if open.pop().is_none() {
                return Err(BvhError::Unexpected {
                    expected: "a joint to close",
                    found: "}".into(),
                });
            }
        } else {
            return Err(BvhError::Unexpected {
                expected: "JOINT, End Site or }",
                found: keyword.into(),
            });
        }
        if open.len() > MAX_DEPTH {
            return Err(BvhError::TooDeep);
        }
        match tokens.inner.next() {
            Some(next) => keyword = next,
            None if open.is_empty() && !joints.is_empty() => break,
            None => {
                return Err(BvhError::Unexpected {
                    expected: "}",
                    found: "end of header".into(),
                });
            }
        }
        if open.is_empty() {
            return Err(BvhError::Unexpected {
                expected: "MOTION after the ROOT",
                found: keyword.into(),
            });
        }
    }
    // Keep the first joint for each bone; a duplicate name folds into its parent.
    for i in 0..joints.len() {
        if let Some(bone) = joints[i].bone
            && joints[..i].iter().any(|j| j.bone == Some(bone))
        {
            joints[i].bone = None;
        }
    }
    let skeleton = SourceSkeleton { joints, axes };
    skeleton.validate().map_err(BvhError::Skeleton)?;

    let (mut frame_time_s, mut lines) = (None, Vec::new());
    if let Some(motion) = motion {
        for line in motion.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("Frame Time:") {
                frame_time_s = Some(number(rest.trim())?);
            } else if !line.starts_with("Frames:") {
                lines.push(line.to_string());
            }
        }
    }
    Ok(Bvh {
        skeleton,
        channels,
        frame_time_s,
        motion: lines,
    })
}

fn channel(name: &str) -> Result<Channel, BvhError> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "xposition" => Channel::Xposition,
        "yposition" => Channel::Yposition,
        "zposition" => Channel::Zposition,
        "xrotation" => Channel::Xrotation,
        "yrotation" => Channel::Yrotation,
        "zrotation" => Channel::Zrotation,
        _ => return Err(BvhError::BadChannel(name.into())),
    })
}

impl Bvh {
    /// Number of values a motion line must hold.
    pub fn channel_count(&self) -> usize {
        self.channels.iter().map(Vec::len).sum()
    }

    /// Reads one motion line.
    pub fn frame(&self, line: &str) -> Result<BvhFrame, BvhError> {
        let values: Vec<f32> = line
            .split_whitespace()
            .take(self.channel_count() + 1)
            .map(number)
            .collect::<Result<_, _>>()?;
        if values.len() != self.channel_count() {
            return Err(BvhError::WrongValueCount {
                expected: self.channel_count(),
                found: values.len(),
            });
        }
        let mut values = values.into_iter();
        let mut frame = BvhFrame {
            locals: Vec::with_capacity(self.channels.len()),
            root_position: None,
        };
        for (joint, kinds) in self.channels.iter().enumerate() {
            let mut rotation = Quat::IDENTITY;
            let mut position = self.skeleton.joints[joint].offset;
            let mut has_rotation = false;
            for kind in kinds {
                let v = values.next().unwrap_or(0.0);
                match kind {
                    Channel::Xposition => position.x = v,
                    Channel::Yposition => position.y = v,
                    Channel::Zposition => position.z = v,
                    Channel::Xrotation => rotation *= Quat::from_rotation_x(v.to_radians()),
                    Channel::Yrotation => rotation *= Quat::from_rotation_y(v.to_radians()),
                    Channel::Zrotation => rotation *= Quat::from_rotation_z(v.to_radians()),
                }
                has_rotation |= matches!(
                    kind,
                    Channel::Xrotation | Channel::Yrotation | Channel::Zrotation
                );
            }
            frame
                .locals
                .push(has_rotation.then_some(rotation.normalize()));
            if joint == 0 {
                frame.root_position = Some(position);
            }
        }
        Ok(frame)
    }
}

/// The humanoid bone a BVH joint name stands for: Perception Neuron / Axis names (`Spine1`,
/// `LeftUpLeg`, `LeftHandThumb1`), Mixamo's (`mixamorig:LeftArm`), and the older mocap
/// libraries' (`lShldr`, `lThigh`). Case is ignored; a namespace before `:` is dropped. Joints
/// with no humanoid bone (`Spine3`, `Neck1`, `LeftInHandIndex`) fold into their parents.
pub fn humanoid_bone_for(name: &str) -> Option<HumanoidBone> {
    use HumanoidBone::*;
    let name = name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase();
    let central = match name.as_str() {
        "hips" | "pelvis" | "hip" => Some(Hips),
        "spine" | "abdomen" | "spine_01" => Some(Spine),
        "spine1" | "chest" | "spine_02" => Some(Chest),
        "spine2" | "upperchest" | "chest2" | "spine_03" => Some(UpperChest),
        "neck" | "neck_01" => Some(Neck),
        "head" => Some(Head),
        "jaw" => Some(Jaw),
        _ => None,
    };
    if central.is_some() {
        return central;
    }
    // Sided names: "left…"/"right…" or the short "l…"/"r…" of the mocap libraries.
    let (left, rest) = if let Some(rest) = name.strip_prefix("left") {
        (true, rest)
    } else if let Some(rest) = name.strip_prefix("right") {
        (false, rest)
    } else if let Some(rest) = name.strip_prefix('l') {
        (true, rest)
    } else if let Some(rest) = name.strip_prefix('r') {
        (false, rest)
    } else {
        return None;
    };
    let rest = rest.trim_start_matches('_');
    let pick = |l: HumanoidBone, r: HumanoidBone| Some(if left { l } else { r });
    match rest {
        "shoulder" | "collar" | "clavicle" => pick(LeftShoulder, RightShoulder),
        "arm" | "uparm" | "upperarm" | "shldr" => pick(LeftUpperArm, RightUpperArm),
        "forearm" | "lowarm" | "lowerarm" => pick(LeftLowerArm, RightLowerArm),
        "hand" => pick(LeftHand, RightHand),
        "upleg" | "thigh" | "upperleg" => pick(LeftUpperLeg, RightUpperLeg),
        "leg" | "shin" | "lowerleg" | "lowleg" => pick(LeftLowerLeg, RightLowerLeg),
        "foot" => pick(LeftFoot, RightFoot),
        "toebase" | "toe" | "toes" => pick(LeftToes, RightToes),
        "eye" => pick(LeftEye, RightEye),
        _ => finger(rest.strip_prefix("hand").unwrap_or(rest), left),
    }
}

/// `thumb1`…`pinky3` after the side and "Hand".
fn finger(rest: &str, left: bool) -> Option<HumanoidBone> {
    let digit = rest.chars().last()?.to_digit(10)?;
    let finger = &rest[..rest.len() - 1];
    let name = match (finger, digit) {
        ("thumb", 1) => "ThumbMetacarpal",
        ("thumb", 2) => "ThumbProximal",
        ("thumb", 3) => "ThumbDistal",
        ("index" | "middle" | "ring" | "pinky" | "little", 1..=3) => {
            let joint = ["Proximal", "Intermediate", "Distal"][digit as usize - 1];
            let finger = match finger {
                "index" => "Index",
                "middle" => "Middle",
                "ring" => "Ring",
                _ => "Little",
            };
            return HumanoidBone::from_vrm1_name(&format!(
                "{}{finger}{joint}",
                if left { "left" } else { "right" }
            ));
        }
        _ => return None,
    };
    HumanoidBone::from_vrm1_name(&format!("{}{name}", if left { "left" } else { "right" }))
}

#[cfg(test)]
mod tests;
