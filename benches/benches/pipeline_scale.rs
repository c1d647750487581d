//! The per-frame pipeline with many sources: 8 performers × 3 sources each (a phone for face and
//! head, a suit for the body, gloves for the fingers, as an agency's show would run), beside one
//! performer with one source, in the same run. Each frame goes through what a live frame goes
//! through on the server: its source's sans-IO decoder (VMC, 6 datagrams), its stream's chain
//! (mounting, its own One Euro filter with the VMC preset), its performer's merge and
//! calibration, and publishing (wire encoding, offered to a subscriber).
//!
//! Printed per frame: the CPU cost (p50) and the added latency (p99 of the time from the frame's
//! last datagram to its publication), for the engine alone and with the VMC decode.
//!
//! Run: `cargo bench -p kagura-benches --bench pipeline_scale`.

use std::sync::Arc;
use std::time::Instant;

use kagura_benches::{Latencies, bench_pose};
use kagura_capture::vmc::{VmcConfig, VmcSource, encode_vmc_frame};
use kagura_capture::{Source, SourceEvent, SourceInput, SourceKindSpec, StreamSpec};
use kagura_engine::{Engine, FilterControl, FrameSink, MergeTiming, PoseBus, PublishedFrame};
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::PerformerId;

/// Frames per source (at 120 Hz: 10 s of a show).
const FRAMES: u32 = 1200;
const FRAME_US: u64 = 8_333;

struct Discard;

impl FrameSink for Discard {
    fn offer(&self, frame: &PublishedFrame) -> bool {
        std::hint::black_box(frame.wire.len());
        true
    }
}

/// One source: its decoder and its route into the engine.
struct Feed {
    source: VmcSource,
    route: kagura_engine::StreamRoute,
}

fn roles() -> [(Vec<BodyPart>, i32); 3] {
    use BodyPart::*;
    [
        (vec![Face, Head], 10),
        (BodyPart::ALL.to_vec(), 0),
        (vec![Fingers], 5),
    ]
}

/// Runs `performers` × `sources` at 120 Hz; returns (engine-only, decode + engine) per-frame
/// times in µs.
fn run(performers: usize, sources: usize) -> (Latencies, Latencies) {
    let filters = FilterControl::new(vec![("vmc", VmcConfig::filter_preset())], false);
    let engine = Engine::new(
        Arc::new(PoseBus::new()),
        Arc::new(filters),
        MergeTiming {
            hold_us: 300_000,
            ease_us: 500_000,
        },
    );
    let mut feeds = Vec::new();
    for p in 0..performers {
        for (s, (parts, priority)) in roles().into_iter().take(sources).enumerate() {
            let name = format!("p{p}");
            let config = VmcConfig::on_port(0, &name);
            let spec = StreamSpec {
                performer: name,
                role: SourceRole { parts, priority },
                filtered: true,
                key: format!("bench/{p}/{s}"),
                hips_height_m: None,
            };
            feeds.push(Feed {
                source: VmcSource::new(&config).unwrap(),
                route: engine.attach_stream(&spec, "vmc"),
            });
        }
    }
    for slot in engine.bus().performers() {
        engine.bus().attach(slot.id, Arc::new(Discard));
    }
    let from: std::net::SocketAddr = "127.0.0.1:39539".parse().unwrap();
    let (mut engine_only, mut with_decode) = (Latencies::default(), Latencies::default());
    let mut t = 1_000_000_000u64;
    for i in 0..FRAMES {
        let datagrams = encode_vmc_frame(&bench_pose(PerformerId(0), i), i as f32 / 120.0);
        for feed in &mut feeds {
            let decode_start = Instant::now();
            for d in &datagrams {
                feed.source
                    .handle_input(SourceInput::Datagram { from, bytes: d }, t);
            }
            let engine_start = Instant::now();
            while let Some(SourceEvent::Frame { frame, .. }) = feed.source.poll_event() {
                engine.submit(&mut feed.route, frame, t);
            }
            let end = Instant::now();
            // The first two frames of a sender teach the decoder its cycle: nothing to time.
            if i >= 2 {
                engine_only.0.push((end - engine_start).as_nanos() as u64);
                with_decode.0.push((end - decode_start).as_nanos() as u64);
            }
            t += 10;
        }
        t += FRAME_US;
        if let Some(due) = engine.poll_timeout()
            && due <= t
        {
            engine.handle_timeout(t);
        }
    }
    (engine_only, with_decode)
}

/// The q-quantile of nanosecond samples, in µs.
fn quantile_us(l: &mut Latencies, q: f64) -> f64 {
    l.quantile_ms(q) // samples are ns: "ms" of ns is µs
}

fn main() {
    println!(
        "pipeline per frame: decode (VMC, 6 datagrams) → chain (mounting, own filter, VMC preset) → merge → calibrate → publish; 120 Hz senders, {FRAMES} frames each"
    );
    let mut rows = Vec::new();
    for (performers, sources) in [(1, 1), (8, 3), (1, 1)] {
        let (mut engine, mut full) = run(performers, sources);
        let row = (
            performers,
            sources,
            quantile_us(&mut engine, 0.5),
            quantile_us(&mut engine, 0.99),
            quantile_us(&mut full, 0.5),
            quantile_us(&mut full, 0.99),
            engine.0.len(),
        );
        println!(
            "{:>2} performer(s) × {} source(s)  engine p50 {:6.1} µs  p99 {:6.1} µs  | with VMC decode p50 {:6.1} µs  p99 {:6.1} µs  (n={})",
            row.0, row.1, row.2, row.3, row.4, row.5, row.6
        );
        rows.push(row);
    }
    // The one-source baseline runs before and after the big run; the better of the two counts
    // (the machine is shared and noisy).
    let base = |i: usize| {
        let f = |r: &(usize, usize, f64, f64, f64, f64, usize)| match i {
            2 => r.2,
            3 => r.3,
            4 => r.4,
            _ => r.5,
        };
        f(&rows[0]).min(f(&rows[2]))
    };
    let big = &rows[1];
    println!(
        "8 × 3 vs 1 × 1 (same run): engine p50 {:.2}x  p99 {:.2}x  | with decode p50 {:.2}x  p99 {:.2}x",
        big.2 / base(2),
        big.3 / base(3),
        big.4 / base(4),
        big.5 / base(5)
    );
}
