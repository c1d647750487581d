//! Quantized unit quaternions: 44 bits, at most 0.0096° of rotation error.
//!
//! "Smallest three" with an equal-angle grid: the largest-magnitude component `k` (2 bits) is
//! made positive and dropped; each other component `c` is sent as `atan(c / q_k)`, which lies in
//! −45°..45°, on a uniform 14-bit grid (levels 0..=16382). Dividing by the largest component (a gnomonic projection
//! onto a cube face) and then taking the angle spreads the grid evenly over the sphere of
//! rotations, so the worst-case error is √3·(π/4)/16382 on the unit 3-sphere, i.e. at most
//! 2·that ≈ 1.66e-4 rad ≈ 0.0095° of rotation. The plain smallest-three layout needs 15 bits
//! per component (47 bits) for the same bound.

use glam::{DQuat, Quat};

pub(crate) const ROTATION_BITS: u32 = 2 + 3 * COMPONENT_BITS;
const COMPONENT_BITS: u32 = 14;
/// The highest grid level. Even, so that level `LEVELS / 2` is exactly 0 and the identity
/// rotation (and any rotation about one axis) survives exactly.
const LEVELS: f64 = ((1u32 << COMPONENT_BITS) - 2) as f64;
const QUARTER_PI: f64 = std::f64::consts::FRAC_PI_4;

/// Packs a unit quaternion into [`ROTATION_BITS`] bits.
pub(crate) fn quantize(q: Quat) -> u64 {
    let c = q.as_dquat().normalize().to_array();
    let k = (0..4)
        .max_by(|&a, &b| c[a].abs().total_cmp(&c[b].abs()))
        .unwrap_or(3);
    let largest = c[k];
    let mut packed = k as u64;
    let mut shift = 2;
    for (i, &component) in c.iter().enumerate() {
        if i == k {
            continue;
        }
        // Dividing by the signed largest component also flips q to the hemisphere where it
        // is positive (q and −q are the same rotation).
        let angle = (component / largest).clamp(-1.0, 1.0).atan();
        let level = ((angle + QUARTER_PI) / (2.0 * QUARTER_PI) * LEVELS).round();
        packed |= (level.clamp(0.0, LEVELS) as u64) << shift;
        shift += COMPONENT_BITS;
    }
    packed
}

/// Unpacks [`quantize`]'s bits. Every bit pattern decodes to a unit quaternion.
pub(crate) fn dequantize(packed: u64) -> Quat {
    let k = (packed & 0b11) as usize;
    let mut c = [1.0f64; 4];
    let mut shift = 2;
    for (i, slot) in c.iter_mut().enumerate() {
        if i == k {
            continue;
        }
        let level = ((packed >> shift) & ((1 << COMPONENT_BITS) - 1)) as f64;
        *slot = (level / LEVELS * 2.0 * QUARTER_PI - QUARTER_PI).tan();
        shift += COMPONENT_BITS;
    }
    DQuat::from_array(c).normalize().as_quat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation_error_degrees;
    use proptest::prelude::*;

    fn arbitrary_rotation() -> impl Strategy<Value = Quat> {
        (-1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0)
            .prop_filter("non-degenerate", |(x, y, z, w)| {
                x * x + y * y + z * z + w * w > 1e-3
            })
            .prop_map(|(x, y, z, w)| Quat::from_xyzw(x, y, z, w).normalize())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn round_trip_error_below_a_hundredth_of_a_degree(q in arbitrary_rotation()) {
            let back = dequantize(quantize(q));
            prop_assert!(rotation_error_degrees(q, back) <= 0.01);
            prop_assert!((back.length() - 1.0).abs() < 1e-5);
        }

        #[test]
        fn any_bits_decode_to_a_unit_quaternion(bits in any::<u64>()) {
            let q = dequantize(bits & ((1 << ROTATION_BITS) - 1));
            prop_assert!(q.is_finite() && (q.length() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn identity_survives_exactly() {
        assert_eq!(dequantize(quantize(Quat::IDENTITY)), Quat::IDENTITY);
    }

    #[test]
    fn worst_cases_stay_within_bound() {
        // Cube corners and edges, where components tie, and cells' mid-points.
        let half_step = (2.0 * QUARTER_PI / LEVELS / 2.0) as f32;
        for q in [
            Quat::from_xyzw(0.5, 0.5, 0.5, 0.5),
            Quat::from_xyzw(0.5, -0.5, 0.5, -0.5),
            Quat::from_xyzw(0.0, 0.0, 0.0, 1.0),
            Quat::from_xyzw(half_step.tan(), half_step.tan(), half_step.tan(), 1.0).normalize(),
            Quat::from_xyzw(1.0, 1.0, 0.0, 0.0).normalize(),
        ] {
            let err = rotation_error_degrees(q, dequantize(quantize(q)));
            assert!(err <= 0.01, "{q:?}: {err}°");
        }
    }
}
