//! Filtering: One Euro filters for positions and rotations, settings per bone group, the
//! whole-pose filter. Each kind of source declares its preset in `kagura-capture`.
//!
//! Architecture invariant: no sockets, tasks or clocks; time is each frame's `capture_us`.

mod one_euro;
mod pose;
mod presets;
mod rotation;

pub use one_euro::{MAX_GAP_US, OneEuroFilter, OneEuroParams, smoothing};
pub use pose::PoseFilter;
pub use presets::{BoneGroup, FilterSettings, MAX_PREDICT_US};
pub use rotation::OneEuroRotationFilter;
