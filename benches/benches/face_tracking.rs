//! The webcam path, per frame on one core: 640×480 RGB in → head pose and channels out
//! (`kagura_face::FaceTracker` with the built-in models on `kagura-tflite`), on the same frames
//! as Python `mediapipe==0.10.14`'s face mesh (refine_landmarks, 478 points) timed in the same
//! run by `tests/face/reference.py --time` under `taskset -c 0` (one core): ours / theirs, for
//! tracking frame to frame and for detection on every frame. Then end to end: a frame entering
//! the webcam source of a running server to the frame on a QUIC subscriber.
//!
//! Run: `cargo bench -p kagura-benches --bench face_tracking` (needs `pip install
//! mediapipe==0.10.14 scikit-image` for the frames and MediaPipe's figures).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use kagura_benches::Latencies;
use kagura_capture::SourceConfig;
use kagura_capture::webcam::{MeshChoice, WebcamConfig};
use kagura_face::{FaceTracker, MeshModel, RgbImage};
use kagura_protocol::control::Subscription;
use kagura_server::face_models::FaceModelFiles;
use kagura_server::sources::frames::decode_image;

const RUNS: usize = 300;

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("kagura-face-bench-{}", std::process::id()));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/face/reference.py");
    let mut python = Command::new("taskset");
    python.args(["-c", "0", "python3"]);
    let status = python
        .arg(&script)
        .arg(&dir)
        .args(["--time", &RUNS.to_string()])
        .status();
    anyhow::ensure!(
        status.is_ok_and(|s| s.success()),
        "{} failed: pip install mediapipe==0.10.14 scikit-image",
        script.display()
    );
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json"))?)?;
    let theirs = &reference["mediapipe_median_ms"];
    let frames: Vec<_> = reference["sequences"]["roll"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| decode_image(std::path::Path::new(e["file"].as_str().unwrap())))
        .collect::<anyhow::Result<_>>()?;

    let models = FaceModelFiles::embedded().map_err(anyhow::Error::msg)?;
    println!("face_tracking: 640x480 frames of a real face, {RUNS} runs each, medians, one core");
    for (mode, detect_every_frame) in [("tracking", false), ("detection", true)] {
        let mut tracker = FaceTracker::from_models(
            &models.detector,
            &models.mesh_with_irises,
            MeshModel::Attention,
            &models.geometry,
        )
        .map_err(anyhow::Error::msg)?;
        tracker.detect_every_frame = detect_every_frame;
        let mut times = Latencies::default();
        for k in 0..RUNS + frames.len() {
            let f = &frames[k % frames.len()];
            let image = RgbImage::new(f.width, f.height, &f.pixels).unwrap();
            let start = Instant::now();
            let found = tracker.track(image)?.found;
            if k >= frames.len() {
                times.0.push(start.elapsed().as_micros() as u64);
            }
            assert!(found);
        }
        let ours = times.quantile_ms(0.5);
        let mediapipe = theirs[mode].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {mode:9}: kagura {ours:.3} ms ({:.0} fps)   mediapipe {mediapipe:.3} ms   ratio ours/theirs {:.2}",
            1000.0 / ours,
            ours / mediapipe
        );
    }
    end_to_end(&dir)
}

/// A running server with a webcam source fed the same frame 30 times a second; the time from
/// the frame entering the source (its capture time) to the frame on a QUIC subscriber.
fn end_to_end(dir: &std::path::Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut config = kagura_tests::test_config("face-bench");
        config.source.push(SourceConfig::Webcam(WebcamConfig {
            performer: "face".into(),
            camera: None,
            files: vec![dir.join("roll_00.png")],
            video: None,
            width: 640,
            height: 480,
            fps: 30.0,
            looped: true,
            mirror: false,
            mesh: MeshChoice::Irises,
            models: None,
            parts: None,
            priority: 10,
        }));
        config.filters.enabled = false;
        let server = kagura_tests::start_server(config).await?;
        let mut subscriber =
            kagura_tests::subscribe(&server, Subscription::Named(vec!["face".into()])).await?;
        let mut latencies = Latencies::default();
        let deadline = Instant::now() + Duration::from_secs(20);
        while latencies.0.len() < 150 && Instant::now() < deadline {
            let frame = subscriber.next_frame().await?;
            let now = kagura_server::clock::now_us();
            latencies.0.push(now.saturating_sub(frame.capture_us));
        }
        latencies.0.drain(..latencies.0.len().min(10));
        println!(
            "  end to end (frame into the webcam source -> QUIC subscriber, tracking included): {}",
            latencies.summary()
        );
        Ok(())
    })
}
