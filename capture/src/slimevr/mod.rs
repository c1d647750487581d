//! SlimeVR trackers, with Kagura as their server (UDP 6969).
//!
//! SlimeVR trackers (ESP boards with one or two IMUs, and the many boards and bridges that speak
//! their protocol) broadcast a handshake to port 6969 until a server answers, then talk to that
//! server alone: each IMU's fused world orientation, battery, signal, taps, the user's reset
//! button. Kagura answers as SlimeVR's own server does, so no SlimeVR software runs.
//!
//! - [`packet`]: the total packet reader (every tracker → server type, bundles 100 and 101 one
//!   level deep), the server's replies, and writers of tracker packets for tests.
//! - [`session`]: per device (by MAC) and per tracker state; the packet-number rule; counters.
//! - [`convention`]: the one conversion, Z-up IMU fusion frame → internal Y-up world.
//! - [`position`]: SlimeVR's body positions → VRM 1.0 bones.
//! - [`source`]: `SlimeVrConfig` (`kind = "slimevr"`) and `SlimeVrSource`: handshakes,
//!   heartbeats and pings on the source's timer, loss after silence, frames of sensors.
//!
//! Protocol facts from SlimeVR-Tracker-ESP (`src/network/packets.h`, `connection.cpp`,
//! `sensorposition.h`) and SlimeVR-Server (`tracking/trackers/udp/UDPPacket.kt`,
//! `UDPProtocolParser.kt`, `UDPDevice.kt`, `TrackersUDPServer.kt`).

pub mod convention;
pub mod packet;
pub mod position;
pub mod session;
mod source;

pub use source::{
    DEFAULT_SLIMEVR_PORT, KEEPALIVE_INTERVAL_US, MAX_DEVICES, SlimeVrConfig, SlimeVrSource,
    SlimeVrStats, key_of,
};

#[cfg(test)]
mod tests;
