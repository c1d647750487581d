//! End-to-end check of `face_landmark_with_attention`, whose MediaPipe
//! custom ops LiteRT lacks: on the astronaut's face its mesh must agree with
//! `face_landmark`'s, and each refined iris must sit inside its eye contour.

use kagura_tflite::{Interpreter, Model};

mod common;

fn run(name: &str, input: &[f32]) -> Vec<(String, Vec<f32>)> {
    let dir = common::models_dir();
    let bytes = std::fs::read(dir.join(format!("{name}.tflite"))).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut interp = Interpreter::new(&model).unwrap();
    interp.input_mut(0).copy_from_slice(input);
    interp.invoke().unwrap();
    let names: Vec<String> = interp.output_names().map(str::to_string).collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, interp.output(i).to_vec()))
        .collect()
}

#[test]
fn attention_model_agrees_with_plain_landmarks() {
    let dir = common::reference_outputs();
    let bytes = std::fs::read(dir.join("face_landmark.astronaut.input.f32"))
        .expect("the astronaut input (reference.py needs scikit-image: pip install scikit-image)");
    let input: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let plain = run("face_landmark", &input);
    let att = run("face_landmark_with_attention", &input);
    let get = |name: &str| {
        &att.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name}"))
            .1
    };
    for (n, v) in &att {
        assert!(v.iter().all(|x| x.is_finite()), "{n} has non-finite values");
    }
    // Mesh: mean distance between the two models' landmarks, in pixels of 192.
    let (a, b) = (get("output_mesh_identity"), &plain[0].1);
    let mean: f32 = a
        .chunks_exact(3)
        .zip(b.chunks_exact(3))
        .map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt())
        .sum::<f32>()
        / 468.0;
    println!("mean mesh distance {mean:.2} px");
    assert!(mean < 6.0, "meshes disagree by {mean} px");
    for (iris, eye) in [
        ("output_left_iris", "output_left_eye"),
        ("output_right_iris", "output_right_eye"),
    ] {
        let (iris, eye) = (get(iris), get(eye));
        let xs = eye.chunks_exact(2).map(|p| p[0]);
        let ys = eye.chunks_exact(2).map(|p| p[1]);
        let (x0, x1) = xs.fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(x), b.max(x)));
        let (y0, y1) = ys.fold((f32::MAX, f32::MIN), |(a, b), y| (a.min(y), b.max(y)));
        let (cx, cy) = (iris[0], iris[1]);
        println!("iris centre ({cx:.1}, {cy:.1}) in eye box x {x0:.1}..{x1:.1} y {y0:.1}..{y1:.1}");
        assert!(
            x0 < cx && cx < x1 && y0 < cy && cy < y1,
            "iris outside its eye"
        );
    }
}
