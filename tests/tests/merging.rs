//! One performer fed by two VMC senders: a phone for face and head (priority 10) and a suit for
//! the whole body. Stopping the phone keeps the body live, holds the face and head, then eases
//! them to the suit's within the configured time, and hands them back without a jump when the
//! phone returns.

use std::time::Duration;

use glam::Quat;
use kagura_merge::BodyPart;
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, HumanoidBone, PoseFrame, rotation_error_degrees};
use kagura_server::clock::now_us;
use kagura_server::config::{MergingConfig, VmcSourceConfig};
use kagura_tests::*;

// Long enough that a scheduling hiccup on a busy machine never looks like a lost source.
const HOLD_MS: u32 = 250;
const EASE_MS: u32 = 300;

fn phone(index: u32) -> PoseFrame {
    let mut f = test_pose(index);
    f.set_bone(
        HumanoidBone::Head,
        Quat::from_rotation_y(30f32.to_radians()),
    );
    f.set_expression(Expression::Aa, 0.8);
    f
}

/// The suit's arm swings with the index: a live body.
fn suit_arm(index: u32) -> Quat {
    Quat::from_rotation_z((index as f32 * 0.05).sin())
}

fn suit(index: u32) -> PoseFrame {
    let mut f = test_pose(index);
    f.set_bone(
        HumanoidBone::Head,
        Quat::from_rotation_y(-30f32.to_radians()),
    );
    f.set_bone(HumanoidBone::LeftUpperArm, suit_arm(index));
    f.set_expression(Expression::Aa, 0.1);
    f
}

fn head_yaw_deg(f: &PoseFrame) -> f32 {
    let q = f.bone(HumanoidBone::Head).unwrap();
    (2.0 * q.y.atan2(q.w)).to_degrees()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn face_from_one_sender_body_from_another_survives_loss_and_return() {
    let mut config = test_config("merging");
    // The test config's one VMC port ("main", unfiltered) drives everything at priority 0; a
    // second port, the phone, drives face and head at priority 10.
    let suit_port = config.vmc[0].clone();
    let phone_port = VmcSourceConfig {
        parts: Some(vec![BodyPart::Face, BodyPart::Head]),
        priority: 10,
        ..suit_port.clone()
    };
    config.vmc = vec![phone_port, suit_port];
    config.merging = MergingConfig {
        hold_ms: HOLD_MS,
        ease_ms: EASE_MS,
    };
    let server = start_server(config).await.unwrap();
    let phone_sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    let suit_sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[1])
        .await
        .unwrap();
    let mut subscriber = subscribe(&server, Subscription::All).await.unwrap();

    let mut received: Vec<PoseFrame> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_micros(16_667));
    let mut index = 0u32;
    let mut phone_silent_at = None;
    let mut phone_back_at = None;
    // 0.8 s both, 0.8 s suit only, 0.8 s both again.
    while index < 144 {
        tokio::select! {
            _ = tick.tick() => {
                index += 1;
                let phone_live = !(48..96).contains(&index);
                if phone_live {
                    phone_sender.send_frame(&phone(index), 0.0).await.unwrap();
                    if index == 96 {
                        phone_back_at = Some(now_us());
                    }
                } else if index == 48 {
                    phone_silent_at = Some(now_us());
                }
                suit_sender.send_frame(&suit(index), 0.0).await.unwrap();
            }
            frame = subscriber.next_frame() => received.push(frame.unwrap()),
        }
    }
    let status = status_json(&server).await.unwrap();
    let last = status["performers"][0]["last_seq"].as_u64().unwrap() as u32;
    tokio::time::timeout(Duration::from_secs(10), async {
        while received.last().is_none_or(|f| f.seq < last) {
            received.push(subscriber.next_frame().await.unwrap());
        }
    })
    .await
    .expect("the last frame arrives");

    let whole: Vec<&PoseFrame> = received
        .iter()
        .filter(|f| {
            f.bones().count() == HumanoidBone::COUNT && f.expression(Expression::Aa).is_some()
        })
        .collect();
    let (silent, back) = (phone_silent_at.unwrap(), phone_back_at.unwrap());
    let (hold, ease, margin) = (u64::from(HOLD_MS) * 1000, u64::from(EASE_MS) * 1000, 40_000);
    let phase = |from: u64, to: u64| {
        whole
            .iter()
            .filter(move |f| f.capture_us > from && f.capture_us < to)
    };

    // (The first frames cross-fade between whichever sender was heard first: look later.)
    let both: Vec<_> = phase(0, silent)
        .filter(|f| f.capture_us > silent - 200_000)
        .collect();
    assert!(!both.is_empty());
    for f in &both {
        assert!(
            (head_yaw_deg(f) - 30.0).abs() < 0.5,
            "head from the phone: {}",
            head_yaw_deg(f)
        );
        assert!((f.expression(Expression::Aa).unwrap() - 0.8).abs() < 0.01);
    }
    for f in phase(silent, silent + hold - margin) {
        assert!(
            (head_yaw_deg(f) - 30.0).abs() < 0.5,
            "held during the hold: {}",
            head_yaw_deg(f)
        );
    }
    let settled: Vec<_> = phase(silent + hold + ease + margin, back).collect();
    assert!(!settled.is_empty());
    for f in &settled {
        assert!(
            (head_yaw_deg(f) + 30.0).abs() < 0.5,
            "eased to the suit's head: {}",
            head_yaw_deg(f)
        );
        assert!((f.expression(Expression::Aa).unwrap() - 0.1).abs() < 0.01);
    }
    let returned: Vec<_> = phase(back + ease + margin, u64::MAX).collect();
    assert!(!returned.is_empty());
    for f in &returned {
        assert!(
            (head_yaw_deg(f) - 30.0).abs() < 0.5,
            "the phone's head again: {}",
            head_yaw_deg(f)
        );
    }
    // The body stayed live throughout: every frame's arm is one the suit sent.
    for f in &whole {
        let arm = f.bone(HumanoidBone::LeftUpperArm).unwrap();
        assert!(
            (1..=144).any(|i| rotation_error_degrees(arm, suit_arm(i)) < 0.05),
            "arm not from the suit"
        );
    }
    // No jumps: between frames, the head turns no faster than a full 60° ease allows.
    for pair in whole.windows(2) {
        let dt = pair[1].capture_us.saturating_sub(pair[0].capture_us) as f32;
        let step = (head_yaw_deg(pair[1]) - head_yaw_deg(pair[0])).abs();
        assert!(
            step <= 60.0 * (dt + 2_000.0) / ease as f32 + 0.5,
            "head jumped {step}° in {dt} µs"
        );
    }
}
