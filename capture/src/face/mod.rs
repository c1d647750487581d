//! What every face tracker shares: [`FaceSample`], one tracked instant of a face in the internal
//! convention, and how it becomes a [`kagura_protocol::PoseFrame`]; the ARKit name matching the
//! phone protocols need ([`names`]); the filter preset and the role of face sources.
//!
//! Each face source kind (`ifacialmocap`, `vtube_studio`, `openseeface`, a webcam tracker)
//! parses its own format and converts its own axes in its own module, fills a [`FaceSample`],
//! and calls [`FaceSample::write_into`].

pub mod names;
mod sample;

use std::net::{IpAddr, SocketAddr};

use kagura_filter::{FilterSettings, OneEuroParams};
use kagura_merge::{BodyPart, SourceRole};

pub use sample::{FaceSample, NECK_SHARE};

/// The parts a face source drives unless its config says otherwise: neck, head and eyes
/// ([`BodyPart::Head`]) and the expressions ([`BodyPart::Face`]), never the body.
pub const FACE_PARTS: [BodyPart; 2] = [BodyPart::Head, BodyPart::Face];

/// A face source's default priority: above a body source at the default 0, so that with a
/// phone for the face and a suit or VMC app for the body, the phone drives the head and face.
pub const DEFAULT_FACE_PRIORITY: i32 = 10;

/// The role of a face source: its configured `parts` (default [`FACE_PARTS`]) at `priority`.
pub fn role(parts: &Option<Vec<BodyPart>>, priority: i32) -> SourceRole {
    SourceRole::configured(
        &Some(parts.clone().unwrap_or_else(|| FACE_PARTS.to_vec())),
        priority,
    )
}

/// A phone's address from a config: `IP` (on `default_port`) or `IP:port`. Host names are not
/// resolved: sources do no IO.
pub fn phone_address(text: &str, default_port: u16) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>()
        .or_else(|_| {
            text.parse::<IpAddr>()
                .map(|ip| SocketAddr::new(ip, default_port))
        })
        .map_err(|_| format!("phone address {text:?} is neither IP nor IP:port"))
}

/// The default for a face source config's `priority`.
pub fn default_priority() -> i32 {
    DEFAULT_FACE_PRIORITY
}

/// One Euro settings for face trackers: responsive, since a face moves in quick small motions
/// (nods, glances, speech) and phone trackers smooth a little themselves.
///
/// Head, neck and eyes: 1.5 Hz at rest (tracker jitter of a still head is mostly below that),
/// β 0.5 Hz per rad/s, so a 90°/s turn opens the cutoff to about 2.3 Hz and a 300°/s shake to
/// 4 Hz; the speed estimate at 3 Hz so the cutoff opens as a turn starts. Expression channels:
/// 3 Hz at rest, β 1.5 per weight/s, so a mouth opening in 100 ms (10/s) runs at ~18 Hz and
/// lip-sync keeps its syllables. No prediction: face senders' timing is too uneven (a phone's
/// Wi-Fi) to extrapolate on. The body groups are never driven by a face source; they keep the
/// light setting.
pub fn filter_preset() -> FilterSettings {
    FilterSettings {
        head: OneEuroParams::new(1.5, 0.5).with_derivative_cutoff(3.0),
        face: OneEuroParams::new(3.0, 1.5).with_derivative_cutoff(3.0),
        predict_us: 0,
        ..FilterSettings::light()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Quat;
    use kagura_filter::PoseFilter;
    use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame, rotation_error_degrees};

    /// A still head with 0.5° of tracker noise at 60 Hz is steadied (frame-to-frame jitter cut
    /// by more than half), and a 20° turn made in 100 ms is followed within 2° after 150 ms.
    #[test]
    fn preset_steadies_a_still_head_and_follows_a_quick_turn() {
        let settings = filter_preset();
        settings.validate().unwrap();
        let mut filter = PoseFilter::default();
        let mut seed = 7u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let (mut jitter_in, mut jitter_out) = (0.0, 0.0);
        let (mut last_in, mut last_out) = (Quat::IDENTITY, Quat::IDENTITY);
        let turn_start = 60u64;
        let mut error_after_turn = 0.0;
        for k in 0..90u64 {
            let t_turn = (k.saturating_sub(turn_start) as f32 / 6.0).min(1.0);
            let truth = Quat::from_rotation_y(20f32.to_radians() * t_turn);
            let tracked = Quat::from_scaled_axis(
                glam::Vec3::new(noise(), noise(), noise()) * 1f32.to_radians(),
            ) * truth;
            let mut frame = PoseFrame::new(PerformerId(0));
            frame.capture_us = 1_000_000 + k * 16_667;
            frame.set_bone(HumanoidBone::Head, tracked);
            filter.apply(&mut frame, &settings);
            let out = frame.bone(HumanoidBone::Head).unwrap();
            if (20..turn_start).contains(&k) {
                jitter_in += rotation_error_degrees(tracked, last_in);
                jitter_out += rotation_error_degrees(out, last_out);
            }
            if k == turn_start + 9 {
                error_after_turn = rotation_error_degrees(out, truth);
            }
            (last_in, last_out) = (tracked, out);
        }
        assert!(jitter_out < 0.5 * jitter_in, "{jitter_out} vs {jitter_in}");
        assert!(error_after_turn < 2.0, "{error_after_turn}° behind");
    }

    proptest::proptest! {
        /// Arbitrary bytes, whole or cut to OpenSeeFace's record length, through all three face
        /// sources: counted or framed, never a panic; every frame written is valid.
        #[test]
        fn every_face_source_takes_any_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4000),
            whole_records in proptest::prelude::any::<bool>(),
        ) {
            use crate::source::{Source, SourceEvent, SourceInput};
            let osf_len = crate::openseeface::RECORD_LEN;
            let bytes = if whole_records && bytes.len() >= osf_len {
                &bytes[..bytes.len() / osf_len * osf_len]
            } else {
                &bytes[..]
            };
            let mut sources: Vec<Box<dyn Source>> = vec![
                Box::new(crate::ifacialmocap::IFacialMocapSource::new(
                    &toml::from_str("performer = \"p\"").unwrap()).unwrap()),
                Box::new(crate::vtube_studio::VtubeStudioSource::new(
                    &toml::from_str("performer = \"p\"\nphone = \"10.0.0.1\"").unwrap()).unwrap()),
                Box::new(crate::openseeface::OpenSeeFaceSource::new(
                    &toml::from_str("performer = \"p\"").unwrap()).unwrap()),
            ];
            for source in &mut sources {
                source.handle_input(
                    SourceInput::Datagram { from: "10.0.0.1:1".parse().unwrap(), bytes },
                    1_000_000,
                );
                while let Some(SourceEvent::Frame { frame, .. }) = source.poll_event() {
                    for (_, q) in frame.pose.bones() {
                        proptest::prop_assert!(q.is_finite() && (q.length() - 1.0).abs() < 1e-3);
                    }
                    for (_, w) in frame.pose.expressions() {
                        proptest::prop_assert!((0.0..=1.0).contains(&w));
                    }
                }
                let _ = source.report();
            }
        }
    }

    #[test]
    fn a_face_source_drives_head_and_face_only_unless_configured() {
        let r = role(&None, default_priority());
        assert_eq!(r.parts, FACE_PARTS.to_vec());
        assert_eq!(r.priority, 10);
        let r = role(&Some(vec![BodyPart::Face]), 3);
        assert_eq!((r.parts, r.priority), (vec![BodyPart::Face], 3));
    }
}
