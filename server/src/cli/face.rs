//! `kagura face FILES… [--json]`: the webcam source's tracking run on image files or a raw
//! video, one result per frame — for scripting, debugging and comparison with MediaPipe.
//!
//! JSON lines: `{"frame", "found", "landmarks": [[x, y, z], …], "head": {"rotation": [x, y, z,
//! w], "position": [x, y, z]}, "channels": {"eyeBlinkLeft": …}}`. Landmarks: x, y in image
//! pixels, z as MediaPipe gives it (normalised by the image width). The head is in the internal
//! convention (+X toward the performer's left, +Y up, +Z from the face toward the camera;
//! position in metres from the camera, assuming a 63° vertical field of view).

use std::path::PathBuf;

use clap::Args;
use kagura_capture::source::FrameInput;
use kagura_face::{FaceObservation, FaceTracker, MeshModel};
use kagura_server::face_models::FaceModelFiles;
use kagura_server::sources::frames::FrameReader;
use serde_json::{Map, Value, json};

#[derive(Args)]
pub struct FaceArgs {
    /// Image files (PNG, JPEG), tracked in order as frames of one video.
    files: Vec<PathBuf>,
    /// A raw RGB24 video file instead (with --width and --height).
    #[arg(long)]
    video: Option<PathBuf>,
    #[arg(long, default_value_t = 640)]
    width: usize,
    #[arg(long, default_value_t = 480)]
    height: usize,
    /// Print one JSON object per frame.
    #[arg(long)]
    json: bool,
    /// Run the face detector on every frame instead of tracking from the last landmarks.
    #[arg(long)]
    detect_every_frame: bool,
    /// The 468-point mesh without irises (no gaze).
    #[arg(long)]
    plain_mesh: bool,
    /// A directory with the model files, instead of those built in.
    #[arg(long)]
    models: Option<PathBuf>,
}

pub fn face(args: FaceArgs) -> anyhow::Result<()> {
    let input = match (&args.video, args.files.is_empty()) {
        (Some(path), true) => FrameInput::RawVideo {
            path: path.clone(),
            width: args.width,
            height: args.height,
        },
        (None, false) => FrameInput::Files(args.files.clone()),
        _ => anyhow::bail!("give image files or --video FILE (one of them)"),
    };
    let models = match &args.models {
        Some(dir) => FaceModelFiles::from_dir(dir),
        None => FaceModelFiles::embedded(),
    }
    .map_err(anyhow::Error::msg)?;
    let (mesh_model, mesh) = if args.plain_mesh {
        (MeshModel::Plain, &models.mesh)
    } else {
        (MeshModel::Attention, &models.mesh_with_irises)
    };
    let mut tracker =
        FaceTracker::from_models(&models.detector, mesh, mesh_model, &models.geometry)
            .map_err(anyhow::Error::msg)?;
    tracker.detect_every_frame = args.detect_every_frame;
    let mut reader = FrameReader::open(input)?;
    let mut index = 0;
    while let Some(frame) = reader.next_frame(false)? {
        let image = kagura_face::RgbImage::new(frame.width, frame.height, &frame.pixels)
            .ok_or_else(|| anyhow::anyhow!("frame {index}: not a whole RGB image"))?;
        let observation = tracker.track(image)?;
        if args.json {
            println!("{}", observation_json(index, observation));
        } else {
            println!("{}", observation_line(index, observation));
        }
        index += 1;
    }
    Ok(())
}

/// One frame as the JSON object the module documentation describes.
pub fn observation_json(index: usize, o: &FaceObservation) -> Value {
    let landmarks: Vec<[f32; 3]> = o.landmarks.iter().map(|p| p.to_array()).collect();
    let head = o
        .head
        .map(|h| json!({ "rotation": h.rotation.to_array(), "position": h.position.to_array() }));
    let channels: Map<String, Value> = o
        .face
        .channels
        .iter()
        .map(|(e, w)| (e.name().to_string(), json!(w)))
        .collect();
    json!({
        "frame": index,
        "found": o.found,
        "landmarks": landmarks,
        "head": head,
        "channels": channels,
    })
}

/// One frame for people: yaw, pitch, roll in degrees and the strongest channels.
fn observation_line(index: usize, o: &FaceObservation) -> String {
    let Some(head) = o.head.filter(|_| o.found) else {
        return format!("frame {index}: no face");
    };
    let (yaw, pitch, roll) = head.rotation.to_euler(glam::EulerRot::YXZ);
    let mut strongest: Vec<_> = o.face.channels.iter().filter(|(_, w)| *w > 0.2).collect();
    strongest.sort_by(|a, b| b.1.total_cmp(&a.1));
    let channels: Vec<String> = strongest
        .iter()
        .take(6)
        .map(|(e, w)| format!("{e} {w:.2}"))
        .collect();
    format!(
        "frame {index}: yaw {:+.1}° pitch {:+.1}° roll {:+.1}°, {:.2} m away; {}",
        yaw.to_degrees(),
        pitch.to_degrees(),
        roll.to_degrees(),
        -head.position.z,
        channels.join(", ")
    )
}
