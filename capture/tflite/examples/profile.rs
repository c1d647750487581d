//! Per-step timings of one model: `cargo run --release --example profile -- MODEL.tflite`.

use std::collections::BTreeMap;

use kagura_tflite::{Interpreter, Model};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: profile MODEL.tflite");
    let bytes = std::fs::read(&path).expect("read model");
    let model = Model::from_bytes(&bytes).expect("load");
    let mut interp = Interpreter::new(&model).expect("interpreter");
    interp.input_mut(0).fill(0.5);
    let runs = 100;
    let mut total: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for _ in 0..runs {
        for (label, dt) in interp.profile().expect("invoke") {
            let e = total.entry(label).or_default();
            e.0 += dt;
            e.1 += 1;
        }
    }
    let mut rows: Vec<_> = total.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    let sum: f64 = rows.iter().map(|r| r.1.0).sum();
    println!(
        "{} steps, {:.3} ms per invoke",
        model.step_count(),
        sum * 1e3 / runs as f64
    );
    for (label, (t, n)) in rows.iter().take(30) {
        println!(
            "{:>8.3} ms {:>4}x  {label}",
            t * 1e3 / runs as f64,
            n / runs
        );
    }
}
