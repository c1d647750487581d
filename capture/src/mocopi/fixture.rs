//! mocopi datagrams written from the documented layout (`../shared/reference/suits.md` §2, the
//! box order and sizes of the app's real datagrams), for tests and benchmarks. Written
//! independently of [`super::packet`]: box by box, as the app lays them out.

use glam::{Quat, Vec3};

/// The app's parents (`pbid`), from a real skeleton definition; −1 is the root.
pub const PARENTS: [i32; 27] = [
    -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 7, 11, 12, 13, 7, 15, 16, 17, 0, 19, 20, 21, 0, 23, 24, 25,
];

/// Rest offsets of a performer's body (metres, mocopi axes: right-handed, +Y up, facing +Z,
/// left +X), as the skeleton definition carries them: the hips 0.9329 m up and the upper arms
/// 0.1295 m out from the shoulders (a real skeleton's figures), the rest a plausible body.
const OFFSETS: [[f32; 3]; 27] = [
    [0.0, 0.9329, 0.0],
    [0.0, 0.05, 0.0],
    [0.0, 0.05, 0.0],
    [0.0, 0.06, 0.0],
    [0.0, 0.06, 0.0],
    [0.0, 0.06, 0.0],
    [0.0, 0.07, 0.0],
    [0.0, 0.08, 0.0],
    [0.0, 0.05, 0.01],
    [0.0, 0.05, 0.0],
    [0.0, 0.06, 0.0],
    [0.025, 0.0, 0.0],
    [0.1295, 0.0, 0.0],
    [0.27, 0.0, 0.0],
    [0.24, 0.0, 0.0],
    [-0.025, 0.0, 0.0],
    [-0.1295, 0.0, 0.0],
    [-0.27, 0.0, 0.0],
    [-0.24, 0.0, 0.0],
    [0.085, -0.04, 0.0],
    [0.0, -0.43, 0.0],
    [0.0, -0.42, 0.0],
    [0.0, -0.06, 0.13],
    [-0.085, -0.04, 0.0],
    [0.0, -0.43, 0.0],
    [0.0, -0.42, 0.0],
    [0.0, -0.06, 0.13],
];

/// Which frame layout to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The current app: `fnum, time, uttm, tmcd, btrs` (1605 bytes).
    Current,
    /// Older senders (Sony's Unity emulator): `fnum, time, uttm, btrs` (1591 bytes).
    Older,
}

/// One box: `u32 LE payload length | tag | payload`.
pub fn boxed(tag: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(tag);
    out.extend_from_slice(payload);
    out
}

/// `head{ftyp,vrsn} sndf{ipad,rcvp}` as the app sends them (sender 192.168.6.105, port 12351).
pub fn head_and_sender() -> Vec<u8> {
    let head = boxed(
        b"head",
        &[boxed(b"ftyp", b"sony motion format"), boxed(b"vrsn", &[1])].concat(),
    );
    let sndf = boxed(
        b"sndf",
        &[
            boxed(b"ipad", &192_168_006_105u64.to_le_bytes()),
            boxed(b"rcvp", &12351u16.to_le_bytes()),
        ]
        .concat(),
    );
    [head, sndf].concat()
}

fn tran(rotation: Quat, position: Vec3) -> Vec<u8> {
    let values = [
        rotation.x, rotation.y, rotation.z, rotation.w, position.x, position.y, position.z,
    ];
    boxed(
        b"tran",
        &values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
}

/// [`OFFSETS`] as vectors.
pub fn rest_offsets() -> Vec<Vec3> {
    OFFSETS.iter().map(|o| Vec3::from(*o)).collect()
}

/// A skeleton definition datagram for 27 bones with these rest offsets, identity rest
/// rotations, and the app's parents.
pub fn skeleton_datagram(offsets: &[Vec3]) -> Vec<u8> {
    let bones: Vec<u8> = offsets
        .iter()
        .zip(PARENTS)
        .enumerate()
        .flat_map(|(id, (offset, parent))| {
            let parent = if parent < 0 { u16::MAX } else { parent as u16 };
            boxed(
                b"bndt",
                &[
                    boxed(b"bnid", &(id as u16).to_le_bytes()),
                    boxed(b"pbid", &parent.to_le_bytes()),
                    tran(Quat::IDENTITY, *offset),
                ]
                .concat(),
            )
        })
        .collect();
    [head_and_sender(), boxed(b"skdf", &boxed(b"bons", &bones))].concat()
}

/// A frame datagram: bone `i`'s local rotation `locals[i]` (mocopi axes), the root at
/// `root_position` (metres) and every other bone at its rest offset.
pub fn frame_datagram(
    shape: Shape,
    number: u32,
    time_s: f32,
    locals: &[Quat; 27],
    root_position: Vec3,
) -> Vec<u8> {
    let offsets = rest_offsets();
    let bones: Vec<u8> = (0..27)
        .flat_map(|id| {
            let position = if id == 0 { root_position } else { offsets[id] };
            boxed(
                b"btdt",
                &[
                    boxed(b"bnid", &(id as u16).to_le_bytes()),
                    tran(locals[id], position),
                ]
                .concat(),
            )
        })
        .collect();
    let mut fram = [
        boxed(b"fnum", &number.to_le_bytes()),
        boxed(b"time", &time_s.to_le_bytes()),
    ]
    .concat();
    let utc = 1_742_197_420.494_689 + f64::from(time_s);
    fram.extend(boxed(b"uttm", &utc.to_le_bytes()));
    if shape == Shape::Current {
        fram.extend(boxed(b"tmcd", &[7, 43, 40, 12, 50, 0]));
    }
    fram.extend(boxed(b"btrs", &bones));
    [head_and_sender(), boxed(b"fram", &fram)].concat()
}
