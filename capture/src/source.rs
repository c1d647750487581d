//! The source contract: what every kind of tracking input looks like to the server.
//!
//! A [`Source`] is a sans-IO state machine in the style of quinn-proto. The shell that owns its
//! socket (or file, or camera) hands it input with the time it arrived; the source answers with
//! [`SourceEvent`]s (whole frames for its streams) and, when it must talk back (a handshake
//! reply), with [`Transmit`]s. Time-driven work — a tracker declared lost, a handshake resent, a
//! recorded file played at its rate — is asked for through [`Source::poll_timeout`] and done in
//! [`Source::handle_timeout`], so no source needs socket or timer code of its own.
//!
//! Time everywhere is the server's monotonic clock in microseconds (on the scale of the Unix
//! epoch, but never stepped): the same inputs at the same times give the same outputs, which is
//! what makes a recorded session replayable.

use std::net::SocketAddr;

use kagura_filter::FilterSettings;
use kagura_merge::SourceRole;
use kagura_protocol::PoseFrame;
pub use kagura_skeleton::solve::{NO_SENSORS, SensorOrientations};
use serde::Serialize;

/// What a source is fed by its shell.
#[derive(Clone, Copy, Debug)]
pub enum SourceInput<'a> {
    /// One UDP datagram and its sender.
    Datagram { from: SocketAddr, bytes: &'a [u8] },
    /// A byte stream's connection to `peer` is open ([`SourceIo::TcpClient`]); what follows in
    /// [`SourceInput::Stream`] starts at the stream's first byte.
    StreamOpened { peer: SocketAddr },
    /// Bytes of the open stream as they arrived: any split, any coalescing (the source does its
    /// own framing).
    Stream { bytes: &'a [u8] },
    /// The stream's connection ended (closed by the peer, reset, or an error). Bytes of a frame
    /// not yet whole are dropped; the next [`SourceInput::StreamOpened`] starts afresh.
    StreamClosed,
    /// One video frame: 8-bit RGB, rows top to bottom, no padding (`width * height * 3` bytes).
    Image {
        width: usize,
        height: usize,
        pixels: &'a [u8],
    },
}

/// What shell a source needs: which socket (if any) the server opens for it.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceIo {
    /// A UDP socket on this port (0: any free port), feeding [`SourceInput::Datagram`].
    Udp { port: u16 },
    /// No input: the source produces frames from [`Source::handle_timeout`] (the demo, a file).
    Timer,
    /// Video frames, read and decoded by the shell at their rate, feeding [`SourceInput::Image`].
    Frames(FrameFeed),
    /// A TCP connection the server opens to `addr` (`host:port`; the sender is the TCP server),
    /// reopened with backoff when refused or dropped, feeding [`SourceInput::StreamOpened`],
    /// [`SourceInput::Stream`] and [`SourceInput::StreamClosed`].
    TcpClient { addr: String },
}

/// Where a video source's frames come from, and at what rate the shell delivers them.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameFeed {
    pub input: FrameInput,
    /// Frames per second the shell delivers (files and raw video; a camera runs at its own).
    pub fps: f32,
    /// Whether files and raw video start again at the end.
    pub looped: bool,
}

/// A video source's input.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameInput {
    /// Image files (PNG or JPEG), one frame each, in order.
    Files(Vec<std::path::PathBuf>),
    /// A raw video file: `width`×`height` RGB24 frames back to back (what
    /// `ffmpeg -pix_fmt rgb24 -f rawvideo` writes).
    RawVideo {
        path: std::path::PathBuf,
        width: usize,
        height: usize,
    },
    /// A camera by index (built with the `camera` feature), at the size asked for.
    Camera {
        index: u32,
        width: usize,
        height: usize,
    },
}

/// One performer stream of a source: which performer its frames drive, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamSpec {
    pub performer: String,
    /// The body parts it drives and its priority among the performer's sources.
    pub role: SourceRole,
    /// Whether its frames go through its own pose filter.
    pub filtered: bool,
    /// A name for this stream that stays the same across restarts (`vmc@39539/10.0.0.5`).
    pub key: String,
    /// The standing hips height in its frames' units, metres, when the source knows it (a
    /// BVH skeleton's rest pose; a suit's body proportions). Unknown: the engine estimates it.
    pub hips_height_m: Option<f32>,
}

/// A whole frame from one stream of a source.
#[derive(Clone, Debug)]
pub struct SourceFrame {
    /// The pose in the internal convention. `capture_us` is when it was captured: the sender's
    /// own clock mapped onto ours where the protocol carries one, else the arrival time.
    pub pose: PoseFrame,
    /// When its last input arrived, µs on the server's monotonic clock.
    pub arrival_us: u64,
    /// World orientations of sensors, by the bone each is strapped to (IMU suits, VMC
    /// trackers), for the solve stage; [`NO_SENSORS`] for sources that send bones.
    pub sensors: SensorOrientations,
}

impl SourceFrame {
    /// A frame of bones only.
    pub fn of_pose(pose: PoseFrame, arrival_us: u64) -> Self {
        SourceFrame {
            pose,
            arrival_us,
            sensors: NO_SENSORS,
        }
    }
}

/// What a source reports after input or a timeout.
// Frames are the hot path and travel by value without a heap allocation; actions are rare.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum SourceEvent {
    /// A whole frame for stream `stream` (an index into [`Source::streams`]).
    Frame { stream: usize, frame: SourceFrame },
    /// The performer asked for a calibration on their device (a SlimeVR tracker's reset
    /// button): the server runs the same calibration `POST /api/performers/{name}/calibrate`
    /// does, for the performer of stream `stream`.
    Action { stream: usize, action: SourceAction },
    /// A stream appeared while running (a new actor in a Rokoko scene): its spec is now
    /// `streams()[stream]`, and the server attaches it (its performer made if new) before the
    /// frames that follow. Streams are only ever added, at the end.
    StreamAdded { stream: usize },
}

impl SourceEvent {
    /// The frame, if it is one.
    pub fn into_frame(self) -> Option<(usize, SourceFrame)> {
        match self {
            SourceEvent::Frame { stream, frame } => Some((stream, frame)),
            SourceEvent::Action { .. } | SourceEvent::StreamAdded { .. } => None,
        }
    }
}

/// A calibration asked for from a device. The server maps each to a `CalibrationKind`:
/// full and mounting resets to the T-pose capture (it measures the sensors' mountings and the
/// pose offsets, what SlimeVR's full and mounting resets are for), the yaw reset to the heading
/// reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceAction {
    FullReset,
    YawReset,
    MountingReset,
}

/// A datagram the source wants sent (a handshake reply, an acknowledgement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// What `/api/status` shows of one stream.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StreamReport {
    pub performer: String,
    pub key: String,
    pub filtered: bool,
    pub last_sender: Option<SocketAddr>,
    /// The source's own counters for this stream (packets, frames, each kind of error).
    pub counters: Option<serde_json::Value>,
    /// What the sender says of itself, where the protocol carries it.
    pub sender: Option<serde_json::Value>,
    /// Problems a user should know of (e.g. bones of the avatar no source joint maps to).
    pub warnings: Vec<String>,
}

/// What `/api/status` shows of one source.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceReport {
    /// Input from addresses that map to no stream; ignored.
    pub unknown_senders: u64,
    /// Sum of the streams' error counters.
    pub errors: u64,
    /// Counters of the whole source, where it counts input before it knows the stream (a
    /// source whose streams appear while it runs shows them even with none yet).
    pub counters: Option<serde_json::Value>,
    /// What the sender says of itself, for the whole source.
    pub sender: Option<serde_json::Value>,
    pub streams: Vec<StreamReport>,
}

/// A tracking input, as a pure state machine. See the module documentation.
pub trait Source: Send {
    /// The kind's name, as in the config's `kind = "..."`.
    fn kind(&self) -> &'static str;

    /// Where it listens or reads from, for people (`0.0.0.0:39539`, `dance.bvh`).
    fn describe(&self) -> String;

    /// Its streams; [`SourceEvent::Frame`] names them by index.
    fn streams(&self) -> &[StreamSpec];

    /// Tells the source the local address its shell bound, before any input or timeout (a
    /// config's port 0 becomes a real port here). A source that names its own port to a peer
    /// (a request saying where to send) needs it; others ignore it.
    fn handle_bound(&mut self, _local: SocketAddr) {}

    /// Takes input that arrived at `now_us`. Bad input is counted, never fatal.
    fn handle_input(&mut self, input: SourceInput<'_>, now_us: u64);

    /// The next event, if any; call until `None` after each input or timeout.
    fn poll_event(&mut self) -> Option<SourceEvent>;

    /// The next datagram to send, if any.
    fn poll_transmit(&mut self) -> Option<Transmit> {
        None
    }

    /// When [`Source::handle_timeout`] should next be called, µs; `None`: not until more input.
    fn poll_timeout(&self) -> Option<u64> {
        None
    }

    /// Does the time-driven work due at `now_us`.
    fn handle_timeout(&mut self, _now_us: u64) {}

    /// Its counters for `/api/status`.
    fn report(&self) -> SourceReport;

    /// Straps one of its sensors to `bone` (`None`: unassigned), by the key `/api/status` lists
    /// it under (`AA:BB:CC:DD:EE:FF/0` for a SlimeVR tracker). Wins over the config and what the
    /// sensor says of itself. Kinds without assignable sensors refuse.
    fn assign_sensor(
        &mut self,
        key: &str,
        bone: Option<kagura_protocol::HumanoidBone>,
    ) -> Result<(), String> {
        let _ = bone;
        Err(format!(
            "a {} source has no sensors to assign ({key:?})",
            self.kind()
        ))
    }
}

/// What every source kind declares, next to its config section: its name, its default
/// filtering, and how to build a running [`Source`] from its config entry.
pub trait SourceKindSpec {
    /// The kind's name (`vmc`), used in `kind = "vmc"`, `[filters.vmc]` and `/api/filters/vmc`.
    const KIND: &'static str;

    /// The filter preset for this kind of source.
    fn filter_preset() -> FilterSettings;

    /// The shell it needs.
    fn io(&self) -> SourceIo;

    /// The performers its config names, in order (performers are created for them).
    fn performers(&self) -> Vec<String>;

    /// Builds the running source. `read_file` is the shell's file access (sources never open
    /// files themselves).
    fn build(&self, env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String>;
}

/// What a source may use while it is built.
pub struct BuildEnv<'a> {
    /// Reads a whole file (the shell decides where relative paths point).
    pub read_file: &'a dyn Fn(&std::path::Path) -> std::io::Result<Vec<u8>>,
    /// A face model file by its MediaPipe name (`face_landmark.tflite`), from those built into
    /// the binary; the error names the fix when they are not.
    pub face_model: &'a dyn Fn(&str) -> Result<Vec<u8>, String>,
}

/// Helpers for the source kinds' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Source, SourceInput};
    use kagura_protocol::PoseFrame;

    /// Feeds one datagram from `from` at `now_us` and returns the frames it made, with their
    /// stream (other events are passed over).
    pub(crate) fn feed_datagram(
        source: &mut dyn Source,
        from: &str,
        bytes: &[u8],
        now_us: u64,
    ) -> Vec<(usize, PoseFrame)> {
        let from = from.parse().expect("a socket address");
        source.handle_input(SourceInput::Datagram { from, bytes }, now_us);
        std::iter::from_fn(|| source.poll_event())
            .filter_map(|event| event.into_frame())
            .map(|(stream, frame)| (stream, frame.pose))
            .collect()
    }
}
