//! Face calibration: a neutral-face capture and per-channel ranges, so that each expression
//! reads 0 on the performer's resting face and reaches 1 at their fullest.

use std::collections::BTreeMap;

use kagura_protocol::{Expression, PoseFrame};
use serde::{Deserialize, Serialize};

/// One channel's observed rest value and fullest value (raw weights, 0..1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelRange {
    pub neutral: f32,
    pub max: f32,
}

/// Smallest usable span between neutral and max; narrower ranges fall back to neutral..1.
const MIN_SPAN: f32 = 0.05;

impl ChannelRange {
    /// Maps a raw weight so that `neutral` reads 0 and `max` reads 1.
    pub fn map(&self, raw: f32) -> f32 {
        let top = if self.max - self.neutral >= MIN_SPAN {
            self.max
        } else {
            1.0
        };
        let span = (top - self.neutral).max(MIN_SPAN);
        ((raw - self.neutral) / span).clamp(0.0, 1.0)
    }
}

/// Per-channel ranges; channels without one pass through.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaceCalibration {
    pub channels: BTreeMap<Expression, ChannelRange>,
}

impl FaceCalibration {
    pub fn apply(&self, frame: &mut PoseFrame) {
        for (expression, range) in &self.channels {
            if let Some(w) = frame.expression(*expression) {
                frame.set_expression(*expression, range.map(w));
            }
        }
    }
}

/// What a face capture measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaceCaptureKind {
    /// The performer rests their face: each channel's mean becomes its neutral.
    Neutral,
    /// The performer pulls every face they can: each channel's peak becomes its max.
    Range,
}

/// Accumulates raw expression weights during a capture.
#[derive(Clone, Debug)]
pub struct FaceCapture {
    kind: FaceCaptureKind,
    sums: BTreeMap<Expression, (f32, u32, f32)>, // sum, count, max
}

impl FaceCapture {
    pub fn new(kind: FaceCaptureKind) -> Self {
        FaceCapture {
            kind,
            sums: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, raw: &PoseFrame) {
        for (expression, w) in raw.expressions() {
            let entry = self.sums.entry(expression).or_insert((0.0, 0, 0.0));
            entry.0 += w;
            entry.1 += 1;
            entry.2 = entry.2.max(w);
        }
    }

    /// `current` with this capture's neutrals or maxima written in.
    pub fn finish(&self, current: &FaceCalibration) -> FaceCalibration {
        let mut out = current.clone();
        for (expression, (sum, count, max)) in &self.sums {
            let range = out.channels.entry(*expression).or_insert(ChannelRange {
                neutral: 0.0,
                max: 1.0,
            });
            match self.kind {
                FaceCaptureKind::Neutral => range.neutral = sum / *count as f32,
                FaceCaptureKind::Range => range.max = *max,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::PerformerId;

    fn face(aa: f32) -> PoseFrame {
        let mut f = PoseFrame::new(PerformerId(0));
        f.set_expression(Expression::Aa, aa);
        f
    }

    #[test]
    fn neutral_reads_zero_and_the_fullest_reads_one() {
        let mut neutral = FaceCapture::new(FaceCaptureKind::Neutral);
        for w in [0.18, 0.22, 0.2] {
            neutral.add(&face(w));
        }
        let calibration = neutral.finish(&FaceCalibration::default());
        let mut range = FaceCapture::new(FaceCaptureKind::Range);
        for w in [0.3, 0.7, 0.5] {
            range.add(&face(w));
        }
        let calibration = range.finish(&calibration);
        for (raw, want) in [(0.2, 0.0), (0.7, 1.0), (0.45, 0.5), (0.1, 0.0), (0.9, 1.0)] {
            let mut f = face(raw);
            calibration.apply(&mut f);
            assert!(
                (f.expression(Expression::Aa).unwrap() - want).abs() < 1e-5,
                "{raw} → {want}"
            );
        }
    }
}
