//! MVN datagrams written from the documented layout (`../shared/reference/suits.md` §5), for
//! tests and benchmarks; independent of [`super::packet`].

use glam::{Quat, Vec3};

/// A performer standing in MVN's T-pose (every segment's orientation the identity), segment id
/// (1-based), position (MVN axes: X forward, Y left, Z up; `scale` units per metre: 1 for
/// metres, 100 for centimetres) and orientation.
pub fn standing(scale: f32) -> Vec<(i32, Vec3, Quat)> {
    // Segment origins of a 1.75 m person: pelvis, L5, L3, T12, T8, neck, head; right shoulder,
    // upper arm, forearm, hand; left …; right upper leg, lower leg, foot, toe; left ….
    let positions: [[f32; 3]; 23] = [
        [0.0, 0.0, 0.95],
        [0.0, 0.0, 1.05],
        [0.0, 0.0, 1.15],
        [0.0, 0.0, 1.25],
        [0.0, 0.0, 1.35],
        [0.0, 0.0, 1.55],
        [0.0, 0.0, 1.65],
        [0.0, -0.03, 1.50],
        [0.0, -0.18, 1.50],
        [0.0, -0.46, 1.50],
        [0.0, -0.72, 1.50],
        [0.0, 0.03, 1.50],
        [0.0, 0.18, 1.50],
        [0.0, 0.46, 1.50],
        [0.0, 0.72, 1.50],
        [0.0, -0.09, 0.95],
        [0.0, -0.09, 0.52],
        [0.0, -0.09, 0.10],
        [0.14, -0.09, 0.02],
        [0.0, 0.09, 0.95],
        [0.0, 0.09, 0.52],
        [0.0, 0.09, 0.10],
        [0.14, 0.09, 0.02],
    ];
    positions
        .iter()
        .enumerate()
        .map(|(i, p)| (i as i32 + 1, Vec3::from(*p) * scale, Quat::IDENTITY))
        .collect()
}

/// One sample of type 02 as datagrams of at most `per_datagram` segments each.
pub fn pose_datagrams(
    character: u8,
    sample: u32,
    time_code_ms: u32,
    segments: &[(i32, Vec3, Quat)],
    per_datagram: usize,
) -> Vec<Vec<u8>> {
    let chunks: Vec<_> = segments.chunks(per_datagram.max(1)).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(index, chunk)| {
            let mut out = b"MXTP02".to_vec();
            out.extend_from_slice(&sample.to_be_bytes());
            let last = if index + 1 == chunks.len() { 0x80 } else { 0 };
            out.push(index as u8 | last);
            out.push(chunk.len() as u8);
            out.extend_from_slice(&time_code_ms.to_be_bytes());
            out.extend_from_slice(&[character, 23, 0, 0, 0, 0]);
            out.extend_from_slice(&((chunk.len() * 32) as u16).to_be_bytes());
            for (id, p, q) in chunk.iter() {
                out.extend_from_slice(&id.to_be_bytes());
                for v in [p.x, p.y, p.z, q.w, q.x, q.y, q.z] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            out
        })
        .collect()
}
