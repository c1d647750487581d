//! `kind = "webcam"`: a face tracked in-process from video — a camera (the `camera` feature),
//! image files, or a raw RGB video played at a given rate — through MediaPipe's face detector
//! and face mesh (`kagura-face`), into head, eye and ARKit/viseme channels.
//!
//! Convention: [`kagura_face::HeadPose`] is already in the internal one (+X toward the
//! performer's left, the image's right; +Y up; +Z from the face toward the camera), so the
//! avatar turns the way the performer does (not a mirror image). `mirror = true` makes it a
//! mirror image instead (yaw and roll negated, left and right swapped), for users who expect the
//! avatar to move like their reflection.

use std::path::PathBuf;

use kagura_face::{FaceObservation, FaceTracker, MeshModel, RgbImage};
use kagura_filter::FilterSettings;
use kagura_merge::BodyPart;
use kagura_protocol::{PerformerId, PoseFrame};
use serde::Deserialize;

use crate::face::{self, FaceSample};
use crate::source::{
    BuildEnv, FrameFeed, FrameInput, Source, SourceEvent, SourceFrame, SourceInput, SourceIo,
    SourceKindSpec, SourceReport, StreamReport, StreamSpec,
};

/// Model files a webcam source needs, by the names MediaPipe gives them.
pub const DETECTOR_MODEL: &str = "face_detection_short_range.tflite";
pub const MESH_WITH_IRISES_MODEL: &str = "face_landmark_with_attention.tflite";
pub const MESH_MODEL: &str = "face_landmark.tflite";
pub const GEOMETRY_MODEL: &str = "geometry_pipeline_metadata_landmarks.binarypb";

/// `[[source]] kind = "webcam"`. Exactly one of `camera`, `files` and `video`; none means
/// camera 0.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebcamConfig {
    pub performer: String,
    /// Camera index (the `camera` feature).
    pub camera: Option<u32>,
    /// Image files (PNG, JPEG), one frame each.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// A raw RGB24 video file (`ffmpeg -i take.mp4 -pix_fmt rgb24 -f rawvideo take.rgb`), with
    /// its `width` and `height`.
    pub video: Option<PathBuf>,
    /// Frame size: of the raw video, or asked of the camera (default 640×480).
    #[serde(default = "default_width")]
    pub width: usize,
    #[serde(default = "default_height")]
    pub height: usize,
    /// Frames per second for files and video (default 30).
    #[serde(default = "default_fps")]
    pub fps: f32,
    /// Files and video start again at the end (default true).
    #[serde(default = "default_true", rename = "loop")]
    pub looped: bool,
    /// Mirror image instead of the performer's own left and right (default false).
    #[serde(default)]
    pub mirror: bool,
    /// `irises` (478 points, gaze; default) or `plain` (468 points, no gaze).
    #[serde(default)]
    pub mesh: MeshChoice,
    /// A directory holding the model files, instead of those built into the binary.
    pub models: Option<PathBuf>,
    /// Body parts it drives (default head and face) and its priority (default 10).
    pub parts: Option<Vec<BodyPart>>,
    #[serde(default = "face::default_priority")]
    pub priority: i32,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MeshChoice {
    #[default]
    Irises,
    Plain,
}

fn default_width() -> usize {
    640
}
fn default_height() -> usize {
    480
}
fn default_fps() -> f32 {
    30.0
}
fn default_true() -> bool {
    true
}

impl WebcamConfig {
    fn input(&self) -> FrameInput {
        if !self.files.is_empty() {
            FrameInput::Files(self.files.clone())
        } else if let Some(path) = &self.video {
            FrameInput::RawVideo {
                path: path.clone(),
                width: self.width,
                height: self.height,
            }
        } else {
            FrameInput::Camera {
                index: self.camera.unwrap_or(0),
                width: self.width,
                height: self.height,
            }
        }
    }

    fn check(&self) -> Result<(), String> {
        let given = usize::from(self.camera.is_some())
            + usize::from(!self.files.is_empty())
            + usize::from(self.video.is_some());
        if given > 1 {
            return Err("give one of `camera`, `files` and `video`".into());
        }
        if !(self.fps.is_finite() && (0.1..=1000.0).contains(&self.fps)) {
            return Err(format!("fps {} is outside 0.1–1000", self.fps));
        }
        Ok(())
    }
}

impl SourceKindSpec for WebcamConfig {
    const KIND: &'static str = "webcam";

    fn filter_preset() -> FilterSettings {
        face::filter_preset()
    }

    fn io(&self) -> SourceIo {
        SourceIo::Frames(FrameFeed {
            input: self.input(),
            fps: self.fps,
            looped: self.looped,
        })
    }

    fn performers(&self) -> Vec<String> {
        vec![self.performer.clone()]
    }

    fn build(&self, env: &BuildEnv<'_>) -> Result<Box<dyn Source>, String> {
        self.check()?;
        let model = |name: &str| match &self.models {
            Some(dir) => {
                let path = dir.join(name);
                (env.read_file)(&path).map_err(|e| format!("face model {}: {e}", path.display()))
            }
            None => (env.face_model)(name),
        };
        let (mesh_model, mesh_file) = match self.mesh {
            MeshChoice::Irises => (MeshModel::Attention, MESH_WITH_IRISES_MODEL),
            MeshChoice::Plain => (MeshModel::Plain, MESH_MODEL),
        };
        let tracker = FaceTracker::from_models(
            &model(DETECTOR_MODEL)?,
            &model(mesh_file)?,
            mesh_model,
            &model(GEOMETRY_MODEL)?,
        )?;
        let describe = match self.input() {
            FrameInput::Files(files) => format!("{} image files", files.len()),
            FrameInput::RawVideo { path, .. } => path.display().to_string(),
            FrameInput::Camera { index, .. } => format!("camera {index}"),
        };
        Ok(Box::new(WebcamSource::new(
            tracker,
            StreamSpec {
                performer: self.performer.clone(),
                role: face::role(&self.parts, self.priority),
                filtered: true,
                key: format!("webcam/{describe}"),
                hips_height_m: None,
            },
            self.mirror,
            describe,
        )))
    }
}

/// Counters for `/api/status`.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct WebcamCounters {
    pub images: u64,
    pub faces: u64,
    pub no_face: u64,
    /// Frames run through the detector (tracking lost, or the first frame).
    pub detections: u64,
    /// Images of the wrong size for their buffer, and model failures.
    pub errors: u64,
}

/// The webcam source: one stream, one face.
pub struct WebcamSource {
    tracker: FaceTracker,
    spec: [StreamSpec; 1],
    mirror: bool,
    describe: String,
    seq: u32,
    pending: Option<SourceFrame>,
    sample: FaceSample,
    counters: WebcamCounters,
    last_error: Option<String>,
}

impl WebcamSource {
    pub fn new(tracker: FaceTracker, spec: StreamSpec, mirror: bool, describe: String) -> Self {
        WebcamSource {
            tracker,
            spec: [spec],
            mirror,
            describe,
            seq: 0,
            pending: None,
            sample: FaceSample::default(),
            counters: WebcamCounters::default(),
            last_error: None,
        }
    }
}

/// Converts what the tracker saw into a [`FaceSample`] (already in the internal convention).
pub fn sample_of(observation: &FaceObservation, sample: &mut FaceSample) {
    sample.clear();
    sample.found = observation.found;
    if let Some(head) = observation.head {
        sample.head_rotation = Some(head.rotation);
        sample.head_position = Some(head.position);
    }
    sample.left_eye = observation.face.left_eye;
    sample.right_eye = observation.face.right_eye;
    for &(e, w) in &observation.face.channels {
        sample.set_channel(e, w);
    }
}

impl Source for WebcamSource {
    fn kind(&self) -> &'static str {
        WebcamConfig::KIND
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn streams(&self) -> &[StreamSpec] {
        &self.spec
    }

    /// Tracks the face in the image; a frame only when a face is found, so that while none
    /// is, the performer's head and face hold, then ease to rest (the engine's merge).
    fn handle_input(&mut self, input: SourceInput<'_>, now_us: u64) {
        let SourceInput::Image {
            width,
            height,
            pixels,
        } = input
        else {
            return;
        };
        self.counters.images += 1;
        let Some(image) = RgbImage::new(width, height, pixels) else {
            self.counters.errors += 1;
            self.last_error = Some(format!(
                "a {width}x{height} image with {} bytes",
                pixels.len()
            ));
            return;
        };
        let observation = match self.tracker.track(image) {
            Ok(observation) => observation,
            Err(e) => {
                self.counters.errors += 1;
                self.last_error = Some(e.to_string());
                return;
            }
        };
        self.counters.detections += u64::from(observation.detected);
        if !observation.found {
            self.counters.no_face += 1;
            return;
        }
        self.counters.faces += 1;
        sample_of(observation, &mut self.sample);
        if self.mirror {
            self.sample.mirror();
        }
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.seq = self.seq;
        pose.capture_us = now_us;
        self.seq = self.seq.wrapping_add(1);
        self.sample.write_into(&mut pose);
        self.pending = Some(SourceFrame::of_pose(pose, now_us));
    }

    fn poll_event(&mut self) -> Option<SourceEvent> {
        let frame = self.pending.take()?;
        Some(SourceEvent::Frame { stream: 0, frame })
    }

    fn report(&self) -> SourceReport {
        SourceReport {
            errors: self.counters.errors,
            streams: vec![StreamReport {
                performer: self.spec[0].performer.clone(),
                key: self.spec[0].key.clone(),
                filtered: true,
                counters: serde_json::to_value(self.counters).ok(),
                warnings: self.last_error.iter().cloned().collect(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }
}
