//! Calibration in the running server: a sloppy T-pose captured over HTTP reads as the exact
//! T-pose afterwards, and the result is saved and reloaded by a restarted server. (The CLI's
//! `kagura calibrate` is tested in server/tests/cli.rs.)

use std::time::Duration;

use glam::Quat;
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, HumanoidBone, PoseFrame, rotation_error_degrees};
use kagura_server::Server;
use kagura_tests::*;
use serde_json::json;

/// The performer's idea of a T-pose: left arm 12° low, turned 20° away, mouth slightly open.
fn sloppy_t_pose(index: u32) -> PoseFrame {
    let mut f = test_pose(index);
    for bone in HumanoidBone::ALL {
        f.set_bone(bone, Quat::IDENTITY);
    }
    f.set_bone(
        HumanoidBone::Hips,
        Quat::from_rotation_y(20f32.to_radians()),
    );
    f.set_bone(
        HumanoidBone::LeftUpperArm,
        Quat::from_rotation_z(-12f32.to_radians()),
    );
    f.set_expression(Expression::Aa, 0.15);
    f
}

/// Keeps sending the sloppy T-pose at 60 Hz until `until` completes; returns its output.
async fn while_sending<T>(
    sender: &VmcTestSender,
    until: impl std::future::Future<Output = T>,
) -> T {
    tokio::pin!(until);
    let mut tick = tokio::time::interval(Duration::from_micros(16_667));
    let mut index = 0;
    loop {
        tokio::select! {
            out = &mut until => return out,
            _ = tick.tick() => {
                index += 1;
                sender.send_frame(&sloppy_t_pose(index), 0.0).await.unwrap();
            }
        }
    }
}

/// The next whole frame captured from now on (not the newest one the bus already holds) while
/// the sloppy T-pose streams.
async fn next_whole_frame(server: &Server, sender: &VmcTestSender) -> PoseFrame {
    let since = kagura_server::clock::now_us();
    let mut subscriber = subscribe(server, Subscription::All).await.unwrap();
    let receive = async {
        loop {
            let f = subscriber.next_frame().await.unwrap();
            let whole =
                f.bones().count() == HumanoidBone::COUNT && f.expression(Expression::Aa).is_some();
            if whole && f.capture_us > since {
                return f;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), while_sending(sender, receive))
        .await
        .expect("frames flow")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t_pose_and_face_calibration_apply_persist_and_reload() {
    let config = test_config("calibration");
    let data_dir = config.data_dir.clone().unwrap();
    let server = start_server(config.clone()).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();

    let before = next_whole_frame(&server, &sender).await;
    assert!(
        rotation_error_degrees(
            before.bone(HumanoidBone::LeftUpperArm).unwrap(),
            Quat::IDENTITY
        ) > 10.0
    );

    for body in [
        json!({ "kind": "t_pose", "countdown_s": 0, "duration_s": 0.3 }),
        json!({ "kind": "face_neutral", "countdown_s": 0, "duration_s": 0.3 }),
    ] {
        let request = http_request(
            server.http_addr,
            "POST",
            "/api/performers/main/calibrate",
            Some(&body),
        );
        let (code, response) = while_sending(&sender, request).await.unwrap();
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&response));
    }
    let check = |frame: &PoseFrame| {
        for bone in [
            HumanoidBone::Hips,
            HumanoidBone::LeftUpperArm,
            HumanoidBone::Head,
        ] {
            let err = rotation_error_degrees(frame.bone(bone).unwrap(), Quat::IDENTITY);
            assert!(
                err < 0.5,
                "{bone} is {err}° off the T-pose after calibration"
            );
        }
        let aa = frame.expression(Expression::Aa).unwrap();
        assert!(aa < 0.01, "the resting mouth reads closed, not {aa}");
    };
    check(&next_whole_frame(&server, &sender).await);
    assert!(data_dir.join("calibration/main.json").exists());

    let (code, _) = http_request(
        server.http_addr,
        "POST",
        "/api/performers/nobody/calibrate",
        Some(&json!({ "kind": "yaw" })),
    )
    .await
    .unwrap();
    assert_eq!(code, 404);
    drop(server);

    // A new server on the same data directory applies the saved calibration at once.
    let server = start_server(config).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    check(&next_whole_frame(&server, &sender).await);
}
