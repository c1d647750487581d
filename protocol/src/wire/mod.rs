//! The binary encoding of a [`PoseFrame`], version 1: one frame per datagram.
//!
//! ```text
//! byte 0      version (1)
//! byte 1      flags: bit 0 root present, bit 1 hips position present, bit 2 all 55 bones present;
//!             other bits must be zero
//! bytes 2-3   performer id, u16 little-endian
//! bytes 4-7   seq, u32 little-endian
//! bytes 8-15  capture time, µs since the Unix epoch, u64 little-endian
//! then a bit stream, least significant bit first, zero-padded to a byte:
//!   [root]     position: 3 × 24-bit two's complement, units of 0.1 mm (±838 m)
//!              rotation: 44 bits (see `rotation`)
//!   [hips]     position: 3 × 24 bits as above
//!   bones      presence: 55 bits in HumanoidBone order, unless flag bit 2 says all present;
//!              then a 44-bit rotation per present bone, in order
//!   expressions  per group (18 VRM 1.0 presets, then 52 ARKit): 2 bits, 0 none, 1 all,
//!              2 a presence mask of the group's size follows; then 8 bits (weight × 255)
//!              per present expression, in order
//! ```
//! A full frame (root, hips, 55 bones, 52 ARKit weights) is 395 bytes; the largest possible
//! frame is [`MAX_FRAME_LEN`] bytes, well inside one UDP/QUIC datagram.
//!
//! Decoding is total: any byte string yields a frame or a [`WireError`], never a panic, and
//! allocates nothing.

mod bits;
mod rotation;

use glam::Vec3;

use crate::{Expression, HumanoidBone, PerformerId, PoseFrame, RootTransform};
use bits::{BitReader, BitWriter};
use rotation::{ROTATION_BITS, dequantize, quantize};

/// The wire format version this crate writes and reads.
pub const WIRE_VERSION: u8 = 1;

/// The largest encoded frame, bytes.
pub const MAX_FRAME_LEN: usize = HEADER_LEN
    + (2 * 3 * POSITION_BITS as usize
        + ROTATION_BITS as usize
        + HumanoidBone::COUNT * (1 + ROTATION_BITS as usize)
        + 2 * 2
        + Expression::COUNT * 9)
        .div_ceil(8);

const HEADER_LEN: usize = 16;
const FLAG_ROOT: u8 = 1 << 0;
const FLAG_HIPS_POSITION: u8 = 1 << 1;
const FLAG_ALL_BONES: u8 = 1 << 2;
const KNOWN_FLAGS: u8 = FLAG_ROOT | FLAG_HIPS_POSITION | FLAG_ALL_BONES;

const POSITION_BITS: u32 = 24;
/// Metres per position step.
const POSITION_UNIT: f32 = 1e-4;
const POSITION_MAX: i32 = (1 << (POSITION_BITS - 1)) - 1;

const GROUP_NONE: u64 = 0;
const GROUP_ALL: u64 = 1;
const GROUP_MASKED: u64 = 2;
/// Expression groups on the wire: VRM 1.0 presets, then ARKit.
const EXPRESSION_GROUPS: [std::ops::Range<usize>; 2] = [
    0..Expression::VRM_PRESET_COUNT,
    Expression::VRM_PRESET_COUNT..Expression::COUNT,
];

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame is {0} bytes, shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    #[error("frame has wire version {0}, this build reads version {WIRE_VERSION}")]
    UnsupportedVersion(u8),
    #[error("frame sets unknown flag bits {0:#04x}")]
    UnknownFlags(u8),
    #[error("frame ends inside its {0}")]
    Truncated(&'static str),
    #[error("frame has an invalid expression group code {0}")]
    BadGroupCode(u64),
    #[error("frame has bytes after its end")]
    TrailingBytes,
}

/// Appends the encoding of `frame` to `out`. Positions beyond ±838 m are clamped.
pub fn encode(frame: &PoseFrame, out: &mut Vec<u8>) {
    let all_bones = frame.bones().count() == HumanoidBone::COUNT;
    let mut flags = 0;
    if frame.root.is_some() {
        flags |= FLAG_ROOT;
    }
    if frame.hips_position.is_some() {
        flags |= FLAG_HIPS_POSITION;
    }
    if all_bones {
        flags |= FLAG_ALL_BONES;
    }
    out.push(WIRE_VERSION);
    out.push(flags);
    out.extend_from_slice(&frame.performer.0.to_le_bytes());
    out.extend_from_slice(&frame.seq.to_le_bytes());
    out.extend_from_slice(&frame.capture_us.to_le_bytes());

    let mut w = BitWriter::new(out);
    if let Some(root) = frame.root {
        write_position(&mut w, root.position);
        w.write(quantize(root.rotation), ROTATION_BITS);
    }
    if let Some(hips) = frame.hips_position {
        write_position(&mut w, hips);
    }
    if !all_bones {
        for bone in HumanoidBone::ALL {
            w.write(frame.bone(bone).is_some() as u64, 1);
        }
    }
    for (_, rotation) in frame.bones() {
        w.write(quantize(rotation), ROTATION_BITS);
    }
    for group in EXPRESSION_GROUPS {
        let present = group
            .clone()
            .filter(|&i| frame.expression(Expression::ALL[i]).is_some())
            .count();
        if present == 0 {
            w.write(GROUP_NONE, 2);
        } else if present == group.len() {
            w.write(GROUP_ALL, 2);
        } else {
            w.write(GROUP_MASKED, 2);
            for i in group {
                w.write(frame.expression(Expression::ALL[i]).is_some() as u64, 1);
            }
        }
    }
    for (_, weight) in frame.expressions() {
        w.write((weight * 255.0).round() as u64, 8);
    }
    w.finish();
}

/// Decodes one frame. Every byte must belong to the frame.
pub fn decode(bytes: &[u8]) -> Result<PoseFrame, WireError> {
    let header: &[u8; HEADER_LEN] = bytes
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(WireError::TooShort(bytes.len()))?;
    if header[0] != WIRE_VERSION {
        return Err(WireError::UnsupportedVersion(header[0]));
    }
    let flags = header[1];
    if flags & !KNOWN_FLAGS != 0 {
        return Err(WireError::UnknownFlags(flags & !KNOWN_FLAGS));
    }
    let mut frame = PoseFrame::new(PerformerId(u16::from_le_bytes([header[2], header[3]])));
    frame.seq = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    frame.capture_us = u64::from_le_bytes([
        header[8], header[9], header[10], header[11], header[12], header[13], header[14],
        header[15],
    ]);

    let mut r = BitReader::new(&bytes[HEADER_LEN..]);
    if flags & FLAG_ROOT != 0 {
        frame.root = Some(RootTransform {
            position: read_position(&mut r, "root position")?,
            rotation: dequantize(read(&mut r, ROTATION_BITS, "root rotation")?),
        });
    }
    if flags & FLAG_HIPS_POSITION != 0 {
        frame.hips_position = Some(read_position(&mut r, "hips position")?);
    }
    let mut bone_present = [flags & FLAG_ALL_BONES != 0; HumanoidBone::COUNT];
    if flags & FLAG_ALL_BONES == 0 {
        for present in &mut bone_present {
            *present = read(&mut r, 1, "bone mask")? == 1;
        }
    }
    for bone in HumanoidBone::ALL {
        if bone_present[bone.index()] {
            let bits = read(&mut r, ROTATION_BITS, "bone rotations")?;
            frame.set_bone(bone, dequantize(bits));
        }
    }
    let mut expression_present = [false; Expression::COUNT];
    for group in EXPRESSION_GROUPS {
        match read(&mut r, 2, "expression groups")? {
            GROUP_NONE => {}
            GROUP_ALL => expression_present[group].fill(true),
            GROUP_MASKED => {
                for i in group {
                    expression_present[i] = read(&mut r, 1, "expression mask")? == 1;
                }
            }
            code => return Err(WireError::BadGroupCode(code)),
        }
    }
    for expression in Expression::ALL {
        if expression_present[expression.index()] {
            let level = read(&mut r, 8, "expression weights")?;
            frame.set_expression(expression, level as f32 / 255.0);
        }
    }
    if !r.only_padding_left() {
        return Err(WireError::TrailingBytes);
    }
    Ok(frame)
}

fn read(r: &mut BitReader, bits: u32, what: &'static str) -> Result<u64, WireError> {
    r.read(bits).ok_or(WireError::Truncated(what))
}

fn write_position(w: &mut BitWriter, p: Vec3) {
    for c in p.to_array() {
        let steps = (c / POSITION_UNIT).round();
        let steps = if steps.is_nan() {
            0
        } else {
            (steps as i32).clamp(-POSITION_MAX, POSITION_MAX)
        };
        w.write(
            (steps as u32 & ((1 << POSITION_BITS) - 1)) as u64,
            POSITION_BITS,
        );
    }
}

fn read_position(r: &mut BitReader, what: &'static str) -> Result<Vec3, WireError> {
    let mut c = [0.0f32; 3];
    for slot in &mut c {
        let raw = read(r, POSITION_BITS, what)? as u32;
        // Sign-extend the 24-bit two's complement value.
        let steps = ((raw << (32 - POSITION_BITS)) as i32) >> (32 - POSITION_BITS);
        *slot = steps as f32 * POSITION_UNIT;
    }
    Ok(Vec3::from_array(c))
}

#[cfg(test)]
mod tests;
