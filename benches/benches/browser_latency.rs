//! Browser latency and server cost: VMC packet leaving the sender → pose arriving in the OBS page
//! → pose applied to the avatar, over WebRTC and over the WebSocket fallback, printed beside each
//! other; then the server's CPU time per second with 16 browser peers at 60 Hz, beside the same
//! stream with no peers.
//!
//! The page reports arrival and apply times on the server's clock, using an offset it measures
//! over HTTP (shortest of 8 round trips). Frames are matched to their send time through a QUIC
//! subscriber that maps each frame's seq to the pose index carried in its root position.
//! Needs Node.js, clients/web's npm packages and Debian's chromium, like the browser tests.
//!
//! Run: `cargo bench -p kagura-benches --bench browser_latency` (`-- --quick` for short runs).

use std::collections::HashMap;
use std::time::Duration;

use kagura_benches::{Latencies, bench_pose, pose_index};
use kagura_capture::vmc::encode_vmc_frame;
use kagura_client::Subscriber;
use kagura_protocol::PerformerId;
use kagura_protocol::control::Subscription;
use kagura_server::Server;
use kagura_server::clock::now_us;
use kagura_tests::LOCALHOST;
use kagura_tests::browser::BrowserPage;
use tokio::net::UdpSocket;

const RATE_HZ: u64 = 60;
const SERVER_THREAD: &str = "kagura-srv";

/// Sends `frames` poses at 60 Hz; returns each index's send time (µs, server clock) and the
/// seq → index map seen by a QUIC subscriber.
async fn stream(server: &Server, frames: u32) -> (HashMap<u32, u64>, HashMap<u32, u32>) {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let target = std::net::SocketAddr::new(LOCALHOST, server.vmc_addrs[0].port());
    let quic = std::net::SocketAddr::new(LOCALHOST, server.quic_addr.port());
    let mut subscriber = Subscriber::connect(quic, server.fingerprint, Subscription::All, "bench")
        .await
        .unwrap();
    let receiving = async {
        let mut seq_to_index = HashMap::new();
        let deadline =
            tokio::time::sleep(Duration::from_millis(1000 * frames as u64 / RATE_HZ + 500));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                frame = subscriber.next_frame() => {
                    let frame = frame.unwrap();
                    if let Some(index) = pose_index(&frame) {
                        seq_to_index.insert(frame.seq, index);
                    }
                }
                _ = &mut deadline => return seq_to_index,
            }
        }
    };
    let sending = async {
        let mut sent = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_HZ));
        for i in 0..frames {
            tick.tick().await;
            let datagrams =
                encode_vmc_frame(&bench_pose(PerformerId(0), i), i as f32 / RATE_HZ as f32);
            let (last, rest) = datagrams.split_last().unwrap();
            for d in rest {
                socket.send_to(d, target).await.unwrap();
            }
            sent.insert(i, now_us());
            socket.send_to(last, target).await.unwrap();
        }
        sent
    };
    let (seq_to_index, sent) = tokio::join!(receiving, sending);
    (sent, seq_to_index)
}

/// CPU time of the server's threads so far, seconds (Linux: /proc/self/task/*/stat).
fn server_cpu_seconds() -> f64 {
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(SERVER_THREAD) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // After the name: state is field 3, utime field 14, stime field 15 (1-based).
        ticks += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    ticks as f64 / ticks_per_second
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 3 } else { 10 };
    let frames = RATE_HZ as u32 * seconds;
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREAD)
        .enable_all()
        .build()
        .unwrap();
    let driver = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut config = kagura_tests::test_config("bench-browser");
    config.vmc[0].performer = Some("bench".into());
    let server = server_rt.block_on(Server::start(config)).unwrap();
    let url = |transport: &str| {
        format!(
            "http://127.0.0.1:{}/obs?performer=bench&transport={transport}",
            server.http_addr.port()
        )
    };
    let screenshot = std::env::temp_dir().join("kagura-bench-page.png");

    println!(
        "VMC send → OBS page, loopback, {RATE_HZ} Hz, {seconds} s per transport, full frames; times on the server clock"
    );
    let warmup = RATE_HZ as u32; // the first second: connection and JIT warm-up
    for transport in ["webrtc", "websocket"] {
        let mut page = BrowserPage::open(&url(transport), &screenshot, &["--viewport", "320x240"]);
        let ready = page.next_answer();
        assert_eq!(ready["transport"], transport, "{ready}");
        let (sent, seq_to_index) = driver.block_on(stream(&server, frames));
        let answer = page.ask("timings");
        let (mut arrival, mut applied) = (Latencies::default(), Latencies::default());
        for t in answer["timings"].as_array().unwrap() {
            let seq = t["seq"].as_u64().unwrap() as u32;
            let Some(index) = seq_to_index.get(&seq).filter(|i| **i >= warmup) else {
                continue;
            };
            let sent_us = sent[index] as f64;
            arrival
                .0
                .push((t["arrivalUs"].as_f64().unwrap() - sent_us).max(0.0) as u64);
            if let Some(applied_us) = t["appliedUs"].as_f64() {
                applied.0.push((applied_us - sent_us).max(0.0) as u64);
            }
        }
        let clock = &answer["clock"];
        println!("{transport:<9} to arrival  {}", arrival.summary());
        println!(
            "{transport:<9} to applied  {}   (clock sync round trip {:.3} ms)",
            applied.summary(),
            clock["rttMs"].as_f64().unwrap_or(f64::NAN)
        );
    }

    let cpu_per_second = |pages: Option<BrowserPage>| {
        let before = server_cpu_seconds();
        let start = std::time::Instant::now();
        driver.block_on(stream(&server, frames));
        let per_second = (server_cpu_seconds() - before) / start.elapsed().as_secs_f64();
        drop(pages);
        per_second
    };
    let idle = cpu_per_second(None);
    let mut peers = BrowserPage::open(
        &url("webrtc"),
        &screenshot,
        &["--pages", "16", "--viewport", "160x120"],
    );
    let ready = peers.next_answer();
    assert_eq!(ready["transport"], "webrtc");
    let status = driver.block_on(kagura_tests::status_json(&server)).unwrap();
    let webrtc_peers = status["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["transport"] == "webrtc")
        .count();
    let loaded = cpu_per_second(Some(peers));
    println!(
        "server CPU: {:.1} ms/s with {webrtc_peers} WebRTC peers at {RATE_HZ} Hz  vs  {:.1} ms/s with none (same VMC stream)  → {:.2} ms/s per peer",
        loaded * 1000.0,
        idle * 1000.0,
        (loaded - idle) * 1000.0 / webrtc_peers.max(1) as f64
    );
}
