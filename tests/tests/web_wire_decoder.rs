//! The TypeScript wire decoder (clients/web/src/wire.ts) against the Rust encoder: this test
//! writes vectors made by the Rust encoder and decoder, then runs the TypeScript test suite on
//! them with vitest (the whole suite: the page's other unit tests run here too).

use std::fmt::Write as _;
use std::process::Command;

use glam::{Quat, Vec3};
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame, RootTransform, wire};
use serde_json::{Value, json};

/// A deterministic pseudo-random sequence (xorshift), so the vectors are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 1_000_000) as f32 / 1_000_000.0
    }
    fn signed(&mut self) -> f32 {
        self.unit() * 2.0 - 1.0
    }
}

fn frame(rng: &mut Rng, i: u32) -> PoseFrame {
    let mut f = PoseFrame::new(PerformerId((rng.next() % 8) as u16));
    f.seq = rng.next() as u32;
    f.capture_us = 1_764_000_000_000_000 + rng.next() % 1_000_000_000;
    let dense = i.is_multiple_of(3);
    if rng.unit() < 0.5 {
        let rotation = Quat::from_xyzw(
            rng.signed(),
            rng.signed(),
            rng.signed(),
            rng.signed() + 0.01,
        )
        .normalize();
        f.root = Some(RootTransform {
            position: Vec3::new(rng.signed() * 50.0, rng.signed(), rng.signed() * 50.0),
            rotation,
        });
    }
    if rng.unit() < 0.7 {
        f.hips_position = Some(Vec3::new(
            rng.signed(),
            0.9 + rng.signed() * 0.1,
            rng.signed(),
        ));
    }
    for bone in HumanoidBone::ALL {
        if dense || rng.unit() < 0.5 {
            f.set_bone(
                bone,
                Quat::from_xyzw(
                    rng.signed(),
                    rng.signed(),
                    rng.signed(),
                    rng.signed() + 0.01,
                )
                .normalize(),
            );
        }
    }
    for e in Expression::ALL {
        if (dense && e.is_arkit()) || rng.unit() < 0.3 {
            f.set_expression(e, rng.unit());
        }
    }
    f
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn decoded_json(f: &PoseFrame) -> Value {
    let bones: serde_json::Map<String, Value> = f
        .bones()
        .map(|(b, q)| (b.vrm1_name().to_string(), json!(q.to_array())))
        .collect();
    let expressions: serde_json::Map<String, Value> = f
        .expressions()
        .map(|(e, w)| (e.name().to_string(), json!(w)))
        .collect();
    json!({
        "performer": f.performer.0,
        "seq": f.seq,
        "capture_us": f.capture_us,
        "root": f.root.map(|r| json!({ "position": r.position.to_array(), "rotation": r.rotation.to_array() })),
        "hips_position": f.hips_position.map(|p| p.to_array()),
        "bones": bones,
        "expressions": expressions,
    })
}

#[test]
fn typescript_decoder_matches_rust() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut frames = Vec::new();
    let mut sample_bytes = Vec::new();
    for i in 0..200 {
        let mut bytes = Vec::new();
        wire::encode(&frame(&mut rng, i), &mut bytes);
        let decoded = wire::decode(&bytes).expect("Rust decodes what it encodes");
        frames.push(json!({ "hex": hex(&bytes), "decoded": decoded_json(&decoded) }));
        sample_bytes = bytes;
    }
    let mut invalid = Vec::new();
    let mut push_invalid = |bytes: Vec<u8>, why: &str| {
        assert!(
            wire::decode(&bytes).is_err(),
            "{why} must be invalid in Rust too"
        );
        invalid.push(json!({ "hex": hex(&bytes), "why": why }));
    };
    push_invalid(sample_bytes[..10].to_vec(), "shorter than the header");
    push_invalid(sample_bytes[..sample_bytes.len() - 3].to_vec(), "truncated");
    let mut v = sample_bytes.clone();
    v[0] = 9;
    push_invalid(v, "unknown version");
    let mut v = sample_bytes.clone();
    v[1] |= 0x40;
    push_invalid(v, "unknown flag");
    let mut v = sample_bytes.clone();
    v.extend_from_slice(&[0, 0]);
    push_invalid(v, "trailing bytes");

    let vectors = json!({
        "bones": HumanoidBone::ALL.iter().map(|b| b.vrm1_name()).collect::<Vec<_>>(),
        "expressions": Expression::ALL.iter().map(|e| e.name()).collect::<Vec<_>>(),
        "frames": frames,
        "invalid": invalid,
    });
    let path =
        std::env::temp_dir().join(format!("kagura-wire-vectors-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(&vectors).unwrap()).unwrap();

    let web = concat!(env!("CARGO_MANIFEST_DIR"), "/../clients/web");
    let output = Command::new("npx")
        .args(["vitest", "run", "--reporter=verbose"])
        .current_dir(web)
        .env("KAGURA_WIRE_VECTORS", &path)
        .env("NO_COLOR", "1")
        .output()
        .expect("run vitest (Node.js and `npm ci` in clients/web are needed; server/build.rs runs npm ci)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    assert!(
        output.status.success(),
        "TypeScript decoder tests failed:\n{text}"
    );
    // The whole suite runs; the decoder's three tests must be among the passed ones (without
    // vectors they would be skipped).
    let wire_passed = text
        .lines()
        .filter(|l| l.trim_start().starts_with("✓ test/wire.test.ts > "))
        .count();
    assert_eq!(
        wire_passed, 3,
        "expected the three wire-format vitest tests to pass:\n{text}"
    );
    let _ = std::fs::remove_file(&path);
}
