//! What `GET /api/status` reports: sources, performers, subscribers. Shells update it; the HTTP
//! handler snapshots it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kagura_capture::vmc::{VmcSenderStatus, VmcStats};
use serde::Serialize;

use crate::bus::PoseBus;
use crate::rate::RateMeter;

/// Shared, live status of the running server.
#[derive(Default)]
pub struct ServerStatus {
    started_us: u64,
    sources: Mutex<Vec<Arc<Mutex<SourceStatus>>>>,
    subscribers: Mutex<Vec<Arc<SubscriberStatus>>>,
    next_subscriber: AtomicU64,
}

/// One input: a listening socket (or the demo) and the performers it drives.
pub struct SourceStatus {
    pub kind: &'static str,
    pub address: String,
    /// Datagrams from addresses that map to no performer; ignored.
    pub unknown_senders: u64,
    pub streams: Vec<StreamStatus>,
}

/// One performer's stream within a source.
pub struct StreamStatus {
    pub performer: String,
    pub last_sender: Option<SocketAddr>,
    pub frames: RateMeter,
    pub vmc: Option<(VmcStats, VmcSenderStatus)>,
    /// Whether this stream's frames go through the pose filter.
    pub filtered: bool,
}

/// One connected subscriber. Counters are updated by its forwarding tasks without locks.
pub struct SubscriberStatus {
    pub id: u64,
    pub transport: &'static str,
    pub address: SocketAddr,
    pub client: String,
    pub performers: Vec<String>,
    pub connected_us: u64,
    pub frames_sent: AtomicU64,
    pub send_errors: AtomicU64,
}

impl ServerStatus {
    pub fn new(started_us: u64) -> Self {
        ServerStatus {
            started_us,
            ..Default::default()
        }
    }

    pub fn add_source(&self, source: SourceStatus) -> Arc<Mutex<SourceStatus>> {
        let source = Arc::new(Mutex::new(source));
        lock(&self.sources).push(source.clone());
        source
    }

    /// Registers a subscriber; it stays listed until [`ServerStatus::remove_subscriber`].
    pub fn add_subscriber(
        &self,
        transport: &'static str,
        address: SocketAddr,
        client: String,
        performers: Vec<String>,
        now_us: u64,
    ) -> Arc<SubscriberStatus> {
        let subscriber = Arc::new(SubscriberStatus {
            id: self.next_subscriber.fetch_add(1, Ordering::Relaxed),
            transport,
            address,
            client,
            performers,
            connected_us: now_us,
            frames_sent: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
        });
        lock(&self.subscribers).push(subscriber.clone());
        subscriber
    }

    pub fn remove_subscriber(&self, id: u64) {
        lock(&self.subscribers).retain(|s| s.id != id);
    }

    /// A consistent-enough snapshot for the status page.
    pub fn report(&self, bus: &PoseBus, now_us: u64) -> StatusReport {
        let age_ms = |t: Option<u64>| t.map(|t| now_us.saturating_sub(t) as f64 / 1000.0);
        let sources = lock(&self.sources)
            .iter()
            .map(|s| {
                let s = lock(s);
                let streams: Vec<StreamReport> = s
                    .streams
                    .iter()
                    .map(|st| StreamReport {
                        performer: st.performer.clone(),
                        last_sender: st.last_sender,
                        frame_rate_hz: st.frames.rate_hz(now_us),
                        last_seen_ms_ago: age_ms(st.frames.last_event_us()),
                        filtered: st.filtered,
                        counters: st.vmc.map(|v| v.0),
                        sender: st.vmc.map(|v| v.1),
                    })
                    .collect();
                SourceReport {
                    kind: s.kind,
                    address: s.address.clone(),
                    frame_rate_hz: streams.iter().map(|st| st.frame_rate_hz).sum(),
                    last_seen_ms_ago: streams
                        .iter()
                        .filter_map(|st| st.last_seen_ms_ago)
                        .min_by(f64::total_cmp),
                    errors: streams
                        .iter()
                        .filter_map(|st| st.counters)
                        .map(|c| c.errors())
                        .sum(),
                    unknown_senders: s.unknown_senders,
                    streams,
                }
            })
            .collect();
        let performers = bus
            .performers()
            .iter()
            .map(|p| {
                let latest = p.latest();
                PerformerReport {
                    id: p.id.0,
                    name: p.name.clone(),
                    frame_rate_hz: p.rate_hz(now_us),
                    last_seq: latest.as_ref().map(|f| f.seq),
                    last_frame_ms_ago: age_ms(latest.map(|f| f.published_us)),
                }
            })
            .collect();
        let subscribers = lock(&self.subscribers)
            .iter()
            .map(|s| SubscriberReport {
                id: s.id,
                transport: s.transport,
                address: s.address,
                client: s.client.clone(),
                performers: s.performers.clone(),
                connected_s: now_us.saturating_sub(s.connected_us) as f64 / 1e6,
                frames_sent: s.frames_sent.load(Ordering::Relaxed),
                send_errors: s.send_errors.load(Ordering::Relaxed),
            })
            .collect();
        StatusReport {
            server: concat!("kagura ", env!("CARGO_PKG_VERSION")),
            uptime_s: now_us.saturating_sub(self.started_us) as f64 / 1e6,
            sources,
            performers,
            subscribers,
        }
    }
}

/// Locks, recovering the data if a panicking thread poisoned the lock: status is diagnostic and
/// must never take the server down.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Serialize)]
pub struct StatusReport {
    pub server: &'static str,
    pub uptime_s: f64,
    pub sources: Vec<SourceReport>,
    pub performers: Vec<PerformerReport>,
    pub subscribers: Vec<SubscriberReport>,
}

#[derive(Serialize)]
pub struct SourceReport {
    pub kind: &'static str,
    pub address: String,
    pub frame_rate_hz: f64,
    pub last_seen_ms_ago: Option<f64>,
    /// Sum of the streams' error counters.
    pub errors: u64,
    pub unknown_senders: u64,
    pub streams: Vec<StreamReport>,
}

#[derive(Serialize)]
pub struct StreamReport {
    pub performer: String,
    pub last_sender: Option<SocketAddr>,
    pub frame_rate_hz: f64,
    pub last_seen_ms_ago: Option<f64>,
    pub filtered: bool,
    pub counters: Option<VmcStats>,
    pub sender: Option<VmcSenderStatus>,
}

#[derive(Serialize)]
pub struct PerformerReport {
    pub id: u16,
    pub name: String,
    pub frame_rate_hz: f64,
    pub last_seq: Option<u32>,
    pub last_frame_ms_ago: Option<f64>,
}

#[derive(Serialize)]
pub struct SubscriberReport {
    pub id: u64,
    pub transport: &'static str,
    pub address: SocketAddr,
    pub client: String,
    pub performers: Vec<String>,
    pub connected_s: f64,
    pub frames_sent: u64,
    pub send_errors: u64,
}
