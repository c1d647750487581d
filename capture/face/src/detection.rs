//! BlazeFace short range (MediaPipe `face_detection_short_range.tflite`): its anchors, the
//! decoding of its two output tensors into faces, and weighted non-maximum suppression.
//!
//! The model sees the whole image letterboxed into 128×128 (aspect kept, zero borders), pixel
//! values mapped to −1..1. It outputs, per anchor, 16 regressors (box centre offset, size, and 6
//! keypoints, in 128-pixel units relative to the anchor) and one score logit. The constants are
//! those of MediaPipe's `face_detection_short_range` graph (SSD anchors over 4 layers with
//! strides 8, 16, 16, 16; score threshold 0.5; IoU 0.3).

use glam::Vec2;

/// Input side, pixels.
pub const INPUT_SIZE: usize = 128;
/// Number of anchors: 16×16×2 + 8×8×6.
pub const ANCHORS: usize = 896;
const COORDS: usize = 16;
const KEYPOINTS: usize = 6;
const MIN_SCORE: f32 = 0.5;
const MIN_SUPPRESSION_IOU: f32 = 0.3;

/// A face found in the image, in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// Box centre and size, pixels.
    pub center: Vec2,
    pub size: Vec2,
    /// 0: the face's right eye (left in the image), 1: its left eye, 2: nose tip, 3: mouth,
    /// 4: right ear tragion, 5: left ear tragion; pixels.
    pub keypoints: [Vec2; KEYPOINTS],
    /// Probability, 0..1.
    pub score: f32,
}

/// Anchor centres, in 0..1 of the letterboxed input (all anchors have size 1: fixed size).
pub fn anchors() -> Vec<Vec2> {
    let mut anchors = Vec::with_capacity(ANCHORS);
    // Layers of equal stride are merged: stride 8 with 2 anchors per cell, stride 16 with 6.
    for (stride, per_cell) in [(8usize, 2usize), (16, 6)] {
        let cells = INPUT_SIZE / stride;
        for y in 0..cells {
            for x in 0..cells {
                for _ in 0..per_cell {
                    anchors.push(Vec2::new(
                        (x as f32 + 0.5) / cells as f32,
                        (y as f32 + 0.5) / cells as f32,
                    ));
                }
            }
        }
    }
    anchors
}

/// How the image was fitted into the model's square input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    /// Image pixels per input pixel.
    pub scale: f32,
    /// Where the image's (0, 0) lands in the input, input pixels.
    pub offset: Vec2,
}

impl Letterbox {
    /// Fits a `width`×`height` image into the square input, centred.
    pub fn fit(width: usize, height: usize) -> Self {
        let scale = width.max(height) as f32 / INPUT_SIZE as f32;
        let offset = Vec2::new(
            (INPUT_SIZE as f32 - width as f32 / scale) / 2.0,
            (INPUT_SIZE as f32 - height as f32 / scale) / 2.0,
        );
        Letterbox { scale, offset }
    }

    /// An input-normalised (0..1) point in image pixels.
    fn to_image(self, p: Vec2) -> Vec2 {
        (p * INPUT_SIZE as f32 - self.offset) * self.scale
    }
}

/// Decodes the model's outputs (`regressors` 896×16, `classificators` 896×1) into faces,
/// strongest first, overlapping ones merged. Non-finite values are skipped.
pub fn decode(
    anchors: &[Vec2],
    regressors: &[f32],
    scores: &[f32],
    letterbox: Letterbox,
) -> Vec<Detection> {
    let mut raw = Vec::new();
    for (i, anchor) in anchors.iter().enumerate() {
        let (Some(r), Some(&logit)) = (regressors.get(i * COORDS..(i + 1) * COORDS), scores.get(i))
        else {
            break;
        };
        let score = 1.0 / (1.0 + (-finite_or_low(logit).clamp(-100.0, 100.0)).exp());
        // The clamp keeps the score finite: only a real score below the threshold skips.
        if score < MIN_SCORE || r.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let at = |dx: f32, dy: f32| *anchor + Vec2::new(dx, dy) / INPUT_SIZE as f32;
        let center = letterbox.to_image(at(r[0], r[1]));
        // Sizes are in input pixels (MediaPipe's w/h scale is the input size).
        let size = Vec2::new(r[2], r[3]).abs() * letterbox.scale;
        let keypoints = std::array::from_fn(|k| letterbox.to_image(at(r[4 + 2 * k], r[5 + 2 * k])));
        raw.push(Detection {
            center,
            size,
            keypoints,
            score,
        });
    }
    weighted_suppression(raw)
}

/// MediaPipe's weighted NMS: each cluster of boxes overlapping the strongest by more than the
/// IoU threshold becomes one detection, its box and keypoints averaged by score.
fn weighted_suppression(mut candidates: Vec<Detection>) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = Vec::new();
    while let Some(best) = candidates.first().copied() {
        let (cluster, rest): (Vec<Detection>, Vec<Detection>) = candidates
            .into_iter()
            .partition(|d| iou(&best, d) > MIN_SUPPRESSION_IOU);
        candidates = rest;
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mut merged = best;
        merged.center = cluster.iter().map(|d| d.center * d.score).sum::<Vec2>() / total;
        merged.size = cluster.iter().map(|d| d.size * d.score).sum::<Vec2>() / total;
        for k in 0..KEYPOINTS {
            merged.keypoints[k] = cluster
                .iter()
                .map(|d| d.keypoints[k] * d.score)
                .sum::<Vec2>()
                / total;
        }
        kept.push(merged);
    }
    kept
}

/// A logit, or very unlikely when it is NaN.
pub(crate) fn finite_or_low(logit: f32) -> f32 {
    if logit.is_nan() { -100.0 } else { logit }
}

fn iou(a: &Detection, b: &Detection) -> f32 {
    let (a0, a1) = (a.center - a.size / 2.0, a.center + a.size / 2.0);
    let (b0, b1) = (b.center - b.size / 2.0, b.center + b.size / 2.0);
    let overlap = (a1.min(b1) - a0.max(b0)).max(Vec2::ZERO);
    let inter = overlap.x * overlap.y;
    let union = a.size.x * a.size.y + b.size.x * b.size.y - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_cover_the_input_in_mediapipe_order() {
        let a = anchors();
        assert_eq!(a.len(), ANCHORS);
        assert_eq!(a[0], Vec2::new(0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], Vec2::new(1.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[512], Vec2::new(0.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[895], Vec2::new(7.5 / 8.0, 7.5 / 8.0));
    }

    #[test]
    fn a_strong_anchor_decodes_to_a_face_in_image_pixels_and_overlaps_merge() {
        let anchors = anchors();
        let mut regressors = vec![0.0; ANCHORS * COORDS];
        let mut scores = vec![-10.0; ANCHORS];
        // Anchors 600 and 601 share a cell: two overlapping boxes of 32 input pixels.
        for (i, score) in [(600, 4.0), (601, 2.0)] {
            regressors[i * COORDS + 2] = 32.0;
            regressors[i * COORDS + 3] = 32.0;
            regressors[i * COORDS + 4] = -8.0; // right eye 8 px left of the centre
            scores[i] = score;
        }
        // A 640×480 image: scale 5, 16 input pixels of border above and below.
        let letterbox = Letterbox::fit(640, 480);
        assert_eq!(letterbox.offset, Vec2::new(0.0, 16.0));
        let found = decode(&anchors, &regressors, &scores, letterbox);
        assert_eq!(found.len(), 1);
        let face = found[0];
        let expected = (anchors[600] * 128.0 - Vec2::new(0.0, 16.0)) * 5.0;
        assert!((face.center - expected).length() < 1e-3, "{face:?}");
        assert!((face.size - Vec2::splat(160.0)).length() < 1e-3);
        assert!((face.keypoints[0] - (expected - Vec2::new(40.0, 0.0))).length() < 1e-3);
        assert!(face.score > 0.98);
    }

    #[test]
    fn garbage_outputs_give_no_faces_and_no_panic() {
        let anchors = anchors();
        assert!(
            decode(
                &anchors,
                &[f32::NAN; 32],
                &[f32::INFINITY; 2],
                Letterbox::fit(1, 1)
            )
            .is_empty()
        );
        assert!(decode(&anchors, &[], &[], Letterbox::fit(640, 480)).is_empty());
    }
}
