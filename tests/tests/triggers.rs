//! An expression fired over the HTTP API (a chat bot's reaction) rises, holds and falls with the
//! asked timing on a QUIC subscriber, while the tracked body keeps moving under it.

use std::sync::Arc;
use std::time::Duration;

use glam::Quat;
use kagura_capture::{SourceFrame, StreamSpec};
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame};
use kagura_server::clock::now_us;
use kagura_tests::*;
use serde_json::json;
use tokio::time::timeout;

const FADE_IN_MS: u64 = 200;
const HOLD_MS: u64 = 300;
const FADE_OUT_MS: u64 = 200;
const PEAK: f32 = 0.8;
/// How late a phase may end on a loaded machine (the timer, the network, the subscriber).
const SLACK_MS: u64 = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fired_expression_rises_holds_and_falls_while_the_body_keeps_moving() {
    let server = start_server(test_config("triggers")).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::Named(vec!["main".into()]))
        .await
        .unwrap();
    // A body source: the hips turning, no expressions, 100 frames a second.
    let engine = Arc::clone(&server.engine);
    let body = tokio::spawn(async move {
        let spec = StreamSpec {
            performer: "main".into(),
            role: SourceRole {
                parts: BodyPart::ALL.to_vec(),
                priority: 0,
            },
            filtered: false,
            key: "body-test".into(),
            hips_height_m: None,
        };
        let mut route = engine.attach_stream(&spec, "vmc");
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        for k in 0u32.. {
            tick.tick().await;
            let mut pose = PoseFrame::new(PerformerId(0));
            pose.set_bone(HumanoidBone::Hips, Quat::from_rotation_y(k as f32 * 0.01));
            let now = now_us();
            engine.submit(&mut route, SourceFrame::of_pose(pose, now), now);
        }
    });
    timeout(Duration::from_secs(20), async {
        while subscriber
            .next_frame()
            .await
            .unwrap()
            .bone(HumanoidBone::Hips)
            .is_none()
        {}
    })
    .await
    .expect("the body arrives");

    let fired_us = now_us();
    let (code, body_text) = http_request(
        server.http_addr,
        "POST",
        "/api/performers/main/expressions",
        Some(&json!({
            "expression": "surprised", "weight": PEAK,
            "fade_in_ms": FADE_IN_MS, "hold_ms": HOLD_MS, "fade_out_ms": FADE_OUT_MS,
        })),
    )
    .await
    .unwrap();
    assert_eq!(code, 202, "{}", String::from_utf8_lossy(&body_text));

    // (ms since firing, weight, hips) for every frame until the expression has come and gone.
    let mut samples: Vec<(u64, f32, Quat)> = Vec::new();
    timeout(Duration::from_secs(20), async {
        loop {
            let frame = subscriber.next_frame().await.unwrap();
            let ms = now_us().saturating_sub(fired_us) / 1000;
            let weight = frame.expression(Expression::Surprised).unwrap_or(0.0);
            samples.push((ms, weight, frame.bone(HumanoidBone::Hips).unwrap()));
            let peaked = samples.iter().any(|s| s.1 > PEAK - 0.01);
            if peaked && weight < 0.005 {
                return;
            }
        }
    })
    .await
    .expect("the expression rises and falls");
    body.abort();

    let first_full = samples.iter().find(|s| s.1 >= PEAK - 0.01).unwrap().0;
    let last_full = samples.iter().rev().find(|s| s.1 >= PEAK - 0.01).unwrap().0;
    let gone = samples.last().unwrap().0;
    assert!(
        (FADE_IN_MS - 50..=FADE_IN_MS + SLACK_MS).contains(&first_full),
        "full after {first_full} ms"
    );
    assert!(
        last_full - first_full >= HOLD_MS - 50,
        "held {} ms",
        last_full - first_full
    );
    let total = FADE_IN_MS + HOLD_MS + FADE_OUT_MS;
    assert!(
        (total - 50..=total + SLACK_MS).contains(&gone),
        "gone after {gone} ms"
    );
    // It moved through the fades (no jumps): weights between, on the way up and down.
    assert!(
        samples
            .iter()
            .any(|s| s.0 < first_full && (0.1..0.7).contains(&s.1))
    );
    assert!(
        samples
            .iter()
            .any(|s| s.0 > last_full && (0.1..0.7).contains(&s.1))
    );
    // The body kept moving under it.
    let turns: std::collections::BTreeSet<u32> = samples
        .iter()
        .map(|s| (s.2.to_euler(glam::EulerRot::YXZ).0 * 1000.0) as u32)
        .collect();
    assert!(
        turns.len() > 20,
        "the hips moved through {} poses",
        turns.len()
    );

    // Bad requests change nothing.
    for bad in [
        json!({ "expression": "nope" }),
        json!({ "expression": "happy", "weight": 2 }),
    ] {
        let (code, _) = http_request(
            server.http_addr,
            "POST",
            "/api/performers/main/expressions",
            Some(&bad),
        )
        .await
        .unwrap();
        assert!(code == 400 || code == 422, "{bad}: {code}");
    }
}
