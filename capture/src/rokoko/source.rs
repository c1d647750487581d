//! `kind = "rokoko"`: one UDP port receiving Rokoko Studio Live (JSON v3), every actor (and
//! Studio 2 newton or character) driving a performer by name.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use glam::Quat;
use kagura_filter::FilterSettings;
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::{CheckedRotation, HumanoidBone, PerformerId, PoseFrame, check_rotation};
use kagura_skeleton::{Retargeter, TargetBody};
use serde::{Deserialize, Serialize};

use super::convention::AXES;
use super::parser::{Actor, Character, RokokoError, parse};
use super::skeleton::{self, JOINT_COUNT};
use crate::sender_clock::SenderClock;
use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec,
};

/// Studio's default Live port.
pub const DEFAULT_ROKOKO_PORT: u16 = 14043;
/// Performers made for actors not in the config, at most; later ones are counted, not shown.
pub const MAX_ACTOR_PERFORMERS: usize = 16;
/// Longest actor name made into a performer, bytes.
const MAX_ACTOR_NAME: usize = 64;
/// Names of actors seen, kept for `/api/status` (the first this many).
const MAX_SEEN: usize = 32;

/// `actors = ["Alice", "Bob"]` (each its own performer, by the actor's name) or
/// `actors = { "Alice" = "main" }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ActorMap {
    Names(Vec<String>),
    Performers(BTreeMap<String, String>),
}

impl Default for ActorMap {
    fn default() -> Self {
        ActorMap::Names(Vec::new())
    }
}

impl ActorMap {
    /// (actor, performer) pairs.
    fn pairs(&self) -> Vec<(String, String)> {
        match self {
            ActorMap::Names(names) => names.iter().map(|n| (n.clone(), n.clone())).collect(),
            ActorMap::Performers(map) => map.iter().map(|(a, p)| (a.clone(), p.clone())).collect(),
        }
    }
}

/// The config section:
///
/// ```toml
/// [[source]]
/// kind = "rokoko"
/// port = 14043
/// actors = { "Alice" = "main", "Bob" = "guest" }   # or ["Alice", "Bob"]: performers by name
/// # performer = "rokoko"   # any other actor (the first one seen) drives this performer;
/// #                         # without it, each actor becomes a performer of its own name
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RokokoConfig {
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub actors: ActorMap,
    /// The performer an actor not in `actors` drives (the first such actor seen). Without it,
    /// every actor not in `actors` becomes a performer named after it (up to
    /// [`MAX_ACTOR_PERFORMERS`]), created when it first appears.
    #[serde(default)]
    pub performer: Option<String>,
    /// Drive the face from the actor's 52 blendshapes (default true).
    #[serde(default = "crate::config_section::yes")]
    pub face: bool,
    #[serde(default = "crate::config_section::yes")]
    pub filter: bool,
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    #[serde(default)]
    pub priority: i32,
}

fn default_port() -> u16 {
    DEFAULT_ROKOKO_PORT
}

impl RokokoConfig {
    /// The performers, in order: those `actors` names, then the default one if set.
    fn performer_list(&self) -> Vec<String> {
        let mut performers: Vec<String> = Vec::new();
        for (_, performer) in self.actors.pairs() {
            if !performers.contains(&performer) {
                performers.push(performer);
            }
        }
        if let Some(default) = &self.performer
            && !performers.contains(default)
        {
            performers.push(default.clone());
        }
        performers
    }
}

impl SourceKindSpec for RokokoConfig {
    const KIND: &'static str = "rokoko";

    /// Light smoothing: Studio filters its suit data itself.
    fn filter_preset() -> FilterSettings {
        FilterSettings::light()
    }

    fn io(&self) -> SourceIo {
        SourceIo::Udp { port: self.port }
    }

    fn performers(&self) -> Vec<String> {
        self.performer_list()
    }

    fn build(&self, _env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(RokokoSource::new(self)?))
    }
}

/// The port's counters (shared by its streams in `/api/status`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct RokokoStats {
    pub packets: u64,
    pub lz4: u64,
    pub plain: u64,
    pub oversized: u64,
    pub lz4_errors: u64,
    pub not_json: u64,
    pub json_errors: u64,
    /// Versions other than 3, and Studio 1's v2 content.
    pub wrong_version: u64,
    pub too_many: u64,
    /// Actors, newtons or characters with a NaN, infinite or non-unit value, or a broken
    /// parent list: that body is skipped.
    pub bad_values: u64,
    /// Props seen (ignored).
    pub props: u64,
    /// Bodies whose name maps to no performer (the default one taken by another actor).
    pub unmapped: u64,
}

impl RokokoStats {
    fn errors(&self) -> u64 {
        self.oversized
            + self.lz4_errors
            + self.not_json
            + self.json_errors
            + self.wrong_version
            + self.too_many
            + self.bad_values
    }
}

#[derive(Clone, Debug, Default, Serialize)]
struct StreamStats {
    frames: u64,
    /// Which actor (or newton, character) drives it.
    actor: Option<String>,
}

struct Stream {
    stats: StreamStats,
    clock: SenderClock,
    seq: u32,
    last_sender: Option<SocketAddr>,
}

/// A Rokoko Studio Live port. See the module documentation.
pub struct RokokoSource {
    port: u16,
    face: bool,
    specs: Vec<StreamSpec>,
    streams: Vec<Stream>,
    /// Actor name → stream.
    mapped: BTreeMap<String, usize>,
    /// The default performer's stream, when no configured actor drives it.
    default_stream: Option<usize>,
    /// Whether an unlisted actor becomes a performer of its own name (no `performer` set).
    by_name: bool,
    /// Streams added for actors seen (not in the config).
    actor_streams: usize,
    role: SourceRole,
    filter: bool,
    retargeter: Retargeter,
    stats: RokokoStats,
    seen: Vec<(String, Option<String>)>,
    last_version: Option<(u32, Option<f64>, bool)>,
    scratch: Vec<u8>,
    events: VecDeque<SourceEvent>,
}

impl RokokoSource {
    pub fn new(config: &RokokoConfig) -> Result<Self, String> {
        let performers = config.performer_list();
        let retargeter = Retargeter::new(skeleton::studio(), &TargetBody::default())?;
        let role = SourceRole::configured(&config.parts, config.priority);
        let index = |p: &str| performers.iter().position(|q| q == p).expect("listed");
        let mapped: BTreeMap<String, usize> = config
            .actors
            .pairs()
            .into_iter()
            .map(|(actor, performer)| (actor, index(&performer)))
            .collect();
        let default = config.performer.as_deref().map(index);
        Ok(RokokoSource {
            port: config.port,
            face: config.face,
            specs: performers
                .iter()
                .map(|performer| StreamSpec {
                    performer: performer.clone(),
                    role: role.clone(),
                    filtered: config.filter,
                    key: format!("rokoko@{}/{performer}", config.port),
                    hips_height_m: retargeter.rest_hips_height_m(),
                })
                .collect(),
            streams: performers
                .iter()
                .map(|_| Stream {
                    stats: StreamStats::default(),
                    clock: SenderClock::default(),
                    seq: 0,
                    last_sender: None,
                })
                .collect(),
            default_stream: default.filter(|d| !mapped.values().any(|s| s == d)),
            by_name: config.performer.is_none(),
            actor_streams: 0,
            role,
            filter: config.filter,
            mapped,
            retargeter,
            stats: RokokoStats::default(),
            seen: Vec::new(),
            last_version: None,
            scratch: Vec::new(),
            events: VecDeque::new(),
        })
    }

    fn count(&mut self, error: &RokokoError) {
        let s = &mut self.stats;
        match error {
            RokokoError::Oversized => s.oversized += 1,
            RokokoError::Lz4(_) => s.lz4_errors += 1,
            RokokoError::NotJson => s.not_json += 1,
            RokokoError::Json(_) => s.json_errors += 1,
            RokokoError::Version(_) => s.wrong_version += 1,
            RokokoError::TooMany => s.too_many += 1,
        }
    }

    /// The stream a body named `name` drives, if any; a new unlisted name takes the default
    /// performer if it is free.
    fn stream_of(&mut self, name: &str) -> Option<usize> {
        let stream = match self.mapped.get(name) {
            Some(s) => Some(*s),
            None if self.by_name => self.add_actor_stream(name),
            None => match self.default_stream {
                Some(d) => match &self.streams[d].stats.actor {
                    Some(actor) if actor != name => None,
                    _ => Some(d),
                },
                None => None,
            },
        };
        if !self.seen.iter().any(|(n, _)| n == name) && self.seen.len() < MAX_SEEN {
            let performer = stream.map(|s| self.specs[s].performer.clone());
            self.seen.push((name.to_string(), performer));
        }
        if let Some(s) = stream {
            self.streams[s].stats.actor = Some(name.to_string());
        } else {
            self.stats.unmapped += 1;
        }
        stream
    }

    /// A new stream for an actor not in the config, driving a performer of its name (at most
    /// [`MAX_ACTOR_PERFORMERS`]; a name too long or control characters refuse it).
    fn add_actor_stream(&mut self, name: &str) -> Option<usize> {
        let usable =
            !name.is_empty() && name.len() <= MAX_ACTOR_NAME && !name.chars().any(char::is_control);
        if !usable || self.actor_streams >= MAX_ACTOR_PERFORMERS {
            return None;
        }
        let stream = self.specs.len();
        self.specs.push(StreamSpec {
            performer: name.to_string(),
            role: self.role.clone(),
            filtered: self.filter,
            key: format!("rokoko@{}/{name}", self.port),
            hips_height_m: self.retargeter.rest_hips_height_m(),
        });
        self.streams.push(Stream {
            stats: StreamStats::default(),
            clock: SenderClock::default(),
            seq: 0,
            last_sender: None,
        });
        self.mapped.insert(name.to_string(), stream);
        self.actor_streams += 1;
        self.events.push_back(SourceEvent::StreamAdded { stream });
        Some(stream)
    }

    fn emit(
        &mut self,
        stream: usize,
        mut pose: PoseFrame,
        from: SocketAddr,
        t: Option<f64>,
        now_us: u64,
    ) {
        let s = &mut self.streams[stream];
        pose.seq = s.seq;
        s.seq = s.seq.wrapping_add(1);
        pose.capture_us = t
            .map(|t| t * 1e6)
            .filter(|t| t.is_finite() && t.abs() < 9e18)
            .map_or(now_us, |t| s.clock.map(t as i64, now_us));
        s.stats.frames += 1;
        s.last_sender = Some(from);
        self.events.push_back(SourceEvent::Frame {
            stream,
            frame: SourceFrame::of_pose(pose, now_us),
        });
    }

    fn actor_pose(&mut self, actor: &Actor) -> Option<PoseFrame> {
        let mut pose = PoseFrame::new(PerformerId(0));
        if let Some(body) = &actor.body {
            let mut globals = [None; JOINT_COUNT];
            for (global, joint) in globals.iter_mut().zip(body.0.iter()) {
                let Some(joint) = joint else { continue };
                *global = match check_rotation(joint.rotation.into()) {
                    CheckedRotation::Unit(q) | CheckedRotation::Repaired(q) => Some(q),
                    CheckedRotation::Invalid => return None,
                };
            }
            let hip = body.0[0].map(|j| glam::Vec3::from(j.position));
            if hip.is_some_and(|p| !p.is_finite()) {
                return None;
            }
            self.retargeter
                .retarget(&skeleton::locals(&globals), hip, &mut pose);
        }
        if self.face
            && let Some(face) = &actor.face
        {
            for (expression, value) in &face.channels {
                pose.set_expression(*expression, (value / 100.0).clamp(0.0, 1.0));
            }
        }
        Some(pose)
    }

    /// A Studio 2 newton or character: world rotations (Unity axes, the identity being the
    /// T-pose) of named joints, each bone local to its nearest driven ancestor in the list.
    fn character_pose(character: &Character) -> Option<PoseFrame> {
        let n = character.joints.len();
        let mut bones: Vec<Option<HumanoidBone>> = Vec::with_capacity(n);
        let mut worlds: Vec<Quat> = Vec::with_capacity(n);
        let mut taken = [false; HumanoidBone::COUNT];
        for (i, joint) in character.joints.iter().enumerate() {
            if joint.parent != -1 && !(0..n as i64).contains(&joint.parent)
                || joint.parent == i as i64
            {
                return None;
            }
            let world = match check_rotation(joint.rotation.into()) {
                CheckedRotation::Unit(q) | CheckedRotation::Repaired(q) => AXES.rotation(q),
                CheckedRotation::Invalid => return None,
            };
            let bone = skeleton::bone_of_named_joint(&joint.name)
                .filter(|b| !std::mem::replace(&mut taken[b.index()], true));
            bones.push(bone);
            worlds.push(world);
        }
        let mut pose = PoseFrame::new(PerformerId(0));
        for (i, joint) in character.joints.iter().enumerate() {
            let Some(bone) = bones[i] else { continue };
            let mut ancestor = joint.parent;
            let mut steps = 0;
            while ancestor >= 0 && bones[ancestor as usize].is_none() && steps < n {
                ancestor = character.joints[ancestor as usize].parent;
                steps += 1;
            }
            let local = match usize::try_from(ancestor)
                .ok()
                .filter(|a| bones[*a].is_some())
            {
                Some(a) => worlds[a].inverse() * worlds[i],
                None => worlds[i],
            };
            pose.set_bone(bone, local.normalize());
            if bone == HumanoidBone::Hips {
                let p = glam::Vec3::from(joint.position);
                if !p.is_finite() {
                    return None;
                }
                pose.hips_position = Some(AXES.position(p));
            }
        }
        Some(pose)
    }
}

impl Source for RokokoSource {
    fn kind(&self) -> &'static str {
        RokokoConfig::KIND
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
        let mut scratch = std::mem::take(&mut self.scratch);
        let parsed = parse(bytes, &mut scratch);
        self.scratch = scratch;
        let frame = match parsed {
            Ok(frame) => frame,
            Err(e) => {
                self.count(&e);
                return;
            }
        };
        if frame.compressed {
            self.stats.lz4 += 1;
        } else {
            self.stats.plain += 1;
        }
        self.last_version = Some((frame.version, frame.fps, frame.compressed));
        self.stats.props += frame.scene.props.len() as u64;
        let t = frame.scene.timestamp;
        let mut driven = vec![false; self.specs.len()];
        for actor in &frame.scene.actors {
            let Some(stream) = self.stream_of(&actor.name) else {
                continue;
            };
            driven.resize(self.specs.len(), false);
            if std::mem::replace(&mut driven[stream], true) {
                continue;
            }
            match self.actor_pose(actor) {
                Some(pose) => self.emit(stream, pose, from, t, now_us),
                None => self.stats.bad_values += 1,
            }
        }
        for character in frame.scene.newtons.iter().chain(&frame.scene.characters) {
            let Some(stream) = self.stream_of(&character.name) else {
                continue;
            };
            driven.resize(self.specs.len(), false);
            if std::mem::replace(&mut driven[stream], true) {
                continue;
            }
            match Self::character_pose(character) {
                Some(pose) => self.emit(stream, pose, from, t, now_us),
                None => self.stats.bad_values += 1,
            }
        }
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        self.events.pop_front()
    }

    fn report(&self) -> SourceReport {
        let sender = serde_json::json!({
            "version": self.last_version.map(|v| v.0),
            "fps": self.last_version.and_then(|v| v.1),
            "compressed": self.last_version.map(|v| v.2),
            "actors": self.seen.iter().map(|(name, performer)| serde_json::json!({
                "name": name,
                "performer": performer,
            })).collect::<Vec<_>>(),
        });
        SourceReport {
            unknown_senders: self.stats.unmapped,
            errors: self.stats.errors(),
            counters: serde_json::to_value(&self.stats).ok(),
            sender: Some(sender.clone()),
            streams: self
                .specs
                .iter()
                .zip(&self.streams)
                .map(|(spec, stream)| {
                    let mut counters = serde_json::to_value(&self.stats).unwrap_or_default();
                    if let (Some(map), Ok(serde_json::Value::Object(own))) = (
                        counters.as_object_mut(),
                        serde_json::to_value(&stream.stats),
                    ) {
                        map.extend(own);
                    }
                    StreamReport {
                        performer: spec.performer.clone(),
                        key: spec.key.clone(),
                        filtered: spec.filtered,
                        last_sender: stream.last_sender,
                        counters: Some(counters),
                        sender: Some(sender.clone()),
                        warnings: Vec::new(),
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use glam::Vec3;
    use kagura_protocol::{Expression, rotation_error_degrees};
    use proptest::prelude::*;

    fn feed(source: &mut RokokoSource, bytes: &[u8], now: u64) -> Vec<(usize, PoseFrame)> {
        crate::source::testing::feed_datagram(source, "127.0.0.1:5000", bytes, now)
    }

    fn head_turned(name: &str) -> String {
        let turn = Quat::from_rotation_y(0.5);
        let head = skeleton::JOINTS[skeleton::joint_index("head").unwrap()].tpose_rotation;
        fixture::actor_posed(name, true, &|joint| {
            (joint == "head").then_some(turn * head)
        })
    }

    #[test]
    fn actors_drive_performers_by_name_and_others_take_the_default() {
        let config: RokokoConfig =
            toml::from_str("actors = { \"Alice\" = \"main\" }\nperformer = \"rokoko\"").unwrap();
        assert_eq!(config.performers(), ["main", "rokoko"]);
        assert_eq!(config.io(), SourceIo::Udp { port: 14043 });
        let mut source = RokokoSource::new(&config).unwrap();
        let actors = [
            head_turned("Alice"),
            head_turned("Bob"),
            head_turned("Carol"),
        ];
        let json = fixture::frame_json("\"3,0\"", &actors, 10.0);
        let frames = feed(&mut source, &fixture::lz4(json.as_bytes()), 1_000_000);
        assert_eq!(frames.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [0, 1]);
        for (_, pose) in &frames {
            let head = pose.bone(HumanoidBone::Head).unwrap();
            // Unity +Y turns the face to the actor's right: glTF −Y by the same angle.
            assert!(rotation_error_degrees(head, Quat::from_rotation_y(-0.5)) < 0.5);
            assert_eq!(pose.expression(Expression::EyeBlinkLeft), Some(0.0));
            let jaw = pose.expression(Expression::JawOpen).unwrap();
            assert!((jaw - 17.0 * 1.9 / 100.0).abs() < 1e-5, "{jaw}");
            assert_eq!(pose.bones().count(), 51);
        }
        let report = source.report();
        assert_eq!(report.unknown_senders, 1, "Carol");
        let sender = report.streams[0].sender.clone().unwrap();
        assert_eq!(sender["actors"][2]["name"], "Carol");
        assert_eq!(sender["actors"][2]["performer"], serde_json::Value::Null);
        assert_eq!(sender["actors"][1]["performer"], "rokoko");
        let counters = report.streams[1].counters.clone().unwrap();
        assert_eq!(counters["actor"], "Bob");
        assert_eq!(counters["props"], 1);
        assert_eq!(counters["lz4"], 1);
        let names: RokokoConfig = toml::from_str("actors = [\"A\", \"B\"]").unwrap();
        assert_eq!(names.performers(), ["A", "B"]);
    }

    #[test]
    fn without_a_default_performer_each_new_actor_becomes_a_performer_of_its_name() {
        let config: RokokoConfig = toml::from_str("actors = { \"Alice\" = \"main\" }").unwrap();
        assert_eq!(config.performers(), ["main"]);
        let mut source = RokokoSource::new(&config).unwrap();
        let actors = [
            head_turned("Alice"),
            head_turned("Bob"),
            head_turned("Carol"),
        ];
        let json = fixture::frame_json("\"3,0\"", &actors, 10.0);
        let now = 1_000_000;
        source.handle_input(
            SourceInput::Datagram {
                from: "127.0.0.1:5000".parse().unwrap(),
                bytes: &fixture::lz4(json.as_bytes()),
            },
            now,
        );
        let events: Vec<SourceEvent> = std::iter::from_fn(|| source.poll_event()).collect();
        // Each new stream is announced before its first frame.
        let order: Vec<String> = events
            .iter()
            .map(|e| match e {
                SourceEvent::StreamAdded { stream } => format!("add {stream}"),
                SourceEvent::Frame { stream, .. } => format!("frame {stream}"),
                SourceEvent::Action { .. } => "action".into(),
            })
            .collect();
        assert_eq!(order, ["frame 0", "add 1", "frame 1", "add 2", "frame 2"]);
        let performers: Vec<&str> = source
            .streams()
            .iter()
            .map(|s| s.performer.as_str())
            .collect();
        assert_eq!(performers, ["main", "Bob", "Carol"]);
        assert_eq!(source.report().unknown_senders, 0);
        // Bounded: names that cannot be performers, and actors past the limit, are counted.
        let many: Vec<String> = (0..MAX_ACTOR_PERFORMERS + 3)
            .map(|i| head_turned(&format!("A{i}")))
            .chain([head_turned(&"x".repeat(MAX_ACTOR_NAME + 1))])
            .collect();
        let json = fixture::frame_json("\"3,0\"", &many, 11.0);
        source.handle_input(
            SourceInput::Datagram {
                from: "127.0.0.1:5000".parse().unwrap(),
                bytes: &fixture::lz4(json.as_bytes()),
            },
            now + 20_000,
        );
        while source.poll_event().is_some() {}
        assert_eq!(source.streams().len(), 1 + MAX_ACTOR_PERFORMERS);
    }

    #[test]
    fn studio_2_newtons_with_parents_drive_performers_and_time_is_studios() {
        let config: RokokoConfig = toml::from_str("actors = { \"Newton\" = \"n\" }").unwrap();
        let mut source = RokokoSource::new(&config).unwrap();
        let turn = Quat::from_rotation_y(0.5);
        let base = 3_000_000u64;
        let mut captures = Vec::new();
        for k in 0..3u64 {
            let json = fixture::frame_json_with(
                "3.0",
                &[],
                &[fixture::newton("Newton", turn)],
                1.0 + k as f64 / 60.0,
            );
            let frames = feed(
                &mut source,
                json.as_bytes(),
                base + k * 16_667 + [0, 5_000, 900][k as usize],
            );
            assert_eq!(frames.len(), 1);
            let pose = &frames[0].1;
            let head = pose.bone(HumanoidBone::Head).unwrap();
            assert!(rotation_error_degrees(head, Quat::from_rotation_y(-0.5)) < 0.01);
            assert!(pose.bone(HumanoidBone::LeftThumbMetacarpal).is_some());
            assert_eq!(pose.hips_position, Some(Vec3::new(0.0, 0.95, 0.0)));
            captures.push(pose.capture_us);
        }
        assert!(
            captures[2].abs_diff(captures[0] + 33_333) <= 5,
            "{captures:?}"
        );
    }

    #[test]
    fn bad_frames_are_counted_by_kind() {
        let mut source = RokokoSource::new(&toml::from_str("").unwrap()).unwrap();
        assert!(feed(&mut source, b"not json", 1).is_empty());
        assert!(feed(&mut source, br#"{"version":2,"scene":{}}"#, 2).is_empty());
        let huge = fixture::frame_json(
            "3",
            &[fixture::actor_posed("X", false, &|j| {
                (j == "chest").then_some(Quat::from_xyzw(1e30, 0.0, 0.0, 1.0))
            })],
            0.0,
        );
        assert!(feed(&mut source, huge.as_bytes(), 3).is_empty());
        let overflow = huge.replace("1000000000000000000000000000000", "1e40");
        assert!(feed(&mut source, overflow.as_bytes(), 4).is_empty());
        let c = source.report().counters.unwrap();
        assert_eq!(c["not_json"], 1);
        assert_eq!(c["wrong_version"], 1);
        assert_eq!(c["bad_values"], 2);
        assert_eq!(source.report().errors, 4);
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut source = RokokoSource::new(&toml::from_str("").unwrap()).unwrap();
            let _ = feed(&mut source, &bytes, 1);
            prop_assert_eq!(source.report().counters.unwrap()["packets"].as_u64(), Some(1));
        }
    }
}
