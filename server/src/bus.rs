//! [`PoseBus`]: each performer's newest frame, offered to every subscriber the moment it is
//! published.
//!
//! Latest value wins. Publishing encodes the frame once, keeps it as the performer's newest, and
//! offers the shared bytes to each attached [`FrameSink`]. A sink must take the frame without
//! blocking, and keep at most a small bounded backlog of its own (QUIC: quinn's datagram buffer,
//! which drops the oldest). So a slow subscriber sees gaps in `seq`, never a growing queue, and a
//! slow or dead subscriber never delays another or the source.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kagura_protocol::{PerformerId, PoseFrame, wire};
use tokio::sync::watch;

use crate::rate::RateMeter;
use crate::status::lock;

/// A published frame: its identity and its wire encoding.
#[derive(Clone, Debug)]
pub struct PublishedFrame {
    pub seq: u32,
    pub capture_us: u64,
    /// When the server published it, µs since the Unix epoch.
    pub published_us: u64,
    pub wire: Bytes,
}

/// A subscriber's end of the bus, for one performer.
pub trait FrameSink: Send + Sync {
    /// Takes the newest frame without blocking (dropping older ones if it must). Returns `false`
    /// once the subscriber is gone, and the bus forgets the sink.
    fn offer(&self, frame: &PublishedFrame) -> bool;
}

/// A sink for transports whose send is async (WebRTC data channels, WebSockets): a one-frame
/// slot that the transport's task drains through a [`FrameSlot`]. Offering replaces the slot's
/// frame, so a peer that is busy sending gets the newest frame next, never a backlog.
pub struct LatestFrameSink {
    slot: watch::Sender<Option<Bytes>>,
}

/// The transport's end of a [`LatestFrameSink`]. Dropping it detaches the sink from the bus at
/// the next frame.
pub struct FrameSlot {
    latest: watch::Receiver<Option<Bytes>>,
}

impl FrameSlot {
    /// A new slot on `performer`'s frames (offered the newest at once).
    pub fn attach(bus: &PoseBus, performer: PerformerId) -> FrameSlot {
        let (slot, latest) = watch::channel(None);
        bus.attach(performer, Arc::new(LatestFrameSink { slot }));
        FrameSlot { latest }
    }

    /// Waits for a frame newer than the last one taken; `None` once the bus is gone.
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            self.latest.changed().await.ok()?;
            if let Some(frame) = self.latest.borrow_and_update().clone() {
                return Some(frame);
            }
        }
    }
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

/// One performer's slot on the bus.
pub struct PerformerSlot {
    pub id: PerformerId,
    pub name: String,
    latest: Mutex<Option<PublishedFrame>>,
    sinks: Mutex<Vec<Arc<dyn FrameSink>>>,
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
                latest: Mutex::new(None),
                sinks: Mutex::new(Vec::new()),
                rate: Mutex::new(RateMeter::default()),
            })
            .collect();
        PoseBus { performers }
    }

    pub fn performers(&self) -> &[PerformerSlot] {
        &self.performers
    }

    /// The name of performer `id` (empty for an unknown id).
    pub fn name_of(&self, id: PerformerId) -> &str {
        self.performers
            .get(id.0 as usize)
            .map_or("", |p| p.name.as_str())
    }

    pub fn id_of(&self, name: &str) -> Option<PerformerId> {
        self.performers
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
    }

    /// Encodes `frame`, makes it its performer's newest and offers it to every sink. Frames of
    /// unknown performers are dropped (a source is only ever built for a known performer).
    pub fn publish(&self, frame: &PoseFrame, now_us: u64) {
        let Some(slot) = self.performers.get(frame.performer.0 as usize) else {
            return;
        };
        let mut encoded = Vec::with_capacity(wire::MAX_FRAME_LEN);
        wire::encode(frame, &mut encoded);
        let published = PublishedFrame {
            seq: frame.seq,
            capture_us: frame.capture_us,
            published_us: now_us,
            wire: Bytes::from(encoded),
        };
        lock(&slot.sinks).retain(|sink| sink.offer(&published));
        lock(&slot.rate).record(now_us);
        *lock(&slot.latest) = Some(published);
    }

    /// Attaches a sink to `performer` and offers it the newest frame at once (a pose is state:
    /// a new subscriber should not wait for the next change).
    pub fn attach(&self, performer: PerformerId, sink: Arc<dyn FrameSink>) {
        let Some(slot) = self.performers.get(performer.0 as usize) else {
            return;
        };
        let mut sinks = lock(&slot.sinks);
        if let Some(latest) = &*lock(&slot.latest)
            && !sink.offer(latest)
        {
            return;
        }
        sinks.push(sink);
    }
}

impl PerformerSlot {
    pub fn latest(&self) -> Option<PublishedFrame> {
        lock(&self.latest).clone()
    }

    pub fn rate_hz(&self, now_us: u64) -> f64 {
        lock(&self.rate).rate_hz(now_us)
    }

    /// Number of attached sinks.
    pub fn subscribers(&self) -> usize {
        lock(&self.sinks).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    /// A sink that remembers the last seq offered and can be closed.
    #[derive(Default)]
    struct LastSeq {
        seq: AtomicU32,
        offers: AtomicU32,
        closed: AtomicBool,
    }

    impl FrameSink for LastSeq {
        fn offer(&self, frame: &PublishedFrame) -> bool {
            self.seq.store(frame.seq, Ordering::Relaxed);
            self.offers.fetch_add(1, Ordering::Relaxed);
            !self.closed.load(Ordering::Relaxed)
        }
    }

    fn publish_seq(bus: &PoseBus, seq: u32) {
        let mut f = PoseFrame::new(PerformerId(0));
        f.seq = seq;
        bus.publish(&f, seq as u64);
    }

    #[test]
    fn a_new_sink_gets_the_newest_frame_and_closed_sinks_are_forgotten() {
        let bus = PoseBus::new(&["a".into()]);
        for seq in 0..10 {
            publish_seq(&bus, seq);
        }
        let sink = Arc::new(LastSeq::default());
        bus.attach(PerformerId(0), sink.clone());
        assert_eq!(sink.seq.load(Ordering::Relaxed), 9);
        publish_seq(&bus, 10);
        assert_eq!(sink.seq.load(Ordering::Relaxed), 10);
        sink.closed.store(true, Ordering::Relaxed);
        publish_seq(&bus, 11);
        assert_eq!(bus.performers()[0].subscribers(), 0);
        publish_seq(&bus, 12);
        assert_eq!(sink.offers.load(Ordering::Relaxed), 3);
        assert_eq!(bus.performers()[0].latest().unwrap().seq, 12);
    }
}
