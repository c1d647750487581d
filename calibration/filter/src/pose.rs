//! [`PoseFilter`]: a whole performer's pose through One Euro filters, bone by bone.

use glam::Vec3;
use kagura_protocol::{Expression, HumanoidBone, PoseFrame};

use super::one_euro::OneEuroFilter;
use super::presets::{BoneGroup, FilterSettings};
use super::rotation::OneEuroRotationFilter;

/// Per-performer filter state. Time is the frame's `capture_us`; the same frames give the same
/// output. Absent bones and expressions stay absent (and their filters keep their state for
/// when they return, or restart after a gap).
#[derive(Clone, Debug)]
pub struct PoseFilter {
    bones: Vec<OneEuroRotationFilter>,
    root_rotation: OneEuroRotationFilter,
    root_position: OneEuroFilter,
    hips_position: OneEuroFilter,
    expressions: Vec<OneEuroFilter>,
}

impl Default for PoseFilter {
    fn default() -> Self {
        PoseFilter {
            bones: vec![OneEuroRotationFilter::default(); HumanoidBone::COUNT],
            root_rotation: OneEuroRotationFilter::default(),
            root_position: OneEuroFilter::default(),
            hips_position: OneEuroFilter::default(),
            expressions: vec![OneEuroFilter::default(); Expression::COUNT],
        }
    }
}

impl PoseFilter {
    /// Filters `frame` in place. With `settings.enabled` off, the frame is left untouched.
    pub fn apply(&mut self, frame: &mut PoseFrame, settings: &FilterSettings) {
        if !settings.enabled {
            return;
        }
        let t = frame.capture_us;
        let predict = settings.predict_us;
        for bone in HumanoidBone::ALL {
            if let Some(q) = frame.bone(bone) {
                let params = settings.rotation(BoneGroup::of(bone));
                frame.set_bone(bone, self.bones[bone.index()].filter(q, t, params, predict));
            }
        }
        if let Some(root) = &mut frame.root {
            root.rotation = self
                .root_rotation
                .filter(root.rotation, t, &settings.spine, predict);
            root.position = self
                .root_position
                .filter(root.position, t, &settings.position);
        }
        if let Some(hips) = frame.hips_position {
            frame.hips_position = Some(self.hips_position.filter(hips, t, &settings.position));
        }
        for expression in Expression::ALL {
            if let Some(w) = frame.expression(expression) {
                let filtered = self.expressions[expression.index()].filter(
                    Vec3::new(w, 0.0, 0.0),
                    t,
                    &settings.face,
                );
                frame.set_expression(expression, filtered.x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OneEuroParams;
    use glam::Quat;
    use kagura_protocol::PerformerId;

    #[test]
    fn disabled_passes_through_and_enabled_smooths_noise() {
        let mut settings = FilterSettings::light();
        settings.head = OneEuroParams::new(0.6, 1.5);
        settings.face = OneEuroParams::new(2.0, 1.0);
        let mut filter = PoseFilter::default();
        let noisy = |i: u64| {
            let mut f = PoseFrame::new(PerformerId(0));
            f.capture_us = 1_000_000 + i * 16_667;
            let wobble = if i.is_multiple_of(2) { 0.02 } else { -0.02 };
            f.set_bone(HumanoidBone::Head, Quat::from_rotation_y(wobble));
            f.set_expression(Expression::Aa, 0.5 + wobble);
            f
        };
        settings.enabled = false;
        let mut f = noisy(1);
        let before = f.clone();
        filter.apply(&mut f, &settings);
        assert_eq!(f, before);

        settings.enabled = true;
        let mut last = noisy(0);
        for i in 0..120 {
            last = noisy(i);
            filter.apply(&mut last, &settings);
        }
        let angle = last
            .bone(HumanoidBone::Head)
            .unwrap()
            .to_scaled_axis()
            .length();
        assert!(angle < 0.005, "±0.02 rad wobble reduced to {angle}");
        assert!((last.expression(Expression::Aa).unwrap() - 0.5).abs() < 0.005);
        assert!(
            last.bone(HumanoidBone::LeftHand).is_none(),
            "absent stays absent"
        );
    }
}
