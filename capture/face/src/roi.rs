//! The face region the mesh model looks at: a rotated square in the image, from a detection
//! (when tracking starts) or from the previous frame's landmarks (while tracking), as MediaPipe's
//! face landmark graph makes it: the box around the face, turned so that the eyes are level,
//! enlarged 1.5× and made square on its longer side.

use glam::{Vec2, Vec3};

use crate::detection::Detection;

/// How much larger than the face box the region is.
const ENLARGE: f32 = 1.5;
/// Landmarks whose line sets the region's rotation: the outer corners of the face's right and
/// left eye.
const RIGHT_EYE_OUTER: usize = 33;
const LEFT_EYE_OUTER: usize = 263;

/// A rotated square in image pixels (x right, y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaceRegion {
    pub center: Vec2,
    /// Side length, pixels.
    pub size: f32,
    /// Radians, positive clockwise on screen (y down): the image is sampled turned by it.
    pub rotation: f32,
}

impl FaceRegion {
    /// From a detection: rotation from its eye keypoints.
    pub fn from_detection(detection: &Detection) -> Self {
        Self::around(
            detection.center,
            detection.size,
            rotation(detection.keypoints[0], detection.keypoints[1]),
        )
    }

    /// From the previous frame's landmarks (image pixels): their bounding box, levelled by the
    /// outer eye corners. `None` for fewer landmarks than the mesh has.
    pub fn from_landmarks(landmarks: &[Vec3]) -> Option<Self> {
        let eyes = (
            landmarks.get(RIGHT_EYE_OUTER)?,
            landmarks.get(LEFT_EYE_OUTER)?,
        );
        let (mut min, mut max) = (Vec2::splat(f32::INFINITY), Vec2::splat(f32::NEG_INFINITY));
        for p in landmarks {
            min = min.min(p.truncate());
            max = max.max(p.truncate());
        }
        let region = Self::around(
            (min + max) / 2.0,
            max - min,
            rotation(eyes.0.truncate(), eyes.1.truncate()),
        );
        region.is_usable().then_some(region)
    }

    fn around(center: Vec2, size: Vec2, rotation: f32) -> Self {
        FaceRegion {
            center,
            size: size.max_element() * ENLARGE,
            rotation,
        }
    }

    /// Finite, and at least a few pixels across.
    pub fn is_usable(&self) -> bool {
        self.center.is_finite()
            && self.size.is_finite()
            && self.size >= 4.0
            && self.rotation.is_finite()
    }

    /// A point of the region, given in 0..1 across it (u right, v down in the turned square),
    /// in image pixels.
    pub fn to_image(&self, uv: Vec2) -> Vec2 {
        let local = (uv - Vec2::splat(0.5)) * self.size;
        self.center + Vec2::from_angle(self.rotation).rotate(local)
    }
}

/// MediaPipe's rotation for a level line from `start` to `end` (target angle 0), normalised to
/// −π..π.
fn rotation(start: Vec2, end: Vec2) -> f32 {
    let angle = -(-(end.y - start.y)).atan2(end.x - start.x);
    let two_pi = std::f32::consts::TAU;
    angle - two_pi * ((angle + std::f32::consts::PI) / two_pi).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_turns_with_the_eyes() {
        // Eyes on a line going down to the right at 30°: the face is rolled clockwise on screen.
        let start = Vec2::new(100.0, 100.0);
        let end = start + Vec2::from_angle(30f32.to_radians()) * 50.0;
        let r = rotation(start, end);
        assert!((r - 30f32.to_radians()).abs() < 1e-5, "{r}");
        let region = FaceRegion {
            center: start,
            size: 100.0,
            rotation: r,
        };
        // The region's right edge centre lies along the eye line.
        let right = region.to_image(Vec2::new(1.0, 0.5));
        let along = (right - start).normalize();
        assert!((along - (end - start).normalize()).length() < 1e-5);
        assert!(((right - start).length() - 50.0).abs() < 1e-3);
    }

    #[test]
    fn landmarks_give_an_enlarged_square() {
        let mut landmarks = vec![Vec3::new(50.0, 60.0, 0.0); 468];
        landmarks[0] = Vec3::new(10.0, 20.0, 0.0);
        landmarks[1] = Vec3::new(90.0, 80.0, 0.0);
        landmarks[RIGHT_EYE_OUTER] = Vec3::new(30.0, 40.0, 0.0);
        landmarks[LEFT_EYE_OUTER] = Vec3::new(70.0, 40.0, 0.0);
        let region = FaceRegion::from_landmarks(&landmarks).unwrap();
        assert_eq!(region.center, Vec2::new(50.0, 50.0));
        assert_eq!(region.size, 120.0);
        assert_eq!(region.rotation, 0.0);
        assert!(FaceRegion::from_landmarks(&landmarks[..10]).is_none());
        assert!(FaceRegion::from_landmarks(&[Vec3::NAN; 468]).is_none());
    }
}
