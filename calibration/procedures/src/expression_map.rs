//! [`ExpressionMap`]: VRM 1.0 expression presets derived from ARKit channels, for avatars
//! without perfect-sync blendshapes.
//!
//! Face trackers send ARKit's 52 channels; most VRM avatars have only the VRM presets (`aa`,
//! `blinkLeft`, `happy`, …). Each preset gets a weighted sum of ARKit channels (clamped to
//! 0..1). A preset the frame already carries (a VMC app that sends its own `A`, the webcam's
//! visemes) is left as it is, and the ARKit channels always pass through unchanged, so avatars
//! that have ARKit-named expressions use them directly (the OBS page does). Defaults below;
//! each performer can replace any preset's rule in the config (`[expression_maps.NAME]`) or
//! over the API.
//!
//! Left and right are the avatar's own: `lookLeft` turns the eyes toward the avatar's left.

use std::collections::BTreeMap;

use kagura_protocol::{Expression, PoseFrame};

/// A preset's rule: ARKit channels and their weights.
pub type ExpressionRule = BTreeMap<Expression, f32>;

/// VRM preset → rule. See the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpressionMap {
    rules: BTreeMap<Expression, ExpressionRule>,
}

impl Default for ExpressionMap {
    fn default() -> Self {
        use Expression as E;
        let half = |a: Expression, b: Expression| [(a, 0.5), (b, 0.5)];
        let rules: [(Expression, &[(Expression, f32)]); 15] = [
            (E::BlinkLeft, &[(E::EyeBlinkLeft, 1.0)]),
            (E::BlinkRight, &[(E::EyeBlinkRight, 1.0)]),
            (E::Aa, &[(E::JawOpen, 1.0)]),
            (E::Ih, &half(E::MouthStretchLeft, E::MouthStretchRight)),
            (E::Ou, &[(E::MouthPucker, 1.0)]),
            (
                E::Ee,
                &half(E::MouthSmileLeft, E::MouthSmileRight).map(|(e, w)| (e, w * 0.6)),
            ),
            (E::Oh, &[(E::MouthFunnel, 1.0)]),
            (E::Happy, &half(E::MouthSmileLeft, E::MouthSmileRight)),
            (E::Sad, &half(E::MouthFrownLeft, E::MouthFrownRight)),
            (E::Angry, &half(E::BrowDownLeft, E::BrowDownRight)),
            (
                E::Surprised,
                &[
                    (E::BrowInnerUp, 0.5),
                    (E::EyeWideLeft, 0.25),
                    (E::EyeWideRight, 0.25),
                ],
            ),
            (E::LookUp, &half(E::EyeLookUpLeft, E::EyeLookUpRight)),
            (E::LookDown, &half(E::EyeLookDownLeft, E::EyeLookDownRight)),
            (E::LookLeft, &half(E::EyeLookOutLeft, E::EyeLookInRight)),
            (E::LookRight, &half(E::EyeLookInLeft, E::EyeLookOutRight)),
        ];
        ExpressionMap {
            rules: rules
                .into_iter()
                .map(|(preset, rule)| (preset, rule.iter().copied().collect()))
                .collect(),
        }
    }
}

impl ExpressionMap {
    /// The defaults with some presets' rules replaced (an empty rule turns a preset off).
    /// Targets must be VRM presets, inputs ARKit channels, weights finite.
    pub fn with_overrides(
        overrides: &BTreeMap<Expression, ExpressionRule>,
    ) -> Result<Self, String> {
        let mut map = ExpressionMap::default();
        for (preset, rule) in overrides {
            if preset.is_arkit() {
                return Err(format!(
                    "{preset} is an ARKit channel; map onto VRM presets only"
                ));
            }
            if let Some((input, _)) = rule.iter().find(|(e, _)| !e.is_arkit()) {
                return Err(format!("{preset}: {input} is not an ARKit channel"));
            }
            if let Some((input, w)) = rule.iter().find(|(_, w)| !w.is_finite()) {
                return Err(format!("{preset}: the weight of {input} is {w}"));
            }
            map.rules.insert(*preset, rule.clone());
        }
        Ok(map)
    }

    /// Every preset's rule.
    pub fn rules(&self) -> &BTreeMap<Expression, ExpressionRule> {
        &self.rules
    }

    /// Fills the presets `frame` lacks from its ARKit channels (only those with at least one of
    /// their inputs present).
    pub fn apply(&self, frame: &mut PoseFrame) {
        for (preset, rule) in &self.rules {
            if frame.expression(*preset).is_some() {
                continue;
            }
            let mut any = false;
            let mut sum = 0.0;
            for (input, weight) in rule {
                if let Some(v) = frame.expression(*input) {
                    any = true;
                    sum += v * weight;
                }
            }
            if any {
                frame.set_expression(*preset, sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::PerformerId;

    #[test]
    fn presets_come_from_arkit_unless_the_frame_has_them() {
        let map = ExpressionMap::default();
        let mut frame = PoseFrame::new(PerformerId(0));
        frame.set_expression(Expression::EyeBlinkLeft, 0.8);
        frame.set_expression(Expression::MouthSmileLeft, 1.0);
        frame.set_expression(Expression::JawOpen, 0.3);
        frame.set_expression(Expression::Aa, 0.9); // the source's own viseme wins
        map.apply(&mut frame);
        assert_eq!(frame.expression(Expression::BlinkLeft), Some(0.8));
        assert_eq!(frame.expression(Expression::Happy), Some(0.5));
        assert_eq!(frame.expression(Expression::Aa), Some(0.9));
        assert_eq!(frame.expression(Expression::BlinkRight), None);
        assert_eq!(frame.expression(Expression::EyeBlinkLeft), Some(0.8));
    }

    #[test]
    fn overrides_replace_a_rule_and_are_checked() {
        let happy: ExpressionRule = [(Expression::MouthSmileLeft, 2.0)].into();
        let overrides = [
            (Expression::Happy, happy),
            (Expression::Sad, ExpressionRule::new()),
        ]
        .into();
        let map = ExpressionMap::with_overrides(&overrides).unwrap();
        let mut frame = PoseFrame::new(PerformerId(0));
        frame.set_expression(Expression::MouthSmileLeft, 0.3);
        frame.set_expression(Expression::MouthFrownLeft, 1.0);
        map.apply(&mut frame);
        assert!((frame.expression(Expression::Happy).unwrap() - 0.6).abs() < 1e-6);
        assert_eq!(frame.expression(Expression::Sad), None);
        let bad = [(Expression::JawOpen, ExpressionRule::new())].into();
        assert!(ExpressionMap::with_overrides(&bad).is_err());
        let bad = [(Expression::Happy, [(Expression::Aa, 1.0)].into())].into();
        assert!(
            ExpressionMap::with_overrides(&bad)
                .unwrap_err()
                .contains("not an ARKit")
        );
    }
}
