//! Retargeting: source skeletons (as data) onto the VRM 1.0 normalized humanoid.

mod axes;
pub mod bvh;
mod retargeter;
mod skeleton;

pub use axes::Axes;
pub use retargeter::{Retargeter, TargetBody};
pub use skeleton::{DuplicateJoint, MappingReport, SourceJoint, SourceSkeleton};
