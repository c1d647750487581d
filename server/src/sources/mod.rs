//! The tasks that own input sockets (and the demo's clock) and feed the pose bus.

pub mod demo;
pub mod vmc;
