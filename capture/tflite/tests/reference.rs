//! Compares kagura-tflite with Google's LiteRT on the MediaPipe face models.
//!
//! The models are read from `$KAGURA_FACE_MODELS` (default `/work/models`);
//! the reference outputs are produced at test time by `tests/reference.py`
//! (needs `python3` with `ai_edge_litert`, `numpy`, optionally `skimage`).
//! When either is missing the test says so and passes without comparing.

use std::path::{Path, PathBuf};
use std::process::Command;

use kagura_tflite::{Interpreter, Model};

/// Largest accepted |ours − reference|, relative to the output's scale
/// (max |reference|, at least 1).
const TOLERANCE: f32 = 1e-4;

fn models_dir() -> PathBuf {
    std::env::var_os("KAGURA_FACE_MODELS")
        .map_or_else(|| PathBuf::from("/work/models"), PathBuf::from)
}

fn read_f32(path: &Path) -> Vec<f32> {
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

#[test]
fn matches_litert() {
    let Some(dir) = reference_outputs() else {
        return;
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let entries = manifest.as_array().unwrap();
    assert!(!entries.is_empty(), "no reference outputs");
    for e in entries {
        let name = e["model"].as_str().unwrap();
        let case = e["case"].as_str().unwrap();
        let bytes = std::fs::read(models_dir().join(format!("{name}.tflite"))).unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let mut interp = Interpreter::new(&model).unwrap();
        let file = |suffix: &str| dir.join(format!("{name}.{case}.{suffix}"));
        interp
            .input_mut(0)
            .copy_from_slice(&read_f32(&file("input.f32")));
        interp.invoke().unwrap();
        for (i, o) in e["outputs"].as_array().unwrap().iter().enumerate() {
            let want = read_f32(&file(&format!("out{i}.f32")));
            let shape: Vec<usize> = o["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(
                interp.output_shape(i),
                &shape[..],
                "{name} output {i} shape"
            );
            assert_eq!(interp.output_names().nth(i), o["name"].as_str());
            let got = interp.output(i);
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            let err = got
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            println!(
                "{name} {case} out{i} {:?}: max abs err {err:.3e} (scale {scale:.3})",
                shape
            );
            assert!(
                err <= TOLERANCE * scale,
                "{name} {case} output {i}: error {err} > {TOLERANCE} × {scale}"
            );
        }
    }
}
