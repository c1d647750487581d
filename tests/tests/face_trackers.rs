//! Phone and desktop face trackers in over real UDP, QUIC out, status over HTTP, on loopback:
//! a fake iFacialMocap phone and a fake VTube Studio phone that first receive Kagura's
//! handshake and then stream to where it came from, and an OpenSeeFace tracker that just sends.

use std::net::SocketAddr;
use std::time::Duration;

use glam::{Mat3, Quat, Vec3};
use kagura_capture::SourceConfig;
use kagura_capture::ifacialmocap::{IFacialMocapConfig, IfmVersion, START_STRING_V2};
use kagura_capture::openseeface::{Feature, OpenSeeFaceConfig, OsfRecord};
use kagura_capture::vtube_studio::VtubeStudioConfig;
use kagura_client::Subscriber;
use kagura_protocol::control::Subscription;
use kagura_protocol::{Expression, HumanoidBone, PoseFrame};
use kagura_server::Server;
use kagura_tests::*;
use tokio::net::UdpSocket;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);
/// One 8-bit step of an expression weight on the wire, and a little.
const WEIGHT_TOLERANCE: f32 = 0.5 / 255.0 + 1e-4;

async fn server_with(tag: &str, source: SourceConfig) -> (Server, Subscriber) {
    let mut config = test_config(tag);
    config.source.push(source);
    let server = start_server(config).await.unwrap();
    let subscriber = subscribe(&server, Subscription::Named(vec!["face".into()]))
        .await
        .unwrap();
    (server, subscriber)
}

/// Where the server's source of `kind` listens, from `/api/status`.
async fn source_addr(server: &Server, kind: &str) -> SocketAddr {
    let status = status_json(server).await.unwrap();
    let source = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} source in {status}"));
    let addr: SocketAddr = source["address"].as_str().unwrap().parse().unwrap();
    SocketAddr::new(LOCALHOST, addr.port())
}

/// The counters `/api/status` shows for the source of `kind`'s first stream.
async fn counters(server: &Server, kind: &str) -> serde_json::Value {
    let status = status_json(server).await.unwrap();
    let source = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} source in {status}"))
        .clone();
    assert_eq!(source["streams"][0]["performer"], "face", "{source}");
    source["streams"][0]["counters"].clone()
}

/// Sends `datagram(k)` for k = 0, 1, … every 10 ms (a tracker's pace, not synchronisation) from
/// `socket` to `to` until `subscriber` receives a frame that `wanted` accepts; returns it.
async fn send_until(
    socket: &UdpSocket,
    to: SocketAddr,
    datagram: impl Fn(u32) -> Vec<u8>,
    subscriber: &mut Subscriber,
    wanted: impl Fn(&PoseFrame) -> bool,
) -> PoseFrame {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    timeout(DEADLINE, async {
        let mut k = 0u32;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    socket.send_to(&datagram(k), to).await.unwrap();
                    k += 1;
                }
                frame = subscriber.next_frame() => {
                    let frame = frame.unwrap();
                    if wanted(&frame) {
                        return frame;
                    }
                }
            }
        }
    })
    .await
    .expect("the tracker's face never arrived")
}

/// Where the face of a frame points: the neck's and head's rotations applied to +Z.
fn facing(frame: &PoseFrame) -> Option<Vec3> {
    Some(frame.bone(HumanoidBone::Neck)? * frame.bone(HumanoidBone::Head)? * Vec3::Z)
}

fn weight_is(frame: &PoseFrame, e: Expression, value: f32) -> bool {
    frame
        .expression(e)
        .is_some_and(|w| (w - value).abs() <= WEIGHT_TOLERANCE)
}

/// The fake phone's first datagram from Kagura, and where it came from.
async fn first_request(phone: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 2048];
    let (len, from) = timeout(DEADLINE, phone.recv_from(&mut buf))
        .await
        .expect("Kagura never contacted the phone")
        .unwrap();
    buf.truncate(len);
    (buf, from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ifacialmocap_phone_gets_the_start_string_and_its_face_reaches_a_subscriber() {
    let phone = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let (server, mut subscriber) = server_with(
        "ifm",
        SourceConfig::Ifacialmocap(IFacialMocapConfig {
            phone: Some(phone.local_addr().unwrap().to_string()),
            port: 0,
            version: IfmVersion::V2,
            performer: "face".into(),
            mirror: false,
            filter: false,
            parts: None,
            priority: 10,
        }),
    )
    .await;
    let (start, kagura) = first_request(&phone).await;
    assert_eq!(start, START_STRING_V2.as_bytes());
    assert_eq!(
        kagura.port(),
        source_addr(&server, "ifacialmocap").await.port()
    );

    // A v2 frame with MeowFace's spaces, head yawed +30°; each differs (a repeat means lost).
    let datagram = |k: u32| {
        format!(
            "jawOpen & 40|eyeBlink_L&100|cheekPuff&{}|trackingStatus&1|=head#0,30,0,0,0,-0.5|\
             rightEye#0,0,0|leftEye#0,0,0|",
            k % 50
        )
        .into_bytes()
    };
    let frame = send_until(&phone, kagura, datagram, &mut subscriber, |f| {
        weight_is(f, Expression::JawOpen, 0.4) && facing(f).is_some()
    })
    .await;
    let face = facing(&frame).unwrap();
    assert!(
        face.x < -0.45 && face.z > 0.8,
        "positive yaw turns the avatar to its own right (−X): {face}"
    );
    assert!(weight_is(&frame, Expression::EyeBlinkLeft, 1.0));
    assert!(frame.bone(HumanoidBone::LeftEye).is_some());
    assert_eq!(
        frame.bone(HumanoidBone::Hips),
        None,
        "a face source drives no body"
    );

    let counters = counters(&server, "ifacialmocap").await;
    assert!(counters["frames"].as_u64().unwrap() >= 1, "{counters}");
    assert!(counters["start_strings_sent"].as_u64().unwrap() >= 1);
    assert!(
        counters["unknown_items"].as_u64().unwrap() >= 1,
        "trackingStatus"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vtube_studio_phone_is_asked_for_data_and_its_face_reaches_a_subscriber() {
    let phone = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let (server, mut subscriber) = server_with(
        "vts",
        SourceConfig::VtubeStudio(VtubeStudioConfig {
            phone: LOCALHOST.to_string(),
            phone_port: phone.local_addr().unwrap().port(),
            port: 0,
            performer: "face".into(),
            mirror: false,
            filter: false,
            parts: None,
            priority: 10,
        }),
    )
    .await;
    let (request, kagura) = first_request(&phone).await;
    let request: serde_json::Value = serde_json::from_slice(&request).unwrap();
    assert_eq!(request["messageType"], "iOSTrackingDataRequest");
    assert_eq!(request["sentBy"], "Kagura");
    // The phone sends to the requesting IP, at the ports the request lists.
    let port = request["ports"][0].as_u64().unwrap() as u16;
    assert_eq!(port, kagura.port(), "the request names the bound port");
    let target = SocketAddr::new(kagura.ip(), port);

    let datagram = |k: u32| {
        format!(
            r#"{{"Timestamp":{},"Hotkey":-1,"FaceFound":true,"Rotation":{{"x":0,"y":30,"z":0}},
            "Position":{{"x":0.4,"y":1.3,"z":4.7}},"EyeLeft":{{"x":0,"y":0,"z":0}},
            "EyeRight":{{"x":0,"y":0,"z":0}},"SomethingNew":1,
            "BlendShapes":[{{"k":"JawOpen","v":0.6}},{{"k":"mouthSmile_L","v":0.25}}]}}"#,
            1_700_000_000_000u64 + 16 * k as u64
        )
        .into_bytes()
    };
    let frame = send_until(&phone, target, datagram, &mut subscriber, |f| {
        weight_is(f, Expression::JawOpen, 0.6) && facing(f).is_some()
    })
    .await;
    let face = facing(&frame).unwrap();
    assert!(
        face.x < -0.45 && face.z > 0.8,
        "positive Rotation.y turns the avatar to its own right (−X): {face}"
    );
    assert!(weight_is(&frame, Expression::MouthSmileLeft, 0.25));
    assert!(frame.bone(HumanoidBone::RightEye).is_some());

    let counters = counters(&server, "vtube_studio").await;
    assert!(counters["frames"].as_u64().unwrap() >= 1, "{counters}");
    assert!(counters["requests_sent"].as_u64().unwrap() >= 1);
}

/// What OpenSeeFace sends for a face seen turned to the performer's own left: the fit's
/// rotation maps the face model (x its right, y up, z out of the face) into the fit's camera
/// frame (x down the image, y to its right, z away from the camera); looking into the camera,
/// the face's right shows on the image's left, its top at the top, its nose toward the camera;
/// turned left, the nose swings toward the image's right. `facetracker.py` sends the conjugate
/// of that rotation's quaternion.
fn osf_turned_to_own_left(degrees: f32) -> [f32; 4] {
    let facing_camera = Mat3::from_cols(Vec3::NEG_Y, Vec3::NEG_X, Vec3::NEG_Z);
    let turn = Mat3::from_quat(Quat::from_rotation_x(degrees.to_radians()));
    assert!(
        (turn * Vec3::NEG_Z).y > 0.0,
        "the nose moves to the image's right"
    );
    Quat::from_mat3(&(turn * facing_camera))
        .conjugate()
        .to_array()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openseeface_records_reach_a_subscriber_and_bad_lengths_are_counted() {
    let (server, mut subscriber) = server_with(
        "osf",
        SourceConfig::Openseeface(OpenSeeFaceConfig {
            port: 0,
            performer: Some("face".into()),
            faces: Default::default(),
            mirror: false,
            filter: false,
            parts: None,
            priority: 10,
        }),
    )
    .await;
    let target = source_addr(&server, "openseeface").await;
    let tracker = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    tracker.send_to(&[0u8; 1000], target).await.unwrap();

    let datagram = |k: u32| {
        let mut record = OsfRecord {
            time_s: 1_700_000_000.0 + k as f64 / 100.0,
            face_id: 0,
            camera: [640.0, 480.0],
            eye_open_right: 1.0,
            eye_open_left: 0.25,
            success: true,
            quaternion: osf_turned_to_own_left(30.0),
            translation: [0.0, 0.0, 8.0],
            ..OsfRecord::default()
        };
        record.features[Feature::MouthOpen as usize] = 0.7;
        let mut bytes = Vec::new();
        record.encode(&mut bytes);
        bytes
    };
    let frame = send_until(&tracker, target, datagram, &mut subscriber, |f| {
        weight_is(f, Expression::JawOpen, 0.7) && facing(f).is_some()
    })
    .await;
    let face = facing(&frame).unwrap();
    assert!(
        face.x > 0.45 && face.z > 0.8,
        "turned to the performer's own left: the avatar's own left (+X): {face}"
    );
    assert!(weight_is(&frame, Expression::EyeBlinkLeft, 0.75));
    assert!(weight_is(&frame, Expression::EyeBlinkRight, 0.0));

    let counters = counters(&server, "openseeface").await;
    assert!(counters["frames"].as_u64().unwrap() >= 1, "{counters}");
    assert_eq!(counters["rejected_length"], 1, "{counters}");
    let status = status_json(&server).await.unwrap();
    let osf = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "openseeface")
        .unwrap();
    assert_eq!(osf["errors"], 1);
}
