//! [`VmcDecoder`]: one performer's VMC stream in, whole [`PoseFrame`]s out.

use std::collections::BTreeMap;

use glam::Vec3;
use kagura_protocol::{
    CheckedRotation, Expression, HumanoidBone, PerformerId, PoseFrame, RootTransform,
    check_rotation,
};
use kagura_skeleton::solve::{NO_SENSORS, SensorOrientations};

use serde::Serialize;

use super::framing::{CycleFramer, DatagramShape};
use super::message::VmcMessage;
use super::osc::read_packet;
use super::unity::{position_from_unity, rotation_from_unity};
use crate::sender_clock::SenderClock;

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
    /// How many datagrams make one of its frames, once learned.
    pub cycle_datagrams: Option<usize>,
}

/// Merges one sender's VMC messages into its latest state and emits a frame at the end of each
/// of the sender's own cycles, as learned by [`CycleFramer`]: a frame never mixes two of the
/// sender's frames, and nothing is emitted before the first whole one.
///
/// Sans-IO: the caller passes each datagram and its arrival time. An emitted frame's
/// `capture_us` is the sender's `/VMC/Ext/T` of that frame mapped onto the caller's clock
/// ([`SenderClock`]), or its arrival time for senders that send no `T`.
pub struct VmcDecoder {
    state: PoseFrame,
    pending_blend: [Option<f32>; Expression::COUNT],
    framer: CycleFramer,
    clock: SenderClock,
    /// The sender's `T` within the current cycle, seconds.
    cycle_time_s: Option<f32>,
    /// Which bone each tracked device drives, by serial (`/VMC/Ext/{Hmd,Con,Tra}/Pos`).
    trackers: BTreeMap<String, HumanoidBone>,
    /// The assigned devices' latest world orientations (internal convention), by bone.
    sensors: SensorOrientations,
    stats: VmcStats,
    status: VmcSenderStatus,
}

impl VmcDecoder {
    /// A decoder whose tracked devices (by serial) drive these bones: their world orientations
    /// go to the solve stage with each frame ([`VmcDecoder::sensors`]).
    pub fn with_trackers(performer: PerformerId, trackers: BTreeMap<String, HumanoidBone>) -> Self {
        VmcDecoder {
            trackers,
            ..VmcDecoder::new(performer)
        }
    }

    /// The assigned trackers' latest world orientations, by bone, as of the last frame.
    pub fn sensors(&self) -> &SensorOrientations {
        &self.sensors
    }

    pub fn new(performer: PerformerId) -> Self {
        VmcDecoder {
            trackers: BTreeMap::new(),
            sensors: NO_SENSORS,
            state: PoseFrame::new(performer),
            pending_blend: [None; Expression::COUNT],
            framer: CycleFramer::default(),
            clock: SenderClock::default(),
            cycle_time_s: None,
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

    /// Feeds one UDP datagram that arrived at `now_us`. Whole frames are appended to `frames`.
    pub fn handle_datagram(&mut self, bytes: &[u8], now_us: u64, frames: &mut Vec<PoseFrame>) {
        self.stats.datagrams += 1;
        if bytes.len() > MAX_DATAGRAM_LEN {
            self.stats.oversized_packets += 1;
            return;
        }
        let mut shape = DatagramShape::default();
        let mut key = Fnv::new();
        // The packet is checked whole before any message is applied: a truncated datagram
        // never half-applies.
        let read = read_packet(bytes, |message| match VmcMessage::parse(&message) {
            Ok(m) => {
                describe(&m, &mut shape, &mut key);
                self.handle_message(m);
            }
            Err(_) => self.stats.bad_arguments += 1,
        });
        if read.is_err() {
            self.stats.malformed_packets += 1;
            return;
        }
        shape.key = key.finish();
        if self.framer.observe(shape, now_us) {
            self.apply_pending_blend();
            self.emit(now_us, frames);
        }
        self.status.cycle_datagrams = self.framer.period();
    }

    fn handle_message(&mut self, message: VmcMessage) {
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
                self.state.set_bone(bone, rotation_from_unity(rotation));
                if bone == HumanoidBone::Hips
                    && let Some(position) = self.checked_position(position)
                {
                    self.state.hips_position = Some(position_from_unity(position));
                }
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
            }
            VmcMessage::BlendApply => self.apply_pending_blend(),
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
            VmcMessage::Time(t) => {
                if t.is_finite() {
                    self.status.sender_time_s = Some(t);
                    self.cycle_time_s = Some(t);
                } else {
                    self.stats.invalid_values += 1;
                }
            }
            VmcMessage::Device {
                local: false,
                serial,
                rotation,
                ..
            } if self.trackers.contains_key(serial) => {
                let bone = self.trackers[serial];
                if let Some(rotation) = self.checked_rotation(rotation) {
                    self.sensors[bone.index()] = Some(rotation_from_unity(rotation));
                }
            }
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
        self.state.capture_us = match self.cycle_time_s.take() {
            Some(t) => self.clock.map((f64::from(t) * 1e6) as i64, now_us),
            None => now_us,
        };
        frames.push(self.state.clone());
        self.state.seq = self.state.seq.wrapping_add(1);
        self.stats.frames += 1;
    }
}

/// Adds a message to its datagram's shape: its address and name go into the key (devices and
/// the camera do not: how many there are varies from frame to frame).
fn describe(message: &VmcMessage, shape: &mut DatagramShape, key: &mut Fnv) {
    match message {
        VmcMessage::Bone { name, .. } => {
            if key.is_empty() {
                shape.starts_with_hips = *name == "Hips";
            }
            key.add(b"B");
            key.add(name.as_bytes());
        }
        VmcMessage::BlendValue { name, .. } => {
            key.add(b"V");
            key.add(name.as_bytes());
        }
        VmcMessage::Root { .. } => key.add(b"R"),
        VmcMessage::BlendApply => {
            shape.has_apply = true;
            key.add(b"A");
        }
        VmcMessage::Time(_) => {
            shape.has_time = true;
            key.add(b"T");
        }
        VmcMessage::Ok { .. } => key.add(b"O"),
        VmcMessage::Device { serial, .. } => {
            // Which devices a sender tracks is part of its cycle's shape, not their number.
            key.add(b"D");
            key.add(serial.as_bytes());
        }
        VmcMessage::Other => {}
    }
}

/// FNV-1a, 64 bits: a datagram's key.
struct Fnv(u64, bool);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325, true)
    }

    fn is_empty(&self) -> bool {
        self.1
    }

    fn add(&mut self, bytes: &[u8]) {
        self.1 = false;
        for b in bytes.iter().chain([&0xff]) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests;
