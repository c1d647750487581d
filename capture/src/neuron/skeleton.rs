//! The skeletons Axis broadcasts, as data, and the order of the values in each frame.
//!
//! The stream carries no joint names: a frame is the values of a BVH motion line of the
//! avatar's skeleton. Axis Neuron and Axis Studio both use 59 joints but name and order them
//! differently (Neuron: `Spine3, Neck, Head`, shoulders on `Spine3`; Studio: `Neck, Neck1, Head`,
//! shoulders on `Spine2`), so the skeleton is chosen per source, or read from a `.bvh` header
//! the user exports from Axis.
//!
//! Rest offsets (centimetres, a T-pose facing +Z, the left side on +X) are those of the vendors'
//! own BVH exports: Axis Neuron's from the recording in `Cyx69/bvhsend@330bd33:test.bvh` (an
//! Axis Neuron export, 59 joints, 354 channels), Axis Studio's from
//! `RomanSentsov/unitree-g1-axis-studio-retarget@c4d47fc:recs/bvh_recs/BHV_example_Misha_chr01.bvh`
//! (an Axis Studio export; the same numbers as Studio's `basic_hierarchy.bvh` that a public
//! Axis Studio receiver quotes). Both files are symmetric left/right to the last digit, so each
//! side is written once here and mirrored. The performer's real proportions differ; only the
//! hips' translation depends on them (scaled to the avatar's leg by the retargeter).
//!
//! Channels: every joint's rotation is `Yrotation Xrotation Zrotation` in both exports and in
//! every public receiver (Axis' "Rotation: YXZ" output setting). With displacement each joint
//! sends `Xposition Yposition Zposition` then its rotation (6 values); without, only the root
//! sends its position (3 + 3·joints values). With "Reference" on, 6 values (the reference
//! node's position and rotation) come first either way.

use std::fmt::Write as _;

use kagura_skeleton::SourceSkeleton;

use super::convention::{self, RotationOrder};
use crate::bvh::parser::{Bvh, Channel, parse_bvh};

/// Which skeleton a source's frames are laid out for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkeletonChoice {
    /// Axis Neuron's 59 joints (`…Spine2, Spine3, Neck, Head…`).
    AxisNeuron,
    /// Axis Studio's 59 joints (`…Spine2, Neck, Neck1, Head…`).
    AxisStudio,
    /// A BVH file's header (the user's own export from Axis), by path.
    File(std::path::PathBuf),
}

impl SkeletonChoice {
    /// `axis_neuron`, `axis_studio` or a path to a `.bvh` file.
    pub fn from_config(value: &str) -> SkeletonChoice {
        match value {
            "axis_neuron" => SkeletonChoice::AxisNeuron,
            "axis_studio" => SkeletonChoice::AxisStudio,
            path => SkeletonChoice::File(path.into()),
        }
    }
}

/// A broadcast skeleton: the retargeter's source skeleton and, per joint, its rotation order.
#[derive(Clone, Debug)]
pub struct BroadcastSkeleton {
    pub skeleton: SourceSkeleton,
    /// Per joint, in stream order (the BVH header's depth-first order).
    pub rotation_orders: Vec<RotationOrder>,
}

/// What a frame's value count says about its layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameShape {
    /// Every joint sends its position (else only the root).
    pub displacement: bool,
    /// Six values for the reference node come first.
    pub reference: bool,
}

impl BroadcastSkeleton {
    pub fn joint_count(&self) -> usize {
        self.rotation_orders.len()
    }

    /// How many values a frame of `shape` holds.
    pub fn value_count(&self, shape: FrameShape) -> usize {
        let joints = self.joint_count();
        let body = if shape.displacement {
            6 * joints
        } else {
            3 + 3 * joints
        };
        body + if shape.reference { 6 } else { 0 }
    }

    /// The shape a frame of `count` values has, if any. The four counts (6J, 6J+6, 3J+3,
    /// 3J+9) differ for every skeleton of 4 joints or more (checked when it is built).
    pub fn shape_of(&self, count: usize) -> Option<FrameShape> {
        [false, true]
            .into_iter()
            .flat_map(|displacement| {
                [false, true].map(|reference| FrameShape {
                    displacement,
                    reference,
                })
            })
            .find(|shape| self.value_count(*shape) == count)
    }

    /// From a parsed BVH header: names, hierarchy and offsets as written, each joint's rotation
    /// order from its rotation channels (exactly three).
    pub fn from_bvh(bvh: &Bvh) -> Result<BroadcastSkeleton, String> {
        let mut orders = Vec::with_capacity(bvh.channels.len());
        for (joint, channels) in bvh.skeleton.joints.iter().zip(&bvh.channels) {
            let axes: Vec<usize> = channels
                .iter()
                .filter_map(|c| match c {
                    Channel::Xrotation => Some(0),
                    Channel::Yrotation => Some(1),
                    Channel::Zrotation => Some(2),
                    _ => None,
                })
                .collect();
            let order = match axes.as_slice() {
                [a, b, c] => RotationOrder::from_axes([*a, *b, *c]),
                _ => None,
            };
            orders.push(order.ok_or_else(|| {
                format!(
                    "joint {:?} has no three distinct rotation channels; Axis sends three per joint",
                    joint.name
                )
            })?);
        }
        if orders.len() < 4 {
            return Err(format!(
                "{} joints: a broadcast skeleton needs at least 4",
                orders.len()
            ));
        }
        Ok(BroadcastSkeleton {
            skeleton: bvh.skeleton.clone(),
            rotation_orders: orders,
        })
    }

    /// Axis Neuron's skeleton.
    pub fn axis_neuron() -> BroadcastSkeleton {
        Self::from_table(&axis_neuron_joints())
    }

    /// Axis Studio's skeleton.
    pub fn axis_studio() -> BroadcastSkeleton {
        Self::from_table(&axis_studio_joints())
    }

    fn from_table(joints: &[JointDef]) -> BroadcastSkeleton {
        let text = bvh_header(joints);
        let bvh = parse_bvh(&text, convention::AXES).expect("the built-in skeletons are valid BVH");
        Self::from_bvh(&bvh).expect("the built-in skeletons have YXZ rotations")
    }
}

/// One joint of a built-in skeleton: name, parent (index into the table), offset and end site
/// (centimetres).
#[derive(Clone, Debug, PartialEq)]
pub struct JointDef {
    pub name: String,
    pub parent: Option<usize>,
    pub offset: [f32; 3],
    pub tip: Option<[f32; 3]>,
}

/// The table as BVH header text, every joint `CHANNELS 6 Xposition Yposition Zposition
/// Yrotation Xrotation Zrotation` as Axis exports it. Parents come before their children.
pub fn bvh_header(joints: &[JointDef]) -> String {
    fn write_joint(out: &mut String, joints: &[JointDef], i: usize, depth: usize) {
        let pad = "  ".repeat(depth);
        let joint = &joints[i];
        let keyword = if joint.parent.is_none() {
            "ROOT"
        } else {
            "JOINT"
        };
        let [x, y, z] = joint.offset;
        let _ = writeln!(out, "{pad}{keyword} {}\n{pad}{{", joint.name);
        let _ = writeln!(out, "{pad}  OFFSET {x} {y} {z}");
        let _ = writeln!(
            out,
            "{pad}  CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation"
        );
        for child in (0..joints.len()).filter(|c| joints[*c].parent == Some(i)) {
            write_joint(out, joints, child, depth + 1);
        }
        if let Some([x, y, z]) = joint.tip {
            let _ = writeln!(
                out,
                "{pad}  End Site\n{pad}  {{\n{pad}    OFFSET {x} {y} {z}\n{pad}  }}"
            );
        }
        let _ = writeln!(out, "{pad}}}");
    }
    let mut out = String::from("HIERARCHY\n");
    if !joints.is_empty() {
        write_joint(&mut out, joints, 0, 0);
    }
    out
}

struct Table(Vec<JointDef>);

impl Table {
    fn add(&mut self, name: &str, parent: Option<usize>, offset: [f32; 3]) -> usize {
        self.0.push(JointDef {
            name: name.into(),
            parent,
            offset,
            tip: None,
        });
        self.0.len() - 1
    }
    fn tip(&mut self, joint: usize, tip: [f32; 3]) {
        self.0[joint].tip = Some(tip);
    }
}

/// Offsets of one side, written for the left (+X) and mirrored for the right.
struct Proportions {
    hips: [f32; 3],
    up_leg: [f32; 3],
    leg: [f32; 3],
    foot: [f32; 3],
    toe_tip: [f32; 3],
    /// Spine joints from the hips up, the last being the head, and the head's end site.
    spine: &'static [(&'static str, [f32; 3])],
    head_tip: [f32; 3],
    /// The spine joint (index into `spine`) the shoulders hang from.
    shoulder_parent: usize,
    shoulder: [f32; 3],
    arm: [f32; 3],
    fore_arm: [f32; 3],
    hand: [f32; 3],
    /// Per finger (thumb, index, middle, ring, pinky): the `InHand…` joint (none for the
    /// thumb), the three links and the end site.
    fingers: [FingerDef; 5],
}

struct FingerDef {
    in_hand: Option<[f32; 3]>,
    links: [[f32; 3]; 3],
    tip: [f32; 3],
}

const FINGERS: [&str; 5] = ["Thumb", "Index", "Middle", "Ring", "Pinky"];

fn mirror([x, y, z]: [f32; 3]) -> [f32; 3] {
    [-x, y, z]
}

fn table(p: &Proportions) -> Vec<JointDef> {
    let mut t = Table(Vec::with_capacity(59));
    let hips = t.add("Hips", None, p.hips);
    for side in ["Right", "Left"] {
        let m = |v: [f32; 3]| if side == "Right" { mirror(v) } else { v };
        let up = t.add(&format!("{side}UpLeg"), Some(hips), m(p.up_leg));
        let leg = t.add(&format!("{side}Leg"), Some(up), m(p.leg));
        let foot = t.add(&format!("{side}Foot"), Some(leg), m(p.foot));
        t.tip(foot, m(p.toe_tip));
    }
    let mut parent = hips;
    let mut spine = Vec::new();
    for (name, offset) in p.spine {
        parent = t.add(name, Some(parent), *offset);
        spine.push(parent);
    }
    t.tip(parent, p.head_tip);
    for side in ["Right", "Left"] {
        let m = |v: [f32; 3]| if side == "Right" { mirror(v) } else { v };
        let shoulder = t.add(
            &format!("{side}Shoulder"),
            Some(spine[p.shoulder_parent]),
            m(p.shoulder),
        );
        let arm = t.add(&format!("{side}Arm"), Some(shoulder), m(p.arm));
        let fore_arm = t.add(&format!("{side}ForeArm"), Some(arm), m(p.fore_arm));
        let hand = t.add(&format!("{side}Hand"), Some(fore_arm), m(p.hand));
        for (finger, def) in FINGERS.iter().zip(&p.fingers) {
            let mut parent = hand;
            if let Some(in_hand) = def.in_hand {
                parent = t.add(&format!("{side}InHand{finger}"), Some(parent), m(in_hand));
            }
            for (link, offset) in def.links.iter().enumerate() {
                parent = t.add(
                    &format!("{side}Hand{finger}{}", link + 1),
                    Some(parent),
                    m(*offset),
                );
            }
            t.tip(parent, m(def.tip));
        }
    }
    t.0
}

/// Axis Neuron's joints, from its BVH export (see the module documentation).
pub fn axis_neuron_joints() -> Vec<JointDef> {
    table(&Proportions {
        hips: [0.0, 95.32, 0.0],
        up_leg: [9.625, -1.23, 0.0],
        leg: [0.0, -43.12, 0.0],
        foot: [0.0, -43.12, 0.0],
        toe_tip: [0.0, -7.85, 17.85],
        spine: &[
            ("Spine", [0.0, 12.296, 0.0]),
            ("Spine1", [0.0, 10.023, 0.0]),
            ("Spine2", [0.0, 10.437, 0.0]),
            ("Spine3", [0.0, 10.023, 0.0]),
            ("Neck", [0.0, 10.713, 0.0]),
            ("Head", [0.0, 9.72, 0.0]),
        ],
        head_tip: [0.0, 16.45, 0.0],
        shoulder_parent: 3,
        shoulder: [3.275, 7.142, 0.0],
        arm: [16.375, 0.0, 0.0],
        fore_arm: [27.25, 0.0, 0.0],
        hand: [26.75, 0.0, 0.0],
        fingers: [
            FingerDef {
                in_hand: None,
                links: [
                    [2.561, 0.196, 3.21],
                    [2.602, -0.611, 2.685],
                    [2.014, -0.766, 1.51],
                ],
                tip: [1.364, -0.682, 1.364],
            },
            FingerDef {
                in_hand: Some([3.316, 0.523, 2.035]),
                links: [
                    [5.37, -0.094, 1.028],
                    [3.714, -0.181, 0.189],
                    [2.105, -0.131, -0.078],
                ],
                tip: [1.728, 0.0, 0.0],
            },
            FingerDef {
                in_hand: Some([3.48, 0.532, 0.779]),
                links: [
                    [5.322, -0.086, 0.323],
                    [4.049, -0.276, -0.19],
                    [2.528, -0.196, -0.228],
                ],
                tip: [1.728, 0.0, 0.0],
            },
            FingerDef {
                in_hand: Some([3.461, 0.557, -0.133]),
                links: [
                    [4.737, -0.023, -0.494],
                    [3.46, -0.271, -0.703],
                    [2.414, -0.177, -0.418],
                ],
                tip: [1.637, 0.0, 0.0],
            },
            FingerDef {
                in_hand: Some([3.252, 0.483, -1.236]),
                links: [
                    [4.258, -0.023, -1.114],
                    [2.699, -0.155, -0.856],
                    [1.673, -0.135, -0.628],
                ],
                tip: [1.273, 0.0, 0.0],
            },
        ],
    })
}

/// Axis Studio's joints, from its BVH export (see the module documentation).
pub fn axis_studio_joints() -> Vec<JointDef> {
    table(&Proportions {
        hips: [0.0, 97.12, 0.0],
        up_leg: [11.0, 0.0, 0.0],
        leg: [0.0, -45.062, 0.0],
        foot: [0.0, -42.058, 0.0],
        toe_tip: [0.0, -10.0, 15.12],
        spine: &[
            ("Spine", [0.0, 8.12, 0.0]),
            ("Spine1", [0.0, 17.98, 0.0]),
            ("Spine2", [0.0, 12.76, 0.0]),
            ("Neck", [0.0, 19.14, 0.0]),
            ("Neck1", [0.0, 4.25, 0.0]),
            ("Head", [0.0, 4.25, 0.0]),
        ],
        head_tip: [0.0, 19.12, 0.0],
        shoulder_parent: 2,
        shoulder: [2.9, 13.34, 0.0],
        arm: [16.1, 0.0, 0.0],
        fore_arm: [28.0, 0.0, 0.0],
        hand: [26.0, 0.0, 0.0],
        fingers: [
            FingerDef {
                in_hand: None,
                links: [[1.937, -0.484, 2.518], [3.872, 0.0, 0.0], [2.69, 0.0, 0.0]],
                tip: [2.537, 0.0, 0.0],
            },
            FingerDef {
                in_hand: Some([3.389, 0.535, 2.08]),
                links: [[5.485, -0.096, 1.051], [3.806, 0.0, 0.0], [2.158, 0.0, 0.0]],
                tip: [1.898, 0.0, 0.0],
            },
            FingerDef {
                in_hand: Some([3.556, 0.544, 0.796]),
                links: [[5.441, -0.088, 0.33], [4.153, 0.0, 0.0], [2.603, 0.0, 0.0]],
                tip: [2.076, 0.0, 0.0],
            },
            FingerDef {
                in_hand: Some([3.539, 0.566, -0.136]),
                links: [
                    [4.873, -0.023, -0.504],
                    [3.619, 0.0, 0.0],
                    [2.511, 0.0, 0.0],
                ],
                tip: [1.952, 0.0, 0.0],
            },
            FingerDef {
                in_hand: Some([3.324, 0.494, -1.264]),
                links: [
                    [4.354, -0.023, -1.147],
                    [2.898, 0.0, 0.0],
                    [1.831, 0.0, 0.0],
                ],
                tip: [1.73, 0.0, 0.0],
            },
        ],
    })
}
