//! VRM presets derived from ARKit channels for avatars without perfect-sync blendshapes: the
//! defaults, a performer's rule from the config, one replaced over the API, which survives a
//! restart; a bad rule is refused and changes nothing.

use std::time::Duration;

use kagura_capture::{SourceFrame, StreamSpec};
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, PerformerId, PoseFrame};
use kagura_server::Server;
use kagura_tests::*;
use serde_json::json;
use tokio::time::timeout;

const WEIGHT_TOLERANCE: f32 = 1.0 / 255.0 + 1e-4;

/// Feeds frames carrying only ARKit channels (smile 0.4, left blink 0.7) to "main" until a
/// subscriber's frame shows `happy` at `expected`; returns that frame.
async fn happy_reaches(server: &Server, expected: f32) -> PoseFrame {
    let mut subscriber = subscribe(server, Subscription::Named(vec!["main".into()]))
        .await
        .unwrap();
    let spec = StreamSpec {
        performer: "main".into(),
        role: SourceRole {
            parts: vec![BodyPart::Face],
            priority: 5,
        },
        filtered: false,
        key: "arkit-test".into(),
        hips_height_m: None,
    };
    let mut route = server.engine.attach_stream(&spec, "vmc");
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    timeout(Duration::from_secs(20), async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let mut pose = PoseFrame::new(PerformerId(0));
                    pose.set_expression(Expression::MouthSmileLeft, 0.4);
                    pose.set_expression(Expression::EyeBlinkLeft, 0.7);
                    let now = kagura_server::clock::now_us();
                    server.engine.submit(&mut route, SourceFrame::of_pose(pose, now), now);
                }
                frame = subscriber.next_frame() => {
                    let frame = frame.unwrap();
                    if frame.expression(Expression::Happy)
                        .is_some_and(|w| (w - expected).abs() <= WEIGHT_TOLERANCE)
                    {
                        return frame;
                    }
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("happy never read {expected}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presets_follow_the_defaults_the_config_and_the_api_and_api_rules_survive_a_restart() {
    let mut config = test_config("expression-maps");
    let happy = [(Expression::MouthSmileLeft, 1.0)].into();
    config
        .expression_maps
        .insert("main".into(), [(Expression::Happy, happy)].into());
    let server = start_server(config.clone()).await.unwrap();

    // The config's rule for happy (1.0 × 0.4); the default for blinkLeft (eyeBlinkLeft).
    let frame = happy_reaches(&server, 0.4).await;
    let blink = frame.expression(Expression::BlinkLeft).unwrap();
    assert!((blink - 0.7).abs() <= WEIGHT_TOLERANCE, "blinkLeft {blink}");
    assert!(
        (frame.expression(Expression::MouthSmileLeft).unwrap() - 0.4).abs() <= WEIGHT_TOLERANCE
    );

    // Replaced over the API: 2 × 0.4.
    let path = "/api/performers/main/expression-map";
    let (code, body) = http_request(
        server.http_addr,
        "PUT",
        path,
        Some(&json!({ "happy": { "mouthSmileLeft": 2.0 } })),
    )
    .await
    .unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    happy_reaches(&server, 0.8).await;
    // A rule onto an ARKit channel is refused and changes nothing.
    let (code, _) = http_request(
        server.http_addr,
        "PUT",
        path,
        Some(&json!({ "jawOpen": {} })),
    )
    .await
    .unwrap();
    assert_eq!(code, 400);
    let (_, rules) = http_get(server.http_addr, path).await.unwrap();
    let rules: serde_json::Value = serde_json::from_str(&rules).unwrap();
    assert_eq!(rules["happy"], json!({ "mouthSmileLeft": 2.0 }), "{rules}");
    assert_eq!(
        rules["blinkLeft"],
        json!({ "eyeBlinkLeft": 1.0 }),
        "{rules}"
    );
    drop(server);

    // Restarted on the same data directory: the API's rule is kept over the config's.
    let server = start_server(config).await.unwrap();
    happy_reaches(&server, 0.8).await;
}
