//! WebRTC egress for browsers and OBS: WHEP-style signalling (the page POSTs its SDP offer to
//! `/api/webrtc/{performer}` and gets the answer back, no trickle ICE), then frames on the data
//! channel the page opened, unordered and without retransmissions.
//!
//! ICE uses host candidates only: loopback plus every LAN interface, so no STUN server is needed
//! on one machine or one network. Each data channel gets a [`LatestFrameSink`]; its task sends
//! with `try_send` into a small SCTP buffer, so a stalled peer drops frames instead of queueing
//! them, and never delays another.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context;
use bytes::BytesMut;
use kagura_protocol::PerformerId;
use tokio::sync::{Notify, watch};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};

use kagura_engine::PoseBus;

use crate::clock::now_us;
use crate::shutdown::Shutdown;
use crate::slot::FrameSlot;
use crate::status::ServerStatus;

/// How long to wait for our ICE candidates before answering.
const GATHERING_TIMEOUT: Duration = Duration::from_secs(3);
/// A peer whose data channel has not opened by then is closed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// SCTP bytes a data channel may have outstanding before frames are dropped (~40 frames).
const SEND_BUFFER_LIMIT: usize = 16 * 1024;

/// Answers browsers' offers and keeps their peer connections until they close.
pub struct WebRtcEgress {
    udp_addrs: Vec<String>,
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
    shutdown: Shutdown,
}

impl WebRtcEgress {
    /// `bind` is the server's bind address: unspecified means loopback plus every interface.
    pub fn new(
        bind: IpAddr,
        bus: Arc<PoseBus>,
        status: Arc<ServerStatus>,
        shutdown: Shutdown,
    ) -> Self {
        let udp_addrs = if bind.is_unspecified() {
            vec!["127.0.0.1:0".to_string(), "0.0.0.0:0".to_string()]
        } else {
            vec![SocketAddr::new(bind, 0).to_string()]
        };
        WebRtcEgress {
            udp_addrs,
            bus,
            status,
            shutdown,
        }
    }

    /// Answers `offer_sdp` for `performer`; the peer then runs on its own.
    pub async fn answer(
        &self,
        performer: PerformerId,
        offer_sdp: String,
        remote: SocketAddr,
    ) -> anyhow::Result<String> {
        let gathered = Arc::new(Notify::new());
        let (state_tx, mut state) = watch::channel(RTCPeerConnectionState::New);
        let handler = Arc::new(PeerHandler {
            gathered: gathered.clone(),
            state: state_tx,
            performer,
            remote,
            bus: self.bus.clone(),
            status: self.status.clone(),
            shutdown: self.shutdown.clone(),
        });
        let settings = SettingEngineBuilder::new()
            .with_include_loopback_candidate(true)
            .build();
        let peer = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(settings)
            .with_handler(handler)
            .with_udp_addrs(self.udp_addrs.clone())
            .with_data_channel_send_buffer_limit(SEND_BUFFER_LIMIT)
            .build()
            .await
            .context("creating the peer connection")?;
        let offer = RTCSessionDescription::offer(offer_sdp).context("parsing the SDP offer")?;
        peer.set_remote_description(offer)
            .await
            .context("applying the SDP offer")?;
        let answer = peer
            .create_answer(None)
            .await
            .context("creating the SDP answer")?;
        peer.set_local_description(answer).await?;
        let _ = tokio::time::timeout(GATHERING_TIMEOUT, gathered.notified()).await;
        let answer = peer
            .local_description()
            .await
            .context("no local description")?;

        // The peer lives until it fails or closes (or never opens), or the server goes.
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let lifetime = async {
                let connected = async {
                    state
                        .wait_for(|s| *s == RTCPeerConnectionState::Connected)
                        .await
                        .is_ok()
                };
                if let Ok(true) = tokio::time::timeout(OPEN_TIMEOUT, connected).await {
                    let ended = |s: &RTCPeerConnectionState| {
                        use RTCPeerConnectionState::*;
                        matches!(s, Failed | Closed | Disconnected)
                    };
                    let _ = state.wait_for(ended).await.is_ok();
                }
            };
            tokio::select! {
                () = lifetime => {}
                () = shutdown.wait() => {}
            }
            let _ = peer.close().await;
        });
        Ok(answer.sdp)
    }
}

struct PeerHandler {
    gathered: Arc<Notify>,
    state: watch::Sender<RTCPeerConnectionState>,
    performer: PerformerId,
    remote: SocketAddr,
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
    shutdown: Shutdown,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PeerHandler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.notify_one();
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let (performer, remote, bus, status) = (
            self.performer,
            self.remote,
            self.bus.clone(),
            self.status.clone(),
        );
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = serve_channel(channel, performer, remote, bus, status) => {}
                () = shutdown.wait() => {}
            }
        });
    }
}

/// Once the channel opens, sends the performer's newest frame after every change until it closes.
async fn serve_channel(
    channel: Arc<dyn DataChannel>,
    performer: PerformerId,
    remote: SocketAddr,
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
) {
    loop {
        match channel.poll().await {
            Some(DataChannelEvent::OnOpen) => break,
            Some(DataChannelEvent::OnClose) | None => return,
            Some(_) => {}
        }
    }
    let name = bus.name_of(performer);
    let subscriber =
        status.add_subscriber("webrtc", remote, "browser".into(), vec![name], now_us());
    let Some(mut slot) = FrameSlot::attach(&bus, performer) else {
        status.remove_subscriber(subscriber.id);
        return;
    };
    loop {
        tokio::select! {
            frame = slot.next() => {
                let Some(frame) = frame else { break };
                match channel.try_send(BytesMut::from(&frame[..])).await {
                    Ok(()) => { subscriber.frames_sent.fetch_add(1, Relaxed); }
                    Err(webrtc::error::Error::ErrSendBufferFull) => { subscriber.send_errors.fetch_add(1, Relaxed); }
                    Err(_) => break,
                }
            }
            event = channel.poll() => match event {
                Some(DataChannelEvent::OnClose) | None => break,
                Some(_) => {}
            },
        }
    }
    status.remove_subscriber(subscriber.id);
}
