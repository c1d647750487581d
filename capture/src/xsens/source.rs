//! `kind = "xsens"`: one UDP port receiving MVN's network streamer, each character driving a
//! performer. Samples split over several datagrams are put back together (bounded: one sample
//! in progress per character, at most 128 datagrams).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use glam::{Quat, Vec3};
use kagura_filter::FilterSettings;
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::{CheckedRotation, PerformerId, PoseFrame, check_rotation};
use kagura_skeleton::{Retargeter, TargetBody};
use serde::{Deserialize, Serialize};

use super::convention::metres_per_unit;
use super::packet::{Header, POSE_QUATERNION, XsensError, parse_header, pose_segments};
use super::skeleton::{self, SEGMENT_COUNT};
use crate::sender_clock::SenderClock;
use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec,
};

/// MVN's default network streamer port.
pub const DEFAULT_XSENS_PORT: u16 = 9763;

/// The config section:
///
/// ```toml
/// [[source]]
/// kind = "xsens"
/// port = 9763
/// performer = "main"                          # character 0...
/// # characters = { 0 = "alice", 1 = "bob" }   # ...or each character its own performer
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XsensConfig {
    #[serde(default = "default_port")]
    pub port: u16,
    /// The performer character 0 drives, when `characters` is empty.
    #[serde(default)]
    pub performer: Option<String>,
    /// Performers by MVN character id (the header's character byte, 0 for the first).
    /// Characters not listed are ignored and counted.
    #[serde(default)]
    pub characters: BTreeMap<String, String>,
    #[serde(default = "crate::config_section::yes")]
    pub filter: bool,
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    #[serde(default)]
    pub priority: i32,
}

fn default_port() -> u16 {
    DEFAULT_XSENS_PORT
}

impl XsensConfig {
    /// (character id, performer), by id.
    fn characters(&self) -> Result<Vec<(u8, String)>, String> {
        crate::config_section::numbered_performers(
            &self.characters,
            &self.performer,
            "Xsens character",
            self.port,
        )
    }
}

impl SourceKindSpec for XsensConfig {
    const KIND: &'static str = "xsens";

    /// Light smoothing: MVN's fusion engine output is clean already (and up to 240 Hz).
    fn filter_preset() -> FilterSettings {
        FilterSettings::light()
    }

    fn io(&self) -> SourceIo {
        SourceIo::Udp { port: self.port }
    }

    fn performers(&self) -> Vec<String> {
        self.characters()
            .map(|c| c.into_iter().map(|(_, p)| p).collect())
            .unwrap_or_default()
    }

    fn build(&self, _env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(XsensSource::new(self)?))
    }
}

/// What `/api/status` counts. `datagrams`, the error counters and `other_types` are the
/// port's (shared by its streams); `samples`, `frames`, `incomplete` and `stale` are the
/// character's.
#[derive(Clone, Debug, Default, Serialize)]
pub struct XsensStats {
    pub datagrams: u64,
    /// Datagrams of other message types (Euler, point positions, meta data…): ignored.
    pub other_types: u64,
    pub oversized: u64,
    pub truncated: u64,
    pub not_mvn: u64,
    pub bad_payload: u64,
    /// NaN, infinite or non-unit values (the datagram, or the sample, is dropped).
    pub bad_values: u64,
    pub samples: u64,
    pub frames: u64,
    /// Samples given up on because a newer one started before all their datagrams came.
    pub incomplete: u64,
    /// Datagrams of a sample older than the one being put together.
    pub stale: u64,
    /// "metres" or "centimetres", as the last sample said.
    pub units: Option<&'static str>,
}

/// One character's sample being put together.
struct Assembly {
    sample: u32,
    received: u128,
    last_index: Option<u8>,
    time_code_ms: u32,
    segments: [Option<(Vec3, Quat)>; SEGMENT_COUNT],
}

impl Assembly {
    fn new(header: &Header) -> Self {
        Assembly {
            sample: header.sample,
            received: 0,
            last_index: None,
            time_code_ms: header.time_code_ms,
            segments: [None; SEGMENT_COUNT],
        }
    }

    fn complete(&self) -> bool {
        self.last_index
            .is_some_and(|last| self.received == u128::MAX >> (127 - u32::from(last)))
    }
}

struct Character {
    id: u8,
    stats: XsensStats,
    clock: SenderClock,
    assembly: Option<Assembly>,
    /// The last sample emitted (older datagrams are stale).
    done: Option<u32>,
    seq: u32,
    last_sender: Option<SocketAddr>,
    last_time_code_ms: Option<u32>,
}

/// An MVN port. See the module documentation.
pub struct XsensSource {
    port: u16,
    specs: Vec<StreamSpec>,
    characters: Vec<Character>,
    retargeter: Retargeter,
    shared: XsensStats,
    unknown_characters: u64,
    events: VecDeque<SourceEvent>,
}

/// Whether sample counter `a` comes before `b` (wrapping).
fn before(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) > 0
}

impl XsensSource {
    pub fn new(config: &XsensConfig) -> Result<Self, String> {
        let characters = config.characters()?;
        let retargeter = Retargeter::new(skeleton::mvn(), &TargetBody::default())?;
        let role = SourceRole::configured(&config.parts, config.priority);
        Ok(XsensSource {
            port: config.port,
            specs: characters
                .iter()
                .map(|(id, performer)| StreamSpec {
                    performer: performer.clone(),
                    role: role.clone(),
                    filtered: config.filter,
                    key: format!("xsens@{}/character{id}", config.port),
                    hips_height_m: retargeter.rest_hips_height_m(),
                })
                .collect(),
            characters: characters
                .iter()
                .map(|(id, _)| Character {
                    id: *id,
                    stats: XsensStats::default(),
                    clock: SenderClock::default(),
                    assembly: None,
                    done: None,
                    seq: 0,
                    last_sender: None,
                    last_time_code_ms: None,
                })
                .collect(),
            retargeter,
            shared: XsensStats::default(),
            unknown_characters: 0,
            events: VecDeque::new(),
        })
    }

    fn count(&mut self, error: XsensError) {
        let s = &mut self.shared;
        match error {
            XsensError::Oversized => s.oversized += 1,
            XsensError::Truncated => s.truncated += 1,
            XsensError::NotMvn => s.not_mvn += 1,
            XsensError::BadPayload => s.bad_payload += 1,
            XsensError::NotFinite => s.bad_values += 1,
        }
    }

    fn datagram(&mut self, from: SocketAddr, bytes: &[u8], now_us: u64) -> Result<(), XsensError> {
        let (header, payload) = parse_header(bytes)?;
        if header.kind != POSE_QUATERNION {
            self.shared.other_types += 1;
            return Ok(());
        }
        let segments = pose_segments(&header, payload)?;
        let Some(index) = self
            .characters
            .iter()
            .position(|c| c.id == header.character)
        else {
            self.unknown_characters += 1;
            return Ok(());
        };
        let character = &mut self.characters[index];
        character.last_sender = Some(from);
        if character.done.is_some_and(|d| !before(d, header.sample)) {
            character.stats.stale += 1;
            return Ok(());
        }
        match &character.assembly {
            Some(a) if a.sample == header.sample => {}
            Some(a) if before(header.sample, a.sample) => {
                character.stats.stale += 1;
                return Ok(());
            }
            Some(_) => {
                character.stats.incomplete += 1;
                character.assembly = Some(Assembly::new(&header));
            }
            None => character.assembly = Some(Assembly::new(&header)),
        }
        let assembly = character.assembly.as_mut().expect("set above");
        assembly.received |= 1u128 << header.datagram;
        if header.last {
            assembly.last_index = Some(header.datagram);
        }
        for segment in segments {
            // Body segments only; props and finger segments follow them.
            if let Ok(i) = usize::try_from(segment.id - 1)
                && i < SEGMENT_COUNT
            {
                assembly.segments[i] = Some((segment.position, segment.rotation));
            }
        }
        if !assembly.complete() {
            return Ok(());
        }
        let assembly = character.assembly.take().expect("complete");
        character.done = Some(assembly.sample);
        character.stats.samples += 1;
        self.emit(index, &assembly, now_us)
    }

    fn emit(&mut self, index: usize, sample: &Assembly, now_us: u64) -> Result<(), XsensError> {
        let character = &mut self.characters[index];
        let mut globals = [None; SEGMENT_COUNT];
        for (global, segment) in globals.iter_mut().zip(&sample.segments) {
            let Some((_, rotation)) = segment else {
                continue;
            };
            *global = match check_rotation(*rotation) {
                CheckedRotation::Unit(q) | CheckedRotation::Repaired(q) => Some(q),
                CheckedRotation::Invalid => return Err(XsensError::NotFinite),
            };
        }
        let Some((pelvis, _)) = sample.segments[0] else {
            character.stats.incomplete += 1;
            return Ok(());
        };
        let scale = metres_per_unit(pelvis.z);
        character.stats.units = Some(if scale == 1.0 {
            "metres"
        } else {
            "centimetres"
        });
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.seq = character.seq;
        character.seq = character.seq.wrapping_add(1);
        pose.capture_us = character
            .clock
            .map(i64::from(sample.time_code_ms) * 1000, now_us);
        character.last_time_code_ms = Some(sample.time_code_ms);
        let locals = skeleton::locals(&globals);
        self.retargeter
            .retarget(&locals, Some(pelvis * scale), &mut pose);
        character.stats.frames += 1;
        self.events.push_back(SourceEvent::Frame {
            stream: index,
            frame: SourceFrame::of_pose(pose, now_us),
        });
        Ok(())
    }

    fn stats(&self, character: &Character) -> XsensStats {
        XsensStats {
            samples: character.stats.samples,
            frames: character.stats.frames,
            incomplete: character.stats.incomplete,
            stale: character.stats.stale,
            units: character.stats.units,
            ..self.shared.clone()
        }
    }
}

impl Source for XsensSource {
    fn kind(&self) -> &'static str {
        XsensConfig::KIND
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
        self.shared.datagrams += 1;
        if let Err(e) = self.datagram(from, bytes, now_us) {
            self.count(e);
        }
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        self.events.pop_front()
    }

    fn report(&self) -> SourceReport {
        let s = &self.shared;
        SourceReport {
            unknown_senders: self.unknown_characters,
            errors: s.oversized + s.truncated + s.not_mvn + s.bad_payload + s.bad_values,
            streams: self
                .specs
                .iter()
                .zip(&self.characters)
                .map(|(spec, character)| StreamReport {
                    performer: spec.performer.clone(),
                    key: spec.key.clone(),
                    filtered: spec.filtered,
                    last_sender: character.last_sender,
                    counters: serde_json::to_value(self.stats(character)).ok(),
                    sender: Some(serde_json::json!({
                        "character": character.id,
                        "time_code_ms": character.last_time_code_ms,
                    })),
                    warnings: Vec::new(),
                })
                .collect(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use kagura_protocol::{HumanoidBone, rotation_error_degrees};
    use proptest::prelude::*;

    fn feed(source: &mut XsensSource, bytes: &[u8], now: u64) -> Vec<(usize, PoseFrame)> {
        crate::source::testing::feed_datagram(source, "127.0.0.1:5000", bytes, now)
    }

    fn counters(source: &XsensSource, stream: usize) -> serde_json::Value {
        source.report().streams[stream].counters.clone().unwrap()
    }

    fn turned_head(scale: f32) -> Vec<(i32, Vec3, Quat)> {
        let mut segments = fixture::standing(scale);
        segments[6].2 = Quat::from_rotation_z(0.5);
        segments
    }

    #[test]
    fn characters_drive_their_performers_in_metres_or_centimetres() {
        let config: XsensConfig =
            toml::from_str("characters = { 1 = \"bob\", 0 = \"alice\" }").unwrap();
        assert_eq!(config.performers(), ["alice", "bob"]);
        assert_eq!(config.io(), SourceIo::Udp { port: 9763 });
        let mut source = XsensSource::new(&config).unwrap();
        let metres = fixture::pose_datagrams(0, 10, 1_000, &turned_head(1.0), 23);
        let centimetres = fixture::pose_datagrams(1, 10, 1_000, &turned_head(100.0), 23);
        let stranger = fixture::pose_datagrams(5, 10, 1_000, &turned_head(1.0), 23);
        let a = feed(&mut source, &metres[0], 1_000_000);
        let b = feed(&mut source, &centimetres[0], 1_000_100);
        assert!(feed(&mut source, &stranger[0], 1_000_200).is_empty());
        assert_eq!((a[0].0, b[0].0), (0, 1));
        for (_, frame) in [&a[0], &b[0]] {
            let head = frame.bone(HumanoidBone::Head).unwrap();
            assert!(rotation_error_degrees(head, Quat::from_rotation_y(0.5)) < 0.01);
            let hips = frame.hips_position.unwrap();
            assert!((hips.y - 0.95).abs() < 1e-4, "{hips}");
        }
        assert_eq!(counters(&source, 0)["units"], "metres");
        assert_eq!(counters(&source, 1)["units"], "centimetres");
        assert_eq!(source.report().unknown_senders, 1);
    }

    #[test]
    fn split_samples_are_put_back_together_in_any_order_and_time_code_is_kept() {
        let mut source = XsensSource::new(&toml::from_str("performer = \"p\"").unwrap()).unwrap();
        let base = 7_000_000u64;
        let mut frames = Vec::new();
        for k in 0..3u32 {
            let mut parts =
                fixture::pose_datagrams(0, 100 + k, 5_000 + k * 10, &turned_head(1.0), 8);
            assert_eq!(parts.len(), 3);
            parts.swap(0, 2); // the last datagram first
            for (i, part) in parts.iter().enumerate() {
                // Arrivals late by up to 6 ms; the frame comes with the last piece.
                let now = base + u64::from(k) * 10_000 + [0, 6_000, 2_000][k as usize] + i as u64;
                let out = feed(&mut source, part, now);
                assert_eq!(out.len(), usize::from(i == 2), "sample {k} piece {i}");
                frames.extend(out);
            }
        }
        let captures: Vec<u64> = frames.iter().map(|(_, f)| f.capture_us).collect();
        assert!(
            captures[2].abs_diff(captures[0] + 20_000) <= 5,
            "{captures:?}"
        );
        // A sample whose pieces never all come is given up when the next begins.
        let partial = fixture::pose_datagrams(0, 200, 6_000, &turned_head(1.0), 8);
        assert!(feed(&mut source, &partial[0], base + 100_000).is_empty());
        let next = fixture::pose_datagrams(0, 201, 6_010, &turned_head(1.0), 23);
        assert_eq!(feed(&mut source, &next[0], base + 110_000).len(), 1);
        assert!(feed(&mut source, &partial[1], base + 120_000).is_empty());
        let c = counters(&source, 0);
        assert_eq!(
            (c["incomplete"].as_u64(), c["stale"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(c["frames"], 4);
    }

    #[test]
    fn other_types_and_bad_datagrams_are_counted() {
        let mut source = XsensSource::new(&toml::from_str("performer = \"p\"").unwrap()).unwrap();
        let mut euler = fixture::pose_datagrams(0, 1, 0, &turned_head(1.0), 23).remove(0);
        euler[5] = b'1';
        assert!(feed(&mut source, &euler, 1).is_empty());
        let good = fixture::pose_datagrams(0, 4, 0, &turned_head(1.0), 23).remove(0);
        assert!(feed(&mut source, &good[..500], 2).is_empty());
        let mut zero = fixture::standing(1.0);
        zero[3].2 = Quat::from_xyzw(0.0, 0.0, 0.0, 0.0);
        let zero = fixture::pose_datagrams(0, 3, 0, &zero, 23).remove(0);
        assert!(feed(&mut source, &zero, 3).is_empty());
        assert_eq!(feed(&mut source, &good, 4).len(), 1);
        let c = counters(&source, 0);
        assert_eq!(c["other_types"], 1);
        assert_eq!(c["truncated"], 1);
        assert_eq!(c["bad_values"], 1);
        assert_eq!(source.report().errors, 2);
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut source = XsensSource::new(&toml::from_str("performer = \"p\"").unwrap()).unwrap();
            let _ = feed(&mut source, &bytes, 1);
            prop_assert_eq!(counters(&source, 0)["datagrams"].as_u64(), Some(1));
        }
    }
}
