//! OpenSeeFace's record: 1785 bytes, little-endian, no padding, one per face; a datagram is
//! whole records end to end (`facetracker.py`'s `struct.pack` calls; `OpenSee.cs` reads them).
//!
//! | offset | type | field |
//! |---|---|---|
//! | 0 | f64 | time, Unix seconds |
//! | 8 | i32 | face id |
//! | 12 | f32×2 | camera width, height |
//! | 20 | f32×2 | eye openness right, left (1 = open) |
//! | 28 | u8 | 3-D fit succeeded |
//! | 29 | f32 | PnP error |
//! | 33 | f32×4 | quaternion x, y, z, w (see `convention`) |
//! | 49 | f32×3 | Euler angles, degrees |
//! | 61 | f32×3 | translation |
//! | 73 | f32×68 | landmark confidences |
//! | 345 | f32×68×2 | 2-D landmarks |
//! | 889 | f32×70×3 | 3-D points (x, −y, −z): 66 face points, pupils (66 right, 67 left), eyeball centres (68 right, 69 left) |
//! | 1729 | f32×14 | features ([`Feature`]) |

use glam::Vec3;

/// Bytes per face record.
pub const RECORD_LEN: usize = 1785;
/// Features per record.
pub const FEATURE_COUNT: usize = 14;

const POINTS_3D: usize = 889;
const FEATURES: usize = 1729;

/// The features, in record order. `_l`/`_r` are the performer's own left and right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Feature {
    EyeL,
    EyeR,
    EyebrowSteepnessL,
    EyebrowUpDownL,
    EyebrowQuirkL,
    EyebrowSteepnessR,
    EyebrowUpDownR,
    EyebrowQuirkR,
    MouthCornerUpDownL,
    MouthCornerInOutL,
    MouthCornerUpDownR,
    MouthCornerInOutR,
    MouthOpen,
    MouthWide,
}

/// One face, as sent (the sender's units and axes; landmarks and confidences are not kept).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OsfRecord {
    pub time_s: f64,
    pub face_id: i32,
    pub camera: [f32; 2],
    pub eye_open_right: f32,
    pub eye_open_left: f32,
    /// Whether the 3-D fit succeeded; if not, pose and 3-D points mean nothing.
    pub success: bool,
    pub pnp_error: f32,
    /// x, y, z, w.
    pub quaternion: [f32; 4],
    pub euler: [f32; 3],
    pub translation: [f32; 3],
    /// 3-D points 66–69 as sent (x, −y, −z of the face model's frame).
    pub right_pupil: Vec3,
    pub left_pupil: Vec3,
    pub right_eyeball: Vec3,
    pub left_eyeball: Vec3,
    pub features: [f32; FEATURE_COUNT],
}

/// Why a datagram was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OsfError {
    #[error("{0} bytes is not a whole number of {RECORD_LEN}-byte records")]
    Length(usize),
}

/// The records of one datagram; rejected whole unless its length is a non-zero multiple of
/// [`RECORD_LEN`].
pub fn records(bytes: &[u8]) -> Result<impl Iterator<Item = OsfRecord> + '_, OsfError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD_LEN) {
        return Err(OsfError::Length(bytes.len()));
    }
    Ok(bytes.chunks_exact(RECORD_LEN).map(OsfRecord::read))
}

impl OsfRecord {
    /// Reads one record from exactly [`RECORD_LEN`] bytes.
    fn read(r: &[u8]) -> OsfRecord {
        let f = |o: usize| f32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
        let point = |i: usize| {
            let o = POINTS_3D + i * 12;
            Vec3::new(f(o), f(o + 4), f(o + 8))
        };
        let mut time = [0u8; 8];
        time.copy_from_slice(&r[0..8]);
        OsfRecord {
            time_s: f64::from_le_bytes(time),
            face_id: i32::from_le_bytes([r[8], r[9], r[10], r[11]]),
            camera: [f(12), f(16)],
            eye_open_right: f(20),
            eye_open_left: f(24),
            success: r[28] != 0,
            pnp_error: f(29),
            quaternion: [f(33), f(37), f(41), f(45)],
            euler: [f(49), f(53), f(57)],
            translation: [f(61), f(65), f(69)],
            right_pupil: point(66),
            left_pupil: point(67),
            right_eyeball: point(68),
            left_eyeball: point(69),
            features: std::array::from_fn(|i| f(FEATURES + 4 * i)),
        }
    }

    pub fn feature(&self, feature: Feature) -> f32 {
        self.features[feature as usize]
    }

    /// Appends the record as `facetracker.py` writes it (landmarks and confidences zero), for
    /// tests and simulators.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + RECORD_LEN, 0);
        let r = &mut out[start..];
        let mut put = |o: usize, bytes: &[u8]| r[o..o + bytes.len()].copy_from_slice(bytes);
        put(0, &self.time_s.to_le_bytes());
        put(8, &self.face_id.to_le_bytes());
        let floats: [(usize, f32); 15] = [
            (12, self.camera[0]),
            (16, self.camera[1]),
            (20, self.eye_open_right),
            (24, self.eye_open_left),
            (29, self.pnp_error),
            (33, self.quaternion[0]),
            (37, self.quaternion[1]),
            (41, self.quaternion[2]),
            (45, self.quaternion[3]),
            (49, self.euler[0]),
            (53, self.euler[1]),
            (57, self.euler[2]),
            (61, self.translation[0]),
            (65, self.translation[1]),
            (69, self.translation[2]),
        ];
        for (o, v) in floats {
            put(o, &v.to_le_bytes());
        }
        put(28, &[u8::from(self.success)]);
        for (i, p) in [
            (66, self.right_pupil),
            (67, self.left_pupil),
            (68, self.right_eyeball),
            (69, self.left_eyeball),
        ] {
            for (k, v) in p.to_array().into_iter().enumerate() {
                put(POINTS_3D + i * 12 + 4 * k, &v.to_le_bytes());
            }
        }
        for (i, v) in self.features.into_iter().enumerate() {
            put(FEATURES + 4 * i, &v.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(face_id: i32) -> OsfRecord {
        OsfRecord {
            time_s: 1_700_000_000.25,
            face_id,
            camera: [640.0, 480.0],
            eye_open_right: 0.9,
            eye_open_left: 0.3,
            success: true,
            pnp_error: 12.5,
            quaternion: [0.1, -0.2, 0.3, 0.9],
            euler: [170.0, 5.0, -85.0],
            translation: [0.5, -0.25, 8.0],
            right_pupil: Vec3::new(0.26, -0.28, 0.17),
            left_pupil: Vec3::new(-0.26, -0.28, 0.17),
            right_eyeball: Vec3::new(0.25, -0.27, 0.25),
            left_eyeball: Vec3::new(-0.25, -0.27, 0.25),
            features: std::array::from_fn(|i| i as f32 * 0.1 - 0.5),
        }
    }

    /// Built by hand at the documented offsets, not by `encode`: the layout itself is pinned.
    #[test]
    fn fields_are_read_at_the_documented_offsets() {
        let mut bytes = vec![0u8; RECORD_LEN];
        bytes[0..8].copy_from_slice(&12.5f64.to_le_bytes());
        bytes[8..12].copy_from_slice(&(-3i32).to_le_bytes());
        bytes[20..24].copy_from_slice(&0.75f32.to_le_bytes());
        bytes[28] = 1;
        bytes[45..49].copy_from_slice(&1f32.to_le_bytes());
        bytes[61..65].copy_from_slice(&2f32.to_le_bytes());
        bytes[889 + 66 * 12..889 + 66 * 12 + 4].copy_from_slice(&4f32.to_le_bytes());
        bytes[889 + 69 * 12 + 8..889 + 69 * 12 + 12].copy_from_slice(&5f32.to_le_bytes());
        bytes[1729 + 12 * 4..1729 + 13 * 4].copy_from_slice(&0.5f32.to_le_bytes());
        bytes[RECORD_LEN - 4..].copy_from_slice(&0.25f32.to_le_bytes());
        let r: Vec<OsfRecord> = records(&bytes).unwrap().collect();
        let r = r[0];
        assert_eq!(
            (r.time_s, r.face_id, r.eye_open_right, r.success),
            (12.5, -3, 0.75, true)
        );
        assert_eq!(r.quaternion, [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(r.translation, [2.0, 0.0, 0.0]);
        assert_eq!(r.right_pupil, Vec3::new(4.0, 0.0, 0.0));
        assert_eq!(r.left_eyeball, Vec3::new(0.0, 0.0, 5.0));
        assert_eq!(r.feature(Feature::MouthOpen), 0.5);
        assert_eq!(r.feature(Feature::MouthWide), 0.25);
    }

    #[test]
    fn records_round_trip_and_several_faces_share_a_datagram() {
        let mut bytes = Vec::new();
        sample(0).encode(&mut bytes);
        sample(1).encode(&mut bytes);
        assert_eq!(bytes.len(), 2 * RECORD_LEN);
        let got: Vec<OsfRecord> = records(&bytes).unwrap().collect();
        assert_eq!(got, vec![sample(0), sample(1)]);
    }

    #[test]
    fn lengths_other_than_whole_records_are_rejected() {
        for len in [
            0,
            1,
            1729,
            RECORD_LEN - 1,
            RECORD_LEN + 1,
            3 * RECORD_LEN - 7,
        ] {
            assert_eq!(
                records(&vec![0; len]).err(),
                Some(OsfError::Length(len)),
                "{len}"
            );
        }
        assert_eq!(records(&vec![0xff; 3 * RECORD_LEN]).unwrap().count(), 3);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..4 * RECORD_LEN)) {
            if let Ok(records) = records(&bytes) {
                prop_assert_eq!(records.count(), bytes.len() / RECORD_LEN);
            }
        }

        #[test]
        fn any_whole_records_parse_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), RECORD_LEN..=RECORD_LEN)
        ) {
            prop_assert_eq!(records(&bytes).unwrap().count(), 1);
        }
    }
}
