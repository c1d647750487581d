//! Compares kagura-tflite with Google's LiteRT on the MediaPipe face models.
//!
//! The models are read from `$KAGURA_FACE_MODELS`, else from npm's `@mediapipe/face_mesh`;
//! the reference outputs are produced at test time by `tests/reference.py`
//! (needs `python3` with `ai_edge_litert`, `numpy`, optionally `skimage`).
//! When either is missing the test fails and names the fix.

use kagura_tflite::{Interpreter, Model};

mod common;
use common::{models_dir, read_f32, reference_outputs};

/// Largest accepted |ours − reference|, relative to the output's scale
/// (max |reference|, at least 1).
const TOLERANCE: f32 = 1e-4;

#[test]
fn matches_litert() {
    let dir = reference_outputs();
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
