//! MediaPipe's custom operators used by `face_landmark_with_attention`,
//! implemented from their documented semantics (version 2 of each):
//!
//! * `Landmarks2TransformMatrix`: from a `[1, N, 3]` landmark tensor, finds
//!   the rotation of the line between two landmarks and the rotated bounding
//!   box of a landmark subset, and emits the `[1, 4, 4]` matrix that maps an
//!   `output_width × output_height` crop (scaled by `scale_x/y`) back into
//!   landmark space.
//! * `TransformTensorBilinear`: samples an NHWC tensor at the points the
//!   matrix maps each output pixel to (bilinear, zero outside; pixel centres
//!   at +0.5).
//! * `TransformLandmarks`: applies the matrix's first two rows to 2-D (or
//!   the x, y of 3-D) landmarks.

use crate::Error;
use crate::flex::{Flex, root_map};

/// Parameters of `Landmarks2TransformMatrix` (v2).
#[derive(Debug)]
pub(crate) struct L2tm {
    pub(crate) left: usize,
    pub(crate) right: usize,
    pub(crate) subset: Vec<usize>,
    pub(crate) out_w: f32,
    pub(crate) out_h: f32,
    pub(crate) scale_x: f32,
    pub(crate) scale_y: f32,
    pub(crate) target_rotation: f32,
}

fn bad(what: &'static str) -> Error {
    Error::Malformed(what)
}

impl L2tm {
    /// Reads the options; `landmarks` is how many landmarks the input holds.
    pub(crate) fn parse(options: &[u8], landmarks: usize) -> Result<Self, Error> {
        let mut p = L2tm {
            left: usize::MAX,
            right: usize::MAX,
            subset: Vec::new(),
            out_w: 0.0,
            out_h: 0.0,
            scale_x: 0.0,
            scale_y: 0.0,
            target_rotation: 0.0,
        };
        let idx = |v: i64| -> Result<usize, Error> {
            if v < 0 || v as u64 >= landmarks as u64 {
                return Err(bad(
                    "Landmarks2TransformMatrix: landmark index out of range",
                ));
            }
            Ok(v as usize)
        };
        let num = |v: &Flex| -> Result<f32, Error> {
            match v {
                Flex::Int(i) => Ok(*i as f32),
                Flex::Float(f) => Ok(*f as f32),
                _ => Err(bad("Landmarks2TransformMatrix: expected a number")),
            }
        };
        for (key, v) in root_map(options)? {
            match (key.as_str(), &v) {
                ("left_rotation_idx", Flex::Int(i)) => p.left = idx(*i)?,
                ("right_rotation_idx", Flex::Int(i)) => p.right = idx(*i)?,
                ("subset_idxs", Flex::Ints(xs)) => {
                    p.subset = xs.iter().map(|&x| idx(x)).collect::<Result<_, _>>()?
                }
                ("output_width", _) => p.out_w = num(&v)?,
                ("output_height", _) => p.out_h = num(&v)?,
                ("scale_x", _) => p.scale_x = num(&v)?,
                ("scale_y", _) => p.scale_y = num(&v)?,
                ("target_rotation_radians", _) => p.target_rotation = num(&v)?,
                _ => {}
            }
        }
        if p.left == usize::MAX || p.right == usize::MAX {
            return Err(bad("Landmarks2TransformMatrix: rotation indices missing"));
        }
        if p.subset.is_empty() || !p.subset.len().is_multiple_of(2) {
            return Err(bad("Landmarks2TransformMatrix: subset_idxs must be pairs"));
        }
        let positive = |x: f32| x.is_finite() && x > 0.0;
        let valid = positive(p.out_w)
            && positive(p.out_h)
            && positive(p.scale_x)
            && positive(p.scale_y)
            && p.target_rotation.is_finite();
        if !valid {
            return Err(bad(
                "Landmarks2TransformMatrix: sizes and scales must be positive",
            ));
        }
        Ok(p)
    }

    pub(crate) fn run(&self, lm: &[f32], out: &mut [f32]) {
        let xy = |i: usize| (lm[i * 3], lm[i * 3 + 1]);
        let (lx, ly) = xy(self.left);
        let (rx, ry) = xy(self.right);
        let rot = self.target_rotation - (ry - ly).atan2(rx - lx);
        let (s, c) = rot.sin_cos();
        // Rotate the subset by `rot`, take its bounding box.
        let (mut min_x, mut min_y) = (f32::INFINITY, f32::INFINITY);
        let (mut max_x, mut max_y) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
        for &i in &self.subset {
            let (x, y) = xy(i);
            let (rx, ry) = (c * x - s * y, s * x + c * y);
            min_x = min_x.min(rx);
            max_x = max_x.max(rx);
            min_y = min_y.min(ry);
            max_y = max_y.max(ry);
        }
        let (w, h) = (max_x - min_x, max_y - min_y);
        let (mx, my) = ((min_x + max_x) / 2.0, (min_y + max_y) / 2.0);
        // Centre back in landmark space (rotate by -rot).
        let (cx, cy) = (c * mx + s * my, -s * mx + c * my);
        // t = shift(cx, cy) · rotate(-rot) · scale(sx, sy) · shift(-ow/2, -oh/2)
        let sx = self.scale_x * w / self.out_w;
        let sy = self.scale_y * h / self.out_h;
        let (ox, oy) = (-self.out_w / 2.0, -self.out_h / 2.0);
        // rotate(-rot) = [[c, s], [-s, c]]
        let (a, b) = (c * sx, s * sy);
        let (d, e) = (-s * sx, c * sy);
        let m = [
            a,
            b,
            0.0,
            a * ox + b * oy + cx, //
            d,
            e,
            0.0,
            d * ox + e * oy + cy, //
            0.0,
            0.0,
            1.0,
            0.0, //
            0.0,
            0.0,
            0.0,
            1.0,
        ];
        out[..16].copy_from_slice(&m);
    }
}

/// `TransformTensorBilinear` (v2) geometry.
#[derive(Debug)]
pub(crate) struct Ttb {
    pub(crate) ih: usize,
    pub(crate) iw: usize,
    pub(crate) c: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
}

impl Ttb {
    pub(crate) fn run(&self, input: &[f32], m: &[f32], out: &mut [f32]) {
        let c = self.c;
        let mut xt = [m[0], m[1], m[2], m[3]];
        let mut yt = [m[4], m[5], m[6], m[7]];
        // Pixel centres: T -> S · T · A with A = +0.5, S = -0.5.
        xt[3] += xt[0] * 0.5 + xt[1] * 0.5 - 0.5;
        yt[3] += yt[0] * 0.5 + yt[1] * 0.5 - 0.5;
        let (ih, iw) = (self.ih as isize, self.iw as isize);
        for oy in 0..self.oh {
            for ox in 0..self.ow {
                let (fx, fy) = (ox as f32, oy as f32);
                let tx = xt[0] * fx + xt[1] * fy + xt[3];
                let ty = yt[0] * fx + yt[1] * fy + yt[3];
                let dst = &mut out[(oy * self.ow + ox) * c..][..c];
                let inside = tx >= 0.0
                    && tx <= (self.iw - 1) as f32
                    && ty >= 0.0
                    && ty <= (self.ih - 1) as f32;
                if !inside {
                    dst.fill(0.0);
                    continue;
                }
                let (x0, y0) = (tx.floor(), ty.floor());
                let (rx, ry) = (tx - x0, ty - y0);
                let (x0, y0) = (x0 as isize, y0 as isize);
                let at = |y: isize, x: isize| -> Option<&[f32]> {
                    if y < 0 || x < 0 || y >= ih || x >= iw {
                        None
                    } else {
                        Some(&input[((y * iw + x) as usize) * c..][..c])
                    }
                };
                let weights = [
                    (at(y0, x0), (1.0 - rx) * (1.0 - ry)),
                    (at(y0, x0 + 1), rx * (1.0 - ry)),
                    (at(y0 + 1, x0), (1.0 - rx) * ry),
                    (at(y0 + 1, x0 + 1), rx * ry),
                ];
                dst.fill(0.0);
                for (src, w) in weights {
                    if let Some(src) = src {
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d += w * s;
                        }
                    }
                }
            }
        }
    }
}

/// `TransformLandmarks` (v2): `rows` landmarks of `dims` (2 or 3) values.
#[derive(Debug)]
pub(crate) struct Tl {
    pub(crate) dims: usize,
}

impl Tl {
    pub(crate) fn run(&self, lm: &[f32], m: &[f32], out: &mut [f32]) {
        for (o, l) in out
            .chunks_exact_mut(self.dims)
            .zip(lm.chunks_exact(self.dims))
        {
            let (x, y) = (l[0], l[1]);
            o[0] = m[0] * x + m[1] * y + m[3];
            o[1] = m[4] * x + m[5] * y + m[7];
            if self.dims == 3 {
                o[2] = l[2];
            }
        }
    }
}
