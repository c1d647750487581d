//! Averaging rotations: samples moved to one hemisphere, summed and normalized. Accurate for
//! samples that cluster (a held pose with sensor noise), which is what calibration captures are.

use glam::Quat;

/// The mean of `samples`, or `None` if there are none.
pub fn average_rotation(samples: impl IntoIterator<Item = Quat>) -> Option<Quat> {
    let mut iter = samples.into_iter();
    let first = iter.next()?;
    let mut sum = first;
    for q in iter {
        sum += if q.dot(first) < 0.0 { -q } else { q };
    }
    let length = sum.length();
    (length > 1e-6).then(|| sum / length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::rotation_error_degrees;

    #[test]
    fn mean_of_symmetric_noise_and_double_cover() {
        let centre = Quat::from_rotation_y(0.7);
        let samples = [
            centre * Quat::from_rotation_x(0.05),
            -(centre * Quat::from_rotation_x(-0.05)),
            centre * Quat::from_rotation_z(0.05),
            centre * Quat::from_rotation_z(-0.05),
        ];
        assert!(rotation_error_degrees(average_rotation(samples).unwrap(), centre) < 0.01);
        assert_eq!(average_rotation(std::iter::empty()), None);
    }
}
