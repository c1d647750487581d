//! What `GET /api/status` reports: sources, performers, subscribers, VMC targets. Shells update
//! it; the HTTP handler snapshots it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use kagura_engine::{Engine, lock};
use serde::Serialize;

use crate::sources::{SharedSource, SourceStatus};
use crate::vmc_out::{VmcOut, VmcOutReport};

/// Shared, live status of the running server.
#[derive(Default)]
pub struct ServerStatus {
    started_us: u64,
    sources: Mutex<Vec<SharedSource>>,
    subscribers: Mutex<Vec<Arc<SubscriberStatus>>>,
    next_subscriber: AtomicU64,
    vmc_out: OnceLock<Arc<VmcOut>>,
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

    /// The VMC targets whose counters the report lists.
    pub fn set_vmc_out(&self, vmc_out: Arc<VmcOut>) {
        let _ = self.vmc_out.set(vmc_out);
    }

    pub fn add_source(&self, source: SharedSource) {
        lock(&self.sources).push(source);
    }

    /// The source at `index` in `/api/status`'s list.
    pub fn source(&self, index: usize) -> Option<SharedSource> {
        lock(&self.sources).get(index).cloned()
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
    pub fn report(&self, engine: &Engine, now_us: u64) -> StatusReport {
        let bus = engine.bus();
        let age_ms = |t: Option<u64>| t.map(|t| now_us.saturating_sub(t) as f64 / 1000.0);
        let sources = lock(&self.sources)
            .iter()
            .map(|s| lock(s).report(engine, now_us))
            .collect();
        let performers = bus
            .performers()
            .iter()
            .map(|p| {
                let latest = p.latest();
                PerformerReport {
                    id: p.id.0,
                    name: p.name.clone(),
                    hips_height_m: p.hips_height_m(),
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
            vmc_out: self.vmc_out.get().map(|v| v.report()).unwrap_or_default(),
        }
    }
}

#[derive(Serialize)]
pub struct StatusReport {
    pub server: &'static str,
    pub uptime_s: f64,
    pub sources: Vec<SourceStatus>,
    pub performers: Vec<PerformerReport>,
    pub subscribers: Vec<SubscriberReport>,
    /// VMC targets (`[[vmc_out]]`, `/api/vmc-out`): frames, datagrams, bytes, errors.
    pub vmc_out: Vec<VmcOutReport>,
}

#[derive(Serialize)]
pub struct PerformerReport {
    pub id: u16,
    pub name: String,
    /// Standing hips height in its frames' units: renderers scale hips and root positions by
    /// their avatar's hips height over this.
    pub hips_height_m: f32,
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
