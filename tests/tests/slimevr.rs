//! A SlimeVR tracker on a real UDP socket talks to a real Kagura server: it shakes hands (and
//! waits for the answer), offers its feature flags, reports its sensors, then streams
//! rotations; a QUIC subscriber sees the bones the solve stage made of them, and `/api/status`
//! lists the tracker nobody assigned.

use std::f32::consts::FRAC_PI_2;
use std::net::SocketAddr;
use std::time::Duration;

use glam::Quat;
use kagura_capture::SourceConfig;
use kagura_capture::slimevr::packet::{self, tracker};
use kagura_client::Subscriber;
use kagura_protocol::control::Subscription;
use kagura_protocol::{HumanoidBone, PoseFrame, rotation_error_degrees};
use kagura_server::Server;
use kagura_tests::*;
use tokio::net::UdpSocket;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);
const MAC: [u8; 6] = [0x3C, 0x71, 0xBF, 0x12, 0x34, 0x56];
const MAC_TEXT: &str = "3C:71:BF:12:34:56";

/// SlimeVR's documented convention, written out here rather than taken from Kagura: the
/// tracker's fusion frame is Z-up and the server's world is `Rx(−90°) · q`; so a tracker whose
/// orientation in Kagura's Y-up world should be `internal` sends `Rx(+90°) · internal`.
fn on_the_wire(internal: Quat) -> [f32; 4] {
    (Quat::from_rotation_x(FRAC_PI_2) * internal).to_array()
}

/// A fake SlimeVR board: its socket, the server's address, its packet counter.
struct FakeTracker {
    socket: UdpSocket,
    server: SocketAddr,
    number: u64,
}

impl FakeTracker {
    fn next(&mut self) -> u64 {
        self.number += 1;
        self.number
    }

    async fn send(&self, bytes: &[u8]) {
        self.socket.send_to(bytes, self.server).await.unwrap();
    }

    /// Sends `packet(number)` every 100 ms, each time with the next packet number as the
    /// firmware does (a tracker's resend pace, not synchronisation), until a datagram from the
    /// server satisfies `reply`; returns it.
    async fn send_until_reply(
        &mut self,
        packet: impl Fn(u64) -> Vec<u8>,
        reply: impl Fn(&[u8]) -> bool,
    ) -> Vec<u8> {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut buf = vec![0u8; 2048];
        timeout(DEADLINE, async {
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let n = self.next();
                        self.socket.send_to(&packet(n), self.server).await.unwrap();
                    }
                    received = self.socket.recv_from(&mut buf) => {
                        let (len, from) = received.unwrap();
                        assert_eq!(from.port(), self.server.port(), "replies come from the source's socket");
                        if reply(&buf[..len]) {
                            return buf[..len].to_vec();
                        }
                    }
                }
            }
        })
        .await
        .expect("the server answered")
    }
}

/// Sends the hips and thigh orientations every 10 ms (the trackers' pace) until `subscriber`
/// gets a frame `wanted` accepts; returns it.
async fn stream_until(
    board: &mut FakeTracker,
    subscriber: &mut Subscriber,
    hips: Quat,
    thigh: Quat,
    wanted: impl Fn(&PoseFrame) -> bool,
) -> PoseFrame {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    timeout(DEADLINE, async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let n = board.next();
                    board.send(&tracker::rotation(n, 0, on_the_wire(hips))).await;
                    let n = board.next();
                    board.send(&tracker::rotation(n, 1, on_the_wire(thigh))).await;
                }
                frame = subscriber.next_frame() => {
                    let frame = frame.unwrap();
                    if wanted(&frame) {
                        return frame;
                    }
                }
            }
        }
    })
    .await
    .expect("the frame arrived")
}

async fn slimevr_source(server: &Server) -> serde_json::Value {
    let status = status_json(server).await.unwrap();
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "slimevr")
        .unwrap_or_else(|| panic!("no slimevr source in {status}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slimevr_tracker_drives_the_hips_and_thigh_through_the_solve_stage() {
    let mut config = test_config("slimevr");
    // Sensor 0 says "hip" in its SensorInfo; sensor 1 reports no position and is assigned
    // here; sensor 2 is nobody's.
    let source: SourceConfig = serde_json::from_value(serde_json::json!({
        "kind": "slimevr",
        "port": 0,
        "performer": "body",
        "filter": false,
        "trackers": { format!("{}/1", MAC_TEXT.to_lowercase()): "leftUpperLeg" },
    }))
    .unwrap();
    config.source.push(source);
    let server = start_server(config).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::Named(vec!["body".into()]))
        .await
        .unwrap();
    let address: SocketAddr = slimevr_source(&server).await["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut board = FakeTracker {
        socket: UdpSocket::bind((LOCALHOST, 0)).await.unwrap(),
        server: SocketAddr::new(LOCALHOST, address.port()),
        number: 0,
    };

    // The handshake, resent until answered, as the firmware does.
    let reply = board
        .send_until_reply(
            |_| tracker::handshake(MAC, "0.6.3"),
            |r| r.first() == Some(&3),
        )
        .await;
    assert_eq!(&reply[..13], b"\x03Hey OVR =D 5");
    let flags = board
        .send_until_reply(
            |n| tracker::feature_flags(n, &[0x06]),
            |r| r.starts_with(&[0, 0, 0, 22]),
        )
        .await;
    assert_eq!(flags, packet::feature_flags_reply());
    for (sensor, position) in [(0u8, 6u8), (1, 0), (2, 0)] {
        let ack = board
            .send_until_reply(
                |n| tracker::sensor_info(n, sensor, 1, position),
                |r| r.starts_with(&[0, 0, 0, 15]),
            )
            .await;
        assert_eq!(ack, [0, 0, 0, 15, sensor, 1]);
    }

    // The body, in Kagura's convention: hips turned 20° to the left, the thigh raised 10°.
    let hips = Quat::from_rotation_y(20f32.to_radians());
    let thigh = hips * Quat::from_rotation_x(-10f32.to_radians());
    let first = stream_until(&mut board, &mut subscriber, hips, thigh, |f| {
        f.bone(HumanoidBone::Hips).is_some() && f.bone(HumanoidBone::LeftUpperLeg).is_some()
    })
    .await;
    let got_hips = first.bone(HumanoidBone::Hips).unwrap();
    let got_thigh = first.bone(HumanoidBone::LeftUpperLeg).unwrap();
    assert!(
        rotation_error_degrees(got_hips, hips) < 2.0,
        "hips {got_hips} (wanted {hips})"
    );
    let local = hips.inverse() * thigh;
    assert!(
        rotation_error_degrees(got_thigh, local) < 2.0,
        "thigh {got_thigh} (wanted {local})"
    );

    // The thigh turns 30° about the internal X axis, relative to its first sample.
    let turned = Quat::from_rotation_x(30f32.to_radians()) * thigh;
    let second = stream_until(&mut board, &mut subscriber, hips, turned, |f| {
        f.bone(HumanoidBone::LeftUpperLeg)
            .is_some_and(|q| rotation_error_degrees(q, got_thigh) > 5.0)
    })
    .await;
    let got_turned = second.bone(HumanoidBone::LeftUpperLeg).unwrap();
    let expected = hips.inverse() * turned;
    assert!(
        rotation_error_degrees(got_turned, expected) < 2.0,
        "thigh {got_turned} (wanted {expected})"
    );
    let change = rotation_error_degrees(got_thigh, got_turned);
    assert!((change - 30.0).abs() < 2.0, "the thigh turned {change}°");
    // In the world, the change is about X: the hips' turn undone, the knee moved in the Y–Z
    // plane only.
    let world_change = (got_hips * got_turned) * (got_hips * got_thigh).inverse();
    let (axis, angle) = world_change.to_axis_angle();
    assert!(
        axis.x.abs() > 0.99 && (angle.to_degrees() - 30.0).abs() < 2.0,
        "{axis} {angle}"
    );

    // The reset button (yaw): counted, and handed to the calibrations.
    let n = board.next();
    board.send(&tracker::user_action(n, 3)).await;
    // `/api/status` lists the unassigned tracker with its MAC, sensor and address.
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let source = timeout(DEADLINE, async {
        loop {
            tick.tick().await;
            let source = slimevr_source(&server).await;
            if source["streams"][0]["counters"]["actions"] == 1 {
                return source;
            }
        }
    })
    .await
    .expect("the action was counted");
    // The yaw reset is the performer's heading calibration, started as the API starts it (a
    // 3 s countdown, then a capture): the performer is held by the procedure.
    let performer = server.engine.performer_named("body").unwrap();
    timeout(DEADLINE, async {
        while !performer.is_calibrating() {
            tick.tick().await;
        }
    })
    .await
    .expect("the reset button started a calibration");
    let stream = &source["streams"][0];
    let unassigned = stream["sender"]["unassigned"].as_array().unwrap();
    assert_eq!(unassigned.len(), 1, "{stream}");
    assert_eq!(unassigned[0]["mac"], MAC_TEXT);
    assert_eq!(unassigned[0]["sensor_id"], 2);
    let local_port = board.socket.local_addr().unwrap().port();
    assert_eq!(
        unassigned[0]["address"],
        format!("127.0.0.1:{local_port}"),
        "{stream}"
    );
    assert!(
        stream["warnings"][0]
            .as_str()
            .unwrap()
            .contains(&format!("{MAC_TEXT}/2"))
    );
    let trackers = stream["sender"]["devices"][0]["trackers"]
        .as_array()
        .unwrap();
    assert_eq!(trackers[0]["bone"], "hips");
    assert_eq!(trackers[0]["assigned_by"], "sensor_info");
    assert_eq!(trackers[1]["bone"], "leftUpperLeg");
    assert_eq!(trackers[1]["assigned_by"], "config");
    assert_eq!(source["errors"], 0, "{source}");
    assert!(stream["counters"]["frames"].as_u64().unwrap() >= 2);
}

/// The index of the slimevr source in `/api/status`'s list (what the sensors API takes).
async fn slimevr_index(server: &Server) -> usize {
    let status = status_json(server).await.unwrap();
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["kind"] == "slimevr")
        .unwrap()
}

/// A board that has shaken hands with the server's slimevr source and reported sensor 0 with no
/// body position.
async fn connected_board(server: &Server) -> FakeTracker {
    let address: SocketAddr = slimevr_source(server).await["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut board = FakeTracker {
        socket: UdpSocket::bind((LOCALHOST, 0)).await.unwrap(),
        server: SocketAddr::new(LOCALHOST, address.port()),
        number: 0,
    };
    board
        .send_until_reply(
            |_| tracker::handshake(MAC, "0.6.3"),
            |r| r.first() == Some(&3),
        )
        .await;
    board
        .send_until_reply(
            |n| tracker::sensor_info(n, 0, 1, 0),
            |r| r.starts_with(&[0, 0, 0, 15]),
        )
        .await;
    board
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracker_assigned_over_the_api_drives_its_bone_and_stays_assigned_after_a_restart() {
    let mut config = test_config("slimevr-assign");
    let source: SourceConfig = serde_json::from_value(serde_json::json!({
        "kind": "slimevr", "port": 0, "performer": "body", "filter": false,
    }))
    .unwrap();
    config.source.push(source);
    let server = start_server(config.clone()).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::Named(vec!["body".into()]))
        .await
        .unwrap();
    let mut board = connected_board(&server).await;
    let index = slimevr_index(&server).await;
    let path = format!("/api/sources/{index}/sensors");
    let assign = |sensor: &str, bone: serde_json::Value| {
        let body = serde_json::json!({ "sensor": sensor, "bone": bone });
        let (addr, path) = (server.http_addr, path.clone());
        async move {
            http_request(addr, "PUT", &path, Some(&body))
                .await
                .unwrap()
                .0
        }
    };
    assert_eq!(assign("not a tracker", "hips".into()).await, 400);
    assert_eq!(assign(&format!("{MAC_TEXT}/0"), "hips".into()).await, 204);
    let hips = Quat::from_rotation_y(0.3);
    let frame = stream_until(&mut board, &mut subscriber, hips, Quat::IDENTITY, |f| {
        f.bone(HumanoidBone::Hips).is_some()
    })
    .await;
    assert!(rotation_error_degrees(frame.bone(HumanoidBone::Hips).unwrap(), hips) < 2.0);
    let stream = &slimevr_source(&server).await["streams"][0];
    assert_eq!(
        stream["sender"]["devices"][0]["trackers"][0]["assigned_by"], "api",
        "{stream}"
    );
    drop((board, subscriber, server));

    // Restarted on the same data directory: the tracker is still the hips.
    let server = start_server(config).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::Named(vec!["body".into()]))
        .await
        .unwrap();
    let mut board = connected_board(&server).await;
    stream_until(&mut board, &mut subscriber, hips, Quat::IDENTITY, |f| {
        f.bone(HumanoidBone::Hips)
            .is_some_and(|q| rotation_error_degrees(q, hips) < 2.0)
    })
    .await;
}
