//! The OBS page in a real headless Chromium against a live server fed by a VMC sender: the
//! avatar's bones and expressions match the sent pose, over WebRTC, over the WebSocket fallback
//! when asked for, and over the fallback again when WebRTC cannot connect; the background is
//! transparent and the avatar is not. The bundled avatar is validated by three-vrm loading it.
//! A restarted server (its seq counting from 0 again) is followed at once, and a page whose
//! first requests fail comes up by itself.
//!
//! Needs Node.js, `npm ci` in clients/web (server/build.rs runs it) and Debian's chromium.

use std::time::Duration;

use kagura_avatar::{EXPRESSIONS, VrmVersion, mannequin};
use kagura_protocol::control::Subscription;
use kagura_protocol::{HumanoidBone, PoseFrame, rotation_error_degrees};
use kagura_server::Server;
use kagura_server::config::Config;
use kagura_tests::browser::BrowserPage;
use kagura_tests::*;
use serde_json::Value;

/// One Chromium at a time: the machine has two cores.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn artifact(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The test config, with a silent sender's pose held for ten minutes: the tests send a pose,
/// then examine the page at leisure (a silent source otherwise eases to rest after `hold_ms`).
fn held_config(tag: &str) -> Config {
    let mut config = test_config(tag);
    config.merging.hold_ms = 600_000;
    config
}

/// A server on `config` with a VMC sender for "main" and a QUIC subscriber to everyone.
async fn serve_with_sender(config: Config) -> (Server, VmcTestSender, kagura_client::Subscriber) {
    let server = start_server(config).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    let subscriber = subscribe(&server, Subscription::All).await.unwrap();
    (server, sender, subscriber)
}

/// Gives "main" the avatar `bytes`, written next to the test's data directory.
fn with_avatar(config: &mut Config, extension: &str, bytes: Vec<u8>) {
    let path = config.data_dir.clone().unwrap().with_extension(extension);
    std::fs::write(&path, bytes).unwrap();
    config.avatars.insert("main".into(), path);
}

/// Opens the page in Chromium and waits until it is ready.
async fn open_page(url: String, screenshot: std::path::PathBuf) -> BrowserPage {
    tokio::task::spawn_blocking(move || {
        let mut page = BrowserPage::open(&url, &screenshot, &[]);
        page.next_answer();
        page
    })
    .await
    .unwrap()
}

/// Sends `pose` until a QUIC subscriber sees it whole, and returns its seq.
async fn send_and_learn_seq(
    sender: &VmcTestSender,
    subscriber: &mut kagura_client::Subscriber,
    index: u32,
) -> u32 {
    send_and_learn(sender, subscriber, index).await.seq
}

/// Sends `pose` until a QUIC subscriber sees it whole, and returns the frame as published.
async fn send_and_learn(
    sender: &VmcTestSender,
    subscriber: &mut kagura_client::Subscriber,
    index: u32,
) -> PoseFrame {
    send_until_seen(sender, subscriber, index)
        .await
        .expect("the frame reaches QUIC subscribers")
}

fn assert_page_shows(pose: &Value, sent: &PoseFrame) {
    let bones = pose["bones"].as_object().expect("bones");
    for bone in HumanoidBone::ALL {
        let got: Vec<f32> = bones[bone.vrm1_name()]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_f64().unwrap() as f32)
            .collect();
        let got = glam::Quat::from_slice(&got);
        let err = rotation_error_degrees(got, sent.bone(bone).unwrap());
        assert!(err <= 0.5, "{bone}: {err}° from the sent rotation");
    }
    let expressions = pose["expressions"].as_object().expect("expressions");
    for e in EXPRESSIONS {
        let got = expressions[e.name()].as_f64().unwrap() as f32;
        let want = sent.expression(e).unwrap();
        assert!((got - want).abs() <= 0.02, "{e}: page {got}, sent {want}");
    }
}

/// Runs the page against a live server and checks it; returns the rendered skeleton's bone world
/// positions for the last pose.
async fn check_obs_page(
    query: &str,
    break_webrtc: bool,
    want_transport: &str,
    screenshot: &str,
    avatar: VrmVersion,
) -> Value {
    let _one_browser = BROWSER.lock().await;
    let mut config = held_config("browser");
    if avatar == VrmVersion::V0 {
        with_avatar(&mut config, "vrm0.vrm", mannequin(VrmVersion::V0));
    }
    let (server, sender, mut subscriber) = serve_with_sender(config).await;
    // A first frame, so the page has a pose to show from the start.
    send_and_learn_seq(&sender, &mut subscriber, 1).await;

    let url = format!(
        "http://127.0.0.1:{}/obs?performer=main{query}",
        server.http_addr.port()
    );
    let screenshot = artifact(screenshot);
    let page_task = tokio::task::spawn_blocking(move || {
        let mut page = BrowserPage::open(
            &url,
            &screenshot,
            if break_webrtc {
                &["--break-webrtc"]
            } else {
                &[]
            },
        );
        let ready = page.next_answer();
        (page, ready)
    });
    let (mut page, ready) = page_task.await.unwrap();
    assert_eq!(ready["transport"], want_transport, "{ready}");
    let loaded = &ready["avatar"];
    let want_version = if avatar == VrmVersion::V0 {
        "0.x"
    } else {
        "1.0"
    };
    assert_eq!(loaded["vrmVersion"], want_version, "{loaded}");
    let bones = loaded["bones"].as_array().unwrap();
    assert_eq!(
        bones.len(),
        HumanoidBone::COUNT,
        "three-vrm finds every bone: {loaded}"
    );
    let expressions = loaded["expressions"].as_array().unwrap();
    for e in EXPRESSIONS {
        assert!(
            expressions.iter().any(|x| x == e.name()),
            "{e} missing: {loaded}"
        );
    }

    let mut world = Value::Null;
    for index in [2, 3] {
        let seq = send_and_learn_seq(&sender, &mut subscriber, index).await;
        let shown = tokio::task::block_in_place(|| page.ask(&format!("wait {seq}")));
        assert_eq!(shown["transport"], want_transport);
        assert_page_shows(&shown["pose"], &test_pose(index));
        world = shown["world"].clone();
    }
    let status = status_json(&server).await.unwrap();
    let transports: Vec<&str> = status["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["transport"].as_str().unwrap())
        .collect();
    assert!(transports.contains(&want_transport), "{transports:?}");

    let pixels = tokio::task::block_in_place(|| page.ask("pixels"));
    let corners = pixels["corners"].as_array().unwrap();
    assert!(
        corners.iter().all(|a| a == 0),
        "background must be transparent: {pixels}"
    );
    let opaque = pixels["opaque"].as_f64().unwrap() / pixels["total"].as_f64().unwrap();
    assert!(
        opaque > 0.03,
        "the avatar must cover part of the frame: {pixels}"
    );
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_page_follows_the_performer_over_webrtc() {
    check_obs_page("", false, "webrtc", "obs-webrtc.png", VrmVersion::V1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_page_follows_the_performer_over_websocket_when_asked() {
    check_obs_page(
        "&transport=websocket",
        false,
        "websocket",
        "obs-websocket.png",
        VrmVersion::V1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_page_falls_back_to_websocket_when_webrtc_cannot_connect() {
    check_obs_page("", true, "websocket", "obs-fallback.png", VrmVersion::V1).await;
}

/// The same mannequin as VRM 0.x (facing −Z, VRM 0.x names) and as VRM 1.0 must end up in the
/// same pose: every rendered bone within 1 cm of its place on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vrm0_and_vrm1_avatars_take_the_same_pose() {
    let vrm1 = check_obs_page(
        "&transport=websocket",
        false,
        "websocket",
        "obs-vrm1.png",
        VrmVersion::V1,
    )
    .await;
    let vrm0 = check_obs_page(
        "&transport=websocket",
        false,
        "websocket",
        "obs-vrm0.png",
        VrmVersion::V0,
    )
    .await;
    for bone in HumanoidBone::ALL {
        let at = |w: &Value| -> glam::Vec3 {
            let c: Vec<f32> = w[bone.vrm1_name()]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            glam::Vec3::from_slice(&c)
        };
        let gap = (at(&vrm1) - at(&vrm0)).length();
        assert!(gap < 0.01, "{bone}: VRM 0.x and 1.0 differ by {gap} m");
    }
}

/// Every start-up step retries: with the first request of each refused (finding the performer,
/// the clock, the avatar, WebRTC signalling), the page still comes up by itself and follows the
/// performer (it used to give up for good at the first failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_page_comes_up_when_its_first_requests_fail() {
    let _one_browser = BROWSER.lock().await;
    let (server, sender, mut subscriber) = serve_with_sender(held_config("browser-start")).await;
    send_and_learn_seq(&sender, &mut subscriber, 1).await;

    // No performer named: the page asks /api/status for the first one. WebRTC only: `auto`
    // would take the WebSocket when signalling fails, and this is about trying again.
    let url = format!(
        "http://127.0.0.1:{}/obs?transport=webrtc",
        server.http_addr.port()
    );
    let screenshot = artifact("obs-start-retry.png");
    let (mut page, ready) = tokio::task::spawn_blocking(move || {
        let mut page = BrowserPage::open(&url, &screenshot, &["--fail-first-requests"]);
        let ready = page.next_answer();
        (page, ready)
    })
    .await
    .unwrap();
    assert_eq!(ready["transport"], "webrtc", "{ready}");
    let seq = send_and_learn_seq(&sender, &mut subscriber, 2).await;
    let shown = tokio::task::block_in_place(|| page.ask(&format!("wait {seq}")));
    assert_page_shows(&shown["pose"], &test_pose(2));
}

/// A server in a tokio runtime of its own: shutting that runtime down ends every task the server
/// spawned, connections included, and closes their sockets, as when the process exits (dropping
/// `Server` alone leaves axum's connection tasks running).
struct IsolatedServer {
    server: Option<Server>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl IsolatedServer {
    async fn start(config: Config) -> IsolatedServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.spawn(start_server(config)).await.unwrap().unwrap();
        IsolatedServer {
            server: Some(server),
            runtime: Some(runtime),
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    /// Stops the server and returns once its runtime's threads have ended: every socket of it
    /// is closed by then.
    async fn stop(mut self) {
        drop(self.server.take());
        let runtime = self.runtime.take().unwrap();
        tokio::task::spawn_blocking(move || runtime.shutdown_timeout(Duration::from_secs(10)))
            .await
            .unwrap();
    }
}

impl Drop for IsolatedServer {
    fn drop(&mut self) {
        drop(self.server.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The server restarts on the same HTTP port and counts seq from 0 again: the page reconnects and
/// shows the new server's pose at once (it used to drop every frame until the new count passed
/// the old one, standing still meanwhile). Over the WebSocket, which closes when the server goes,
/// so the page notices at once; nothing here waits for a time, only for conditions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_page_follows_a_restarted_server() {
    let _one_browser = BROWSER.lock().await;
    let config = held_config("browser-restart");
    let first = IsolatedServer::start(config.clone()).await;
    let sender = VmcTestSender::new(LOCALHOST, first.server().vmc_addrs[0])
        .await
        .unwrap();
    let mut subscriber = subscribe(first.server(), Subscription::All).await.unwrap();
    warm_up(&sender, &mut subscriber).await.unwrap();
    // Count far ahead, so that the restarted server's numbers are well below the page's newest
    // (poses 1..=120; the poses checked below have indices of their own).
    sender.send_poses(120, 240).await.unwrap();
    let before = send_and_learn(&sender, &mut subscriber, 1000).await;

    let http_port = first.server().http_addr.port();
    let url = format!("http://127.0.0.1:{http_port}/obs?performer=main&transport=websocket");
    let screenshot = artifact("obs-restart.png");
    let mut page = open_page(url, screenshot).await;
    let shown = tokio::task::block_in_place(|| page.ask(&format!("wait {}", before.seq)));
    assert_page_shows(&shown["pose"], &test_pose(1000));

    drop(subscriber);
    first.stop().await;
    let mut config = config;
    config.http_port = http_port;
    let second = IsolatedServer::start(config).await;
    let sender = VmcTestSender::new(LOCALHOST, second.server().vmc_addrs[0])
        .await
        .unwrap();
    let mut subscriber = subscribe(second.server(), Subscription::All).await.unwrap();
    warm_up(&sender, &mut subscriber).await.unwrap();
    let after = send_and_learn(&sender, &mut subscriber, 1001).await;
    assert!(
        after.seq < before.seq && after.capture_us > before.capture_us,
        "the case under test: a lower seq from a later run ({} then {})",
        before.seq,
        after.seq
    );
    let shown = tokio::task::block_in_place(|| {
        page.ask(&format!("wait {} {}", after.seq, after.capture_us))
    });
    // That frame or a later one of the new run (the sender repeats pose 1001 until the QUIC
    // subscriber has it, so the page may already show a repeat), never the old run's.
    let seq = shown["seq"].as_u64().unwrap() as u32;
    assert!(seq >= after.seq && seq < before.seq, "{shown}");
    assert_eq!(shown["transport"], "websocket");
    assert_page_shows(&shown["pose"], &test_pose(1001));
    drop(page);
    second.stop().await;
}

/// A sender whose own avatar is small (hips 0.65 m above its floor) drives the bundled mannequin
/// (hips at 0.95 m): the page scales the hips position by the avatar's hips height over the
/// performer's, which the server learns from the frames and announces, so the mannequin's feet
/// stay on its floor instead of sinking 0.3 m. And the whole avatar is in the full-body picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_performers_feet_meet_the_avatars_floor() {
    use kagura_protocol::HumanoidBone::*;
    let _one_browser = BROWSER.lock().await;
    let (server, sender, mut subscriber) = serve_with_sender(held_config("browser-floor")).await;
    let small_sender_hips = 0.65;
    let standing = |index: u32| {
        let mut pose = test_pose(index);
        pose.hips_position = Some(glam::Vec3::new(0.0, small_sender_hips, 0.0));
        for bone in [
            Hips,
            LeftUpperLeg,
            LeftLowerLeg,
            LeftFoot,
            RightUpperLeg,
            RightLowerLeg,
            RightFoot,
        ] {
            pose.set_bone(bone, glam::Quat::IDENTITY);
        }
        pose
    };
    // A second of standing: the server learns the sender's hips height from it.
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for i in 0..70u32 {
        tick.tick().await;
        sender
            .send_frame(&standing(i), i as f32 / 100.0)
            .await
            .unwrap();
    }
    let status = status_json(&server).await.unwrap();
    let reference = status["performers"][0]["hips_height_m"].as_f64().unwrap() as f32;
    assert!(
        (reference - small_sender_hips).abs() < 1e-3,
        "the server learned the sender's hips height: {status}"
    );
    let url = format!(
        "http://127.0.0.1:{}/obs?performer=main&transport=websocket",
        server.http_addr.port()
    );
    let screenshot = artifact("obs-floor.png");
    let mut page = open_page(url, screenshot).await;
    let avatar_hips = kagura_avatar::joint_position(Hips).y;
    tokio::task::block_in_place(|| page.ask(&format!("scale {}", avatar_hips / reference)));
    // Standing, until a subscriber has the pose: then the page is asked for it.
    let seq = send_pose_until_seen(&sender, &mut subscriber, &standing(70))
        .await
        .unwrap()
        .seq;
    let shown = tokio::task::block_in_place(|| page.ask(&format!("wait {seq}")));
    let foot_y = shown["world"]["leftFoot"][1].as_f64().unwrap() as f32;
    let rest_foot_y = kagura_avatar::joint_position(LeftFoot).y;
    assert!(
        (foot_y - rest_foot_y).abs() < 0.02,
        "the foot stands at {foot_y} m, its rest height is {rest_foot_y} m"
    );
    assert_eq!(shown["inView"], true, "the whole avatar is in the picture");
}

/// Full-body framing fits the avatar's bounds, not its head bone: an avatar with a hat 0.6 m
/// tall (as long hair or ears would reach) is in the picture whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_body_framing_fits_what_reaches_above_the_head() {
    let _one_browser = BROWSER.lock().await;
    let mut config = held_config("browser-hat");
    with_avatar(
        &mut config,
        "hat.vrm",
        kagura_avatar::mannequin_with_tall_hat(VrmVersion::V1),
    );
    let (server, sender, mut subscriber) = serve_with_sender(config).await;
    let url = format!(
        "http://127.0.0.1:{}/obs?performer=main&transport=websocket",
        server.http_addr.port()
    );
    let screenshot = artifact("obs-hat.png");
    let mut page = open_page(url, screenshot).await;
    // The rest pose (all rotations identity): the avatar stands as its bounds were measured.
    let mut rest = kagura_protocol::PoseFrame::new(kagura_protocol::PerformerId(0));
    rest.root = test_pose(1).root;
    let seq = send_pose_until_seen(&sender, &mut subscriber, &rest)
        .await
        .unwrap()
        .seq;
    let shown = tokio::task::block_in_place(|| page.ask(&format!("wait {seq}")));
    assert_eq!(shown["inView"], true, "the hat is in the picture: {shown}");
}

/// A perfect-sync avatar (ARKit's 52 as expressions, spelt `EyeBlinkLeft` as Unity exports them)
/// takes the tracked ARKit channels straight through and none of the VRM presets, which would
/// move the same face twice; the plain mannequin takes the presets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perfect_sync_avatars_take_arkit_channels_and_not_the_presets() {
    let _one_browser = BROWSER.lock().await;
    let mut config = held_config("browser-perfect-sync");
    with_avatar(
        &mut config,
        "sync.vrm",
        kagura_avatar::mannequin_perfect_sync(),
    );
    let (server, sender, mut subscriber) = serve_with_sender(config).await;
    send_and_learn_seq(&sender, &mut subscriber, 1).await;
    let url = format!(
        "http://127.0.0.1:{}/obs?performer=main&transport=websocket",
        server.http_addr.port()
    );
    let mut page = open_page(url, artifact("obs-perfect-sync.png")).await;
    // test_pose carries every preset and every ARKit channel, each at its own weight.
    let seq = send_and_learn_seq(&sender, &mut subscriber, 4).await;
    let shown = tokio::task::block_in_place(|| page.ask(&format!("wait {seq}")));
    let sent = test_pose(4);
    let expressions = shown["pose"]["expressions"]
        .as_object()
        .expect("expressions");
    let mut arkit_seen = 0;
    for e in kagura_protocol::Expression::ALL
        .into_iter()
        .filter(|e| e.is_arkit())
    {
        let mut name = e.name().to_string();
        name[..1].make_ascii_uppercase();
        let got = expressions[&name].as_f64().unwrap() as f32;
        let want = sent.expression(e).unwrap();
        assert!(
            (got - want).abs() <= 0.02,
            "{name}: page {got}, sent {want}"
        );
        arkit_seen += 1;
    }
    assert_eq!(arkit_seen, 52);
    let mut presets_sent = 0;
    for e in EXPRESSIONS
        .into_iter()
        .filter(|e| sent.expression(*e).unwrap() > 0.05)
    {
        let got = expressions[e.name()].as_f64().unwrap();
        assert_eq!(got, 0.0, "{e}: a perfect-sync avatar takes no presets");
        presets_sent += 1;
    }
    assert!(presets_sent >= 10, "only {presets_sent} presets had weight");
}
