//! Kagura's bundled avatar: a stylised mannequin written as a VRM 1.0 file by code, so that a
//! newcomer sees the demo performer with no asset to download and the tests have an avatar whose
//! every bone and expression is known.
//!
//! The file is glTF 2.0 binary (GLB) with the `VRMC_vrm` 1.0 extension: all 55 humanoid bones
//! (a T-pose with no local rotations, facing +Z, metres), one skin, a body mesh of boxes each
//! following one bone, and a face mesh with morph targets for the VRM 1.0 expression presets.
//! The same mannequin can be written as VRM 0.x ([`VrmVersion::V0`]: the `VRM` extension, VRM 0.x
//! bone and blendshape names, facing −Z), so that renderers' handling of both versions can be
//! checked against each other.

mod glb;
mod mesh;
mod skeleton;

use glam::{Mat4, Vec3};
use kagura_protocol::{Expression, HumanoidBone};
use serde_json::{Value, json};

pub use glb::parse_glb;
pub use skeleton::joint_position;

use glb::{ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, GlbBuilder};
use mesh::{Mesh, MorphTarget, Part};

/// The expressions the mannequin has, in morph-target order: every VRM 1.0 preset but
/// `neutral` (which, by definition, moves nothing and is bound to no morph target).
pub const EXPRESSIONS: [Expression; 17] = [
    Expression::Aa,
    Expression::Ih,
    Expression::Ou,
    Expression::Ee,
    Expression::Oh,
    Expression::Blink,
    Expression::BlinkLeft,
    Expression::BlinkRight,
    Expression::Happy,
    Expression::Angry,
    Expression::Sad,
    Expression::Relaxed,
    Expression::Surprised,
    Expression::LookUp,
    Expression::LookDown,
    Expression::LookLeft,
    Expression::LookRight,
];

const SKIN: [f32; 4] = [0.96, 0.84, 0.74, 1.0];
const JACKET: [f32; 4] = [0.30, 0.50, 0.86, 1.0];
const TROUSERS: [f32; 4] = [0.20, 0.22, 0.32, 1.0];
const SHOES: [f32; 4] = [0.12, 0.12, 0.14, 1.0];
const HAIR: [f32; 4] = [0.20, 0.12, 0.10, 1.0];
const EYE_WHITE: [f32; 4] = [0.97, 0.97, 0.97, 1.0];
const PUPIL: [f32; 4] = [0.10, 0.08, 0.16, 1.0];
const MOUTH: [f32; 4] = [0.65, 0.18, 0.22, 1.0];

/// Node indices: bones first (node i is `HumanoidBone::ALL[i]`), then the two mesh nodes.
const BODY_NODE: usize = HumanoidBone::COUNT;
const FACE_NODE: usize = HumanoidBone::COUNT + 1;

/// Which VRM specification a file follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VrmVersion {
    /// VRM 0.x: extension `VRM`, the model faces −Z.
    V0,
    /// VRM 1.0: extension `VRMC_vrm`, the model faces +Z.
    V1,
}

/// The mannequin as VRM 1.0 GLB bytes. Deterministic: the same bytes every call.
pub fn mannequin_vrm() -> Vec<u8> {
    mannequin(VrmVersion::V1)
}

/// The mannequin as GLB bytes of the given VRM version.
pub fn mannequin(version: VrmVersion) -> Vec<u8> {
    build_mannequin(version, false, false)
}

/// The mannequin wearing a hat 0.6 m tall (as long hair or ears would reach above the head):
/// for testing that framing fits the whole avatar, not just its head bone.
pub fn mannequin_with_tall_hat(version: VrmVersion) -> Vec<u8> {
    build_mannequin(version, true, false)
}

/// The VRM 1.0 mannequin with perfect-sync expressions as well: ARKit's 52 as custom
/// expressions, spelt as Unity exports them (`EyeBlinkLeft`), each bound to the preset morph
/// target nearest in meaning (none for those the simple face cannot show).
pub fn mannequin_perfect_sync() -> Vec<u8> {
    build_mannequin(VrmVersion::V1, false, true)
}

/// The preset whose morph target a perfect-sync expression moves on the mannequin.
fn nearest_preset(arkit: Expression) -> Option<Expression> {
    use Expression as E;
    Some(match arkit {
        E::EyeBlinkLeft => E::BlinkLeft,
        E::EyeBlinkRight => E::BlinkRight,
        E::JawOpen => E::Aa,
        E::MouthPucker => E::Ou,
        E::MouthFunnel => E::Oh,
        E::MouthSmileLeft | E::MouthSmileRight => E::Happy,
        E::MouthFrownLeft | E::MouthFrownRight => E::Sad,
        E::BrowDownLeft | E::BrowDownRight => E::Angry,
        E::BrowInnerUp => E::Surprised,
        E::EyeLookUpLeft | E::EyeLookUpRight => E::LookUp,
        E::EyeLookDownLeft | E::EyeLookDownRight => E::LookDown,
        _ => return None,
    })
}

fn build_mannequin(version: VrmVersion, tall_hat: bool, perfect_sync: bool) -> Vec<u8> {
    // VRM 0.x models face −Z: the whole model turned 180° about +Y.
    let facing = match version {
        VrmVersion::V1 => Vec3::ONE,
        VrmVersion::V0 => Vec3::new(-1.0, 1.0, -1.0),
    };
    let mut glb = GlbBuilder::default();
    let body = body_mesh(tall_hat);
    let (face, morphs) = face_mesh();
    let body_primitive = primitive(&mut glb, &body, &[], facing);
    let face_primitive = primitive(&mut glb, &face, &morphs, facing);
    let inverse_binds: Vec<f32> = HumanoidBone::ALL
        .iter()
        .flat_map(|b| Mat4::from_translation(-joint_position(*b) * facing).to_cols_array())
        .collect();
    let inverse_binds = glb.floats(&inverse_binds, "MAT4", None, false);

    let mut nodes: Vec<Value> = HumanoidBone::ALL
        .iter()
        .map(|bone| {
            let parent_position = bone.parent().map(joint_position).unwrap_or(Vec3::ZERO);
            let children: Vec<usize> = HumanoidBone::ALL
                .iter()
                .filter(|c| c.parent() == Some(*bone))
                .map(|c| c.index())
                .collect();
            let name = match version {
                VrmVersion::V1 => bone.vrm1_name(),
                VrmVersion::V0 => bone.vrm0_name(),
            };
            let mut node = json!({
                "name": name,
                "translation": ((joint_position(*bone) - parent_position) * facing).to_array(),
            });
            if !children.is_empty() {
                node["children"] = json!(children);
            }
            node
        })
        .collect();
    nodes.push(json!({ "name": "Body", "mesh": 0, "skin": 0 }));
    nodes.push(json!({ "name": "Face", "mesh": 1, "skin": 0 }));

    let target_names: Vec<&str> = EXPRESSIONS.iter().map(|e| e.name()).collect();
    let (extension_name, extension) = match version {
        VrmVersion::V1 => ("VRMC_vrm", vrm1_extension(perfect_sync)),
        VrmVersion::V0 => ("VRM", vrm0_extension()),
    };
    let document = json!({
        "asset": { "version": "2.0", "generator": concat!("kagura-avatar ", env!("CARGO_PKG_VERSION")) },
        "extensionsUsed": [extension_name],
        "scene": 0,
        "scenes": [{ "name": "Kagura Mannequin", "nodes": [HumanoidBone::Hips.index(), BODY_NODE, FACE_NODE] }],
        "nodes": nodes,
        "skins": [{ "joints": (0..HumanoidBone::COUNT).collect::<Vec<_>>(), "inverseBindMatrices": inverse_binds, "skeleton": HumanoidBone::Hips.index() }],
        "meshes": [
            { "name": "Body", "primitives": [body_primitive] },
            {
                "name": "Face",
                "primitives": [face_primitive],
                "weights": vec![0.0; EXPRESSIONS.len()],
                "extras": { "targetNames": target_names },
            },
        ],
        "materials": [{
            "name": "Mannequin",
            "pbrMetallicRoughness": { "baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.85 },
        }],
        "extensions": { extension_name: extension },
    });
    glb.finish(document)
}

/// The `VRMC_vrm` extension: meta, humanoid (node i is bone i), expressions bound to the face
/// mesh's morph targets.
fn vrm1_extension(perfect_sync: bool) -> Value {
    let human_bones: serde_json::Map<String, Value> = HumanoidBone::ALL
        .iter()
        .map(|b| (b.vrm1_name().to_string(), json!({ "node": b.index() })))
        .collect();
    let mut presets: serde_json::Map<String, Value> = EXPRESSIONS
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                e.name().to_string(),
                json!({
                    "morphTargetBinds": [{ "node": FACE_NODE, "index": i, "weight": 1.0 }],
                    "isBinary": false,
                    "overrideBlink": "none",
                    "overrideLookAt": "none",
                    "overrideMouth": "none",
                }),
            )
        })
        .collect();
    presets.insert("neutral".into(), json!({ "isBinary": false }));
    let custom: serde_json::Map<String, Value> = Expression::ALL
        .into_iter()
        .filter(|e| perfect_sync && e.is_arkit())
        .map(|e| {
            let binds: Vec<Value> = nearest_preset(e)
                .and_then(|p| EXPRESSIONS.iter().position(|x| *x == p))
                .map(|i| json!({ "node": FACE_NODE, "index": i, "weight": 1.0 }))
                .into_iter()
                .collect();
            let mut name = e.name().to_string();
            name[..1].make_ascii_uppercase();
            (
                name,
                json!({ "morphTargetBinds": binds, "isBinary": false }),
            )
        })
        .collect();
    let mut expressions = json!({ "preset": presets });
    if perfect_sync {
        expressions["custom"] = Value::Object(custom);
    }
    json!({
        "specVersion": "1.0",
        "meta": {
            "name": "Kagura Mannequin",
            "version": env!("CARGO_PKG_VERSION"),
            "authors": ["Kagura"],
            "licenseUrl": "https://vrm.dev/licenses/1.0/",
            "avatarPermission": "everyone",
            "commercialUsage": "corporation",
            "creditNotation": "unnecessary",
            "allowRedistribution": true,
            "modification": "allowModificationRedistribution",
            "allowExcessivelyViolentUsage": false,
            "allowExcessivelySexualUsage": false,
            "allowPoliticalOrReligiousUsage": false,
            "allowAntisocialOrHateUsage": false,
        },
        "humanoid": { "humanBones": human_bones },
        "expressions": expressions,
    })
}

/// The VRM 0.x `VRM` extension: meta, humanoid (VRM 0.x bone names), blendshape groups (VRM 0.x
/// preset names; `surprised`, which VRM 0.x lacks, as a custom group of that name). No
/// `firstPerson`: without it no look-at drives the look expressions, which the pose sets.
fn vrm0_extension() -> Value {
    let human_bones: Vec<Value> = HumanoidBone::ALL
        .iter()
        .map(|b| json!({ "bone": b.vrm0_name(), "node": b.index(), "useDefaultValues": true }))
        .collect();
    let mut groups: Vec<Value> = EXPRESSIONS
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (name, preset) = match e.vrm0_name() {
                Some(vrm0) => (vrm0.to_string(), vrm0.to_ascii_lowercase()),
                None => (e.name().to_string(), "unknown".to_string()),
            };
            json!({
                "name": name,
                "presetName": preset,
                "binds": [{ "mesh": 1, "index": i, "weight": 100.0 }],
                "materialValues": [],
                "isBinary": false,
            })
        })
        .collect();
    groups.push(json!({ "name": "Neutral", "presetName": "neutral", "binds": [], "materialValues": [], "isBinary": false }));
    json!({
        "exporterVersion": concat!("kagura-avatar ", env!("CARGO_PKG_VERSION")),
        "specVersion": "0.0",
        "meta": {
            "title": "Kagura Mannequin",
            "version": env!("CARGO_PKG_VERSION"),
            "author": "Kagura",
            "allowedUserName": "Everyone",
            "violentUssageName": "Disallow",
            "sexualUssageName": "Disallow",
            "commercialUssageName": "Allow",
            "licenseName": "CC0",
        },
        "humanoid": { "humanBones": human_bones },
        "blendShapeMaster": { "blendShapeGroups": groups },
        "secondaryAnimation": { "boneGroups": [], "colliderGroups": [] },
        "materialProperties": [],
    })
}

/// Writes a mesh's vertex data, turned by `facing` (a per-axis sign), and returns its glTF
/// primitive.
fn primitive(glb: &mut GlbBuilder, mesh: &Mesh, morphs: &[MorphTarget], facing: Vec3) -> Value {
    let flat = |v: &[Vec3]| {
        v.iter()
            .flat_map(|p| (*p * facing).to_array())
            .collect::<Vec<f32>>()
    };
    let position = glb.floats(&flat(&mesh.positions), "VEC3", Some(ARRAY_BUFFER), true);
    let normal = glb.floats(&flat(&mesh.normals), "VEC3", Some(ARRAY_BUFFER), false);
    let colors: Vec<f32> = mesh.colors.iter().flatten().copied().collect();
    let color = glb.floats(&colors, "VEC4", Some(ARRAY_BUFFER), false);
    let joints: Vec<u16> = mesh.joints.iter().flat_map(|j| [*j, 0, 0, 0]).collect();
    let joints = glb.u16s(&joints, "VEC4", Some(ARRAY_BUFFER));
    let weights: Vec<f32> = mesh
        .joints
        .iter()
        .flat_map(|_| [1.0, 0.0, 0.0, 0.0])
        .collect();
    let weights = glb.floats(&weights, "VEC4", Some(ARRAY_BUFFER), false);
    let indices = glb.u16s(&mesh.indices, "SCALAR", Some(ELEMENT_ARRAY_BUFFER));
    let mut primitive = json!({
        "attributes": { "POSITION": position, "NORMAL": normal, "COLOR_0": color, "JOINTS_0": joints, "WEIGHTS_0": weights },
        "indices": indices,
        "material": 0,
    });
    if !morphs.is_empty() {
        let targets: Vec<Value> = morphs
            .iter()
            .map(|m| json!({ "POSITION": glb.floats(&flat(&m.deltas), "VEC3", Some(ARRAY_BUFFER), true) }))
            .collect();
        primitive["targets"] = json!(targets);
    }
    primitive
}

fn joint(bone: HumanoidBone) -> u16 {
    bone.index() as u16
}

/// Boxes along every bone, coloured like clothes.
fn body_mesh(tall_hat: bool) -> Mesh {
    use HumanoidBone::*;
    let mut mesh = Mesh::default();
    if tall_hat {
        let top_of_head = joint_position(Head) + Vec3::new(0.0, 0.23, 0.0);
        mesh.add_box(
            top_of_head + Vec3::new(0.0, 0.3, 0.0),
            Vec3::new(0.06, 0.3, 0.06),
            HAIR,
            joint(Head),
        );
    }
    for bone in HumanoidBone::ALL {
        let (thickness, color) = match bone {
            LeftEye | RightEye | Jaw => continue,
            Head => {
                let head = joint_position(Head) + Vec3::new(0.0, 0.12, 0.0);
                mesh.add_box(head, Vec3::new(0.085, 0.11, 0.095), SKIN, joint(Head));
                // Hair: a cap over the top and back of the head.
                mesh.add_box(
                    head + Vec3::new(0.0, 0.055, -0.02),
                    Vec3::new(0.09, 0.065, 0.085),
                    HAIR,
                    joint(Head),
                );
                continue;
            }
            Hips => (Vec3::new(0.13, 0.02, 0.09), TROUSERS),
            Spine | Chest | UpperChest => (Vec3::new(0.12, 0.01, 0.08), JACKET),
            Neck => (Vec3::new(0.035, 0.0, 0.035), SKIN),
            LeftShoulder | RightShoulder => (Vec3::new(0.0, 0.05, 0.06), JACKET),
            LeftUpperArm | RightUpperArm => (Vec3::new(0.0, 0.045, 0.045), JACKET),
            LeftLowerArm | RightLowerArm => (Vec3::new(0.0, 0.037, 0.037), JACKET),
            LeftHand | RightHand => (Vec3::new(0.0, 0.014, 0.04), SKIN),
            LeftUpperLeg | RightUpperLeg => (Vec3::new(0.065, 0.0, 0.065), TROUSERS),
            LeftLowerLeg | RightLowerLeg => (Vec3::new(0.05, 0.0, 0.05), TROUSERS),
            LeftFoot | RightFoot => (Vec3::new(0.045, 0.03, 0.05), SHOES),
            LeftToes | RightToes => (Vec3::new(0.045, 0.018, 0.0), SHOES),
            _ => (Vec3::new(0.0, 0.008, 0.008), SKIN), // fingers
        };
        mesh.add_segment(
            joint_position(bone),
            skeleton::segment_end(bone),
            thickness,
            color,
            joint(bone),
        );
    }
    mesh
}

/// Eyes, pupils, brows and mouth on the front of the head, with one morph target per
/// [`EXPRESSIONS`] entry. "Left" is the avatar's left, +X.
fn face_mesh() -> (Mesh, Vec<MorphTarget>) {
    use HumanoidBone::*;
    let mut mesh = Mesh::default();
    let front = joint_position(Head).z + 0.095;
    let eye_y = joint_position(LeftEye).y;
    let mut eyes = Vec::new();
    let mut pupils = Vec::new();
    let mut brows = Vec::new();
    for (side, eye_bone) in [(1.0f32, LeftEye), (-1.0, RightEye)] {
        let x = side * 0.035;
        eyes.push(mesh.add_box(
            Vec3::new(x, eye_y, front + 0.002),
            Vec3::new(0.02, 0.013, 0.003),
            EYE_WHITE,
            joint(Head),
        ));
        pupils.push(mesh.add_box(
            Vec3::new(x, eye_y, front + 0.006),
            Vec3::new(0.008, 0.009, 0.002),
            PUPIL,
            joint(eye_bone),
        ));
        brows.push(mesh.add_box(
            Vec3::new(x, eye_y + 0.03, front + 0.004),
            Vec3::new(0.021, 0.004, 0.003),
            HAIR,
            joint(Head),
        ));
    }
    let mouth = mesh.add_box(
        Vec3::new(0.0, 1.60, front + 0.002),
        Vec3::new(0.025, 0.006, 0.004),
        MOUTH,
        joint(Jaw),
    );

    let n = mesh.positions.len();
    let mut targets: Vec<MorphTarget> = Vec::new();
    for expression in EXPRESSIONS {
        let mut t = MorphTarget::new(n);
        let upper =
            |amount: f32| move |r: Vec3| Vec3::new(0.0, if r.y > 0.0 { amount } else { 0.0 }, 0.0);
        let lower =
            |amount: f32| move |r: Vec3| Vec3::new(0.0, if r.y < 0.0 { amount } else { 0.0 }, 0.0);
        let collapse = |p: Part| move |r: Vec3| Vec3::new(0.0, -r.y * p.half.y * 0.95, 0.0);
        // Brow vertices nearer the face's centre line rise by `amount` (negative: fall).
        let inner_brows = |t: &mut MorphTarget, amount: f32| {
            for (brow, side) in brows.iter().zip([1.0f32, -1.0]) {
                t.deform(&mesh, *brow, |r| {
                    Vec3::new(0.0, amount * (1.0 - side * r.x) / 2.0, 0.0)
                });
            }
        };
        let corners = |t: &mut MorphTarget, amount: f32| {
            t.deform(&mesh, mouth, |r| Vec3::new(0.0, amount * r.x.abs(), 0.0));
        };
        let width = |t: &mut MorphTarget, factor: f32| {
            t.deform(&mesh, mouth, |r| {
                Vec3::new(factor * r.x * mouth.half.x, 0.0, 0.0)
            });
        };
        match expression {
            Expression::Aa => {
                t.deform(&mesh, mouth, lower(-0.02))
                    .deform(&mesh, mouth, upper(0.003));
                width(&mut t, -0.15);
            }
            Expression::Ih => {
                t.deform(&mesh, mouth, lower(-0.005));
                width(&mut t, 0.35);
            }
            Expression::Ou => {
                t.deform(&mesh, mouth, lower(-0.01))
                    .deform(&mesh, mouth, |_| Vec3::new(0.0, 0.0, 0.004));
                width(&mut t, -0.45);
            }
            Expression::Ee => {
                t.deform(&mesh, mouth, lower(-0.003));
                width(&mut t, 0.5);
            }
            Expression::Oh => {
                t.deform(&mesh, mouth, lower(-0.016))
                    .deform(&mesh, mouth, upper(0.002));
                width(&mut t, -0.25);
            }
            Expression::Blink | Expression::BlinkLeft | Expression::BlinkRight => {
                let sides: &[usize] = match expression {
                    Expression::BlinkLeft => &[0],
                    Expression::BlinkRight => &[1],
                    _ => &[0, 1],
                };
                for &i in sides {
                    t.deform(&mesh, eyes[i], collapse(eyes[i])).deform(
                        &mesh,
                        pupils[i],
                        collapse(pupils[i]),
                    );
                }
            }
            Expression::Happy => {
                corners(&mut t, 0.007);
                for i in 0..2 {
                    t.deform(&mesh, eyes[i], upper(-0.008))
                        .deform(&mesh, brows[i], |_| Vec3::new(0.0, 0.003, 0.0));
                }
            }
            Expression::Angry => {
                inner_brows(&mut t, -0.008);
                corners(&mut t, -0.004);
            }
            Expression::Sad => {
                inner_brows(&mut t, 0.008);
                corners(&mut t, -0.006);
                for eye in &eyes {
                    t.deform(&mesh, *eye, upper(-0.005));
                }
            }
            Expression::Relaxed => {
                corners(&mut t, 0.003);
                for eye in &eyes {
                    t.deform(&mesh, *eye, upper(-0.012));
                }
            }
            Expression::Surprised => {
                for i in 0..2 {
                    t.deform(&mesh, brows[i], |_| Vec3::new(0.0, 0.012, 0.0));
                    t.deform(&mesh, eyes[i], upper(0.004))
                        .deform(&mesh, eyes[i], lower(-0.003));
                }
                t.deform(&mesh, mouth, lower(-0.014));
                width(&mut t, -0.2);
            }
            Expression::LookUp
            | Expression::LookDown
            | Expression::LookLeft
            | Expression::LookRight => {
                let shift = match expression {
                    Expression::LookUp => Vec3::new(0.0, 0.006, 0.0),
                    Expression::LookDown => Vec3::new(0.0, -0.006, 0.0),
                    Expression::LookLeft => Vec3::new(0.009, 0.0, 0.0),
                    _ => Vec3::new(-0.009, 0.0, 0.0),
                };
                for pupil in &pupils {
                    t.deform(&mesh, *pupil, |_| shift);
                }
            }
            other => unreachable!("{other} has no morph target"),
        }
        targets.push(t);
    }
    (mesh, targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_a_valid_glb_with_every_bone_and_expression() {
        let bytes = mannequin_vrm();
        assert_eq!(bytes, mannequin_vrm(), "deterministic");
        let (doc, bin) = parse_glb(&bytes).expect("GLB container");
        let vrm = &doc["extensions"]["VRMC_vrm"];
        assert_eq!(vrm["specVersion"], "1.0");
        let bones = vrm["humanoid"]["humanBones"].as_object().unwrap();
        assert_eq!(bones.len(), HumanoidBone::COUNT);
        for bone in HumanoidBone::ALL {
            let node = bones[bone.vrm1_name()]["node"].as_u64().unwrap() as usize;
            assert_eq!(doc["nodes"][node]["name"], bone.vrm1_name());
        }
        let presets = vrm["expressions"]["preset"].as_object().unwrap();
        for e in EXPRESSIONS {
            assert!(presets.contains_key(e.name()), "{e}");
        }
        // Every accessor lies inside the binary chunk.
        for accessor in doc["accessors"].as_array().unwrap() {
            let view = &doc["bufferViews"][accessor["bufferView"].as_u64().unwrap() as usize];
            let end = view["byteOffset"].as_u64().unwrap() + view["byteLength"].as_u64().unwrap();
            assert!(end as usize <= bin.len());
        }
        let targets = doc["meshes"][1]["primitives"][0]["targets"]
            .as_array()
            .unwrap();
        assert_eq!(targets.len(), EXPRESSIONS.len());
    }

    #[test]
    fn vrm0_variant_faces_minus_z_with_vrm0_names() {
        let bytes = mannequin(VrmVersion::V0);
        let (doc, _) = parse_glb(&bytes).expect("GLB container");
        assert_eq!(doc["extensionsUsed"][0], "VRM");
        let vrm = &doc["extensions"]["VRM"];
        let bones = vrm["humanoid"]["humanBones"].as_array().unwrap();
        assert_eq!(bones.len(), HumanoidBone::COUNT);
        let thumb = bones
            .iter()
            .find(|b| b["bone"] == "leftThumbProximal")
            .unwrap();
        assert_eq!(
            thumb["node"],
            HumanoidBone::LeftThumbMetacarpal.index(),
            "VRM 0.x thumb names shift"
        );
        // The left hand (the avatar's left) lies towards −X when the model faces −Z.
        let left_arm = &doc["nodes"][HumanoidBone::LeftUpperArm.index()]["translation"];
        assert!(left_arm[0].as_f64().unwrap() < 0.0);
        let groups = vrm["blendShapeMaster"]["blendShapeGroups"]
            .as_array()
            .unwrap();
        for preset in [
            "a", "blink_l", "joy", "sorrow", "fun", "lookleft", "neutral",
        ] {
            assert!(groups.iter().any(|g| g["presetName"] == preset), "{preset}");
        }
    }

    #[test]
    fn every_morph_target_moves_something_and_rest_pose_is_a_t_pose() {
        let (_, targets) = face_mesh();
        for (e, t) in EXPRESSIONS.iter().zip(&targets) {
            assert!(
                t.deltas.iter().any(|d| d.length() > 1e-4),
                "{e} moves nothing"
            );
        }
        // Arms stretch sideways along ±X at shoulder height.
        let l = joint_position(HumanoidBone::LeftHand) - joint_position(HumanoidBone::LeftUpperArm);
        assert!(l.x > 0.4 && l.y.abs() < 1e-6);
        assert_eq!(
            joint_position(HumanoidBone::RightHand).x,
            -joint_position(HumanoidBone::LeftHand).x
        );
    }
}
