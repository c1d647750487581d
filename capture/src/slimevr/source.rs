//! `kind = "slimevr"`: Kagura as the SlimeVR server. Trackers on the network find it by their
//! handshake broadcast to port 6969; every tracker assigned to a bone becomes a sensor of one
//! performer stream.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use kagura_filter::FilterSettings;
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame};
use kagura_skeleton::solve::NO_SENSORS;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::convention::world_orientation;
use super::packet::{self, Packet, UserAction, kind};
use super::position::bone_of_position;
use super::session::{
    Assignment, Counters, Device, Tracker, mac_text, parse_tracker_key, tracker_key,
};
use crate::source::{
    BuildEnv, Source, SourceAction, SourceEvent, SourceFrame, SourceInput, SourceIo,
    SourceKindSpec, SourceReport, StreamReport, StreamSpec, Transmit,
};

/// The SlimeVR server's port: trackers broadcast their handshake to it.
pub const DEFAULT_SLIMEVR_PORT: u16 = 6969;
/// The server's heartbeat and ping, to every live device, this often (µs), as SlimeVR's does.
pub const KEEPALIVE_INTERVAL_US: u64 = 500_000;
/// At most this many devices are kept (a device is a MAC: a forged stream of MACs must not
/// grow memory without bound); a new one takes the place of the one lost longest ago.
pub const MAX_DEVICES: usize = 64;

/// The config section:
///
/// ```toml
/// [[source]]
/// kind = "slimevr"
/// performer = "main"
/// # port = 6969
/// # rate_hz = 100           # a frame at least this often while trackers move
/// # lost_after_ms = 3000    # a device silent this long (not even heartbeats) is lost
/// # Which tracker drives which bone (wins over the body position set in the tracker):
/// trackers = { "AA:BB:CC:DD:EE:FF/0" = "leftUpperLeg", "AA:BB:CC:DD:EE:FF/1" = "leftLowerLeg" }
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlimeVrConfig {
    #[serde(default = "default_port")]
    pub port: u16,
    pub performer: String,
    /// `"MAC/sensorId"` → bone. Trackers not named here drive the bone of the body position
    /// their SensorInfo reports, if any; the rest are listed in `/api/status` to be assigned.
    #[serde(default)]
    pub trackers: BTreeMap<String, HumanoidBone>,
    /// Frames per second at least, while some tracker reports (see [`SlimeVrSource`]).
    #[serde(default = "default_rate")]
    pub rate_hz: f32,
    /// Filter this source's frames (default true; `[filters.slimevr]` decides how).
    #[serde(default = "crate::config_section::yes")]
    pub filter: bool,
    /// The body parts it drives (default: all).
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    /// Higher wins where sources' parts overlap.
    #[serde(default)]
    pub priority: i32,
    /// A device that sends nothing for this long is lost (its trackers leave the frames until
    /// it is heard again). Above the 500 ms heartbeat, which an idle tracker still answers.
    #[serde(default = "default_lost_after")]
    pub lost_after_ms: u64,
}

fn default_port() -> u16 {
    DEFAULT_SLIMEVR_PORT
}

fn default_rate() -> f32 {
    100.0
}

fn default_lost_after() -> u64 {
    3000
}

impl SourceKindSpec for SlimeVrConfig {
    const KIND: &'static str = "slimevr";

    /// Light: what SlimeVR trackers send is already the output of an IMU fusion filter (VQF or
    /// similar) at 100+ Hz, smooth to a fraction of a degree; a heavier filter would only add
    /// lag to every limb. This one (`FilterSettings::light`, 5 Hz minimum cutoff opening fast)
    /// takes out the last float and network-timing jitter without visible lag.
    fn filter_preset() -> FilterSettings {
        FilterSettings::light()
    }

    fn io(&self) -> SourceIo {
        SourceIo::Udp { port: self.port }
    }

    fn performers(&self) -> Vec<String> {
        vec![self.performer.clone()]
    }

    fn build(&self, _env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(SlimeVrSource::new(self)?))
    }
}

/// What `/api/status` counts for the whole source (per device: the same [`Counters`]).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SlimeVrStats {
    #[serde(flatten)]
    pub counters: Counters,
    pub frames: u64,
    pub handshakes: u64,
    /// Datagrams from an address that has not shaken hands (a tracker still talking to the
    /// server it had before this one started sends these until it times out, ≤ 3 s).
    pub unknown_senders: u64,
    /// Handshakes refused because [`MAX_DEVICES`] devices are known.
    pub too_many_devices: u64,
    /// User actions (21): resets forwarded as [`SourceEvent::Action`].
    pub actions: u64,
    /// "Pause tracking" (21, action 5): counted, not acted on.
    pub pause_requests: u64,
    pub devices_lost: u64,
    pub keepalives_sent: u64,
}

impl SlimeVrStats {
    pub fn errors(&self) -> u64 {
        self.counters.errors()
    }
}

/// Kagura as the SlimeVR server: one port, any number of devices, one performer stream.
///
/// **Framing.** Trackers report at their own times (each only when its orientation changed),
/// so a frame is emitted when every live, assigned tracker (not reported offline) has reported
/// since the last frame — the natural "tick" of a set of trackers running at the same rate —
/// or, when some have and others stay quiet (a still tracker sends nothing), `1 / rate_hz`
/// after the first unsent report, from [`Source::handle_timeout`]. A frame carries the latest
/// orientation of every live assigned tracker, so a still limb keeps its place. Its capture
/// and arrival time is that of its newest report (SlimeVR carries no sender clock).
///
/// **Identity.** A device is its MAC (from the handshake): a tracker reconnecting from a new
/// address or port is the same device, with the same trackers, assignments and so the same
/// mountings (kept under the stream's key and the bone). Liveness is judged by any packet.
pub struct SlimeVrSource {
    port: u16,
    specs: Vec<StreamSpec>,
    assignments: BTreeMap<String, HumanoidBone>,
    /// Assignments made over the API (`None`: deliberately unassigned); they win.
    api_assignments: BTreeMap<String, Option<HumanoidBone>>,
    period_us: u64,
    lost_after_us: u64,
    devices: Vec<Device>,
    by_address: BTreeMap<SocketAddr, usize>,
    stats: SlimeVrStats,
    next_keepalive_us: Option<u64>,
    next_ping_id: i32,
    /// When the first report not yet in a frame arrived.
    pending_since_us: Option<u64>,
    seq: u32,
    /// The latest time the source was told (for "last seen … ago" in reports).
    now_us: u64,
    events: VecDeque<SourceEvent>,
    transmits: VecDeque<Transmit>,
}

impl SlimeVrSource {
    pub fn new(config: &SlimeVrConfig) -> Result<Self, String> {
        if !(config.rate_hz.is_finite() && config.rate_hz > 0.0 && config.rate_hz <= 1000.0) {
            return Err(format!("rate_hz {} must be in (0, 1000]", config.rate_hz));
        }
        if config.lost_after_ms.saturating_mul(1000) <= KEEPALIVE_INTERVAL_US {
            return Err(format!(
                "lost_after_ms {} must exceed the {} ms heartbeat",
                config.lost_after_ms,
                KEEPALIVE_INTERVAL_US / 1000
            ));
        }
        let mut assignments = BTreeMap::new();
        for (key, bone) in &config.trackers {
            if assignments.insert(parse_tracker_key(key)?, *bone).is_some() {
                return Err(format!("tracker {key:?} is named twice"));
            }
        }
        Ok(SlimeVrSource {
            port: config.port,
            specs: vec![StreamSpec {
                performer: config.performer.clone(),
                role: SourceRole::configured(&config.parts, config.priority),
                filtered: config.filter,
                key: format!("slimevr@{}", config.port),
                hips_height_m: None,
            }],
            assignments,
            api_assignments: BTreeMap::new(),
            period_us: (1e6 / f64::from(config.rate_hz)).round() as u64,
            lost_after_us: config.lost_after_ms.saturating_mul(1000),
            devices: Vec::new(),
            by_address: BTreeMap::new(),
            stats: SlimeVrStats::default(),
            next_keepalive_us: None,
            next_ping_id: 1,
            pending_since_us: None,
            seq: 0,
            now_us: 0,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
        })
    }

    pub fn stats(&self) -> &SlimeVrStats {
        &self.stats
    }

    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    fn send(&mut self, to: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { to, bytes });
    }

    fn handshake(&mut self, from: SocketAddr, payload: &[u8], now_us: u64) {
        self.stats.counters.count_type(kind::HANDSHAKE);
        let hello = match packet::parse(kind::HANDSHAKE, payload) {
            Ok(Packet::Handshake(hello)) => hello,
            Ok(_) => return,
            Err(e) => {
                self.stats.counters.count_error(e);
                return;
            }
        };
        let id = hello.mac.map_or_else(|| from.to_string(), mac_text);
        let index = match self.devices.iter().position(|d| d.id == id) {
            Some(index) => index,
            None if self.devices.len() >= MAX_DEVICES && !self.forget_a_lost_device() => {
                self.stats.too_many_devices += 1;
                return;
            }
            None => {
                self.devices.push(Device::new(id, from, now_us));
                self.devices.len() - 1
            }
        };
        let device = &mut self.devices[index];
        if device.address != from {
            // The same board from a new address or port: it keeps everything. (Its old
            // address may be another board's by now.)
            if self.by_address.get(&device.address) == Some(&index) {
                self.by_address.remove(&device.address);
            }
            device.address = from;
            device.address_changes += 1;
        }
        // Whatever was at this address before is this device now.
        self.by_address.insert(from, index);
        device.last_number = 0;
        device.last_seen_us = now_us;
        device.live = true;
        device.handshakes += 1;
        device.counters.datagrams += 1;
        device.counters.count_type(kind::HANDSHAKE);
        device.firmware = String::from_utf8_lossy(hello.firmware).into_owned();
        device.protocol_version = hello.protocol_version;
        device.board = hello.board;
        for tracker in device.trackers.values_mut() {
            tracker.fresh = false;
        }
        self.stats.handshakes += 1;
        self.send(from, packet::handshake_reply());
        self.next_keepalive_us
            .get_or_insert(now_us + KEEPALIVE_INTERVAL_US);
    }

    /// Makes room: forgets the device lost longest ago, if any is lost.
    fn forget_a_lost_device(&mut self) -> bool {
        let Some(oldest) = (0..self.devices.len())
            .filter(|i| !self.devices[*i].live)
            .min_by_key(|i| self.devices[*i].last_seen_us)
        else {
            return false;
        };
        self.devices.remove(oldest);
        self.by_address.retain(|_, index| *index != oldest);
        for index in self.by_address.values_mut() {
            if *index > oldest {
                *index -= 1;
            }
        }
        true
    }

    /// One packet of a known device (top level or inside a bundle).
    fn packet(&mut self, index: usize, kind: u32, payload: &[u8], now_us: u64, in_bundle: bool) {
        self.stats.counters.count_type(kind);
        self.devices[index].counters.count_type(kind);
        let parsed = match packet::parse(kind, payload) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.stats.counters.count_error(e);
                self.devices[index].counters.count_error(e);
                return;
            }
        };
        match parsed {
            Packet::Bundle(_) | Packet::CompactBundle(_) if in_bundle => {
                let e = packet::PacketError::Malformed("a bundle in a bundle");
                self.stats.counters.count_error(e);
                self.devices[index].counters.count_error(e);
            }
            Packet::Bundle(body) => self.bundle(index, packet::bundle(body), now_us),
            Packet::CompactBundle(body) => self.bundle(index, packet::compact_bundle(body), now_us),
            other => self.apply(index, other, now_us),
        }
    }

    fn bundle<'a>(
        &mut self,
        index: usize,
        inner: impl Iterator<Item = Result<(u32, &'a [u8]), packet::PacketError>>,
        now_us: u64,
    ) {
        for item in inner {
            match item {
                Ok((kind, payload)) => self.packet(index, kind, payload, now_us, true),
                Err(e) => {
                    self.stats.counters.count_error(e);
                    self.devices[index].counters.count_error(e);
                }
            }
        }
    }

    fn apply(&mut self, index: usize, packet: Packet<'_>, now_us: u64) {
        let address = self.devices[index].address;
        match packet {
            Packet::LegacyRotation { sensor, rotation }
            | Packet::Rotation {
                sensor,
                rotation,
                data_type: 1,
                ..
            }
            | Packet::CompactRotation {
                sensor, rotation, ..
            } => match world_orientation(rotation) {
                Some(q) => {
                    let tracker = self.tracker(index, sensor);
                    tracker.rotation = Some(q);
                    tracker.rotation_us = now_us;
                    tracker.fresh = true;
                }
                None => {
                    self.stats.counters.nan_quaternions += 1;
                    self.devices[index].counters.nan_quaternions += 1;
                }
            },
            // Correction data (2) and unknown kinds of rotation: SlimeVR's server ignores them.
            Packet::Rotation { .. } => {}
            Packet::Acceleration {
                sensor,
                acceleration,
            } => self.tracker(index, sensor).acceleration = Some(acceleration),
            Packet::SensorInfo(info) => {
                let tracker = self.tracker(index, info.sensor);
                tracker.status = Some(info.status);
                tracker.imu = info.imu.or(tracker.imu);
                if info.position.is_some() {
                    tracker.position = info.position;
                }
                self.assign(index, info.sensor);
                self.send(address, packet::sensor_info_ack(info.sensor, info.status));
            }
            Packet::FeatureFlags(flags) => {
                self.devices[index].firmware_flags = flags.iter().take(16).copied().collect();
                self.send(address, packet::feature_flags_reply());
            }
            Packet::Pong { id } => {
                let device = &mut self.devices[index];
                if let Some((sent_id, sent_us)) = device.ping
                    && sent_id == id
                {
                    device.round_trip_us = Some(now_us.saturating_sub(sent_us));
                    device.ping = None;
                }
            }
            Packet::Battery { voltage, level } => {
                let device = &mut self.devices[index];
                device.battery_level = level.is_finite().then_some(level);
                // The server takes volts only between 2 and 6.
                device.battery_voltage = voltage.filter(|v| (2.0..=6.0).contains(v));
            }
            Packet::SignalStrength { rssi, .. } => self.devices[index].rssi = Some(rssi),
            Packet::Tap { sensor, .. } => self.tracker(index, sensor).taps += 1,
            Packet::Error { sensor, code } => self.tracker(index, sensor).last_error = Some(code),
            Packet::Temperature { sensor, celsius } => {
                self.tracker(index, sensor).temperature_c = celsius.is_finite().then_some(celsius)
            }
            Packet::UserAction(action) => {
                let action = match action {
                    UserAction::FullReset => Some(SourceAction::FullReset),
                    UserAction::YawReset => Some(SourceAction::YawReset),
                    UserAction::MountingReset => Some(SourceAction::MountingReset),
                    UserAction::PauseTracking => {
                        self.stats.pause_requests += 1;
                        None
                    }
                    UserAction::Other(_) => None,
                };
                if let Some(action) = action {
                    self.stats.actions += 1;
                    self.events
                        .push_back(SourceEvent::Action { stream: 0, action });
                }
            }
            Packet::Unknown(_) => {
                self.stats.counters.unknown_types += 1;
                self.devices[index].counters.unknown_types += 1;
            }
            // Liveness is all a heartbeat says; the rest is read and not used.
            Packet::Heartbeat
            | Packet::Handshake(_)
            | Packet::Serial(_)
            | Packet::MagnetometerAccuracy { .. }
            | Packet::ConfigAck { .. }
            | Packet::Flex { .. }
            | Packet::Position { .. }
            | Packet::Ignored(_)
            | Packet::Bundle(_)
            | Packet::CompactBundle(_) => {}
        }
    }

    /// A device's tracker, made (and assigned) when first heard of.
    fn tracker(&mut self, index: usize, sensor: u8) -> &mut Tracker {
        if let std::collections::btree_map::Entry::Vacant(slot) =
            self.devices[index].trackers.entry(sensor)
        {
            slot.insert(Tracker {
                sensor,
                ..Tracker::default()
            });
            self.assign(index, sensor);
        }
        self.devices[index]
            .trackers
            .get_mut(&sensor)
            .expect("inserted above")
    }

    /// The API wins, then the config; else the body position from its SensorInfo.
    fn assign(&mut self, index: usize, sensor: u8) {
        let key = self.devices[index].tracker_key(sensor);
        let by_api = self.api_assignments.get(&key).copied();
        let configured = self.assignments.get(&key).copied();
        let Some(tracker) = self.devices[index].trackers.get_mut(&sensor) else {
            return;
        };
        let (bone, by) = match (by_api, configured) {
            (Some(bone), _) => (bone, bone.map(|_| Assignment::Api)),
            (None, Some(bone)) => (Some(bone), Some(Assignment::Config)),
            (None, None) => match tracker.position.and_then(bone_of_position) {
                Some(bone) => (Some(bone), Some(Assignment::SensorInfo)),
                None => (None, None),
            },
        };
        tracker.bone = bone;
        tracker.assigned_by = by;
    }

    /// The live trackers that drive a bone and have an orientation.
    fn driving(&self) -> impl Iterator<Item = &Tracker> {
        self.devices
            .iter()
            .filter(|d| d.live)
            .flat_map(|d| d.trackers.values())
            .filter(|t| t.bone.is_some() && t.rotation.is_some())
    }

    /// The trackers a frame waits for: live, assigned, and not reported offline or failed by
    /// their SensorInfo (those have not necessarily sent an orientation yet).
    fn awaited(&self) -> impl Iterator<Item = &Tracker> {
        self.devices
            .iter()
            .filter(|d| d.live)
            .flat_map(|d| d.trackers.values())
            .filter(|t| t.bone.is_some() && t.status.is_none_or(|s| s == 1))
    }

    /// After input: a frame if every awaited tracker has reported, else note the wait.
    fn frame_if_complete(&mut self, now_us: u64) {
        let (mut any, mut all) = (false, true);
        for tracker in self.awaited() {
            any |= tracker.fresh;
            all &= tracker.fresh;
        }
        if !any {
            return;
        }
        if all {
            self.emit();
        } else {
            self.pending_since_us.get_or_insert(now_us);
        }
    }

    fn emit(&mut self) {
        let mut sensors = NO_SENSORS;
        let mut newest_us = 0;
        for tracker in self.driving() {
            if let (Some(bone), Some(q)) = (tracker.bone, tracker.rotation) {
                sensors[bone.index()] = Some(q);
                newest_us = newest_us.max(tracker.rotation_us);
            }
        }
        for device in &mut self.devices {
            for tracker in device.trackers.values_mut() {
                tracker.fresh = false;
            }
        }
        self.pending_since_us = None;
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        pose.capture_us = newest_us;
        self.stats.frames += 1;
        self.events.push_back(SourceEvent::Frame {
            stream: 0,
            frame: SourceFrame {
                pose,
                arrival_us: newest_us,
                sensors,
            },
        });
    }

    fn device_json(&self, device: &Device) -> serde_json::Value {
        let trackers: Vec<_> = device
            .trackers
            .values()
            .map(|t| {
                json!({
                    "key": device.tracker_key(t.sensor),
                    "sensor_id": t.sensor,
                    "bone": t.bone,
                    "assigned_by": t.assigned_by,
                    "position": t.position,
                    "status": t.status,
                    "imu": t.imu,
                    "taps": t.taps,
                    "last_error": t.last_error,
                    "temperature_c": t.temperature_c,
                })
            })
            .collect();
        json!({
            "mac": device.id,
            "address": device.address,
            "live": device.live,
            "firmware": device.firmware,
            "protocol_version": device.protocol_version,
            "board": device.board,
            "battery_level": device.battery_level,
            "battery_voltage": device.battery_voltage,
            "rssi": device.rssi,
            "last_seen_ms_ago": self.ms_ago(device.last_seen_us),
            "round_trip_ms": device.round_trip_us.map(|us| us as f64 / 1000.0),
            "handshakes": device.handshakes,
            "address_changes": device.address_changes,
            "times_lost": device.times_lost,
            "trackers": trackers,
        })
    }

    /// How long before the latest time the source was told, ms (at most one heartbeat
    /// interval behind the real clock while a device is live).
    fn ms_ago(&self, t_us: u64) -> f64 {
        self.now_us.saturating_sub(t_us) as f64 / 1000.0
    }
}

impl Source for SlimeVrSource {
    fn kind(&self) -> &'static str {
        SlimeVrConfig::KIND
    }

    fn describe(&self) -> String {
        format!("UDP port {}", self.port)
    }

    fn streams(&self) -> &[StreamSpec] {
        &self.specs
    }

    fn handle_input(&mut self, input: SourceInput<'_>, now_us: u64) {
        let SourceInput::Datagram { from, bytes } = input else {
            return;
        };
        self.now_us = self.now_us.max(now_us);
        self.stats.counters.datagrams += 1;
        let known = self.by_address.get(&from).copied();
        let (kind, number, payload) = match packet::split(bytes) {
            Ok(split) => split,
            Err(e) => {
                self.stats.counters.count_error(e);
                if let Some(index) = known {
                    self.devices[index].counters.count_error(e);
                }
                return;
            }
        };
        if kind == kind::HANDSHAKE {
            self.handshake(from, payload, now_us);
            return;
        }
        let Some(index) = known else {
            self.stats.unknown_senders += 1;
            return;
        };
        let device = &mut self.devices[index];
        device.counters.datagrams += 1;
        if !device.accept_number(number) {
            device.counters.out_of_order += 1;
            self.stats.counters.out_of_order += 1;
            return;
        }
        device.last_seen_us = now_us;
        device.live = true;
        self.packet(index, kind, payload, now_us, false);
        self.frame_if_complete(now_us);
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        self.events.pop_front()
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The earliest of: the next heartbeat (while a device is live), a live device's loss,
    /// the frame owed to reports waiting for `1 / rate_hz`.
    fn poll_timeout(&self) -> Option<u64> {
        let live = self.devices.iter().filter(|d| d.live);
        let lost = live
            .clone()
            .map(|d| d.last_seen_us + self.lost_after_us)
            .min();
        let keepalive = self
            .next_keepalive_us
            .filter(|_| self.devices.iter().any(|d| d.live));
        let frame = self.pending_since_us.map(|t| t + self.period_us);
        [lost, keepalive, frame].into_iter().flatten().min()
    }

    fn handle_timeout(&mut self, now_us: u64) {
        self.now_us = self.now_us.max(now_us);
        let mut lost_any = false;
        for device in &mut self.devices {
            if device.live && now_us >= device.last_seen_us.saturating_add(self.lost_after_us) {
                device.live = false;
                device.times_lost += 1;
                device.ping = None;
                self.stats.devices_lost += 1;
                lost_any = true;
            }
        }
        if let Some(due) = self.next_keepalive_us
            && now_us >= due
        {
            let live: Vec<usize> = (0..self.devices.len())
                .filter(|i| self.devices[*i].live)
                .collect();
            for index in live {
                let id = self.next_ping_id;
                self.next_ping_id = self.next_ping_id.wrapping_add(1);
                let address = self.devices[index].address;
                self.devices[index].ping = Some((id, now_us));
                self.send(address, packet::heartbeat());
                self.send(address, packet::ping(id));
                self.stats.keepalives_sent += 1;
            }
            // On a grid, late calls skipped rather than made up.
            let missed = (now_us - due) / KEEPALIVE_INTERVAL_US;
            self.next_keepalive_us = Some(due + (missed + 1) * KEEPALIVE_INTERVAL_US);
        }
        if let Some(since) = self.pending_since_us
            && now_us >= since + self.period_us
        {
            if self.driving().any(|t| t.fresh) {
                self.emit();
            } else {
                self.pending_since_us = None;
            }
        } else if lost_any {
            // The lost device's trackers no longer hold the others' frame back.
            self.frame_if_complete(now_us);
        }
    }

    /// Assigns a tracker by `MAC/sensor`, now if it is connected and whenever it connects.
    fn assign_sensor(&mut self, key: &str, bone: Option<HumanoidBone>) -> Result<(), String> {
        let key = parse_tracker_key(key)?;
        self.api_assignments.insert(key.clone(), bone);
        for index in 0..self.devices.len() {
            let sensors: Vec<u8> = self.devices[index]
                .trackers
                .keys()
                .copied()
                .filter(|s| self.devices[index].tracker_key(*s) == key)
                .collect();
            for sensor in sensors {
                self.assign(index, sensor);
            }
        }
        Ok(())
    }

    fn report(&self) -> SourceReport {
        let spec = &self.specs[0];
        let devices: Vec<_> = self.devices.iter().map(|d| self.device_json(d)).collect();
        let mut unassigned = Vec::new();
        let mut warnings = Vec::new();
        let mut bones: BTreeMap<HumanoidBone, Vec<String>> = BTreeMap::new();
        for device in &self.devices {
            for tracker in device.trackers.values() {
                let key = device.tracker_key(tracker.sensor);
                match tracker.bone {
                    Some(bone) => bones.entry(bone).or_default().push(key),
                    None => {
                        warnings.push(format!(
                            "SlimeVR tracker {key} (at {}) drives no bone: assign it with \
                             trackers = {{ \"{key}\" = \"leftUpperLeg\" }} (any VRM 1.0 bone)",
                            device.address
                        ));
                        unassigned.push(json!({
                            "key": key,
                            "mac": device.id,
                            "sensor_id": tracker.sensor,
                            "address": device.address,
                            "live": device.live,
                            "battery_level": device.battery_level,
                            "rssi": device.rssi,
                            "last_seen_ms_ago": self.ms_ago(device.last_seen_us),
                        }));
                    }
                }
            }
        }
        for (bone, keys) in bones.iter().filter(|(_, keys)| keys.len() > 1) {
            warnings.push(format!(
                "{bone} is driven by several SlimeVR trackers ({}): the last one wins",
                keys.join(", ")
            ));
        }
        for key in self.assignments.keys() {
            let (mac, sensor) = key.split_once('/').unwrap_or((key, ""));
            let seen = self
                .devices
                .iter()
                .any(|d| d.id == mac && sensor.parse().is_ok_and(|s| d.trackers.contains_key(&s)));
            if !seen && !self.devices.is_empty() {
                warnings.push(format!(
                    "configured SlimeVR tracker {key} has not been seen"
                ));
            }
        }
        let device_counters: Vec<_> = self
            .devices
            .iter()
            .map(|d| json!({ "mac": d.id, "counters": d.counters }))
            .collect();
        let mut counters = serde_json::to_value(&self.stats).unwrap_or_default();
        if let Some(map) = counters.as_object_mut() {
            map.insert("devices".into(), device_counters.into());
        }
        SourceReport {
            unknown_senders: self.stats.unknown_senders,
            errors: self.stats.errors(),
            streams: vec![StreamReport {
                performer: spec.performer.clone(),
                key: spec.key.clone(),
                filtered: spec.filtered,
                last_sender: self
                    .devices
                    .iter()
                    .max_by_key(|d| d.last_seen_us)
                    .map(|d| d.address),
                counters: Some(counters),
                sender: Some(json!({ "devices": devices, "unassigned": unassigned })),
                warnings,
            }],
            ..Default::default()
        }
    }
}

/// `AA:BB:CC:DD:EE:FF/0` for a MAC and sensor (what the config's `trackers` map takes).
pub fn key_of(mac: [u8; 6], sensor: u8) -> String {
    tracker_key(&mac_text(mac), sensor)
}
