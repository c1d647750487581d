//! Face tracking from images, sans-IO: the MediaPipe face pipeline and what Kagura derives from
//! its landmarks.
//!
//! - [`detection`]: BlazeFace short range — anchors, decoding, weighted suppression.
//! - [`roi`]: the face region (a rotated square) from a detection or the last landmarks.
//! - [`image`]: an RGB frame sampled into the two models' input tensors.
//! - [`mesh`]: the face mesh outputs assembled into 478 (or 468) landmarks in image pixels.
//! - [`geometry`]: the canonical face and the head pose fitted to the landmarks.
//! - [`channels`]: ARKit channels, VRM visemes and eye gaze from the landmarks.
//! - [`tracker`]: [`FaceTracker`], the per-frame pipeline over any [`Network`] runner.
//! - [`network`]: [`Network`], what the pipeline needs of an inference engine; [`engine`]: the
//!   default one on `kagura-tflite`.
//!
//! Nothing here opens files, reads clocks or picks an inference engine: the caller passes model
//! runners and images.

pub mod channels;
pub mod detection;
pub mod engine;
pub mod geometry;
pub mod image;
pub mod mesh;
pub mod network;
pub mod roi;
pub mod tracker;

pub use channels::FaceChannels;
pub use geometry::CanonicalFace;
pub use image::RgbImage;
pub use tracker::{FaceObservation, FaceTracker, HeadPose, MeshModel, Network, TrackError};
