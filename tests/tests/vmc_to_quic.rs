//! VMC in over real UDP, QUIC out to real subscribers, status over real HTTP, all on loopback.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use kagura_capture::vmc::encode_vmc_frame;
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, HumanoidBone, PoseFrame, rotation_error_degrees};
use kagura_server::config::{VmcSenderConfig, VmcSourceConfig};
use kagura_tests::*;
use tokio::time::timeout;

/// Sending rate of the test senders, Hz (VMC apps send at 60–120 Hz).
const SEND_HZ: u64 = 120;
const DEADLINE: Duration = Duration::from_secs(20);

fn assert_matches_sent(got: &PoseFrame, sent: &PoseFrame) {
    for bone in HumanoidBone::ALL {
        let err = rotation_error_degrees(
            sent.bone(bone).unwrap(),
            got.bone(bone).expect("bone missing"),
        );
        assert!(err <= 0.01, "{bone}: {err}° off");
    }
    for expression in Expression::ALL {
        let (s, g) = (
            sent.expression(expression).unwrap(),
            got.expression(expression).unwrap(),
        );
        assert!(
            (s - g).abs() <= 0.5 / 255.0 + 1e-6,
            "{expression}: sent {s}, got {g}"
        );
    }
    let (s, g) = (sent.hips_position.unwrap(), got.hips_position.unwrap());
    assert!((s - g).length() < 1e-3, "hips: sent {s}, got {g}");
    let (s, g) = (sent.root.unwrap(), got.root.unwrap());
    assert!((s.position - g.position).length() < 1e-3);
    assert!(rotation_error_degrees(s.rotation, g.rotation) <= 0.01);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vmc_app_stream_reaches_quic_subscriber_whole_and_within_a_hundredth_of_a_degree() {
    let server = start_server(test_config("e2e")).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::Named(vec!["main".into()]))
        .await
        .unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();

    // No warm-up: from the sender's very first datagram on, in the VMC app's order (root bundle
    // after Apply), every frame a subscriber sees must be whole and all from one sent frame.
    let frames = 120u32;
    let receiving = async {
        let mut got: BTreeMap<u32, PoseFrame> = BTreeMap::new();
        while !got.contains_key(&frames) {
            let frame = subscriber.next_frame().await.unwrap();
            assert_eq!(
                frame.bones().count(),
                HumanoidBone::COUNT,
                "half-updated frame"
            );
            got.insert(pose_index(&frame).unwrap(), frame);
        }
        got
    };
    let sending = async { sender.send_poses(frames, SEND_HZ).await.unwrap() };
    let (got, ()) = timeout(DEADLINE, async { tokio::join!(receiving, sending) })
        .await
        .expect("all frames");
    // Loopback UDP may in principle drop a datagram under load; nearly all must arrive.
    assert!(
        got.len() as u32 >= frames * 95 / 100,
        "received {} of {frames}",
        got.len()
    );
    for (index, frame) in &got {
        assert_matches_sent(frame, &test_pose(*index));
    }
    let seqs: Vec<u32> = got.values().map(|f| f.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "frames arrive in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_packets_are_counted_and_the_good_stream_keeps_flowing() {
    let guest_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9));
    let mut config = test_config("bad");
    config.vmc.push(VmcSourceConfig {
        port: 0,
        performer: None,
        senders: vec![VmcSenderConfig {
            address: guest_ip.to_string(),
            performer: "guest".into(),
            parts: None,
            priority: 0,
        }],
        filter: false,
        parts: None,
        priority: 0,
        trackers: Default::default(),
    });
    let server = start_server(config).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::All).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();

    let good = encode_vmc_frame(&test_pose(1), 0.0);
    let mut truncated = good[0].clone();
    truncated.truncate(truncated.len() / 2);
    let mut nan_bone = rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage {
        addr: "/VMC/Ext/Bone/Pos".into(),
        args: std::iter::once(rosc::OscType::String("Head".into()))
            .chain([0.0, 0.0, 0.0, f32::NAN, 0.0, 0.0, 1.0].map(rosc::OscType::Float))
            .collect(),
    }))
    .unwrap();
    let oversized = vec![b'#'; 20_000];
    let mut deeply_nested = Vec::new();
    for _ in 0..200 {
        deeply_nested.extend_from_slice(b"#bundle\0\0\0\0\0\0\0\0\x01");
        deeply_nested.extend_from_slice(&1000u32.to_be_bytes());
    }

    // Good frames interleaved with garbage, truncation, NaN, oversize and deep nesting.
    for i in 1..=4u32 {
        let mut datagrams = encode_vmc_frame(&test_pose(i), 0.0);
        let last = datagrams.pop().unwrap();
        for d in &datagrams {
            sender.send_raw(d).await.unwrap();
        }
        sender
            .send_raw(b"\xff\xfe definitely not OSC")
            .await
            .unwrap();
        sender.send_raw(&truncated).await.unwrap();
        sender.send_raw(&nan_bone).await.unwrap();
        sender.send_raw(&oversized).await.unwrap();
        sender.send_raw(&deeply_nested).await.unwrap();
        sender.send_raw(&last).await.unwrap();
    }
    nan_bone.clear();
    // A sender that is not on the guest port's list is ignored; the listed one is served.
    let stranger = VmcTestSender::new(LOCALHOST, server.vmc_addrs[1])
        .await
        .unwrap();
    stranger.send_frame(&test_pose(50), 0.0).await.unwrap();
    let guest = VmcTestSender::new(guest_ip, server.vmc_addrs[1])
        .await
        .unwrap();
    // A new sender's frames are published once its cycle is learned: two frames.
    for _ in 0..3 {
        guest.send_frame(&test_pose(60), 0.0).await.unwrap();
    }

    let main_id = server.bus.id_of("main").unwrap();
    let guest_id = server.bus.id_of("guest").unwrap();
    let (mut last_main, mut guest_frame) = (None, None);
    timeout(DEADLINE, async {
        while last_main.is_none() || guest_frame.is_none() {
            let frame = subscriber.next_frame().await.unwrap();
            if frame.performer == main_id && pose_index(&frame) == Some(4) {
                last_main = Some(frame);
            } else if frame.performer == guest_id && frame.bones().count() == HumanoidBone::COUNT {
                guest_frame = Some(frame);
            } else {
                assert_ne!(
                    pose_index(&frame),
                    Some(50),
                    "the stranger's frame was served"
                );
            }
        }
    })
    .await
    .expect("good frames keep flowing");
    let last_main = last_main.unwrap();
    // The NaN rotation for Head was dropped: Head holds the value of the good stream.
    assert_matches_sent(&last_main, &test_pose(4));
    assert_eq!(pose_index(guest_frame.as_ref().unwrap()), Some(60));

    // Each datagram is fully processed before the next, so by now the counts are final.
    let status = status_json(&server).await.unwrap();
    let vmc = &status["sources"][0];
    let counters = &vmc["streams"][0]["counters"];
    assert_eq!(counters["malformed_packets"], 4 * 3, "{counters}");
    assert_eq!(counters["oversized_packets"], 4);
    assert_eq!(counters["invalid_values"], 4);
    assert_eq!(vmc["errors"], 4 * 5);
    let stranger_datagrams = encode_vmc_frame(&test_pose(50), 0.0).len();
    assert_eq!(
        status["sources"][1]["unknown_senders"], stranger_datagrams,
        "{status}"
    );
    assert_eq!(status["sources"][1]["streams"][0]["performer"], "guest");
    assert!(status["subscribers"].as_array().unwrap().len() == 1);
    assert_eq!(status["performers"][0]["name"], "main");
    let (code, body) = http_get(server.http_addr, "/healthz").await.unwrap();
    assert_eq!((code, body.trim()), (200, "ok"));
    let (code, body) = http_get(server.http_addr, "/").await.unwrap();
    assert_eq!(code, 200);
    assert!(
        body.contains("/api/status"),
        "the status page reads /api/status"
    );
}

/// Sends poses `from..from + count` at [`SEND_HZ`] while `reader` receives them; returns each
/// received frame's delay, µs: from the moment its last datagram was sent to its arrival.
async fn delays(
    sender: &VmcTestSender,
    reader: &mut kagura_client::Subscriber,
    from: u32,
    count: u32,
) -> Vec<u64> {
    use kagura_server::clock::now_us;
    let sent_at = std::sync::Mutex::new(BTreeMap::new());
    let last = from + count - 1;
    let receiving = async {
        let mut delays = Vec::new();
        loop {
            let frame = reader.next_frame().await.unwrap();
            let arrived = now_us();
            let index = pose_index(&frame).unwrap();
            if let Some(sent) = sent_at.lock().unwrap().get(&index) {
                delays.push(arrived.saturating_sub(*sent));
            }
            if index == last {
                return delays;
            }
        }
    };
    let sending = async {
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / SEND_HZ));
        for i in from..=last {
            tick.tick().await;
            sender
                .send_frame(&test_pose(i), i as f32 / SEND_HZ as f32)
                .await
                .unwrap();
            sent_at.lock().unwrap().insert(i, now_us());
        }
    };
    let (delays, ()) = timeout(DEADLINE, async { tokio::join!(receiving, sending) })
        .await
        .expect("the reader keeps up");
    delays
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_vanished_subscriber_does_not_delay_another() {
    let server = start_server(test_config("slow")).await.unwrap();
    let mut reader = subscribe(&server, Subscription::All).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    warm_up(&sender, &mut reader).await.unwrap();
    // The reader alone: its delay is the baseline, measured in the same run.
    let alone = delays(&sender, &mut reader, 1, 120).await;

    // Then one subscriber that never reads and one whose process "dies" (endpoint dropped,
    // no close) join.
    let _stalled = subscribe(&server, Subscription::All).await.unwrap();
    let vanished = subscribe(&server, Subscription::All).await.unwrap();
    drop(vanished);
    let frames = 240u32;
    let beside = delays(&sender, &mut reader, 200, frames).await;
    // Latest value wins: the reader gets (nearly) every frame, no later than alone.
    assert!(
        beside.len() as u32 >= frames * 95 / 100,
        "reader got {} of {frames}",
        beside.len()
    );
    let (alone, beside) = (median(alone), median(beside));
    assert!(
        beside <= alone + 1_000,
        "median delay {beside} µs beside stalled peers vs {alone} µs alone"
    );
    // The server went on offering every frame to all three without waiting for any.
    let status = status_json(&server).await.unwrap();
    let sent: Vec<u64> = status["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["frames_sent"].as_u64().unwrap())
        .collect();
    assert_eq!(sent.len(), 3, "{status}");
    assert!(
        sent.iter().all(|&n| n >= u64::from(frames) * 95 / 100),
        "{sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_to_an_unknown_performer_is_refused_with_a_reason() {
    let server = start_server(test_config("refused")).await.unwrap();
    let err = subscribe(&server, Subscription::Named(vec!["nobody".into()]))
        .await
        .err()
        .expect("refused");
    assert!(
        format!("{err:#}").contains("no performer named \"nobody\""),
        "{err:#}"
    );
    // A wrong fingerprint is refused by the client before anything is sent.
    let addr = std::net::SocketAddr::new(LOCALHOST, server.quic_addr.port());
    let wrong = kagura_client::Fingerprint([7; 32]);
    assert!(
        kagura_client::Subscriber::connect(addr, wrong, Subscription::All, "t")
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vmc_trackers_assigned_to_bones_are_solved_into_the_pose() {
    use kagura_capture::vmc::unity::{rotation_from_unity, rotation_to_unity};
    let mut config = test_config("trackers");
    config.vmc[0]
        .trackers
        .insert("LHR-SHIN".into(), HumanoidBone::LeftLowerLeg);
    let server = start_server(config).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::All).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    // The shin's tracker, in world space (glTF), sent in Unity space like any VMC sender.
    let shin_world = glam::Quat::from_rotation_x(0.9) * glam::Quat::from_rotation_y(0.3);
    let q = rotation_to_unity(shin_world);
    let tracker = rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage {
        addr: "/VMC/Ext/Tra/Pos".into(),
        args: std::iter::once(rosc::OscType::String("LHR-SHIN".into()))
            .chain([0.1, 0.5, 0.0, q.x, q.y, q.z, q.w].map(rosc::OscType::Float))
            .collect(),
    }))
    .unwrap();
    assert!(rotation_error_degrees(rotation_from_unity(q), shin_world) < 1e-3);
    let sent = test_pose(5);
    let frame = timeout(DEADLINE, async {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        loop {
            tick.tick().await;
            let mut datagrams = encode_vmc_frame(&sent, 0.0);
            // Before the root bundle, as the VMC app sends devices.
            datagrams.insert(datagrams.len() - 1, tracker.clone());
            for d in &datagrams {
                sender.send_raw(d).await.unwrap();
            }
            if let Ok(Ok(frame)) =
                tokio::time::timeout(Duration::from_millis(50), subscriber.next_frame()).await
            {
                return frame;
            }
        }
    })
    .await
    .expect("a frame");
    let thigh_world =
        sent.bone(HumanoidBone::Hips).unwrap() * sent.bone(HumanoidBone::LeftUpperLeg).unwrap();
    let want = thigh_world.inverse() * shin_world;
    let got = frame.bone(HumanoidBone::LeftLowerLeg).unwrap();
    assert!(
        rotation_error_degrees(got, want) < 0.05,
        "the shin's local rotation puts it where its tracker is"
    );
}
