//! [`FrameSlot`]: a bus sink for transports whose send is async (WebRTC data channels,
//! WebSockets). A one-frame slot: offering replaces its frame, so a peer that is busy sending
//! gets the newest frame next, never a backlog.

use std::sync::Arc;

use bytes::Bytes;
use kagura_engine::{FrameSink, PoseBus, PublishedFrame};
use kagura_protocol::PerformerId;
use tokio::sync::watch;

struct LatestFrameSink {
    slot: watch::Sender<Option<Bytes>>,
}

impl FrameSink for LatestFrameSink {
    fn offer(&self, frame: &PublishedFrame) -> bool {
        if self.slot.is_closed() {
            return false;
        }
        self.slot.send_replace(Some(frame.wire.clone()));
        true
    }
}

/// The transport's end of the slot. Dropping it detaches the sink from the bus at the next
/// frame.
pub struct FrameSlot {
    latest: watch::Receiver<Option<Bytes>>,
}

impl FrameSlot {
    /// A new slot on `performer`'s frames (offered the newest at once); `None` if there is no
    /// such performer.
    pub fn attach(bus: &PoseBus, performer: PerformerId) -> Option<FrameSlot> {
        let (slot, latest) = watch::channel(None);
        bus.attach(performer, Arc::new(LatestFrameSink { slot }))
            .then_some(FrameSlot { latest })
    }

    /// Waits for a frame newer than the last one taken; `None` once the performer is gone.
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            self.latest.changed().await.ok()?;
            if let Some(frame) = self.latest.borrow_and_update().clone() {
                return Some(frame);
            }
        }
    }
}
