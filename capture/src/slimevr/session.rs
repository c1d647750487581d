//! What Kagura keeps of each SlimeVR device (one board, identified by its MAC) and of each of
//! its trackers (one IMU, by sensor id): identity, address, packet numbers, liveness, the latest
//! orientation, battery and signal, and counters.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use glam::Quat;
use kagura_protocol::HumanoidBone;
use serde::Serialize;

use super::packet::PacketError;

/// What is counted per device and for the whole source. Errors: `malformed`, `truncated`,
/// `oversized`, `nan_quaternions`, `out_of_order`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    /// Datagrams received.
    pub datagrams: u64,
    /// Packets read, those inside bundles included.
    pub packets: u64,
    /// Packets by type (`"17"`: rotations), those inside bundles included.
    pub by_type: BTreeMap<u32, u64>,
    /// Layouts that contradict themselves (a bundle entry's length, a bundle in a bundle).
    pub malformed: u64,
    /// Packets shorter than their layout.
    pub truncated: u64,
    /// Datagrams longer than 64 KiB.
    pub oversized: u64,
    /// Rotations that are no rotation (NaN, infinite, zero): the sample is dropped.
    pub nan_quaternions: u64,
    /// Datagrams whose packet number is neither 0 nor above the last one: dropped.
    pub out_of_order: u64,
    /// Types Kagura does not know (not errors).
    pub unknown_types: u64,
}

impl Counters {
    pub fn errors(&self) -> u64 {
        self.malformed + self.truncated + self.oversized + self.nan_quaternions + self.out_of_order
    }

    pub fn count_error(&mut self, error: PacketError) {
        match error {
            PacketError::Truncated => self.truncated += 1,
            PacketError::Oversized => self.oversized += 1,
            PacketError::Malformed(_) => self.malformed += 1,
        }
    }

    pub fn count_type(&mut self, kind: u32) {
        self.packets += 1;
        *self.by_type.entry(kind).or_default() += 1;
    }
}

/// Why a tracker drives the bone it drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Over the API (`PUT /api/sources/{index}/sensors`): wins over the rest.
    Api,
    /// The config's `trackers` map (it wins over SensorInfo).
    Config,
    /// The body position the tracker reports in its SensorInfo.
    SensorInfo,
}

/// One IMU of a device.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    pub sensor: u8,
    /// SensorInfo's status: 0 offline, 1 ok, 2 error.
    pub status: Option<u8>,
    pub imu: Option<u8>,
    /// SensorInfo's `trackerPosition`.
    pub position: Option<u8>,
    pub bone: Option<HumanoidBone>,
    pub assigned_by: Option<Assignment>,
    /// The latest world orientation, internal convention.
    pub rotation: Option<Quat>,
    /// When it arrived.
    pub rotation_us: u64,
    /// Reported since the last frame.
    pub fresh: bool,
    /// The latest acceleration, m/s², the tracker's own axes.
    pub acceleration: Option<[f32; 3]>,
    pub temperature_c: Option<f32>,
    pub taps: u64,
    pub last_error: Option<u8>,
}

/// One board: its identity, where it is now, and its trackers.
#[derive(Clone, Debug)]
pub struct Device {
    /// The MAC as `AA:BB:CC:DD:EE:FF` (or, for a sender without one, its address).
    pub id: String,
    pub address: SocketAddr,
    /// The highest packet number accepted since the last handshake.
    pub last_number: u64,
    pub firmware: String,
    pub protocol_version: Option<i32>,
    pub board: Option<i32>,
    pub firmware_flags: Vec<u8>,
    pub trackers: BTreeMap<u8, Tracker>,
    pub battery_level: Option<f32>,
    pub battery_voltage: Option<f32>,
    pub rssi: Option<i8>,
    pub last_seen_us: u64,
    pub live: bool,
    /// The ping awaiting its echo: id and when it was sent.
    pub ping: Option<(i32, u64)>,
    pub round_trip_us: Option<u64>,
    pub handshakes: u64,
    /// Handshakes from a new address or port.
    pub address_changes: u64,
    pub times_lost: u64,
    pub counters: Counters,
}

impl Device {
    pub fn new(id: String, address: SocketAddr, now_us: u64) -> Self {
        Device {
            id,
            address,
            last_number: 0,
            firmware: String::new(),
            protocol_version: None,
            board: None,
            firmware_flags: Vec::new(),
            trackers: BTreeMap::new(),
            battery_level: None,
            battery_voltage: None,
            rssi: None,
            last_seen_us: now_us,
            live: true,
            ping: None,
            round_trip_us: None,
            handshakes: 0,
            address_changes: 0,
            times_lost: 0,
            counters: Counters::default(),
        }
    }

    /// SlimeVR's rule (`UDPDevice.isNextPacket`): a packet is taken if its number is 0 (the
    /// handshake, the echo of the server's ping) or above the last taken.
    pub fn accept_number(&mut self, number: u64) -> bool {
        if number == 0 {
            return true;
        }
        if number > self.last_number {
            self.last_number = number;
            true
        } else {
            false
        }
    }

    /// The key of one of its trackers, as the config's `trackers` map names it.
    pub fn tracker_key(&self, sensor: u8) -> String {
        tracker_key(&self.id, sensor)
    }
}

/// `AA:BB:CC:DD:EE:FF/0`.
pub fn tracker_key(device: &str, sensor: u8) -> String {
    format!("{device}/{sensor}")
}

/// A MAC as SlimeVR's server prints it.
pub fn mac_text(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02X}:{b:02X}:{c:02X}:{d:02X}:{e:02X}:{f:02X}")
}

/// A config's tracker key, normalised: `aa-bb-cc-dd-ee-ff/1` → `AA:BB:CC:DD:EE:FF/1`.
pub fn parse_tracker_key(text: &str) -> Result<String, String> {
    let bad = || format!("tracker {text:?} is not MAC/sensor (\"AA:BB:CC:DD:EE:FF/0\")");
    let (mac, sensor) = text.split_once('/').ok_or_else(bad)?;
    let sensor: u8 = sensor.trim().parse().map_err(|_| bad())?;
    let parts: Vec<&str> = mac.trim().split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut bytes = [0u8; 6];
    for (byte, part) in bytes.iter_mut().zip(&parts) {
        if part.len() != 2 {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    Ok(tracker_key(&mac_text(bytes), sensor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_numbers_rise_except_zero() {
        let mut d = Device::new("x".into(), "10.0.0.2:6969".parse().unwrap(), 0);
        assert!(d.accept_number(5));
        assert!(!d.accept_number(5), "a repeat");
        assert!(!d.accept_number(3), "late");
        assert!(d.accept_number(0), "zero always");
        assert!(d.accept_number(6));
        assert_eq!(d.last_number, 6);
    }

    #[test]
    fn tracker_keys_are_normalised() {
        assert_eq!(
            parse_tracker_key("aa-bb-cc-dd-ee-0f/1").unwrap(),
            "AA:BB:CC:DD:EE:0F/1"
        );
        assert_eq!(mac_text([0, 1, 2, 0xab, 0xcd, 0xef]), "00:01:02:AB:CD:EF");
        for bad in [
            "AA:BB:CC:DD:EE/0",
            "AA:BB:CC:DD:EE:FF",
            "AA:BB:CC:DD:EE:FG/0",
            "AA:BB:CC:DD:EE:FF/256",
        ] {
            assert!(parse_tracker_key(bad).is_err(), "{bad}");
        }
    }
}
