//! End-to-end added latency for a SlimeVR set: 10 trackers on 5 boards (2 sensors each) sending
//! at 100 Hz over real UDP to Kagura acting as their server, through the body solver, to a QUIC
//! subscriber on loopback — beside the VMC path (a full VMC frame at 100 Hz into a VMC source)
//! in the same run.
//!
//! Latency: from just before the tick's last board datagram is sent (the frame is whole only
//! then) to the subscriber decoding a frame that shows that tick. The tick is written into the
//! hips tracker's heading (1° per tick, modulo 360) and read back from the hips bone.
//!
//! Run: `cargo bench -p kagura-benches --bench e2e_slimevr_to_quic`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use glam::Quat;
use kagura_benches::{Latencies, bench_now_us, bench_pose, pose_index};
use kagura_capture::SourceConfig;
use kagura_capture::slimevr::SlimeVrConfig;
use kagura_capture::slimevr::packet::tracker;
use kagura_capture::vmc::encode_vmc_frame;
use kagura_protocol::control::Subscription;
use kagura_protocol::{HumanoidBone, PerformerId};
use kagura_tests::{LOCALHOST, start_server, status_json, subscribe, test_config};
use tokio::net::UdpSocket;

const TICKS: u32 = 600;
const TICK: Duration = Duration::from_millis(10);
const WARMUP: u32 = 50;
const BONES: [&str; 10] = [
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

fn mac(board: usize) -> [u8; 6] {
    [0x3c, 0x71, 0xbf, 0x00, 0x00, board as u8]
}

/// The world orientation each tracker reports at `tick`, in SlimeVR's Z-up fusion frame: the
/// hips turns 1° per tick about the vertical (Z there); the others stand still.
fn orientation(tracker: usize, tick: u32) -> Quat {
    if tracker == 0 {
        Quat::from_rotation_z(((tick % 360) as f32).to_radians())
    } else {
        Quat::IDENTITY
    }
}

/// The tick a received hips rotation shows (its heading in whole degrees, modulo 360).
fn tick_of(hips: Quat) -> u32 {
    let (yaw, _, _) = hips.to_euler(glam::EulerRot::YXZ);
    (yaw.to_degrees().round() as i32).rem_euclid(360) as u32
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut config = test_config("e2e-slimevr");
        config.filters.enabled = false;
        let trackers: Vec<String> = BONES
            .iter()
            .enumerate()
            .map(|(i, bone)| {
                let mac = mac(i / 2).map(|b| format!("{b:02X}")).join(":");
                format!("\"{mac}/{}\" = \"{bone}\"", i % 2)
            })
            .collect();
        let slimevr: SlimeVrConfig = toml::from_str(&format!(
            "performer = \"suit\"\nport = 0\nrate_hz = 100\nfilter = false\ntrackers = {{ {} }}",
            trackers.join(", ")
        ))?;
        config.source.push(SourceConfig::Slimevr(slimevr));
        let server = start_server(config).await?;
        let status = status_json(&server).await?;
        let port: SocketAddr = status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "slimevr")
            .and_then(|s| s["address"].as_str())
            .unwrap()
            .parse()?;
        let target = SocketAddr::new(LOCALHOST, port.port());

        let mut suit = slimevr_latency(&server, target).await?;
        let mut vmc = vmc_latency(&server).await?;
        println!("e2e_slimevr_to_quic: 100 Hz, {TICKS} ticks, first {WARMUP} left out");
        println!(
            "  SlimeVR, 10 trackers (5 boards) -> QUIC: {}",
            suit.summary()
        );
        println!(
            "  VMC, one full frame (6 datagrams) -> QUIC: {}",
            vmc.summary()
        );
        println!(
            "  ratio SlimeVR / VMC, p50: {:.2}",
            suit.quantile_ms(0.5) / vmc.quantile_ms(0.5)
        );
        Ok(())
    })
}

/// Five boards shake hands, then send both their sensors every tick; the subscriber times each
/// tick's frame.
async fn slimevr_latency(
    server: &kagura_server::Server,
    target: SocketAddr,
) -> anyhow::Result<Latencies> {
    let mut boards = Vec::new();
    for b in 0..BONES.len() / 2 {
        let socket = UdpSocket::bind((LOCALHOST, 0)).await?;
        socket
            .send_to(&tracker::handshake(mac(b), "bench"), target)
            .await?;
        let mut reply = [0u8; 128];
        tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut reply)).await??;
        boards.push(socket);
    }
    let mut subscriber = subscribe(server, Subscription::Named(vec!["suit".into()])).await?;
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..TICKS).map(|_| AtomicU64::new(0)).collect());
    let times = sent.clone();
    let sender = tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        for tick in 0..TICKS {
            interval.tick().await;
            for (b, socket) in boards.iter().enumerate() {
                let mut body = Vec::new();
                for sensor in 0..2u8 {
                    let q = orientation(b * 2 + sensor as usize, tick);
                    let packet = tracker::rotation(0, sensor, q.to_array());
                    // Inside a bundle a packet has no number: its type, then its payload.
                    let inner = [&packet[..4], &packet[12..]].concat();
                    body.extend_from_slice(&(inner.len() as u16).to_be_bytes());
                    body.extend_from_slice(&inner);
                }
                if b == boards.len() - 1 {
                    times[tick as usize].store(bench_now_us(), Ordering::Release);
                }
                let number = 1 + u64::from(tick);
                socket
                    .send_to(&tracker::packet(100, number, &body), target)
                    .await
                    .unwrap();
            }
        }
    });
    let mut latencies = Latencies::default();
    let mut last_tick = None;
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let frame = subscriber.next_frame().await.unwrap();
            let now = bench_now_us();
            let Some(hips) = frame.bone(HumanoidBone::Hips) else {
                continue;
            };
            let shown = tick_of(hips);
            if last_tick == Some(shown) {
                continue;
            }
            last_tick = Some(shown);
            // The newest tick sent that shows this heading.
            let candidates = (0..TICKS).rev().filter(|t| t % 360 == shown);
            for t in candidates {
                let at = sent[t as usize].load(Ordering::Acquire);
                if at != 0 && at <= now {
                    if t >= WARMUP {
                        latencies.0.push(now - at);
                    }
                    if t == TICKS - 1 {
                        return;
                    }
                    break;
                }
            }
        }
    })
    .await;
    sender.await?;
    anyhow::ensure!(
        latencies.0.len() > (TICKS - WARMUP) as usize / 2,
        "too few frames: {}",
        latencies.0.len()
    );
    Ok(latencies)
}

/// A VMC sender at 100 Hz into the server's VMC source, timed the same way.
async fn vmc_latency(server: &kagura_server::Server) -> anyhow::Result<Latencies> {
    let mut subscriber = subscribe(server, Subscription::Named(vec!["main".into()])).await?;
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..TICKS).map(|_| AtomicU64::new(0)).collect());
    let times = sent.clone();
    let socket = UdpSocket::bind((LOCALHOST, 0)).await?;
    let target = server.vmc_addrs[0];
    let task = tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        for tick in 0..TICKS {
            interval.tick().await;
            let datagrams =
                encode_vmc_frame(&bench_pose(PerformerId(0), tick), tick as f32 / 100.0);
            let last = datagrams.len() - 1;
            for (i, d) in datagrams.iter().enumerate() {
                if i == last {
                    times[tick as usize].store(bench_now_us(), Ordering::Release);
                }
                socket.send_to(d, target).await.unwrap();
            }
        }
    });
    let mut latencies = Latencies::default();
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let frame = subscriber.next_frame().await.unwrap();
            let now = bench_now_us();
            let Some(index) = pose_index(&frame) else {
                continue;
            };
            if index >= TICKS {
                continue;
            }
            let at = sent[index as usize].load(Ordering::Acquire);
            if index >= WARMUP && at != 0 {
                latencies.0.push(now.saturating_sub(at));
            }
            if index == TICKS - 1 {
                return;
            }
        }
    })
    .await;
    task.await?;
    Ok(latencies)
}
