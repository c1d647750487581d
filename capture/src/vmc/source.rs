//! `kind = "vmc"`: one UDP port of VMC senders, each matched to a performer stream.

use std::net::{IpAddr, SocketAddr};

use kagura_calibration::filter::{FilterSettings, OneEuroParams};
use kagura_calibration::merge::{BodyPart, SourceRole};
use std::collections::BTreeMap;

use kagura_protocol::{HumanoidBone, PerformerId};
use serde::Deserialize;

use super::decoder::VmcDecoder;
use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec,
};

/// VMC's standard Performer → Marionette port.
pub const DEFAULT_VMC_PORT: u16 = 39539;

/// The config section of one VMC port:
///
/// ```toml
/// [[source]]
/// kind = "vmc"
/// port = 39539
/// performer = "main"          # every sender on the port drives "main"...
/// # senders = [{ address = "192.168.1.20", performer = "alice" }]   # ...or each its own
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmcConfig {
    pub port: u16,
    /// The performer every sender on this port drives, when `senders` is empty.
    #[serde(default)]
    pub performer: Option<String>,
    /// Known senders and their performers. When non-empty, datagrams from other addresses are
    /// ignored and counted.
    #[serde(default)]
    pub senders: Vec<VmcSenderConfig>,
    /// Filter this source's frames (default true; `[filters.vmc]` decides how).
    #[serde(default = "yes")]
    pub filter: bool,
    /// The body parts the port-level performer's sender drives (default: all).
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    /// Higher wins where sources' parts overlap.
    #[serde(default)]
    pub priority: i32,
    /// Tracked devices that drive bones, by serial: `trackers = { "LHR-1A2B3C" = "leftFoot" }`.
    /// Their world orientations (`/VMC/Ext/Tra/Pos`, `Con`, `Hmd`) are solved into the bones'
    /// local rotations, with per-tracker mounting from a T/A-pose calibration.
    #[serde(default)]
    pub trackers: BTreeMap<String, HumanoidBone>,
}

fn yes() -> bool {
    true
}

/// A sender, matched by IP address (any port) or by `IP:port`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmcSenderConfig {
    pub address: String,
    pub performer: String,
    /// The body parts this sender drives (default: all).
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    /// Higher wins where sources' parts overlap.
    #[serde(default)]
    pub priority: i32,
}

impl VmcConfig {
    /// The default: port 39539, every sender drives `performer`.
    pub fn on_port(port: u16, performer: &str) -> Self {
        VmcConfig {
            port,
            performer: Some(performer.into()),
            senders: Vec::new(),
            filter: true,
            parts: None,
            priority: 0,
            trackers: BTreeMap::new(),
        }
    }
}

/// How a VMC stream matches a sender address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderMatch {
    Any,
    Ip(IpAddr),
    Exact(SocketAddr),
}

impl SenderMatch {
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            Ok(SenderMatch::Exact(addr))
        } else {
            text.parse::<IpAddr>()
                .map(SenderMatch::Ip)
                .map_err(|_| format!("sender address {text:?} is neither IP nor IP:port"))
        }
    }

    pub fn matches(&self, addr: SocketAddr) -> bool {
        match self {
            SenderMatch::Any => true,
            SenderMatch::Ip(ip) => addr.ip() == *ip,
            SenderMatch::Exact(exact) => addr == *exact,
        }
    }

    /// More specific rules are tried first: `IP:port` before `IP` before any.
    fn specificity(&self) -> u8 {
        match self {
            SenderMatch::Exact(_) => 2,
            SenderMatch::Ip(_) => 1,
            SenderMatch::Any => 0,
        }
    }
}

impl SourceKindSpec for VmcConfig {
    const KIND: &'static str = "vmc";

    /// VMC senders are often webcam or phone trackers that smooth a little themselves.
    fn filter_preset() -> FilterSettings {
        FilterSettings {
            enabled: true,
            head: OneEuroParams::new(0.6, 1.5),
            spine: OneEuroParams::new(0.8, 0.4),
            arms: OneEuroParams::new(0.5, 0.8),
            fingers: OneEuroParams::new(1.5, 0.8),
            legs: OneEuroParams::new(0.8, 0.5),
            position: OneEuroParams::new(1.0, 2.0),
            face: OneEuroParams::new(2.0, 1.0),
            predict_us: 0,
        }
    }

    fn io(&self) -> SourceIo {
        SourceIo::Udp { port: self.port }
    }

    fn performers(&self) -> Vec<String> {
        if self.senders.is_empty() {
            self.performer.iter().cloned().collect()
        } else {
            self.senders.iter().map(|s| s.performer.clone()).collect()
        }
    }

    fn build(&self, _env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(VmcSource::new(self)?))
    }
}

struct Stream {
    sender: SenderMatch,
    decoder: VmcDecoder,
    last_sender: Option<SocketAddr>,
}

/// A VMC port: each datagram goes to the stream of the most specific matching sender rule,
/// whose [`VmcDecoder`] frames it.
pub struct VmcSource {
    port: u16,
    specs: Vec<StreamSpec>,
    streams: Vec<Stream>,
    /// Stream indices, most specific sender rule first.
    match_order: Vec<usize>,
    unknown_senders: u64,
    events: Vec<SourceEvent>,
    frames: Vec<kagura_protocol::PoseFrame>,
}

impl VmcSource {
    pub fn new(config: &VmcConfig) -> Result<Self, String> {
        let role = |parts: &Option<Vec<BodyPart>>, priority| SourceRole {
            parts: parts.clone().unwrap_or_else(|| BodyPart::ALL.to_vec()),
            priority,
        };
        let mut specs = Vec::new();
        let mut matches = Vec::new();
        if config.senders.is_empty() {
            let performer = config.performer.clone().ok_or_else(|| {
                format!(
                    "VMC port {} names neither a performer nor senders",
                    config.port
                )
            })?;
            specs.push(StreamSpec {
                performer,
                role: role(&config.parts, config.priority),
                filtered: config.filter,
                key: format!("vmc@{}", config.port),
                // Senders report their own avatar's bones: its size is learned from the frames.
                hips_height_m: None,
            });
            matches.push(SenderMatch::Any);
        } else {
            for sender in &config.senders {
                matches.push(SenderMatch::parse(&sender.address)?);
                specs.push(StreamSpec {
                    performer: sender.performer.clone(),
                    role: role(&sender.parts, sender.priority),
                    filtered: config.filter,
                    key: format!("vmc@{}/{}", config.port, sender.address),
                    hips_height_m: None,
                });
            }
        }
        let mut match_order: Vec<usize> = (0..matches.len()).collect();
        // Stable: among equally specific rules, the first configured wins.
        match_order.sort_by_key(|i| std::cmp::Reverse(matches[*i].specificity()));
        Ok(VmcSource {
            port: config.port,
            specs,
            streams: matches
                .into_iter()
                .map(|sender| Stream {
                    sender,
                    decoder: VmcDecoder::with_trackers(PerformerId(0), config.trackers.clone()),
                    last_sender: None,
                })
                .collect(),
            match_order,
            unknown_senders: 0,
            events: Vec::new(),
            frames: Vec::new(),
        })
    }
}

impl Source for VmcSource {
    fn kind(&self) -> &'static str {
        VmcConfig::KIND
    }

    fn describe(&self) -> String {
        format!("UDP port {}", self.port)
    }

    fn streams(&self) -> &[StreamSpec] {
        &self.specs
    }

    fn handle_input(&mut self, input: SourceInput<'_>, now_us: u64) {
        let SourceInput::Datagram { from, bytes } = input;
        let Some(index) = self
            .match_order
            .iter()
            .copied()
            .find(|i| self.streams[*i].sender.matches(from))
        else {
            self.unknown_senders += 1;
            return;
        };
        let stream = &mut self.streams[index];
        stream.last_sender = Some(from);
        stream
            .decoder
            .handle_datagram(bytes, now_us, &mut self.frames);
        // Events are queued in arrival order and drained by `poll_event` (front first).
        let sensors = *stream.decoder.sensors();
        self.events
            .extend(self.frames.drain(..).map(|pose| SourceEvent::Frame {
                stream: index,
                frame: SourceFrame {
                    pose,
                    arrival_us: now_us,
                    sensors,
                },
            }));
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        if self.events.is_empty() {
            None
        } else {
            Some(self.events.remove(0))
        }
    }

    fn report(&self) -> SourceReport {
        let streams: Vec<StreamReport> = self
            .specs
            .iter()
            .zip(&self.streams)
            .map(|(spec, stream)| StreamReport {
                performer: spec.performer.clone(),
                key: spec.key.clone(),
                filtered: spec.filtered,
                last_sender: stream.last_sender,
                counters: serde_json::to_value(stream.decoder.stats()).ok(),
                sender: serde_json::to_value(stream.decoder.sender_status()).ok(),
                warnings: Vec::new(),
            })
            .collect();
        SourceReport {
            unknown_senders: self.unknown_senders,
            errors: self
                .streams
                .iter()
                .map(|s| s.decoder.stats().errors())
                .sum(),
            streams,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_matching_prefers_the_most_specific_rule() {
        let config: VmcConfig = toml::from_str(
            r#"
            port = 1
            senders = [{ address = "10.0.0.1", performer = "any-port" },
                       { address = "10.0.0.1:5", performer = "exact" }]
            "#,
        )
        .unwrap();
        let mut source = VmcSource::new(&config).unwrap();
        let bundle =
            crate::vmc::encode_vmc_frame(&kagura_protocol::PoseFrame::new(PerformerId(0)), 0.0);
        for (from, stream) in [("10.0.0.1:5", 1), ("10.0.0.1:6", 0)] {
            for d in &bundle {
                source.handle_input(
                    SourceInput::Datagram {
                        from: from.parse().unwrap(),
                        bytes: d,
                    },
                    1,
                );
            }
            assert_eq!(
                source.report().streams[stream].last_sender,
                Some(from.parse().unwrap()),
                "{from} goes to stream {stream}"
            );
        }
        source.handle_input(
            SourceInput::Datagram {
                from: "10.0.0.2:5".parse().unwrap(),
                bytes: &bundle[0],
            },
            1,
        );
        assert_eq!(source.report().unknown_senders, 1);
        assert!(SenderMatch::parse("nonsense").is_err());
    }
}
