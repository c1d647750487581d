//! Inertial suits in over real UDP, QUIC out, status over HTTP, on loopback: a fake mocopi
//! phone, a fake Rokoko Studio and a fake MVN streamer each send their own datagrams (written
//! from the documented layouts by each kind's `fixture` module) to the port the server bound,
//! and a subscriber sees the pose they mean.
//!
//! Tolerance: the wire carries rotations to 0.0096° and filters are off, so a bone arrives
//! within 0.05° of the rotation the suit's convention gives it; retargeting through a rest
//! pose costs Rokoko up to 0.5° (Studio's T-pose is sent to five decimals).

use std::net::SocketAddr;
use std::time::Duration;

use glam::{Quat, Vec3};
use kagura_capture::SourceConfig;
use kagura_capture::mocopi::{MocopiConfig, fixture as mocopi_fixture};
use kagura_capture::rokoko::{ActorMap, RokokoConfig, fixture as rokoko_fixture, skeleton};
use kagura_capture::xsens::{XsensConfig, fixture as xsens_fixture};
use kagura_client::Subscriber;
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, HumanoidBone, PoseFrame, rotation_error_degrees};
use kagura_server::Server;
use kagura_tests::*;
use tokio::net::UdpSocket;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);
/// One 8-bit step of an expression weight on the wire, and a little.
const WEIGHT_TOLERANCE: f32 = 0.5 / 255.0 + 1e-4;

async fn server_with(tag: &str, source: SourceConfig, performers: &[&str]) -> (Server, Subscriber) {
    let mut config = test_config(tag);
    config.source.push(source);
    let server = start_server(config).await.unwrap();
    let subscriber = subscribe(
        &server,
        Subscription::Named(performers.iter().map(|p| p.to_string()).collect()),
    )
    .await
    .unwrap();
    (server, subscriber)
}

/// The source of `kind` in `/api/status`.
async fn source_status(server: &Server, kind: &str) -> serde_json::Value {
    let status = status_json(server).await.unwrap();
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} source in {status}"))
        .clone()
}

/// Where the server's source of `kind` listens.
async fn source_addr(server: &Server, kind: &str) -> SocketAddr {
    let source = source_status(server, kind).await;
    let addr: SocketAddr = source["address"].as_str().unwrap().parse().unwrap();
    SocketAddr::new(LOCALHOST, addr.port())
}

/// Sends `datagrams(k)` for k = 0, 1, … every 10 ms (a sender's pace, not synchronisation)
/// until `subscriber` receives a frame `wanted` accepts; returns it.
async fn send_until(
    socket: &UdpSocket,
    to: SocketAddr,
    datagrams: impl Fn(u32) -> Vec<Vec<u8>>,
    subscriber: &mut Subscriber,
    wanted: impl Fn(&PoseFrame) -> bool,
) -> PoseFrame {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    timeout(DEADLINE, async {
        let mut k = 0u32;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    for d in datagrams(k) {
                        socket.send_to(&d, to).await.unwrap();
                    }
                    k += 1;
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
    .expect("the suit's pose never arrived")
}

fn near(frame: &PoseFrame, bone: HumanoidBone, expected: Quat, degrees: f64) -> bool {
    frame
        .bone(bone)
        .is_some_and(|q| rotation_error_degrees(q, expected) < degrees)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mocopi_phone_drives_its_performer() {
    let (server, mut subscriber) = server_with(
        "mocopi",
        SourceConfig::Mocopi(MocopiConfig {
            port: 0,
            performer: "phone".into(),
            filter: false,
            parts: None,
            priority: 0,
        }),
        &["phone"],
    )
    .await;
    let target = source_addr(&server, "mocopi").await;
    let phone = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    phone
        .send_to(b"\x05\x00\x00\x00headxx", target)
        .await
        .unwrap();
    // The head turned 30° about mocopi's up axis (+Y), towards the performer's left.
    let turn = Quat::from_rotation_y(30f32.to_radians());
    let mut locals = [Quat::IDENTITY; 27];
    locals[10] = turn;
    let skeleton = mocopi_fixture::skeleton_datagram(&mocopi_fixture::rest_offsets());
    let datagrams = |k: u32| {
        let frame = mocopi_fixture::frame_datagram(
            mocopi_fixture::Shape::Current,
            k,
            k as f32 * 0.02,
            &locals,
            Vec3::new(0.1, 0.93, 0.0),
        );
        if k.is_multiple_of(50) {
            vec![skeleton.clone(), frame]
        } else {
            vec![frame]
        }
    };
    let frame = send_until(&phone, target, datagrams, &mut subscriber, |f| {
        near(f, HumanoidBone::Head, turn, 0.05)
    })
    .await;
    let face =
        frame.bone(HumanoidBone::Neck).unwrap() * frame.bone(HumanoidBone::Head).unwrap() * Vec3::Z;
    assert!(face.x > 0.49, "the avatar looks to its own left: {face}");
    assert!(
        frame.hips_position.unwrap().x > 0.0,
        "the hips to the performer's left"
    );

    let source = source_status(&server, "mocopi").await;
    let counters = &source["streams"][0]["counters"];
    assert!(counters["frames"].as_u64().unwrap() >= 1, "{source}");
    assert!(counters["skeletons"].as_u64().unwrap() >= 1, "{source}");
    assert_eq!(counters["truncated"], 1, "{source}");
    assert_eq!(source["streams"][0]["sender"]["skeleton"], "from the phone");
    assert_eq!(source["errors"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rokoko_studio_actors_drive_performers_by_name() {
    let (server, mut subscriber) = server_with(
        "rokoko",
        SourceConfig::Rokoko(RokokoConfig {
            port: 0,
            actors: ActorMap::Performers([("Alice".to_string(), "alice".to_string())].into()),
            performer: Some("others".into()),
            face: true,
            filter: false,
            parts: None,
            priority: 0,
        }),
        &["alice", "others"],
    )
    .await;
    let target = source_addr(&server, "rokoko").await;
    let studio = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    // Alice's head turned 30° about Unity's up axis (towards her right), Bob's left arm
    // lowered 60° (+60° about Unity's Z, from −X towards −Y).
    let head = skeleton::JOINTS[skeleton::joint_index("head").unwrap()].tpose_rotation;
    let turn = Quat::from_rotation_y(30f32.to_radians());
    let alice =
        rokoko_fixture::actor_posed("Alice", true, &|j| (j == "head").then_some(turn * head));
    let lower = Quat::from_rotation_z(60f32.to_radians());
    let upper_arm = skeleton::joint_index("leftUpperArm").unwrap();
    let bob = rokoko_fixture::actor_posed("Bob", false, &|j| {
        let mut at = skeleton::joint_index(j)?;
        let rest = skeleton::JOINTS[at].tpose_rotation;
        // The upper arm and everything below it turn together.
        while at != upper_arm {
            at = skeleton::JOINTS[at].parent?;
        }
        Some(lower * rest)
    });
    let datagrams = |k: u32| {
        let json = rokoko_fixture::frame_json(
            "\"3,0\"",
            &[alice.clone(), bob.clone()],
            5.0 + k as f64 / 60.0,
        );
        vec![rokoko_fixture::lz4(json.as_bytes())]
    };
    let alice_turned = Quat::from_rotation_y(-30f32.to_radians());
    let jaw = 17.0 * 1.9 / 100.0;
    let frame = send_until(&studio, target, &datagrams, &mut subscriber, |f| {
        near(f, HumanoidBone::Head, alice_turned, 0.5)
            && f.expression(Expression::JawOpen)
                .is_some_and(|w| (w - jaw).abs() <= WEIGHT_TOLERANCE)
    })
    .await;
    let face = frame.bone(HumanoidBone::Head).unwrap() * Vec3::Z;
    assert!(face.x < -0.49, "the avatar looks to its own right: {face}");
    // Bob, not in the config, drives the default performer.
    let bob_frame = send_until(&studio, target, &datagrams, &mut subscriber, |f| {
        f.bone(HumanoidBone::LeftUpperArm)
            .is_some_and(|q| (q * Vec3::X).y < -0.8)
    })
    .await;
    let arm = bob_frame.bone(HumanoidBone::LeftUpperArm).unwrap() * Vec3::X;
    assert!(
        arm.x > 0.45 && arm.y < -0.85,
        "the left arm down on the avatar's left: {arm}"
    );
    assert!(bob_frame.expression(Expression::JawOpen).is_none());

    let source = source_status(&server, "rokoko").await;
    let streams = source["streams"].as_array().unwrap();
    assert_eq!(streams[0]["performer"], "alice");
    assert_eq!(streams[1]["counters"]["actor"], "Bob", "{source}");
    assert!(streams[0]["counters"]["props"].as_u64().unwrap() >= 1);
    assert_eq!(streams[0]["sender"]["actors"][1]["performer"], "others");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mvn_streamer_drives_one_performer_per_character() {
    let (server, mut subscriber) = server_with(
        "xsens",
        SourceConfig::Xsens(XsensConfig {
            port: 0,
            performer: None,
            characters: [("0".into(), "anna".into()), ("1".into(), "ben".into())].into(),
            filter: false,
            parts: None,
            priority: 0,
        }),
        &["anna", "ben"],
    )
    .await;
    let target = source_addr(&server, "xsens").await;
    let mvn = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    // Ben (character 1, centimetres, each sample in three datagrams): head turned 30° about
    // MVN's up axis (Z) towards his left; Anna (metres, one datagram) stands in the T-pose.
    let turn = Quat::from_rotation_z(30f32.to_radians());
    let mut ben = xsens_fixture::standing(100.0);
    ben[6].2 = turn;
    let anna = xsens_fixture::standing(1.0);
    let datagrams = |k: u32| {
        let mut out = xsens_fixture::pose_datagrams(1, k, 60_000 + k * 10, &ben, 8);
        out.extend(xsens_fixture::pose_datagrams(
            0,
            k,
            60_000 + k * 10,
            &anna,
            23,
        ));
        out
    };
    let expected = Quat::from_rotation_y(30f32.to_radians());
    let frame = send_until(&mvn, target, datagrams, &mut subscriber, |f| {
        near(f, HumanoidBone::Head, expected, 0.05)
    })
    .await;
    let hips = frame.hips_position.unwrap();
    assert!(
        (0.85..1.05).contains(&hips.y),
        "centimetres read as such: {hips}"
    );

    let source = source_status(&server, "xsens").await;
    let streams = source["streams"].as_array().unwrap();
    assert_eq!(streams[1]["counters"]["units"], "centimetres", "{source}");
    assert!(streams[1]["counters"]["frames"].as_u64().unwrap() >= 1);
    assert!(streams[1]["sender"]["time_code_ms"].as_u64().unwrap() >= 60_000);
    // Anna's frames arrive too, every bone at rest.
    let anna_frame = send_until(&mvn, target, datagrams, &mut subscriber, |f| {
        near(f, HumanoidBone::Head, Quat::IDENTITY, 0.05)
    })
    .await;
    assert!(near(
        &anna_frame,
        HumanoidBone::LeftUpperArm,
        Quat::IDENTITY,
        0.05
    ));
}

/// Without a default performer, an actor nobody configured becomes a performer of its own name
/// while the server runs: subscribers to everyone hear of it and get its frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_rokoko_actor_becomes_a_performer_of_its_name() {
    let mut config = test_config("rokoko-new-actor");
    config.source.push(SourceConfig::Rokoko(RokokoConfig {
        port: 0,
        actors: ActorMap::default(),
        performer: None,
        face: true,
        filter: false,
        parts: None,
        priority: 0,
    }));
    let server = start_server(config).await.unwrap();
    let mut everyone = subscribe(&server, Subscription::All).await.unwrap();
    assert!(everyone.info().performers.iter().all(|p| p.name != "Dana"));
    let target = source_addr(&server, "rokoko").await;
    let studio = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let head = skeleton::JOINTS[skeleton::joint_index("head").unwrap()].tpose_rotation;
    let turn = Quat::from_rotation_y(30f32.to_radians());
    let dana = rokoko_fixture::actor_posed("Dana", true, &|j| (j == "head").then_some(turn * head));
    let datagrams = |k: u32| {
        let json = rokoko_fixture::frame_json("3", std::slice::from_ref(&dana), k as f64 / 60.0);
        vec![rokoko_fixture::lz4(json.as_bytes())]
    };
    let frame = send_until(&studio, target, &datagrams, &mut everyone, |f| {
        near(
            f,
            HumanoidBone::Head,
            Quat::from_rotation_y(-30f32.to_radians()),
            0.5,
        )
    })
    .await;
    let dana_id = server.bus.id_of("Dana").expect("Dana is a performer now");
    assert_eq!(frame.performer, dana_id);
    // Subscribers were told of Dana (a fresh Info, before or after her frames).
    timeout(DEADLINE, async {
        while !everyone.info().performers.iter().any(|p| p.name == "Dana") {
            everyone.next_event().await.unwrap();
        }
    })
    .await
    .expect("an Info naming Dana");
    let source = source_status(&server, "rokoko").await;
    assert_eq!(source["streams"][0]["performer"], "Dana", "{source}");
    assert!(
        source["counters"]["packets"].as_u64().unwrap() >= 1,
        "{source}"
    );
}
