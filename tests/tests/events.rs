//! `/api/events` over a real WebSocket: a performer that appears, goes quiet (stale) and comes
//! back (live), an expression fired, and a calibration started and finished, each as an event.

use std::time::Duration;

use futures_util::StreamExt;
use glam::Quat;
use kagura_capture::{SourceFrame, StreamSpec};
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame};
use kagura_server::clock::now_us;
use kagura_tests::*;
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads events until one of `kind` about `performer`; returns it.
async fn next_event(socket: &mut Socket, kind: &str, performer: &str) -> Value {
    timeout(Duration::from_secs(20), async {
        loop {
            let message = socket.next().await.expect("the socket stays open").unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["type"] == kind && event["performer"] == performer {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} event for {performer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_bots_hear_what_happens() {
    let server = start_server(test_config("events")).await.unwrap();
    let url = format!("ws://127.0.0.1:{}/api/events", server.http_addr.port());
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();

    // A source for a new performer appears and sends.
    let spec = StreamSpec {
        performer: "late".into(),
        role: SourceRole {
            parts: BodyPart::ALL.to_vec(),
            priority: 0,
        },
        filtered: false,
        key: "events-test".into(),
        hips_height_m: None,
    };
    let mut route = server.engine.attach_stream(&spec, "vmc");
    let send = |route: &mut kagura_engine::StreamRoute| {
        let mut pose = PoseFrame::new(PerformerId(0));
        pose.set_bone(HumanoidBone::Hips, Quat::IDENTITY);
        let now = now_us();
        server
            .engine
            .submit(route, SourceFrame::of_pose(pose, now), now);
    };
    send(&mut route);
    next_event(&mut socket, "performer_added", "late").await;
    // Silent for a second: stale; a frame again: live.
    next_event(&mut socket, "performer_stale", "late").await;
    send(&mut route);
    next_event(&mut socket, "performer_live", "late").await;

    // An expression fired, a calibration run.
    let post = |path: &str, body: Value| {
        let (addr, path) = (server.http_addr, path.to_string());
        async move {
            http_request(addr, "POST", &path, Some(&body))
                .await
                .unwrap()
                .0
        }
    };
    let code = post(
        "/api/performers/late/expressions",
        json!({ "expression": "happy", "hold_ms": 100 }),
    )
    .await;
    assert_eq!(code, 202);
    let fired = next_event(&mut socket, "trigger_fired", "late").await;
    assert_eq!(fired["trigger"]["expression"], "happy", "{fired}");
    let code = post(
        "/api/performers/late/calibrate",
        json!({ "kind": "height", "height_m": 1.6 }),
    )
    .await;
    assert_eq!(code, 200);
    let started = next_event(&mut socket, "calibration_started", "late").await;
    assert_eq!(started["kind"], "height");
    let finished = next_event(&mut socket, "calibration_finished", "late").await;
    assert_eq!(finished["ok"], true);

    // A VMC sender starts: its source stream is active; it stops: silent.
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let active = timeout(Duration::from_secs(20), async {
        let mut k = 0u32;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    sender.send_frame(&test_pose(k), k as f32 / 100.0).await.unwrap();
                    k += 1;
                }
                message = socket.next() => {
                    let Message::Text(text) = message.unwrap().unwrap() else { continue };
                    let event: Value = serde_json::from_str(&text).unwrap();
                    if event["type"] == "source_active" && event["performer"] == "main" {
                        return event;
                    }
                }
            }
        }
    })
    .await
    .expect("the sender's stream becomes active");
    assert_eq!(active["kind"], "vmc", "{active}");
    let silent = next_event(&mut socket, "source_silent", "main").await;
    assert_eq!(silent["key"], active["key"]);

    // A performer removed.
    let late = server.bus.id_of("late").unwrap();
    assert!(server.engine.remove_performer(late));
    next_event(&mut socket, "performer_removed", "late").await;
}
