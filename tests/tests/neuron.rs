//! Perception Neuron through Axis' BVH broadcasting, end to end on loopback: a fake Axis is a
//! real TCP server that Kagura connects to and that streams string frames (and later drops the
//! connection and goes away, and Kagura reconnects when it is back), and a fake Axis sending
//! binary frames over UDP. A QUIC subscriber checks the retargeted pose.
//!
//! Expected poses are worked out by hand from the BVH convention (right-handed, +Y up, the
//! performer facing +Z with their left on +X, YXZ Euler degrees, centimetres), not by the code
//! under test. Tolerance: 0.002 in a unit direction (about 0.1°), well above the wire's
//! 0.0096° rotation quantisation.

use std::net::SocketAddr;
use std::time::Duration;

use glam::Vec3;
use kagura_capture::SourceConfig;
use kagura_capture::neuron::skeleton::BroadcastSkeleton;
use kagura_capture::neuron::{NeuronConfig, NeuronMode};
use kagura_client::Subscriber;
use kagura_protocol::control::Subscription;
use kagura_protocol::{HumanoidBone, PoseFrame};
use kagura_server::Server;
use kagura_tests::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);
const TOLERANCE: f32 = 0.002;

/// Joint rotations (Y, X, Z degrees) of one test pose; other joints at rest.
struct Motion {
    hips_yaw: f32,
    left_arm_yaw: f32,
    right_forearm_roll: f32,
}

const POSE_A: Motion = Motion {
    hips_yaw: 30.0,
    left_arm_yaw: 30.0,
    right_forearm_roll: 40.0,
};
const POSE_B: Motion = Motion {
    hips_yaw: -20.0,
    left_arm_yaw: -45.0,
    right_forearm_roll: 10.0,
};
const HIPS_CM: [f32; 3] = [0.0, 93.0, 0.0];

/// A frame's values laid out as Axis sends them: with displacement every joint's position then
/// its Y, X, Z rotation; without, only the root's position. With reference, 6 values first.
fn values(motion: &Motion, displacement: bool, reference: Option<[f32; 6]>) -> Vec<f32> {
    let broadcast = BroadcastSkeleton::axis_neuron();
    let mut v: Vec<f32> = reference.map(Vec::from).unwrap_or_default();
    for (i, joint) in broadcast.skeleton.joints.iter().enumerate() {
        if i == 0 {
            v.extend(HIPS_CM);
        } else if displacement {
            v.extend(joint.offset.to_array());
        }
        v.extend(match joint.name.as_str() {
            "Hips" => [motion.hips_yaw, 0.0, 0.0],
            "LeftArm" => [motion.left_arm_yaw, 0.0, 0.0],
            "RightForeArm" => [0.0, 0.0, motion.right_forearm_roll],
            _ => [0.0; 3],
        });
    }
    v
}

/// String mode as `bvhsend` writes it, C string terminators included.
fn text_frame(values: &[f32]) -> Vec<u8> {
    let numbers: Vec<String> = values.iter().map(f32::to_string).collect();
    format!("0 Avatar01 \0{} ||\r\n\0", numbers.join(" ")).into_bytes()
}

/// Binary mode: the 64-byte header, then the values as f32 LE.
fn binary_frame(values: &[f32], frame_index: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(0xDDFFu16.to_le_bytes());
    b.extend([0, 0, 1, 1]);
    b.extend((values.len() as u16).to_le_bytes());
    b.extend([0u8, 1]);
    b.extend(0u32.to_le_bytes());
    let mut name = [0u8; 32];
    name[..8].copy_from_slice(b"Avatar01");
    b.extend(name);
    b.extend(frame_index.to_le_bytes());
    b.extend([0u8; 12]);
    b.extend(0xEEFFu16.to_le_bytes());
    for v in values {
        b.extend(v.to_le_bytes());
    }
    b
}

/// Whether `frame` shows `motion`: the hips face (sin y, 0, cos y) (+Y turns +Z toward +X,
/// the avatar's left); the left upper arm, +X at rest, points (cos y, 0, −sin y); the right
/// forearm, −X at rest, turned about +Z points (−cos z, −sin z, 0) (down for positive z).
fn shows(frame: &PoseFrame, motion: &Motion) -> bool {
    let near = |bone: HumanoidBone, axis: Vec3, want: Vec3| {
        frame
            .bone(bone)
            .is_some_and(|q| (q * axis - want).length() < TOLERANCE)
    };
    let (h, a, f) = (
        motion.hips_yaw.to_radians(),
        motion.left_arm_yaw.to_radians(),
        motion.right_forearm_roll.to_radians(),
    );
    near(
        HumanoidBone::Hips,
        Vec3::Z,
        Vec3::new(h.sin(), 0.0, h.cos()),
    ) && near(
        HumanoidBone::LeftUpperArm,
        Vec3::X,
        Vec3::new(a.cos(), 0.0, -a.sin()),
    ) && near(
        HumanoidBone::RightLowerArm,
        Vec3::NEG_X,
        Vec3::new(-f.cos(), -f.sin(), 0.0),
    ) && near(HumanoidBone::UpperChest, Vec3::Y, Vec3::Y)
}

async fn server_with(tag: &str, neuron: NeuronConfig) -> (Server, Subscriber) {
    let mut config = test_config(tag);
    config.source.push(SourceConfig::Neuron(neuron));
    let server = start_server(config).await.unwrap();
    let subscriber = subscribe(&server, Subscription::Named(vec!["suit".into()]))
        .await
        .unwrap();
    (server, subscriber)
}

fn neuron_config(mode: NeuronMode) -> NeuronConfig {
    NeuronConfig {
        mode,
        address: None,
        port: None,
        skeleton: "axis_neuron".into(),
        displacement: None,
        reference: None,
        avatar: 0,
        performer: "suit".into(),
        filter: false,
        parts: None,
        priority: 0,
    }
}

/// The neuron source's entry in `/api/status`.
async fn neuron_status(server: &Server) -> serde_json::Value {
    let status = status_json(server).await.unwrap();
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "neuron")
        .unwrap_or_else(|| panic!("no neuron source in {status}"))
        .clone()
}

/// Writes `frame` every 10 ms (Axis' pace, not synchronisation) until `subscriber` receives a
/// frame that shows `motion`; returns it.
async fn stream_until_seen(
    conn: &mut TcpStream,
    frame: &[u8],
    subscriber: &mut Subscriber,
    motion: &Motion,
) -> PoseFrame {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    timeout(DEADLINE, async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    // Two writes per frame: the reads Kagura sees split and join anywhere.
                    let (a, b) = frame.split_at(frame.len() / 3);
                    conn.write_all(a).await.unwrap();
                    conn.write_all(b).await.unwrap();
                }
                received = subscriber.next_frame() => {
                    let received = received.unwrap();
                    if shows(&received, motion) {
                        return received;
                    }
                }
            }
        }
    })
    .await
    .expect("the suit's pose never arrived")
}

/// A listener on `addr` that can be rebound at once after it is closed.
fn listen(addr: SocketAddr) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(addr).unwrap();
    socket.listen(8).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kagura_connects_to_axis_streams_the_suit_and_reconnects_when_axis_returns() {
    let listener = listen(SocketAddr::new(LOCALHOST, 0));
    let axis = listener.local_addr().unwrap();
    let mut config = neuron_config(NeuronMode::Tcp);
    config.address = Some(axis.to_string());
    config.displacement = Some(true);
    let (server, mut subscriber) = server_with("neuron-tcp", config).await;

    let (mut conn, _) = timeout(DEADLINE, listener.accept())
        .await
        .expect("Kagura never connected to Axis")
        .unwrap();
    let frame = text_frame(&values(&POSE_A, true, None));
    let seen = stream_until_seen(&mut conn, &frame, &mut subscriber, &POSE_A).await;
    let hips = seen.hips_position.expect("hips position");
    assert!(hips.x.abs() < 1e-4 && hips.y > 0.5, "{hips}");

    let status = neuron_status(&server).await;
    assert_eq!(status["connection"]["state"], "connected", "{status}");
    assert_eq!(status["connection"]["connections"], 1, "{status}");
    assert_eq!(status["errors"], 0, "{status}");
    let counters = &status["streams"][0]["counters"];
    assert!(counters["frames"].as_u64().unwrap() >= 1, "{status}");
    assert!(
        counters["bytes"].as_u64().unwrap() >= frame.len() as u64,
        "{status}"
    );
    assert_eq!(status["streams"][0]["sender"]["avatar_name"], "Avatar01");

    // Axis goes away: the connection drops and new ones are refused.
    drop(listener);
    drop(conn);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let status = timeout(DEADLINE, async {
        loop {
            tick.tick().await;
            let status = neuron_status(&server).await;
            if status["connection"]["state"] == "disconnected"
                && status["streams"][0]["counters"]["disconnects"] == 1
            {
                return status;
            }
        }
    })
    .await
    .expect("Kagura never noticed Axis leaving");
    assert!(status["connection"]["last_error"].is_string(), "{status}");

    // Axis is back on the same port: Kagura reconnects by itself and the pose resumes.
    let listener = listen(axis);
    let (mut conn, _) = timeout(DEADLINE, listener.accept())
        .await
        .expect("Kagura never reconnected")
        .unwrap();
    let frame = text_frame(&values(&POSE_B, true, None));
    stream_until_seen(&mut conn, &frame, &mut subscriber, &POSE_B).await;
    let status = neuron_status(&server).await;
    assert_eq!(status["connection"]["state"], "connected", "{status}");
    assert_eq!(status["connection"]["connections"], 2, "{status}");
    assert_eq!(
        status["streams"][0]["counters"]["reconnects"], 1,
        "{status}"
    );
    assert_eq!(status["errors"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_over_udp_reach_a_subscriber_with_the_reference_as_root() {
    let mut config = neuron_config(NeuronMode::Udp);
    config.port = Some(0);
    let (server, mut subscriber) = server_with("neuron-udp", config).await;
    let status = neuron_status(&server).await;
    let port: SocketAddr = status["address"].as_str().unwrap().parse().unwrap();
    let kagura = SocketAddr::new(LOCALHOST, port.port());

    let axis = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    // Reference: 100 cm along +X, 50 along +Z, turned 90° about +Y.
    let reference = [100.0, 0.0, 50.0, 90.0, 0.0, 0.0];
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let frame = timeout(DEADLINE, async {
        let mut k = 0u32;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let datagram = binary_frame(&values(&POSE_A, false, Some(reference)), k);
                    axis.send_to(&datagram, kagura).await.unwrap();
                    k += 1;
                }
                received = subscriber.next_frame() => {
                    let received = received.unwrap();
                    if shows(&received, &POSE_A) {
                        return received;
                    }
                }
            }
        }
    })
    .await
    .expect("the suit's pose never arrived over UDP");

    let root = frame.root.expect("the reference node as root");
    let facing = root.rotation * Vec3::Z;
    assert!((facing - Vec3::X).length() < TOLERANCE, "{facing}");
    // Root and hips share the leg-length scale: their ratio is the sent one.
    let hips = frame.hips_position.unwrap();
    assert!(
        (root.position.x / hips.y - 100.0 / 93.0).abs() < 1e-3,
        "{root:?} {hips}"
    );
    assert!(
        (root.position.z / root.position.x - 0.5).abs() < 1e-3,
        "{root:?}"
    );

    let status = neuron_status(&server).await;
    assert!(status.get("connection").is_none(), "{status}");
    assert_eq!(status["errors"], 0, "{status}");
    let sender = &status["streams"][0]["sender"];
    assert_eq!(sender["version"], "1.1.0.0", "{status}");
    assert_eq!(sender["reference"], true, "{status}");
    assert_eq!(sender["displacement"], false, "{status}");
}
