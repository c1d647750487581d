//! Filtering: One Euro filters for positions and rotations, grouped presets, the whole-pose filter.

mod one_euro;
mod pose;
mod presets;
mod rotation;

pub use one_euro::{MAX_GAP_US, OneEuroFilter, OneEuroParams, smoothing};
pub use pose::PoseFilter;
pub use presets::{BoneGroup, FilterSettings, MAX_PREDICT_US};
pub use rotation::OneEuroRotationFilter;
