//! Filtering in the running server: on by default for a VMC source, it steadies a jittering
//! performer; turned off live through the HTTP API, frames pass through as sent.

use std::time::Duration;

use glam::Quat;
use kagura_protocol::control::Subscription;
use kagura_protocol::{HumanoidBone, PoseFrame};
use kagura_tests::*;
use serde_json::json;

/// A still head with ±2° of frame-to-frame jitter about Y; `index` in the root as usual.
fn jittery(index: u32) -> PoseFrame {
    let mut frame = test_pose(index);
    let jitter = if index.is_multiple_of(2) {
        2.0f32
    } else {
        -2.0
    };
    frame.set_bone(
        HumanoidBone::Head,
        Quat::from_rotation_y(jitter.to_radians()),
    );
    frame
}

/// Sends frames `range` at 120 Hz and returns the head's yaw (degrees) in each whole frame
/// received, up to the last frame the server had published when sending ended. (The root, which
/// carries the index, is filtered too, so frames are matched by seq instead.)
async fn head_yaws(
    server: &kagura_server::Server,
    sender: &VmcTestSender,
    range: std::ops::Range<u32>,
) -> Vec<f32> {
    let mut subscriber = subscribe(server, Subscription::All).await.unwrap();
    let mut tick = tokio::time::interval(Duration::from_micros(8_333));
    let mut yaws = Vec::new();
    let mut record = |frame: &PoseFrame| {
        if frame.bones().count() == HumanoidBone::COUNT {
            let (axis, angle) = frame.bone(HumanoidBone::Head).unwrap().to_axis_angle();
            yaws.push((angle * axis.y.signum()).to_degrees());
        }
    };
    let mut next = range.start;
    while next < range.end {
        tokio::select! {
            _ = tick.tick() => {
                sender.send_frame(&jittery(next), 0.0).await.unwrap();
                next += 1;
            }
            frame = subscriber.next_frame() => record(&frame.unwrap()),
        }
    }
    let status = status_json(server).await.unwrap();
    let last = status["performers"][0]["last_seq"].as_u64().unwrap() as u32;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let frame = subscriber.next_frame().await.unwrap();
            record(&frame);
            if frame.seq >= last {
                break;
            }
        }
    })
    .await
    .expect("the last published frame arrives");
    yaws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtering_is_on_by_default_and_can_be_turned_off_live() {
    let mut config = test_config("filtering");
    config.vmc[0].filter = true; // the default for real configs; test_config turns it off
    let server = start_server(config).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();

    let filtered = head_yaws(&server, &sender, 0..120).await;
    let settled = &filtered[filtered.len() / 2..];
    let spread = settled.iter().fold(0.0f32, |m, y| m.max(y.abs()));
    assert!(
        spread < 0.5,
        "±2° jitter should be steadied, the head still moves ±{spread}°"
    );
    let status = status_json(&server).await.unwrap();
    assert_eq!(status["sources"][0]["streams"][0]["filtered"], true);

    let (code, body) = http_request(
        server.http_addr,
        "PUT",
        "/api/filters/vmc",
        Some(&json!({ "enabled": false })),
    )
    .await
    .unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let (code, _) = http_request(
        server.http_addr,
        "PUT",
        "/api/filters/vmc",
        Some(&json!({ "head": { "beta": -1 } })),
    )
    .await
    .unwrap();
    assert_eq!(code, 400, "invalid settings are refused");
    let (_, all) = http_get(server.http_addr, "/api/filters").await.unwrap();
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(all["vmc"]["enabled"], false);
    let status = status_json(&server).await.unwrap();
    assert_eq!(
        status["sources"][0]["streams"][0]["filtered"], false,
        "status says what is in force"
    );
    assert!(
        all["vmc"]["head"]["beta"].as_f64().unwrap() > 0.0,
        "the refused change left no trace"
    );

    let raw = head_yaws(&server, &sender, 200..260).await;
    let settled = &raw[raw.len() / 2..];
    assert!(
        settled.iter().all(|y| (y.abs() - 2.0).abs() < 0.05),
        "unfiltered frames pass as sent: {settled:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_filtering_off_in_the_config_status_reports_streams_unfiltered() {
    let mut config = test_config("no-filter");
    config.vmc[0].filter = true;
    config.filters.enabled = false; // what --no-filter sets
    let server = start_server(config).await.unwrap();
    let status = status_json(&server).await.unwrap();
    assert_eq!(
        status["sources"][0]["streams"][0]["filtered"], false,
        "{status}"
    );
}
