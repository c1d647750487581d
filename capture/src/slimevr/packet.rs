//! SlimeVR's UDP packets: a total reader of what trackers send, the server's replies, and (for
//! tests, benchmarks and emulators) writers of what trackers send.
//!
//! Everything is big-endian. A tracker's datagram is `u32 type | u64 packetNumber | payload`;
//! a bundle (100) is `repeat { u16 len | u32 type | payload }` and a compact bundle (101)
//! `repeat { u8 len | u8 type | payload }` (`len` counting the type byte and the payload), their
//! inner packets without packet numbers. Layouts: SlimeVR-Tracker-ESP `src/network/packets.h`
//! and SlimeVR-Server `UDPPacket.kt`/`UDPProtocolParser.kt` (see the module documentation).
//!
//! Nothing here allocates by what the input says, and no input panics: a payload shorter than
//! its layout is [`PacketError::Truncated`]; extra bytes after a layout are ignored (newer
//! firmware appends fields).

/// Packet types, tracker → server unless noted.
pub mod kind {
    pub const HEARTBEAT: u32 = 0;
    /// Tracker → server: legacy rotation of sensor 0. Server → tracker: the heartbeat.
    pub const ROTATION_LEGACY: u32 = 1;
    pub const SERVER_HEARTBEAT: u32 = 1;
    pub const HANDSHAKE: u32 = 3;
    pub const ACCELERATION: u32 = 4;
    pub const PING_PONG: u32 = 10;
    pub const SERIAL: u32 = 11;
    pub const BATTERY: u32 = 12;
    pub const TAP: u32 = 13;
    pub const ERROR: u32 = 14;
    pub const SENSOR_INFO: u32 = 15;
    /// Legacy rotation of sensor 1.
    pub const ROTATION_LEGACY_2: u32 = 16;
    pub const ROTATION_DATA: u32 = 17;
    pub const MAGNETOMETER_ACCURACY: u32 = 18;
    pub const SIGNAL_STRENGTH: u32 = 19;
    pub const TEMPERATURE: u32 = 20;
    pub const USER_ACTION: u32 = 21;
    pub const FEATURE_FLAGS: u32 = 22;
    pub const ROTATION_AND_ACCELERATION: u32 = 23;
    pub const CONFIG_ACK: u32 = 24;
    pub const FLEX_DATA: u32 = 26;
    pub const POSITION: u32 = 27;
    pub const BUNDLE: u32 = 100;
    pub const COMPACT_BUNDLE: u32 = 101;
    pub const INSPECTION: u32 = 105;
    pub const PROTOCOL_CHANGE: u32 = 200;
}

/// The largest datagram looked at; anything longer is counted as oversized.
pub const MAX_DATAGRAM_LEN: usize = 64 * 1024;

/// The header of every tracker datagram: type and packet number.
pub const HEADER_LEN: usize = 12;

/// Why a datagram or one of its packets was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("shorter than its layout")]
    Truncated,
    #[error("longer than {MAX_DATAGRAM_LEN} bytes")]
    Oversized,
    #[error("malformed: {0}")]
    Malformed(&'static str),
}

/// A tracker's quaternion as sent: x, y, z, w in the IMU fusion frame (see `convention`).
pub type WireQuat = [f32; 4];

/// What the handshake (3) says of the device. Every field after the MCU type is optional: old
/// emulators stop early, and the server tolerates every missing tail.
#[derive(Clone, Debug, PartialEq)]
pub struct Handshake<'a> {
    pub board: Option<i32>,
    pub imu: Option<i32>,
    pub mcu: Option<i32>,
    pub protocol_version: Option<i32>,
    /// The firmware's version string (empty: legacy owoTrack).
    pub firmware: &'a [u8],
    /// The device's MAC address, its identity (`None` if absent or all zero).
    pub mac: Option<[u8; 6]>,
}

/// What SensorInfo (15) says of one sensor. Old emulators send only the first two fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SensorInfo {
    pub sensor: u8,
    /// 0 offline, 1 ok, 2 error.
    pub status: u8,
    pub imu: Option<u8>,
    pub config_bits: Option<u16>,
    pub rest_calibrated: Option<bool>,
    /// SlimeVR's `TrackerPosition` (1 head … 20 right shoulder, 21–50 fingers; 0 none).
    pub position: Option<u8>,
    /// 0 rotation, 1 flex resistance, 2 flex angle.
    pub data_type: Option<u8>,
}

/// What user action (21) asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserAction {
    FullReset,
    YawReset,
    MountingReset,
    PauseTracking,
    Other(u8),
}

impl UserAction {
    pub fn from_byte(b: u8) -> Self {
        match b {
            2 => UserAction::FullReset,
            3 => UserAction::YawReset,
            4 => UserAction::MountingReset,
            5 => UserAction::PauseTracking,
            other => UserAction::Other(other),
        }
    }
}

/// One packet from a tracker, read in place.
#[derive(Clone, Debug, PartialEq)]
pub enum Packet<'a> {
    /// 0: a heartbeat (also the answer to the server's).
    Heartbeat,
    /// 3.
    Handshake(Handshake<'a>),
    /// 1 (sensor 0) and 16 (sensor 1): the legacy rotation packets.
    LegacyRotation { sensor: u8, rotation: WireQuat },
    /// 17: the main rotation packet. `data_type` 1 normal, 2 correction (ignored, as the
    /// server does).
    Rotation {
        sensor: u8,
        data_type: u8,
        rotation: WireQuat,
        accuracy: u8,
    },
    /// 23: rotation and acceleration in i16 (q ÷ 32768, a ÷ 128 → m/s²).
    CompactRotation {
        sensor: u8,
        rotation: WireQuat,
        acceleration: [f32; 3],
    },
    /// 4: linear acceleration in the tracker's own frame, m/s² (owoTrack omits the sensor).
    Acceleration { sensor: u8, acceleration: [f32; 3] },
    /// 10: the echo of the server's ping.
    Pong { id: i32 },
    /// 11: a serial log line.
    Serial(&'a [u8]),
    /// 12: volts (when sent; valid 2–6 V) and level 0..1.
    Battery { voltage: Option<f32>, level: f32 },
    /// 13.
    Tap { sensor: u8, bits: u8 },
    /// 14: the IMU's error code.
    Error { sensor: u8, code: u8 },
    /// 15.
    SensorInfo(SensorInfo),
    /// 18.
    MagnetometerAccuracy { sensor: u8, accuracy: f32 },
    /// 19: sensor 255 is the whole device (what the firmware always sends).
    SignalStrength { sensor: u8, rssi: i8 },
    /// 20: °C.
    Temperature { sensor: u8, celsius: f32 },
    /// 21.
    UserAction(UserAction),
    /// 22: the firmware's feature flags.
    FeatureFlags(&'a [u8]),
    /// 24: acknowledges the server's config change (25).
    ConfigAck { sensor: u8, config: u16 },
    /// 26.
    Flex { sensor: u8, value: f32 },
    /// 27: metres; not sent by the ESP firmware.
    Position { sensor: u8, position: [f32; 3] },
    /// 100: the inner packets, read with [`bundle`].
    Bundle(&'a [u8]),
    /// 101: the inner packets, read with [`compact_bundle`].
    CompactBundle(&'a [u8]),
    /// 105 (debug builds) and 200: read, ignored.
    Ignored(u32),
    /// Any other type.
    Unknown(u32),
}

/// Splits a tracker datagram into its type, packet number and payload.
pub fn split(bytes: &[u8]) -> Result<(u32, u64, &[u8]), PacketError> {
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(PacketError::Oversized);
    }
    let mut r = Reader(bytes);
    let kind = r.u32()?;
    let number = r.u64()?;
    Ok((kind, number, r.0))
}

/// Reads one packet's payload by its type.
pub fn parse(kind: u32, payload: &[u8]) -> Result<Packet<'_>, PacketError> {
    let mut r = Reader(payload);
    Ok(match kind {
        kind::HEARTBEAT => Packet::Heartbeat,
        kind::HANDSHAKE => Packet::Handshake(handshake(&mut r)?),
        kind::ROTATION_LEGACY | kind::ROTATION_LEGACY_2 => Packet::LegacyRotation {
            sensor: u8::from(kind == kind::ROTATION_LEGACY_2),
            rotation: r.quat()?,
        },
        kind::ROTATION_DATA => Packet::Rotation {
            sensor: r.u8()?,
            data_type: r.u8()?,
            rotation: r.quat()?,
            accuracy: r.u8()?,
        },
        kind::ROTATION_AND_ACCELERATION => {
            let sensor = r.u8()?;
            let mut rotation = [0.0; 4];
            for c in &mut rotation {
                *c = f32::from(r.i16()?) / 32768.0;
            }
            let mut acceleration = [0.0; 3];
            for c in &mut acceleration {
                *c = f32::from(r.i16()?) / 128.0;
            }
            Packet::CompactRotation {
                sensor,
                rotation,
                acceleration,
            }
        }
        kind::ACCELERATION => {
            let acceleration = [r.f32()?, r.f32()?, r.f32()?];
            Packet::Acceleration {
                // owoTrack sends no sensor id.
                sensor: r.u8().unwrap_or(0),
                acceleration,
            }
        }
        kind::PING_PONG => Packet::Pong { id: r.i32()? },
        kind::SERIAL => {
            let len = r.u32()? as usize;
            Packet::Serial(r.take(len)?)
        }
        kind::BATTERY => {
            let first = r.f32()?;
            match r.f32() {
                Ok(level) => Packet::Battery {
                    voltage: Some(first),
                    level,
                },
                Err(_) => Packet::Battery {
                    voltage: None,
                    level: first,
                },
            }
        }
        kind::TAP => Packet::Tap {
            sensor: r.u8()?,
            bits: r.u8()?,
        },
        kind::ERROR => Packet::Error {
            sensor: r.u8()?,
            code: r.u8()?,
        },
        kind::SENSOR_INFO => Packet::SensorInfo(SensorInfo {
            sensor: r.u8()?,
            status: r.u8()?,
            imu: r.u8().ok(),
            config_bits: r.u16().ok(),
            rest_calibrated: r.u8().ok().map(|b| b != 0),
            position: r.u8().ok(),
            data_type: r.u8().ok(),
        }),
        kind::MAGNETOMETER_ACCURACY => Packet::MagnetometerAccuracy {
            sensor: r.u8()?,
            accuracy: r.f32()?,
        },
        kind::SIGNAL_STRENGTH => Packet::SignalStrength {
            sensor: r.u8()?,
            rssi: r.u8()? as i8,
        },
        kind::TEMPERATURE => Packet::Temperature {
            sensor: r.u8()?,
            celsius: r.f32()?,
        },
        kind::USER_ACTION => Packet::UserAction(UserAction::from_byte(r.u8()?)),
        kind::FEATURE_FLAGS => Packet::FeatureFlags(r.0),
        kind::CONFIG_ACK => Packet::ConfigAck {
            sensor: r.u8()?,
            config: r.u16()?,
        },
        kind::FLEX_DATA => Packet::Flex {
            sensor: r.u8()?,
            value: r.f32()?,
        },
        kind::POSITION => Packet::Position {
            sensor: r.u8()?,
            position: [r.f32()?, r.f32()?, r.f32()?],
        },
        kind::BUNDLE => Packet::Bundle(r.0),
        kind::COMPACT_BUNDLE => Packet::CompactBundle(r.0),
        kind::INSPECTION | kind::PROTOCOL_CHANGE => Packet::Ignored(kind),
        other => Packet::Unknown(other),
    })
}

fn handshake<'a>(r: &mut Reader<'a>) -> Result<Handshake<'a>, PacketError> {
    // As the server reads it: each field only if enough bytes remain for it.
    let board = r.i32().ok();
    let imu = r.i32().ok();
    let mcu = r.i32().ok();
    if r.0.len() >= 12 {
        r.take(12)?; // IMU info, three zeros
    }
    let protocol_version = r.i32().ok();
    let len = r.u8().unwrap_or(0) as usize;
    let firmware = r.take(len.min(r.0.len()))?;
    // The server stops the string at a NUL.
    let firmware = firmware.split(|b| *b == 0).next().unwrap_or(&[]);
    let mac = r
        .take(6)
        .ok()
        .map(|m| <[u8; 6]>::try_from(m).unwrap_or_default())
        .filter(|m| m.iter().any(|b| *b != 0));
    Ok(Handshake {
        board,
        imu,
        mcu,
        protocol_version,
        firmware,
        mac,
    })
}

/// The inner packets of a bundle (100): `(type, payload)` each, or the error that ends it.
pub fn bundle(body: &[u8]) -> impl Iterator<Item = Result<(u32, &[u8]), PacketError>> {
    inner(body, false)
}

/// The inner packets of a compact bundle (101).
pub fn compact_bundle(body: &[u8]) -> impl Iterator<Item = Result<(u32, &[u8]), PacketError>> {
    inner(body, true)
}

fn inner(
    mut rest: &[u8],
    compact: bool,
) -> impl Iterator<Item = Result<(u32, &[u8]), PacketError>> {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || rest.is_empty() {
            return None;
        }
        let mut r = Reader(rest);
        let item = (|| {
            if compact {
                let len = r.u8()? as usize;
                if len == 0 {
                    return Err(PacketError::Malformed("empty compact bundle entry"));
                }
                let packet = r.take(len)?;
                Ok((u32::from(packet[0]), &packet[1..]))
            } else {
                let len = r.u16()? as usize;
                if len < 4 {
                    return Err(PacketError::Malformed("bundle entry shorter than its type"));
                }
                let packet = r.take(len)?;
                let kind = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]);
                Ok((kind, &packet[4..]))
            }
        })();
        rest = r.0;
        failed = item.is_err();
        Some(item)
    })
}

/// A big-endian reader over a slice; every read checks the length first.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PacketError> {
        if self.0.len() < n {
            return Err(PacketError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PacketError> {
        let bytes = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, PacketError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, PacketError> {
        self.array().map(u16::from_be_bytes)
    }

    fn i16(&mut self) -> Result<i16, PacketError> {
        self.array().map(i16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, PacketError> {
        self.array().map(u32::from_be_bytes)
    }

    fn i32(&mut self) -> Result<i32, PacketError> {
        self.array().map(i32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, PacketError> {
        self.array().map(u64::from_be_bytes)
    }

    fn f32(&mut self) -> Result<f32, PacketError> {
        self.array().map(f32::from_be_bytes)
    }

    fn quat(&mut self) -> Result<WireQuat, PacketError> {
        Ok([self.f32()?, self.f32()?, self.f32()?, self.f32()?])
    }
}

// ---- server → tracker ------------------------------------------------------------------------

/// The handshake reply: `3` then `Hey OVR =D 5`, zero-padded to 64 bytes as the server sends it
/// (the firmware compares only the first 13 bytes).
pub fn handshake_reply() -> Vec<u8> {
    let mut out = vec![0u8; 64];
    out[0] = 3;
    out[1..13].copy_from_slice(b"Hey OVR =D 5");
    out
}

/// The server's header: `u32 type | u64 0`.
fn server_packet(kind: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&0u64.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The server's heartbeat, sent every 500 ms (the tracker answers with a type-0 heartbeat).
pub fn heartbeat() -> Vec<u8> {
    server_packet(kind::SERVER_HEARTBEAT, &[])
}

/// The server's ping; the tracker echoes the datagram byte for byte.
pub fn ping(id: i32) -> Vec<u8> {
    server_packet(kind::PING_PONG, &id.to_be_bytes())
}

/// The server's feature flags, the reply to the tracker's (22): bit 0 bundles (100), bit 1
/// compact bundles (101).
pub fn feature_flags_reply() -> Vec<u8> {
    server_packet(kind::FEATURE_FLAGS, &[0x03])
}

/// The SensorInfo acknowledgement: `u32 15 | u8 sensorId | u8 status`, no packet number.
/// (Shorter than 12 bytes: the firmware also takes rest calibration and config as acknowledged.)
pub fn sensor_info_ack(sensor: u8, status: u8) -> Vec<u8> {
    let mut out = kind::SENSOR_INFO.to_be_bytes().to_vec();
    out.extend_from_slice(&[sensor, status]);
    out
}

/// Writers of what trackers send, by the same layouts: the tests' fixtures, an emulator's.
pub mod tracker {
    use super::kind;

    /// `u32 type | u64 number | payload`.
    pub fn packet(kind: u32, number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = kind.to_be_bytes().to_vec();
        out.extend_from_slice(&number.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn floats(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    /// The handshake as current firmware sends it (packet number 0), protocol 22.
    pub fn handshake(mac: [u8; 6], firmware: &str) -> Vec<u8> {
        let mut p = Vec::new();
        for field in [4i32, 8, 1, 0, 0, 0, 22] {
            // board, IMU, MCU, IMU info ×3, protocol version
            p.extend_from_slice(&field.to_be_bytes());
        }
        p.push(firmware.len() as u8);
        p.extend_from_slice(firmware.as_bytes());
        p.extend_from_slice(&mac);
        p.push(0); // tracker type: rotation
        for s in ["SlimeVR", "", "", "", ""] {
            p.push(s.len() as u8);
            p.extend_from_slice(s.as_bytes());
        }
        packet(kind::HANDSHAKE, 0, &p)
    }

    pub fn heartbeat(number: u64) -> Vec<u8> {
        packet(kind::HEARTBEAT, number, &[])
    }

    /// 17: a normal rotation, x, y, z, w.
    pub fn rotation(number: u64, sensor: u8, q: [f32; 4]) -> Vec<u8> {
        let mut p = vec![sensor, 1];
        p.extend(floats(&q));
        p.push(0);
        packet(kind::ROTATION_DATA, number, &p)
    }

    /// 1 (sensor 0) or 16 (sensor 1).
    pub fn legacy_rotation(number: u64, sensor: u8, q: [f32; 4]) -> Vec<u8> {
        let kind = if sensor == 0 {
            kind::ROTATION_LEGACY
        } else {
            kind::ROTATION_LEGACY_2
        };
        packet(kind, number, &floats(&q))
    }

    /// 23: i16 quaternion (× 32768, clamped) and acceleration (× 128).
    pub fn compact_rotation(number: u64, sensor: u8, q: [f32; 4], a: [f32; 3]) -> Vec<u8> {
        let mut p = vec![sensor];
        for c in q {
            p.extend_from_slice(&((c * 32768.0).clamp(-32768.0, 32767.0) as i16).to_be_bytes());
        }
        for c in a {
            p.extend_from_slice(&((c * 128.0) as i16).to_be_bytes());
        }
        packet(kind::ROTATION_AND_ACCELERATION, number, &p)
    }

    pub fn acceleration(number: u64, sensor: u8, a: [f32; 3]) -> Vec<u8> {
        let mut p = floats(&a);
        p.push(sensor);
        packet(kind::ACCELERATION, number, &p)
    }

    /// 15, 16 bytes as current firmware sends it.
    pub fn sensor_info(number: u64, sensor: u8, status: u8, position: u8) -> Vec<u8> {
        let mut p = vec![sensor, status, 8];
        p.extend_from_slice(&0x000fu16.to_be_bytes());
        p.extend_from_slice(&[1, position, 0]);
        p.extend(floats(&[100.0, 100.0]));
        packet(kind::SENSOR_INFO, number, &p)
    }

    pub fn battery(number: u64, voltage: f32, level: f32) -> Vec<u8> {
        packet(kind::BATTERY, number, &floats(&[voltage, level]))
    }

    pub fn signal_strength(number: u64, sensor: u8, rssi: i8) -> Vec<u8> {
        packet(kind::SIGNAL_STRENGTH, number, &[sensor, rssi as u8])
    }

    pub fn tap(number: u64, sensor: u8, bits: u8) -> Vec<u8> {
        packet(kind::TAP, number, &[sensor, bits])
    }

    pub fn error(number: u64, sensor: u8, code: u8) -> Vec<u8> {
        packet(kind::ERROR, number, &[sensor, code])
    }

    pub fn user_action(number: u64, action: u8) -> Vec<u8> {
        packet(kind::USER_ACTION, number, &[action])
    }

    pub fn feature_flags(number: u64, flags: &[u8]) -> Vec<u8> {
        packet(kind::FEATURE_FLAGS, number, flags)
    }

    /// The tracker's answer to a ping: the server's datagram, byte for byte.
    pub fn pong(server_ping: &[u8]) -> Vec<u8> {
        server_ping.to_vec()
    }

    /// 100: `repeat { u16 len | u32 type | payload }` of whole packets (their headers'
    /// packet numbers dropped).
    pub fn bundle(number: u64, packets: &[Vec<u8>]) -> Vec<u8> {
        let mut p = Vec::new();
        for inner in packets {
            let body = [&inner[..4], &inner[12..]].concat();
            p.extend_from_slice(&(body.len() as u16).to_be_bytes());
            p.extend_from_slice(&body);
        }
        packet(kind::BUNDLE, number, &p)
    }

    /// 101: `repeat { u8 len | u8 type | payload }`.
    pub fn compact_bundle(number: u64, packets: &[Vec<u8>]) -> Vec<u8> {
        let mut p = Vec::new();
        for inner in packets {
            let payload = &inner[12..];
            p.push((payload.len() + 1) as u8);
            p.push(inner[3]);
            p.extend_from_slice(payload);
        }
        packet(kind::COMPACT_BUNDLE, number, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Packet<'_> {
        let (kind, _, payload) = split(bytes).unwrap();
        parse(kind, payload).unwrap()
    }

    const MAC: [u8; 6] = [0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0x01];

    #[test]
    fn every_tracker_packet_reads_back_from_its_documented_layout() {
        let q = [0.1, -0.2, 0.3, 0.9];
        let hello = tracker::handshake(MAC, "0.6.0");
        let Packet::Handshake(h) = one(&hello) else {
            panic!()
        };
        assert_eq!(
            (h.board, h.imu, h.mcu, h.protocol_version, h.firmware, h.mac),
            (
                Some(4),
                Some(8),
                Some(1),
                Some(22),
                &b"0.6.0"[..],
                Some(MAC)
            )
        );
        // An old emulator stops after the MAC; an all-zero MAC is none.
        let short = tracker::handshake([0; 6], "x");
        let cut = &short[..short.len() - 1 - 5 - 7];
        let Packet::Handshake(h) = one(cut) else {
            panic!()
        };
        assert_eq!((h.firmware, h.mac), (&b"x"[..], None));
        assert_eq!(one(&tracker::heartbeat(7)), Packet::Heartbeat);
        assert_eq!(
            one(&tracker::rotation(1, 2, q)),
            Packet::Rotation {
                sensor: 2,
                data_type: 1,
                rotation: q,
                accuracy: 0
            }
        );
        assert_eq!(
            one(&tracker::legacy_rotation(1, 0, q)),
            Packet::LegacyRotation {
                sensor: 0,
                rotation: q
            }
        );
        assert_eq!(
            one(&tracker::legacy_rotation(1, 1, q)),
            Packet::LegacyRotation {
                sensor: 1,
                rotation: q
            }
        );
        let Packet::CompactRotation {
            sensor,
            rotation,
            acceleration,
        } = one(&tracker::compact_rotation(1, 3, q, [1.0, -9.5, 0.25]))
        else {
            panic!()
        };
        assert_eq!(sensor, 3);
        for (a, b) in rotation.iter().zip(q) {
            assert!((a - b).abs() < 1e-4);
        }
        assert_eq!(acceleration, [1.0, -9.5, 0.25]);
        assert_eq!(
            one(&tracker::acceleration(1, 1, [0.5, 1.5, -2.0])),
            Packet::Acceleration {
                sensor: 1,
                acceleration: [0.5, 1.5, -2.0]
            }
        );
        assert_eq!(
            one(&tracker::battery(1, 3.9, 0.8)),
            Packet::Battery {
                voltage: Some(3.9),
                level: 0.8
            }
        );
        assert_eq!(
            one(&tracker::packet(kind::BATTERY, 1, &0.5f32.to_be_bytes())),
            Packet::Battery {
                voltage: None,
                level: 0.5
            }
        );
        assert_eq!(
            one(&tracker::signal_strength(1, 255, -60)),
            Packet::SignalStrength {
                sensor: 255,
                rssi: -60
            }
        );
        assert_eq!(
            one(&tracker::tap(1, 0, 0x41)),
            Packet::Tap {
                sensor: 0,
                bits: 0x41
            }
        );
        assert_eq!(
            one(&tracker::error(1, 1, 9)),
            Packet::Error { sensor: 1, code: 9 }
        );
        for (byte, action) in [
            (2, UserAction::FullReset),
            (3, UserAction::YawReset),
            (4, UserAction::MountingReset),
            (5, UserAction::PauseTracking),
            (9, UserAction::Other(9)),
        ] {
            assert_eq!(
                one(&tracker::user_action(1, byte)),
                Packet::UserAction(action)
            );
        }
        assert_eq!(
            one(&tracker::feature_flags(1, &[0x06])),
            Packet::FeatureFlags(&[0x06])
        );
        assert_eq!(
            one(&tracker::sensor_info(1, 1, 1, 7)),
            Packet::SensorInfo(SensorInfo {
                sensor: 1,
                status: 1,
                imu: Some(8),
                config_bits: Some(0x000f),
                rest_calibrated: Some(true),
                position: Some(7),
                data_type: Some(0),
            })
        );
        // Old emulators: sensor and status only.
        let Packet::SensorInfo(old) = one(&tracker::packet(kind::SENSOR_INFO, 1, &[0, 1])) else {
            panic!()
        };
        assert_eq!((old.sensor, old.status, old.position), (0, 1, None));
        assert_eq!(
            one(&tracker::pong(&ping(-5))),
            Packet::Pong { id: -5 },
            "the echo of the server's ping"
        );
        let serial = [&3u32.to_be_bytes()[..], b"abc"].concat();
        assert_eq!(
            one(&tracker::packet(kind::SERIAL, 1, &serial)),
            Packet::Serial(b"abc")
        );
        let f = |sensor: u8, v: f32| [&[sensor][..], &v.to_be_bytes()].concat();
        assert_eq!(
            one(&tracker::packet(kind::MAGNETOMETER_ACCURACY, 1, &f(0, 0.5))),
            Packet::MagnetometerAccuracy {
                sensor: 0,
                accuracy: 0.5
            }
        );
        assert_eq!(
            one(&tracker::packet(kind::TEMPERATURE, 1, &f(1, 31.5))),
            Packet::Temperature {
                sensor: 1,
                celsius: 31.5
            }
        );
        assert_eq!(
            one(&tracker::packet(kind::FLEX_DATA, 1, &f(2, 0.25))),
            Packet::Flex {
                sensor: 2,
                value: 0.25
            }
        );
        assert_eq!(
            one(&tracker::packet(kind::CONFIG_ACK, 1, &[1, 0, 2])),
            Packet::ConfigAck {
                sensor: 1,
                config: 2
            }
        );
        let pos = [
            &[0u8][..],
            &1f32.to_be_bytes(),
            &2f32.to_be_bytes(),
            &3f32.to_be_bytes(),
        ]
        .concat();
        assert_eq!(
            one(&tracker::packet(kind::POSITION, 1, &pos)),
            Packet::Position {
                sensor: 0,
                position: [1.0, 2.0, 3.0]
            }
        );
        assert_eq!(
            one(&tracker::packet(kind::PROTOCOL_CHANGE, 1, &[1, 1])),
            Packet::Ignored(200)
        );
        assert_eq!(one(&tracker::packet(77, 1, &[])), Packet::Unknown(77));
    }

    #[test]
    fn bundles_hold_whole_packets_without_numbers() {
        let q = [0.0, 0.0, 0.0, 1.0];
        let inner = vec![
            tracker::rotation(0, 0, q),
            tracker::battery(0, 4.0, 0.9),
            tracker::heartbeat(0),
        ];
        let whole = tracker::bundle(42, &inner);
        let (kind, number, body) = split(&whole).unwrap();
        assert_eq!((kind, number), (kind::BUNDLE, 42));
        let read: Vec<_> = bundle(body).map(Result::unwrap).collect();
        assert_eq!(read.len(), 3);
        for ((k, payload), whole) in read.iter().zip(&inner) {
            assert_eq!(k.to_be_bytes(), whole[..4]);
            assert_eq!(*payload, &whole[12..]);
        }
        // Layout by hand: u16 len (type + payload) | u32 type | payload (17's payload is 19 B).
        assert_eq!(&body[..6], &[0, 4 + 19, 0, 0, 0, 17]);
        let whole = tracker::compact_bundle(43, &inner);
        let (kind, _, body) = split(&whole).unwrap();
        assert_eq!(kind, kind::COMPACT_BUNDLE);
        // u8 len (type + payload) | u8 type | payload.
        assert_eq!(&body[..2], &[1 + 19, 17]);
        let read: Vec<_> = compact_bundle(body).map(Result::unwrap).collect();
        assert_eq!(read.len(), 3);
        assert_eq!(read[1], (kind::BATTERY, &inner[1][12..]));
        assert_eq!(read[2], (kind::HEARTBEAT, &[][..]));
        // A length past the end ends the bundle with an error, once.
        let mut cut = body.to_vec();
        cut.truncate(cut.len() - 1);
        cut[0] = 200;
        let errors: Vec<_> = compact_bundle(&cut).collect();
        assert_eq!(errors, vec![Err(PacketError::Truncated)]);
        assert_eq!(
            bundle(&[0, 2, 0, 0]).collect::<Vec<_>>(),
            vec![Err(PacketError::Malformed(
                "bundle entry shorter than its type"
            ))]
        );
    }

    #[test]
    fn server_replies_have_the_documented_bytes() {
        let reply = handshake_reply();
        assert_eq!(reply.len(), 64);
        assert_eq!(reply[0], 3);
        assert_eq!(&reply[1..13], b"Hey OVR =D 5");
        assert!(reply[13..].iter().all(|b| *b == 0));
        assert_eq!(heartbeat(), [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            ping(0x01020304),
            [0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]
        );
        assert_eq!(
            feature_flags_reply(),
            [0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0x03]
        );
        assert_eq!(sensor_info_ack(1, 1), [0, 0, 0, 15, 1, 1]);
    }

    #[test]
    fn short_and_huge_datagrams_are_errors() {
        assert_eq!(split(&[0, 0, 0, 17]), Err(PacketError::Truncated));
        assert_eq!(
            split(&vec![0; MAX_DATAGRAM_LEN + 1]),
            Err(PacketError::Oversized)
        );
        assert_eq!(
            parse(kind::ROTATION_DATA, &[0, 1, 0]),
            Err(PacketError::Truncated)
        );
    }
}
