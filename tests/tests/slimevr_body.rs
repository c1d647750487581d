//! A whole SlimeVR set, end to end: nine trackers on five boards, each strapped on at a random
//! angle, stream over real UDP to Kagura as their server; a full reset (`stand`) over the HTTP
//! API learns the straps; then a bent knee reaches a QUIC subscriber as the right bone rotations
//! (within 2°) from the body solver, with the feet on the floor. A board that reconnects from a
//! new port keeps its trackers, bones and calibration.

use std::f32::consts::FRAC_PI_2;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use glam::{Quat, Vec3};
use kagura_capture::SourceConfig;
use kagura_capture::slimevr::packet::tracker;
use kagura_protocol::control::Subscription;
use kagura_protocol::{HumanoidBone, PoseFrame, rotation_error_degrees};
use kagura_tests::*;
use serde_json::json;
use tokio::net::UdpSocket;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(30);
/// The set, two sensors per board, by bone.
const BONES: [HumanoidBone; 9] = [
    HumanoidBone::Hips,
    HumanoidBone::Chest,
    HumanoidBone::LeftUpperLeg,
    HumanoidBone::LeftLowerLeg,
    HumanoidBone::RightUpperLeg,
    HumanoidBone::RightLowerLeg,
    HumanoidBone::LeftFoot,
    HumanoidBone::RightFoot,
    HumanoidBone::Head,
];
const KNEE_BEND_DEG: f32 = 60.0;

fn mac(board: usize) -> [u8; 6] {
    [0x3C, 0x71, 0xBF, 0x00, 0x10, board as u8]
}

/// SlimeVR's documented frame, written out here: Z-up fusion frame, world = `Rx(−90°) · q`.
fn on_the_wire(internal: Quat) -> [f32; 4] {
    (Quat::from_rotation_x(FRAC_PI_2) * internal).to_array()
}

/// How each tracker is strapped on: a fixed pseudo-random rotation per tracker (up to ~70°).
fn strap(tracker: usize) -> Quat {
    let mut seed = 0x9E37_79B9u32.wrapping_mul(tracker as u32 + 1);
    let mut next = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    Quat::from_scaled_axis(Vec3::new(next(), next(), next()) * 2.4)
}

/// World orientation of each bone: standing straight (every bone at rest), or with the left
/// knee bent (the shin and foot turned back about +X).
fn bone_world(bone: HumanoidBone, knee_bent: bool) -> Quat {
    let bend = Quat::from_rotation_x(KNEE_BEND_DEG.to_radians());
    match bone {
        HumanoidBone::LeftLowerLeg | HumanoidBone::LeftFoot if knee_bent => bend,
        _ => Quat::IDENTITY,
    }
}

/// What tracker `i` reports for that pose: bone × strap⁻¹ (no heading drift in this test).
fn reading(i: usize, knee_bent: bool) -> [f32; 4] {
    on_the_wire(bone_world(BONES[i], knee_bent) * strap(i).inverse())
}

struct Board {
    socket: UdpSocket,
    number: u64,
}

async fn connect(board: usize, server: SocketAddr) -> Board {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let mut buf = [0u8; 256];
    timeout(DEADLINE, async {
        loop {
            socket
                .send_to(&tracker::handshake(mac(board), "test"), server)
                .await
                .unwrap();
            let got = timeout(Duration::from_millis(200), socket.recv_from(&mut buf)).await;
            if let Ok(Ok((len, _))) = got
                && buf[0] == 3
                && &buf[1..13.min(len)] == b"Hey OVR =D 5"
            {
                return;
            }
        }
    })
    .await
    .expect("the handshake is answered");
    Board { socket, number: 0 }
}

/// Streams every board's readings of the current pose every 10 ms (the trackers' pace).
fn stream(
    boards: Arc<tokio::sync::Mutex<Vec<Board>>>,
    server: SocketAddr,
    knee_bent: Arc<Mutex<bool>>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        loop {
            tick.tick().await;
            let bent = *knee_bent.lock().unwrap();
            let mut boards = boards.lock().await;
            for (b, board) in boards.iter_mut().enumerate() {
                for sensor in 0..2 {
                    let i = b * 2 + sensor;
                    if i < BONES.len() {
                        board.number += 1;
                        let packet =
                            tracker::rotation(board.number, sensor as u8, reading(i, bent));
                        let _ = board.socket.send_to(&packet, server).await;
                    }
                }
            }
        }
    });
}

async fn frame_where(
    subscriber: &mut kagura_client::Subscriber,
    wanted: impl Fn(&PoseFrame) -> bool,
) -> PoseFrame {
    timeout(DEADLINE, async {
        loop {
            let frame = subscriber.next_frame().await.unwrap();
            if wanted(&frame) {
                return frame;
            }
        }
    })
    .await
    .expect("the frame arrived")
}

fn knee_error(frame: &PoseFrame) -> f64 {
    let shin = frame
        .bone(HumanoidBone::LeftLowerLeg)
        .unwrap_or(Quat::IDENTITY);
    rotation_error_degrees(shin, Quat::from_rotation_x(KNEE_BEND_DEG.to_radians()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strapped_on_slimevr_set_after_a_full_reset_shows_a_bent_knee_within_2_degrees() {
    let mut config = test_config("slimevr-body");
    let trackers: serde_json::Map<String, serde_json::Value> = BONES
        .iter()
        .enumerate()
        .map(|(i, bone)| {
            let mac = mac(i / 2).map(|b| format!("{b:02X}")).join(":");
            (format!("{mac}/{}", i % 2), json!(bone.vrm1_name()))
        })
        .collect();
    let source: SourceConfig = serde_json::from_value(json!({
        "kind": "slimevr",
        "port": 0,
        "performer": "suit",
        "filter": false,
        "trackers": trackers,
    }))
    .unwrap();
    config.source.push(source);
    let server = start_server(config).await.unwrap();
    let status = status_json(&server).await.unwrap();
    let port: SocketAddr = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "slimevr")
        .and_then(|s| s["address"].as_str())
        .unwrap()
        .parse()
        .unwrap();
    let target = SocketAddr::new(LOCALHOST, port.port());
    let mut boards = Vec::new();
    for b in 0..BONES.len().div_ceil(2) {
        boards.push(connect(b, target).await);
    }
    let boards = Arc::new(tokio::sync::Mutex::new(boards));
    let knee_bent = Arc::new(Mutex::new(false));
    stream(boards.clone(), target, knee_bent.clone());
    let mut subscriber = subscribe(&server, Subscription::Named(vec!["suit".into()]))
        .await
        .unwrap();
    // Uncalibrated, the straps show: the standing shin is far from its rest.
    let raw = frame_where(&mut subscriber, |f| {
        f.bone(HumanoidBone::LeftLowerLeg).is_some()
    })
    .await;
    let shin = raw.bone(HumanoidBone::LeftLowerLeg).unwrap();
    assert!(
        rotation_error_degrees(shin, Quat::IDENTITY) > 10.0,
        "the strap is visible"
    );

    // Full reset, standing straight.
    let (code, body) = http_request(
        server.http_addr,
        "POST",
        "/api/performers/suit/calibrate",
        Some(&json!({ "kind": "stand", "countdown_s": 0, "duration_s": 0.3 })),
    )
    .await
    .unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));

    // Bend the left knee: the solver shows the shin turned back, the thigh still straight.
    *knee_bent.lock().unwrap() = true;
    let bent = frame_where(&mut subscriber, |f| knee_error(f) < 2.0).await;
    for bone in [
        HumanoidBone::LeftUpperLeg,
        HumanoidBone::RightLowerLeg,
        HumanoidBone::Hips,
    ] {
        let err = rotation_error_degrees(bent.bone(bone).unwrap(), Quat::IDENTITY);
        assert!(err < 2.0, "{bone}: {err}° from straight");
    }
    // Feet on the floor: the straight right leg carries the hips at its full length.
    let hips = bent.hips_position.expect("the solver places the hips").y;
    assert!((0.7..1.2).contains(&hips), "hips at {hips} m");

    // Straighten again, and the legs' board reconnects from a new port: the same trackers,
    // bones and calibration.
    *knee_bent.lock().unwrap() = false;
    frame_where(&mut subscriber, |f| knee_error(f) > 50.0).await;
    {
        let mut boards = boards.lock().await;
        boards[1] = connect(1, target).await;
    }
    *knee_bent.lock().unwrap() = true;
    frame_where(&mut subscriber, |f| knee_error(f) < 2.0).await;
}
