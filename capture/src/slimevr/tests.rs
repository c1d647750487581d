//! The source as a whole: fed datagrams built from the documented layouts, at given times.

use std::net::SocketAddr;

use glam::Quat;
use kagura_protocol::{HumanoidBone, rotation_error_degrees};

use super::convention::world_orientation;
use super::packet::{self, tracker};
use super::*;
use crate::source::{Source, SourceAction, SourceEvent, SourceFrame, SourceInput, Transmit};

const MAC: [u8; 6] = [0xAA, 0xBB, 0xCC, 0x00, 0x11, 0x22];
const OTHER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x07];
const T0: u64 = 1_000_000_000;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([192, 168, 1, 40], port))
}

fn source(extra: &str) -> SlimeVrSource {
    let config: SlimeVrConfig =
        toml::from_str(&format!("performer = \"p\"\n{extra}")).expect("config");
    SlimeVrSource::new(&config).expect("source")
}

fn feed(s: &mut SlimeVrSource, from: SocketAddr, bytes: &[u8], now: u64) {
    s.handle_input(SourceInput::Datagram { from, bytes }, now);
}

fn transmits(s: &mut SlimeVrSource) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn frames(s: &mut SlimeVrSource) -> Vec<SourceFrame> {
    std::iter::from_fn(|| s.poll_event())
        .filter_map(SourceEvent::into_frame)
        .map(|(_, f)| f)
        .collect()
}

/// A quaternion as a tracker sends it.
fn wire(q: Quat) -> [f32; 4] {
    q.to_array()
}

/// Handshake and SensorInfo for two trackers (hips = 6, left upper leg = 7) from `from`.
fn connect(s: &mut SlimeVrSource, from: SocketAddr, now: u64) {
    feed(s, from, &tracker::handshake(MAC, "0.6.3"), now);
    feed(s, from, &tracker::sensor_info(1, 0, 1, 6), now);
    feed(s, from, &tracker::sensor_info(2, 1, 1, 7), now);
}

#[test]
fn handshake_feature_flags_and_sensor_info_get_their_replies_at_the_sender() {
    let mut s = source("");
    let from = addr(50123);
    feed(&mut s, from, &tracker::handshake(MAC, "0.6.3"), T0);
    let sent = transmits(&mut s);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, from);
    assert_eq!(&sent[0].bytes[..13], b"\x03Hey OVR =D 5");
    feed(&mut s, from, &tracker::feature_flags(1, &[0x06]), T0);
    assert_eq!(
        transmits(&mut s)[0].bytes,
        [0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0x03]
    );
    feed(&mut s, from, &tracker::sensor_info(2, 1, 1, 7), T0);
    assert_eq!(transmits(&mut s)[0].bytes, [0, 0, 0, 15, 1, 1]);
    let device = &s.devices()[0];
    assert_eq!(device.id, "AA:BB:CC:00:11:22");
    assert_eq!(device.firmware, "0.6.3");
    assert_eq!(device.protocol_version, Some(22));
    assert_eq!(device.firmware_flags, [0x06]);
    assert_eq!(
        device.trackers[&1].bone,
        Some(HumanoidBone::LeftUpperLeg),
        "from its SensorInfo position"
    );
    // Before a handshake, a sender is unknown and answered nothing.
    feed(
        &mut s,
        addr(1),
        &tracker::rotation(1, 0, [0.0, 0.0, 0.0, 1.0]),
        T0,
    );
    assert!(transmits(&mut s).is_empty());
    assert_eq!(s.stats().unknown_senders, 1);
}

#[test]
fn a_frame_once_every_tracker_reported_or_after_one_period() {
    let mut s = source("rate_hz = 50");
    let from = addr(50123);
    connect(&mut s, from, T0);
    let hips = Quat::from_rotation_z(0.3);
    let thigh = Quat::from_rotation_x(-0.4) * Quat::from_rotation_y(0.2);
    feed(
        &mut s,
        from,
        &tracker::rotation(3, 0, wire(hips)),
        T0 + 1000,
    );
    assert!(frames(&mut s).is_empty(), "the thigh has not reported");
    assert_eq!(s.poll_timeout(), Some(T0 + 1000 + 20_000));
    feed(
        &mut s,
        from,
        &tracker::rotation(4, 1, wire(thigh)),
        T0 + 2000,
    );
    let got = frames(&mut s);
    assert_eq!(got.len(), 1);
    let f = &got[0];
    assert_eq!((f.arrival_us, f.pose.capture_us), (T0 + 2000, T0 + 2000));
    let sensed = |b: HumanoidBone| f.sensors[b.index()].unwrap();
    let expect_hips = world_orientation(wire(hips)).unwrap();
    assert!(rotation_error_degrees(sensed(HumanoidBone::Hips), expect_hips) < 1e-3);
    let expect_thigh = world_orientation(wire(thigh)).unwrap();
    assert!(rotation_error_degrees(sensed(HumanoidBone::LeftUpperLeg), expect_thigh) < 1e-3);
    assert_eq!(f.sensors.iter().flatten().count(), 2);
    assert_eq!(f.pose.bones().count(), 0, "bones are the solve stage's");
    // The hips lie still (no rotation packets): the thigh alone gives a frame one period on,
    // with the hips where they were.
    let bent = Quat::from_rotation_x(0.5) * thigh;
    feed(
        &mut s,
        from,
        &tracker::rotation(5, 1, wire(bent)),
        T0 + 10_000,
    );
    assert!(frames(&mut s).is_empty());
    let due = s.poll_timeout().unwrap();
    assert_eq!(due, T0 + 30_000);
    s.handle_timeout(due - 1);
    assert!(frames(&mut s).is_empty());
    s.handle_timeout(due);
    let got = frames(&mut s);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].pose.seq, 1);
    assert_eq!(
        got[0].sensors[HumanoidBone::Hips.index()],
        Some(expect_hips)
    );
    assert_eq!(got[0].arrival_us, T0 + 10_000);
    assert_eq!(s.stats().frames, 2);
}

#[test]
fn packet_numbers_must_rise_and_a_handshake_starts_them_again() {
    let mut s = source("");
    let from = addr(50123);
    connect(&mut s, from, T0);
    let q = wire(Quat::IDENTITY);
    feed(&mut s, from, &tracker::rotation(10, 0, q), T0);
    feed(&mut s, from, &tracker::rotation(10, 0, q), T0);
    feed(&mut s, from, &tracker::rotation(9, 0, q), T0);
    assert_eq!(s.stats().counters.out_of_order, 2);
    assert_eq!(s.devices()[0].counters.out_of_order, 2);
    // The echo of the server's ping carries number 0: always taken.
    feed(&mut s, from, &tracker::pong(&packet::ping(5)), T0);
    assert_eq!(s.stats().counters.out_of_order, 2);
    // The board rebooted: its numbers start again after its handshake.
    feed(&mut s, from, &tracker::handshake(MAC, "0.6.3"), T0);
    feed(&mut s, from, &tracker::rotation(1, 0, q), T0);
    assert_eq!(s.stats().counters.out_of_order, 2);
    assert_eq!(s.report().errors, 2);
}

#[test]
fn a_tracker_reconnecting_from_a_new_port_keeps_its_identity_and_bone() {
    let key = key_of(MAC, 0);
    let mut s = source(&format!(
        "trackers = {{ \"{}\" = \"rightLowerLeg\" }}",
        key.to_lowercase()
    ));
    let first = addr(50123);
    connect(&mut s, first, T0);
    assert_eq!(
        s.devices()[0].trackers[&0].bone,
        Some(HumanoidBone::RightLowerLeg),
        "the config wins over the SensorInfo position (hips)"
    );
    feed(
        &mut s,
        first,
        &tracker::rotation(5, 0, wire(Quat::IDENTITY)),
        T0,
    );
    // The board reconnects from another address and port (its number restarts at 0).
    let second = SocketAddr::from(([192, 168, 1, 41], 40000));
    feed(
        &mut s,
        second,
        &tracker::handshake(MAC, "0.6.3"),
        T0 + 5_000,
    );
    assert_eq!(transmits(&mut s).last().unwrap().to, second);
    assert_eq!(s.devices().len(), 1, "the same device");
    let device = &s.devices()[0];
    assert_eq!((device.address, device.address_changes), (second, 1));
    assert_eq!(device.trackers[&0].bone, Some(HumanoidBone::RightLowerLeg));
    assert_eq!(device.trackers[&1].bone, Some(HumanoidBone::LeftUpperLeg));
    feed(
        &mut s,
        second,
        &tracker::rotation(1, 0, wire(Quat::IDENTITY)),
        T0 + 6_000,
    );
    assert_eq!(s.stats().counters.out_of_order, 0);
    // The old address is nobody's now.
    feed(
        &mut s,
        first,
        &tracker::rotation(6, 0, wire(Quat::IDENTITY)),
        T0 + 7_000,
    );
    assert_eq!(s.stats().unknown_senders, 1);
    // A second board is a second device. It takes over the first board's old address; the
    // first board moving again leaves it there.
    feed(
        &mut s,
        first,
        &tracker::handshake(OTHER_MAC, "0.6.3"),
        T0 + 8_000,
    );
    assert_eq!(s.devices().len(), 2);
    let third = addr(50300);
    feed(&mut s, third, &tracker::handshake(MAC, "0.6.3"), T0 + 9_000);
    feed(&mut s, first, &tracker::heartbeat(1), T0 + 10_000);
    feed(&mut s, third, &tracker::heartbeat(1), T0 + 10_000);
    assert_eq!(s.stats().unknown_senders, 1);
    assert_eq!(s.devices()[1].counters.datagrams, 2);
}

#[test]
fn when_full_a_new_board_takes_the_place_of_the_one_lost_longest_ago() {
    let mut s = source("lost_after_ms = 1000");
    let mac = |i: usize| [2, 0, 0, 0, (i >> 8) as u8, i as u8];
    for i in 0..MAX_DEVICES {
        feed(
            &mut s,
            addr(i as u16 + 1),
            &tracker::handshake(mac(i), ""),
            T0 + i as u64,
        );
    }
    feed(
        &mut s,
        addr(999),
        &tracker::handshake(mac(999), ""),
        T0 + 100,
    );
    assert_eq!(s.stats().too_many_devices, 1, "all live: refused");
    // All but board 5 go quiet and are lost; board 7 was lost first.
    for i in (0..MAX_DEVICES).filter(|i| *i != 5) {
        let t = if i == 7 { T0 + 200 } else { T0 + 300_000 };
        feed(&mut s, addr(i as u16 + 1), &tracker::heartbeat(1), t);
    }
    feed(&mut s, addr(6), &tracker::heartbeat(2), T0 + 2_000_000);
    s.handle_timeout(T0 + 1_500_000);
    assert_eq!(s.devices().iter().filter(|d| d.live).count(), 1);
    feed(
        &mut s,
        addr(999),
        &tracker::handshake(mac(999), ""),
        T0 + 2_000_000,
    );
    assert_eq!(s.devices().len(), MAX_DEVICES);
    assert!(
        s.devices()
            .iter()
            .all(|d| d.id != session::mac_text(mac(7)))
    );
    // Every remaining board is still found at its address.
    for i in 0..s.devices().len() {
        let (before, address) = (s.devices()[i].counters.datagrams, s.devices()[i].address);
        feed(&mut s, address, &tracker::heartbeat(10), T0 + 2_100_000);
        assert_eq!(
            s.devices()[i].counters.datagrams,
            before + 1,
            "{}",
            s.devices()[i].id
        );
    }
}

#[test]
fn silence_loses_a_device_heartbeats_keep_it_and_the_server_pings() {
    let mut s = source("lost_after_ms = 3000");
    let from = addr(50123);
    connect(&mut s, from, T0);
    transmits(&mut s);
    // Keepalives on a 500 ms grid: a heartbeat and a ping each time.
    assert_eq!(s.poll_timeout(), Some(T0 + 500_000));
    s.handle_timeout(T0 + 500_000);
    let sent = transmits(&mut s);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].bytes, packet::heartbeat());
    assert_eq!(&sent[1].bytes[..12], &packet::ping(0)[..12]);
    // The tracker answers: a heartbeat and the ping's echo (which gives the round trip).
    feed(&mut s, from, &tracker::heartbeat(3), T0 + 520_000);
    feed(&mut s, from, &tracker::pong(&sent[1].bytes), T0 + 530_000);
    assert_eq!(s.devices()[0].round_trip_us, Some(30_000));
    // An idle tracker sends only heartbeats: it stays live past 3 s from its last rotation.
    let mut t = T0 + 530_000;
    for n in 4..12 {
        t += 500_000;
        s.handle_timeout(t);
        feed(&mut s, from, &tracker::heartbeat(n), t + 1000);
    }
    assert!(s.devices()[0].live);
    // Then silence: lost exactly `lost_after_ms` after its last packet.
    let last = t + 1000;
    while let Some(due) = s.poll_timeout() {
        if due >= last + 3_000_000 {
            break;
        }
        s.handle_timeout(due);
        assert!(s.devices()[0].live, "{due}");
    }
    assert_eq!(s.poll_timeout(), Some(last + 3_000_000));
    s.handle_timeout(last + 3_000_000);
    assert!(!s.devices()[0].live);
    assert_eq!(s.stats().devices_lost, 1);
    transmits(&mut s);
    assert_eq!(
        s.poll_timeout(),
        None,
        "nothing to do until a tracker speaks"
    );
    // Heard again: live, same device.
    feed(&mut s, from, &tracker::heartbeat(40), last + 4_000_000);
    assert!(s.devices()[0].live);
    assert_eq!(s.devices()[0].times_lost, 1);
}

#[test]
fn a_lost_tracker_no_longer_holds_back_the_others_frames() {
    let mut s = source("lost_after_ms = 1000\nrate_hz = 1");
    connect(&mut s, addr(1), T0);
    let other = addr(2);
    feed(&mut s, other, &tracker::handshake(OTHER_MAC, "x"), T0);
    feed(&mut s, other, &tracker::sensor_info(1, 0, 1, 1), T0);
    let q = wire(Quat::IDENTITY);
    feed(&mut s, addr(1), &tracker::rotation(3, 0, q), T0);
    feed(&mut s, addr(1), &tracker::rotation(4, 1, q), T0);
    feed(&mut s, other, &tracker::rotation(2, 0, q), T0);
    assert_eq!(frames(&mut s).len(), 1);
    // The head device goes silent; the other keeps reporting every 100 ms. Until the head is
    // lost (1 s) the body's reports wait for it, up to a period (1 s); from then on each report
    // completes a frame.
    let mut got = Vec::new();
    for i in 1..=15u64 {
        let t = T0 + i * 100_000;
        while let Some(due) = s.poll_timeout().filter(|d| *d <= t) {
            s.handle_timeout(due);
        }
        feed(&mut s, addr(1), &tracker::rotation(4 + 2 * i, 0, q), t);
        feed(&mut s, addr(1), &tracker::rotation(5 + 2 * i, 1, q), t);
        got.push(frames(&mut s).len());
    }
    assert!(!s.devices()[1].live);
    assert_eq!(got, [0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 1, 1, 1]);
}

#[test]
fn bundles_carry_every_packet_once_and_nest_no_deeper() {
    let mut s = source("");
    let from = addr(50123);
    feed(&mut s, from, &tracker::handshake(MAC, "0.6.3"), T0);
    let q = Quat::from_rotation_y(0.7);
    let inner = vec![
        tracker::sensor_info(0, 0, 1, 6),
        tracker::sensor_info(0, 1, 1, 7),
        tracker::rotation(0, 0, wire(q)),
        tracker::acceleration(0, 0, [0.0, 0.1, 9.8]),
        tracker::battery(0, 3.9, 0.75),
        tracker::signal_strength(0, 255, -58),
    ];
    feed(&mut s, from, &tracker::bundle(1, &inner), T0);
    let acks: Vec<_> = transmits(&mut s)
        .into_iter()
        .skip(1)
        .map(|t| t.bytes)
        .collect();
    assert_eq!(
        acks,
        vec![packet::sensor_info_ack(0, 1), packet::sensor_info_ack(1, 1)]
    );
    assert!(frames(&mut s).is_empty(), "the thigh has not reported");
    let compact = vec![
        tracker::compact_rotation(0, 1, wire(q), [0.0, 0.0, 1.0]),
        tracker::tap(0, 1, 0x41),
        tracker::error(0, 0, 7),
    ];
    feed(
        &mut s,
        from,
        &tracker::compact_bundle(2, &compact),
        T0 + 1000,
    );
    let got = frames(&mut s);
    assert_eq!(got.len(), 1);
    let thigh = got[0].sensors[HumanoidBone::LeftUpperLeg.index()].unwrap();
    assert!(rotation_error_degrees(thigh, world_orientation(wire(q)).unwrap()) < 0.01);
    let device = &s.devices()[0];
    assert_eq!(
        (device.battery_level, device.battery_voltage, device.rssi),
        (Some(0.75), Some(3.9), Some(-58))
    );
    assert_eq!(device.trackers[&1].taps, 1);
    assert_eq!(device.trackers[&0].last_error, Some(7));
    assert_eq!(device.trackers[&0].acceleration, Some([0.0, 0.1, 9.8]));
    let by_type = &s.stats().counters.by_type;
    assert_eq!(
        (
            by_type[&100],
            by_type[&101],
            by_type[&15],
            by_type[&17],
            by_type[&23]
        ),
        (1, 1, 2, 1, 1)
    );
    // A bundle inside a bundle is malformed; its neighbours still count.
    let nested = tracker::bundle(0, &[tracker::heartbeat(0)]);
    feed(
        &mut s,
        from,
        &tracker::bundle(3, &[nested, tracker::tap(0, 0, 1)]),
        T0 + 2000,
    );
    assert_eq!(s.stats().counters.malformed, 1);
    assert_eq!(s.devices()[0].trackers[&0].taps, 1);
}

#[test]
fn legacy_rotations_and_bad_quaternions() {
    let mut s = source(&format!(
        "trackers = {{ \"{}\" = \"head\", \"{}\" = \"neck\" }}",
        key_of(MAC, 0),
        key_of(MAC, 1)
    ));
    let from = addr(7);
    feed(&mut s, from, &tracker::handshake(MAC, ""), T0);
    feed(
        &mut s,
        from,
        &tracker::legacy_rotation(1, 0, [0.0, 0.0, 0.0, 1.0]),
        T0,
    );
    feed(
        &mut s,
        from,
        &tracker::legacy_rotation(2, 1, [0.0, 0.0, 0.0, 1.0]),
        T0,
    );
    assert_eq!(frames(&mut s).len(), 1);
    feed(
        &mut s,
        from,
        &tracker::rotation(3, 0, [f32::NAN, 0.0, 0.0, 1.0]),
        T0,
    );
    feed(&mut s, from, &tracker::rotation(4, 1, [0.0; 4]), T0);
    assert_eq!(s.stats().counters.nan_quaternions, 2);
    assert!(frames(&mut s).is_empty(), "no report, no frame");
    assert_eq!(s.report().errors, 2);
}

#[test]
fn reset_buttons_become_actions_and_unassigned_trackers_are_listed() {
    let mut s = source("");
    let from = addr(50123);
    feed(&mut s, from, &tracker::handshake(MAC, "0.6.3"), T0);
    // No body position set in the firmware (0): unassigned.
    feed(&mut s, from, &tracker::sensor_info(1, 0, 1, 0), T0);
    feed(&mut s, from, &tracker::battery(2, 4.1, 0.5), T0);
    for (n, action) in [(3, 2), (4, 3), (5, 4), (6, 5)] {
        feed(&mut s, from, &tracker::user_action(n, action), T0);
    }
    let actions: Vec<_> = std::iter::from_fn(|| s.poll_event())
        .filter_map(|e| match e {
            SourceEvent::Action { stream, action } => Some((stream, action)),
            SourceEvent::Frame { .. } | SourceEvent::StreamAdded { .. } => None,
        })
        .collect();
    assert_eq!(
        actions,
        [
            (0, SourceAction::FullReset),
            (0, SourceAction::YawReset),
            (0, SourceAction::MountingReset)
        ]
    );
    assert_eq!((s.stats().actions, s.stats().pause_requests), (3, 1));
    let report = s.report();
    let stream = &report.streams[0];
    let unassigned = &stream.sender.as_ref().unwrap()["unassigned"][0];
    assert_eq!(unassigned["mac"], "AA:BB:CC:00:11:22");
    assert_eq!(unassigned["sensor_id"], 0);
    assert_eq!(unassigned["address"], from.to_string());
    assert_eq!(unassigned["battery_level"], 0.5);
    assert!(
        stream.warnings[0].contains("AA:BB:CC:00:11:22/0"),
        "{:?}",
        stream.warnings
    );
    let counters = stream.counters.as_ref().unwrap();
    assert_eq!(counters["by_type"]["21"], 4);
    assert_eq!(counters["devices"][0]["counters"]["datagrams"], 7);
}

#[test]
fn configs_are_checked() {
    let bad = |extra: &str| {
        let config: SlimeVrConfig = toml::from_str(&format!("performer = \"p\"\n{extra}")).unwrap();
        SlimeVrSource::new(&config).err().unwrap()
    };
    assert!(bad("trackers = { \"nope\" = \"head\" }").contains("MAC/sensor"));
    assert!(bad("rate_hz = 0").contains("rate_hz"));
    assert!(bad("lost_after_ms = 400").contains("heartbeat"));
    assert!(
        bad(
            "trackers = { \"aa:bb:cc:dd:ee:ff/0\" = \"head\", \"AA:BB:CC:DD:EE:FF/0\" = \"neck\" }"
        )
        .contains("twice")
    );
    let s = source("port = 7000");
    assert_eq!(s.describe(), "UDP port 7000");
    assert_eq!(s.streams()[0].key, "slimevr@7000");
}

proptest::proptest! {
    /// Any bytes, from a stranger or from a device that shook hands, before and inside
    /// bundles: never a panic, and every frame's sensors are unit quaternions.
    #[test]
    fn arbitrary_bytes_never_panic(
        datagrams in proptest::collection::vec(
            (proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), 0u8..8),
            1..20,
        ),
    ) {
        let mut s = source("");
        let from = addr(9);
        connect(&mut s, from, T0);
        for (i, (mut bytes, shape)) in datagrams.into_iter().enumerate() {
            // Give most datagrams a plausible header, so that payload readers are reached.
            let kinds = [17u32, 100, 101, 15, 23, 3];
            if shape < 6 && bytes.len() >= 12 {
                bytes[..4].copy_from_slice(&kinds[usize::from(shape)].to_be_bytes());
                bytes[4..12].copy_from_slice(&(i as u64 + 10).to_be_bytes());
            }
            feed(&mut s, from, &bytes, T0 + i as u64);
            while let Some(due) = s.poll_timeout().filter(|d| *d <= T0 + i as u64 + 50_000) {
                s.handle_timeout(due);
            }
            for frame in frames(&mut s) {
                for q in frame.sensors.iter().flatten() {
                    proptest::prop_assert!(q.is_finite() && q.is_normalized());
                }
            }
            transmits(&mut s);
        }
        let _ = s.report();
    }
}
