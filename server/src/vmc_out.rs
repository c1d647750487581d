//! VMC out: Kagura as a VMC Performer, feeding renderers that receive VMC (VSeeFace, Warudo,
//! VNyan, EVMC4U-based apps) over UDP.
//!
//! A thin shell over `kagura_capture::vmc::encode_vmc_frame_named` (pure: frame in, datagrams
//! out). One task per target: subscribed to its performer on the bus through a [`FrameSlot`]
//! (one frame, never a queue), it sends the newest frame at most `rate_hz` times a second, and
//! only when a new frame arrived since its last send. Sends never wait: `try_send_to` either
//! hands a datagram to the kernel or the error is counted (`/api/status`, `GET /api/vmc-out`),
//! so an unreachable or slow target delays no one. Targets come from `[[vmc_out]]` and are
//! added and removed while running (`POST`/`DELETE /api/vmc-out`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use anyhow::{Context, bail};
use kagura_capture::vmc::{VmcNames, encode_vmc_frame_named};
use kagura_engine::{PoseBus, lock};
use kagura_protocol::wire;
use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::shutdown::Shutdown;
use crate::slot::FrameSlot;

/// Frames per second sent to a target unless its entry says otherwise.
pub const DEFAULT_RATE_HZ: f64 = 60.0;
/// The highest `rate_hz` accepted.
pub const MAX_RATE_HZ: f64 = 1000.0;

/// A `[[vmc_out]]` entry, or the body of `POST /api/vmc-out`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VmcOutConfig {
    /// `HOST:PORT` of the receiving app (VSeeFace, Warudo, VNyan listen on 39539 by default).
    pub target: String,
    /// The performer whose frames go there.
    pub performer: String,
    /// Most frames a second sent (default 60).
    #[serde(default = "default_rate_hz")]
    pub rate_hz: f64,
    /// Blendshape names: `vrm0` (default), `vrm1`, `arkit` or `all`.
    #[serde(default)]
    pub names: VmcNames,
}

fn default_rate_hz() -> f64 {
    DEFAULT_RATE_HZ
}

/// Changes to the performer list, as a counter the bus bumps (see `PoseBus::on_change`).
pub type PerformerChanges = watch::Receiver<u64>;

/// Every VMC target, and the means to start more.
pub struct VmcOut {
    bus: Arc<PoseBus>,
    changes: PerformerChanges,
    shutdown: Shutdown,
    targets: Mutex<Vec<Arc<Target>>>,
    next_id: AtomicU64,
}

/// One target: what it was asked for, where it resolved, its counters, its task.
struct Target {
    id: u64,
    config: VmcOutConfig,
    address: SocketAddr,
    counters: Arc<Counters>,
    task: tokio::task::AbortHandle,
}

#[derive(Default)]
struct Counters {
    subscribed: AtomicBool,
    frames_sent: AtomicU64,
    datagrams_sent: AtomicU64,
    bytes_sent: AtomicU64,
    send_errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A target as `/api/status` and `GET /api/vmc-out` report it.
#[derive(Clone, Debug, Serialize)]
pub struct VmcOutReport {
    pub id: u64,
    pub target: String,
    /// Where `target` resolved.
    pub address: SocketAddr,
    pub performer: String,
    pub rate_hz: f64,
    pub names: VmcNames,
    /// Subscribed to the performer (false while no performer of that name exists).
    pub subscribed: bool,
    /// Frames whose every datagram was handed to the network.
    pub frames_sent: u64,
    pub datagrams_sent: u64,
    pub bytes_sent: u64,
    /// Datagrams the network refused (an unreachable target, a full socket buffer).
    pub send_errors: u64,
    pub last_error: Option<String>,
}

impl VmcOut {
    pub fn new(bus: Arc<PoseBus>, changes: PerformerChanges, shutdown: Shutdown) -> Self {
        VmcOut {
            bus,
            changes,
            shutdown,
            targets: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Checks `config`, resolves its target, binds a socket and starts sending; returns the
    /// target's id. A performer not (yet) on the bus is waited for.
    pub async fn add(&self, config: VmcOutConfig) -> anyhow::Result<u64> {
        if !(config.rate_hz.is_finite() && config.rate_hz > 0.0 && config.rate_hz <= MAX_RATE_HZ) {
            bail!("rate_hz must be above 0 and at most {MAX_RATE_HZ}");
        }
        if config.performer.is_empty() {
            bail!("performer must name a performer");
        }
        let address = tokio::net::lookup_host(&config.target)
            .await
            .with_context(|| format!("target {:?} is not HOST:PORT", config.target))?
            .next()
            .with_context(|| format!("target {:?} resolves to no address", config.target))?;
        let any: IpAddr = match address {
            SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let socket = UdpSocket::bind((any, 0))
            .await
            .context("binding a UDP socket for VMC out")?;
        let id = self.next_id.fetch_add(1, Relaxed);
        let mut targets = lock(&self.targets);
        let counters = Arc::new(Counters::default());
        let sender = Sender {
            socket,
            address,
            performer: config.performer.clone(),
            period: Duration::from_secs_f64(1.0 / config.rate_hz),
            names: config.names,
            counters: counters.clone(),
        };
        let (bus, changes, shutdown) = (
            self.bus.clone(),
            self.changes.clone(),
            self.shutdown.clone(),
        );
        let task = tokio::spawn(async move {
            tokio::select! {
                () = sender.run(bus, changes) => {}
                () = shutdown.wait() => {}
            }
        });
        tracing::info!(
            "VMC out {id}: performer {:?} to {} ({address}) at {} Hz, {:?} names",
            config.performer,
            config.target,
            config.rate_hz,
            config.names
        );
        targets.push(Arc::new(Target {
            id,
            config,
            address,
            counters,
            task: task.abort_handle(),
        }));
        Ok(id)
    }

    /// Stops sending to target `id`; `false` if there is none.
    pub fn remove(&self, id: u64) -> bool {
        let mut targets = lock(&self.targets);
        let Some(at) = targets.iter().position(|t| t.id == id) else {
            return false;
        };
        let target = targets.remove(at);
        target.task.abort();
        tracing::info!("VMC out {id} to {} removed", target.config.target);
        true
    }

    pub fn report(&self) -> Vec<VmcOutReport> {
        lock(&self.targets)
            .iter()
            .map(|t| {
                let c = &t.counters;
                VmcOutReport {
                    id: t.id,
                    target: t.config.target.clone(),
                    address: t.address,
                    performer: t.config.performer.clone(),
                    rate_hz: t.config.rate_hz,
                    names: t.config.names,
                    subscribed: c.subscribed.load(Relaxed),
                    frames_sent: c.frames_sent.load(Relaxed),
                    datagrams_sent: c.datagrams_sent.load(Relaxed),
                    bytes_sent: c.bytes_sent.load(Relaxed),
                    send_errors: c.send_errors.load(Relaxed),
                    last_error: lock(&c.last_error).clone(),
                }
            })
            .collect()
    }
}

impl Drop for VmcOut {
    fn drop(&mut self) {
        for target in lock(&self.targets).iter() {
            target.task.abort();
        }
    }
}

/// A target's task state.
struct Sender {
    socket: UdpSocket,
    address: SocketAddr,
    performer: String,
    period: Duration,
    names: VmcNames,
    counters: Arc<Counters>,
}

impl Sender {
    /// Sends the performer's frames until the task is stopped; waits out the performer's
    /// absences.
    async fn run(self, bus: Arc<PoseBus>, mut changes: PerformerChanges) {
        let started = Instant::now();
        loop {
            changes.mark_unchanged();
            let attached = bus.id_of(&self.performer).and_then(|id| {
                let performer = bus.slot(id)?;
                Some((id, performer, FrameSlot::attach(&bus, id)?))
            });
            let Some((id, performer, mut slot)) = attached else {
                // Not there: wait for the performer list to change.
                if changes.changed().await.is_err() {
                    return;
                }
                continue;
            };
            self.counters.subscribed.store(true, Relaxed);
            let mut earliest = Instant::now();
            loop {
                tokio::time::sleep_until(earliest).await;
                // The newest frame since the last send (waits for one if none came); a change
                // of performers may have removed or replaced this one: then subscribe again.
                let frame = tokio::select! {
                    frame = slot.next() => frame,
                    changed = changes.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let same = bus.slot(id).is_some_and(|now| Arc::ptr_eq(&now, &performer));
                        if same {
                            continue;
                        }
                        None
                    }
                };
                let Some(frame) = frame else {
                    break; // the performer is gone
                };
                earliest = Instant::now() + self.period;
                let sender_time_s = started.elapsed().as_secs_f32();
                self.send(&frame, sender_time_s);
            }
            self.counters.subscribed.store(false, Relaxed);
        }
    }

    fn send(&self, frame: &[u8], sender_time_s: f32) {
        let c = &self.counters;
        let frame = match wire::decode(frame) {
            Ok(frame) => frame,
            Err(e) => {
                c.send_errors.fetch_add(1, Relaxed);
                *lock(&c.last_error) = Some(format!("undecodable frame: {e}"));
                return;
            }
        };
        let mut whole = true;
        for datagram in encode_vmc_frame_named(&frame, self.names, sender_time_s) {
            match self.socket.try_send_to(&datagram, self.address) {
                Ok(n) => {
                    c.datagrams_sent.fetch_add(1, Relaxed);
                    c.bytes_sent.fetch_add(n as u64, Relaxed);
                }
                Err(e) => {
                    whole = false;
                    c.send_errors.fetch_add(1, Relaxed);
                    *lock(&c.last_error) = Some(e.to_string());
                }
            }
        }
        if whole {
            c.frames_sent.fetch_add(1, Relaxed);
        }
    }
}
