//! Plays a BVH file as a performer, looping at the file's frame rate: recorded motion capture
//! through the same retarget → merge → calibrate → filter path as live sources.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kagura_calibration::retarget::bvh::{Bvh, parse_bvh};
use kagura_calibration::retarget::{Axes, Retargeter, TargetBody};
use kagura_protocol::PoseFrame;
use tokio::time::MissedTickBehavior;

use crate::clock::now_us;
use crate::pipeline::{Pipelines, Route};
use crate::rate::RateMeter;
use crate::status::{ServerStatus, SourceStatus, StreamStatus, lock};

/// Largest BVH file accepted, bytes.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// A parsed BVH file, ready to play.
pub struct BvhSource {
    bvh: Bvh,
    retargeter: Retargeter,
    frame_time: Duration,
    name: String,
}

impl BvhSource {
    /// Reads and checks the file: a bad file is an error at start, not a silent performer.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let size = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        anyhow::ensure!(
            size <= MAX_FILE_BYTES,
            "{} is larger than {MAX_FILE_BYTES} bytes",
            path.display()
        );
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let bvh = parse_bvh(&text, Axes::BVH_CENTIMETRES)
            .with_context(|| format!("parsing {}", path.display()))?;
        anyhow::ensure!(
            !bvh.motion.is_empty(),
            "{} has no motion frames",
            path.display()
        );
        for (i, line) in bvh.motion.iter().enumerate() {
            bvh.frame(line)
                .with_context(|| format!("{} frame {i}", path.display()))?;
        }
        let seconds = bvh
            .frame_time_s
            .filter(|t| *t > 0.001 && *t < 1.0)
            .unwrap_or(1.0 / 60.0);
        let retargeter = Retargeter::new(bvh.skeleton.clone(), &TargetBody::default())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(BvhSource {
            bvh,
            retargeter,
            frame_time: Duration::from_secs_f32(seconds),
            name: path.display().to_string(),
        })
    }

    pub async fn run(
        mut self,
        route: Route,
        performer_name: String,
        pipelines: Arc<Pipelines>,
        status: Arc<ServerStatus>,
    ) {
        let status = status.add_source(SourceStatus {
            kind: "bvh",
            address: self.name.clone(),
            unknown_senders: 0,
            streams: vec![StreamStatus {
                performer: performer_name,
                last_sender: None,
                frames: RateMeter::default(),
                vmc: None,
                filtered: route.filtered,
            }],
        });
        let mut tick = tokio::time::interval(self.frame_time);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut seq = 0u32;
        for line in self.bvh.motion.iter().cycle() {
            tick.tick().await;
            let now = now_us();
            // Checked at load, so every line parses.
            let Ok(bvh_frame) = self.bvh.frame(line) else {
                continue;
            };
            let mut frame = PoseFrame::new(route.performer);
            frame.seq = seq;
            frame.capture_us = now;
            seq = seq.wrapping_add(1);
            self.retargeter
                .retarget(&bvh_frame.locals, bvh_frame.root_position, &mut frame);
            pipelines.submit(&route, frame, now);
            lock(&status).streams[0].frames.record(now);
        }
    }
}
