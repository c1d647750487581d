//! Drives the built-in [`DemoPerformer`] from the server's clock.

use std::sync::Arc;
use std::time::Duration;

use kagura_calibration::filter::{PoseFilter, SourceKind};
use kagura_capture::demo::DemoPerformer;
use kagura_protocol::PerformerId;
use tokio::time::MissedTickBehavior;

use crate::bus::PoseBus;
use crate::calibrations::Calibrations;
use crate::clock::now_us;
use crate::filters::FilterControl;
use crate::rate::RateMeter;
use crate::status::{ServerStatus, SourceStatus, StreamStatus, lock};

/// The demo's frame rate, Hz.
pub const DEMO_RATE_HZ: u32 = 60;

pub async fn run(
    performer: PerformerId,
    name: String,
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
    filters: Arc<FilterControl>,
    calibrations: Arc<Calibrations>,
) {
    let status = status.add_source(SourceStatus {
        kind: "demo",
        address: "built-in".into(),
        unknown_senders: 0,
        streams: vec![StreamStatus {
            performer: name,
            last_sender: None,
            frames: RateMeter::default(),
            vmc: None,
            filtered: true,
        }],
    });
    let mut demo = DemoPerformer::new(performer);
    let mut filter = PoseFilter::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / DEMO_RATE_HZ);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let now = now_us();
        let mut frame = demo.frame_at(now);
        calibrations.process(&mut frame);
        filter.apply(&mut frame, &filters.get(SourceKind::Demo));
        bus.publish(&frame, now);
        lock(&status).streams[0].frames.record(now);
    }
}
