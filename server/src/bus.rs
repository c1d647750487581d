//! [`PoseBus`]: each performer's newest frame, shared with every subscriber.
//!
//! Latest value wins: publishing replaces the performer's frame and wakes its subscribers; a
//! subscriber that was busy sees only the newest frame when it next looks (gaps in `seq`), never
//! a backlog. A slow or dead subscriber therefore costs nobody else anything. The frame is
//! encoded once, when published; subscribers share the bytes.

use std::sync::Mutex;

use bytes::Bytes;
use kagura_protocol::{PerformerId, PoseFrame, wire};
use tokio::sync::watch;

use crate::rate::RateMeter;

/// A published frame: its identity and its wire encoding.
#[derive(Clone, Debug)]
pub struct PublishedFrame {
    pub seq: u32,
    pub capture_us: u64,
    /// When the server published it, µs since the Unix epoch.
    pub published_us: u64,
    pub wire: Bytes,
}

/// One performer's slot on the bus.
pub struct PerformerSlot {
    pub id: PerformerId,
    pub name: String,
    latest: watch::Sender<Option<PublishedFrame>>,
    rate: Mutex<RateMeter>,
}

/// All performers' newest frames. Performers are fixed when the server starts; a performer's id
/// is its index.
pub struct PoseBus {
    performers: Vec<PerformerSlot>,
}

impl PoseBus {
    pub fn new(names: &[String]) -> Self {
        let performers = names
            .iter()
            .enumerate()
            .map(|(i, name)| PerformerSlot {
                id: PerformerId(i as u16),
                name: name.clone(),
                latest: watch::channel(None).0,
                rate: Mutex::new(RateMeter::default()),
            })
            .collect();
        PoseBus { performers }
    }

    pub fn performers(&self) -> &[PerformerSlot] {
        &self.performers
    }

    pub fn id_of(&self, name: &str) -> Option<PerformerId> {
        self.performers
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
    }

    /// Encodes `frame` and makes it its performer's newest. Frames of unknown performers are
    /// dropped (a source is only ever built for a known performer).
    pub fn publish(&self, frame: &PoseFrame, now_us: u64) {
        let Some(slot) = self.performers.get(frame.performer.0 as usize) else {
            return;
        };
        let mut encoded = Vec::with_capacity(wire::MAX_FRAME_LEN);
        wire::encode(frame, &mut encoded);
        slot.rate
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(now_us);
        slot.latest.send_replace(Some(PublishedFrame {
            seq: frame.seq,
            capture_us: frame.capture_us,
            published_us: now_us,
            wire: Bytes::from(encoded),
        }));
    }

    /// A receiver that wakes on each newer frame of `performer`.
    pub fn watch(&self, performer: PerformerId) -> Option<watch::Receiver<Option<PublishedFrame>>> {
        self.performers
            .get(performer.0 as usize)
            .map(|p| p.latest.subscribe())
    }
}

impl PerformerSlot {
    pub fn latest(&self) -> Option<PublishedFrame> {
        self.latest.borrow().clone()
    }

    pub fn rate_hz(&self, now_us: u64) -> f64 {
        self.rate
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .rate_hz(now_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_late_reader_sees_only_the_newest_frame() {
        let bus = PoseBus::new(&["a".into()]);
        let mut rx = bus.watch(PerformerId(0)).unwrap();
        for seq in 0..10 {
            let mut f = PoseFrame::new(PerformerId(0));
            f.seq = seq;
            bus.publish(&f, seq as u64);
        }
        rx.changed().await.unwrap();
        assert_eq!(rx.borrow_and_update().as_ref().unwrap().seq, 9);
        assert!(!rx.has_changed().unwrap());
    }
}
