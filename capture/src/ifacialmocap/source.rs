//! `kind = "ifacialmocap"`: a phone running iFacialMocap (or Facemotion3d, or MeowFace in its
//! iFacialMocap mode) streaming one performer's face to one UDP port.

use std::collections::VecDeque;
use std::net::SocketAddr;

use kagura_filter::FilterSettings;
use kagura_merge::BodyPart;
use kagura_protocol::{PerformerId, PoseFrame};
use serde::{Deserialize, Serialize};

use super::convention;
use super::parser::{ParseError, parse};
use crate::face::{self, FaceSample, phone_address};
use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec, Transmit,
};

/// The port the phone listens on for the start string, and streams to on the PC.
pub const DEFAULT_IFM_PORT: u16 = 49983;

/// Asks the phone for v1 frames (`name-value`).
pub const START_STRING_V1: &str = "iFacialMocap_sahuasouryya9218sauhuiayeta91555dy3719";
/// Asks the phone for v2 frames (`name&value`), which carry negative values intact.
pub const START_STRING_V2: &str =
    "iFacialMocap_sahuasouryya9218sauhuiayeta91555dy3719|sendDataVersion=v2";

/// The start string is sent again this often while nothing arrives, µs: a phone that starts its
/// app (or comes back to Wi-Fi) after Kagura is served within two seconds.
pub const RESEND_WHILE_SILENT_US: u64 = 2_000_000;
/// ...and this often while the phone streams, µs (as ifacialmocap_proxy does): should the app
/// forget the PC (a restart between two datagrams), it hears of it again soon, without a
/// start string every frame.
pub const RESEND_WHILE_STREAMING_US: u64 = 10_000_000;

/// Which frame format to ask the phone for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IfmVersion {
    V1,
    #[default]
    V2,
}

/// The config section:
///
/// ```toml
/// [[source]]
/// kind = "ifacialmocap"
/// phone = "192.168.1.20"   # sends the start string there (optional: without it, push mode)
/// port = 49983             # where the phone streams to
/// version = "v2"           # or "v1"
/// performer = "main"
/// # mirror = true          # the avatar turns the other way (and left/right shapes swap)
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IFacialMocapConfig {
    /// The phone's address, `IP` (port 49983) or `IP:port`. Without it Kagura only listens: the
    /// app's own destination setting (or a bridge) pushes the frames.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub version: IfmVersion,
    pub performer: String,
    /// Mirror the face left for right (see `ifacialmocap::convention`).
    #[serde(default)]
    pub mirror: bool,
    /// Filter this source's frames (default true; `[filters.ifacialmocap]` decides how).
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
    DEFAULT_IFM_PORT
}

impl SourceKindSpec for IFacialMocapConfig {
    const KIND: &'static str = "ifacialmocap";

    /// The face preset (`face::filter_preset`): ARKit on a phone is clean but quantised to
    /// whole percent, which the channel filter's 3 Hz rest cutoff smooths out.
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
        Ok(Box::new(IFacialMocapSource::new(self)?))
    }
}

/// What `/api/status` counts for the stream.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IfmStats {
    pub datagrams: u64,
    pub frames: u64,
    /// The same datagram again: the app's way of saying the face is lost. No frame.
    pub face_lost: u64,
    pub start_strings_sent: u64,
    /// Items skipped: names Kagura does not know (`hapihapi`, `FM_…`) and junk. Not errors.
    pub unknown_items: u64,
    pub malformed_items: u64,
    pub oversized: u64,
    pub not_text: u64,
    pub unrecognised: u64,
}

impl IfmStats {
    pub fn errors(&self) -> u64 {
        self.malformed_items + self.oversized + self.not_text + self.unrecognised
    }
}

/// One phone, one performer. See the module documentation.
pub struct IFacialMocapSource {
    port: u16,
    phone: Option<SocketAddr>,
    start_string: &'static str,
    mirror: bool,
    specs: Vec<StreamSpec>,
    stats: IfmStats,
    last_sender: Option<SocketAddr>,
    sample: FaceSample,
    /// The previous datagram, to tell a repeat (face lost).
    previous: Vec<u8>,
    seq: u32,
    last_sent_us: Option<u64>,
    last_input_us: Option<u64>,
    events: VecDeque<SourceEvent>,
    transmits: VecDeque<Transmit>,
}

impl IFacialMocapSource {
    pub fn new(config: &IFacialMocapConfig) -> Result<Self, String> {
        let phone = config
            .phone
            .as_deref()
            .map(|p| phone_address(p, DEFAULT_IFM_PORT))
            .transpose()?;
        Ok(IFacialMocapSource {
            port: config.port,
            phone,
            start_string: match config.version {
                IfmVersion::V1 => START_STRING_V1,
                IfmVersion::V2 => START_STRING_V2,
            },
            mirror: config.mirror,
            specs: vec![StreamSpec {
                performer: config.performer.clone(),
                role: face::role(&config.parts, config.priority),
                filtered: config.filter,
                key: format!("ifacialmocap@{}", config.port),
                hips_height_m: None,
            }],
            stats: IfmStats::default(),
            last_sender: None,
            sample: FaceSample::default(),
            previous: Vec::new(),
            seq: 0,
            last_sent_us: None,
            last_input_us: None,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
        })
    }

    pub fn stats(&self) -> &IfmStats {
        &self.stats
    }
}

impl Source for IFacialMocapSource {
    fn kind(&self) -> &'static str {
        IFacialMocapConfig::KIND
    }

    fn describe(&self) -> String {
        match self.phone {
            Some(phone) => format!("UDP port {} (phone {phone})", self.port),
            None => format!("UDP port {}", self.port),
        }
    }

    fn streams(&self) -> &[StreamSpec] {
        &self.specs
    }

    fn handle_input(&mut self, input: SourceInput<'_>, now_us: u64) {
        let SourceInput::Datagram { from, bytes } = input else {
            return;
        };
        self.stats.datagrams += 1;
        self.last_sender = Some(from);
        if bytes == self.previous.as_slice() {
            self.stats.face_lost += 1;
            self.last_input_us = Some(now_us);
            return;
        }
        self.sample.clear();
        let items = match parse(bytes, &mut self.sample) {
            Ok(items) => items,
            Err(e) => {
                match e {
                    ParseError::Oversized => self.stats.oversized += 1,
                    ParseError::NotText => self.stats.not_text += 1,
                    ParseError::Unrecognised => self.stats.unrecognised += 1,
                }
                return;
            }
        };
        self.previous.clear();
        self.previous.extend_from_slice(bytes);
        self.last_input_us = Some(now_us);
        self.stats.unknown_items += u64::from(items.unknown);
        self.stats.malformed_items += u64::from(items.malformed);
        convention::apply(&items, &mut self.sample);
        self.sample.found = true;
        if self.mirror {
            self.sample.mirror();
        }
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.seq = self.seq;
        pose.capture_us = now_us;
        self.seq = self.seq.wrapping_add(1);
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

    /// With a phone configured: at once, then every 2 s while nothing arrives, every 10 s while
    /// it streams, and 2 s after it falls silent.
    fn poll_timeout(&self) -> Option<u64> {
        self.phone?;
        let Some(sent) = self.last_sent_us else {
            return Some(0);
        };
        Some(match self.last_input_us {
            Some(input) if input >= sent => (sent + RESEND_WHILE_STREAMING_US)
                .min(input + RESEND_WHILE_SILENT_US)
                .max(sent + RESEND_WHILE_SILENT_US),
            _ => sent + RESEND_WHILE_SILENT_US,
        })
    }

    fn handle_timeout(&mut self, now_us: u64) {
        let (Some(phone), Some(due)) = (self.phone, self.poll_timeout()) else {
            return;
        };
        if now_us < due {
            return;
        }
        self.transmits.push_back(Transmit {
            to: phone,
            bytes: self.start_string.as_bytes().to_vec(),
        });
        self.stats.start_strings_sent += 1;
        self.last_sent_us = Some(now_us);
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
                sender: None,
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

    fn config(toml: &str) -> IFacialMocapConfig {
        toml::from_str(toml).unwrap()
    }

    fn feed(source: &mut IFacialMocapSource, text: &str, now: u64) -> Vec<PoseFrame> {
        let frames =
            crate::source::testing::feed_datagram(source, "10.0.0.5:49983", text.as_bytes(), now);
        frames.into_iter().map(|(_, pose)| pose).collect()
    }

    #[test]
    fn config_defaults_and_phone_addresses() {
        let c = config("performer = \"p\"");
        assert_eq!(
            (c.port, c.version, c.phone, c.mirror),
            (49983, IfmVersion::V2, None, false)
        );
        assert_eq!(c.priority, 10);
        assert_eq!(
            phone_address("10.0.0.5", DEFAULT_IFM_PORT),
            Ok("10.0.0.5:49983".parse().unwrap())
        );
        assert_eq!(
            phone_address("10.0.0.5:7", 1),
            Ok("10.0.0.5:7".parse().unwrap())
        );
        assert!(phone_address("phone.local", 1).is_err());
        assert!(IFacialMocapSource::new(&config("performer = \"p\"\nphone = \"x\"")).is_err());
        assert!(
            toml::from_str::<IFacialMocapConfig>("performer = \"p\"\nversion = \"v3\"").is_err()
        );
    }

    /// The start string goes to the phone at once, then every 2 s while it is silent, every
    /// 10 s while it streams, and 2 s after it stops; the version picks the string.
    #[test]
    fn the_start_string_is_repeated_while_silent_and_rarely_while_streaming() {
        let mut source = IFacialMocapSource::new(&config(
            "performer = \"p\"\nphone = \"10.0.0.5\"\nversion = \"v1\"",
        ))
        .unwrap();
        let t0 = 1_000_000_000u64;
        assert_eq!(source.poll_timeout(), Some(0));
        source.handle_timeout(t0);
        let sent = source.poll_transmit().unwrap();
        assert_eq!(sent.to, "10.0.0.5:49983".parse().unwrap());
        assert_eq!(sent.bytes, START_STRING_V1.as_bytes());
        assert_eq!(source.poll_transmit(), None);
        assert_eq!(source.poll_timeout(), Some(t0 + 2_000_000));
        source.handle_timeout(t0 + 1_000_000);
        assert_eq!(source.poll_transmit(), None, "not due yet");
        source.handle_timeout(t0 + 2_000_000);
        assert!(source.poll_transmit().is_some());
        // Streaming from t0 + 2.5 s: the next one is 10 s after the last.
        let mut t = t0 + 2_500_000;
        for k in 0..600 {
            feed(&mut source, &format!("jawOpen-{}|", k % 100), t);
            if t >= source.poll_timeout().unwrap() {
                source.handle_timeout(t);
            }
            t += 16_667;
        }
        let sent: Vec<Transmit> = std::iter::from_fn(|| source.poll_transmit()).collect();
        assert_eq!(sent.len(), 1, "one resend in 10 s of streaming");
        let last_input = t - 16_667;
        // It stops: a resend 2 s after the last datagram (not 10 s after the last send).
        assert_eq!(source.poll_timeout(), Some(last_input + 2_000_000));
        assert_eq!(source.stats().start_strings_sent, 3);
        let push = IFacialMocapSource::new(&config("performer = \"p\"")).unwrap();
        assert_eq!(push.poll_timeout(), None, "push mode sends nothing");
    }

    #[test]
    fn frames_carry_the_face_and_a_repeat_means_lost() {
        let mut source = IFacialMocapSource::new(&config("performer = \"p\"")).unwrap();
        let text =
            "jawOpen&40|eyeBlink_L&100|=head#0,30,0,0.1,0,-0.5|rightEye#0,0,0|leftEye#0,0,0|";
        let frames = feed(&mut source, text, 1_000);
        assert_eq!(frames.len(), 1);
        let f = &frames[0];
        assert_eq!(f.expression(Expression::JawOpen), Some(0.4));
        assert_eq!(f.expression(Expression::EyeBlinkLeft), Some(1.0));
        let neck = f.bone(HumanoidBone::Neck).unwrap();
        let head = f.bone(HumanoidBone::Head).unwrap();
        assert!(
            (neck * head * Vec3::Z).x < -0.49,
            "positive yaw: the avatar's right"
        );
        assert!(f.bone(HumanoidBone::LeftEye).is_some());
        assert_eq!(feed(&mut source, text, 2_000).len(), 0, "repeat: lost");
        assert_eq!(feed(&mut source, "garbage", 3_000).len(), 0);
        assert_eq!(
            feed(&mut source, text, 4_000).len(),
            0,
            "still the same string"
        );
        let frames = feed(&mut source, "jawOpen&41|", 5_000);
        assert_eq!(frames[0].seq, 1);
        let s = source.stats();
        assert_eq!(
            (s.datagrams, s.frames, s.face_lost, s.unrecognised),
            (5, 2, 2, 1)
        );
        assert_eq!(source.report().errors, 1);

        let mut mirrored =
            IFacialMocapSource::new(&config("performer = \"p\"\nmirror = true")).unwrap();
        let f = &feed(&mut mirrored, text, 1_000)[0];
        let turned = f.bone(HumanoidBone::Neck).unwrap() * f.bone(HumanoidBone::Head).unwrap();
        assert!((turned * Vec3::Z).x > 0.49, "mirrored: the avatar's left");
        assert_eq!(f.expression(Expression::EyeBlinkRight), Some(1.0));
        assert_eq!(f.expression(Expression::EyeBlinkLeft), None);
    }
}
