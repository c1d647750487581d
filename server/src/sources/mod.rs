//! The tasks that own input sockets (and the clocks of the demo and BVH playback) and feed the
//! performers' pipelines.

pub mod bvh;
pub mod demo;
pub mod vmc;
