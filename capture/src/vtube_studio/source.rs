//! `kind = "vtube_studio"`: a phone running VTube Studio (iOS or Android) or MeowFace, asked for
//! its tracking data by Kagura, streaming one performer's face.

use std::collections::VecDeque;
use std::net::SocketAddr;

use kagura_filter::FilterSettings;
use kagura_merge::BodyPart;
use kagura_protocol::{PerformerId, PoseFrame};
use serde::{Deserialize, Serialize};

use super::convention;
use super::parser::{VtsParseError, parse};
use crate::face::{self, FaceSample, phone_address};
use crate::sender_clock::SenderClock;
use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec, Transmit,
};

/// The phone's port for requests (the app shows it under "3rd Party PC Clients").
pub const DEFAULT_VTS_PHONE_PORT: u16 = 21412;
/// Kagura's port for the phone's data: the request names it, so it need not be well known.
/// 50506 is free of the common tracking ports (VMC 39539, iFacialMocap 49983, OpenSeeFace
/// 11573, VTube Studio's own API 8001 and phone port 21412).
pub const DEFAULT_VTS_PORT: u16 = 50506;
/// The request is sent this often, µs, asking for `REQUEST_TIME_S` of data each time: the
/// phone keeps sending for a second after the last request, so one lost request (or two) is
/// not noticed, and it stops within a second of Kagura going away.
pub const REQUEST_INTERVAL_US: u64 = 500_000;
const REQUEST_TIME_S: f32 = 1.0;

/// The request asking the phone to send to `port` (of the address the request comes from).
pub fn request(port: u16) -> Vec<u8> {
    format!(
        "{{\"messageType\":\"iOSTrackingDataRequest\",\"time\":{REQUEST_TIME_S:.1},\
         \"sentBy\":\"Kagura\",\"ports\":[{port}]}}"
    )
    .into_bytes()
}

/// The config section:
///
/// ```toml
/// [[source]]
/// kind = "vtube_studio"
/// phone = "192.168.1.20"
/// # phone_port = 21412
/// # port = 50506          # where the phone sends (the request tells it)
/// performer = "main"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VtubeStudioConfig {
    /// The phone's IP address.
    pub phone: String,
    #[serde(default = "default_phone_port")]
    pub phone_port: u16,
    #[serde(default = "default_port")]
    pub port: u16,
    pub performer: String,
    /// Mirror the face left for right (see `vtube_studio::convention`).
    #[serde(default)]
    pub mirror: bool,
    /// Filter this source's frames (default true; `[filters.vtube_studio]` decides how).
    #[serde(default = "crate::config_section::yes")]
    pub filter: bool,
    /// The parts it drives (default: head and face).
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    /// Higher wins where sources' parts overlap (default 10: above a body source's 0).
    #[serde(default = "face::default_priority")]
    pub priority: i32,
}

fn default_phone_port() -> u16 {
    DEFAULT_VTS_PHONE_PORT
}

fn default_port() -> u16 {
    DEFAULT_VTS_PORT
}

impl SourceKindSpec for VtubeStudioConfig {
    const KIND: &'static str = "vtube_studio";

    /// The face preset (`face::filter_preset`).
    fn filter_preset() -> FilterSettings {
        face::filter_preset()
    }

    fn io(&self) -> SourceIo {
        SourceIo::Udp { port: self.port }
    }

    fn performers(&self) -> Vec<String> {
        vec![self.performer.clone()]
    }

    fn build(&self, _env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(VtubeStudioSource::new(self)?))
    }
}

/// What `/api/status` counts for the stream.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VtsStats {
    pub datagrams: u64,
    pub frames: u64,
    /// Datagrams with `FaceFound: false`. No frame.
    pub face_lost: u64,
    pub requests_sent: u64,
    /// Shapes Kagura does not know. Not errors.
    pub unknown_shapes: u64,
    pub bad_values: u64,
    pub oversized: u64,
    pub bad_json: u64,
}

impl VtsStats {
    pub fn errors(&self) -> u64 {
        self.bad_values + self.oversized + self.bad_json
    }
}

/// One phone, one performer. See the module documentation.
pub struct VtubeStudioSource {
    port: u16,
    phone: SocketAddr,
    mirror: bool,
    specs: Vec<StreamSpec>,
    stats: VtsStats,
    last_sender: Option<SocketAddr>,
    last_hotkey: Option<i64>,
    sample: FaceSample,
    clock: SenderClock,
    seq: u32,
    next_request_us: u64,
    events: VecDeque<SourceEvent>,
    transmits: VecDeque<Transmit>,
}

impl VtubeStudioSource {
    pub fn new(config: &VtubeStudioConfig) -> Result<Self, String> {
        Ok(VtubeStudioSource {
            port: config.port,
            phone: phone_address(&config.phone, config.phone_port)?,
            mirror: config.mirror,
            specs: vec![StreamSpec {
                performer: config.performer.clone(),
                role: face::role(&config.parts, config.priority),
                filtered: config.filter,
                key: format!("vtube_studio@{}", config.port),
                hips_height_m: None,
            }],
            stats: VtsStats::default(),
            last_sender: None,
            last_hotkey: None,
            sample: FaceSample::default(),
            clock: SenderClock::default(),
            seq: 0,
            next_request_us: 0,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
        })
    }

    pub fn stats(&self) -> &VtsStats {
        &self.stats
    }
}

impl Source for VtubeStudioSource {
    fn kind(&self) -> &'static str {
        VtubeStudioConfig::KIND
    }

    fn describe(&self) -> String {
        format!("UDP port {} (phone {})", self.port, self.phone)
    }

    fn streams(&self) -> &[StreamSpec] {
        &self.specs
    }

    /// The request names the port the phone must send to: the one actually bound.
    fn handle_bound(&mut self, local: SocketAddr) {
        self.port = local.port();
    }

    fn handle_input(&mut self, input: SourceInput<'_>, now_us: u64) {
        let SourceInput::Datagram { from, bytes } = input else {
            return;
        };
        self.stats.datagrams += 1;
        self.last_sender = Some(from);
        self.sample.clear();
        let data = match parse(bytes, &mut self.sample) {
            Ok(data) => data,
            Err(VtsParseError::Oversized) => {
                self.stats.oversized += 1;
                return;
            }
            Err(VtsParseError::Json(_)) => {
                self.stats.bad_json += 1;
                return;
            }
        };
        self.stats.unknown_shapes += u64::from(data.unknown_shapes);
        self.stats.bad_values += u64::from(data.bad_values);
        self.last_hotkey = data.hotkey.or(self.last_hotkey);
        if !data.face_found {
            self.stats.face_lost += 1;
            return;
        }
        convention::apply(&data, &mut self.sample);
        self.sample.found = true;
        if self.mirror {
            self.sample.mirror();
        }
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        pose.capture_us = match data.timestamp_ms {
            Some(ms) => self.clock.map((ms * 1000.0) as i64, now_us),
            None => now_us,
        };
        self.sample.write_into(&mut pose);
        self.stats.frames += 1;
        self.events.push_back(SourceEvent::Frame {
            stream: 0,
            frame: SourceFrame::of_pose(pose, now_us),
        });
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        self.events.pop_front()
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// A request at once, then every 0.5 s.
    fn poll_timeout(&self) -> Option<u64> {
        Some(self.next_request_us)
    }

    fn handle_timeout(&mut self, now_us: u64) {
        if now_us < self.next_request_us {
            return;
        }
        self.transmits.push_back(Transmit {
            to: self.phone,
            bytes: request(self.port),
        });
        self.stats.requests_sent += 1;
        self.next_request_us = now_us + REQUEST_INTERVAL_US;
    }

    fn report(&self) -> SourceReport {
        SourceReport {
            unknown_senders: 0,
            errors: self.stats.errors(),
            streams: vec![StreamReport {
                performer: self.specs[0].performer.clone(),
                key: self.specs[0].key.clone(),
                filtered: self.specs[0].filtered,
                last_sender: self.last_sender,
                counters: serde_json::to_value(&self.stats).ok(),
                sender: self
                    .last_hotkey
                    .map(|hotkey| serde_json::json!({ "hotkey": hotkey })),
                warnings: Vec::new(),
            }],
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec3;
    use kagura_protocol::{Expression, HumanoidBone};

    fn source(extra: &str) -> VtubeStudioSource {
        let config: VtubeStudioConfig =
            toml::from_str(&format!("phone = \"10.0.0.5\"\nperformer = \"p\"\n{extra}")).unwrap();
        VtubeStudioSource::new(&config).unwrap()
    }

    fn feed(source: &mut VtubeStudioSource, bytes: &[u8], now: u64) -> Vec<PoseFrame> {
        let frames = crate::source::testing::feed_datagram(source, "10.0.0.5:21412", bytes, now);
        frames.into_iter().map(|(_, pose)| pose).collect()
    }

    #[test]
    fn the_request_names_the_bound_port_every_half_second() {
        let mut s = source("");
        assert_eq!(s.port, 50506);
        s.handle_bound("0.0.0.0:40001".parse().unwrap());
        assert_eq!(s.poll_timeout(), Some(0));
        let t0 = 1_000_000_000;
        s.handle_timeout(t0);
        let sent = s.poll_transmit().unwrap();
        assert_eq!(sent.to, "10.0.0.5:21412".parse().unwrap());
        let json: serde_json::Value = serde_json::from_slice(&sent.bytes).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"messageType": "iOSTrackingDataRequest", "time": 1.0,
                               "sentBy": "Kagura", "ports": [40001]})
        );
        assert_eq!(s.poll_timeout(), Some(t0 + 500_000));
        s.handle_timeout(t0 + 400_000);
        assert_eq!(s.poll_transmit(), None);
        s.handle_timeout(t0 + 500_000);
        assert!(s.poll_transmit().is_some());
        assert_eq!(s.stats().requests_sent, 2);
        let custom = source("phone_port = 7");
        assert_eq!(custom.phone, "10.0.0.5:7".parse().unwrap());
    }

    #[test]
    fn frames_carry_the_face_on_the_phones_clock_and_face_lost_gives_none() {
        let mut s = source("");
        let t0 = 1_000_000_000u64;
        let frame = |ts: u64, found: bool| {
            format!(
                r#"{{"Timestamp":{ts},"Hotkey":3,"FaceFound":{found},"Rotation":{{"x":0,"y":30,"z":0}},
                "EyeLeft":{{"x":0,"y":0,"z":0}},"BlendShapes":[{{"k":"JawOpen","v":0.6}}]}}"#
            )
        };
        let first = feed(&mut s, frame(5_000, true).as_bytes(), t0);
        let f = &first[0];
        assert_eq!(f.expression(Expression::JawOpen), Some(0.6));
        let turned = f.bone(HumanoidBone::Neck).unwrap() * f.bone(HumanoidBone::Head).unwrap();
        assert!((turned * Vec3::Z).x < -0.49);
        assert_eq!(f.capture_us, t0);
        // 16 ms later on the phone's clock, arriving 30 ms later: captured 16 ms later.
        let second = feed(&mut s, frame(5_016, true).as_bytes(), t0 + 30_000);
        // (The mapping lets its offset creep by 100 ppm of the time elapsed.)
        assert!(
            second[0].capture_us.abs_diff(t0 + 16_000) < 100,
            "{}",
            second[0].capture_us
        );
        assert_eq!(second[0].seq, 1);
        assert!(feed(&mut s, frame(5_032, false).as_bytes(), t0 + 40_000).is_empty());
        assert!(feed(&mut s, b"{not json", t0 + 50_000).is_empty());
        let big = vec![b' '; 70_000];
        assert!(feed(&mut s, &big, t0 + 60_000).is_empty());
        let st = s.stats();
        assert_eq!(
            (
                st.datagrams,
                st.frames,
                st.face_lost,
                st.bad_json,
                st.oversized
            ),
            (5, 2, 1, 1, 1)
        );
        let report = s.report();
        assert_eq!(report.errors, 2);
        assert_eq!(
            report.streams[0].sender,
            Some(serde_json::json!({"hotkey": 3}))
        );
    }
}
