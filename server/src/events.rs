//! `/api/events`: what happens on the server, as it happens, for dashboards and bots — a
//! WebSocket of JSON objects tagged by `type`:
//!
//! - `performer_added` / `performer_removed` `{performer}`: a performer came or went.
//! - `performer_stale` / `performer_live` `{performer}`: its frames stopped for
//!   [`STALE_AFTER_US`], or started again.
//! - `source_active` / `source_silent` `{source, kind, key, performer}`: a source stream started
//!   receiving (a sender started), or has received nothing for [`STALE_AFTER_US`]; `source` is
//!   its index in `/api/status`.
//! - `trigger_fired` `{performer, trigger}`: an expression fired over the API.
//! - `calibration_started` / `calibration_finished` `{performer, kind, ok}`.
//! - `lagged` `{missed}`: this client fell behind and missed that many events.
//!
//! Events go through a bounded broadcast: a slow client misses events (and is told how many);
//! it never holds up the server or another client.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use kagura_engine::Engine;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::clock::now_us;
use crate::status::ServerStatus;

/// A performer whose newest frame is older than this is stale.
pub const STALE_AFTER_US: u64 = 1_000_000;
/// Events kept for clients that are behind.
const BACKLOG: usize = 256;

/// One event. See the module documentation.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    PerformerAdded {
        performer: String,
    },
    PerformerRemoved {
        performer: String,
    },
    PerformerStale {
        performer: String,
    },
    PerformerLive {
        performer: String,
    },
    SourceActive {
        source: usize,
        kind: &'static str,
        key: String,
        performer: String,
    },
    SourceSilent {
        source: usize,
        kind: &'static str,
        key: String,
        performer: String,
    },
    TriggerFired {
        performer: String,
        trigger: kagura_engine::triggers::ExpressionTrigger,
    },
    CalibrationStarted {
        performer: String,
        kind: String,
    },
    CalibrationFinished {
        performer: String,
        kind: String,
        ok: bool,
    },
    Lagged {
        missed: u64,
    },
}

/// Where events are sent from.
#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<ServerEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Events {
    pub fn emit(&self, event: ServerEvent) {
        // No listener is fine: nobody is watching.
        let _ = self.tx.send(event);
    }

    /// Watches the bus: performers coming and going (on its change notices) and going stale or
    /// live again, and the sources' streams starting and stopping (checked every 250 ms). Runs
    /// until the task is dropped.
    pub async fn watch(self, engine: Arc<Engine>, status: Arc<ServerStatus>) {
        let bus = engine.bus().clone();
        let changed = Arc::new(tokio::sync::Notify::new());
        let notify = changed.clone();
        bus.on_change(move || notify.notify_one());
        let mut known: BTreeSet<String> = bus.performers().iter().map(|s| s.name.clone()).collect();
        let mut stale: BTreeSet<String> = BTreeSet::new();
        let mut active_streams: BTreeSet<(usize, String)> = BTreeSet::new();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                () = changed.notified() => {}
                _ = tick.tick() => {}
            }
            let slots = bus.performers();
            let now: BTreeSet<String> = slots.iter().map(|s| s.name.clone()).collect();
            for name in now.difference(&known) {
                self.emit(ServerEvent::PerformerAdded {
                    performer: name.clone(),
                });
            }
            for name in known.difference(&now) {
                stale.remove(name);
                self.emit(ServerEvent::PerformerRemoved {
                    performer: name.clone(),
                });
            }
            known = now;
            let t = now_us();
            for slot in &slots {
                let Some(latest) = slot.latest() else {
                    continue;
                };
                let is_stale = t.saturating_sub(latest.published_us) > STALE_AFTER_US;
                let performer = slot.name.clone();
                if is_stale && stale.insert(performer.clone()) {
                    self.emit(ServerEvent::PerformerStale { performer });
                } else if !is_stale && stale.remove(&performer) {
                    self.emit(ServerEvent::PerformerLive { performer });
                }
            }
            let stale_ms = STALE_AFTER_US as f64 / 1000.0;
            for (index, source) in status.report(&engine, t).sources.iter().enumerate() {
                for stream in &source.streams {
                    let id = (index, stream.report.key.clone());
                    let receiving = stream.last_seen_ms_ago.is_some_and(|ms| ms < stale_ms);
                    let event = |active: bool| {
                        let (source, kind, key) = (index, source.kind, stream.report.key.clone());
                        let performer = stream.report.performer.clone();
                        match active {
                            true => ServerEvent::SourceActive {
                                source,
                                kind,
                                key,
                                performer,
                            },
                            false => ServerEvent::SourceSilent {
                                source,
                                kind,
                                key,
                                performer,
                            },
                        }
                    };
                    if receiving && active_streams.insert(id.clone()) {
                        self.emit(event(true));
                    } else if !receiving && active_streams.remove(&id) {
                        self.emit(event(false));
                    }
                }
            }
        }
    }

    /// Sends every event to one WebSocket client until it goes away.
    pub async fn serve(&self, mut socket: WebSocket) {
        let mut rx = self.tx.subscribe();
        loop {
            let event = match rx.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(missed)) => ServerEvent::Lagged { missed },
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let Ok(text) = serde_json::to_string(&event) else {
                continue;
            };
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
    }
}
