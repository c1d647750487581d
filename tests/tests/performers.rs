//! Performers that come and go while the server runs: subscribers are told with a fresh `Info`,
//! a subscription to all performers gets the new ones' frames, and one connection naming a
//! performer many times gets each frame once.

use std::time::Duration;

use kagura_capture::{SourceFrame, StreamSpec};
use kagura_client::SubscriberEvent;
use kagura_merge::{BodyPart, SourceRole};
use kagura_protocol::control::{ServerInfo, Subscription};
use kagura_tests::*;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);

fn names(info: &ServerInfo) -> Vec<String> {
    info.performers.iter().map(|p| p.name.clone()).collect()
}

async fn next_info(subscriber: &mut kagura_client::Subscriber) -> ServerInfo {
    timeout(DEADLINE, async {
        loop {
            if let SubscriberEvent::Info(info) = subscriber.next_event().await.unwrap() {
                return info;
            }
        }
    })
    .await
    .expect("a fresh Info")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_hear_of_performers_that_come_and_go_and_get_their_frames() {
    let server = start_server(test_config("performers")).await.unwrap();
    let mut everyone = subscribe(&server, Subscription::All).await.unwrap();
    assert_eq!(names(&everyone.info()), ["main"]);

    // A source for a new performer appears (the internal API a later HTTP endpoint will use).
    let spec = StreamSpec {
        performer: "late".into(),
        role: SourceRole {
            parts: BodyPart::ALL.to_vec(),
            priority: 0,
        },
        filtered: false,
        key: "test".into(),
        hips_height_m: None,
    };
    let mut route = server.engine.attach_stream(&spec, "vmc");
    let info = next_info(&mut everyone).await;
    assert_eq!(names(&info), ["main", "late"]);
    let late = route.performer().id;
    assert_eq!(everyone.performer_name(late).as_deref(), Some("late"));

    let now = kagura_server::clock::now_us();
    let mut pose = test_pose(7);
    pose.capture_us = now;
    server
        .engine
        .submit(&mut route, SourceFrame::of_pose(pose, now), now);
    let frame = timeout(DEADLINE, everyone.next_frame())
        .await
        .expect("the new performer's frame")
        .unwrap();
    assert_eq!((frame.performer, pose_index(&frame)), (late, Some(7)));

    assert!(server.engine.remove_performer(late));
    assert_eq!(names(&next_info(&mut everyone).await), ["main"]);
    assert!(server.bus.slot(late).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_a_performer_ten_thousand_times_subscribes_once() {
    let server = start_server(test_config("dedupe")).await.unwrap();
    let many = Subscription::Named(vec!["main".to_string(); 10_000]);
    let mut subscriber = subscribe(&server, many).await.unwrap();
    let main = server.bus.id_of("main").unwrap();
    assert_eq!(server.bus.slot(main).unwrap().subscribers(), 1);
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    warm_up(&sender, &mut subscriber).await.unwrap();
    sender.send_poses(5, 120).await.unwrap();
    let mut seqs = Vec::new();
    timeout(DEADLINE, async {
        while seqs.last().is_none_or(|(_, index)| *index != Some(5)) {
            let frame = subscriber.next_frame().await.unwrap();
            seqs.push((frame.seq, pose_index(&frame)));
        }
    })
    .await
    .expect("the frames arrive");
    let mut unique: Vec<u32> = seqs.iter().map(|(s, _)| *s).collect();
    unique.dedup();
    assert_eq!(unique.len(), seqs.len(), "each frame once: {seqs:?}");

    // Too many different names is refused with a reason.
    let names: Vec<String> = (0..300).map(|i| format!("p{i}")).collect();
    let err = subscribe(&server, Subscription::Named(names))
        .await
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("more than 256"), "{err:#}");
}
