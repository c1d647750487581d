//! The UDP shell: one socket, every datagram handed to the source as it arrives (no buffering
//! between the socket and the engine), the source's replies sent back, its timer honoured.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use kagura_capture::SourceInput;
use kagura_engine::{Engine, lock};
use tokio::net::UdpSocket;

use super::SharedSource;
use crate::clock::{instant_at, now_us};

pub async fn bind(addr: SocketAddr) -> anyhow::Result<UdpSocket> {
    UdpSocket::bind(addr)
        .await
        .with_context(|| format!("binding UDP port {addr}"))
}

/// Receives until the task is dropped.
pub async fn run(socket: UdpSocket, running: SharedSource, engine: Arc<Engine>) {
    // Large enough for any UDP datagram, so oversized ones are seen and counted.
    let mut buf = vec![0u8; 65536];
    loop {
        let due = lock(&running).source.poll_timeout();
        let received = tokio::select! {
            received = socket.recv_from(&mut buf) => Some(received),
            _ = sleep_until(due) => None,
        };
        let now = now_us();
        let transmits = {
            let mut source = lock(&running);
            match received {
                Some(Ok((len, from))) => source.feed(
                    SourceInput::Datagram {
                        from,
                        bytes: &buf[..len],
                    },
                    &engine,
                    now,
                ),
                // ICMP errors surface here on some platforms; keep serving.
                Some(Err(e)) => {
                    tracing::debug!("UDP receive error: {e}");
                    source.drain(&engine, now)
                }
                None => {
                    source.source.handle_timeout(now);
                    source.drain(&engine, now)
                }
            }
        };
        for transmit in transmits {
            if let Err(e) = socket.send_to(&transmit.bytes, transmit.to).await {
                tracing::debug!("UDP send to {}: {e}", transmit.to);
            }
        }
    }
}

async fn sleep_until(due: Option<u64>) {
    match due {
        Some(due) => tokio::time::sleep_until(instant_at(due).into()).await,
        None => std::future::pending().await,
    }
}
