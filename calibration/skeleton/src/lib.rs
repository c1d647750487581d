//! A source's measurements onto the VRM 1.0 normalized humanoid:
//! - retargeting: source skeletons as data ([`SourceSkeleton`], with [`Axes`] and units) and
//!   [`Retargeter`], which maps their joint rotations onto the humanoid's bones;
//! - [`solve`]: world-space sensor orientations (IMUs, VMC trackers) into local bone rotations;
//! - [`body_solver`]: a whole body from a sparse set of inertial trackers, with per-tracker
//!   calibration ([`body_solver::resets`]), feet on the floor and eased tracker loss.
//!
//! Each source's names and file formats live with the source in `kagura-capture`; this crate
//! holds what every source shares.
//!
//! Architecture invariant: no sockets, tasks, clocks or files; pure functions of their inputs.

mod axes;
pub mod body_solver;
mod retargeter;
mod skeleton;
pub mod solve;

pub use axes::Axes;
pub use retargeter::{Retargeter, TargetBody};
pub use skeleton::{DuplicateJoint, MappingReport, SourceJoint, SourceSkeleton};
