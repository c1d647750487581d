//! End-to-end latency, VMC send → QUIC receive on loopback, beside a bare UDP forwarder.
//!
//! 4 performers send full VMC frames (55 bones, VRM presets + 52 ARKit shapes, packetized as the
//! VMC app does) at 120 Hz each to a real Kagura server; 1, 16 and 64 QUIC subscribers receive
//! every performer. Latency is measured from just before the frame's last VMC datagram (the one
//! carrying Blend/Apply, which completes the frame) is sent, to the subscriber decoding the frame.
//!
//! Baselines, same run, same machine: a bare UDP forwarder that relays every datagram to every
//! subscriber with plain `send_to` — no parsing, no state, no crypto — fed either
//! (frame) one datagram per frame holding the Kagura-encoded frame, so the same bytes Kagura
//! sends: the floor for any fan-out on this machine; or
//! (VMC) the tracking app's VMC datagrams as sent, each subscriber parsing VMC itself: what a
//! VMC relay in front of VMC receivers does today.
//!
//! Also printed: bytes per frame on the wire beside VMC's bytes for the same pose.
//!
//! Run: `cargo bench -p kagura-benches --bench e2e_vmc_to_quic` (add `-- --quick` for 1 s runs).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kagura_benches::{Latencies, bench_now_us, bench_pose, pose_index};
use kagura_capture::vmc::{VmcDecoder, encode_vmc_frame};
use kagura_client::Subscriber;
use kagura_protocol::control::Subscription;
use kagura_protocol::{PerformerId, wire};
use kagura_server::Server;
use kagura_server::config::VmcSourceConfig;
use tokio::net::UdpSocket;
use tokio::runtime::Runtime;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PERFORMERS: usize = 4;
const RATE_HZ: u64 = 120;
/// Frames at the start of each run left out of the figures (connection warm-up, the decoder's
/// first frame before it has seen Apply).
const WARMUP_FRAMES: u32 = 30;

/// Send times, µs on [`bench_now_us`], by performer and frame index.
struct SendTimes {
    frames: u32,
    at: Vec<AtomicU64>,
}

impl SendTimes {
    fn new(frames: u32) -> Arc<Self> {
        Arc::new(SendTimes {
            frames,
            at: (0..PERFORMERS * frames as usize)
                .map(|_| AtomicU64::new(0))
                .collect(),
        })
    }
    fn slot(&self, performer: usize, index: u32) -> Option<&AtomicU64> {
        (index < self.frames && performer < PERFORMERS)
            .then(|| &self.at[performer * self.frames as usize + index as usize])
    }
    /// Latency of a received frame, if it is a measured one.
    fn latency_us(&self, performer: usize, index: u32, now: u64) -> Option<u64> {
        if index < WARMUP_FRAMES {
            return None;
        }
        let sent = self.slot(performer, index)?.load(Ordering::Acquire);
        (sent != 0).then(|| now.saturating_sub(sent))
    }
}

/// The datagrams a performer sends for each frame.
fn vmc_datagrams(frames: u32) -> Vec<Vec<Vec<Vec<u8>>>> {
    (0..PERFORMERS)
        .map(|p| {
            (0..frames)
                .map(|i| {
                    encode_vmc_frame(
                        &bench_pose(PerformerId(p as u16), i),
                        i as f32 / RATE_HZ as f32,
                    )
                })
                .collect()
        })
        .collect()
}

/// Sends every performer's frames at `RATE_HZ`, performers evenly staggered; `datagrams[p][i]`
/// are sent to `targets[p]`, and the time just before the last one is recorded.
async fn send_all(
    datagrams: Arc<Vec<Vec<Vec<Vec<u8>>>>>,
    targets: Vec<SocketAddr>,
    times: Arc<SendTimes>,
) {
    let period = Duration::from_micros(1_000_000 / RATE_HZ);
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut senders = Vec::new();
    for (p, target) in targets.into_iter().enumerate() {
        let (datagrams, times) = (datagrams.clone(), times.clone());
        senders.push(tokio::spawn(async move {
            let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
            let offset = period * p as u32 / PERFORMERS as u32;
            let mut tick = tokio::time::interval_at(start + offset, period);
            for (i, frame) in datagrams[p].iter().enumerate() {
                tick.tick().await;
                let (last, rest) = frame.split_last().unwrap();
                for d in rest {
                    socket.send_to(d, target).await.unwrap();
                }
                times
                    .slot(p, i as u32)
                    .unwrap()
                    .store(bench_now_us(), Ordering::Release);
                socket.send_to(last, target).await.unwrap();
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
}

struct RunResult {
    latencies: Latencies,
    received: u64,
    udp_bytes_per_frame: f64,
}

/// Kagura: VMC in, QUIC out to `subscribers`.
fn run_kagura(clients: &Runtime, subscribers: usize, frames: u32) -> RunResult {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The tests' configuration (loopback, ephemeral ports, no filtering), with 4 VMC ports.
    let mut config = kagura_tests::test_config("bench");
    config.vmc = (0..PERFORMERS)
        .map(|p| VmcSourceConfig {
            performer: Some(format!("p{p}")),
            ..config.vmc[0].clone()
        })
        .collect();
    // Senders stop at the end of each run; a performer whose source falls silent holds, then
    // eases to rest on the engine's timer. Those eased frames are not the sent ones: hold for
    // longer than a run so that only live frames are measured.
    config.merging.hold_ms = 3_600_000;
    let server: Server = server_rt.block_on(Server::start(config)).unwrap();
    let (quic, fingerprint, targets) = (
        server.quic_addr,
        server.fingerprint,
        server.vmc_addrs.clone(),
    );
    let datagrams = Arc::new(vmc_datagrams(frames));
    let times = SendTimes::new(frames);

    let result = clients.block_on(async {
        let mut subs = Vec::new();
        for _ in 0..subscribers {
            subs.push(Subscriber::connect(quic, fingerprint, Subscription::All, "bench").await.unwrap());
        }
        let receivers: Vec<_> = subs
            .into_iter()
            .map(|sub| {
                let times = times.clone();
                // Performer ids are the server's; the bench numbers its performers p0, p1, …
                let index_of: std::collections::HashMap<PerformerId, usize> = sub
                    .info()
                    .performers
                    .iter()
                    .filter_map(|p| Some((p.id, p.name.strip_prefix('p')?.parse().ok()?)))
                    .collect();
                tokio::spawn(async move {
                    let mut lat = Latencies::default();
                    let mut received = 0u64;
                    let deadline = tokio::time::sleep(Duration::from_millis(1_000 * frames as u64 / RATE_HZ + 500));
                    tokio::pin!(deadline);
                    loop {
                        tokio::select! {
                            d = sub.next_datagram() => {
                                let now = bench_now_us();
                                let Ok(d) = d else { break };
                                let Ok(frame) = wire::decode(&d) else { continue };
                                received += 1;
                                if let Some(l) = pose_index(&frame).zip(index_of.get(&frame.performer)).and_then(|(i, p)| times.latency_us(*p, i, now)) {
                                    lat.0.push(l);
                                }
                            }
                            _ = &mut deadline => break,
                        }
                    }
                    (lat, received, sub.connection_stats().udp_rx.bytes)
                })
            })
            .collect();
        send_all(datagrams, targets, times.clone()).await;
        let mut all = RunResult { latencies: Latencies::default(), received: 0, udp_bytes_per_frame: 0.0 };
        let mut udp_bytes = 0u64;
        for r in receivers {
            let (lat, received, bytes) = r.await.unwrap();
            all.latencies.0.extend(lat.0);
            all.received += received;
            udp_bytes += bytes;
        }
        all.udp_bytes_per_frame = udp_bytes as f64 / all.received.max(1) as f64;
        all
    });
    drop(server);
    server_rt.shutdown_timeout(Duration::from_secs(1));
    result
}

/// What the bare forwarder relays.
#[derive(Clone, Copy, PartialEq)]
enum Relayed {
    /// One datagram per frame: the Kagura-encoded frame (the same bytes Kagura fans out).
    KaguraFrame,
    /// The VMC datagrams as the tracking app sent them; each subscriber parses VMC itself, as a
    /// VMC receiver (VSeeFace, Warudo, …) behind a VMC relay would.
    Vmc,
}

/// Baseline: a bare UDP forwarder, one socket per performer, relaying every datagram it receives
/// to every subscriber with `send_to`; no state, no crypto.
fn run_forwarder(
    clients: &Runtime,
    subscribers: usize,
    frames: u32,
    relayed: Relayed,
) -> RunResult {
    let relay_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let times = SendTimes::new(frames);
    let datagrams: Vec<Vec<Vec<Vec<u8>>>> = match relayed {
        Relayed::Vmc => vmc_datagrams(frames),
        Relayed::KaguraFrame => (0..PERFORMERS)
            .map(|p| {
                (0..frames)
                    .map(|i| {
                        let mut bytes = Vec::new();
                        wire::encode(&bench_pose(PerformerId(p as u16), i), &mut bytes);
                        vec![bytes]
                    })
                    .collect()
            })
            .collect(),
    };

    let relays: Vec<UdpSocket> = (0..PERFORMERS)
        .map(|_| relay_rt.block_on(UdpSocket::bind((LOCALHOST, 0))).unwrap())
        .collect();
    let relay_addrs: Vec<SocketAddr> = relays.iter().map(|r| r.local_addr().unwrap()).collect();
    let result = clients.block_on(async {
        let mut sockets = Vec::new();
        for _ in 0..subscribers {
            sockets.push(UdpSocket::bind((LOCALHOST, 0)).await.unwrap());
        }
        let targets: Arc<Vec<SocketAddr>> = Arc::new(sockets.iter().map(|s| s.local_addr().unwrap()).collect());
        for relay in relays {
            let targets = targets.clone();
            relay_rt.spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let Ok((len, _)) = relay.recv_from(&mut buf).await else { continue };
                    for t in targets.iter() {
                        let _ = relay.send_to(&buf[..len], t).await;
                    }
                }
            });
        }
        let receivers: Vec<_> = sockets
            .into_iter()
            .map(|socket| {
                let (times, relay_addrs) = (times.clone(), relay_addrs.clone());
                tokio::spawn(async move {
                    let mut lat = Latencies::default();
                    let mut received = 0u64;
                    let mut buf = vec![0u8; 65536];
                    let mut decoders: Vec<VmcDecoder> = (0..PERFORMERS).map(|p| VmcDecoder::new(PerformerId(p as u16))).collect();
                    let mut frames_out = Vec::new();
                    let deadline = tokio::time::sleep(Duration::from_millis(1_000 * frames as u64 / RATE_HZ + 500));
                    tokio::pin!(deadline);
                    loop {
                        tokio::select! {
                            r = socket.recv_from(&mut buf) => {
                                let now = bench_now_us();
                                let Ok((len, from)) = r else { continue };
                                match relayed {
                                    Relayed::KaguraFrame => frames_out.extend(wire::decode(&buf[..len])),
                                    Relayed::Vmc => {
                                        let Some(p) = relay_addrs.iter().position(|a| *a == from) else { continue };
                                        decoders[p].handle_datagram(&buf[..len], now, &mut frames_out);
                                    }
                                }
                                for frame in frames_out.drain(..) {
                                    received += 1;
                                    // The forwarders carry the bench's own ids: the index.
                                    if let Some(l) = pose_index(&frame).and_then(|i| times.latency_us(frame.performer.0 as usize, i, now)) {
                                        lat.0.push(l);
                                    }
                                }
                            }
                            _ = &mut deadline => break,
                        }
                    }
                    (lat, received)
                })
            })
            .collect();
        send_all(Arc::new(datagrams), relay_addrs.clone(), times.clone()).await;
        let mut all = RunResult { latencies: Latencies::default(), received: 0, udp_bytes_per_frame: 0.0 };
        for r in receivers {
            let (lat, received) = r.await.unwrap();
            all.latencies.0.extend(lat.0);
            all.received += received;
        }
        all
    });
    relay_rt.shutdown_timeout(Duration::from_secs(1));
    result
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 1 } else { 4 };
    let frames = WARMUP_FRAMES + RATE_HZ as u32 * seconds;
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();

    println!(
        "e2e VMC → QUIC, loopback, {PERFORMERS} performers × {RATE_HZ} Hz, {seconds} s per run, full frames (55 bones + 70 expressions)"
    );
    println!(
        "latency = the VMC frame's last datagram sent → frame decoded by the subscriber; baseline = bare UDP forwarder, same run"
    );
    for subscribers in [1usize, 16, 64] {
        let measured = (PERFORMERS as u64) * ((frames - WARMUP_FRAMES) as u64) * subscribers as u64;
        let mut kagura = run_kagura(&clients, subscribers, frames);
        let mut relay = run_forwarder(&clients, subscribers, frames, Relayed::KaguraFrame);
        let mut vmc_relay = run_forwarder(&clients, subscribers, frames, Relayed::Vmc);
        let p50 = kagura.latencies.quantile_ms(0.5);
        let delivered = |r: &RunResult| 100.0 * r.latencies.0.len() as f64 / measured as f64;
        for (name, run) in [
            ("kagura", &mut kagura),
            ("forwarder (frame)", &mut relay),
            ("forwarder (VMC)", &mut vmc_relay),
        ] {
            println!(
                "{subscribers:>2} subscribers  {name:<18} {}  delivered {:.1}%",
                run.latencies.summary(),
                delivered(run)
            );
        }
        println!(
            "{subscribers:>2} subscribers  p50 kagura/forwarder(frame) {:.2}x  kagura/forwarder(VMC) {:.2}x  QUIC UDP bytes per frame received (incl. headers, acks) {:.0} B",
            p50 / relay.latencies.quantile_ms(0.5),
            p50 / vmc_relay.latencies.quantile_ms(0.5),
            kagura.udp_bytes_per_frame
        );
    }

    let pose = bench_pose(PerformerId(0), 100);
    let vmc = |p: &kagura_protocol::PoseFrame| {
        encode_vmc_frame(p, 0.0).iter().map(Vec::len).sum::<usize>()
    };
    let wire_len = |p: &kagura_protocol::PoseFrame| {
        let mut bytes = Vec::new();
        wire::encode(p, &mut bytes);
        bytes.len()
    };
    let mut arkit_only = pose.clone();
    for e in kagura_protocol::Expression::ALL
        .into_iter()
        .filter(|e| !e.is_arkit())
    {
        arkit_only.clear_expression(e);
    }
    for (what, p) in [
        ("55 bones + 52 ARKit", &arkit_only),
        ("55 bones + 52 ARKit + 18 VRM presets", &pose),
    ] {
        println!(
            "bytes per frame ({what}, root, hips): kagura {} B  vs  VMC {} B (OSC payloads, VMC app packetization)  = 1/{:.1}",
            wire_len(p),
            vmc(p),
            vmc(p) as f64 / wire_len(p) as f64
        );
    }
}
