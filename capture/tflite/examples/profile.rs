//! Per-step timings of one model: `cargo run --release --example profile -- MODEL.tflite [RUNS]`.
//! Prints each step kind's median time per invoke (robust on a loaded machine).

use std::collections::BTreeMap;

use kagura_tflite::{Interpreter, Model};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: profile MODEL.tflite [RUNS]");
    let runs: usize = args.next().map_or(200, |r| r.parse().expect("RUNS"));
    let bytes = std::fs::read(&path).expect("read model");
    let model = Model::from_bytes(&bytes).expect("load");
    let mut interp = Interpreter::new(&model).expect("interpreter");
    interp.input_mut(0).fill(0.5);
    // label → (steps with this label per invoke, per-run sums)
    let mut total: BTreeMap<String, (usize, Vec<f64>)> = BTreeMap::new();
    let mut invokes = Vec::new();
    for _ in 0..runs {
        let mut run: BTreeMap<String, (usize, f64)> = BTreeMap::new();
        let steps = interp.profile().expect("invoke");
        invokes.push(steps.iter().map(|s| s.1).sum::<f64>());
        for (label, dt) in steps {
            let e = run.entry(label).or_default();
            e.0 += 1;
            e.1 += dt;
        }
        for (label, (n, t)) in run {
            let e = total.entry(label).or_default();
            e.0 = n;
            e.1.push(t);
        }
    }
    let mut rows: Vec<(String, usize, f64)> = total
        .into_iter()
        .map(|(l, (n, mut t))| (l, n, median(&mut t)))
        .collect();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    println!(
        "{} steps, median {:.3} ms per invoke (sum of step medians {:.3} ms)",
        model.step_count(),
        median(&mut invokes) * 1e3,
        rows.iter().map(|r| r.2).sum::<f64>() * 1e3
    );
    for (label, n, t) in rows.iter().take(30) {
        println!("{:>8.3} ms {n:>4}x  {label}", t * 1e3);
    }
}
