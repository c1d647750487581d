//! Median milliseconds per invoke, single thread, for the three MediaPipe
//! face models, next to Google's LiteRT (through `tests/reference.py time`,
//! one thread, XNNPACK) when python3 has `ai_edge_litert`.
//!
//! `cargo bench -p kagura-tflite` (models from `$KAGURA_FACE_MODELS`, else
//! npm's `@mediapipe/face_mesh` in clients/web; `KAGURA_BENCH_RUNS` sets the run count).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use kagura_tflite::{Interpreter, Model};

#[path = "../tests/common/mod.rs"]
mod common;

const MODELS: [&str; 3] = [
    "face_detection_short_range",
    "face_landmark",
    "face_landmark_with_attention",
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn litert_ms(path: &std::path::Path, runs: usize) -> Option<f64> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("time")
        .arg(path)
        .arg(runs.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

fn main() {
    let dir = common::models_dir();
    let runs: usize = std::env::var("KAGURA_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    println!(
        "{:<32} {:>10} {:>10} {:>7}",
        "model (median ms / invoke)", "kagura", "LiteRT", "ratio"
    );
    for name in MODELS {
        let path = dir.join(format!("{name}.tflite"));
        let Ok(bytes) = std::fs::read(&path) else {
            println!("{name:<32} skipped: {} not found", path.display());
            continue;
        };
        let model = match Model::from_bytes(&bytes) {
            Ok(m) => m,
            Err(e) => {
                println!("{name:<32} cannot load: {e}");
                continue;
            }
        };
        let mut interp = Interpreter::new(&model).expect("interpreter");
        for (i, v) in interp.input_mut(0).iter_mut().enumerate() {
            *v = ((i * 7919) % 1000) as f32 / 1000.0;
        }
        for _ in 0..runs / 10 + 5 {
            interp.invoke().expect("invoke");
        }
        let times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                interp.invoke().expect("invoke");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let ours = median(times);
        match litert_ms(&path, runs) {
            Some(theirs) => println!(
                "{name:<32} {ours:>10.3} {theirs:>10.3} {:>7.2}",
                ours / theirs
            ),
            None => println!("{name:<32} {ours:>10.3} {:>10} {:>7}", "n/a", "-"),
        }
    }
}
