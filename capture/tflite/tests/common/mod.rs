//! Shared by the integration tests: where the models are, and the LiteRT
//! reference outputs made by `tests/reference.py`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the model files are: `$KAGURA_FACE_MODELS`, else cut out of npm's
/// `@mediapipe/face_mesh` (which the page's `npm ci` installs in `clients/web`) into the
/// target directory, by the byte ranges its loader script gives. Panics with the fix when
/// neither is there.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KAGURA_FACE_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("face-models");
    let package = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../clients/web/node_modules/@mediapipe/face_mesh");
    extract_models(&package, &out).unwrap_or_else(|e| {
        panic!(
            "the face models are needed: {e}. Run `npm ci` in clients/web (any cargo build of \
             kagura-server does), or set KAGURA_FACE_MODELS to a directory holding them"
        )
    });
    out
}

/// Writes each file the packed data holds into `out` (once).
fn extract_models(package: &Path, out: &Path) -> Result<(), String> {
    let loader = package.join("face_mesh_solution_packed_assets_loader.js");
    let data = package.join("face_mesh_solution_packed_assets.data");
    let loader =
        std::fs::read_to_string(&loader).map_err(|e| format!("{}: {e}", loader.display()))?;
    let data = std::fs::read(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    // Entries look like {"filename": "/…/NAME", "start": S, "end": E}.
    for entry in loader.split("\"filename\"").skip(1) {
        let name = entry.split('"').nth(1).and_then(|p| p.rsplit('/').next());
        let number = |key: &str| -> Option<usize> {
            let from = entry.find(key)? + key.len();
            let digits: String = entry[from..]
                .trim_start_matches([' ', ':'])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        };
        let (Some(name), Some(start), Some(end)) = (name, number("\"start\""), number("\"end\""))
        else {
            continue;
        };
        let bytes = data
            .get(start..end)
            .ok_or("a file lies past the data's end")?;
        std::fs::write(out.join(name), bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}

pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Runs the reference script and returns where it wrote LiteRT's outputs.
pub fn reference_outputs() -> PathBuf {
    let models = models_dir();
    let ok = Command::new("python3")
        .args(["-c", "import ai_edge_litert, numpy"])
        .output();
    assert!(
        matches!(&ok, Ok(o) if o.status.success()),
        "the reference needs python3 with LiteRT: pip install ai-edge-litert==2.1.4 numpy"
    );
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
    out
}
