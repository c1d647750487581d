//! MVN's network streamer datagrams (`MXTP`, big-endian; `../shared/reference/suits.md` §5):
//! a 24-byte header, then items. Only type 02 (segment positions and quaternions) is read;
//! the other types are recognised and ignored. Total and allocation-free: lengths are checked
//! against the header and the datagram before anything is read.
//!
//! Header: `"MXTP"`, two ASCII digits of type, `u32` sample counter, `u8` datagram counter
//! (bit 7: the sample's last datagram; the rest its index), `u8` items, `u32` time code (ms),
//! `u8` character id, `u8` body segments, `u8` props, `u8` finger segments, `u16` reserved,
//! `u16` payload size. Type 02 item: `i32` segment id (1-based), `f32` x, y, z, `f32` qw, qx,
//! qy, qz (32 bytes).

use glam::{Quat, Vec3};
use thiserror::Error;

pub const HEADER_LEN: usize = 24;
pub const POSE_ITEM_LEN: usize = 32;
/// Largest datagram accepted (23 segments are 760 bytes; with props and fingers ~2.2 KB).
pub const MAX_DATAGRAM_LEN: usize = 16 * 1024;
/// The quaternion pose type.
pub const POSE_QUATERNION: u8 = 2;

/// A datagram's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The message type (02: quaternion pose).
    pub kind: u8,
    pub sample: u32,
    /// Index of this datagram within its sample.
    pub datagram: u8,
    /// Whether it is the sample's last (or only) datagram.
    pub last: bool,
    pub items: u8,
    /// The sample's time code, ms.
    pub time_code_ms: u32,
    pub character: u8,
    pub body_segments: u8,
    pub props: u8,
    pub finger_segments: u8,
}

/// One segment of a type 02 datagram, as sent (MVN axes: Z up; units as sent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegmentPose {
    /// 1-based segment id.
    pub id: i32,
    pub position: Vec3,
    pub rotation: Quat,
}

#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum XsensError {
    #[error("datagram longer than {MAX_DATAGRAM_LEN} bytes")]
    Oversized,
    #[error("shorter than its header or its payload size")]
    Truncated,
    #[error("not an MVN datagram (no MXTP magic)")]
    NotMvn,
    #[error("payload size does not match the items")]
    BadPayload,
    #[error("a value is NaN or infinite")]
    NotFinite,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_bits(u32_at(b, at))
}

/// Reads the header and returns it with the payload.
pub fn parse_header(bytes: &[u8]) -> Result<(Header, &[u8]), XsensError> {
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(XsensError::Oversized);
    }
    let h = bytes.get(..HEADER_LEN).ok_or(XsensError::Truncated)?;
    if &h[..4] != b"MXTP" || !h[4].is_ascii_digit() || !h[5].is_ascii_digit() {
        return Err(XsensError::NotMvn);
    }
    let payload_len = u16_at(h, 22) as usize;
    let payload = &bytes[HEADER_LEN..];
    // Older streamers leave the payload size 0 (reserved); then the datagram's length says it.
    if payload_len != 0 && payload.len() != payload_len {
        return Err(if payload.len() < payload_len {
            XsensError::Truncated
        } else {
            XsensError::BadPayload
        });
    }
    Ok((
        Header {
            kind: (h[4] - b'0') * 10 + (h[5] - b'0'),
            sample: u32_at(h, 6),
            datagram: h[10] & 0x7f,
            last: h[10] & 0x80 != 0,
            items: h[11],
            time_code_ms: u32_at(h, 12),
            character: h[16],
            body_segments: h[17],
            props: h[18],
            finger_segments: h[19],
        },
        payload,
    ))
}

/// The segments of a type 02 payload (checked whole first: `items` × 32 bytes, all finite).
pub fn pose_segments<'a>(
    header: &Header,
    payload: &'a [u8],
) -> Result<impl Iterator<Item = SegmentPose> + 'a, XsensError> {
    if payload.len() != header.items as usize * POSE_ITEM_LEN {
        return Err(XsensError::BadPayload);
    }
    let items = payload.chunks_exact(POSE_ITEM_LEN);
    if items
        .clone()
        .any(|item| (1..8).any(|k| !f32_at(item, 4 * k).is_finite()))
    {
        return Err(XsensError::NotFinite);
    }
    Ok(items.map(|item| SegmentPose {
        id: u32_at(item, 0) as i32,
        position: Vec3::new(f32_at(item, 4), f32_at(item, 8), f32_at(item, 12)),
        rotation: Quat::from_xyzw(
            f32_at(item, 20),
            f32_at(item, 24),
            f32_at(item, 28),
            f32_at(item, 16),
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_pose_datagram_reads_as_documented() {
        let segments = fixture::standing(1.0);
        let datagrams = fixture::pose_datagrams(3, 42, 1234, &segments, 23);
        assert_eq!(datagrams.len(), 1);
        assert_eq!(datagrams[0].len(), 760, "23 segments: a 760-byte datagram");
        let (header, payload) = parse_header(&datagrams[0]).unwrap();
        assert_eq!(
            header,
            Header {
                kind: 2,
                sample: 42,
                datagram: 0,
                last: true,
                items: 23,
                time_code_ms: 1234,
                character: 3,
                body_segments: 23,
                props: 0,
                finger_segments: 0,
            }
        );
        let read: Vec<SegmentPose> = pose_segments(&header, payload).unwrap().collect();
        assert_eq!(read.len(), 23);
        assert_eq!(read[0].id, 1);
        assert_eq!(read[0].position, segments[0].1);
        assert_eq!(read[6].rotation, segments[6].2);
        // Split into datagrams of 10 items: indices 0, 1, 2, the last flagged.
        let split = fixture::pose_datagrams(3, 42, 1234, &segments, 10);
        let headers: Vec<Header> = split.iter().map(|d| parse_header(d).unwrap().0).collect();
        assert_eq!(
            headers
                .iter()
                .map(|h| (h.datagram, h.last, h.items))
                .collect::<Vec<_>>(),
            [(0, false, 10), (1, false, 10), (2, true, 3)]
        );
    }

    #[test]
    fn bad_datagrams_are_named() {
        let segments = fixture::standing(1.0);
        let good = fixture::pose_datagrams(0, 1, 0, &segments, 23).remove(0);
        assert_eq!(parse_header(&good[..20]), Err(XsensError::Truncated));
        assert_eq!(parse_header(&good[..700]), Err(XsensError::Truncated));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(parse_header(&long), Err(XsensError::BadPayload));
        let mut magic = good.clone();
        magic[0] = b'N';
        assert_eq!(parse_header(&magic), Err(XsensError::NotMvn));
        assert_eq!(
            parse_header(&vec![0; MAX_DATAGRAM_LEN + 1]),
            Err(XsensError::Oversized)
        );
        let mut items = good.clone();
        items[11] = 22;
        let (h, p) = parse_header(&items).unwrap();
        assert!(matches!(pose_segments(&h, p), Err(XsensError::BadPayload)));
        let mut nan = good.clone();
        nan[HEADER_LEN + 32 * 5 + 16..HEADER_LEN + 32 * 5 + 20]
            .copy_from_slice(&f32::NAN.to_be_bytes());
        let (h, p) = parse_header(&nan).unwrap();
        assert!(matches!(pose_segments(&h, p), Err(XsensError::NotFinite)));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok((h, p)) = parse_header(&bytes)
                && let Ok(segments) = pose_segments(&h, p)
            {
                let _ = segments.count();
            }
        }

        #[test]
        fn valid_headers_with_arbitrary_items_never_panic(
            items in 0u8..40,
            body in proptest::collection::vec(any::<u8>(), 0..1400),
        ) {
            let mut bytes = b"MXTP02".to_vec();
            bytes.extend_from_slice(&[0, 0, 0, 1, 0x80, items, 0, 0, 0, 0, 0, 23, 0, 0, 0, 0]);
            bytes.extend_from_slice(&(body.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&body);
            let (h, p) = parse_header(&bytes).unwrap();
            if let Ok(segments) = pose_segments(&h, p) {
                prop_assert_eq!(segments.count(), items as usize);
            }
        }
    }
}
