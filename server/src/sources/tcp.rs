//! The TCP client shell ([`SourceIo::TcpClient`]): for senders that are TCP servers (Axis'
//! BVH broadcasting). It connects, hands the source every read as it arrives
//! ([`SourceInput::Stream`], framed by the source), and when the connection is refused or
//! dropped tells the source ([`SourceInput::StreamClosed`]) and tries again after a backoff
//! (250 ms doubling to 5 s; back to 250 ms once a connection has delivered bytes). One log line
//! per change of state; the state is in `/api/status` under the source's `connection`.
//!
//! [`SourceIo::TcpClient`]: kagura_capture::SourceIo::TcpClient

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kagura_capture::SourceInput;
use kagura_engine::{Engine, lock};
use serde::Serialize;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::SharedSource;
use crate::clock::{instant_at, now_us};

/// The first wait before reconnecting, and the longest.
pub const BACKOFF_MIN: Duration = Duration::from_millis(250);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long one connection attempt may take (an unreachable host, not a refusal).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a TCP client source's connection stands, for `/api/status`.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionStatus {
    /// `connecting`, `connected` or `disconnected` (waiting to retry).
    pub state: &'static str,
    /// The address connected to, as configured.
    pub remote: String,
    /// The peer's address while connected (or last connected).
    pub peer: Option<SocketAddr>,
    /// Why the last attempt failed or the last connection ended.
    pub last_error: Option<String>,
    /// Connections made so far.
    pub connections: u64,
    /// When the state last changed, µs on the server's clock.
    #[serde(skip)]
    pub since_us: u64,
}

impl ConnectionStatus {
    pub fn new(remote: &str) -> Self {
        ConnectionStatus {
            state: "connecting",
            remote: remote.into(),
            peer: None,
            last_error: None,
            connections: 0,
            since_us: now_us(),
        }
    }
}

fn set_state(running: &SharedSource, state: &'static str, error: Option<String>) {
    let mut source = lock(running);
    if let Some(status) = source.connection.as_mut() {
        status.state = state;
        status.since_us = now_us();
        if error.is_some() {
            status.last_error = error;
        }
    }
}

/// Connects and reconnects until the task is dropped.
pub async fn run(addr: String, running: SharedSource, engine: Arc<Engine>) {
    let kind = lock(&running).source.kind();
    let mut backoff = BACKOFF_MIN;
    // The last failure logged, so a refusal repeated every few seconds is logged once.
    let mut last_failure: Option<String> = None;
    loop {
        set_state(&running, "connecting", None);
        let attempt =
            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr.as_str())).await;
        let failure = match attempt {
            Ok(Ok(stream)) => {
                let peer = stream.peer_addr().ok();
                tracing::info!(
                    "{kind} source: connected to {addr}{}",
                    peer.map(|p| format!(" ({p})")).unwrap_or_default()
                );
                last_failure = None;
                {
                    let mut source = lock(&running);
                    if let Some(status) = source.connection.as_mut() {
                        status.state = "connected";
                        status.peer = peer;
                        status.connections += 1;
                        status.since_us = now_us();
                    }
                    if let Some(peer) = peer {
                        let now = now_us();
                        source
                            .source
                            .handle_input(SourceInput::StreamOpened { peer }, now);
                        source.drain(&engine, now);
                    }
                }
                let (reason, received) = receive(stream, &running, &engine).await;
                {
                    let mut source = lock(&running);
                    let now = now_us();
                    source.source.handle_input(SourceInput::StreamClosed, now);
                    source.drain(&engine, now);
                }
                if received {
                    backoff = BACKOFF_MIN;
                }
                tracing::warn!(
                    "{kind} source: connection to {addr} ended ({reason}); reconnecting in {} ms",
                    backoff.as_millis()
                );
                set_state(&running, "disconnected", Some(reason));
                None
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
        };
        if let Some(failure) = failure {
            if last_failure.as_deref() != Some(failure.as_str()) {
                tracing::warn!(
                    "{kind} source: cannot connect to {addr} ({failure}); retrying every {} s at most",
                    BACKOFF_MAX.as_secs()
                );
            } else {
                tracing::debug!("{kind} source: still cannot connect to {addr} ({failure})");
            }
            set_state(&running, "disconnected", Some(failure.clone()));
            last_failure = Some(failure);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Reads until the connection ends; returns why, and whether any bytes came.
async fn receive(
    mut stream: TcpStream,
    running: &SharedSource,
    engine: &Arc<Engine>,
) -> (String, bool) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = false;
    loop {
        let due = lock(running).source.poll_timeout();
        let read = tokio::select! {
            read = stream.read(&mut buf) => Some(read),
            _ = sleep_until(due) => None,
        };
        let now = now_us();
        let mut source = lock(running);
        let transmits = match read {
            Some(Ok(0)) => return ("closed by the peer".into(), received),
            Some(Ok(len)) => {
                received = true;
                source.feed(SourceInput::Stream { bytes: &buf[..len] }, engine, now)
            }
            Some(Err(e)) => return (e.to_string(), received),
            None => {
                source.source.handle_timeout(now);
                source.drain(engine, now)
            }
        };
        // A TCP client source has no peer to send datagrams to; replies are not supported.
        if !transmits.is_empty() {
            tracing::debug!(
                "TCP client sources cannot send datagrams; dropped {}",
                transmits.len()
            );
        }
    }
}

async fn sleep_until(due: Option<u64>) {
    match due {
        Some(due) => tokio::time::sleep_until(instant_at(due).into()).await,
        None => std::future::pending().await,
    }
}
