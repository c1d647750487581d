//! Calibration procedures, by what the performer does: hold a reference pose (mounting / pose
//! offsets), face forward (yaw), give their height (proportions), rest or stretch their face;
//! and [`PerformerCalibration`], what they measure, applied per source (mounting) and per
//! performer (heading, face), serializable.
//!
//! Architecture invariant: no sockets, tasks, clocks or files: captures are fed frames.

mod average;
pub mod expression_map;
mod face;
mod mounting;
mod profile;
mod reference;

pub use average::average_rotation;
pub use expression_map::{ExpressionMap, ExpressionRule};
pub use face::{ChannelRange, FaceCalibration, FaceCapture, FaceCaptureKind};
pub use mounting::{MountingCapture, Space, bone_from_sensor};
pub use profile::{
    ANKLE_HEIGHT_M, CalibrationCapture, CalibrationError, CalibrationKind, HIPS_HEIGHT_PER_HEIGHT,
    PerformerCalibration, SourceMounting, heading,
};
pub use reference::{A_POSE_ARM_DROP_DEG, ReferencePose};
