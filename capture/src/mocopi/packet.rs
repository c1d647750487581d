//! mocopi's datagrams: a tree of boxes, each `u32 LE payload length | 4-character tag |
//! payload`, read in place (Sony's `BoxType4CC` tags; layouts in `../shared/reference/suits.md`
//! §2). Two kinds of datagram:
//!
//! - skeleton: `head{ftyp,vrsn} sndf{ipad,rcvp} skdf{bons{27×bndt{bnid,pbid,tran}}}`;
//! - frame: `head sndf fram{fnum,time,[uttm],[tmcd],btrs{27×btdt{bnid,tran}}}` — the current
//!   app sends `uttm` (Unix time) and `tmcd` (time code), older senders no `tmcd` (1591
//!   bytes) and the oldest readers expect neither.
//!
//! Boxes are found by tag, not by position: unknown boxes (the sensor boxes `sndt`, anything
//! newer) are skipped by their length. Total: nesting is bounded, every length is checked
//! against what is left, bone ids index a fixed array, and nothing is allocated.

use glam::{Quat, Vec3};
use thiserror::Error;

/// Largest datagram accepted (the app's are 1.6–1.8 KB).
pub const MAX_DATAGRAM_LEN: usize = 16 * 1024;
/// Bone ids accepted: mocopi has 27; room for a longer skeleton, ids beyond are an error.
pub const MAX_BONES: usize = 64;
/// Boxes nest at most this deep (the app's go four deep).
const MAX_DEPTH: usize = 6;

/// One bone's transform: local to its parent, metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transform {
    pub rotation: Quat,
    pub position: Vec3,
}

/// One bone of a skeleton definition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SkeletonBone {
    /// `None` for the root (`pbid` 0xFFFF).
    pub parent: Option<u16>,
    /// The rest pose: local rotation and offset from the parent.
    pub rest: Transform,
}

/// The sender, from `sndf`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sender {
    /// IPv4 octets (`ipad`: decimal digits, three per octet).
    pub ip: Option<[u8; 4]>,
    /// The port it sends to (`rcvp`).
    pub port: Option<u16>,
}

/// A frame: the bones' transforms at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub number: Option<u32>,
    /// Seconds since the app started sending (`time`, f32).
    pub time_s: Option<f32>,
    /// Unix time, seconds (`uttm`; the current app only).
    pub utc_s: Option<f64>,
    /// Hour, minute, second, frame, frame rate, drop frame (`tmcd`; the current app only).
    pub timecode: Option<[u8; 6]>,
    pub bones: [Option<Transform>; MAX_BONES],
}

/// What one datagram carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    Skeleton {
        sender: Sender,
        bones: Box<[Option<SkeletonBone>; MAX_BONES]>,
    },
    Frame {
        sender: Sender,
        frame: Box<Frame>,
    },
}

/// Why a datagram was not used; each is its own counter in `/api/status`.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum MocopiError {
    #[error("datagram longer than {MAX_DATAGRAM_LEN} bytes")]
    Oversized,
    #[error("a box runs past the end of its parent")]
    Truncated,
    #[error("boxes nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("not a mocopi datagram (no head box)")]
    NotMocopi,
    #[error("neither a skeleton nor a frame")]
    NoContent,
    #[error("a leaf box has the wrong size")]
    BadLeaf,
    #[error("bone id beyond {MAX_BONES}")]
    BoneId,
    #[error("a value is NaN or infinite")]
    NotFinite,
}

/// Boxes of one container, in order.
struct Boxes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Boxes<'a> {
    type Item = Result<(&'a [u8; 4], &'a [u8]), MocopiError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let result = (|| {
            let header = self.rest.get(..8).ok_or(MocopiError::Truncated)?;
            let len = u32::from_le_bytes(header[..4].try_into().unwrap()) as usize;
            let tag: &'a [u8; 4] = header[4..8].try_into().unwrap();
            let payload = self
                .rest
                .get(8..8usize.checked_add(len).ok_or(MocopiError::Truncated)?)
                .ok_or(MocopiError::Truncated)?;
            self.rest = &self.rest[8 + len..];
            Ok((tag, payload))
        })();
        if result.is_err() {
            self.rest = &[];
        }
        Some(result)
    }
}

fn boxes(bytes: &[u8]) -> Boxes<'_> {
    Boxes { rest: bytes }
}

fn leaf<const N: usize>(payload: &[u8]) -> Result<[u8; N], MocopiError> {
    payload.try_into().map_err(|_| MocopiError::BadLeaf)
}

fn f32_at(b: &[u8], i: usize) -> f32 {
    f32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap())
}

fn transform(payload: &[u8]) -> Result<Transform, MocopiError> {
    let b: [u8; 28] = leaf(payload)?;
    let v: [f32; 7] = std::array::from_fn(|i| f32_at(&b, i));
    if v.iter().any(|x| !x.is_finite()) {
        return Err(MocopiError::NotFinite);
    }
    Ok(Transform {
        rotation: Quat::from_xyzw(v[0], v[1], v[2], v[3]),
        position: Vec3::new(v[4], v[5], v[6]),
    })
}

fn bone_id(payload: &[u8]) -> Result<usize, MocopiError> {
    let id = u16::from_le_bytes(leaf(payload)?) as usize;
    if id >= MAX_BONES {
        return Err(MocopiError::BoneId);
    }
    Ok(id)
}

/// `ipad`: a u64 whose decimal digits are the four octets, three digits each
/// (192168006105 = 192.168.6.105).
fn ip_address(payload: &[u8]) -> Result<Option<[u8; 4]>, MocopiError> {
    let mut n = u64::from_le_bytes(leaf(payload)?);
    let mut octets = [0u8; 4];
    for octet in octets.iter_mut().rev() {
        let Ok(v) = u8::try_from(n % 1000) else {
            return Ok(None);
        };
        *octet = v;
        n /= 1000;
    }
    Ok((n == 0).then_some(octets))
}

fn sender(payload: &[u8]) -> Result<Sender, MocopiError> {
    let mut sender = Sender::default();
    for item in boxes(payload) {
        match item? {
            (b"ipad", p) => sender.ip = ip_address(p)?,
            (b"rcvp", p) => sender.port = Some(u16::from_le_bytes(leaf(p)?)),
            _ => {}
        }
    }
    Ok(sender)
}

/// Checks that every box below `payload` (a container's contents) is well formed and nests no
/// deeper than allowed, so the typed readers below meet only checked lengths.
fn check_tree(payload: &[u8], depth: usize) -> Result<(), MocopiError> {
    if depth > MAX_DEPTH {
        return Err(MocopiError::TooDeep);
    }
    for item in boxes(payload) {
        let (tag, inner) = item?;
        if is_container(tag) {
            check_tree(inner, depth + 1)?;
        }
    }
    Ok(())
}

fn is_container(tag: &[u8; 4]) -> bool {
    matches!(
        tag,
        b"head" | b"sndf" | b"skdf" | b"bons" | b"bndt" | b"fram" | b"btrs" | b"btdt" | b"sndt"
    )
}

fn skeleton(payload: &[u8]) -> Result<Box<[Option<SkeletonBone>; MAX_BONES]>, MocopiError> {
    let mut bones = Box::new([None; MAX_BONES]);
    for item in boxes(payload) {
        let (tag, bons) = item?;
        if tag != b"bons" {
            continue;
        }
        for item in boxes(bons) {
            let (tag, bndt) = item?;
            if tag != b"bndt" {
                continue;
            }
            let (mut id, mut parent, mut rest) = (None, None, None);
            for item in boxes(bndt) {
                match item? {
                    (b"bnid", p) => id = Some(bone_id(p)?),
                    (b"pbid", p) => parent = Some(u16::from_le_bytes(leaf(p)?)),
                    (b"tran", p) => rest = Some(transform(p)?),
                    _ => {}
                }
            }
            if let (Some(id), Some(parent), Some(rest)) = (id, parent, rest) {
                bones[id] = Some(SkeletonBone {
                    parent: (parent != u16::MAX).then_some(parent),
                    rest,
                });
            }
        }
    }
    Ok(bones)
}

fn frame(payload: &[u8]) -> Result<Box<Frame>, MocopiError> {
    let mut frame = Box::new(Frame {
        number: None,
        time_s: None,
        utc_s: None,
        timecode: None,
        bones: [None; MAX_BONES],
    });
    for item in boxes(payload) {
        match item? {
            (b"fnum", p) => frame.number = Some(u32::from_le_bytes(leaf(p)?)),
            (b"time", p) => {
                let t = f32::from_le_bytes(leaf(p)?);
                frame.time_s = t.is_finite().then_some(t);
            }
            (b"uttm", p) => {
                let t = f64::from_le_bytes(leaf(p)?);
                frame.utc_s = t.is_finite().then_some(t);
            }
            (b"tmcd", p) => frame.timecode = Some(leaf(p)?),
            (b"btrs", btrs) => {
                for item in boxes(btrs) {
                    let (tag, btdt) = item?;
                    if tag != b"btdt" {
                        continue;
                    }
                    let (mut id, mut tran) = (None, None);
                    for item in boxes(btdt) {
                        match item? {
                            (b"bnid", p) => id = Some(bone_id(p)?),
                            (b"tran", p) => tran = Some(transform(p)?),
                            _ => {}
                        }
                    }
                    if let (Some(id), Some(tran)) = (id, tran) {
                        frame.bones[id] = Some(tran);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(frame)
}

/// Parses one datagram.
pub fn parse(bytes: &[u8]) -> Result<Packet, MocopiError> {
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(MocopiError::Oversized);
    }
    check_tree(bytes, 0)?;
    let mut head = false;
    let mut sender_box = Sender::default();
    let mut content = None;
    for item in boxes(bytes) {
        match item? {
            (b"head", _) => head = true,
            (b"sndf", p) => sender_box = sender(p)?,
            (b"skdf", p) if content.is_none() => content = Some((true, p)),
            (b"fram", p) if content.is_none() => content = Some((false, p)),
            _ => {}
        }
    }
    if !head {
        return Err(MocopiError::NotMocopi);
    }
    match content {
        Some((true, p)) => Ok(Packet::Skeleton {
            sender: sender_box,
            bones: skeleton(p)?,
        }),
        Some((false, p)) => Ok(Packet::Frame {
            sender: sender_box,
            frame: frame(p)?,
        }),
        None => Err(MocopiError::NoContent),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, Shape};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn both_frame_shapes_and_the_skeleton_parse_at_their_documented_sizes() {
        let skeleton_bytes = fixture::skeleton_datagram(&fixture::rest_offsets());
        assert_eq!(skeleton_bytes.len(), 1821, "the app's skeleton datagram");
        let Packet::Skeleton { sender, bones } = parse(&skeleton_bytes).unwrap() else {
            panic!("not a skeleton")
        };
        assert_eq!(sender.ip, Some([192, 168, 6, 105]));
        assert_eq!(sender.port, Some(12351));
        assert_eq!(bones.iter().flatten().count(), 27);
        assert_eq!(bones[0].unwrap().parent, None);
        assert_eq!(bones[15].unwrap().parent, Some(7));
        assert!((bones[0].unwrap().rest.position.y - 0.9329).abs() < 1e-6);

        let locals = [Quat::from_rotation_y(0.3); 27];
        for (shape, len) in [(Shape::Current, 1605), (Shape::Older, 1591)] {
            let bytes = fixture::frame_datagram(shape, 7, 0.02, &locals, Vec3::new(0.1, 0.9, 0.2));
            assert_eq!(bytes.len(), len, "{shape:?}");
            let Packet::Frame { frame, .. } = parse(&bytes).unwrap() else {
                panic!("not a frame")
            };
            assert_eq!(frame.number, Some(7));
            assert_eq!(frame.time_s, Some(0.02));
            assert_eq!(frame.timecode.is_some(), shape == Shape::Current);
            assert!(frame.utc_s.is_some());
            assert_eq!(frame.bones.iter().flatten().count(), 27);
            assert_eq!(frame.bones[0].unwrap().position, Vec3::new(0.1, 0.9, 0.2));
        }
    }

    #[test]
    fn unknown_boxes_are_skipped_and_bad_ones_are_named() {
        let locals = [Quat::IDENTITY; 27];
        let bytes = fixture::frame_datagram(Shape::Current, 1, 0.0, &locals, Vec3::Y);
        // A sensor box (never seen from the app, defined by Sony's library) before everything.
        let mut with_sensor = fixture::boxed(
            b"sndt",
            &[
                fixture::boxed(b"snnm", b"left wrist"),
                fixture::boxed(b"snvl", &[0u8; 28]),
            ]
            .concat(),
        );
        with_sensor.extend_from_slice(&bytes);
        assert!(matches!(parse(&with_sensor), Ok(Packet::Frame { .. })));

        assert_eq!(
            parse(&bytes[..bytes.len() - 3]),
            Err(MocopiError::Truncated)
        );
        assert_eq!(
            parse(&vec![0u8; MAX_DATAGRAM_LEN + 1]),
            Err(MocopiError::Oversized)
        );
        assert_eq!(
            parse(&fixture::boxed(b"fram", &[])),
            Err(MocopiError::NotMocopi)
        );
        let mut deep = fixture::boxed(b"btdt", &[]);
        for _ in 0..10 {
            deep = fixture::boxed(b"btrs", &deep);
        }
        assert_eq!(parse(&deep), Err(MocopiError::TooDeep));
        let mut nan = locals;
        nan[3] = Quat::from_xyzw(f32::NAN, 0.0, 0.0, 1.0);
        let bytes = fixture::frame_datagram(Shape::Older, 1, 0.0, &nan, Vec3::Y);
        assert_eq!(parse(&bytes), Err(MocopiError::NotFinite));
        let mut big_id = fixture::rest_offsets();
        big_id.truncate(1);
        let bad = fixture::boxed(
            b"bndt",
            &[
                fixture::boxed(b"bnid", &200u16.to_le_bytes()),
                fixture::boxed(b"tran", &[0u8; 28]),
            ]
            .concat(),
        );
        let datagram = [
            fixture::head_and_sender(),
            fixture::boxed(b"skdf", &fixture::boxed(b"bons", &bad)),
        ]
        .concat();
        assert_eq!(parse(&datagram), Err(MocopiError::BoneId));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn mutated_frames_never_panic(cut in 0usize..1605, flip in 0usize..1605, value: u8) {
            let locals = [Quat::IDENTITY; 27];
            let mut bytes = fixture::frame_datagram(Shape::Current, 1, 0.0, &locals, Vec3::Y);
            bytes[flip] = value;
            let _ = parse(&bytes);
            let _ = parse(&bytes[..cut]);
        }
    }
}
