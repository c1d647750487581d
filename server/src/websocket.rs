//! The WebSocket fallback (`GET /ws?performer=NAME`): the same wire-format frames as the WebRTC
//! data channel, one binary message each, for networks where WebRTC cannot connect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::ws::{Message, WebSocket};
use kagura_protocol::PerformerId;

use kagura_engine::PoseBus;

use crate::clock::now_us;
use crate::slot::FrameSlot;
use crate::status::ServerStatus;

/// Sends `performer`'s newest frame after every change until the socket closes.
pub async fn serve(
    mut socket: WebSocket,
    performer: PerformerId,
    remote: SocketAddr,
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
) {
    let name = bus.name_of(performer);
    let subscriber =
        status.add_subscriber("websocket", remote, "browser".into(), vec![name], now_us());
    let Some(mut slot) = FrameSlot::attach(&bus, performer) else {
        status.remove_subscriber(subscriber.id);
        return;
    };
    loop {
        tokio::select! {
            frame = slot.next() => {
                let Some(frame) = frame else { break };
                if socket.send(Message::Binary(frame)).await.is_err() {
                    break;
                }
                subscriber.frames_sent.fetch_add(1, Relaxed);
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {} // the page sends nothing we need
            },
        }
    }
    status.remove_subscriber(subscriber.id);
}
