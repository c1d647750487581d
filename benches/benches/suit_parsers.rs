//! Frames per second per core for each suit parser on its fixtures (parse alone, and the
//! whole source: parse, convert, retarget, emit), beside the VMC decoder's figure for a full
//! VMC frame in the same run. One thread; the median of five timed runs of ~0.3 s each.
//!
//! `cargo bench -p kagura-benches --bench suit_parsers`

use std::hint::black_box;
use std::time::Instant;

use glam::{Quat, Vec3};
use kagura_benches::bench_pose;
use kagura_capture::mocopi::{self, MocopiConfig, MocopiSource, fixture as mocopi_fixture};
use kagura_capture::neuron::skeleton::BroadcastSkeleton;
use kagura_capture::neuron::wire::parse_text_frame;
use kagura_capture::neuron::{NeuronConfig, NeuronSource};
use kagura_capture::rokoko::{self, RokokoConfig, RokokoSource, fixture as rokoko_fixture};
use kagura_capture::slimevr::packet::{self as slime, tracker};
use kagura_capture::slimevr::{SlimeVrConfig, SlimeVrSource};
use kagura_capture::vmc::{VmcDecoder, encode_vmc_frame};
use kagura_capture::xsens::{self, XsensConfig, XsensSource, fixture as xsens_fixture};
use kagura_capture::{Source, SourceInput};
use kagura_protocol::PerformerId;

/// Frames per second of `frame` (one call = one frame), median of five runs.
fn fps(mut frame: impl FnMut()) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < 0.3 {
            for _ in 0..64 {
                frame();
            }
            n += 64;
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[2]
}

fn feed(source: &mut dyn Source, datagrams: &[Vec<u8>], now: &mut u64) {
    let from = "127.0.0.1:5000".parse().unwrap();
    for bytes in datagrams {
        *now += 1_000;
        source.handle_input(SourceInput::Datagram { from, bytes }, *now);
    }
    while let Some(event) = source.poll_event() {
        black_box(event);
    }
}

fn report(name: &str, bytes: usize, rate: f64, vmc: f64) {
    println!(
        "{name:<44} {bytes:>6} B/frame {:>10.0} frames/s/core  {:>5.2}× VMC decode",
        rate,
        rate / vmc
    );
}

fn main() {
    let pose = bench_pose(PerformerId(0), 100);
    let vmc_datagrams = encode_vmc_frame(&pose, 0.0);
    let mut decoder = VmcDecoder::new(PerformerId(0));
    let mut frames = Vec::with_capacity(4);
    let vmc = fps(|| {
        for d in &vmc_datagrams {
            decoder.handle_datagram(black_box(d), 0, &mut frames);
        }
        frames.clear();
    });
    let vmc_bytes: usize = vmc_datagrams.iter().map(Vec::len).sum();
    report(
        "baseline: VMC decode (6 datagrams, 55 bones)",
        vmc_bytes,
        vmc,
        vmc,
    );

    // mocopi: the current app's 1605-byte frame, 27 bones.
    let mut locals = [Quat::IDENTITY; 27];
    for (i, q) in locals.iter_mut().enumerate() {
        *q = Quat::from_rotation_y(0.01 * i as f32);
    }
    let frame = mocopi_fixture::frame_datagram(
        mocopi_fixture::Shape::Current,
        1,
        0.02,
        &locals,
        Vec3::new(0.0, 0.93, 0.0),
    );
    report(
        "mocopi parse",
        frame.len(),
        fps(|| {
            black_box(mocopi::parse(black_box(&frame)).ok());
        }),
        vmc,
    );
    let mut source = MocopiSource::new(&toml_config::<MocopiConfig>("performer = \"p\"")).unwrap();
    let mut now = 1_000_000u64;
    feed(
        &mut source,
        &[mocopi_fixture::skeleton_datagram(
            &mocopi_fixture::rest_offsets(),
        )],
        &mut now,
    );
    let datagrams = vec![frame.clone()];
    report(
        "mocopi source (parse + retarget 27 joints)",
        frame.len(),
        fps(|| feed(&mut source, &datagrams, &mut now)),
        vmc,
    );

    // Rokoko: one actor with face, LZ4 and plain.
    let json = rokoko_fixture::frame_json("3.0", &[rokoko_fixture::actor("A", true)], 1.0);
    let lz4 = rokoko_fixture::lz4(json.as_bytes());
    let mut scratch = Vec::new();
    report(
        "rokoko parse (plain JSON, 63 joints + face)",
        json.len(),
        fps(|| {
            black_box(rokoko::parse(black_box(json.as_bytes()), &mut scratch).ok());
        }),
        vmc,
    );
    report(
        "rokoko parse (LZ4)",
        lz4.len(),
        fps(|| {
            black_box(rokoko::parse(black_box(&lz4), &mut scratch).ok());
        }),
        vmc,
    );
    let mut source = RokokoSource::new(&toml_config::<RokokoConfig>("")).unwrap();
    let datagrams = vec![lz4.clone()];
    report(
        "rokoko source (LZ4, retarget 63 joints, face)",
        lz4.len(),
        fps(|| feed(&mut source, &datagrams, &mut now)),
        vmc,
    );

    // Xsens: 23 segments in one 760-byte datagram, and split in three.
    let mut segments = xsens_fixture::standing(1.0);
    segments[6].2 = Quat::from_rotation_z(0.3);
    let mut sample = 0u32;
    let one = xsens_fixture::pose_datagrams(0, 0, 0, &segments, 23);
    report(
        "xsens parse (type 02, 23 segments)",
        one[0].len(),
        fps(|| {
            let (h, p) = xsens::parse_header(black_box(&one[0])).unwrap();
            black_box(xsens::pose_segments(&h, p).map(|s| s.count()).ok());
        }),
        vmc,
    );
    let mut source = XsensSource::new(&toml_config::<XsensConfig>("performer = \"p\"")).unwrap();
    let mut datagrams = one.clone();
    report(
        "xsens source (retarget 23 segments)",
        one[0].len(),
        fps(|| {
            sample += 1;
            datagrams[0][6..10].copy_from_slice(&sample.to_be_bytes());
            feed(&mut source, &datagrams, &mut now);
        }),
        vmc,
    );
    let mut split = xsens_fixture::pose_datagrams(0, 0, 0, &segments, 8);
    report(
        "xsens source (3 datagrams per sample)",
        split.iter().map(Vec::len).sum(),
        fps(|| {
            sample += 1;
            for d in &mut split {
                d[6..10].copy_from_slice(&sample.to_be_bytes());
            }
            feed(&mut source, &split, &mut now);
        }),
        vmc,
    );
    slimevr(vmc, &mut now);
    neuron(vmc, &mut now);
}

/// SlimeVR: 10 trackers on 5 boards (2 sensors each), one rotation bundle per board per tick,
/// as current firmware sends them once bundling is on.
fn slimevr(vmc: f64, now: &mut u64) {
    let boards: Vec<[u8; 6]> = (0..5u8).map(|b| [0x3c, 0x71, 0xbf, 0, 0, b]).collect();
    let bones = [
        "hips",
        "chest",
        "leftUpperLeg",
        "rightUpperLeg",
        "leftLowerLeg",
        "rightLowerLeg",
        "leftFoot",
        "rightFoot",
        "head",
        "leftUpperArm",
    ];
    let trackers: Vec<String> = bones
        .iter()
        .enumerate()
        .map(|(i, bone)| {
            let mac = boards[i / 2].map(|b| format!("{b:02X}")).join(":");
            format!("\"{mac}/{}\" = \"{bone}\"", i % 2)
        })
        .collect();
    let mut source = SlimeVrSource::new(&toml_config::<SlimeVrConfig>(&format!(
        "performer = \"p\"\ntrackers = {{ {} }}",
        trackers.join(", ")
    )))
    .unwrap();
    let mut number = 1u64;
    let handshakes: Vec<Vec<u8>> = boards
        .iter()
        .map(|mac| tracker::handshake(*mac, "bench"))
        .collect();
    feed(&mut source, &handshakes, now);
    let tick = |number: &mut u64| -> Vec<Vec<u8>> {
        (0..boards.len())
            .map(|_| {
                let mut body = Vec::new();
                for sensor in 0..2u8 {
                    let q = Quat::from_rotation_y(0.001 * *number as f32);
                    let inner = tracker::rotation(0, sensor, q.to_array());
                    // A bundle's inner packets drop the packet number: type + payload.
                    let inner = [&inner[..4], &inner[12..]].concat();
                    body.extend_from_slice(&(inner.len() as u16).to_be_bytes());
                    body.extend_from_slice(&inner);
                }
                *number += 1;
                tracker::packet(100, *number, &body)
            })
            .collect()
    };
    let one_tick = tick(&mut number);
    report(
        "slimevr parse (5 bundles, 10 rotations)",
        one_tick.iter().map(Vec::len).sum(),
        fps(|| {
            for d in &one_tick {
                let (kind, _, body) = slime::split(black_box(d)).unwrap();
                assert_eq!(kind, 100);
                for inner in slime::bundle(body) {
                    let (kind, payload) = inner.unwrap();
                    black_box(slime::parse(kind, payload).ok());
                }
            }
        }),
        vmc,
    );
    let bytes = one_tick.iter().map(Vec::len).sum();
    report(
        "slimevr source (10 trackers → one frame)",
        bytes,
        fps(|| {
            let datagrams = tick(&mut number);
            feed(&mut source, &datagrams, now);
        }),
        vmc,
    );
    // Each tick made a frame (the figure is of whole frames, not of dropped input).
    let report = source.report();
    let counters = report.streams[0].counters.as_ref().unwrap();
    let frames = counters["frames"].as_u64().unwrap();
    assert!(
        frames * 2 > number / 5,
        "only {frames} frames for {} ticks: {counters}",
        number / 5
    );
}

/// Perception Neuron: Axis Neuron's 59-joint text frame with displacement (354 values).
fn neuron(vmc: f64, now: &mut u64) {
    let values: Vec<String> = (0..354)
        .map(|i| format!("{:.4}", (i % 37) as f32 * 0.5))
        .collect();
    let frame = format!("0 Avatar00 {} ||\r\n", values.join(" "));
    let mut parsed = Vec::new();
    report(
        "neuron parse (text, 59 joints + displacement)",
        frame.len(),
        fps(|| {
            black_box(
                parse_text_frame(
                    black_box(frame.trim_end().trim_end_matches('|').as_bytes()),
                    &mut parsed,
                )
                .ok(),
            );
        }),
        vmc,
    );
    let config = toml_config::<NeuronConfig>("performer = \"p\"");
    let mut source = NeuronSource::new(&config, BroadcastSkeleton::axis_neuron()).unwrap();
    source.handle_input(
        SourceInput::StreamOpened {
            peer: "127.0.0.1:7001".parse().unwrap(),
        },
        *now,
    );
    report(
        "neuron source (text over TCP, retarget 59 joints)",
        frame.len(),
        fps(|| {
            *now += 1_000;
            source.handle_input(
                SourceInput::Stream {
                    bytes: frame.as_bytes(),
                },
                *now,
            );
            while let Some(event) = source.poll_event() {
                black_box(event);
            }
        }),
        vmc,
    );
}

fn toml_config<T: serde::de::DeserializeOwned>(text: &str) -> T {
    toml::from_str(text).expect("a valid config")
}
