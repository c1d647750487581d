//! Writes a [`PoseFrame`] as VMC datagrams, packetized the way the VMC app sends them.
//!
//! Used by tests and benchmarks as a realistic sender, and the basis of a VMC output. Layout and
//! order, per the VMC app's `ExternalSender.SendPerFrame`: each full bundle of 13 bones, in
//! `HumanBodyBones` order; then the blendshape bundle (every `Blend/Val`, then `Blend/Apply`);
//! then, last, the root bundle: `Root/Pos`, a nested bundle of the leftover bones, `OK` and `T`.
//! So `Apply` does not end the frame; the root bundle does. Names are Unity `HumanBodyBones` names and VRM 0.x
//! preset names (VRM 1.0 or ARKit names where VRM 0.x has none).

use glam::{Quat, Vec3};
use kagura_protocol::PoseFrame;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType, encoder};

use super::unity::{position_to_unity, rotation_to_unity};

/// Bones per bundle, as the VMC app sends them.
pub const BONES_PER_BUNDLE: usize = 13;

/// Encodes `frame` as the datagrams the VMC app would send for it. `sender_time_s` goes in
/// `/VMC/Ext/T`.
pub fn encode_vmc_frame(frame: &PoseFrame, sender_time_s: f32) -> Vec<Vec<u8>> {
    let bones: Vec<OscPacket> = frame
        .bones()
        .map(|(bone, rotation)| {
            let position = match bone {
                kagura_protocol::HumanoidBone::Hips => frame.hips_position.unwrap_or(Vec3::ZERO),
                _ => Vec3::ZERO,
            };
            transform_message("/VMC/Ext/Bone/Pos", bone.unity_name(), position, rotation)
        })
        .collect();
    let full_bundles = bones.len() / BONES_PER_BUNDLE;
    let mut packets: Vec<OscPacket> = bones
        .chunks(BONES_PER_BUNDLE)
        .take(full_bundles)
        .map(|chunk| bundle(chunk.to_vec()))
        .collect();

    let mut blend: Vec<OscPacket> = frame
        .expressions()
        .map(|(expression, weight)| {
            let name = expression.vrm0_name().unwrap_or(expression.name());
            message(
                "/VMC/Ext/Blend/Val",
                vec![OscType::String(name.into()), OscType::Float(weight)],
            )
        })
        .collect();
    blend.push(message("/VMC/Ext/Blend/Apply", vec![]));
    packets.push(bundle(blend));

    let root = frame.root.unwrap_or(kagura_protocol::RootTransform {
        position: Vec3::ZERO,
        rotation: Quat::IDENTITY,
    });
    let mut root_bundle = vec![transform_message(
        "/VMC/Ext/Root/Pos",
        "root",
        root.position,
        root.rotation,
    )];
    let leftover = &bones[full_bundles * BONES_PER_BUNDLE..];
    if !leftover.is_empty() {
        root_bundle.push(bundle(leftover.to_vec()));
    }
    root_bundle.push(message("/VMC/Ext/OK", vec![OscType::Int(1)]));
    root_bundle.push(message("/VMC/Ext/T", vec![OscType::Float(sender_time_s)]));
    packets.push(bundle(root_bundle));

    packets
        .iter()
        .map(|p| encoder::encode(p).expect("OSC encoding of well-formed packets cannot fail"))
        .collect()
}

fn transform_message(address: &str, name: &str, position: Vec3, rotation: Quat) -> OscPacket {
    let p = position_to_unity(position);
    let q = rotation_to_unity(rotation);
    let mut args = vec![OscType::String(name.into())];
    args.extend([p.x, p.y, p.z, q.x, q.y, q.z, q.w].map(OscType::Float));
    message(address, args)
}

fn message(address: &str, args: Vec<OscType>) -> OscPacket {
    OscPacket::Message(OscMessage {
        addr: address.into(),
        args,
    })
}

fn bundle(content: Vec<OscPacket>) -> OscPacket {
    OscPacket::Bundle(OscBundle {
        timetag: OscTime::from((0, 1)),
        content,
    })
}
