//! [`BodyProportions`]: the lengths the body solver needs to place the hips over the feet.

use glam::Vec3;

/// Leg segment lengths and foot geometry, metres. Hips position = the hip joints' midpoint; in
/// the rest pose the legs hang straight down (−Y) from hip joints `hip_half_width_m` to each
/// side, and the sole lies `ankle_height_m` below the ankle, from `heel_m` behind it to
/// `toe_m` in front (+Z).
///
/// Default table (fractions of the hip-to-ankle leg length `L`, from Winter's anthropometric
/// segment table, thigh 0.245 H and shank 0.246 H of standing height H): thigh and shin L/2
/// each, hip joints 0.106 L either side, heel 0.059 L behind and toe 0.176 L in front of the
/// ankle; the ankle 0.08 m above the floor (as `kagura_calibration::ANKLE_HEIGHT_M`), so the
/// standing hips height is `L + 0.08`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BodyProportions {
    pub upper_leg_m: f32,
    pub lower_leg_m: f32,
    pub hip_half_width_m: f32,
    pub ankle_height_m: f32,
    pub heel_m: f32,
    pub toe_m: f32,
}

/// An adult's hip-to-ankle length, metres (as `TargetBody::default`).
pub const DEFAULT_LEG_M: f32 = 0.85;
/// The ankle joint's height above the floor, metres.
pub const ANKLE_HEIGHT_M: f32 = 0.08;
/// Standing hips height per standing height (as `kagura_calibration::HIPS_HEIGHT_PER_HEIGHT`).
const HIPS_PER_HEIGHT: f32 = 0.53;

impl Default for BodyProportions {
    fn default() -> Self {
        BodyProportions::from_leg_length(DEFAULT_LEG_M)
    }
}

impl BodyProportions {
    /// From the hip-to-ankle length, metres (clamped to 0.3–1.4 m; non-finite → default).
    pub fn from_leg_length(leg_m: f32) -> Self {
        let leg = if leg_m.is_finite() {
            leg_m.clamp(0.3, 1.4)
        } else {
            DEFAULT_LEG_M
        };
        BodyProportions {
            upper_leg_m: 0.5 * leg,
            lower_leg_m: 0.5 * leg,
            hip_half_width_m: 0.106 * leg,
            ankle_height_m: ANKLE_HEIGHT_M,
            heel_m: 0.059 * leg,
            toe_m: 0.176 * leg,
        }
    }

    /// From the standing height, metres (hips at 0.53 of it).
    pub fn from_height(height_m: f32) -> Self {
        BodyProportions::from_leg_length(height_m * HIPS_PER_HEIGHT - ANKLE_HEIGHT_M)
    }

    /// From the standing hips height, metres.
    pub fn from_hips_height(hips_m: f32) -> Self {
        BodyProportions::from_leg_length(hips_m - ANKLE_HEIGHT_M)
    }

    /// Standing hips height, metres.
    pub fn standing_hips_m(&self) -> f32 {
        self.upper_leg_m + self.lower_leg_m + self.ankle_height_m
    }

    /// The hip joint's offset from the hips in the hips' frame (left is +X).
    pub fn hip_offset(&self, left: bool) -> Vec3 {
        let x = if left { 1.0 } else { -1.0 };
        Vec3::new(x * self.hip_half_width_m, 0.0, 0.0)
    }

    /// Heel and toe sole points in the foot's frame, from the ankle.
    pub fn sole_points(&self) -> [Vec3; 2] {
        [
            Vec3::new(0.0, -self.ankle_height_m, -self.heel_m),
            Vec3::new(0.0, -self.ankle_height_m, self.toe_m),
        ]
    }
}
