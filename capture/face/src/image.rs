//! Images in, model input tensors out: an RGB frame and the two ways the models sample it.

use glam::Vec2;

use crate::detection::{INPUT_SIZE, Letterbox};
use crate::roi::FaceRegion;

/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel, no padding. Borrowed from whoever
/// decoded or captured it.
#[derive(Clone, Copy, Debug)]
pub struct RgbImage<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [u8],
}

impl<'a> RgbImage<'a> {
    /// Checks that the buffer holds `width`×`height` pixels.
    pub fn new(width: usize, height: usize, pixels: &'a [u8]) -> Option<Self> {
        let len = width.checked_mul(height)?.checked_mul(3)?;
        (width > 0 && height > 0 && pixels.len() == len).then_some(RgbImage {
            width,
            height,
            pixels,
        })
    }

    /// Bilinear sample at `p` (pixel centres at +0.5), edges repeated, channel values as
    /// `scale · byte + offset` into `out`.
    #[inline]
    fn sample(&self, p: Vec2, scale: f32, offset: f32, out: &mut [f32]) {
        let x = (p.x - 0.5).clamp(0.0, (self.width - 1) as f32);
        let y = (p.y - 0.5).clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let px = |x: usize, y: usize| (y * self.width + x) * 3;
        let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
        let p = self.pixels;
        for (ch, value) in out.iter_mut().take(3).enumerate() {
            let top = p[a + ch] as f32 * (1.0 - fx) + p[b + ch] as f32 * fx;
            let bottom = p[c + ch] as f32 * (1.0 - fx) + p[d + ch] as f32 * fx;
            *value = (top * (1.0 - fy) + bottom * fy) * scale + offset;
        }
    }

    /// The face detector's input: the whole image letterboxed into 128×128 (zero borders),
    /// values −1..1, HWC. Returns how it was fitted.
    pub fn letterbox_into(&self, tensor: &mut [f32]) -> Letterbox {
        let letterbox = Letterbox::fit(self.width, self.height);
        let size = INPUT_SIZE;
        for (i, pixel) in tensor.chunks_exact_mut(3).take(size * size).enumerate() {
            let input = Vec2::new((i % size) as f32 + 0.5, (i / size) as f32 + 0.5);
            let p = (input - letterbox.offset) * letterbox.scale;
            if p.x < 0.0 || p.y < 0.0 || p.x > self.width as f32 || p.y > self.height as f32 {
                pixel.fill(0.0);
            } else {
                self.sample(p, 2.0 / 255.0, -1.0, pixel);
            }
        }
        letterbox
    }

    /// The mesh model's input: the face region sampled into `side`×`side`, values 0..1, HWC.
    pub fn crop_into(&self, region: &FaceRegion, side: usize, tensor: &mut [f32]) {
        let step_u =
            region.to_image(Vec2::new(1.0 / side as f32, 0.0)) - region.to_image(Vec2::ZERO);
        let step_v =
            region.to_image(Vec2::new(0.0, 1.0 / side as f32)) - region.to_image(Vec2::ZERO);
        let origin = region.to_image(Vec2::ZERO) + (step_u + step_v) * 0.5;
        for (row, line) in tensor.chunks_exact_mut(side * 3).take(side).enumerate() {
            let start = origin + step_v * row as f32;
            for (col, pixel) in line.chunks_exact_mut(3).enumerate() {
                self.sample(start + step_u * col as f32, 1.0 / 255.0, 0.0, pixel);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_samples_the_region_and_letterbox_pads_with_zero() {
        // 4×2 image: left half red, right half blue.
        let mut pixels = vec![0u8; 4 * 2 * 3];
        for (i, p) in pixels.chunks_exact_mut(3).enumerate() {
            if i % 4 < 2 { p[0] = 255 } else { p[2] = 255 }
        }
        let image = RgbImage::new(4, 2, &pixels).unwrap();
        assert!(RgbImage::new(4, 3, &pixels).is_none());
        let mut tensor = vec![0.0; 128 * 128 * 3];
        let letterbox = image.letterbox_into(&mut tensor);
        assert_eq!(letterbox.offset, Vec2::new(0.0, 32.0));
        assert_eq!(&tensor[..3], &[0.0, 0.0, 0.0]); // border
        let at = |x: usize, y: usize| &tensor[(y * 128 + x) * 3..][..3];
        assert_eq!(at(5, 64), &[1.0, -1.0, -1.0]);
        assert_eq!(at(120, 64), &[-1.0, -1.0, 1.0]);
        // A region over the left half, turned half a turn: red stays red.
        let region = FaceRegion {
            center: Vec2::new(1.0, 1.0),
            size: 1.0,
            rotation: std::f32::consts::PI,
        };
        let mut crop = vec![0.0; 2 * 2 * 3];
        image.crop_into(&region, 2, &mut crop);
        assert!(
            crop.chunks_exact(3).all(|p| p[0] > 0.99 && p[2] < 0.01),
            "{crop:?}"
        );
    }
}
