//! The face mesh models' outputs turned into 478 landmarks in image pixels.
//!
//! `face_landmark_with_attention.tflite` gives the 468-point mesh (x, y, z in 192-pixel units
//! of its input) plus refined lips (80 points), eyes (71 each) and irises (5 each) as x, y only;
//! MediaPipe's `tensors_to_face_landmarks_with_attention` graph puts them together: the refined
//! x, y replace the mesh's at the mapped indices, the irises become points 468–477 with the
//! mean z of their eye's contour. `face_landmark.tflite` gives the 468 points alone.
//! Projection back into the image follows MediaPipe's `LandmarkProjectionCalculator`: z is
//! scaled like x.

use glam::{Vec2, Vec3};

use crate::roi::FaceRegion;

/// The mesh model's input side, pixels.
pub const INPUT_SIDE: usize = 192;
/// Mesh points plus the two irises.
pub const LANDMARKS: usize = 478;
/// Mesh points alone.
pub const MESH_LANDMARKS: usize = 468;

/// Mesh indices of the 80 refined lip points, in the lips tensor's order.
const LIPS: [u16; 80] = [
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409, 78,
    95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415, 76, 77,
    90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408, 62, 96, 89,
    179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407,
];
/// Mesh indices of the 71 refined points around the face's right eye (the image's left).
const RIGHT_EYE: [u16; 71] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173, 130, 25, 110, 24,
    23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190, 226, 31, 228, 229, 230, 231, 232, 233, 244,
    113, 225, 224, 223, 222, 221, 189, 35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121,
    128, 245, 156, 70, 63, 105, 66, 107, 55, 193,
];
/// Mesh indices of the 71 refined points around the face's left eye.
const LEFT_EYE: [u16; 71] = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398, 359, 255, 339,
    254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414, 446, 261, 448, 449, 450, 451,
    452, 453, 464, 342, 445, 444, 443, 442, 441, 413, 265, 353, 276, 283, 282, 295, 372, 340, 346,
    347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285, 417,
];
/// How many leading entries of an eye's list are its contour (lower then upper lid), whose mean
/// z its iris takes.
const EYE_CONTOUR: usize = 16;
/// First landmark of the face's right iris (centre, then 4 edge points); the left follows.
pub const RIGHT_IRIS: usize = 468;
pub const LEFT_IRIS: usize = 473;

/// The attention model's output tensors, by its output names.
pub struct AttentionOutputs<'a> {
    pub mesh: &'a [f32],
    pub lips: &'a [f32],
    /// `output_left_eye` in the model: the eye on the image's left, the face's right.
    pub image_left_eye: &'a [f32],
    pub image_right_eye: &'a [f32],
    pub image_left_iris: &'a [f32],
    pub image_right_iris: &'a [f32],
}

/// Assembles the 478 landmarks in model input pixels (0..192). `None` if a tensor is short or
/// not finite.
pub fn assemble_attention(out: &AttentionOutputs<'_>, landmarks: &mut Vec<Vec3>) -> Option<()> {
    assemble_mesh(out.mesh, landmarks)?;
    let xy = |t: &[f32], i: usize| Some(Vec2::new(*t.get(2 * i)?, *t.get(2 * i + 1)?));
    for (tensor, indices) in [
        (out.lips, &LIPS[..]),
        (out.image_left_eye, &RIGHT_EYE[..]),
        (out.image_right_eye, &LEFT_EYE[..]),
    ] {
        for (i, &index) in indices.iter().enumerate() {
            let p = xy(tensor, i)?;
            let z = landmarks[index as usize].z;
            landmarks[index as usize] = p.extend(z);
        }
    }
    for (tensor, eye) in [
        (out.image_left_iris, &RIGHT_EYE),
        (out.image_right_iris, &LEFT_EYE),
    ] {
        let z = eye[..EYE_CONTOUR]
            .iter()
            .map(|&i| landmarks[i as usize].z)
            .sum::<f32>()
            / EYE_CONTOUR as f32;
        for i in 0..5 {
            landmarks.push(xy(tensor, i)?.extend(z));
        }
    }
    landmarks.iter().all(|p| p.is_finite()).then_some(())
}

/// The 468 mesh points alone, model input pixels.
pub fn assemble_mesh(mesh: &[f32], landmarks: &mut Vec<Vec3>) -> Option<()> {
    landmarks.clear();
    let points = mesh.get(..MESH_LANDMARKS * 3)?;
    landmarks.extend(points.chunks_exact(3).map(|p| Vec3::new(p[0], p[1], p[2])));
    landmarks.iter().all(|p| p.is_finite()).then_some(())
}

/// Maps landmarks from model input pixels into image pixels through the region they were
/// cropped from; z is scaled like x (MediaPipe's normalised z times the region's size).
pub fn project(region: &FaceRegion, landmarks: &mut [Vec3]) {
    let side = INPUT_SIDE as f32;
    for p in landmarks {
        let image = region.to_image(p.truncate() / side);
        *p = image.extend(p.z / side * region.size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refinement_tables_are_distinct_mesh_indices() {
        for table in [&LIPS[..], &RIGHT_EYE[..], &LEFT_EYE[..]] {
            let mut sorted = table.to_vec();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), table.len());
            assert!(table.iter().all(|&i| (i as usize) < MESH_LANDMARKS));
        }
    }

    #[test]
    fn refined_points_replace_x_y_and_irises_take_the_eye_depth() {
        let mesh: Vec<f32> = (0..MESH_LANDMARKS)
            .flat_map(|i| [i as f32, 0.0, 1.0])
            .collect();
        let lips = vec![7.0; 160];
        let eye = vec![3.0; 142];
        let iris: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let out = AttentionOutputs {
            mesh: &mesh,
            lips: &lips,
            image_left_eye: &eye,
            image_right_eye: &eye,
            image_left_iris: &iris,
            image_right_iris: &iris,
        };
        let mut landmarks = Vec::new();
        assemble_attention(&out, &mut landmarks).unwrap();
        assert_eq!(landmarks.len(), LANDMARKS);
        assert_eq!(landmarks[61], Vec3::new(7.0, 7.0, 1.0));
        assert_eq!(landmarks[33], Vec3::new(3.0, 3.0, 1.0));
        assert_eq!(landmarks[2], Vec3::new(2.0, 0.0, 1.0));
        assert_eq!(landmarks[RIGHT_IRIS + 1], Vec3::new(2.0, 3.0, 1.0));
        let short = AttentionOutputs {
            lips: &lips[..10],
            ..out
        };
        assert!(assemble_attention(&short, &mut landmarks).is_none());
    }
}
