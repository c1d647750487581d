//! `kind = "bvh"`: a BVH file (Perception Neuron / Axis, Mixamo, mocap libraries) played as a
//! performer, looping at the file's frame rate, retargeted from its own skeleton and rest pose.
//!
//! A file whose skeleton leaves required humanoid bones unmapped still plays (those bones stay
//! at rest) and says so in its stream's `warnings` in `/api/status`; the server logs them.
//!
//! Convention: BVH is right-handed, +Y up, in the file's units (centimetres assumed); the
//! conversion is `Axes::BVH_CENTIMETRES`, applied by the parser.

pub mod parser;

use std::path::PathBuf;

use kagura_filter::FilterSettings;
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::{PerformerId, PoseFrame};
use kagura_skeleton::{Axes, Retargeter, TargetBody};
use parser::{Bvh, BvhFrame, parse_bvh};
use serde::Deserialize;

use crate::source::{
    BuildEnv, Source, SourceEvent, SourceFrame, SourceInput, SourceIo, SourceKindSpec,
    SourceReport, StreamReport, StreamSpec,
};
use crate::ticker::Ticker;

/// Largest BVH file accepted, bytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

/// The config section of a BVH player:
///
/// ```toml
/// [[source]]
/// kind = "bvh"
/// file = "dance.bvh"
/// performer = "recorded"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BvhConfig {
    pub file: PathBuf,
    pub performer: String,
    #[serde(default = "crate::config_section::yes")]
    pub filter: bool,
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    #[serde(default)]
    pub priority: i32,
}

impl SourceKindSpec for BvhConfig {
    const KIND: &'static str = "bvh";

    /// Recorded motion capture is usually cleaned up already.
    fn filter_preset() -> FilterSettings {
        FilterSettings::light()
    }

    fn io(&self) -> SourceIo {
        SourceIo::Timer
    }

    fn performers(&self) -> Vec<String> {
        vec![self.performer.clone()]
    }

    fn build(&self, env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        let name = self.file.display().to_string();
        let bytes = (env.read_file)(&self.file).map_err(|e| format!("reading {name}: {e}"))?;
        let spec = StreamSpec {
            performer: self.performer.clone(),
            role: SourceRole::configured(&self.parts, self.priority),
            filtered: self.filter,
            key: format!("bvh:{name}"),
            hips_height_m: None,
        };
        Ok(Box::new(BvhPlayer::new(&bytes, name, spec)?))
    }
}

/// A parsed BVH file playing in a loop: one frame per timeout, on the file's frame-time grid.
pub struct BvhPlayer {
    frames: Vec<BvhFrame>,
    retargeter: Retargeter,
    ticker: Ticker,
    name: String,
    specs: Vec<StreamSpec>,
    next: usize,
    seq: u32,
    played: u64,
    pending: Option<PoseFrame>,
    /// What of the file's skeleton did not map onto the humanoid, for people.
    warnings: Vec<String>,
}

impl BvhPlayer {
    /// Parses and checks the whole file: a bad file is an error at start, not a silent
    /// performer.
    pub fn new(bytes: &[u8], name: String, mut spec: StreamSpec) -> Result<Self, String> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!("{name} is larger than {MAX_FILE_BYTES} bytes"));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| format!("{name}: not UTF-8 ({e})"))?;
        let bvh: Bvh =
            parse_bvh(text, Axes::BVH_CENTIMETRES).map_err(|e| format!("parsing {name}: {e}"))?;
        if bvh.motion.is_empty() {
            return Err(format!("{name} has no motion frames"));
        }
        let frames = bvh
            .motion
            .iter()
            .enumerate()
            .map(|(i, line)| {
                bvh.frame(line)
                    .map_err(|e| format!("{name} frame {i}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let seconds = bvh
            .frame_time_s
            .filter(|t| *t > 0.001 && *t < 1.0)
            .unwrap_or(1.0 / 60.0);
        let mapping = bvh.skeleton.mapping_report();
        let warnings = if mapping.is_complete() && mapping.duplicates.is_empty() {
            Vec::new()
        } else {
            vec![format!("{name}: {mapping}")]
        };
        let retargeter = Retargeter::new(bvh.skeleton.clone(), &TargetBody::default())
            .map_err(|e| format!("{name}: {e}"))?;
        spec.hips_height_m = retargeter.rest_hips_height_m().filter(|h| *h > 0.1);
        Ok(BvhPlayer {
            frames,
            retargeter,
            ticker: Ticker::new((f64::from(seconds) * 1e6).round() as u64),
            name,
            specs: vec![spec],
            next: 0,
            seq: 0,
            played: 0,
            pending: None,
            warnings,
        })
    }
}

impl Source for BvhPlayer {
    fn kind(&self) -> &'static str {
        BvhConfig::KIND
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    fn streams(&self) -> &[StreamSpec] {
        &self.specs
    }

    fn handle_input(&mut self, _input: SourceInput<'_>, _now_us: u64) {}

    fn poll_event(&mut self) -> Option<SourceEvent> {
        let pose = self.pending.take()?;
        let made_at = pose.capture_us;
        Some(SourceEvent::Frame {
            stream: 0,
            frame: SourceFrame::of_pose(pose, made_at),
        })
    }

    fn poll_timeout(&self) -> Option<u64> {
        Some(self.ticker.poll_timeout())
    }

    fn handle_timeout(&mut self, now_us: u64) {
        if !self.ticker.tick(now_us) {
            return;
        }
        let bvh_frame = &self.frames[self.next];
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.seq = self.seq;
        pose.capture_us = now_us;
        self.retargeter
            .retarget(&bvh_frame.locals, bvh_frame.root_position, &mut pose);
        self.pending = Some(pose);
        self.seq = self.seq.wrapping_add(1);
        self.played += 1;
        self.next = (self.next + 1) % self.frames.len();
    }

    fn report(&self) -> SourceReport {
        SourceReport {
            streams: vec![StreamReport {
                performer: self.specs[0].performer.clone(),
                key: self.specs[0].key.clone(),
                filtered: self.specs[0].filtered,
                counters: Some(serde_json::json!({
                    "frames": self.played,
                    "file_frames": self.frames.len(),
                })),
                warnings: self.warnings.clone(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }
}
