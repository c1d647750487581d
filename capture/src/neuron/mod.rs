//! `kind = "neuron"`: Perception Neuron suits through Axis Neuron or Axis Studio's "BVH
//! broadcasting" — string frames over TCP (Kagura connects to Axis) or binary frames over UDP
//! (Axis sends to Kagura) — retargeted from the avatar's skeleton (Axis Neuron's, Axis
//! Studio's, or a `.bvh` header the user exports) onto the humanoid.
//!
//! - [`wire`]: the two formats, framing and parsing (total, bounded).
//! - [`skeleton`]: the built-in skeletons as data, a frame's value layout.
//! - [`convention`]: Axis' BVH axes, units and Euler order, and the one conversion.
//! - [`source`]: [`NeuronConfig`] and [`NeuronSource`].

pub mod convention;
pub mod skeleton;
mod source;
pub mod wire;

pub use source::{
    DEFAULT_TCP_ADDRESS, DEFAULT_UDP_PORT, NeuronConfig, NeuronMode, NeuronSource, NeuronStats,
};

#[cfg(test)]
mod tests;
