//! Totality: any bytes give a model or an error, never a panic, and a model
//! that loads also runs. Mutates the real BlazeFace model when it is present
//! (`$KAGURA_FACE_MODELS`, else npm's `@mediapipe/face_mesh`), and random bytes.

use std::sync::OnceLock;

use kagura_tflite::{Interpreter, Model};
use proptest::prelude::*;

mod common;

fn seed_model() -> Option<&'static [u8]> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    Some(BYTES.get_or_init(|| {
        std::fs::read(common::models_dir().join("face_detection_short_range.tflite")).unwrap()
    }))
}

fn load_and_run(bytes: &[u8]) {
    if let Ok(model) = Model::from_bytes(bytes) {
        let mut interp = Interpreter::new(&model).expect("a loaded model gets an interpreter");
        for i in 0..model.input_count() {
            interp.input_mut(i).fill(0.25);
        }
        interp.invoke().expect("a loaded model runs");
        for i in 0..model.output_count() {
            assert_eq!(
                interp.output(i).len(),
                model.output_shape(i).iter().product::<usize>()
            );
        }
    }
}

#[test]
fn empty_and_tiny_inputs_are_errors() {
    for len in 0..64 {
        assert!(Model::from_bytes(&vec![0u8; len]).is_err());
        assert!(Model::from_bytes(&vec![0xffu8; len]).is_err());
    }
}

#[test]
fn truncated_models_are_errors() {
    let Some(bytes) = seed_model() else { return };
    let step = (bytes.len() / 200).max(1);
    for len in (0..bytes.len()).step_by(step) {
        load_and_run(&bytes[..len]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn mutated_models_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12)) {
        let Some(seed) = seed_model() else { return Ok(()) };
        let mut bytes = seed.to_vec();
        // Mutate mostly the structure (the first and last 16 KiB), where the
        // tables, vtables and offsets are, and sometimes anywhere.
        for (at, v) in edits {
            let i = at.index(bytes.len());
            let i = if i % 4 == 0 { i } else if i % 2 == 0 { i % 16384 } else { bytes.len() - 1 - i % 16384 };
            bytes[i] = v;
        }
        load_and_run(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if bytes.len() >= 8 {
            bytes[4..8].copy_from_slice(b"TFL3");
        }
        load_and_run(&bytes);
    }
}
