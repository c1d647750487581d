//! [`NeuronConfig`] (`[[source]] kind = "neuron"`) and [`NeuronSource`]: one Axis avatar, one
//! performer.

use std::net::SocketAddr;

use glam::{Quat, Vec3};
use kagura_filter::{FilterSettings, OneEuroParams};
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::{PerformerId, PoseFrame, RootTransform};
use kagura_skeleton::{Retargeter, TargetBody};
use serde::{Deserialize, Serialize};

use super::convention;
use super::skeleton::{BroadcastSkeleton, FrameShape, SkeletonChoice};
use super::wire::{
    BinaryAssembler, FrameError, Framed, MAX_TEXT_FRAME, TextFramer, parse_binary_frame,
    parse_text_frame,
};
use crate::bvh::parser::parse_bvh;
use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec,
};

/// Where Axis Neuron and Axis Studio serve BVH broadcasting over TCP by default.
pub const DEFAULT_TCP_ADDRESS: &str = "127.0.0.1:7001";
/// Where Kagura listens for binary frames over UDP by default (the public receivers' port; set
/// the same in Axis).
pub const DEFAULT_UDP_PORT: u16 = 7002;
/// Largest skeleton file accepted, bytes (a header is a few kilobytes; an exported recording
/// with its motion may be large, and only its header is used).
pub const MAX_SKELETON_FILE: usize = 64 * 1024 * 1024;

/// The broadcast's transport and format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NeuronMode {
    /// String frames; Kagura connects to Axis.
    #[default]
    Tcp,
    /// Binary frames; Axis sends to Kagura's port.
    Udp,
}

/// The config section:
///
/// ```toml
/// [[source]]
/// kind = "neuron"
/// mode = "tcp"                 # or "udp"
/// address = "127.0.0.1:7001"   # tcp: where Axis serves (host:port)
/// # port = 7002                # udp: where Kagura listens
/// skeleton = "axis_neuron"     # or "axis_studio", or "my_avatar.bvh" (exported from Axis)
/// # displacement = true        # say what Axis sends; unset: read from each frame's length
/// # reference = false
/// performer = "main"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronConfig {
    #[serde(default)]
    pub mode: NeuronMode,
    /// TCP mode: Axis' address, `host:port` (default `127.0.0.1:7001`).
    #[serde(default)]
    pub address: Option<String>,
    /// UDP mode: the port to listen on (default 7002).
    #[serde(default)]
    pub port: Option<u16>,
    /// `axis_neuron` (default), `axis_studio`, or a `.bvh` file whose header is the avatar's.
    #[serde(default = "default_skeleton")]
    pub skeleton: String,
    /// Whether frames carry every joint's position (Axis' "Displacement"). Unset: each frame's
    /// value count says; set: a frame laid out otherwise is an error (`layout_mismatch`).
    #[serde(default)]
    pub displacement: Option<bool>,
    /// Whether frames start with the reference node (Axis' "Reference"), the same way.
    #[serde(default)]
    pub reference: Option<bool>,
    /// Which of Axis' avatars (its index, from 0) drives the performer.
    #[serde(default)]
    pub avatar: u32,
    pub performer: String,
    #[serde(default = "crate::config_section::yes")]
    pub filter: bool,
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    #[serde(default)]
    pub priority: i32,
}

fn default_skeleton() -> String {
    "axis_neuron".into()
}

impl NeuronConfig {
    fn address(&self) -> String {
        self.address
            .clone()
            .unwrap_or_else(|| DEFAULT_TCP_ADDRESS.into())
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_UDP_PORT)
    }

    fn skeleton(&self, env: &BuildEnv<'_>) -> Result<BroadcastSkeleton, String> {
        match SkeletonChoice::from_config(&self.skeleton) {
            SkeletonChoice::AxisNeuron => Ok(BroadcastSkeleton::axis_neuron()),
            SkeletonChoice::AxisStudio => Ok(BroadcastSkeleton::axis_studio()),
            SkeletonChoice::File(path) => {
                let name = path.display().to_string();
                let bytes =
                    (env.read_file)(&path).map_err(|e| format!("reading skeleton {name}: {e}"))?;
                if bytes.len() > MAX_SKELETON_FILE {
                    return Err(format!("{name} is larger than {MAX_SKELETON_FILE} bytes"));
                }
                let text =
                    std::str::from_utf8(&bytes).map_err(|e| format!("{name}: not UTF-8 ({e})"))?;
                let bvh = parse_bvh(text, convention::AXES)
                    .map_err(|e| format!("skeleton {name}: {e}"))?;
                BroadcastSkeleton::from_bvh(&bvh).map_err(|e| format!("skeleton {name}: {e}"))
            }
        }
    }
}

impl SourceKindSpec for NeuronConfig {
    const KIND: &'static str = "neuron";

    /// For inertial suits whose software already fuses and smooths (Axis applies its own
    /// filter before broadcasting): little jitter but small IMU tremor and occasional
    /// magnetic wobble at rest. Between the VMC preset (noisy webcam and VR trackers) and
    /// `light` (clean recordings): a 1 Hz rest cutoff takes the tremor out of held poses, a
    /// β of 1.5 lets fast motion through with little lag; fingers (Neuron's glove IMUs are
    /// the noisiest) a little more; no prediction (a suit streams at 60–120 Hz over a LAN).
    /// Chosen by reasoning from the VMC and light presets, not measured on a suit recording.
    fn filter_preset() -> FilterSettings {
        let body = OneEuroParams::new(1.0, 1.5).with_derivative_cutoff(4.0);
        FilterSettings {
            enabled: true,
            head: body,
            spine: body,
            arms: body,
            fingers: OneEuroParams::new(1.5, 0.8),
            legs: body,
            position: OneEuroParams::new(1.5, 1.0),
            face: OneEuroParams::new(2.0, 1.0),
            predict_us: 0,
        }
    }

    fn io(&self) -> SourceIo {
        match self.mode {
            NeuronMode::Tcp => SourceIo::TcpClient {
                addr: self.address(),
            },
            NeuronMode::Udp => SourceIo::Udp { port: self.port() },
        }
    }

    fn performers(&self) -> Vec<String> {
        vec![self.performer.clone()]
    }

    fn build(&self, env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(NeuronSource::new(self, self.skeleton(env)?)?))
    }
}

/// What `/api/status` counts for the stream.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NeuronStats {
    pub bytes: u64,
    pub datagrams: u64,
    /// Frames read whole and valid.
    pub frames: u64,
    /// Valid frames replaced by a newer one from the same read before the engine took them.
    pub coalesced: u64,
    /// Frames of other avatars (not errors).
    pub other_avatars: u64,
    pub connections: u64,
    /// Connections after the first.
    pub reconnects: u64,
    pub disconnects: u64,
    pub errors: ErrorCounts,
}

/// Errors by kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ErrorCounts {
    pub oversized: u64,
    pub no_header: u64,
    pub bad_number: u64,
    pub too_many_values: u64,
    pub bad_tokens: u64,
    pub bad_length: u64,
    /// A value count that fits no layout of the skeleton (the wrong skeleton chosen?).
    pub wrong_count: u64,
    /// A layout other than the configured `displacement`/`reference`.
    pub layout_mismatch: u64,
    /// Input of the other mode (a datagram to a TCP source, a stream to a UDP one).
    pub wrong_input: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.oversized
            + self.no_header
            + self.bad_number
            + self.too_many_values
            + self.bad_tokens
            + self.bad_length
            + self.wrong_count
            + self.layout_mismatch
            + self.wrong_input
    }

    fn count(&mut self, e: FrameError) {
        *match e {
            FrameError::Oversized => &mut self.oversized,
            FrameError::NoHeader => &mut self.no_header,
            FrameError::BadNumber => &mut self.bad_number,
            FrameError::TooManyValues => &mut self.too_many_values,
            FrameError::BadTokens => &mut self.bad_tokens,
            FrameError::BadLength => &mut self.bad_length,
        } += 1;
    }
}

/// What the last valid frame said of its sender.
#[derive(Clone, Debug, Default, Serialize)]
struct SenderInfo {
    avatar_index: u32,
    avatar_name: String,
    displacement: bool,
    reference: bool,
    /// Binary mode: the header's data version, frame index and flag bytes as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<[u8; 2]>,
}

/// One Axis avatar as one performer stream. See the module documentation.
pub struct NeuronSource {
    mode: NeuronMode,
    describe: String,
    specs: Vec<StreamSpec>,
    broadcast: BroadcastSkeleton,
    retargeter: Retargeter,
    displacement: Option<bool>,
    reference: Option<bool>,
    avatar: u32,
    framer: TextFramer,
    assembler: BinaryAssembler,
    values: Vec<f32>,
    locals: Vec<Option<Quat>>,
    stats: NeuronStats,
    last_sender: Option<SocketAddr>,
    sender: Option<SenderInfo>,
    warnings: Vec<String>,
    seq: u32,
    pending: Option<SourceFrame>,
}

impl NeuronSource {
    pub fn new(config: &NeuronConfig, broadcast: BroadcastSkeleton) -> Result<Self, String> {
        Self::with_text_limit(config, broadcast, MAX_TEXT_FRAME)
    }

    /// With a text frame limit other than [`MAX_TEXT_FRAME`] (tests).
    pub fn with_text_limit(
        config: &NeuronConfig,
        broadcast: BroadcastSkeleton,
        max_text_frame: usize,
    ) -> Result<Self, String> {
        let describe = match config.mode {
            NeuronMode::Tcp => {
                if config.port.is_some() {
                    return Err("`port` is for mode = \"udp\"; tcp connects to `address`".into());
                }
                format!("Axis at {} (TCP)", config.address())
            }
            NeuronMode::Udp => {
                if config.address.is_some() {
                    return Err("`address` is for mode = \"tcp\"; udp listens on `port`".into());
                }
                format!("UDP port {}", config.port())
            }
        };
        let mapping = broadcast.skeleton.mapping_report();
        let warnings = if mapping.is_complete() && mapping.duplicates.is_empty() {
            Vec::new()
        } else {
            vec![format!("skeleton {}: {mapping}", config.skeleton)]
        };
        let retargeter = Retargeter::new(broadcast.skeleton.clone(), &TargetBody::default())
            .map_err(|e| format!("skeleton {}: {e}", config.skeleton))?;
        let key = match config.mode {
            NeuronMode::Tcp => format!("neuron:{}#{}", config.address(), config.avatar),
            NeuronMode::Udp => format!("neuron@{}#{}", config.port(), config.avatar),
        };
        Ok(NeuronSource {
            mode: config.mode,
            describe,
            specs: vec![StreamSpec {
                performer: config.performer.clone(),
                role: SourceRole::configured(&config.parts, config.priority),
                filtered: config.filter,
                key,
                hips_height_m: retargeter.rest_hips_height_m().filter(|h| *h > 0.1),
            }],
            locals: vec![None; broadcast.joint_count()],
            broadcast,
            retargeter,
            displacement: config.displacement,
            reference: config.reference,
            avatar: config.avatar,
            framer: TextFramer::new(max_text_frame),
            assembler: BinaryAssembler::default(),
            values: Vec::new(),
            stats: NeuronStats::default(),
            last_sender: None,
            sender: None,
            warnings,
            seq: 0,
            pending: None,
        })
    }

    pub fn stats(&self) -> &NeuronStats {
        &self.stats
    }

    /// Bytes of a text frame held until its end arrives.
    pub fn pending_text(&self) -> usize {
        self.framer.pending()
    }

    /// Checks a frame's layout and, if it is one of its avatar's, makes the pose.
    fn take_values(&mut self, mut info: SenderInfo, now_us: u64) {
        if info.avatar_index != self.avatar {
            self.stats.other_avatars += 1;
            return;
        }
        let Some(shape) = self.broadcast.shape_of(self.values.len()) else {
            self.stats.errors.wrong_count += 1;
            return;
        };
        let agrees = |configured: Option<bool>, sent: bool| configured.is_none_or(|c| c == sent);
        if !agrees(self.displacement, shape.displacement)
            || !agrees(self.reference, shape.reference)
        {
            self.stats.errors.layout_mismatch += 1;
            return;
        }
        info.displacement = shape.displacement;
        info.reference = shape.reference;
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.seq = self.seq;
        pose.capture_us = now_us;
        let (hips, root) = decode(&self.broadcast, &self.values, shape, &mut self.locals);
        self.retargeter
            .retarget(&self.locals, Some(hips), &mut pose);
        pose.root = root.map(|(position, rotation)| RootTransform {
            position: convention::position(position) * self.retargeter.hips_scale(),
            rotation: convention::AXES.rotation(rotation),
        });
        self.seq = self.seq.wrapping_add(1);
        self.stats.frames += 1;
        if self.pending.is_some() {
            self.stats.coalesced += 1;
        }
        self.pending = Some(SourceFrame::of_pose(pose, now_us));
        self.sender = Some(info);
    }

    fn take_text(&mut self, bytes: &[u8], now_us: u64) {
        // The framer lends its frames while it is borrowed; take it out meanwhile.
        let mut framer = std::mem::replace(&mut self.framer, TextFramer::new(1));
        framer.push(bytes, |framed| match framed {
            Framed::Oversized => self.stats.errors.count(FrameError::Oversized),
            Framed::Frame(frame) => match parse_text_frame(frame, &mut self.values) {
                Ok(header) => self.take_values(
                    SenderInfo {
                        avatar_index: header.avatar_index,
                        avatar_name: header.avatar_name,
                        ..Default::default()
                    },
                    now_us,
                ),
                Err(e) => self.stats.errors.count(e),
            },
        });
        self.framer = framer;
    }

    fn take_datagram(&mut self, bytes: &[u8], now_us: u64) {
        let mut assembler = std::mem::take(&mut self.assembler);
        assembler.push(bytes, |whole| {
            match whole.and_then(|frame| parse_binary_frame(frame, &mut self.values)) {
                Ok(header) => {
                    let [a, b, c, d] = header.version;
                    self.take_values(
                        SenderInfo {
                            avatar_index: header.avatar_index,
                            avatar_name: header.avatar_name,
                            version: Some(format!("{d}.{c}.{b}.{a}")),
                            frame_index: Some(header.frame_index),
                            flags: Some([header.with_displacement, header.with_reference]),
                            ..Default::default()
                        },
                        now_us,
                    )
                }
                Err(e) => self.stats.errors.count(e),
            }
        });
        self.assembler = assembler;
    }
}

/// A frame's values → each joint's local rotation (BVH axes), the hips' position
/// (centimetres) and the reference node's position and rotation if sent.
fn decode(
    broadcast: &BroadcastSkeleton,
    values: &[f32],
    shape: FrameShape,
    locals: &mut [Option<Quat>],
) -> (Vec3, Option<(Vec3, Quat)>) {
    let vec3 = |at: usize| Vec3::new(values[at], values[at + 1], values[at + 2]);
    let three = |at: usize| [values[at], values[at + 1], values[at + 2]];
    let orders = &broadcast.rotation_orders;
    let (reference, body) = if shape.reference {
        let rotation = convention::rotation(orders[0], three(3));
        (Some((vec3(0), rotation)), 6)
    } else {
        (None, 0)
    };
    let hips = vec3(body);
    for (joint, order) in orders.iter().enumerate() {
        let at = match (shape.displacement, joint) {
            (true, j) => body + 6 * j + 3,
            (false, 0) => body + 3,
            (false, j) => body + 3 + 3 * j,
        };
        locals[joint] = Some(convention::rotation(*order, three(at)));
    }
    (hips, reference)
}

impl Source for NeuronSource {
    fn kind(&self) -> &'static str {
        NeuronConfig::KIND
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn streams(&self) -> &[StreamSpec] {
        &self.specs
    }

    fn handle_input(&mut self, input: SourceInput<'_>, now_us: u64) {
        match (self.mode, input) {
            (NeuronMode::Tcp, SourceInput::StreamOpened { peer }) => {
                self.stats.connections += 1;
                if self.stats.connections > 1 {
                    self.stats.reconnects += 1;
                }
                self.last_sender = Some(peer);
                self.framer.reset();
            }
            (NeuronMode::Tcp, SourceInput::Stream { bytes }) => {
                self.stats.bytes += bytes.len() as u64;
                self.take_text(bytes, now_us);
            }
            (NeuronMode::Tcp, SourceInput::StreamClosed) => {
                self.stats.disconnects += 1;
                self.framer.reset();
            }
            (NeuronMode::Udp, SourceInput::Datagram { from, bytes }) => {
                self.stats.bytes += bytes.len() as u64;
                self.stats.datagrams += 1;
                self.last_sender = Some(from);
                self.take_datagram(bytes, now_us);
            }
            _ => self.stats.errors.wrong_input += 1,
        }
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        let frame = self.pending.take()?;
        Some(SourceEvent::Frame { stream: 0, frame })
    }

    fn report(&self) -> SourceReport {
        SourceReport {
            unknown_senders: 0,
            errors: self.stats.errors.total(),
            streams: vec![StreamReport {
                performer: self.specs[0].performer.clone(),
                key: self.specs[0].key.clone(),
                filtered: self.specs[0].filtered,
                last_sender: self.last_sender,
                counters: serde_json::to_value(&self.stats).ok(),
                sender: self
                    .sender
                    .as_ref()
                    .and_then(|s| serde_json::to_value(s).ok()),
                warnings: self.warnings.clone(),
            }],
            ..Default::default()
        }
    }
}
