//! [`PoseBus`]: each performer's newest frame, offered to every subscriber the moment it is
//! published.
//!
//! Latest value wins. Publishing encodes the frame once, keeps it as the performer's newest, and
//! offers the shared bytes to each attached [`FrameSink`]. A sink must take the frame without
//! blocking, and keep at most a small bounded backlog of its own (QUIC: quinn's datagram buffer,
//! which drops the oldest). So a slow subscriber sees gaps in `seq`, never a growing queue, and a
//! slow or dead subscriber never delays another or the source.
//!
//! Performers come and go while the bus runs; each change is announced to the listeners
//! registered with [`PoseBus::on_change`] (the QUIC transport sends subscribers a fresh `Info`).

use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use kagura_protocol::{PerformerId, PoseFrame, wire};

use crate::lock;
use crate::rate::RateMeter;

/// A published frame: its identity and its wire encoding.
#[derive(Clone, Debug)]
pub struct PublishedFrame {
    pub seq: u32,
    pub capture_us: u64,
    /// When the server published it, µs on the server's clock.
    pub published_us: u64,
    pub wire: Bytes,
}

/// A subscriber's end of the bus, for one performer.
pub trait FrameSink: Send + Sync {
    /// Takes the newest frame without blocking (dropping older ones if it must). Returns `false`
    /// once the subscriber is gone, and the bus forgets the sink.
    fn offer(&self, frame: &PublishedFrame) -> bool;
}

/// One performer's slot on the bus.
pub struct PerformerSlot {
    pub id: PerformerId,
    pub name: String,
    /// The standing hips height in its frames' units (f32 bits); see
    /// `PerformerInfo::hips_height_m`.
    hips_height: std::sync::atomic::AtomicU32,
    latest: Mutex<Option<PublishedFrame>>,
    sinks: Mutex<Vec<Arc<dyn FrameSink>>>,
    rate: Mutex<RateMeter>,
}

type Listener = Box<dyn Fn() + Send + Sync>;

/// The standing hips height assumed until something better is known, metres (an adult).
pub const DEFAULT_HIPS_HEIGHT_M: f32 = 0.9;

/// All performers' newest frames, in the order the performers were added.
#[derive(Default)]
pub struct PoseBus {
    performers: RwLock<Vec<Arc<PerformerSlot>>>,
    listeners: Mutex<Vec<Listener>>,
}

impl PoseBus {
    pub fn new() -> Self {
        PoseBus::default()
    }

    /// Adds a performer (or returns its slot if `id` is there already) and announces it.
    pub fn add(&self, id: PerformerId, name: &str) -> Arc<PerformerSlot> {
        let slot = {
            let mut all = self.performers.write().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = all.iter().find(|p| p.id == id) {
                return slot.clone();
            }
            let slot = Arc::new(PerformerSlot {
                id,
                name: name.to_string(),
                hips_height: DEFAULT_HIPS_HEIGHT_M.to_bits().into(),
                latest: Mutex::new(None),
                sinks: Mutex::new(Vec::new()),
                rate: Mutex::new(RateMeter::default()),
            });
            all.push(slot.clone());
            slot
        };
        self.announce();
        slot
    }

    /// Removes a performer; its subscribers' sinks are dropped. Announced.
    pub fn remove(&self, id: PerformerId) {
        self.performers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p.id != id);
        self.announce();
    }

    /// Calls `listener` after every change of the performer list (from the changing thread).
    pub fn on_change(&self, listener: impl Fn() + Send + Sync + 'static) {
        lock(&self.listeners).push(Box::new(listener));
    }

    /// Sets a performer's standing hips height; a change of more than 0.5% is announced.
    pub fn set_hips_height(&self, id: PerformerId, metres: f32) {
        let Some(slot) = self.slot(id) else { return };
        let old = slot.hips_height_m();
        if (metres - old).abs() > old * 0.005 {
            slot.hips_height
                .store(metres.to_bits(), std::sync::atomic::Ordering::Relaxed);
            self.announce();
        }
    }

    fn announce(&self) {
        for listener in lock(&self.listeners).iter() {
            listener();
        }
    }

    /// A snapshot of the performers, in the order they were added.
    pub fn performers(&self) -> Vec<Arc<PerformerSlot>> {
        self.performers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn slot(&self, id: PerformerId) -> Option<Arc<PerformerSlot>> {
        self.performers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|p| p.id == id)
            .cloned()
    }

    /// The name of performer `id` (empty for an unknown id).
    pub fn name_of(&self, id: PerformerId) -> String {
        self.slot(id).map(|p| p.name.clone()).unwrap_or_default()
    }

    pub fn id_of(&self, name: &str) -> Option<PerformerId> {
        self.performers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
    }

    /// Attaches a sink to `performer` and offers it the newest frame at once (a pose is state:
    /// a new subscriber should not wait for the next change). `false` if there is no such
    /// performer.
    pub fn attach(&self, performer: PerformerId, sink: Arc<dyn FrameSink>) -> bool {
        match self.slot(performer) {
            Some(slot) => {
                slot.attach(sink);
                true
            }
            None => false,
        }
    }
}

impl PerformerSlot {
    /// Encodes `frame`, makes it this performer's newest and offers it to every sink.
    pub fn publish(&self, frame: &PoseFrame, now_us: u64) {
        let mut encoded = Vec::with_capacity(wire::MAX_FRAME_LEN);
        wire::encode(frame, &mut encoded);
        let published = PublishedFrame {
            seq: frame.seq,
            capture_us: frame.capture_us,
            published_us: now_us,
            wire: Bytes::from(encoded),
        };
        lock(&self.sinks).retain(|sink| sink.offer(&published));
        lock(&self.rate).record(now_us);
        *lock(&self.latest) = Some(published);
    }

    fn attach(&self, sink: Arc<dyn FrameSink>) {
        let mut sinks = lock(&self.sinks);
        if let Some(latest) = &*lock(&self.latest)
            && !sink.offer(latest)
        {
            return;
        }
        sinks.push(sink);
    }

    /// The standing hips height in its frames' units, metres.
    pub fn hips_height_m(&self) -> f32 {
        f32::from_bits(self.hips_height.load(std::sync::atomic::Ordering::Relaxed))
    }

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
        bus.slot(PerformerId(0)).unwrap().publish(&f, seq as u64);
    }

    #[test]
    fn a_new_sink_gets_the_newest_frame_and_closed_sinks_are_forgotten() {
        let bus = PoseBus::new();
        bus.add(PerformerId(0), "a");
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
        assert_eq!(bus.slot(PerformerId(0)).unwrap().subscribers(), 0);
        publish_seq(&bus, 12);
        assert_eq!(sink.offers.load(Ordering::Relaxed), 3);
        assert_eq!(bus.slot(PerformerId(0)).unwrap().latest().unwrap().seq, 12);
    }

    #[test]
    fn performers_come_and_go_and_each_change_is_announced() {
        let bus = PoseBus::new();
        let changes = Arc::new(AtomicU32::new(0));
        let counter = changes.clone();
        bus.on_change(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        bus.add(PerformerId(7), "seven");
        bus.add(PerformerId(3), "three");
        assert_eq!(bus.id_of("three"), Some(PerformerId(3)));
        let names: Vec<String> = bus.performers().iter().map(|p| p.name.clone()).collect();
        assert_eq!(names, ["seven", "three"], "in the order added, not by id");
        bus.remove(PerformerId(7));
        assert!(bus.slot(PerformerId(7)).is_none());
        assert!(!bus.attach(PerformerId(7), Arc::new(LastSeq::default())));
        assert_eq!(changes.load(Ordering::Relaxed), 3);
    }
}
