//! Pose processing between a source and the bus, as sans-IO values: frames and their timestamps
//! in, frames out. Today: filtering ([`filter`]). Retargeting, calibration and source merging
//! belong here too.
//!
//! Architecture invariant: no sockets, tasks or clocks; time is the frame's `capture_us`.

pub mod filter;
pub mod merge;
pub mod procedures;
pub mod retarget;
pub mod solve;
