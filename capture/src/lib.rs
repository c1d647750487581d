//! Tracking sources as sans-IO cores: bytes (plus their arrival time) in, [`PoseFrame`]s in the
//! internal convention and counted errors out.
//!
//! Architecture invariant: no sockets, tasks or clocks here; the server owns those. Only each
//! source's own module knows that source's axes, units and names.
//!
//! [`PoseFrame`]: kagura_protocol::PoseFrame

pub mod demo;
pub mod vmc;
