//! Helpers for Kagura's end-to-end tests: a server on ephemeral loopback ports, a VMC sender that
//! sends what apps send, a minimal HTTP client, and poses to send.

pub mod browser;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use glam::{EulerRot, Quat, Vec3};
use kagura_capture::vmc::encode_vmc_frame;
use kagura_client::Subscriber;
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame, RootTransform};
use kagura_server::Server;
use kagura_server::config::{Config, VmcSourceConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Fails the test at once, saying why, when the server was built without its OBS page (no
/// Node.js at build time, or `KAGURA_SKIP_WEB=1`): `/obs` is then a placeholder.
pub fn require_obs_page() {
    if let Some(reason) = kagura_server::http::web_page_not_built() {
        panic!(
            "this test needs the OBS page, which was not built ({reason}): install Node.js and \
             npm, unset KAGURA_SKIP_WEB and run the tests again"
        );
    }
}

/// A fresh data directory for one test server.
pub fn temp_data_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("kagura-test-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A configuration with every port ephemeral on 127.0.0.1 and one VMC port for "main".
pub fn test_config(tag: &str) -> Config {
    Config {
        bind: LOCALHOST,
        quic_port: 0,
        http_port: 0,
        data_dir: Some(temp_data_dir(tag)),
        vmc: vec![VmcSourceConfig {
            port: 0,
            performer: Some("main".into()),
            senders: vec![],
            filter: false,
            parts: None,
            priority: 0,
            trackers: Default::default(),
        }],
        ..Config::default()
    }
}

pub async fn start_server(config: Config) -> anyhow::Result<Server> {
    Server::start(config).await
}

pub async fn subscribe(server: &Server, subscription: Subscription) -> anyhow::Result<Subscriber> {
    let addr = SocketAddr::new(LOCALHOST, server.quic_addr.port());
    Subscriber::connect(addr, server.fingerprint, subscription, "test").await
}

/// A full test pose: all 55 bones, root, hips, every VRM 0.x preset and all 52 ARKit shapes.
/// `index` is recoverable from the root's z position (1 cm per index) and varies everything.
pub fn test_pose(index: u32) -> PoseFrame {
    let t = index as f32 * 0.037;
    let mut f = PoseFrame::new(PerformerId(0));
    f.root = Some(RootTransform {
        position: Vec3::new(0.5, 0.0, index as f32 * 0.01),
        rotation: Quat::from_rotation_y(0.25),
    });
    f.hips_position = Some(Vec3::new(0.05 * t.sin(), 0.93, 0.02));
    for (i, bone) in HumanoidBone::ALL.into_iter().enumerate() {
        let k = i as f32;
        f.set_bone(
            bone,
            Quat::from_euler(
                EulerRot::YXZ,
                (t + k).sin() * 0.8,
                (0.7 * t + k).cos() * 0.5,
                0.3 * (t * k).sin(),
            ),
        );
    }
    for (i, expression) in Expression::ALL.into_iter().enumerate() {
        // VMC carries VRM 0.x presets plus ARKit names; "surprised" has no VRM 0.x name but
        // travels under its VRM 1.0 name.
        f.set_expression(expression, 0.5 + 0.5 * (t + i as f32).sin());
    }
    f
}

/// The index [`test_pose`] encoded in a received frame.
pub fn pose_index(frame: &PoseFrame) -> Option<u32> {
    frame.root.map(|r| (r.position.z / 0.01).round() as u32)
}

/// Sends VMC from its own UDP socket, the way the VMC app packetizes a frame.
pub struct VmcTestSender {
    pub socket: UdpSocket,
    pub target: SocketAddr,
}

impl VmcTestSender {
    pub async fn new(from: IpAddr, target: SocketAddr) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind((from, 0))
            .await
            .context("binding the test sender")?;
        Ok(VmcTestSender {
            socket,
            target: SocketAddr::new(LOCALHOST, target.port()),
        })
    }

    /// Sends one frame as bone bundles, root bundle, blendshape bundle + Apply.
    pub async fn send_frame(&self, frame: &PoseFrame, sender_time_s: f32) -> anyhow::Result<()> {
        for datagram in encode_vmc_frame(frame, sender_time_s) {
            self.send_raw(&datagram).await?;
        }
        Ok(())
    }

    pub async fn send_raw(&self, bytes: &[u8]) -> anyhow::Result<()> {
        self.socket.send_to(bytes, self.target).await?;
        Ok(())
    }
}

impl VmcTestSender {
    /// Sends [`test_pose`] `1..=frames` at `hz`, paced by a timer (pacing, not synchronisation).
    pub async fn send_poses(&self, frames: u32, hz: u64) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(std::time::Duration::from_micros(1_000_000 / hz));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for i in 1..=frames {
            tick.tick().await;
            self.send_frame(&test_pose(i), i as f32 / hz as f32).await?;
        }
        Ok(())
    }
}

/// Sends [`test_pose`] 0 until `subscriber` has it whole. A new sender's frames are published
/// once the server has learned its cycle (two frames): until then nothing comes out.
pub async fn warm_up(sender: &VmcTestSender, subscriber: &mut Subscriber) -> anyhow::Result<()> {
    send_until_seen(sender, subscriber, 0).await.map(|_| ())
}

/// Sends [`test_pose`] `index` every 10 ms (a sender's pace, not synchronisation) until
/// `subscriber` receives it whole; returns that frame.
pub async fn send_until_seen(
    sender: &VmcTestSender,
    subscriber: &mut Subscriber,
    index: u32,
) -> anyhow::Result<PoseFrame> {
    send_pose_until_seen(sender, subscriber, &test_pose(index)).await
}

/// Sends `pose` (whose root carries its index, see [`pose_index`]) every 10 ms until
/// `subscriber` receives it with as many bones as were sent; returns that frame. Frames queued
/// before it are read and passed over.
pub async fn send_pose_until_seen(
    sender: &VmcTestSender,
    subscriber: &mut Subscriber,
    pose: &PoseFrame,
) -> anyhow::Result<PoseFrame> {
    let index = pose_index(pose).context("the pose's root carries no index")?;
    let bones = pose.bones().count();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut sent = 0u32;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    sender.send_frame(pose, sent as f32 / 100.0).await?;
                    sent += 1;
                }
                frame = subscriber.next_frame() => {
                    let frame = frame?;
                    if pose_index(&frame) == Some(index) && frame.bones().count() == bones {
                        return anyhow::Ok(frame);
                    }
                }
            }
        }
    })
    .await
    .with_context(|| format!("pose {index} never arrived whole"))?
}

/// `GET path` over HTTP/1.1; returns the status code and the body as text.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let (code, body) = http_get_raw(addr, path).await?;
    Ok((code, String::from_utf8_lossy(&body).into_owned()))
}

/// `GET path`, expecting 200; returns the body bytes.
pub async fn http_get_bytes(addr: SocketAddr, path: &str) -> anyhow::Result<Vec<u8>> {
    let (code, body) = http_get_raw(addr, path).await?;
    anyhow::ensure!(code == 200, "GET {path} returned {code}");
    Ok(body)
}

async fn http_get_raw(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    http_request(addr, "GET", path, None).await
}

/// One HTTP/1.1 request (`body`: a JSON document); returns the status code and body bytes.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let addr = SocketAddr::new(LOCALHOST, addr.port());
    let mut stream = TcpStream::connect(addr).await?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP header end")?;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no HTTP status code")?;
    Ok((code, response[end + 4..].to_vec()))
}

pub async fn status_json(server: &Server) -> anyhow::Result<serde_json::Value> {
    let (code, body) = http_get(server.http_addr, "/api/status").await?;
    anyhow::ensure!(code == 200, "status returned {code}");
    Ok(serde_json::from_str(&body)?)
}
