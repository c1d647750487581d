//! ARKit-named channels, VRM visemes and eye gaze from the landmarks.
//!
//! The landmarks are first taken into the face's own frame (the head pose removed, canonical
//! centimetres), so each measurement is compared with the same measurement on MediaPipe's
//! canonical face, which has open eyes, a closed relaxed mouth and level brows: the canonical
//! value reads 0 and a documented travel in centimetres (or a ratio) reads 1. A performer's own
//! neutral and range are then the face calibration's job (`kagura-calibration`'s
//! `FaceCalibration`), as for every face source.
//!
//! Left and right are the face's own (`eyeBlinkLeft` is the performer's left eye), as ARKit
//! names them.

use glam::{Quat, Vec3};
use kagura_protocol::Expression;

use crate::geometry::{CanonicalFace, FacePose};
use crate::mesh::{LEFT_IRIS, RIGHT_IRIS};

/// One eye's landmarks: outer and inner corner, upper and lower lid centre, iris centre.
struct EyeIndices {
    outer: usize,
    inner: usize,
    upper: usize,
    lower: usize,
    iris: usize,
}
const RIGHT_EYE: EyeIndices = EyeIndices {
    outer: 33,
    inner: 133,
    upper: 159,
    lower: 145,
    iris: RIGHT_IRIS,
};
const LEFT_EYE: EyeIndices = EyeIndices {
    outer: 263,
    inner: 362,
    upper: 386,
    lower: 374,
    iris: LEFT_IRIS,
};
const NOSE_TIP: usize = 1;
const CHIN: usize = 152;
const UPPER_LIP_INNER: usize = 13;
const LOWER_LIP_INNER: usize = 14;
const MOUTH_RIGHT: usize = 61;
const MOUTH_LEFT: usize = 291;
/// Inner and outer brow points, right then left.
const BROW_INNER: [usize; 2] = [107, 336];
const BROW_OUTER: [usize; 2] = [70, 300];
/// Cheek points, right then left.
const CHEEK: [usize; 2] = [50, 280];

/// Eyelid opening (lid distance / eye width) at which the blink reads 1, as a share of the
/// canonical face's opening.
const CLOSED_SHARE: f32 = 0.3;
/// Iris travel from the eye's centre, in half eye widths, that reads 1 on a look channel
/// (horizontal) and the vertical equivalent.
const GAZE_SIDE_FULL: f32 = 0.45;
const GAZE_UP_FULL: f32 = 0.25;
/// Eye rotation at full gaze, radians (about 30° sideways, 20° up or down).
const EYE_YAW_FULL: f32 = 0.52;
const EYE_PITCH_FULL: f32 = 0.35;
/// Jaw drop (nose to chin, beyond the canonical), cm, that reads jawOpen 1.
const JAW_FULL_CM: f32 = 2.0;
/// Inner lip gap, cm, that reads fully open for the visemes.
const LIPS_FULL_CM: f32 = 1.6;
/// Mouth width change (share of the canonical width) that reads 1 for pucker / stretch.
const NARROW_FULL: f32 = 0.25;
const WIDE_FULL: f32 = 0.2;
/// Mouth corner rise / fall relative to the lip centre, cm, that reads 1 for smile / frown.
const SMILE_FULL_CM: f32 = 0.6;
const FROWN_FULL_CM: f32 = 0.5;
/// Brow rise / fall relative to the eye corners, cm.
const BROW_UP_FULL_CM: f32 = 0.6;
const BROW_DOWN_FULL_CM: f32 = 0.4;
/// Cheek bulge sideways, cm.
const CHEEK_FULL_CM: f32 = 0.5;

/// What the landmarks say of the face besides the head pose.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaceChannels {
    /// ARKit channels and VRM visemes, 0..1.
    pub channels: Vec<(Expression, f32)>,
    /// Eye rotations in the internal convention (positive yaw about +Y looks toward the face's
    /// own left; looking up is a negative rotation about +X), `None` without irises.
    pub left_eye: Option<Quat>,
    pub right_eye: Option<Quat>,
}

fn unit(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Measures the channels from `landmarks` in the camera frame (+X right, +Y up, +Z toward the
/// camera) given the fitted head pose.
pub fn measure(face: &CanonicalFace, pose: &FacePose, landmarks: &[Vec3], out: &mut FaceChannels) {
    use Expression as E;
    out.channels.clear();
    let f = |i: usize| pose.to_face(landmarks[i]);
    let c = |i: usize| face.vertices[i];
    let mut push = |e: Expression, v: f32| out.channels.push((e, unit(v)));

    // Eyes: lid opening over eye width, against the canonical.
    let opening = |p: &dyn Fn(usize) -> Vec3, eye: &EyeIndices| {
        (p(eye.upper).y - p(eye.lower).y) / (p(eye.outer) - p(eye.inner)).length()
    };
    for (eye, blink) in [(&LEFT_EYE, E::EyeBlinkLeft), (&RIGHT_EYE, E::EyeBlinkRight)] {
        let open = opening(&c, eye);
        let closed = open * CLOSED_SHARE;
        push(blink, (open - opening(&f, eye)) / (open - closed));
    }

    // Gaze, from the irises where the model gives them.
    let has_irises = landmarks.len() > LEFT_IRIS + 4;
    out.left_eye = None;
    out.right_eye = None;
    if has_irises {
        let mut gazes = [(0.0, 0.0); 2];
        for (k, eye) in [&LEFT_EYE, &RIGHT_EYE].into_iter().enumerate() {
            let (outer, inner) = (f(eye.outer), f(eye.inner));
            let centre = (outer + inner + f(eye.upper) + f(eye.lower)) / 4.0;
            let half_width = (outer - inner).length() / 2.0;
            let offset = (f(eye.iris) - centre) / half_width;
            // +x: toward the face's left; +y: up.
            gazes[k] = (
                unit_signed(offset.x / GAZE_SIDE_FULL),
                unit_signed(offset.y / GAZE_UP_FULL),
            );
        }
        let [(lx, ly), (rx, ry)] = gazes;
        push(E::EyeLookOutLeft, lx);
        push(E::EyeLookInLeft, -lx);
        push(E::EyeLookInRight, rx);
        push(E::EyeLookOutRight, -rx);
        push(E::EyeLookUpLeft, ly);
        push(E::EyeLookDownLeft, -ly);
        push(E::EyeLookUpRight, ry);
        push(E::EyeLookDownRight, -ry);
        let eye = |x: f32, y: f32| {
            Quat::from_rotation_y(x * EYE_YAW_FULL) * Quat::from_rotation_x(-y * EYE_PITCH_FULL)
        };
        out.left_eye = Some(eye(lx, ly));
        out.right_eye = Some(eye(rx, ry));
    }

    // Jaw and lips.
    let jaw_drop = (f(NOSE_TIP).y - f(CHIN).y) - (c(NOSE_TIP).y - c(CHIN).y);
    let lip_gap = (f(UPPER_LIP_INNER).y - f(LOWER_LIP_INNER).y)
        - (c(UPPER_LIP_INNER).y - c(LOWER_LIP_INNER).y);
    let jaw_open = unit(jaw_drop / JAW_FULL_CM);
    let open = unit(lip_gap / LIPS_FULL_CM);
    push(E::JawOpen, jaw_open);
    push(E::MouthClose, jaw_open - open);
    let width = (f(MOUTH_LEFT) - f(MOUTH_RIGHT)).length();
    let width0 = (c(MOUTH_LEFT) - c(MOUTH_RIGHT)).length();
    let change = (width - width0) / width0;
    let narrow = unit(-change / NARROW_FULL);
    let wide = unit(change / WIDE_FULL);
    push(E::MouthPucker, narrow * (1.0 - open));
    push(E::MouthFunnel, narrow * open);
    let lip_centre =
        |p: &dyn Fn(usize) -> Vec3| (p(UPPER_LIP_INNER).y + p(LOWER_LIP_INNER).y) / 2.0;
    let (centre, centre0) = (lip_centre(&f), lip_centre(&c));
    let mut smile = 0.0f32;
    for (corner, smile_channel, frown, stretch) in [
        (
            MOUTH_LEFT,
            E::MouthSmileLeft,
            E::MouthFrownLeft,
            E::MouthStretchLeft,
        ),
        (
            MOUTH_RIGHT,
            E::MouthSmileRight,
            E::MouthFrownRight,
            E::MouthStretchRight,
        ),
    ] {
        let rise = (f(corner).y - centre) - (c(corner).y - centre0);
        let smiling = unit(rise / SMILE_FULL_CM);
        smile = smile.max(smiling);
        push(smile_channel, smiling);
        push(frown, -rise / FROWN_FULL_CM);
        let out_by = (f(corner).x.abs() - c(corner).x.abs()) / c(corner).x.abs();
        push(stretch, out_by / WIDE_FULL * (1.0 - smiling));
    }

    // Brows, relative to the inner eye corners.
    let brow =
        |p: &dyn Fn(usize) -> Vec3, brow: usize, eye: &EyeIndices| p(brow).y - p(eye.inner).y;
    let mut inner_up = 0.0;
    for (k, (eye, down, outer_up)) in [
        (&RIGHT_EYE, E::BrowDownRight, E::BrowOuterUpRight),
        (&LEFT_EYE, E::BrowDownLeft, E::BrowOuterUpLeft),
    ]
    .into_iter()
    .enumerate()
    {
        let inner = brow(&f, BROW_INNER[k], eye) - brow(&c, BROW_INNER[k], eye);
        let outer = brow(&f, BROW_OUTER[k], eye) - brow(&c, BROW_OUTER[k], eye);
        inner_up += inner / 2.0;
        push(down, -inner / BROW_DOWN_FULL_CM);
        push(outer_up, outer / BROW_UP_FULL_CM);
    }
    push(E::BrowInnerUp, inner_up / BROW_UP_FULL_CM);

    // Cheeks: seen as the cheek points moving outward with the mouth closed and not smiling (a
    // smile lifts and widens the cheeks too).
    let bulge = CHEEK
        .iter()
        .map(|&i| f(i).x.abs() - c(i).x.abs())
        .sum::<f32>()
        / 2.0;
    push(
        E::CheekPuff,
        bulge / CHEEK_FULL_CM * (1.0 - open) * (1.0 - smile),
    );

    // VRM visemes from openness and shape.
    push(E::Aa, open * (1.0 - narrow));
    push(E::Oh, open * narrow);
    push(E::Ou, narrow * (1.0 - open));
    push(E::Ee, wide * (1.0 - open) + 0.5 * wide * open);
    push(
        E::Ih,
        unit(lip_gap / (LIPS_FULL_CM * 0.4)) * (1.0 - open) * (1.0 - narrow),
    );
}

fn unit_signed(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::tests::synthetic_face;

    /// The canonical face seen straight on: every channel reads (about) 0.
    #[test]
    fn the_canonical_face_is_neutral_and_moving_points_moves_channels() {
        let face = synthetic_face();
        let pose = FacePose {
            rotation: Quat::IDENTITY,
            scale: 1.0,
            translation: Vec3::ZERO,
        };
        let mut landmarks = face.vertices.clone();
        let v = &face.vertices;
        let centre = |e: &EyeIndices| (v[e.outer] + v[e.inner] + v[e.upper] + v[e.lower]) / 4.0;
        landmarks.push(centre(&RIGHT_EYE));
        landmarks.extend([Vec3::ZERO; 4]);
        landmarks.push(centre(&LEFT_EYE));
        landmarks.extend([Vec3::ZERO; 4]);
        let mut out = FaceChannels::default();
        measure(&face, &pose, &landmarks, &mut out);
        let get = |out: &FaceChannels, e| out.channels.iter().find(|(x, _)| *x == e).unwrap().1;
        assert!(out.channels.iter().all(|(_, v)| *v < 0.3), "{out:?}");
        // Close the left eye: its lids meet.
        let mut closed = landmarks.clone();
        closed[LEFT_EYE.upper] = closed[LEFT_EYE.lower];
        measure(&face, &pose, &closed, &mut out);
        assert_eq!(get(&out, Expression::EyeBlinkLeft), 1.0);
        assert!(get(&out, Expression::EyeBlinkRight) < 0.3);
        // Drop the jaw 2 cm.
        let mut open = landmarks.clone();
        open[CHIN].y -= 2.0;
        measure(&face, &pose, &open, &mut out);
        assert_eq!(get(&out, Expression::JawOpen), 1.0);
    }
}
