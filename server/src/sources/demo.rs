//! Drives the built-in [`DemoPerformer`] from the server's clock.

use std::sync::Arc;
use std::time::Duration;

use kagura_capture::demo::DemoPerformer;
use tokio::time::MissedTickBehavior;

use crate::clock::now_us;
use crate::pipeline::{Pipelines, Route};
use crate::rate::RateMeter;
use crate::status::{ServerStatus, SourceStatus, StreamStatus, lock};

/// The demo's frame rate, Hz.
pub const DEMO_RATE_HZ: u32 = 60;

pub async fn run(route: Route, name: String, pipelines: Arc<Pipelines>, status: Arc<ServerStatus>) {
    let status = status.add_source(SourceStatus {
        kind: "demo",
        address: "built-in".into(),
        unknown_senders: 0,
        streams: vec![StreamStatus {
            performer: name,
            last_sender: None,
            frames: RateMeter::default(),
            vmc: None,
            filtered: route.filtered,
        }],
    });
    let mut demo = DemoPerformer::new(route.performer);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / DEMO_RATE_HZ);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let now = now_us();
        pipelines.submit(&route, demo.frame_at(now), now);
        lock(&status).streams[0].frames.record(now);
    }
}
