//! Kagura's vocabulary, shared by every other crate: the VRM 1.0 humanoid ([`HumanoidBone`]),
//! facial [`Expression`]s, the [`PoseFrame`], its binary [`wire`] format, and the [`control`]
//! messages between subscribers and the server.
//!
//! Architecture invariant: this crate knows nothing about sockets, tasks, clocks or JSON. Every
//! decoder in it is total: arbitrary bytes give a value or an error, never a panic.

mod bone;
pub mod control;
mod expression;
mod frame;
pub mod wire;

pub use bone::HumanoidBone;
pub use expression::Expression;
pub use frame::{
    CheckedRotation, PerformerId, PoseFrame, RootTransform, check_rotation, rotation_error_degrees,
};
