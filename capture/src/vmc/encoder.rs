//! Writes a [`PoseFrame`] as VMC datagrams, packetized the way the VMC app sends them: the
//! encoding half of Kagura as a VMC Performer (pure: a frame in, datagrams out; the server's
//! `vmc_out` shell sends them), and a realistic sender for tests and benchmarks.
//!
//! Layout and order, per the VMC app's `ExternalSender.SendPerFrame`: each full bundle of 13
//! bones, in `HumanBodyBones` order; then the blendshape bundle (every `Blend/Val`, then
//! `Blend/Apply`); then, last, the root bundle: `Root/Pos`, a nested bundle of the leftover
//! bones, `OK` and `T`. So `Apply` does not end the frame; the root bundle does.
//!
//! Where the VMC app would send a datagram over [`MAX_VMC_DATAGRAM`] bytes (its blendshape
//! bundle with 52 ARKit shapes is ≈ 3 KB, IP-fragmented), the bundle is split: blendshapes over
//! as many bundles as they need, `Apply` in the last; leftover bones that do not fit in the root
//! bundle go in a bone bundle of their own before the blendshapes. The order of the messages
//! never changes.
//!
//! Bones go out under Unity's `HumanBodyBones` names (VRM 1.0's `thumbMetacarpal`, `Proximal`,
//! `Distal` as Unity's `ThumbProximal`, `Intermediate`, `Distal`), in Unity's space
//! ([`super::unity`]); blendshapes under the names [`VmcNames`] picks. Only the hips carry a
//! position (the performer's hips position); other bones send a zero position, since Kagura knows
//! rotations, not the receiving avatar's bone lengths.

use glam::{Quat, Vec3};
use kagura_protocol::{Expression, HumanoidBone, PoseFrame};
use rosc::{OscMessage, OscPacket, OscType, encoder};
use serde::{Deserialize, Serialize};

use super::unity::{position_to_unity, rotation_to_unity};

/// Bones per bundle, as the VMC app sends them.
pub const BONES_PER_BUNDLE: usize = 13;

/// The largest datagram written (the VMC app's own bound for its bone bundles: under a typical
/// path MTU, so no IP fragmentation).
pub const MAX_VMC_DATAGRAM: usize = 1200;

/// Which blendshape names go out in `/VMC/Ext/Blend/Val`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VmcNames {
    /// VRM 0.x preset names (`A`, `Blink_L`, `Joy`, …), what the VMC specification asks of a
    /// Performer and what VSeeFace, VNyan and VRM 0.x avatars expect. VRM 1.0's `surprised` has
    /// no VRM 0.x preset and is left out, as are ARKit shapes.
    #[default]
    Vrm0,
    /// VRM 1.0 preset names (`aa`, `blinkLeft`, `happy`, …), for receivers running VRM 1.0
    /// avatars with VRM 1.0 names.
    Vrm1,
    /// ARKit's 52 names only (`eyeBlinkLeft`, `jawOpen`, …): perfect-sync avatars.
    Arkit,
    /// VRM 0.x presets (`surprised` under its VRM 1.0 name) and ARKit's 52.
    All,
}

impl VmcNames {
    /// The name `expression` goes out under, or `None` if it is not sent in this mode.
    pub fn name(self, expression: Expression) -> Option<&'static str> {
        match (self, expression.is_arkit()) {
            (VmcNames::Vrm0, false) => expression.vrm0_name(),
            (VmcNames::Vrm1, false) => Some(expression.name()),
            (VmcNames::Arkit | VmcNames::All, true) => Some(expression.name()),
            (VmcNames::All, false) => Some(expression.vrm0_name().unwrap_or(expression.name())),
            (VmcNames::Vrm0 | VmcNames::Vrm1, true) | (VmcNames::Arkit, false) => None,
        }
    }
}

/// Encodes `frame` as the datagrams the VMC app would send for it, with every blendshape it has
/// ([`VmcNames::All`]). `sender_time_s` goes in `/VMC/Ext/T`.
pub fn encode_vmc_frame(frame: &PoseFrame, sender_time_s: f32) -> Vec<Vec<u8>> {
    encode_vmc_frame_named(frame, VmcNames::All, sender_time_s)
}

/// Encodes `frame` as VMC datagrams, none over [`MAX_VMC_DATAGRAM`] bytes, blendshapes named
/// per `names`. `sender_time_s` goes in `/VMC/Ext/T`.
pub fn encode_vmc_frame_named(
    frame: &PoseFrame,
    names: VmcNames,
    sender_time_s: f32,
) -> Vec<Vec<u8>> {
    let mut datagrams = Vec::new();

    let bones: Vec<Vec<u8>> = frame
        .bones()
        .map(|(bone, rotation)| {
            let position = match bone {
                HumanoidBone::Hips => frame.hips_position.unwrap_or(Vec3::ZERO),
                _ => Vec3::ZERO,
            };
            transform_message("/VMC/Ext/Bone/Pos", bone.unity_name(), position, rotation)
        })
        .collect();
    let full = bones.len() / BONES_PER_BUNDLE * BONES_PER_BUNDLE;
    for chunk in bones[..full].chunks(BONES_PER_BUNDLE) {
        pack(chunk, &mut datagrams);
    }
    let leftover = &bones[full..];

    let root = frame.root.unwrap_or(kagura_protocol::RootTransform {
        position: Vec3::ZERO,
        rotation: Quat::IDENTITY,
    });
    let root_message = transform_message("/VMC/Ext/Root/Pos", "root", root.position, root.rotation);
    let ok = message("/VMC/Ext/OK", vec![OscType::Int(1)]);
    let time = message("/VMC/Ext/T", vec![OscType::Float(sender_time_s)]);
    let mut root_bundle = Bundle::new();
    root_bundle.push(&root_message);
    if !leftover.is_empty() {
        let mut nested = Bundle::new();
        for bone in leftover {
            nested.push(bone);
        }
        let nested = nested.finish();
        let with_nested =
            root_bundle.len() + element_len(&nested) + element_len(&ok) + element_len(&time);
        if with_nested <= MAX_VMC_DATAGRAM {
            root_bundle.push(&nested);
        } else {
            // Too many leftover bones to share the root's datagram: a bone bundle of their own,
            // still before the blendshapes.
            pack(leftover, &mut datagrams);
        }
    }
    root_bundle.push(&ok);
    root_bundle.push(&time);

    let mut blend: Vec<Vec<u8>> = frame
        .expressions()
        .filter_map(|(expression, weight)| {
            let name = names.name(expression)?;
            Some(message(
                "/VMC/Ext/Blend/Val",
                vec![OscType::String(name.into()), OscType::Float(weight)],
            ))
        })
        .collect();
    blend.push(message("/VMC/Ext/Blend/Apply", vec![]));
    pack(&blend, &mut datagrams);

    datagrams.push(root_bundle.finish());
    datagrams
}

/// Puts `messages`, in order, into as few bundles of at most [`MAX_VMC_DATAGRAM`] bytes as they
/// fit in, each appended to `out`.
fn pack(messages: &[Vec<u8>], out: &mut Vec<Vec<u8>>) {
    let mut bundle = Bundle::new();
    for m in messages {
        if !bundle.is_empty() && !bundle.fits(m) {
            out.push(std::mem::replace(&mut bundle, Bundle::new()).finish());
        }
        bundle.push(m);
    }
    if !bundle.is_empty() {
        out.push(bundle.finish());
    }
}

/// An OSC bundle written element by element, so its size is known as it grows. Timetag
/// "immediately", as the VMC app sends.
struct Bundle(Vec<u8>);

const BUNDLE_HEADER: [u8; 16] = *b"#bundle\0\0\0\0\0\0\0\0\x01";

impl Bundle {
    fn new() -> Self {
        let mut bytes = Vec::with_capacity(MAX_VMC_DATAGRAM);
        bytes.extend_from_slice(&BUNDLE_HEADER);
        Bundle(bytes)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.len() == BUNDLE_HEADER.len()
    }

    fn fits(&self, element: &[u8]) -> bool {
        self.0.len() + element_len(element) <= MAX_VMC_DATAGRAM
    }

    fn push(&mut self, element: &[u8]) {
        let len = u32::try_from(element.len()).expect("an OSC element is far below 4 GiB");
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(element);
    }

    fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Bytes an element takes in a bundle: its size prefix and itself.
fn element_len(element: &[u8]) -> usize {
    4 + element.len()
}

fn transform_message(address: &str, name: &str, position: Vec3, rotation: Quat) -> Vec<u8> {
    let p = position_to_unity(position);
    let q = rotation_to_unity(rotation);
    let mut args = vec![OscType::String(name.into())];
    args.extend([p.x, p.y, p.z, q.x, q.y, q.z, q.w].map(OscType::Float));
    message(address, args)
}

fn message(address: &str, args: Vec<OscType>) -> Vec<u8> {
    encoder::encode(&OscPacket::Message(OscMessage {
        addr: address.into(),
        args,
    }))
    .expect("OSC encoding of well-formed messages cannot fail")
}

#[cfg(test)]
mod tests;
