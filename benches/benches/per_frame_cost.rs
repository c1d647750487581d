//! CPU cost of each per-frame stage, beside VMC's own encoding of the same pose:
//! VMC datagrams → PoseFrame (the receiver), PoseFrame → wire bytes, wire bytes → PoseFrame.

use criterion::{Criterion, criterion_group, criterion_main};
use glam::{Quat, Vec3};
use kagura_benches::bench_pose;
use kagura_capture::SourceKindSpec;
use kagura_capture::vmc::VmcConfig;
use kagura_capture::vmc::{VmcDecoder, encode_vmc_frame};
use kagura_filter::PoseFilter;
use kagura_protocol::{PerformerId, PoseFrame, wire};
use kagura_skeleton::{Retargeter, SourceSkeleton, TargetBody};
use std::hint::black_box;

fn per_frame_cost(c: &mut Criterion) {
    let pose = bench_pose(PerformerId(0), 100);
    let datagrams = encode_vmc_frame(&pose, 0.0);
    let mut encoded = Vec::new();
    wire::encode(&pose, &mut encoded);

    c.bench_function("vmc_decode_full_frame (6 datagrams)", |b| {
        let mut decoder = VmcDecoder::new(PerformerId(0));
        let mut frames = Vec::with_capacity(4);
        b.iter(|| {
            for d in &datagrams {
                decoder.handle_datagram(black_box(d), 0, &mut frames);
            }
            frames.clear();
        })
    });
    c.bench_function("baseline: vmc_encode_full_frame (rosc)", |b| {
        b.iter(|| black_box(encode_vmc_frame(black_box(&pose), 0.0)))
    });
    c.bench_function("wire_encode_full_frame", |b| {
        let mut out = Vec::with_capacity(wire::MAX_FRAME_LEN);
        b.iter(|| {
            out.clear();
            wire::encode(black_box(&pose), &mut out);
        })
    });
    c.bench_function("wire_decode_full_frame", |b| {
        b.iter(|| black_box(wire::decode(black_box(&encoded))))
    });
    c.bench_function("pose_filter_8_performers (full frames, VMC preset)", |b| {
        let settings = <VmcConfig as SourceKindSpec>::filter_preset();
        let mut filters: Vec<PoseFilter> = (0..8).map(|_| PoseFilter::default()).collect();
        let mut frames: Vec<_> = (0..8u16).map(|p| bench_pose(PerformerId(p), 100)).collect();
        let mut t = 1_000_000u64;
        b.iter(|| {
            t += 16_667;
            for (filter, frame) in filters.iter_mut().zip(&mut frames) {
                frame.capture_us = t;
                filter.apply(black_box(frame), &settings);
            }
        })
    });
}

/// Retargeting (a 55-joint source skeleton) plus filtering, for 8 performers per frame.
fn retarget_and_filter(c: &mut Criterion) {
    let settings = <VmcConfig as SourceKindSpec>::filter_preset();
    let mut performers: Vec<(Retargeter, PoseFilter, PoseFrame)> = (0..8u16)
        .map(|p| {
            let retargeter =
                Retargeter::new(SourceSkeleton::unity_humanoid(), &TargetBody::default()).unwrap();
            (
                retargeter,
                PoseFilter::default(),
                PoseFrame::new(PerformerId(p)),
            )
        })
        .collect();
    let locals: Vec<Option<Quat>> = (0..55)
        .map(|i| Some(Quat::from_rotation_y(0.01 * i as f32)))
        .collect();
    let mut t = 1_000_000u64;
    c.bench_function(
        "retarget_and_filter_8_performers (55 joints, VMC filter preset)",
        |b| {
            b.iter(|| {
                t += 16_667;
                for (retargeter, filter, frame) in &mut performers {
                    frame.capture_us = t;
                    retargeter.retarget(black_box(&locals), Some(Vec3::new(0.0, 0.9, 0.0)), frame);
                    filter.apply(frame, &settings);
                }
            })
        },
    );
}

/// One source's frame through the engine, unfiltered: merge, calibration, wire encoding,
/// offered to one subscriber — what every live frame costs beyond its decode.
fn engine_submit(c: &mut Criterion) {
    use std::sync::Arc;

    use kagura_capture::{SourceFrame, StreamSpec};
    use kagura_engine::{Engine, FilterControl, FrameSink, MergeTiming, PoseBus, PublishedFrame};
    use kagura_merge::SourceRole;

    struct Discard;
    impl FrameSink for Discard {
        fn offer(&self, frame: &PublishedFrame) -> bool {
            black_box(frame.wire.len());
            true
        }
    }
    let engine = Engine::new(
        Arc::new(PoseBus::new()),
        Arc::new(FilterControl::new(Vec::new(), false)),
        MergeTiming {
            hold_us: 300_000,
            ease_us: 500_000,
        },
    );
    let spec = StreamSpec {
        performer: "p".into(),
        role: SourceRole::everything(),
        filtered: false,
        key: "bench".into(),
        hips_height_m: None,
    };
    let mut route = engine.attach_stream(&spec, "vmc");
    engine.bus().attach(route.performer().id, Arc::new(Discard));
    let pose = bench_pose(PerformerId(0), 100);
    let mut t = 1_000_000u64;
    c.bench_function("engine_submit_one_source (unfiltered, full frame)", |b| {
        b.iter(|| {
            t += 8_333;
            engine.submit(&mut route, SourceFrame::of_pose(pose.clone(), t), t);
        })
    });
}

criterion_group!(benches, per_frame_cost, retarget_and_filter, engine_submit);
criterion_main!(benches);
