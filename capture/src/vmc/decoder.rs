//! [`VmcDecoder`]: one performer's VMC stream in, whole [`PoseFrame`]s out.

use glam::Vec3;
use kagura_protocol::{
    CheckedRotation, Expression, HumanoidBone, PerformerId, PoseFrame, RootTransform,
    check_rotation,
};
use rosc::{OscPacket, decoder::decode_udp};
use serde::Serialize;

use super::message::VmcMessage;
use super::osc_shape::nesting_within_limits;
use super::unity::{position_from_unity, rotation_from_unity};

/// Largest datagram accepted, bytes. The VMC app's largest bundle (52 perfect-sync blendshapes
/// plus the VRM 0.x presets) is about 3.2 KB.
pub const MAX_DATAGRAM_LEN: usize = 16 * 1024;
/// Positions farther than this from the origin, metres, are treated as invalid.
const MAX_POSITION_M: f32 = 1000.0;

/// What a [`VmcDecoder`] has seen. Errors are counted, never fatal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VmcStats {
    pub datagrams: u64,
    pub frames: u64,
    /// Not OSC, or nested beyond the limits.
    pub malformed_packets: u64,
    /// Longer than [`MAX_DATAGRAM_LEN`]; dropped unread.
    pub oversized_packets: u64,
    /// A known address with too few or mistyped arguments.
    pub bad_arguments: u64,
    /// NaN or infinite numbers, zero-length quaternions, absurd positions; the value is dropped.
    pub invalid_values: u64,
    /// Quaternions that were finite but not unit length; normalized and used.
    pub repaired_rotations: u64,
    pub unknown_bones: u64,
    pub unknown_blendshapes: u64,
    /// Valid messages at addresses Kagura does not use.
    pub ignored_messages: u64,
}

impl VmcStats {
    /// All errors together (not counting ignored messages, which the protocol allows).
    pub fn errors(&self) -> u64 {
        self.malformed_packets
            + self.oversized_packets
            + self.bad_arguments
            + self.invalid_values
            + self.unknown_bones
            + self.unknown_blendshapes
    }
}

/// The sender's own status, from `/VMC/Ext/OK` and `/VMC/Ext/T`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct VmcSenderStatus {
    pub avatar_loaded: Option<bool>,
    pub calibration_state: Option<i32>,
    pub tracking: Option<bool>,
    /// The sender's clock at its last `/VMC/Ext/T`, seconds.
    pub sender_time_s: Option<f32>,
}

/// Merges one performer's VMC messages into its latest state and emits a frame when the state is
/// whole.
///
/// VMC marks no frame boundary, and the VMC app spreads one frame over several datagrams (bones
/// in bundles of 13, then the blendshapes and `Blend/Apply`). The decoder emits:
/// - at `/VMC/Ext/Blend/Apply`, once the sender has been seen to send it;
/// - for a sender that has never sent `Apply` (SlimeVR sends no blendshapes), at the end of each
///   datagram that changed something;
/// - and, for a sender that sends `Apply` more rarely than bones, just before a bone is updated a
///   second time since the last frame (that update starts the next frame).
///
/// So a subscriber never sees a half-updated frame, except during a new sender's very first
/// frame: until its first `Apply` the decoder cannot know it will send one, and emits per
/// datagram. Sans-IO: the caller passes the datagram and
/// its arrival time; emitted frames carry that time as `capture_us`.
pub struct VmcDecoder {
    state: PoseFrame,
    pending_blend: [Option<f32>; Expression::COUNT],
    sender_sends_apply: bool,
    /// Bones updated since the last emitted frame, bit per `HumanoidBone` index.
    bones_since_emit: u64,
    changed_since_emit: bool,
    stats: VmcStats,
    status: VmcSenderStatus,
}

impl VmcDecoder {
    pub fn new(performer: PerformerId) -> Self {
        VmcDecoder {
            state: PoseFrame::new(performer),
            pending_blend: [None; Expression::COUNT],
            sender_sends_apply: false,
            bones_since_emit: 0,
            changed_since_emit: false,
            stats: VmcStats::default(),
            status: VmcSenderStatus::default(),
        }
    }

    pub fn stats(&self) -> &VmcStats {
        &self.stats
    }

    pub fn sender_status(&self) -> &VmcSenderStatus {
        &self.status
    }

    /// Feeds one UDP datagram that arrived at `now_us` (µs since the Unix epoch). Whole frames
    /// are appended to `frames`.
    pub fn handle_datagram(&mut self, bytes: &[u8], now_us: u64, frames: &mut Vec<PoseFrame>) {
        self.stats.datagrams += 1;
        if bytes.len() > MAX_DATAGRAM_LEN {
            self.stats.oversized_packets += 1;
            return;
        }
        if !nesting_within_limits(bytes) {
            self.stats.malformed_packets += 1;
            return;
        }
        // rosc stops at the first bundle element it cannot read and returns the rest unread:
        // a truncated datagram would half-apply. Only a datagram read to its end is used.
        let packet = match decode_udp(bytes) {
            Ok(([], packet)) => packet,
            _ => {
                self.stats.malformed_packets += 1;
                return;
            }
        };
        self.handle_packet(&packet, now_us, frames);
        if !self.sender_sends_apply && self.changed_since_emit {
            self.apply_pending_blend();
            self.emit(now_us, frames);
        }
    }

    fn handle_packet(&mut self, packet: &OscPacket, now_us: u64, frames: &mut Vec<PoseFrame>) {
        match packet {
            OscPacket::Bundle(bundle) => {
                for inner in &bundle.content {
                    self.handle_packet(inner, now_us, frames);
                }
            }
            OscPacket::Message(message) => match VmcMessage::parse(message) {
                Ok(m) => self.handle_message(m, now_us, frames),
                Err(_) => self.stats.bad_arguments += 1,
            },
        }
    }

    fn handle_message(&mut self, message: VmcMessage, now_us: u64, frames: &mut Vec<PoseFrame>) {
        match message {
            VmcMessage::Bone {
                name,
                position,
                rotation,
            } => {
                let Some(bone) = HumanoidBone::from_unity_name(name) else {
                    self.stats.unknown_bones += 1;
                    return;
                };
                let Some(rotation) = self.checked_rotation(rotation) else {
                    return;
                };
                let bit = 1u64 << bone.index();
                if self.sender_sends_apply && self.bones_since_emit & bit != 0 {
                    // This bone was already updated in the current frame: a new frame began
                    // without an Apply. Publish the finished one first.
                    self.apply_pending_blend();
                    self.emit(now_us, frames);
                }
                self.bones_since_emit |= bit;
                self.state.set_bone(bone, rotation_from_unity(rotation));
                if bone == HumanoidBone::Hips
                    && let Some(position) = self.checked_position(position)
                {
                    self.state.hips_position = Some(position_from_unity(position));
                }
                self.changed_since_emit = true;
            }
            VmcMessage::Root { position, rotation } => {
                if let (Some(position), Some(rotation)) = (
                    self.checked_position(position),
                    self.checked_rotation(rotation),
                ) {
                    self.state.root = Some(RootTransform {
                        position: position_from_unity(position),
                        rotation: rotation_from_unity(rotation),
                    });
                    self.changed_since_emit = true;
                }
            }
            VmcMessage::BlendValue { name, value } => {
                let Some(expression) = Expression::from_vmc_name(name) else {
                    self.stats.unknown_blendshapes += 1;
                    return;
                };
                if !value.is_finite() {
                    self.stats.invalid_values += 1;
                    return;
                }
                self.pending_blend[expression.index()] = Some(value);
                self.changed_since_emit = true;
            }
            VmcMessage::BlendApply => {
                self.sender_sends_apply = true;
                self.apply_pending_blend();
                self.emit(now_us, frames);
            }
            VmcMessage::Ok {
                loaded,
                calibration_state,
                tracking,
                ..
            } => {
                self.status.avatar_loaded = Some(loaded);
                self.status.calibration_state = calibration_state;
                self.status.tracking = tracking;
            }
            VmcMessage::Time(t) => self.status.sender_time_s = Some(t),
            VmcMessage::Device { .. } | VmcMessage::Other => self.stats.ignored_messages += 1,
        }
    }

    fn checked_rotation(&mut self, q: glam::Quat) -> Option<glam::Quat> {
        match check_rotation(q) {
            CheckedRotation::Unit(q) => Some(q),
            CheckedRotation::Repaired(q) => {
                self.stats.repaired_rotations += 1;
                Some(q)
            }
            CheckedRotation::Invalid => {
                self.stats.invalid_values += 1;
                None
            }
        }
    }

    fn checked_position(&mut self, p: Vec3) -> Option<Vec3> {
        if p.is_finite() && p.abs().max_element() <= MAX_POSITION_M {
            Some(p)
        } else {
            self.stats.invalid_values += 1;
            None
        }
    }

    fn apply_pending_blend(&mut self) {
        for expression in Expression::ALL {
            if let Some(value) = self.pending_blend[expression.index()].take() {
                self.state.set_expression(expression, value);
            }
        }
    }

    fn emit(&mut self, now_us: u64, frames: &mut Vec<PoseFrame>) {
        self.state.capture_us = now_us;
        frames.push(self.state.clone());
        self.state.seq = self.state.seq.wrapping_add(1);
        self.stats.frames += 1;
        self.bones_since_emit = 0;
        self.changed_since_emit = false;
    }
}

#[cfg(test)]
mod tests;
