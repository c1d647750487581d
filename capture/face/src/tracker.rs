//! [`FaceTracker`]: one face followed from frame to frame, MediaPipe's face mesh pipeline.
//!
//! Per frame: if no face is being tracked, the detector finds the strongest face and its region;
//! otherwise the region comes from the previous frame's landmarks (no detection). The mesh model
//! runs on the region; its face score decides whether the face is still there. The landmarks
//! give the head pose (against the canonical face) and the channels. Pure: images in, values
//! out; the networks are whatever runs the models ([`Network`]).

use glam::{Quat, Vec3};

use crate::channels::{self, FaceChannels};
use crate::detection::{self, Letterbox};
use crate::geometry::{CanonicalFace, FacePose};
use crate::image::RgbImage;
use crate::mesh::{self, AttentionOutputs};
pub use crate::network::Network;
use crate::roi::FaceRegion;

/// Which mesh model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshModel {
    /// `face_landmark_with_attention.tflite`: 478 points with irises.
    Attention,
    /// `face_landmark.tflite`: 468 points, no irises (no gaze channels).
    Plain,
}

/// Face score (after the sigmoid) below which the face counts as lost.
const MIN_FACE_SCORE: f32 = 0.5;

/// Why a frame could not be tracked at all (as opposed to "no face in it").
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error("face model failed: {0}")]
    Network(String),
    #[error("face model output {0:?} is missing or too short")]
    Output(&'static str),
}

/// The head in the camera's frame, converted to the internal convention: +X toward the
/// performer's left (the image's right), +Y up, +Z from the face toward the camera.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadPose {
    /// Rotation from looking straight into the camera.
    pub rotation: Quat,
    /// Head centre (the canonical face's origin) relative to the camera, metres, assuming the
    /// camera's vertical field of view is [`ASSUMED_VERTICAL_FOV_DEG`].
    pub position: Vec3,
}

/// The field of view used to turn the face's size in pixels into a distance (MediaPipe's face
/// geometry assumes 63°; webcams are 50–70°).
pub const ASSUMED_VERTICAL_FOV_DEG: f32 = 63.0;

/// What one frame gave.
#[derive(Clone, Debug, Default)]
pub struct FaceObservation {
    pub found: bool,
    /// Whether the face detector ran on this frame.
    pub detected: bool,
    /// 478 (or 468) landmarks: x, y image pixels, z as MediaPipe gives it (normalised like x by
    /// the image width: `z / width`). Empty when not found.
    pub landmarks: Vec<Vec3>,
    pub head: Option<HeadPose>,
    pub face: FaceChannels,
}

/// Follows one face across frames.
pub struct FaceTracker {
    detector: Box<dyn Network>,
    mesh: Box<dyn Network>,
    mesh_model: MeshModel,
    canonical: CanonicalFace,
    anchors: Vec<glam::Vec2>,
    region: Option<FaceRegion>,
    /// Run the detector on every frame (for comparison; normal tracking does not).
    pub detect_every_frame: bool,
    observation: FaceObservation,
    camera_points: Vec<Vec3>,
}

impl FaceTracker {
    pub fn new(
        detector: Box<dyn Network>,
        mesh: Box<dyn Network>,
        mesh_model: MeshModel,
        canonical: CanonicalFace,
    ) -> Self {
        FaceTracker {
            detector,
            mesh,
            mesh_model,
            canonical,
            anchors: detection::anchors(),
            region: None,
            detect_every_frame: false,
            observation: FaceObservation::default(),
            camera_points: Vec::new(),
        }
    }

    /// A tracker on the default engine from the model files' bytes: the detector
    /// (`face_detection_short_range.tflite`), the mesh model (`face_landmark_with_attention.tflite`
    /// for [`MeshModel::Attention`], `face_landmark.tflite` for [`MeshModel::Plain`]) and the
    /// geometry metadata. Checks that each model has the input size and outputs expected.
    pub fn from_models(
        detector: &[u8],
        mesh: &[u8],
        mesh_model: MeshModel,
        geometry: &[u8],
    ) -> Result<Self, String> {
        use crate::engine::TfliteNetwork;
        let detector = TfliteNetwork::load(detector, "face detector")?;
        let side = detection::INPUT_SIZE;
        if detector.input_shape() != [1, side, side, 3] || detector.output("regressors").is_none() {
            return Err(
                "face detector: not BlazeFace short range (128×128 in, regressors out)".into(),
            );
        }
        let mesh = TfliteNetwork::load(mesh, "face mesh")?;
        let side = mesh::INPUT_SIDE;
        if mesh.input_shape() != [1, side, side, 3]
            || mesh.output(mesh_model.score_name()).is_none()
        {
            return Err(format!(
                "face mesh: not the {mesh_model:?} face landmark model"
            ));
        }
        let canonical = CanonicalFace::from_metadata(geometry).map_err(|e| e.to_string())?;
        Ok(FaceTracker::new(
            Box::new(detector),
            Box::new(mesh),
            mesh_model,
            canonical,
        ))
    }

    /// Forgets the tracked face: the next frame runs the detector.
    pub fn reset(&mut self) {
        self.region = None;
    }

    /// Tracks the face in `image`.
    pub fn track(&mut self, image: RgbImage<'_>) -> Result<&FaceObservation, TrackError> {
        let obs = &mut self.observation;
        obs.found = false;
        obs.detected = false;
        obs.head = None;
        obs.landmarks.clear();
        // Cleared, not replaced: the channel list keeps its allocation from frame to frame.
        obs.face.channels.clear();
        obs.face.left_eye = None;
        obs.face.right_eye = None;
        let region = match self.region.filter(|_| !self.detect_every_frame) {
            Some(region) => region,
            None => {
                obs.detected = true;
                match detect(&mut *self.detector, &self.anchors, image)? {
                    Some(region) => region,
                    None => return Ok(&self.observation),
                }
            }
        };
        image.crop_into(&region, mesh::INPUT_SIDE, self.mesh.input());
        self.mesh.run().map_err(TrackError::Network)?;
        let score_logit = self
            .mesh
            .output(self.mesh_model.score_name())
            .and_then(|s| s.first().copied())
            .ok_or(TrackError::Output("face score"))?;
        let score =
            1.0 / (1.0 + (-detection::finite_or_low(score_logit).clamp(-100.0, 100.0)).exp());
        let obs = &mut self.observation;
        let assembled = match self.mesh_model {
            MeshModel::Attention => {
                let get =
                    |name: &'static str| self.mesh.output(name).ok_or(TrackError::Output(name));
                let outputs = AttentionOutputs {
                    mesh: get("output_mesh_identity")?,
                    lips: get("output_lips")?,
                    image_left_eye: get("output_left_eye")?,
                    image_right_eye: get("output_right_eye")?,
                    image_left_iris: get("output_left_iris")?,
                    image_right_iris: get("output_right_iris")?,
                };
                mesh::assemble_attention(&outputs, &mut obs.landmarks)
            }
            MeshModel::Plain => {
                let points = self
                    .mesh
                    .output("conv2d_21")
                    .ok_or(TrackError::Output("conv2d_21"))?;
                mesh::assemble_mesh(points, &mut obs.landmarks)
            }
        };
        if score < MIN_FACE_SCORE || assembled.is_none() {
            obs.landmarks.clear();
            self.region = None;
            return Ok(&self.observation);
        }
        mesh::project(&region, &mut obs.landmarks);
        self.region = FaceRegion::from_landmarks(&obs.landmarks);
        // Camera frame: +X right, +Y up, +Z toward the camera (MediaPipe's z grows away from it).
        self.camera_points.clear();
        self.camera_points
            .extend(obs.landmarks.iter().map(|p| Vec3::new(p.x, -p.y, -p.z)));
        let Some(pose) = self.canonical.fit(&self.camera_points) else {
            obs.landmarks.clear();
            self.region = None;
            return Ok(&self.observation);
        };
        obs.found = true;
        obs.head = Some(head_pose(&pose, image.width, image.height));
        channels::measure(&self.canonical, &pose, &self.camera_points, &mut obs.face);
        let width = image.width as f32;
        for p in &mut obs.landmarks {
            p.z /= width;
        }
        Ok(&self.observation)
    }
}

impl MeshModel {
    fn score_name(self) -> &'static str {
        match self {
            MeshModel::Attention => "conv_faceflag",
            MeshModel::Plain => "conv2d_31",
        }
    }
}

/// Runs the detector and returns the strongest face's region.
fn detect(
    detector: &mut dyn Network,
    anchors: &[glam::Vec2],
    image: RgbImage<'_>,
) -> Result<Option<FaceRegion>, TrackError> {
    let letterbox: Letterbox = image.letterbox_into(detector.input());
    detector.run().map_err(TrackError::Network)?;
    let regressors = detector
        .output("regressors")
        .ok_or(TrackError::Output("regressors"))?;
    let scores = detector
        .output("classificators")
        .ok_or(TrackError::Output("classificators"))?;
    let faces = detection::decode(anchors, regressors, scores, letterbox);
    Ok(faces
        .first()
        .map(FaceRegion::from_detection)
        .filter(FaceRegion::is_usable))
}

/// The fitted pose in metres: the canonical face is in centimetres, so `scale` is pixels per
/// centimetre at the face's distance, which with the assumed field of view gives the distance.
fn head_pose(pose: &FacePose, width: usize, height: usize) -> HeadPose {
    let focal_px = height as f32 / 2.0 / (ASSUMED_VERTICAL_FOV_DEG.to_radians() / 2.0).tan();
    let distance_cm = focal_px / pose.scale;
    let centre = glam::Vec2::new(width as f32 / 2.0, -(height as f32) / 2.0);
    let offset_cm = (pose.translation.truncate() - centre) / pose.scale;
    HeadPose {
        rotation: pose.rotation,
        position: Vec3::new(offset_cm.x, offset_cm.y, -distance_cm) / 100.0,
    }
}
