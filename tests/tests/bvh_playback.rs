//! A BVH file played as a performer: retargeted from its A-pose skeleton onto the humanoid in
//! the server's per-frame pipeline, and delivered to a QUIC subscriber.

use std::time::Duration;

use glam::Vec3;
use kagura_protocol::HumanoidBone;
use kagura_protocol::control::Subscription;
use kagura_server::config::BvhSourceConfig;
use kagura_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pose_bvh_plays_retargeted_onto_the_humanoid() {
    let mut config = test_config("bvh");
    config.bvh.push(BvhSourceConfig {
        file: concat!(env!("CARGO_MANIFEST_DIR"), "/data/a_pose.bvh").into(),
        performer: "recorded".into(),
        filter: false,
        parts: None,
        priority: 0,
    });
    let server = start_server(config).await.unwrap();
    let mut subscriber = subscribe(&server, Subscription::Named(vec!["recorded".into()]))
        .await
        .unwrap();

    // The file's two frames alternate: the A-pose rest, then the left arm raised to horizontal.
    let (mut saw_rest, mut saw_raised) = (false, false);
    tokio::time::timeout(Duration::from_secs(10), async {
        while !(saw_rest && saw_raised) {
            let frame = subscriber.next_frame().await.unwrap();
            let arm = frame
                .bone(HumanoidBone::LeftUpperArm)
                .expect("retargeted arm")
                * Vec3::X;
            if (arm - Vec3::new(1.0, -1.0, 0.0).normalize()).length() < 0.01 {
                saw_rest = true;
            } else if (arm - Vec3::X).length() < 0.01 {
                saw_raised = true;
            } else {
                panic!("the left upper arm points {arm}, neither 45° down nor level");
            }
            let hips = frame.hips_position.expect("hips position");
            assert!(
                (hips.y - 0.95 * 0.85 / 0.82).abs() < 1e-3,
                "hips at 95 cm, scaled by the leg ratio: {hips}"
            );
        }
    })
    .await
    .expect("both frames arrive");
    let status = status_json(&server).await.unwrap();
    assert_eq!(status["sources"][1]["kind"], "bvh", "{status}");
    assert_eq!(
        status["sources"][1]["streams"][0]["warnings"],
        serde_json::json!([])
    );

    let mut broken = test_config("bvh-broken");
    let bad = broken.data_dir.clone().unwrap().with_extension("bvh");
    std::fs::write(&bad, "HIERARCHY ROOT Hips { OFFSET 0 nope").unwrap();
    broken.bvh.push(BvhSourceConfig {
        file: bad,
        performer: "x".into(),
        filter: false,
        parts: None,
        priority: 0,
    });
    let err = start_server(broken)
        .await
        .err()
        .expect("a broken BVH file is an error at start");
    assert!(format!("{err:#}").contains("BVH"), "{err:#}");

    // A skeleton without arms or legs plays, and says what is missing.
    let mut partial = test_config("bvh-partial");
    let torso = partial.data_dir.clone().unwrap().with_extension("bvh");
    std::fs::write(
        &torso,
        "HIERARCHY\nROOT Hips\n{\n OFFSET 0 95 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n JOINT Spine\n {\n  OFFSET 0 10 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n  JOINT Head\n  {\n   OFFSET 0 50 0\n   CHANNELS 3 Zrotation Xrotation Yrotation\n   End Site\n   {\n    OFFSET 0 10 0\n   }\n  }\n }\n}\nMOTION\nFrames: 1\nFrame Time: 0.0333\n0 95 0 0 0 0 0 0 0 0 0 0\n",
    )
    .unwrap();
    partial.bvh.push(BvhSourceConfig {
        file: torso,
        performer: "torso".into(),
        filter: false,
        parts: None,
        priority: 0,
    });
    let server = start_server(partial).await.unwrap();
    let status = status_json(&server).await.unwrap();
    let warnings = status["sources"][1]["streams"][0]["warnings"].to_string();
    assert!(
        warnings.contains("missing required bones") && warnings.contains("leftUpperArm"),
        "{warnings}"
    );
}
