//! VMC out: a pose sent into a real server over VMC comes out at real UDP sockets as VMC, read
//! by python-osc (tests/vmc_out/receiver.py), not by Kagura's own OSC reader; targets added over
//! the API start receiving, deleted ones stop, send errors are counted in `/api/status`.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use glam::{Quat, Vec3};
use kagura_capture::vmc::unity::{position_from_unity, rotation_from_unity};
use kagura_capture::vmc::{MAX_VMC_DATAGRAM, VmcNames};
use kagura_protocol::{Expression, HumanoidBone, PoseFrame, rotation_error_degrees};
use kagura_server::vmc_out::VmcOutConfig;
use kagura_tests::*;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(30);

/// One datagram as the receiver printed it.
#[derive(Clone, Debug)]
struct Datagram {
    size: usize,
    messages: Vec<Vec<Value>>,
}

/// The python-osc receiver: a child process and its datagrams, line by line.
struct Receiver {
    child: Child,
    port: u16,
    lines: mpsc::UnboundedReceiver<Datagram>,
    /// Datagrams of the frame being assembled (a frame ends at the datagram with `T`).
    partial: Vec<Datagram>,
    /// `/VMC/Ext/T` of every frame received, in order: the sender's clock at each send.
    times: Vec<f32>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start() -> Receiver {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/vmc_out/receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (and has python-osc: pip install python-osc)");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let first: Value = serde_json::from_str(&first).unwrap_or_else(|_| {
            panic!("receiver.py did not start (python-osc installed?): {first:?}")
        });
        let port = first["port"].as_u64().expect("the receiver's port") as u16;
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { return };
                let v: Value = serde_json::from_str(&line).expect("a JSON line");
                assert!(
                    v.get("error").is_none(),
                    "python-osc refused a datagram: {v}"
                );
                let datagram = Datagram {
                    size: v["size"].as_u64().unwrap() as usize,
                    messages: v["messages"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m.as_array().unwrap().clone())
                        .collect(),
                };
                if tx.send(datagram).is_err() {
                    return;
                }
            }
        });
        Receiver {
            child,
            port,
            lines,
            partial: Vec::new(),
            times: Vec::new(),
        }
    }

    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The next whole frame: its datagrams, the last one carrying `/VMC/Ext/T`. A test marker
    /// (`/test/marker`) in between is returned as a frame of its own.
    async fn next_frame(&mut self) -> Vec<Datagram> {
        loop {
            let d = self.lines.recv().await.expect("the receiver is running");
            let marker = d.messages.iter().any(|m| m[0] == "/test/marker");
            let time = d.messages.iter().find(|m| m[0] == "/VMC/Ext/T");
            let ends = time.is_some();
            self.times.extend(time.map(|m| f(&m[1])));
            self.partial.push(d);
            if ends || marker {
                return std::mem::take(&mut self.partial);
            }
        }
    }
}

fn address(m: &[Value]) -> &str {
    m[0].as_str().unwrap()
}

fn f(v: &Value) -> f32 {
    v.as_f64().unwrap() as f32
}

/// The index of [`test_pose`] a frame carries (its root's z, 1 cm per index; unchanged by the
/// mirror of X).
fn frame_index(frame: &[Datagram]) -> Option<u32> {
    let root = frame
        .iter()
        .flat_map(|d| &d.messages)
        .find(|m| address(m) == "/VMC/Ext/Root/Pos")?;
    Some((f(&root[4]) / 0.01).round() as u32)
}

/// Checks one received frame against the pose sent in: the VMC app's order, datagram sizes,
/// every bone under its Unity name in Unity's space, every blendshape under `names`' name.
fn check_frame(frame: &[Datagram], sent: &PoseFrame, names: VmcNames) {
    for d in frame {
        assert!(d.size <= MAX_VMC_DATAGRAM, "a datagram of {} bytes", d.size);
    }
    let messages: Vec<&Vec<Value>> = frame.iter().flat_map(|d| &d.messages).collect();
    // The order: bone bundles, blendshapes, Apply, then Root/Pos (leftover bones), OK, T.
    let order: Vec<&str> = messages.iter().map(|m| address(m)).collect();
    let phase = |a: &str, after_root: bool| match a {
        "/VMC/Ext/Bone/Pos" if after_root => 3,
        "/VMC/Ext/Bone/Pos" => 0,
        "/VMC/Ext/Blend/Val" => 1,
        "/VMC/Ext/Blend/Apply" => 2,
        "/VMC/Ext/Root/Pos" => 3,
        "/VMC/Ext/OK" => 4,
        "/VMC/Ext/T" => 5,
        other => panic!("unexpected {other}"),
    };
    let mut at = 0;
    let mut after_root = false;
    for a in &order {
        let p = phase(a, after_root);
        assert!(p >= at, "{a} out of the VMC app's order: {order:?}");
        after_root |= p >= 3;
        at = p;
    }
    assert_eq!(order.last(), Some(&"/VMC/Ext/T"));
    assert_eq!(
        order
            .iter()
            .filter(|a| **a == "/VMC/Ext/Blend/Apply")
            .count(),
        1
    );
    assert_eq!(
        frame.last().unwrap().messages[0][0],
        "/VMC/Ext/Root/Pos",
        "the root bundle comes last"
    );

    let bones: BTreeMap<&str, &Vec<Value>> = messages
        .iter()
        .filter(|m| address(m) == "/VMC/Ext/Bone/Pos")
        .map(|m| (m[1].as_str().unwrap(), *m))
        .collect();
    assert_eq!(bones.len(), HumanoidBone::COUNT, "every bone, each once");
    for bone in HumanoidBone::ALL {
        let m = bones
            .get(bone.unity_name())
            .unwrap_or_else(|| panic!("{bone} missing under {}", bone.unity_name()));
        let q = rotation_from_unity(Quat::from_xyzw(f(&m[5]), f(&m[6]), f(&m[7]), f(&m[8])));
        let err = rotation_error_degrees(sent.bone(bone).unwrap(), q);
        assert!(err <= 0.01, "{bone}: {err}° off");
        if bone == HumanoidBone::Hips {
            let p = position_from_unity(Vec3::new(f(&m[2]), f(&m[3]), f(&m[4])));
            let s = sent.hips_position.unwrap();
            assert!((p - s).length() <= 0.01, "hips: sent {s}, got {p}");
        }
    }
    let root = messages
        .iter()
        .find(|m| address(m) == "/VMC/Ext/Root/Pos")
        .unwrap();
    let p = position_from_unity(Vec3::new(f(&root[2]), f(&root[3]), f(&root[4])));
    let q = rotation_from_unity(Quat::from_xyzw(
        f(&root[5]),
        f(&root[6]),
        f(&root[7]),
        f(&root[8]),
    ));
    let s = sent.root.unwrap();
    assert!(
        (p - s.position).length() <= 0.01,
        "root: sent {}, got {p}",
        s.position
    );
    assert!(rotation_error_degrees(s.rotation, q) <= 0.01);

    let blends: BTreeMap<&str, f32> = messages
        .iter()
        .filter(|m| address(m) == "/VMC/Ext/Blend/Val")
        .map(|m| (m[1].as_str().unwrap(), f(&m[2])))
        .collect();
    let mut expected = 0;
    for expression in Expression::ALL {
        let Some(name) = names.name(expression) else {
            continue;
        };
        expected += 1;
        let got = blends
            .get(name)
            .unwrap_or_else(|| panic!("{expression} missing under {name}"));
        let s = sent.expression(expression).unwrap();
        assert!((got - s).abs() <= 0.01, "{name}: sent {s}, got {got}");
    }
    assert_eq!(blends.len(), expected, "no other names: {blends:?}");
}

/// Sends [`test_pose`] `index` every 10 ms (the sender's pace) until `receiver` gets a frame of
/// it; returns that frame.
async fn send_until_received(
    sender: &VmcTestSender,
    receiver: &mut Receiver,
    index: u32,
) -> Vec<Datagram> {
    let pose = test_pose(index);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0u32;
    tokio::time::timeout(DEADLINE, async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    sender.send_frame(&pose, sent as f32 / 100.0).await.unwrap();
                    sent += 1;
                }
                frame = receiver.next_frame() => {
                    if frame_index(&frame) == Some(index) {
                        return frame;
                    }
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("pose {index} never came out"))
}

/// Consecutive sends are at least a period apart (1 ms of slack for the clock reads).
fn assert_paced(times: &[f32], rate_hz: f32) {
    assert!(times.len() >= 2, "{times:?}");
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= 1.0 / rate_hz - 0.001,
            "{gap} s between sends at {rate_hz} Hz: {times:?}"
        );
    }
}

async fn api(
    server: &kagura_server::Server,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (code, bytes) = http_request(server.http_addr, method, path, body.as_ref())
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (code, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poses_come_out_as_vmc_to_configured_and_api_targets_until_deleted() {
    let mut configured = Receiver::start();
    let mut config = test_config("vmc-out");
    config.vmc_out.push(VmcOutConfig {
        target: configured.target(),
        performer: "main".into(),
        rate_hz: 60.0,
        names: VmcNames::All,
    });
    let server = start_server(config).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();

    // The configured target: presets under VRM 0.x names and ARKit's 52.
    let frame = send_until_received(&sender, &mut configured, 1).await;
    check_frame(&frame, &test_pose(1), VmcNames::All);

    // A target added over the API, VRM 1.0 names, its own rate.
    let mut added = Receiver::start();
    let (code, body) = api(
        &server,
        "POST",
        "/api/vmc-out",
        Some(json!({ "target": added.target(), "performer": "main", "rate_hz": 30, "names": "vrm1" })),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let added_id = body["id"].as_u64().unwrap();
    let frame = send_until_received(&sender, &mut added, 2).await;
    check_frame(&frame, &test_pose(2), VmcNames::Vrm1);
    // Paced: with poses coming in at 100 Hz, the 30 Hz target gets frames at least 1/30 s
    // apart by the server's own clock (its `T`), and the 60 Hz one 1/60 s apart.
    while added.times.len() < 8 {
        send_until_received(&sender, &mut added, 2).await;
    }
    while configured.times.len() < 8 {
        send_until_received(&sender, &mut configured, 2).await;
    }
    assert_paced(&added.times, 30.0);
    assert_paced(&configured.times, 60.0);
    // And the default names, VRM 0.x presets only, on the configured one's next pose.
    let (code, body) = api(
        &server,
        "POST",
        "/api/vmc-out",
        Some(json!({ "target": "127.0.0.1:1", "performer": "main" })),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (_, list) = api(&server, "GET", "/api/vmc-out", None).await;
    let listed = list.as_array().unwrap();
    assert_eq!(listed.len(), 3, "{list}");
    assert_eq!(listed[2]["names"], "vrm0");
    assert_eq!(listed[2]["rate_hz"], 60.0);

    // Status counts what went out.
    let status = status_json(&server).await.unwrap();
    let out = status["vmc_out"].as_array().unwrap();
    let first = &out[0];
    assert_eq!(first["target"], configured.target());
    assert!(first["frames_sent"].as_u64().unwrap() >= 1, "{first}");
    assert!(first["datagrams_sent"].as_u64().unwrap() > first["frames_sent"].as_u64().unwrap());
    assert!(first["bytes_sent"].as_u64().unwrap() > 1000);
    assert_eq!(first["send_errors"], 0);

    // Deleted: it stops. The configured target sees two more poses; the deleted one none of
    // them (everything it received before a marker sent after them is read).
    let (code, _) = api(&server, "DELETE", &format!("/api/vmc-out/{added_id}"), None).await;
    assert_eq!(code, 204);
    let (code, _) = api(&server, "DELETE", &format!("/api/vmc-out/{added_id}"), None).await;
    assert_eq!(code, 404);
    let (_, list) = api(&server, "GET", "/api/vmc-out", None).await;
    assert!(list.as_array().unwrap().iter().all(|t| t["id"] != added_id));
    let frame = send_until_received(&sender, &mut configured, 3).await;
    check_frame(&frame, &test_pose(3), VmcNames::All);
    let frame = send_until_received(&sender, &mut configured, 4).await;
    check_frame(&frame, &test_pose(4), VmcNames::All);
    let marker = rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage {
        addr: "/test/marker".into(),
        args: vec![],
    }))
    .unwrap();
    let probe = tokio::net::UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    probe
        .send_to(&marker, SocketAddr::new(LOCALHOST, added.port))
        .await
        .unwrap();
    let after_delete = tokio::time::timeout(DEADLINE, async {
        let mut indices = Vec::new();
        loop {
            let frame = added.next_frame().await;
            if frame
                .iter()
                .any(|d| d.messages.iter().any(|m| m[0] == "/test/marker"))
            {
                return indices;
            }
            indices.extend(frame_index(&frame));
        }
    })
    .await
    .expect("the marker arrives");
    assert!(
        !after_delete.contains(&3) && !after_delete.contains(&4),
        "a deleted target still received {after_delete:?}"
    );
}

/// A target the network refuses (broadcast without SO_BROADCAST: EACCES) is counted in
/// `/api/status`, and the others go on receiving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_errors_are_counted_and_block_no_one() {
    let mut good = Receiver::start();
    let mut config = test_config("vmc-out-errors");
    for target in ["255.255.255.255:39539".to_string(), good.target()] {
        config.vmc_out.push(VmcOutConfig {
            target,
            performer: "main".into(),
            rate_hz: 120.0,
            names: VmcNames::Vrm0,
        });
    }
    let server = start_server(config).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    let frame = send_until_received(&sender, &mut good, 7).await;
    check_frame(&frame, &test_pose(7), VmcNames::Vrm0);
    // Status is read after each sent frame (the sender's pace) until the error shows.
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let refused = tokio::time::timeout(DEADLINE, async {
        let mut sent = 0u32;
        loop {
            tick.tick().await;
            sender.send_frame(&test_pose(8), sent as f32).await.unwrap();
            sent += 1;
            let status = status_json(&server).await.unwrap();
            let refused = status["vmc_out"][0].clone();
            if refused["send_errors"].as_u64().unwrap() > 0 {
                return refused;
            }
        }
    })
    .await
    .expect("the refused sends are counted");
    assert_eq!(refused["frames_sent"], 0, "{refused}");
    assert!(
        refused["last_error"].as_str().unwrap().len() > 3,
        "{refused}"
    );
    let frame = send_until_received(&sender, &mut good, 9).await;
    check_frame(&frame, &test_pose(9), VmcNames::Vrm0);
}

/// Publishes [`test_pose`] `index` as performer `id`'s frame every 10 ms (a source's pace) until
/// `receiver` gets it; returns that frame.
async fn publish_until_received(
    server: &kagura_server::Server,
    id: kagura_protocol::PerformerId,
    receiver: &mut Receiver,
    index: u32,
) -> Vec<Datagram> {
    let mut pose = test_pose(index);
    pose.performer = id;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tokio::time::timeout(DEADLINE, async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    pose.seq += 1;
                    let slot = server.bus.slot(id).expect("the performer is on the bus");
                    slot.publish(&pose, kagura_server::clock::now_us());
                }
                frame = receiver.next_frame() => {
                    if frame_index(&frame) == Some(index) {
                        return frame;
                    }
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("pose {index} never came out"))
}

/// A target for a performer that does not exist yet waits for it, and follows it when it is
/// removed and comes back (a new slot on the bus, while the old one is still held elsewhere).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_waits_for_its_performer_and_follows_it_when_it_comes_back() {
    let mut receiver = Receiver::start();
    let server = start_server(test_config("vmc-out-late")).await.unwrap();
    let (code, body) = api(
        &server,
        "POST",
        "/api/vmc-out",
        Some(json!({ "target": receiver.target(), "performer": "late", "names": "arkit" })),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (_, list) = api(&server, "GET", "/api/vmc-out", None).await;
    assert_eq!(list[0]["subscribed"], false, "{list}");
    let mut kept = Vec::new();
    for index in [5, 6] {
        let performer = server.engine.add_performer("late");
        let frame = publish_until_received(&server, performer.id, &mut receiver, index).await;
        check_frame(&frame, &test_pose(index), VmcNames::Arkit);
        assert!(server.engine.remove_performer(performer.id));
        kept.push(performer);
    }
    // Refused: bad rate, a target that is not HOST:PORT, unknown fields.
    for body in [
        json!({ "target": receiver.target(), "performer": "late", "rate_hz": 0 }),
        json!({ "target": "no port here", "performer": "late" }),
        json!({ "target": receiver.target(), "performer": "late", "name": "vrm0" }),
    ] {
        let (code, _) = api(&server, "POST", "/api/vmc-out", Some(body.clone())).await;
        assert!((400..500).contains(&code), "{body} → {code}");
    }
}
