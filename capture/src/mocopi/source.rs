//! `kind = "mocopi"`: one UDP port receiving a mocopi phone's skeleton and frames, driving one
//! performer.

use std::collections::VecDeque;
use std::net::SocketAddr;

use glam::Quat;
use kagura_filter::FilterSettings;
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::{CheckedRotation, PerformerId, PoseFrame, check_rotation};
use kagura_skeleton::{Retargeter, TargetBody};
use serde::{Deserialize, Serialize};

use super::packet::{Frame, MocopiError, Packet, Sender, parse};
use super::skeleton;
use crate::sender_clock::SenderClock;
use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec,
};

/// The port the mocopi app sends to by default.
pub const DEFAULT_MOCOPI_PORT: u16 = 12351;

/// The config section:
///
/// ```toml
/// [[source]]
/// kind = "mocopi"
/// port = 12351
/// performer = "main"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MocopiConfig {
    #[serde(default = "default_port")]
    pub port: u16,
    pub performer: String,
    /// Filter this source's frames (default true; `[filters.mocopi]` decides how).
    #[serde(default = "crate::config_section::yes")]
    pub filter: bool,
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    #[serde(default)]
    pub priority: i32,
}

fn default_port() -> u16 {
    DEFAULT_MOCOPI_PORT
}

impl SourceKindSpec for MocopiConfig {
    const KIND: &'static str = "mocopi";

    /// Light smoothing: the phone fuses six IMUs into a full body with its own filtering and
    /// sends 50 Hz; heavy smoothing on top would only add lag.
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
        Ok(Box::new(MocopiSource::new(self)?))
    }
}

/// What `/api/status` counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MocopiStats {
    pub packets: u64,
    pub skeletons: u64,
    pub frames: u64,
    /// Skeleton definitions that are not mocopi's 27-bone tree (the nominal one stays).
    pub skeleton_rejected: u64,
    pub oversized: u64,
    pub truncated: u64,
    pub too_deep: u64,
    pub not_mocopi: u64,
    pub malformed: u64,
    /// NaN, infinite, or non-unit rotations (a frame with one is dropped whole).
    pub bad_values: u64,
    /// Rotations a little off unit length, normalized and used.
    pub repaired: u64,
}

impl MocopiStats {
    fn errors(&self) -> u64 {
        self.skeleton_rejected
            + self.oversized
            + self.truncated
            + self.too_deep
            + self.not_mocopi
            + self.malformed
            + self.bad_values
    }

    fn count(&mut self, error: MocopiError) {
        match error {
            MocopiError::Oversized => self.oversized += 1,
            MocopiError::Truncated => self.truncated += 1,
            MocopiError::TooDeep => self.too_deep += 1,
            MocopiError::NotMocopi => self.not_mocopi += 1,
            MocopiError::NoContent | MocopiError::BadLeaf | MocopiError::BoneId => {
                self.malformed += 1
            }
            MocopiError::NotFinite => self.bad_values += 1,
        }
    }
}

/// A mocopi port. See the module documentation.
pub struct MocopiSource {
    port: u16,
    specs: Vec<StreamSpec>,
    retargeter: Retargeter,
    /// Whether the retargeter uses the phone's skeleton definition (else the nominal one).
    defined: bool,
    stats: MocopiStats,
    clock: SenderClock,
    seq: u32,
    last_sender: Option<SocketAddr>,
    sender: Sender,
    last_frame: Option<(Option<u32>, Option<[u8; 6]>)>,
    events: VecDeque<SourceEvent>,
}

impl MocopiSource {
    pub fn new(config: &MocopiConfig) -> Result<Self, String> {
        let retargeter = Retargeter::new(skeleton::nominal(), &TargetBody::default())?;
        Ok(MocopiSource {
            port: config.port,
            specs: vec![StreamSpec {
                performer: config.performer.clone(),
                role: SourceRole::configured(&config.parts, config.priority),
                filtered: config.filter,
                key: format!("mocopi@{}", config.port),
                hips_height_m: retargeter.rest_hips_height_m(),
            }],
            retargeter,
            defined: false,
            stats: MocopiStats::default(),
            clock: SenderClock::default(),
            seq: 0,
            last_sender: None,
            sender: Sender::default(),
            last_frame: None,
            events: VecDeque::new(),
        })
    }

    fn frame(&mut self, frame: &Frame, now_us: u64) {
        let mut locals = [None; 27];
        for (local, bone) in locals.iter_mut().zip(&frame.bones) {
            let Some(bone) = bone else { continue };
            *local = match check_rotation(bone.rotation) {
                CheckedRotation::Unit(q) => Some(q),
                CheckedRotation::Repaired(q) => {
                    self.stats.repaired += 1;
                    Some(q)
                }
                CheckedRotation::Invalid => {
                    self.stats.bad_values += 1;
                    return;
                }
            };
        }
        if locals.iter().all(Option::is_none) {
            self.stats.malformed += 1;
            return;
        }
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        // The phone's Unix time where it sends one (µs resolution), else its f32 seconds.
        let sender_us = frame
            .utc_s
            .map(|t| t * 1e6)
            .or(frame.time_s.map(|t| f64::from(t) * 1e6))
            .filter(|t| t.is_finite() && t.abs() < 9e18);
        pose.capture_us = sender_us.map_or(now_us, |t| self.clock.map(t as i64, now_us));
        let root = frame.bones[0].map(|b| b.position);
        let locals: [Option<Quat>; 27] = locals;
        self.retargeter.retarget(&locals, root, &mut pose);
        self.stats.frames += 1;
        self.last_frame = Some((frame.number, frame.timecode));
        self.events.push_back(SourceEvent::Frame {
            stream: 0,
            frame: SourceFrame::of_pose(pose, now_us),
        });
    }
}

impl Source for MocopiSource {
    fn kind(&self) -> &'static str {
        MocopiConfig::KIND
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
        self.stats.packets += 1;
        match parse(bytes) {
            Err(e) => self.stats.count(e),
            Ok(Packet::Skeleton { sender, bones }) => {
                self.last_sender = Some(from);
                self.sender = sender;
                self.stats.skeletons += 1;
                match skeleton::from_definition(&bones) {
                    Some(defined) if defined != *self.retargeter.skeleton() => {
                        match Retargeter::new(defined, &TargetBody::default()) {
                            Ok(r) => {
                                self.retargeter = r;
                                self.defined = true;
                            }
                            Err(_) => self.stats.skeleton_rejected += 1,
                        }
                    }
                    Some(_) => {}
                    None => self.stats.skeleton_rejected += 1,
                }
            }
            Ok(Packet::Frame { sender, frame }) => {
                self.last_sender = Some(from);
                self.sender = sender;
                self.frame(&frame, now_us);
            }
        }
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        self.events.pop_front()
    }

    fn report(&self) -> SourceReport {
        let spec = &self.specs[0];
        let timecode = self.last_frame.and_then(|(_, t)| t).map(|t| {
            format!(
                "{:02}:{:02}:{:02}:{:02} @{} fps{}",
                t[0],
                t[1],
                t[2],
                t[3],
                t[4],
                if t[5] != 0 { " drop" } else { "" }
            )
        });
        let sender = serde_json::json!({
            "ip": self.sender.ip.map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
            "port": self.sender.port,
            "skeleton": if self.defined { "from the phone" } else { "nominal (no definition yet)" },
            "frame_number": self.last_frame.and_then(|(n, _)| n),
            "timecode": timecode,
        });
        SourceReport {
            unknown_senders: 0,
            errors: self.stats.errors(),
            streams: vec![StreamReport {
                performer: spec.performer.clone(),
                key: spec.key.clone(),
                filtered: spec.filtered,
                last_sender: self.last_sender,
                counters: serde_json::to_value(&self.stats).ok(),
                sender: Some(sender),
                warnings: Vec::new(),
            }],
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, Shape};
    use super::*;
    use glam::Vec3;
    use kagura_protocol::HumanoidBone;
    use proptest::prelude::*;

    fn source() -> MocopiSource {
        let config: MocopiConfig = toml::from_str("performer = \"p\"").unwrap();
        assert_eq!(config.io(), SourceIo::Udp { port: 12351 });
        MocopiSource::new(&config).unwrap()
    }

    fn feed(source: &mut MocopiSource, bytes: &[u8], now: u64) -> Vec<PoseFrame> {
        let frames = crate::source::testing::feed_datagram(source, "127.0.0.1:5000", bytes, now);
        frames.into_iter().map(|(_, pose)| pose).collect()
    }

    #[test]
    fn skeleton_then_frames_of_both_shapes_drive_the_performer_on_the_phones_clock() {
        let mut source = source();
        assert!(
            feed(
                &mut source,
                &fixture::skeleton_datagram(&fixture::rest_offsets()),
                1_000
            )
            .is_empty()
        );
        assert!(source.defined);
        let mut locals = [Quat::IDENTITY; 27];
        locals[10] = Quat::from_rotation_y(0.5);
        let base = 5_000_000u64;
        // One phone sends one shape; an older sender's frames carry no time code.
        for (k, shape) in [Shape::Current, Shape::Current, Shape::Current, Shape::Older]
            .into_iter()
            .enumerate()
        {
            let t = k as f32 * 0.02;
            let bytes =
                fixture::frame_datagram(shape, k as u32, t, &locals, Vec3::new(0.0, 0.95, 0.0));
            // Arrivals jittered by up to 7 ms; capture times keep the phone's 20 ms steps.
            let now = base + k as u64 * 20_000 + [0, 7_000, 1_000, 0][k];
            let frames = feed(&mut source, &bytes, now);
            assert_eq!(frames.len(), 1);
            let head = frames[0].bone(HumanoidBone::Head).unwrap();
            assert!(kagura_protocol::rotation_error_degrees(head, locals[10]) < 0.01);
            assert!(frames[0].hips_position.is_some());
            if k == 2 {
                // Within the clock's 100 ppm drift allowance.
                assert!(
                    frames[0].capture_us.abs_diff(base + 40_000) <= 10,
                    "{}",
                    frames[0].capture_us
                );
            }
        }
        let report = source.report();
        let counters = report.streams[0].counters.clone().unwrap();
        assert_eq!(counters["packets"], 5);
        assert_eq!(counters["frames"], 4);
        assert_eq!(
            report.streams[0].sender.clone().unwrap()["ip"],
            "192.168.6.105"
        );
    }

    #[test]
    fn bad_datagrams_are_counted_by_kind_and_change_nothing() {
        let mut source = source();
        let good = fixture::frame_datagram(Shape::Current, 1, 0.0, &[Quat::IDENTITY; 27], Vec3::Y);
        assert!(feed(&mut source, &good[..100], 1).is_empty());
        assert!(feed(&mut source, &vec![0; 20_000], 2).is_empty());
        let mut tilted = [Quat::IDENTITY; 27];
        tilted[4] = Quat::from_xyzw(0.0, 0.0, 0.0, 9.0);
        let bad = fixture::frame_datagram(Shape::Current, 2, 0.02, &tilted, Vec3::Y);
        assert!(feed(&mut source, &bad, 3).is_empty());
        assert_eq!(feed(&mut source, &good, 4).len(), 1);
        let counters = source.report().streams[0].counters.clone().unwrap();
        assert_eq!(counters["truncated"], 1);
        assert_eq!(counters["oversized"], 1);
        assert_eq!(counters["bad_values"], 1);
        assert_eq!(source.report().errors, 3);
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic_and_are_counted(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut source = source();
            let _ = feed(&mut source, &bytes, 1);
            let c = source.report().streams[0].counters.clone().unwrap();
            prop_assert_eq!(c["packets"].as_u64(), Some(1));
        }
    }
}
