//! Shared by the integration tests: where the models are, and the LiteRT
//! reference outputs made by `tests/reference.py`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn models_dir() -> PathBuf {
    std::env::var_os("KAGURA_FACE_MODELS")
        .map_or_else(|| PathBuf::from("/work/models"), PathBuf::from)
}

pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Runs the reference script; `None` (with the reason printed) when it cannot.
pub fn reference_outputs() -> Option<PathBuf> {
    let models = models_dir();
    if !models.join("face_landmark.tflite").exists() {
        eprintln!(
            "SKIPPED: no models in {} (set KAGURA_FACE_MODELS)",
            models.display()
        );
        return None;
    }
    let ok = Command::new("python3")
        .args(["-c", "import ai_edge_litert, numpy"])
        .output();
    if !matches!(&ok, Ok(o) if o.status.success()) {
        eprintln!("SKIPPED: python3 with ai_edge_litert and numpy is not available");
        return None;
    }
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tflite-reference");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg("outputs")
        .arg(&models)
        .arg(&out)
        .status()
        .expect("run reference.py");
    assert!(status.success(), "reference.py failed");
    Some(out)
}
