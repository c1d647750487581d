//! `kind = "openseeface"`: one UDP port of OpenSeeFace records, each tracked face id driving a
//! performer.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use kagura_filter::FilterSettings;
use kagura_merge::BodyPart;
use kagura_protocol::{PerformerId, PoseFrame};
use serde::{Deserialize, Serialize};

use super::convention;
use super::packet::records;
use crate::face::{self, FaceSample};
use crate::sender_clock::SenderClock;
use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec,
};

/// `facetracker.py`'s default target port.
pub const DEFAULT_OSF_PORT: u16 = 11573;

/// The config section:
///
/// ```toml
/// [[source]]
/// kind = "openseeface"
/// port = 11573
/// performer = "main"                     # face 0...
/// # faces = { 0 = "alice", 1 = "bob" }   # ...or each face id its own performer
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSeeFaceConfig {
    #[serde(default = "default_port")]
    pub port: u16,
    /// The performer face 0 drives, when `faces` is empty.
    #[serde(default)]
    pub performer: Option<String>,
    /// Performers by face id (`facetracker.py --max-faces 2`; ids stay with a face while it is
    /// tracked). Faces not listed are ignored and counted.
    #[serde(default)]
    pub faces: BTreeMap<String, String>,
    /// Mirror the face left for right (see `openseeface::convention`).
    #[serde(default)]
    pub mirror: bool,
    /// Filter this source's frames (default true; `[filters.openseeface]` decides how).
    #[serde(default = "crate::config_section::yes")]
    pub filter: bool,
    /// The parts it drives (default: head and face).
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    /// Higher wins where sources' parts overlap (default 10: above a body source's 0).
    #[serde(default = "face::default_priority")]
    pub priority: i32,
}

fn default_port() -> u16 {
    DEFAULT_OSF_PORT
}

impl OpenSeeFaceConfig {
    /// (face id, performer), by id.
    fn face_performers(&self) -> Result<Vec<(i32, String)>, String> {
        crate::config_section::numbered_performers(
            &self.faces,
            &self.performer,
            "OpenSeeFace face",
            self.port,
        )
    }
}

impl SourceKindSpec for OpenSeeFaceConfig {
    const KIND: &'static str = "openseeface";

    /// The face preset (`face::filter_preset`). A webcam fit is noisier than a phone's depth
    /// camera, but OpenSeeFace runs at the camera's rate (30–60 Hz) and the preset's 1.5 Hz
    /// rest cutoff already hides its jitter on a still head.
    fn filter_preset() -> FilterSettings {
        face::filter_preset()
    }

    fn io(&self) -> SourceIo {
        SourceIo::Udp { port: self.port }
    }

    fn performers(&self) -> Vec<String> {
        self.face_performers()
            .map(|faces| faces.into_iter().map(|(_, p)| p).collect())
            .unwrap_or_default()
    }

    fn build(&self, _env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(OpenSeeFaceSource::new(self)?))
    }
}

/// What `/api/status` counts for a stream. `datagrams` and `rejected_length` are the port's
/// (shared by its streams); the rest are this face's.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OsfStats {
    pub datagrams: u64,
    /// Datagrams whose length is not a whole number of records.
    pub rejected_length: u64,
    /// Records of this face.
    pub records: u64,
    pub frames: u64,
    /// Records whose 3-D fit failed (or whose rotation was not one): no frame.
    pub not_fitted: u64,
}

struct Stream {
    face_id: i32,
    stats: OsfStats,
    clock: SenderClock,
    seq: u32,
    last_sender: Option<SocketAddr>,
}

/// An OpenSeeFace port. See the module documentation.
pub struct OpenSeeFaceSource {
    port: u16,
    mirror: bool,
    specs: Vec<StreamSpec>,
    streams: Vec<Stream>,
    datagrams: u64,
    rejected_length: u64,
    unknown_faces: u64,
    sample: FaceSample,
    events: VecDeque<SourceEvent>,
}

impl OpenSeeFaceSource {
    pub fn new(config: &OpenSeeFaceConfig) -> Result<Self, String> {
        let faces = config.face_performers()?;
        let role = face::role(&config.parts, config.priority);
        Ok(OpenSeeFaceSource {
            port: config.port,
            mirror: config.mirror,
            specs: faces
                .iter()
                .map(|(id, performer)| StreamSpec {
                    performer: performer.clone(),
                    role: role.clone(),
                    filtered: config.filter,
                    key: format!("openseeface@{}/face{id}", config.port),
                    hips_height_m: None,
                })
                .collect(),
            streams: faces
                .iter()
                .map(|(face_id, _)| Stream {
                    face_id: *face_id,
                    stats: OsfStats::default(),
                    clock: SenderClock::default(),
                    seq: 0,
                    last_sender: None,
                })
                .collect(),
            datagrams: 0,
            rejected_length: 0,
            unknown_faces: 0,
            sample: FaceSample::default(),
            events: VecDeque::new(),
        })
    }

    fn stats(&self, stream: &Stream) -> OsfStats {
        OsfStats {
            datagrams: self.datagrams,
            rejected_length: self.rejected_length,
            ..stream.stats.clone()
        }
    }
}

impl Source for OpenSeeFaceSource {
    fn kind(&self) -> &'static str {
        OpenSeeFaceConfig::KIND
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
        self.datagrams += 1;
        let Ok(records) = records(bytes) else {
            self.rejected_length += 1;
            return;
        };
        for record in records {
            let Some(index) = self
                .streams
                .iter()
                .position(|s| s.face_id == record.face_id)
            else {
                self.unknown_faces += 1;
                continue;
            };
            let stream = &mut self.streams[index];
            stream.stats.records += 1;
            stream.last_sender = Some(from);
            convention::apply(&record, &mut self.sample);
            if !self.sample.found {
                stream.stats.not_fitted += 1;
                continue;
            }
            if self.mirror {
                self.sample.mirror();
            }
            let mut pose = PoseFrame::new(PerformerId(0));
            pose.seq = stream.seq;
            stream.seq = stream.seq.wrapping_add(1);
            let sender_us = record.time_s * 1e6;
            pose.capture_us = if sender_us.is_finite() && sender_us.abs() < 9e18 {
                stream.clock.map(sender_us as i64, now_us)
            } else {
                now_us
            };
            self.sample.write_into(&mut pose);
            stream.stats.frames += 1;
            self.events.push_back(SourceEvent::Frame {
                stream: index,
                frame: SourceFrame::of_pose(pose, now_us),
            });
        }
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        self.events.pop_front()
    }

    fn report(&self) -> SourceReport {
        SourceReport {
            unknown_senders: self.unknown_faces,
            errors: self.rejected_length,
            streams: self
                .specs
                .iter()
                .zip(&self.streams)
                .map(|(spec, stream)| StreamReport {
                    performer: spec.performer.clone(),
                    key: spec.key.clone(),
                    filtered: spec.filtered,
                    last_sender: stream.last_sender,
                    counters: serde_json::to_value(self.stats(stream)).ok(),
                    sender: None,
                    warnings: Vec::new(),
                })
                .collect(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openseeface::OsfRecord;
    use crate::openseeface::convention::tests::seen;
    use glam::{Quat, Vec3};
    use kagura_protocol::{Expression, HumanoidBone};

    fn record(face_id: i32, time_s: f64, camera_motion: Quat) -> OsfRecord {
        let mut r = OsfRecord {
            time_s,
            face_id,
            success: true,
            quaternion: seen(camera_motion),
            eye_open_left: 0.25,
            ..OsfRecord::default()
        };
        r.features[crate::openseeface::Feature::MouthOpen as usize] = 0.7;
        r
    }

    fn feed(source: &mut OpenSeeFaceSource, bytes: &[u8], now: u64) -> Vec<(usize, PoseFrame)> {
        crate::source::testing::feed_datagram(source, "127.0.0.1:5000", bytes, now)
    }

    #[test]
    fn faces_map_to_performers_and_bad_lengths_are_counted() {
        let config: OpenSeeFaceConfig =
            toml::from_str("faces = { 1 = \"bob\", 0 = \"alice\" }").unwrap();
        assert_eq!(config.performers(), ["alice", "bob"]);
        let mut source = OpenSeeFaceSource::new(&config).unwrap();
        let mut bytes = Vec::new();
        record(1, 100.0, Quat::from_rotation_x(0.5)).encode(&mut bytes);
        record(0, 100.0, Quat::IDENTITY).encode(&mut bytes);
        record(7, 100.0, Quat::IDENTITY).encode(&mut bytes);
        let frames = feed(&mut source, &bytes, 1_000_000);
        assert_eq!(frames.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 0]);
        let bob = &frames[0].1;
        let turned = bob.bone(HumanoidBone::Neck).unwrap() * bob.bone(HumanoidBone::Head).unwrap();
        assert!((turned * Vec3::Z).x > 0.4, "bob turned to his left");
        assert_eq!(bob.expression(Expression::JawOpen), Some(0.7));
        assert_eq!(bob.expression(Expression::EyeBlinkLeft), Some(0.75));
        assert!(feed(&mut source, &bytes[..bytes.len() - 1], 1_100_000).is_empty());
        let report = source.report();
        assert_eq!((report.unknown_senders, report.errors), (1, 1));
        let counters = report.streams[0].counters.clone().unwrap();
        assert_eq!(counters["datagrams"], 2);
        assert_eq!(counters["rejected_length"], 1);
        assert_eq!(counters["frames"], 1);
        assert!(
            toml::from_str::<OpenSeeFaceConfig>("faces = { x = \"a\" }")
                .map(|c| OpenSeeFaceSource::new(&c).is_err())
                .unwrap()
        );
        assert!(OpenSeeFaceSource::new(&toml::from_str("port = 1").unwrap()).is_err());
    }

    #[test]
    fn a_failed_fit_gives_no_frame_and_times_come_from_the_tracker() {
        let config: OpenSeeFaceConfig = toml::from_str("performer = \"p\"\nmirror = true").unwrap();
        assert_eq!(config.port, 11573);
        let mut source = OpenSeeFaceSource::new(&config).unwrap();
        let mut bytes = Vec::new();
        record(0, 100.0, Quat::from_rotation_x(0.5)).encode(&mut bytes);
        let first = feed(&mut source, &bytes, 5_000_000);
        let f = &first[0].1;
        let turned = f.bone(HumanoidBone::Neck).unwrap() * f.bone(HumanoidBone::Head).unwrap();
        assert!((turned * Vec3::Z).x < -0.4, "mirrored");
        assert_eq!(
            f.expression(Expression::EyeBlinkRight),
            Some(0.75),
            "mirrored"
        );
        bytes.clear();
        record(0, 100.02, Quat::IDENTITY).encode(&mut bytes);
        let second = feed(&mut source, &bytes, 5_035_000);
        assert!(second[0].1.capture_us.abs_diff(5_020_000) < 100);
        bytes.clear();
        let mut failed = record(0, 100.04, Quat::IDENTITY);
        failed.success = false;
        failed.encode(&mut bytes);
        assert!(feed(&mut source, &bytes, 5_050_000).is_empty());
        assert_eq!(
            source.report().streams[0].counters.clone().unwrap()["not_fitted"],
            1
        );
    }
}
