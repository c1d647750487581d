//! BVH (Biovision Hierarchy): the skeleton from the header, and frames from the motion lines,
//! as Perception Neuron / Axis, Rokoko, Mixamo, Biovision / Character Studio (CMU's
//! 3ds Max-friendly release) and mocap libraries write them.
//!
//! The parser is total: any text gives a [`Bvh`] or a [`BvhError`], with joints, nesting and
//! channels bounded. Rotation channels compose in the order listed (`Zrotation Xrotation
//! Yrotation` is Rz·Rx·Ry), degrees; positions are in the file's units. The rest pose is the
//! OFFSETs with every rotation zero — often not a T-pose, which the retargeter corrects.

use glam::{Quat, Vec3};
use kagura_protocol::HumanoidBone;

use kagura_skeleton::{Axes, SourceJoint, SourceSkeleton};

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

/// Parses a BVH file's text. Joint names map to humanoid bones with [`humanoid_bones_for`];
/// [`SourceSkeleton::mapping_report`] says what did not map.
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
                bone: None,
                duplicate_of: None,
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
    // The names, read together; the first joint for each bone drives it, a later one is
    // reported as a duplicate and folds like any unmapped joint.
    let names: Vec<&str> = joints.iter().map(|j| j.name.as_str()).collect();
    let bones = humanoid_bones_for(&names);
    for (i, bone) in bones.into_iter().enumerate() {
        match bone {
            Some(bone) if joints[..i].iter().any(|j| j.bone == Some(bone)) => {
                joints[i].duplicate_of = Some(bone);
            }
            _ => joints[i].bone = bone,
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

/// What a joint name says on its own. Most names stand for one bone; a few mean different bones
/// in different conventions, and the skeleton's other names settle them
/// ([`humanoid_bones_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Word {
    Bone(HumanoidBone),
    /// Character Studio's spine links, `Chest` (1) to `Chest7`, `Chest` nearest the hips.
    Chest(u8),
    /// `LeftShoulder`: the clavicle for Perception Neuron and Mixamo (followed by a `LeftArm`),
    /// the upper arm for Biovision (after a `LeftCollar`).
    Shoulder {
        left: bool,
    },
    /// `LeftHip`: the upper leg for Biovision, a pelvis joint where an upper leg (`LeftUpLeg`,
    /// `LeftThigh`) follows.
    Hip {
        left: bool,
    },
}

fn word(name: &str) -> Option<Word> {
    use HumanoidBone::*;
    let name = name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase();
    let central = match name.as_str() {
        "hips" | "pelvis" | "hip" => Some(Hips),
        "spine" | "abdomen" | "spine_01" => Some(Spine),
        "spine1" | "spine_02" => Some(Chest),
        "spine2" | "upperchest" | "spine_03" => Some(UpperChest),
        "neck" | "neck_01" => Some(Neck),
        "head" => Some(Head),
        "jaw" => Some(Jaw),
        "chest" => return Some(Word::Chest(1)),
        _ => None,
    };
    if let Some(bone) = central {
        return Some(Word::Bone(bone));
    }
    if let Some(link) = name.strip_prefix("chest") {
        return match link.as_bytes() {
            [n @ b'2'..=b'7'] => Some(Word::Chest(n - b'0')),
            _ => None,
        };
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
    let pick = |l: HumanoidBone, r: HumanoidBone| Some(Word::Bone(if left { l } else { r }));
    match rest {
        "shoulder" => Some(Word::Shoulder { left }),
        "hip" => Some(Word::Hip { left }),
        "collar" | "clavicle" => pick(LeftShoulder, RightShoulder),
        "arm" | "uparm" | "upperarm" | "shldr" => pick(LeftUpperArm, RightUpperArm),
        "forearm" | "lowarm" | "lowerarm" | "elbow" => pick(LeftLowerArm, RightLowerArm),
        "hand" | "wrist" => pick(LeftHand, RightHand),
        "upleg" | "thigh" | "upperleg" => pick(LeftUpperLeg, RightUpperLeg),
        "leg" | "shin" | "lowerleg" | "lowleg" | "knee" => pick(LeftLowerLeg, RightLowerLeg),
        "foot" | "ankle" => pick(LeftFoot, RightFoot),
        "toebase" | "toe" | "toes" => pick(LeftToes, RightToes),
        "eye" => pick(LeftEye, RightEye),
        _ => finger(rest.strip_prefix("hand").unwrap_or(rest), left).map(Word::Bone),
    }
}

/// The humanoid bone a joint name stands for on its own, as Perception Neuron / Axis (`Spine1`,
/// `LeftUpLeg`, `LeftHandThumb1`), Mixamo (`mixamorig:LeftArm`), the older mocap libraries
/// (`lShldr`, `lThigh`) and Biovision / Character Studio (`LeftHip`, `LeftElbow`, `Chest2`)
/// name joints. Case is ignored; a namespace before `:` is dropped. Where the conventions
/// disagree, this reads the name the Neuron/Mixamo way (`LeftShoulder` is the clavicle, `Chest`
/// the chest); [`humanoid_bones_for`] settles such names by the rest of the skeleton.
pub fn humanoid_bone_for(name: &str) -> Option<HumanoidBone> {
    use HumanoidBone::*;
    match word(name)? {
        Word::Bone(bone) => Some(bone),
        Word::Chest(1) => Some(Chest),
        Word::Chest(2) => Some(UpperChest),
        Word::Chest(_) => None,
        Word::Shoulder { left } => Some(if left { LeftShoulder } else { RightShoulder }),
        Word::Hip { left } => Some(if left { LeftUpperLeg } else { RightUpperLeg }),
    }
}

/// The humanoid bone each joint of one skeleton stands for, by name, deciding the names the
/// conventions disagree on by which other names the skeleton has:
///
/// - `LeftShoulder` is the upper arm beside a `LeftCollar` (Biovision: collar, shoulder, elbow,
///   wrist), the clavicle beside an upper arm (`LeftArm`, `LeftUpperArm`: Neuron, Mixamo), and
///   the upper arm when neither is there (shoulder, elbow, wrist).
/// - `LeftHip` is the upper leg, unless an upper leg (`LeftUpLeg`, `LeftThigh`) is there too.
/// - `Chest`, `Chest2`…`Chest7` (Character Studio's spine links, from the hips up) are spine,
///   chest and, the last of three or more, upperChest when no joint is named as the spine
///   (`Spine`, `abdomen`); otherwise `Chest` is the chest and `Chest2` the upper chest.
///
/// Joints with no humanoid bone (`Spine3`, `Neck1`, `LowerBack`, `LHipJoint`, `Chest3` of
/// four) map to `None`. Two joints can still stand for one bone (`LeftWrist` above a
/// `LeftHand`); [`parse_bvh`] keeps the first and reports the other
/// ([`SourceJoint::duplicate_of`]).
pub fn humanoid_bones_for(names: &[&str]) -> Vec<Option<HumanoidBone>> {
    use HumanoidBone::*;
    let words: Vec<Option<Word>> = names.iter().map(|name| word(name)).collect();
    let has = |bone: HumanoidBone| words.contains(&Some(Word::Bone(bone)));
    let has_spine = has(Spine);
    let top_chest = words
        .iter()
        .filter_map(|w| match w {
            Some(Word::Chest(n)) => Some(*n),
            _ => None,
        })
        .max();
    let side = |left: bool, l: HumanoidBone, r: HumanoidBone| if left { l } else { r };
    words
        .iter()
        .map(|w| match (*w)? {
            Word::Bone(bone) => Some(bone),
            Word::Chest(n) if has_spine => match n {
                1 => Some(Chest),
                2 => Some(UpperChest),
                _ => None,
            },
            Word::Chest(n) => match n {
                1 => Some(Spine),
                2 => Some(Chest),
                n if Some(n) == top_chest => Some(UpperChest),
                _ => None,
            },
            Word::Shoulder { left } => {
                let collar = has(side(left, LeftShoulder, RightShoulder));
                let upper_arm = has(side(left, LeftUpperArm, RightUpperArm));
                Some(if collar || !upper_arm {
                    side(left, LeftUpperArm, RightUpperArm)
                } else {
                    side(left, LeftShoulder, RightShoulder)
                })
            }
            Word::Hip { left } => {
                let upper_leg = side(left, LeftUpperLeg, RightUpperLeg);
                (!has(upper_leg)).then_some(upper_leg)
            }
        })
        .collect()
}

/// `thumb1`…`pinky3` (Neuron, Mixamo; Daz's `mid1`) after the side and "Hand", or Character
/// Studio's `Finger0`…`Finger42` (finger 0 the thumb, then link 0, 1, 2 as `Finger1`,
/// `Finger11`, `Finger12`).
fn finger(rest: &str, left: bool) -> Option<HumanoidBone> {
    let side = if left { "left" } else { "right" };
    if let Some(digits) = rest.strip_prefix("finger") {
        let (finger, link) = match digits.as_bytes() {
            [f @ b'0'..=b'4'] => (f - b'0', 0),
            [f @ b'0'..=b'4', l @ b'1'..=b'2'] => (f - b'0', l - b'0'),
            _ => return None,
        };
        let joint = if finger == 0 {
            ["ThumbMetacarpal", "ThumbProximal", "ThumbDistal"][link as usize].to_string()
        } else {
            let name = ["Index", "Middle", "Ring", "Little"][finger as usize - 1];
            format!(
                "{name}{}",
                ["Proximal", "Intermediate", "Distal"][link as usize]
            )
        };
        return HumanoidBone::from_vrm1_name(&format!("{side}{joint}"));
    }
    let digit = rest.chars().last()?.to_digit(10)?;
    let finger = &rest[..rest.len() - 1];
    let name = match (finger, digit) {
        ("thumb", 1) => "ThumbMetacarpal",
        ("thumb", 2) => "ThumbProximal",
        ("thumb", 3) => "ThumbDistal",
        ("index" | "middle" | "mid" | "ring" | "pinky" | "little", 1..=3) => {
            let joint = ["Proximal", "Intermediate", "Distal"][digit as usize - 1];
            let finger = match finger {
                "index" => "Index",
                "middle" | "mid" => "Middle",
                "ring" => "Ring",
                _ => "Little",
            };
            return HumanoidBone::from_vrm1_name(&format!("{side}{finger}{joint}"));
        }
        _ => return None,
    };
    HumanoidBone::from_vrm1_name(&format!("{side}{name}"))
}

#[cfg(test)]
mod tests;
